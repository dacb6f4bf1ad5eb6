"""``g2rec run CONFIG.toml``: every stage from one TOML file, skipping the unchanged ones."""

from __future__ import annotations

from pathlib import Path

import typer

from g2rec.pipeline import run_pipeline

from .ui import JsonOption, progress_bar, show_summary, user_errors


def run_command(
    config: Path = typer.Argument(..., metavar="CONFIG", help="Pipeline file (TOML): input, run_dir, [read] [prepare] "
                                                             "[graph] [embed] [tokenize] [train] [evaluate]."),
    set_: list[str] | None = typer.Option(None, "--set", metavar="TABLE.KEY=VALUE",
                                          help="Replace one option, repeatable (e.g. --set train.epochs=5)."),
    json_out: bool = JsonOption,
):
    """Run build-graph, then each stage whose table is present; a stage whose options and inputs
    are unchanged since it last finished is skipped, a killed training resumes."""
    with user_errors(), progress_bar(not json_out) as progress:
        summary = run_pipeline(config, set_ or [], progress)
    flat = {stage: "skipped (unchanged)" if "skipped" in s else "ran" for stage, s in summary["stages"].items()}
    show_summary(f"run {config} -> {summary['run_dir']}", summary if json_out else {**flat, "seconds": summary["seconds"]},
                 [*flat, "seconds"], json_out)
