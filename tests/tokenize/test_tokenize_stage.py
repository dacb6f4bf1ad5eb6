"""The tokenize stage on Amazon Scientific: artifacts, report, manifest, and clear errors."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from g2rec import build_graph
from g2rec.errors import ConfigError, G2RecError
from g2rec.pipeline.runfolder import RunFolder
from g2rec.pipeline.tokenize import tokenize
from g2rec.tokenize.tokens import TokenizeConfig
from g2rec.tokenize.trie import SIDTrie
from tests.conftest import SCIENTIFIC

torch.set_num_threads(1)
FAST = {"num_prototypes": 32, "iterations": 80, "levels": 2, "codebook_size": 32, "kmeans_iterations": 10}


@pytest.fixture(scope="module")
def run(tmp_path_factory, shared_data):
    path = tmp_path_factory.mktemp("tokenize") / "run"
    build_graph(SCIENTIFIC, path)
    return path


@pytest.fixture(scope="module")
def summary(run):
    calls = []
    out = tokenize(run, progress=lambda stage, done, total: calls.append(stage), **FAST)
    assert {"prototypes", "sids"} <= set(calls)
    return out


def test_summary_and_manifest(run, summary):
    assert summary["num_items"] == 4344 and summary["unresolved_collisions"] == 0
    assert summary["codebook_size"] == 32 and summary["levels"] in (2, 3)
    assert 1 < summary["num_prototypes"] <= 32
    assert summary["modularity"] > 0.3 and summary["leiden_modularity"] > 0.3
    entry = json.loads((run / "manifest.json").read_text())["stages"]["tokenize"]
    assert entry["summary"] == summary and entry["params"]["codebook_size"] == 32
    assert "spectral" in json.loads((run / "manifest.json").read_text())["stages"]["embed"]


def test_artifacts_are_consistent(run, summary):
    folder = run / "tokenize"
    n, c = summary["num_items"], summary["num_prototypes"]
    with np.load(folder / "prototypes.npz", allow_pickle=False) as z:
        idx, val, vectors, mass = z["idx"], z["val"], z["vectors"], z["mass"]
    assert idx.shape == val.shape == (n, 4) and vectors.shape == (c, 64)
    np.testing.assert_allclose(val.sum(1), 1, atol=1e-5)
    assert ((idx >= 0) == (val > 0)).all() and idx.max() == c - 1
    x = RunFolder(run).embeddings("spectral")
    p = np.zeros((n, c))
    rows = np.repeat(np.arange(n), 4)
    np.add.at(p, (rows[idx.ravel() >= 0], idx.ravel()[idx.ravel() >= 0]), val.ravel()[idx.ravel() >= 0])
    np.testing.assert_allclose(mass, p.sum(0), rtol=1e-4)
    np.testing.assert_allclose(vectors, (p.T @ x) / p.sum(0)[:, None], atol=1e-5)
    np.testing.assert_allclose(np.load(folder / "profiles.npy"), p @ vectors, atol=1e-5)
    with np.load(folder / "sids.npz", allow_pickle=False) as z:
        codes, vocab = z["codes"], z["vocab_sizes"]
        assert z["codebooks"].shape == (2, 32, 64)
    assert len(np.unique(codes, axis=0)) == n and (codes.max(0) < vocab).all()
    table = pd.read_parquet(folder / "sid_table.parquet")
    assert table["sid"].tolist()[:1] == ["-".join(map(str, codes[0]))] and table["item_id"].iloc[0] == "0"
    trie = SIDTrie.load(folder / "trie.npz")
    assert (trie.lookup(codes) == np.arange(n)).all()


def test_report_describes_prototypes_with_titles_and_purity(run, summary):
    report = json.loads((run / "tokenize" / "report.json").read_text())
    items = report["prototype_items"]
    assert len(items) == summary["num_prototypes"] and all(len(p["items"]) == 5 for p in items)
    assert all(i["title"] for i in items[0]["items"])
    purity = report["purity"]["prototypes"]
    assert purity["purity"] > purity["chance"] and report["purity"]["labels"].endswith("Scientific.item.json.gz")
    usage = report["sids"]["codebook_usage"]
    assert usage[0]["size"] == 32 and 0 < usage[0]["used"] <= 32
    assert set(report["sids"]["prototype_agreement"]) == {"supervised", "unsupervised"}


def test_same_seed_same_tokens(run, summary, tmp_path):
    with np.load(run / "tokenize" / "sids.npz") as z:
        first = z["codes"]
    again = tokenize(run, leiden=False, **FAST)
    assert again["modularity"] == summary["modularity"]
    with np.load(run / "tokenize" / "sids.npz") as z:
        assert (z["codes"] == first).all()


@pytest.mark.parametrize("options, message", [
    ({"num_prototypes": 5000}, "num_prototypes=5000 is larger than the 4344 items"),
    ({"num_prototypes": 3, "rho": 4}, "rho=4 is larger than num_prototypes=3"),
    ({"codebook_size": 5000}, "codebook_size=5000 is larger than the 4344 items"),
    ({"init": "louvain"}, "init='louvain' is not one of: spectral, leiden"),
    ({"sid_method": "vq"}, "is not one of: rkmeans, rqvae"),
    ({"iterations": -1}, "iterations must be >= 0"),
    ({"clusters": 3}, "unknown tokenize option"),
])
def test_bad_options_fail_before_any_work(run, options, message):
    with pytest.raises(ConfigError, match=message):
        tokenize(run, **options)


def test_not_a_run_folder(tmp_path):
    with pytest.raises(G2RecError, match="not a run folder"):
        tokenize(tmp_path)
    with pytest.raises(ConfigError):
        TokenizeConfig(init="leiden", leiden=False)


def test_defaults_fit_a_small_catalogue(tmp_path):
    """80 items: the defaults take a quarter of the items (20 prototypes, 20 codes a level)."""
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(300), 8)
    items = (users % 10) * 8 + rng.integers(0, 8, len(users))  # ten groups of eight items
    log = tmp_path / "log.csv"
    pd.DataFrame({"user": users, "item": items, "time": np.tile(np.arange(8), 300)}).to_csv(log, index=False)
    build_graph(log, tmp_path / "run")
    summary = tokenize(tmp_path / "run", iterations=30, leiden=False)
    params = json.loads((tmp_path / "run" / "manifest.json").read_text())["stages"]["tokenize"]["params"]
    assert summary["num_items"] == 80 and params["num_prototypes"] == 20 and params["codebook_size"] == 20
    assert summary["unresolved_collisions"] == 0
    assert TokenizeConfig().fitted(100_000).num_prototypes == 64 and TokenizeConfig().fitted(100_000).codebook_size == 256
    with pytest.raises(ConfigError, match="give a smaller --codebook-size"):
        TokenizeConfig(codebook_size=81).fitted(80)
