"""``g2rec recommend RUN_DIR``: top-K items for known users or new histories, with the interests behind them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from g2rec.pipeline import G2RecError, Recommender, read_histories, read_users

from .ui import JsonOption, user_errors


def recommend_command(
    run_dir: Path = typer.Argument(..., metavar="RUN_DIR", help="Run folder with a trained model."),
    user: list[str] | None = typer.Option(None, help="Original user id (repeat for several)."),
    users_file: Path | None = typer.Option(None, help="File with one original user id per line (batch form)."),
    history: list[str] | None = typer.Option(None, help="A new history: original item ids, oldest first (repeat: --history A --history B)."),
    histories: Path | None = typer.Option(None, help="JSONL file of new histories, one JSON list of item ids per line."),
    model: str | None = typer.Option(None, help="A trained model's name (default: the run's most recent), or popularity | knn."),
    k: int = typer.Option(10, "-k", help="Items per user."),
    upto: str = typer.Option("all", help="Known users' history used: all | valid | test (what preceded the held-out item)."),
    exclude_history: bool = typer.Option(False, "--exclude-history", help="Never recommend items of the history."),
    json_out: bool = JsonOption,
):
    """Recommend for users of the run or for new histories; with --json one JSON object per line:
    {"user" or "history", "items", "scores", "interests"} (scores: log-probabilities of being next)."""
    with user_errors():
        ids = list(user or []) + (read_users(users_file) if users_file is not None else [])
        new = ([list(history)] if history else []) + (read_histories(histories) if histories is not None else [])
        if not ids and not new:
            raise G2RecError("give --user ID (repeatable), --users-file FILE, --history ITEM (repeatable) or --histories FILE")
        recommender = Recommender(run_dir, model)
        results = recommender.users(ids, k, upto, exclude_history) if ids else []
        results += [{"history": h, **r} for h, r in zip(new, recommender.histories(new, k, exclude_history))] if new else []
    if json_out:
        for r in results:
            sys.stdout.write(json.dumps(r, default=str) + "\n")
        return
    console = Console()
    for r in results:
        who = f"user {r['user']}" if "user" in r else f"history of {len(r['history'])} items"
        table = Table(title=f"{who}: top {len(r['items'])} ({recommender.model})", title_justify="left")
        table.add_column("rank")
        table.add_column("item")
        table.add_column("log p (next)")
        for rank, (item, score) in enumerate(zip(r["items"], r["scores"]), 1):
            table.add_row(str(rank), str(item), f"{score:.4g}")
        console.print(table)
        if r.get("unknown_items"):
            console.print(f"  not in the run, left out: {', '.join(map(str, r['unknown_items']))}", highlight=False)
        for it in r["interests"]:
            console.print(f"  interest P{it['prototype']} (weight {it['weight']}): {', '.join(map(str, it['central_items']))}",
                          highlight=False)
