"""``g2rec generate -o LOG``: write a synthetic interaction log (users with latent interests)."""

from __future__ import annotations

from pathlib import Path

import typer

from g2rec.pipeline import SyntheticConfig, generate_log, write_log

from .ui import JsonOption, show_summary, user_errors


def generate_command(
    out: Path = typer.Option(..., "-o", "--out", help="Output file: .parquet, .csv or .csv.gz."),
    users: int = typer.Option(5000, help="Number of users."),
    items: int = typer.Option(2000, help="Number of items."),
    communities: int = typer.Option(20, help="Item communities (latent interests)."),
    mean_length: float = typer.Option(12.0, help="Mean sequence length."),
    seed: int = typer.Option(0, help="Random seed; the same seed writes the same log."),
    json_out: bool = JsonOption,
):
    """Generate a realistic synthetic log: interest mixtures over item communities, power-law popularity, times."""
    with user_errors():
        config = SyntheticConfig(num_users=users, num_items=items, num_communities=communities,
                                 mean_length=mean_length, seed=seed)
        frame = generate_log(config)
        write_log(frame, out)
    summary = {"path": str(out), "num_users": int(frame["user_id"].nunique()),
               "num_items": int(frame["item_id"].nunique()), "num_interactions": len(frame)}
    show_summary(f"generate -> {out}", summary, list(summary), json_out)
