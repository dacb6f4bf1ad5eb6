"""``g2rec evaluate RUN_DIR --report`` on a small real run (MovieLens-100K), opened in headless Chromium."""

import json
import shutil

import numpy as np
import pytest
import torch
from g2rec_cli.main import app
from PIL import Image
from typer.testing import CliRunner

from g2rec import build_graph
from g2rec.eval.metrics import metrics_from_ranks
from g2rec.pipeline.tokenize import tokenize
from tests.conftest import MOVIELENS
from tests.report.browser import rendered_images, screenshot

torch.set_num_threads(1)
runner = CliRunner()
FIGURES = {"metrics.png", "metrics_sampled.png", "curves.png", "history_length.png", "prototype_sizes.png", "item_map.png"}


def cli(*args):
    result = runner.invoke(app, [*map(str, args)])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def run(tmp_path_factory, shared_data):
    """Graph, prototypes, a 2-epoch SASRec and the two baselines, each evaluated."""
    path = tmp_path_factory.mktemp("report") / "run"
    build_graph(MOVIELENS, path)
    tokenize(path, num_prototypes=8, iterations=20, leiden=False, levels=1, codebook_size=16, kmeans_iterations=3,
             compare_unsupervised=False)
    cli("train", path, "--model", "sasrec", "--epochs", "2", "--max-len", "20", "--dim", "32", "--threads", "1", "--json")
    for model in ("sasrec-items", "popularity", "knn"):
        cli("evaluate", path, "--model", model, "--json")
    cli("evaluate", path, "--model", "knn", "--sampled", "99", "--json")
    return path


def test_evaluate_saves_per_user_ranks_that_give_its_metrics(run):
    folder = run / "models" / "sasrec-items"
    ranks = np.load(folder / "ranks-test-full-ranking.npy")
    saved = json.loads((folder / "metrics.json").read_text())["test-full-ranking"]["metrics"]
    assert ranks.shape == (943,) and ranks.dtype == np.float32
    again = metrics_from_ranks(ranks)
    assert again["NDCG@10"] == pytest.approx(saved["ndcg@10"], abs=1e-5)
    assert again["MRR"] == pytest.approx(saved["mrr"], abs=1e-5)


def test_report_renders_in_chromium(run, tmp_path):
    result = cli("evaluate", run, "--report", "--json")
    summary = json.loads(result.stdout)
    out = run / "report"
    assert summary["path"] == str(out / "index.html") and summary["models"] == 3
    assert set(summary["figures"]) == FIGURES
    page = (out / "index.html").read_text()
    for heading in ("Results: test split, full ranking", "Training curves", "By history length", "Interest prototypes"):
        assert heading in page
    assert "sasrec-items" in page and '<tr class="published">' not in page  # MovieLens: no published rows
    assert "hatched orange" not in page and "no published results are known for this data" in page
    assert "Per-user ranks saved by evaluate: knn, popularity, sasrec-items." in summary["notes"]

    images = rendered_images(out / "index.html")
    assert {i["src"] for i in images} == FIGURES
    for image in images:
        assert image["complete"] and image["width"] > 300 and image["height"] > 200 and image["shown"] > 100, image
        assert image["opaque"] == 1.0 and image["inked"] > 0.01, image  # fully decoded, not blank
        assert (image["width"], image["height"]) == Image.open(out / image["src"]).size

    shot = np.asarray(Image.open(screenshot(out / "index.html", tmp_path / "page.png")).convert("L"))
    assert (shot < 250).mean() > 0.05, "the screenshot is (almost) blank"

    # the check fails when a figure is broken: a copy of the report with one PNG cut short
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    (broken / "item_map.png").write_bytes((out / "item_map.png").read_bytes()[:200])
    states = {i["src"]: i for i in rendered_images(broken / "index.html")}
    assert states["item_map.png"]["opaque"] < 0.5 and states["metrics.png"]["opaque"] == 1.0
    (broken / "curves.png").unlink()
    assert {i["src"]: i["width"] for i in rendered_images(broken / "index.html")}["curves.png"] == 0


def test_missing_ranks_are_recomputed_into_the_report_cache_or_left_out(run, tmp_path):
    saved = run / "models" / "knn" / "ranks-test-full-ranking.npy"
    ranks = np.load(saved)
    saved.unlink()  # as if evaluated before ranks were saved
    try:
        out = tmp_path / "report"
        summary = json.loads(cli("evaluate", run, "--report", "--report-dir", out, "--json").stdout)
        assert "Per-user ranks recomputed by the report: knn." in summary["notes"]
        np.testing.assert_array_equal(np.load(out / "ranks-cache" / "knn" / "ranks-test-full-ranking.npy"), ranks)
        assert not saved.exists()  # the model folder is left as it was
        summary = json.loads(cli("evaluate", run, "--report", "--report-dir", out, "--json").stdout)
        assert "Per-user ranks recomputed earlier by the report (its ranks-cache): knn." in summary["notes"]
        summary = json.loads(cli("evaluate", run, "--model", "popularity", "--report", "--report-dir", tmp_path / "r2",
                                 "--no-compute-missing-ranks", "--json").stdout)
        assert summary["model"] == "popularity" and summary["report"]["models"] == 3
        assert any("leaves out knn" in n for n in summary["report"]["notes"])
        assert "history_length.png" in summary["report"]["figures"]
    finally:
        np.save(saved, ranks)


def test_bad_input_is_one_line_and_exit_2(run, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    shutil.copy(run / "manifest.json", empty / "manifest.json")
    result = runner.invoke(app, ["evaluate", str(empty), "--report"])
    assert result.exit_code == 2 and "no evaluated models" in result.stderr
    result = runner.invoke(app, ["evaluate", str(tmp_path / "nothing"), "--report"])
    assert result.exit_code == 2 and "not a run folder" in result.stderr
