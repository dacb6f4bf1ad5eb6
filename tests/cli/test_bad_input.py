"""Bad input: one clear line naming file/line/field, exit code 2, nothing written."""

import gzip

import pytest
from g2rec_cli.main import app
from typer.testing import CliRunner

from tests.conftest import write

runner = CliRunner()

GOOD_HEADER = "user_id,item_id,timestamp\n"


def _cases(tmp):
    """(name, input file, extra args, fragments the error line must contain)."""
    trunc = tmp / "trunc.txt.gz"
    body = "".join(f"{u} {u * 7 % 1000} {u * 13 % 997} {u * 31 % 991}\n" for u in range(1, 5000)).encode()
    trunc.write_bytes(gzip.compress(body)[:2000])
    return [
        ("missing file", tmp / "nope.csv", [], ["nope.csv", "no such file"]),
        ("empty file", write(tmp / "empty.csv", ""), [], ["empty.csv", "empty"]),
        ("header only", write(tmp / "hdr.csv", GOOD_HEADER), [], ["hdr.csv", "no rows"]),
        ("no user column", write(tmp / "cols.csv", "a,b,c\n1,2,3\n"), [], ["cols.csv:1:", "user", "found: a, b, c"]),
        ("unknown column option", write(tmp / "opt.csv", GOOD_HEADER + "u,i,1\n"), ["--item-col", "sku"],
         ["opt.csv:1:", "'sku'"]),
        ("bad timestamp", write(tmp / "t.csv", GOOD_HEADER + "u,a,1\nu,b,2\nu,c,yesterday\n"), [],
         ["t.csv:4:", "'timestamp'", "yesterday"]),
        ("bad date string", write(tmp / "d.csv", GOOD_HEADER + "u,a,2024-01-01\nu,b,2024-13-45\n"), [],
         ["d.csv:3:", "'timestamp'", "2024-13-45"]),
        ("empty user id", write(tmp / "e.csv", GOOD_HEADER + "u,a,1\n,b,2\n"), [], ["e.csv:3:", "'user_id'", "empty"]),
        ("wrong delimiter", write(tmp / "semi.csv", "user_id;item_id;timestamp\nu;a;1\n"), ["--sep", ","],
         ["semi.csv:1:", "delimiter"]),
        ("s3rec non-integer id", write(tmp / "seq.txt", "1 2 3 4\n2 5 x7 8\n"), ["--format", "s3rec"],
         ["seq.txt:2:", "'x7'"]),
        ("s3rec interval count", write(tmp / "iv.txt", "1 2 3 4\t0 5\n"), ["--format", "s3rec"],
         ["iv.txt:1:", "time interval"]),
        ("lcrec invalid json", write(tmp / "inter.json", '{"0": [1, 2,\n 3 "x"]}'), ["--format", "lcrec"],
         ["inter.json:2:", "invalid JSON"]),
        ("jsonl bad line", write(tmp / "l.jsonl", '{"user_id": 1, "item_id": 2}\n{"user_id": 1, item_id}\n'), [],
         ["l.jsonl:2:", "invalid JSON"]),
        ("non-numeric weight", write(tmp / "w.csv", GOOD_HEADER.strip() + ",r\nu,a,1,5\nu,b,2,lots\n"),
         ["--weight-col", "r"], ["w.csv:3:", "'r'", "lots"]),
        ("truncated gzip", trunc, ["--format", "s3rec"], ["trunc.txt.gz", "truncated"]),
        ("all users too short", write(tmp / "short.csv", GOOD_HEADER + "u,a,1\nv,b,2\n"), [],
         ["short.csv", "no user left"]),
        ("invalid option value", write(tmp / "ok.csv", GOOD_HEADER + "u,a,1\n"), ["--weight", "tfidf"],
         ["weight='tfidf'", "count, decay, cosine, pmi"]),
    ]


@pytest.mark.parametrize("index", range(17))
def test_bad_input_gives_one_line_and_writes_nothing(tmp_path, index):
    name, path, args, fragments = _cases(tmp_path)[index]
    out = tmp_path / "runs" / "r"
    result = runner.invoke(app, ["build-graph", str(path), "-o", str(out), *args])
    assert result.exit_code == 2, (name, result.output)
    lines = [ln for ln in result.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, (name, result.stderr)
    for fragment in fragments:
        assert fragment in lines[0], (name, lines[0])
    assert not out.exists()
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_existing_run_folder_is_refused_and_kept(tmp_path):
    path = write(tmp_path / "ok.csv", GOOD_HEADER + "u,a,1\nu,b,2\nu,c,3\n")
    out = tmp_path / "run"
    assert runner.invoke(app, ["build-graph", str(path), "-o", str(out)]).exit_code == 0
    before = sorted(p.name for p in out.iterdir())
    result = runner.invoke(app, ["build-graph", str(path), "-o", str(out)])
    assert result.exit_code == 2 and "--overwrite" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == before
    bad = write(tmp_path / "bad.csv", GOOD_HEADER + "u,a,oops\n")
    result = runner.invoke(app, ["build-graph", str(bad), "-o", str(out), "--overwrite"])
    assert result.exit_code == 2
    assert sorted(p.name for p in out.iterdir()) == before  # a failed overwrite leaves the old run intact
