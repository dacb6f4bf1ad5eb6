"""``g2rec evaluate RUN_DIR``: the project's protocol on a trained model or a baseline; ``--report``
writes the HTML report of every evaluated model."""

from __future__ import annotations

from pathlib import Path

import typer

from g2rec.pipeline import ReportConfig, evaluate, evaluate_rewards, write_report

from .ui import JsonOption, progress_bar, show_summary, user_errors


def evaluate_command(
    run_dir: Path = typer.Argument(..., metavar="RUN_DIR", help="Run folder."),
    model: str | None = typer.Option(None, help="A trained model's name (models/NAME), or popularity | knn "
                                                "(default: the run's most recent model; with --report, none: report only)."),
    split: str = typer.Option("test", help="valid | test (also the split the report shows)."),
    sampled: int | None = typer.Option(None, help="Rank against this many sampled negatives (99 = G2Rec paper's protocol)."),
    exclude_history: bool = typer.Option(False, "--exclude-history", help="Remove items the user already touched from the ranking."),
    skip_cold_targets: bool = typer.Option(False, "--skip-cold-targets", help="Leave out queries whose target has no "
                                           "training interaction (RecTools' filter_cold_items)."),
    unconstrained: bool = typer.Option(False, "--unconstrained", help="sids head: decode without the trie and report the hallucination rate."),
    beam: int | None = typer.Option(None, help="sids head: beam width (default: the model's, 20)."),
    seed: int = typer.Option(0, help="Seed of the sampled negatives."),
    reward: str | None = typer.Option(None, help="sids head: instead, rate what the model generates (beam 50, no trie) "
                                                 "by this items-head model: Reward@1/10, HR@10/50, HaR."),
    report: bool = typer.Option(False, "--report", help="Write the HTML report (PNG figures) of all evaluated models."),
    report_dir: Path | None = typer.Option(None, help="Folder of the report (default RUN_DIR/report)."),
    compute_missing_ranks: bool = typer.Option(True, help="Report: evaluate again, for the history-length breakdown "
                                                          "only, models whose per-user ranks were not saved."),
    json_out: bool = JsonOption,
):
    """Recall/NDCG@{5,10,20}, MRR (and hallucination rate for the sids head); full ranking by default."""
    summary = None
    if reward is not None:
        with user_errors(), progress_bar(not json_out) as progress:
            summary = evaluate_rewards(run_dir, model, reward, split, beam or 50, progress)
        flat = {"model": summary["model"], "split": split, **summary["metrics"]}
        show_summary(f"evaluate {summary['model']} (rated by {reward})", summary if json_out else flat, list(flat), json_out)
        return
    if model is not None or not report:
        with user_errors(), progress_bar(not json_out) as progress:
            summary = evaluate(run_dir, model, split, sampled, exclude_history, beam=beam, seed=seed,
                               unconstrained=unconstrained, progress=progress, skip_cold_targets=skip_cold_targets)
        flat = {"model": summary["model"], "split": summary["split"], **summary["metrics"]}
        if not (json_out and report):  # with --report, --json prints one object at the end
            show_summary(f"evaluate {summary['model']} ({summary['metrics']['protocol']})", flat if not json_out else summary,
                         list(flat), json_out)
    if report:
        config = ReportConfig(out_dir=report_dir, split=split, compute_missing_ranks=compute_missing_ranks)
        with user_errors(), progress_bar(not json_out) as progress:
            written = write_report(run_dir, config, progress)
        show_summary("evaluate --report", {**summary, "report": written} if summary and json_out else written,
                     ["path", "models", "figures", "seconds"], json_out)
