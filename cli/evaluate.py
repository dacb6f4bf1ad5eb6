"""``g2rec evaluate RUN_DIR``: the project's protocol on a trained model or a baseline."""

from __future__ import annotations

from pathlib import Path

import typer

from g2rec.train.stage import evaluate

from .ui import JsonOption, progress_bar, show_summary, user_errors


def evaluate_command(
    run_dir: Path = typer.Argument(..., help="Run folder."),
    model: str = typer.Option("g2rec-items", help="A trained model's name (models/NAME), or popularity | knn."),
    split: str = typer.Option("test", help="valid | test."),
    sampled: int | None = typer.Option(None, help="Rank against this many sampled negatives (99 = G2Rec paper's protocol)."),
    exclude_history: bool = typer.Option(False, "--exclude-history", help="Remove items the user already touched from the ranking."),
    unconstrained: bool = typer.Option(False, "--unconstrained", help="sids head: decode without the trie and report the hallucination rate."),
    beam: int | None = typer.Option(None, help="sids head: beam width (default: the model's, 20)."),
    seed: int = typer.Option(0, help="Seed of the sampled negatives."),
    json_out: bool = JsonOption,
):
    """Recall/NDCG@{5,10,20}, MRR (and hallucination rate for the sids head); full ranking by default."""
    with user_errors(), progress_bar(not json_out) as progress:
        summary = evaluate(run_dir, model, split, sampled, exclude_history, beam=beam, seed=seed,
                           unconstrained=unconstrained, progress=progress)
    flat = {"model": summary["model"], "split": summary["split"], **summary["metrics"]}
    show_summary(f"evaluate {model} ({summary['metrics']['protocol']})", flat if not json_out else summary,
                 list(flat), json_out)
