"""``g2rec recommend RUN_DIR --user ID``: top-K items with the interests behind them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from g2rec.pipeline import G2RecError, recommend

from .ui import JsonOption, user_errors


def recommend_command(
    run_dir: Path = typer.Argument(..., metavar="RUN_DIR", help="Run folder with a trained model."),
    user: list[str] | None = typer.Option(None, help="Original user id (repeat for several)."),
    users_file: Path | None = typer.Option(None, help="File with one original user id per line (batch form)."),
    model: str = typer.Option("g2rec-items", help="A trained model's name, or popularity | knn."),
    k: int = typer.Option(10, "-k", help="Items per user."),
    upto: str = typer.Option("all", help="History used: all | valid | test (what preceded the held-out item)."),
    exclude_history: bool = typer.Option(False, "--exclude-history", help="Never recommend items the user already touched."),
    json_out: bool = JsonOption,
):
    """Recommend; with --json one JSON object per line: {"user", "items", "scores", "interests"}."""
    with user_errors():
        ids = list(user or [])
        if users_file is not None:
            if not users_file.exists():
                raise G2RecError(f"{users_file}: no such file")
            ids += [line.strip() for line in users_file.read_text().splitlines() if line.strip()]
        if not ids:
            raise G2RecError("give --user ID (repeatable) or --users-file FILE")
        results = recommend(run_dir, ids, model, k, upto, exclude_history)
    if json_out:
        for r in results:
            sys.stdout.write(json.dumps(r, default=str) + "\n")
        return
    for r in results:
        table = Table(title=f"user {r['user']}: top {len(r['items'])} ({model}, history: {upto})", title_justify="left")
        table.add_column("rank")
        table.add_column("item")
        table.add_column("score")
        for rank, (item, score) in enumerate(zip(r["items"], r["scores"]), 1):
            table.add_row(str(rank), str(item), f"{score:.4g}")
        Console().print(table)
        for it in r["interests"]:
            Console().print(f"  interest {it['prototype']} (weight {it['weight']}): {', '.join(map(str, it['central_items']))}")
