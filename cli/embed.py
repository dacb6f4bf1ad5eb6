"""``g2rec embed RUN_DIR --method ...``: item embeddings from the co-engagement graph or sequences."""

from __future__ import annotations

from pathlib import Path

import typer

from g2rec.pipeline import embed

from .ui import JsonOption, progress_bar, show_summary, user_errors

SUMMARY_KEYS = ["method", "num_items", "dim", "solver", "max_residual", "backend", "graph", "loss",
                "epochs", "final_loss", "items_without_text", "knn_valid", "fit_seconds", "seconds",
                "peak_memory_mb"]


def embed_command(
    run_dir: Path = typer.Argument(..., metavar="RUN_DIR", help="Run folder made by `g2rec build-graph`."),
    method: str = typer.Option("spectral", help="spectral | lightgcn | sage | sasrec | text."),
    dim: int | None = typer.Option(None, help="Embedding dimension (default 64; text: the model's)."),
    solver: str | None = typer.Option(None, help="Spectral: auto | arpack | lobpcg | randomized."),
    tol: float | None = typer.Option(None, help="Spectral: target eigen-residual."),
    backend: str | None = typer.Option(None, help="GNN: pyg (default) or dgl."),
    graph: str | None = typer.Option(None, help="GNN: coengagement (item-item) or bipartite (user-item)."),
    loss: str | None = typer.Option(None, help="GNN: bpr | infonce. SASRec: ce | bce."),
    layers: int | None = typer.Option(None, help="GNN propagation layers / SASRec blocks."),
    epochs: int | None = typer.Option(None, help="Training epochs (GNN, SASRec)."),
    lr: float | None = typer.Option(None, help="Learning rate (GNN, SASRec)."),
    batch_size: int | None = typer.Option(None, help="Training batch size (GNN, SASRec, text)."),
    text_file: str | None = typer.Option(None, help="Text: item text file (LC-Rec *.item.json[.gz], or csv/parquet)."),
    seed: int | None = typer.Option(None, help="Random seed (default 0)."),
    evaluate: bool = typer.Option(True, help="Run the label-free item-kNN check on the validation split."),
    json_out: bool = JsonOption,
):
    """Fit item embeddings and check them with an item-kNN recommender (full ranking, validation split)."""
    with user_errors():
        with progress_bar(not json_out) as progress:
            summary = embed(run_dir, method, evaluate=evaluate, progress=progress, dim=dim, solver=solver, tol=tol,
                            backend=backend, graph=graph, loss=loss, layers=layers, epochs=epochs, lr=lr,
                            batch_size=batch_size, text_file=text_file, seed=seed)
    show_summary(f"embed {method} -> {run_dir}/embeddings/{method}.npy", summary, SUMMARY_KEYS, json_out)
