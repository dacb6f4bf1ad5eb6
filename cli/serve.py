"""``g2rec serve RUN_DIR``: recommendations over HTTP (GET /health, POST /recommend)."""

from __future__ import annotations

from pathlib import Path

import typer

from g2rec.pipeline import serve

from .ui import user_errors


def serve_command(
    run_dir: Path = typer.Argument(..., metavar="RUN_DIR", help="Run folder with a trained model."),
    model: str | None = typer.Option(None, help="A trained model's name (default: the run's most recent), or popularity | knn."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, help="Port to listen on."),
):
    """Serve recommendations: POST /recommend {"user": ID} or {"history": [ITEM, ...]} (optional "k",
    "exclude_history"; a list for a batch) -> {"items", "scores", "interests"}; GET /health."""
    with user_errors():
        serve(run_dir, model, host, port)
