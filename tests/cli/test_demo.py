"""`g2rec demo` runs every stage end to end on generated data and reports each."""

import json

from g2rec_cli.main import app
from typer.testing import CliRunner

runner = CliRunner()


def test_demo_runs_the_whole_pipeline(tmp_path):
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "-o", str(out), "--users", "600", "--items", "300", "--epochs", "1", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["stages"] == ["build-graph", "embed", "tokenize", "train", "evaluate", "report", "recommend"]
    html = (out / "report" / "index.html").read_text()  # the report, with its figures beside it
    assert summary["report"] == str(out / "report" / "index.html") and "g2rec-items" in html
    assert all((out / "report" / f).stat().st_size > 0 for f in ("metrics.png", "curves.png"))
    assert set(summary["test_ndcg10"]) == {"popularity", "knn", "g2rec-items"}
    assert summary["test_ndcg10"]["knn"] > summary["test_ndcg10"]["popularity"] > 0
    assert summary["ndcg10_gain_over_knn"] == round(summary["test_ndcg10"]["g2rec-items"] / summary["test_ndcg10"]["knn"] - 1, 4)
    assert summary["best_epoch"] == 1 and summary["train_epochs"] == 1
    assert len(summary["recommendations"]) == 3 and all(len(r["items"]) == 5 for r in summary["recommendations"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"build-graph", "embed", "tokenize", "train", "evaluate"} <= set(manifest["stages"])
