"""Reading a table chunk by chunk gives what reading it whole gives: the same arrays and report
(MovieLens-100K as csv/tsv/parquet/jsonl, string ids, dates, events, fractional times), with
errors naming the line in a later chunk."""

import numpy as np
import pandas as pd
import pytest

from g2rec.data.prepare import PrepareConfig, prepare_sequences
from g2rec.data.readers import ReadOptions, read_log
from g2rec.data.stream import read_prepared
from g2rec.errors import DataError
from tests.conftest import MOVIELENS

FIELDS = ("user_ids", "item_ids", "offsets", "items", "times", "split")


@pytest.fixture(scope="module")
def tables(tmp_path_factory, shared_data):
    """MovieLens-100K as the four table formats, with string user ids, ISO dates, events and
    fractional times beside the unix seconds."""
    ml = pd.read_csv(MOVIELENS, sep="\t", names=["user_id", "item_id", "rating", "timestamp"])
    ml["user_id"] = "u" + ml["user_id"].astype(str)
    ml["date"] = pd.to_datetime(ml["timestamp"], unit="s").dt.strftime("%Y-%m-%dT%H:%M:%S")
    ml["event"] = np.where(ml["rating"] >= 3, "like", "view")
    ml["seconds"] = ml["timestamp"] + 0.5 * (ml.index % 2)
    folder = tmp_path_factory.mktemp("tables")
    ml.to_csv(folder / "ml.csv", index=False)
    ml.to_csv(folder / "ml.tsv", sep="\t", index=False)
    ml.to_parquet(folder / "ml.parquet", index=False)
    ml.to_json(folder / "ml.jsonl", orient="records", lines=True)
    return folder


CASES = [("ml.csv", ReadOptions(), PrepareConfig()),
         ("ml.tsv", ReadOptions(time_col="date"), PrepareConfig(split="temporal", kcore=5)),
         ("ml.parquet", ReadOptions(event_col="event"), PrepareConfig(events=["like"])),
         ("ml.parquet", ReadOptions(time_col="seconds"), PrepareConfig()),
         ("ml.jsonl", ReadOptions(time_col="none"), PrepareConfig()),
         ("ml.csv", ReadOptions(user_col="item_id", item_col="user_id", time_col="date"), PrepareConfig(split="temporal"))]


@pytest.mark.parametrize("name,read,prepare", CASES)
def test_chunks_give_the_whole_file_arrays_and_report(tables, name, read, prepare):
    whole, report = prepare_sequences(read_log(tables / name, read), prepare)
    for rows in (7_777, 10**6):
        chunked, chunked_report, info = read_prepared(tables / name, read, prepare, chunk_rows=rows)
        for field in FIELDS:
            a, b = getattr(whole, field), getattr(chunked, field)
            assert a.dtype == b.dtype and np.array_equal(a, b), (field, rows)
        assert chunked_report == report
        assert {k: info[k] for k in ("format", "has_time")} == {"format": name.split(".")[1], "has_time": read.time_col != "none"}


def test_generated_ties_duplicates_and_one_row_chunks(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame({"user": rng.integers(0, 20, n), "item": rng.choice(["a", "b", "c", "d"], n),
                          "time": rng.integers(0, 6, n)})  # many (user, time) ties and exact duplicates
    frame.to_csv(tmp_path / "log.csv", index=False)
    whole, report = prepare_sequences(read_log(tmp_path / "log.csv"), PrepareConfig(min_user_len=3))
    chunked, chunked_report, _ = read_prepared(tmp_path / "log.csv", None, PrepareConfig(min_user_len=3), chunk_rows=1)
    assert report["duplicate_rows"] > 0 and report["time_ties"] > 0 and chunked_report == report
    for field in FIELDS:
        assert np.array_equal(getattr(whole, field), getattr(chunked, field)), field


def test_errors_name_the_line_of_a_later_chunk(tmp_path):
    lines = ["user_id,item_id,timestamp"] + [f"u{i % 7},i{i % 11},{1000 + i}" for i in range(5000)]
    lines[4321] = "u1,i2,yesterday-ish"
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"bad.csv:4322: field 'timestamp': cannot parse 'yesterday-ish'"):
        read_prepared(tmp_path / "bad.csv", chunk_rows=1000)
    lines[4321] = "u1,,1"
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"bad.csv:4322: field 'item_id': empty item id"):
        read_prepared(tmp_path / "bad.csv", chunk_rows=1000)


def test_a_column_that_changes_kind_between_chunks_is_refused(tmp_path):
    times = [str(1000 + i) for i in range(30)] + [f"2020-01-{1 + i % 28:02d}" for i in range(30)]
    pd.DataFrame({"user_id": [i % 5 for i in range(60)], "item_id": range(60), "timestamp": times}).to_csv(
        tmp_path / "mixed.csv", index=False)
    with pytest.raises(DataError, match=r"mixed.csv:32: field 'timestamp': times are unix seconds from line 2 "
                                        r"but dates here"):
        read_prepared(tmp_path / "mixed.csv", chunk_rows=30)
    rows = [{"user_id": 1, "item_id": i, "ts": i} for i in range(4)] + [{"user_id": "x", "item_id": 9, "ts": 9}]
    pd.DataFrame(rows).to_json(tmp_path / "mixed.jsonl", orient="records", lines=True)
    with pytest.raises(DataError, match=r"mixed.jsonl:5: field 'user_id': user ids are numbers in some rows"):
        read_prepared(tmp_path / "mixed.jsonl", chunk_rows=4)


def test_the_columns_read_are_recorded_given_or_guessed(tmp_path):
    path = tmp_path / "log.csv"
    pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 2], "item": ["a", "b", "c", "a", "c", "b"], "ts": [1, 2, 3, 1, 2, 3],
                  "stars": [5, 4, 3, 2, 1, 5]}).to_csv(path, index=False)
    _, _, info = read_prepared(path, ReadOptions(time_col="ts"), PrepareConfig())
    assert info["columns"] == {"user": "user_id", "item": "item", "time": "ts"}
    _, _, info = read_prepared(path, ReadOptions(time_col="none", weight_col="stars"), PrepareConfig())
    assert info["columns"] == {"user": "user_id", "item": "item", "weight": "stars"} and not info["has_time"]
