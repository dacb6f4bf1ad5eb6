"""Output helpers shared by the verbs: summary table or JSON, progress bars, one-line errors."""

from __future__ import annotations

import json
import logging
import sys
import time
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


class ConsoleLog(logging.Handler):
    """The library's log lines (``g2rec.*`` loggers: each epoch's loss and validation scores) on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        err_console.print(self.format(record), highlight=False, markup=False, soft_wrap=True)


def show_library_log() -> None:
    """Send the library's INFO lines to stderr, once per process."""
    logger = logging.getLogger("g2rec")
    if not any(isinstance(h, ConsoleLog) for h in logger.handlers):
        logger.addHandler(ConsoleLog())
        logger.setLevel(logging.INFO)


@contextmanager
def progress_bar(enabled: bool = True):
    """Yield ``update(stage, done, total)``: a bar per stage on a terminal; elsewhere (a log file,
    a pipe, CI) a plain line per stage every 10 seconds and when a stage of 10+ seconds ends."""
    if not enabled:
        yield None
        return
    if not err_console.is_terminal:
        yield PlainProgress()
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True) as bar:
        tasks = {}

        def update(stage: str, done: int, total: int):
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


class PlainProgress:
    """``progress(stage, done, total)`` as plain lines on stderr, at most one per stage every 10 s."""

    EVERY = 10.0

    def __init__(self):
        self.started: dict[str, float] = {}
        self.shown: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        start = self.started.setdefault(stage, now)
        finished = done >= total
        if (finished and now - start >= self.EVERY) or (not finished and now - self.shown.get(stage, start) >= self.EVERY):
            share = f" ({100 * done / total:.0f}%)" if total else ""
            print(f"{stage}: {done:,}/{total:,}{share}, {now - start:.0f} s", file=sys.stderr, flush=True)
            self.shown[stage] = now
        if finished:
            self.started.pop(stage, None)
            self.shown.pop(stage, None)


@contextmanager
def user_errors():
    """Turn library errors a user can fix into one line on stderr and exit code 2."""
    try:
        yield
    except G2RecError as e:
        err_console.print(f"[red]error:[/red] {escape(str(e))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
