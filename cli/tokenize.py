"""``g2rec tokenize RUN_DIR``: interest prototypes, item profiles and semantic IDs."""

from __future__ import annotations

from pathlib import Path

import typer

from g2rec.pipeline import tokenize

from .ui import JsonOption, progress_bar, show_summary, user_errors

SUMMARY_KEYS = ["num_items", "num_prototypes", "modularity", "leiden_modularity", "leiden_communities",
                "prototype_seconds", "leiden_seconds", "levels", "codebook_size", "colliding_items_before",
                "unresolved_collisions", "relative_reconstruction_error", "prototype_agreement", "purity",
                "trie_nodes", "seconds", "peak_memory_mb"]


def tokenize_command(
    run_dir: Path = typer.Argument(..., metavar="RUN_DIR", help="Run folder (after `g2rec build-graph`; uses `g2rec embed` vectors)."),
    embedding: str | None = typer.Option(None, help="Item vectors X for prototypes and SIDs: an embed method (default spectral, made if missing)."),
    init: str | None = typer.Option(None, help="Prototype initialization: spectral (k-means of the spectral embedding) | leiden."),
    num_prototypes: int | None = typer.Option(None, help="Prototypes C at the start (merges may reduce them; default 64, or a quarter of the items when fewer)."),
    rho: int | None = typer.Option(None, help="Non-zero memberships per item (default 4)."),
    gamma: float | None = typer.Option(None, help="Resolution of soft modularity (default 1 = standard modularity)."),
    iterations: int | None = typer.Option(None, help="Soft-modularity ascent iterations (default 300)."),
    leiden: bool | None = typer.Option(None, "--leiden/--no-leiden", help="Run the Leiden baseline and report its modularity (default on)."),
    sid_method: str | None = typer.Option(None, help="Semantic IDs: rkmeans (residual k-means, faiss) | rqvae."),
    levels: int | None = typer.Option(None, help="Code levels L before the collision level (default 3)."),
    codebook_size: int | None = typer.Option(None, help="Codes per level K (default 256, or a quarter of the items when fewer)."),
    supervision: float | None = typer.Option(None, help="Weight of the prototype supervision of level 1 (default 1; 0 = off)."),
    top_items: int | None = typer.Option(None, help="Central items that describe each prototype (default 5)."),
    seed: int | None = typer.Option(None, help="Random seed (default 0): same seed, same codes."),
    json_out: bool = JsonOption,
):
    """Find interest prototypes on the graph (no labels), item profiles, and unique prototype-supervised SIDs."""
    with user_errors():
        with progress_bar(not json_out) as progress:
            options = dict(embedding=embedding, init=init, num_prototypes=num_prototypes, rho=rho, gamma=gamma,
                           iterations=iterations, leiden=leiden, sid_method=sid_method, levels=levels,
                           codebook_size=codebook_size, supervision=supervision, top_items=top_items, seed=seed)
            summary = tokenize(run_dir, progress=progress, **{k: v for k, v in options.items() if v is not None})
    show_summary(f"tokenize -> {run_dir}/tokenize", summary, SUMMARY_KEYS, json_out)
