"""``g2rec demo``: the whole pipeline on a built-in generated dataset, in about a minute on a laptop CPU.

Stages that exist so far: generate -> build-graph. Later stages are appended here as they land.
"""

from __future__ import annotations

from pathlib import Path

from .data.synthetic import SyntheticConfig, generate_log
from .graph.stage import build_graph
from .runinfo import Stopwatch


def write_log(frame, path: str | Path) -> Path:
    """Write a generated log as Parquet or CSV (by suffix, ``.gz`` compressed), atomically."""
    import os

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame = frame.copy(deep=False)
    frame.attrs = {}  # the ground-truth communities are not part of the log
    if path.name.endswith((".parquet", ".pq")):
        frame.to_parquet(tmp, index=False)
    else:
        frame.to_csv(tmp, index=False, compression="gzip" if path.name.endswith(".gz") else None)
    os.replace(tmp, path)
    return path


def run_demo(run_dir: str | Path, config: SyntheticConfig | None = None, overwrite: bool = False,
             progress=None) -> dict:
    """Generate a log beside ``run_dir`` (``<run_dir>-input.parquet``) and run every stage on it."""
    clock = Stopwatch()
    run_dir = Path(run_dir)
    config = config or SyntheticConfig()
    log_path = write_log(generate_log(config), run_dir.with_name(f"{run_dir.name}-input.parquet"))
    summary = build_graph(log_path, run_dir, overwrite=overwrite, progress=progress)
    return {"input": str(log_path), "run_dir": str(run_dir), "stages": ["build-graph"],
            **summary, "seconds": round(clock.seconds, 3)}
