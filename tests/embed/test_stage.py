"""The embed stage: artifacts, manifest, CLI, and clear errors on bad run folders."""

import json
import shutil

import numpy as np
import pytest
import scipy.sparse as sp
from g2rec_cli.main import app
from typer.testing import CliRunner

from g2rec import build_graph
from g2rec.errors import ConfigError, G2RecError
from g2rec.pipeline.embed import embed
from g2rec.pipeline.runfolder import RunFolder
from tests.conftest import SCIENTIFIC

runner = CliRunner()


@pytest.fixture(scope="module")
def run(tmp_path_factory, shared_data):
    path = tmp_path_factory.mktemp("embed") / "run"
    build_graph(SCIENTIFIC, path)
    return path


def test_spectral_through_the_cli(run):
    result = runner.invoke(app, ["embed", str(run), "--method", "spectral", "--dim", "16", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["method"], summary["num_items"], summary["dim"]) == ("spectral", 4344, 16)
    assert summary["knn_valid"]["Recall@10"] > 0.01
    vectors = RunFolder(run).embeddings("spectral")
    assert vectors.shape == (4344, 16) and vectors.dtype == np.float32
    entry = json.loads((run / "manifest.json").read_text())["stages"]["embed"]["spectral"]
    assert entry["params"]["dim"] == 16 and entry["summary"] == summary
    assert "build-graph" in json.loads((run / "manifest.json").read_text())["stages"]


def test_not_a_run_folder(tmp_path):
    with pytest.raises(G2RecError, match="not a run folder"):
        embed(tmp_path, "spectral")
    result = runner.invoke(app, ["embed", str(tmp_path)])
    assert result.exit_code == 2 and "build-graph" in result.stderr


def test_missing_and_mismatched_artifacts(run, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(run, broken)
    (broken / "graph.npz").unlink()
    with pytest.raises(G2RecError, match="missing graph.npz"):
        embed(broken, "spectral", dim=8)
    sp.save_npz(broken / "graph.npz", sp.identity(10, format="csr"))
    with pytest.raises(G2RecError, match=r"graph.npz: damaged artifact \(written by build-graph\).*overwritten"):
        embed(broken, "spectral", dim=8)
    manifest = json.loads((broken / "manifest.json").read_text())  # a run folder of an older g2rec: no checksums
    del manifest["files"]
    (broken / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(G2RecError, match="does not match 4344 items"):
        embed(broken, "spectral", dim=8)
    (broken / "manifest.json").write_text("{not json")
    with pytest.raises(G2RecError, match="corrupt manifest"):
        embed(broken, "spectral", dim=8)


def test_unknown_method_and_missing_embeddings(run):
    with pytest.raises(ConfigError, match="spectral, lightgcn, sage, sasrec, text"):
        embed(run, "word2vec")
    with pytest.raises(G2RecError, match="no 'sage' embeddings"):
        RunFolder(run).embeddings("sage")


def test_unknown_and_foreign_options_are_refused_by_name(run):
    with pytest.raises(ConfigError, match="unknown option 'dimm' \\(did you mean 'dim'\\?\\)"):
        embed(run, "lightgcn", dimm=3)
    with pytest.raises(ConfigError, match="LightGCNConfig has no option 'solver'"):
        embed(run, "lightgcn", solver="arpack")
    assert not (run / "embeddings" / "lightgcn.npy").exists()
    result = runner.invoke(app, ["embed", str(run), "--method", "lightgcn", "--solver", "arpack"])
    assert result.exit_code == 2 and "no option 'solver'" in result.stderr
