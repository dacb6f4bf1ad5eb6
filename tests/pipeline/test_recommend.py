"""Recommendations for known users and new histories, the default model, and history files."""

import json

import pytest
from g2rec_cli.main import app
from typer.testing import CliRunner

from g2rec import Recommender, build_graph, evaluate, recommend, train
from g2rec.errors import G2RecError
from g2rec.pipeline.models import latest_model
from g2rec.pipeline.recommend import read_histories
from g2rec.pipeline.runfolder import RunFolder
from tests.conftest import MOVIELENS

runner = CliRunner()


def test_a_users_items_as_a_new_history_get_that_users_answer(trained_run):
    rec = Recommender(trained_run, "sasrec-items")
    seq = rec.seq
    user = seq.user_ids[5]
    items = seq.item_ids[seq.items[seq.offsets[5]:seq.offsets[6]]].tolist()
    known = rec.users([user], k=10)[0]
    new = rec.histories([items, items + ["no-such-item"]], k=10)
    for answer in new:
        assert answer["items"] == known["items"] and answer["scores"] == pytest.approx(known["scores"], abs=1e-4)
    assert new[0]["unknown_items"] == [] and new[1]["unknown_items"] == ["no-such-item"]
    assert known["interests"] and all(i["weight"] > 0 for i in known["interests"])
    assert new[0]["interests"] == known["interests"]
    assert all(s <= 0 for s in known["scores"]) and known["scores"] == sorted(known["scores"], reverse=True)


def test_empty_and_unknown_histories_still_get_k_items(trained_run):
    rec = Recommender(trained_run, "sasrec-items")
    for answer in rec.histories([[], ["nope", "nada"]], k=7):
        assert len(answer["items"]) == 7 and answer["interests"] == []
    out = rec.histories([[rec.seq.item_ids[0]]], k=5, exclude_history=True)[0]
    assert rec.seq.item_ids[0] not in out["items"]
    with pytest.raises(G2RecError, match="k=0"):
        rec.histories([[]], k=0)
    with pytest.raises(G2RecError, match="list of lists"):
        rec.histories(["50"], k=3)
    with pytest.raises(G2RecError, match="unknown user 'ghost'"):
        rec.users(["ghost"])


def test_the_default_model_is_the_most_recent(trained_run, tmp_path):
    train(trained_run, "sasrec", name="sasrec-newer", epochs=1, max_len=10, dim=8, threads=1, graph_prior=False)
    assert latest_model(RunFolder(trained_run)) == "sasrec-newer"
    assert evaluate(trained_run, split="valid")["model"] == "sasrec-newer"
    user = RunFolder(trained_run).sequences().user_ids[0]
    assert recommend(trained_run, [user], k=3) == recommend(trained_run, [user], "sasrec-newer", k=3)
    assert recommend(trained_run, [user], k=3) != recommend(trained_run, [user], "sasrec-items", k=3)
    empty = tmp_path / "bare"
    build_graph(MOVIELENS, empty)
    with pytest.raises(G2RecError, match="no trained model yet: run `g2rec train"):
        evaluate(empty)


def test_histories_file_and_cli(trained_run, tmp_path):
    items = [str(i) for i in RunFolder(trained_run).sequences().item_ids[:3]]
    path = tmp_path / "h.jsonl"
    path.write_text(json.dumps(items) + "\n\n" + json.dumps([items[0], 7]) + "\n")
    assert read_histories(path) == [items, [items[0], 7]]
    result = runner.invoke(app, ["recommend", str(trained_run), "--histories", str(path), "-k", "4", "--json",
                                 "--model", "sasrec-items"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["history"] for r in lines] == [items, [items[0], 7]] and all(len(r["items"]) == 4 for r in lines)
    result = runner.invoke(app, ["recommend", str(trained_run), "--history", items[0], "--history", "zzz", "-k", "2"])
    assert result.exit_code == 0 and "not in the run, left out: zzz" in result.stdout and "log p" in result.stdout
    for text, message in (('["a"]\n{"x": 1}\n', ":2: a history is a JSON list"), ("[1,\n", ":1: not JSON"),
                          ("\n", "no histories")):
        path.write_text(text)
        result = runner.invoke(app, ["recommend", str(trained_run), "--histories", str(path)])
        assert result.exit_code == 2 and message in result.stderr, result.stderr
    result = runner.invoke(app, ["recommend", str(trained_run)])
    assert result.exit_code == 2 and "--history ITEM" in result.stderr
