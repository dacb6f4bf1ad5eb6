"""``g2rec demo``: run the pipeline end to end on a built-in generated dataset."""

from __future__ import annotations

from pathlib import Path

import typer

from g2rec.pipeline import SyntheticConfig, run_demo

from .build_graph import SUMMARY_KEYS
from .ui import JsonOption, progress_bar, show_summary, user_errors


def demo_command(
    out: Path = typer.Option(Path("runs/demo"), "-o", "--out", help="Run folder; the log goes to <out>-input.parquet."),
    users: int = typer.Option(5000, help="Users in the generated log."),
    items: int = typer.Option(2000, help="Items in the generated log."),
    seed: int = typer.Option(0, help="Random seed."),
    epochs: int = typer.Option(100, help="Most training epochs of the generator (it stops after 5 without a better validation score)."),
    overwrite: bool = typer.Option(True, help="Replace an earlier demo run."),
    json_out: bool = JsonOption,
):
    """Generate a log and run every stage on it (about 1.5 minutes on 2 CPU cores, most of it training)."""
    with user_errors():
        with progress_bar(not json_out) as progress:
            summary = run_demo(out, SyntheticConfig(num_users=users, num_items=items, seed=seed), overwrite, progress,
                               epochs)
    show_summary(f"demo -> {out}", summary, ["input", "stages", *SUMMARY_KEYS[:4], "spectral_knn_recall10",
                                             "num_prototypes", "modularity", "leiden_modularity", "train_epochs", "best_epoch",
                                             "test_recall10", "test_ndcg10", "ndcg10_gain_over_knn", "report", "seconds"],
                 json_out)
    if not json_out:
        for r in summary["recommendations"]:
            interests = "; ".join(f"P{i['prototype']} ({', '.join(map(str, i['central_items']))})" for i in r["interests"])
            typer.echo(f"user {r['user']}: {', '.join(map(str, r['items']))}   interests: {interests}")
