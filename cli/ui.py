"""Output helpers shared by the verbs: summary table or JSON, progress bars, one-line errors."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from g2rec.pipeline import G2RecError

err_console = Console(stderr=True)

JsonOption = typer.Option(False, "--json", help="Print the summary as one JSON object on stdout instead of a table.")


def show_summary(title: str, summary: dict, keys: list[str], as_json: bool) -> None:
    """Print ``summary`` as JSON (all of it) or as a table of ``keys``."""
    if as_json:
        sys.stdout.write(json.dumps(summary, default=str) + "\n")
        return
    table = Table(title=title, show_header=False, title_justify="left")
    for key in keys:
        if key in summary:
            table.add_row(key, _format(summary[key]))
    Console().print(table)


def _format(value) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_format(v)}" for k, v in value.items()
                         if not isinstance(v, (dict, list)) and not k.startswith(("Recall@5", "NDCG@5", "Recall@20", "NDCG@20")))
    return str(value)


@contextmanager
def progress_bar(enabled: bool = True):
    """Yield ``update(stage, done, total)`` drawing a bar per stage on stderr."""
    if not enabled or not err_console.is_terminal:
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True) as bar:
        tasks = {}

        def update(stage: str, done: int, total: int):
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


@contextmanager
def user_errors():
    """Turn library errors a user can fix into one line on stderr and exit code 2."""
    try:
        yield
    except G2RecError as e:
        err_console.print(f"[red]error:[/red] {escape(str(e))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
