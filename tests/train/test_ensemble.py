"""g2rec ensemble on real data: made from trained seeds, evaluated, given a prior and recommending like a model."""

import json

import pytest
from g2rec_cli.main import app
from typer.testing import CliRunner

from g2rec import build_graph
from tests.conftest import MOVIELENS

runner = CliRunner()
SMALL = ["--model", "sasrec", "--epochs", "1", "--max-len", "10", "--dim", "32", "--threads", "2", "--json"]


def cli_json(*words: str) -> dict:
    result = runner.invoke(app, list(words))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def run(tmp_path_factory, shared_data):
    path = str(tmp_path_factory.mktemp("ensemble") / "run")
    build_graph(MOVIELENS, path)
    trained = [cli_json("train", path, *SMALL, "--seed", str(seed), "--name", f"s{seed}") for seed in (0, 1, 2)]
    return path, trained


def test_ensemble_scores_on_validation_as_evaluate_does(run):
    path, trained = run
    out = cli_json("ensemble", path, "--members", "s0", "--members", "s1", "--members", "s2", "--name", "x3", "--json")
    assert out["members"] == ["s0", "s1", "s2"] and out["member_valid_ndcg10"] == [t["valid_ndcg10"] for t in trained]
    valid = cli_json("evaluate", path, "--model", "x3", "--split", "valid", "--json")["metrics"]
    assert valid["ndcg@10"] == pytest.approx(out["valid_ndcg10"], abs=1e-5) and valid["ndcg@10"] > 0
    # different seeds make different members, so the ensemble is not any one of them
    assert len({t["valid_ndcg10"] for t in trained} | {out["valid_ndcg10"]}) > 2
    test = cli_json("evaluate", path, "--model", "x3", "--json")["metrics"]
    assert test["num_users"] > 0 and 0 < test["ndcg@10"] <= test["recall@10"]
    record = json.loads(open(f"{path}/manifest.json").read())["stages"]["ensemble"]["x3"]
    assert record["valid_ndcg10"] == out["valid_ndcg10"]


def test_prior_and_recommend_on_an_ensemble(run):
    path, _ = run
    cli_json("ensemble", path, "--members", "s0", "--members", "s1", "--name", "x2", "--json")
    base = cli_json("evaluate", path, "--model", "x2", "--split", "valid", "--json")["metrics"]["ndcg@10"]
    out = cli_json("tune-prior", path, "--model", "x2", "--name", "x2-prior", "--grid", "0", "--grid", "1",
                   "--history", "3", "--decay", "0.5", "--eps", "1e-3", "--json")
    assert [r["ndcg10"] for r in out["table"] if r["alpha"] == 0] == [pytest.approx(base, abs=1e-5)]
    valid = cli_json("evaluate", path, "--model", "x2-prior", "--split", "valid", "--json")["metrics"]
    assert valid["ndcg@10"] == pytest.approx(out["valid_ndcg10"], abs=1e-5)
    rec = cli_json("recommend", path, "--model", "x2-prior", "--user", "1", "-k", "5", "--json")
    assert len(rec["items"]) == 5 and rec["scores"] == sorted(rec["scores"], reverse=True)


def test_bad_ensembles_fail_with_one_line(run):
    path, _ = run
    for members, name, message in ((["s0"], "x", "at least 2"), (["s0", "s0"], "x", "distinct"),
                                   (["s0", "nope"], "x", "no trained model 'nope'"), (["s0", "s1"], "s0", "not itself"),
                                   (["s0", "x3"], "y", "itself an ensemble"), (["s1", "s2"], "s0", "holds a trained model")):
        if "x3" in members:
            cli_json("ensemble", path, "--members", "s1", "--members", "s2", "--name", "x3", "--json")
        words = [w for m in members for w in ("--members", m)]
        result = runner.invoke(app, ["ensemble", path, *words, "--name", name])
        assert result.exit_code == 2 and message in result.stderr, result.output
