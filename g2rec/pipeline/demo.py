"""``g2rec demo``: the whole pipeline on a built-in generated dataset, in a few minutes on a laptop CPU.

generate -> build-graph -> embed (spectral) -> tokenize -> train (g2rec, items head) -> evaluate
(against popularity and graph item-kNN) -> the HTML report (``RUN_DIR/report/index.html``) ->
recommend (three users, with their interests).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..data.synthetic import SyntheticConfig, generate_log
from ..errors import G2RecError
from ..measure import Stopwatch
from .build_graph import build_graph, load_sequences
from .embed import embed
from .evaluate import evaluate
from .recommend import recommend
from .report import write_report
from .tokenize import tokenize
from .train import train

LOG = logging.getLogger(__name__)


def write_log(frame, path: str | Path) -> Path:
    """Write a generated log as Parquet or CSV (by suffix, ``.gz`` compressed), atomically."""
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
             progress=None, epochs: int = 100) -> dict:
    """Generate a log beside ``run_dir`` (``<run_dir>-input.parquet``) and run every stage on it;
    the generator trains until 5 epochs bring no better validation NDCG@10 (at most ``epochs``)."""
    clock = Stopwatch()
    run_dir = Path(run_dir)
    config = config or SyntheticConfig()
    log_path = write_log(generate_log(config), run_dir.with_name(f"{run_dir.name}-input.parquet"))
    LOG.info("demo: generated %s (%.0f s)", log_path, clock.seconds)
    summary = build_graph(log_path, run_dir, overwrite=overwrite, progress=progress)
    LOG.info("build-graph: %d users, %d items, %d edges (%.0f s)", summary["num_users"], summary["num_items"],
             summary["num_edges"], clock.seconds)
    embedded = embed(run_dir, "spectral", dim=32, progress=progress)
    LOG.info("embed: spectral, valid Recall@10 of its item-kNN %.4f (%.0f s)", embedded["knn_valid"]["Recall@10"],
             clock.seconds)
    tokens = tokenize(run_dir, progress=progress, num_prototypes=16, codebook_size=32, seed=config.seed)
    LOG.info("tokenize: %d prototypes, modularity %.3f (%.0f s)", tokens["num_prototypes"], tokens["modularity"],
             clock.seconds)
    trained = train(run_dir, "g2rec", epochs=epochs, patience=5, dim=32, seed=config.seed, progress=progress)
    results = {name: evaluate(run_dir, name, progress=progress)["metrics"]
               for name in ("popularity", "knn", trained["name"])}
    LOG.info("evaluate: test NDCG@10 %s (%.0f s)", ", ".join(f"{n} {m['ndcg@10']:.4f}" for n, m in results.items()),
             clock.seconds)
    try:  # the HTML report needs the optional matplotlib; without it the demo says so and goes on
        report = str(write_report(run_dir, progress=progress)["path"])
    except G2RecError as err:
        report = f"not written: {err}"
    users = list(load_sequences(run_dir).user_ids[:3])
    return {"input": str(log_path), "run_dir": str(run_dir),
            "stages": ["build-graph", "embed", "tokenize", "train", "evaluate", "report", "recommend"],
            **summary, "spectral_knn_recall10": embedded["knn_valid"]["Recall@10"],
            "num_prototypes": tokens["num_prototypes"], "modularity": tokens["modularity"],
            "leiden_modularity": tokens["leiden_modularity"], "train_epochs": trained["epochs"],
            "best_epoch": trained["best_epoch"],
            "ndcg10_gain_over_knn": round(results[trained["name"]]["ndcg@10"] / results["knn"]["ndcg@10"] - 1, 4),
            "test_ndcg10": {name: m["ndcg@10"] for name, m in results.items()},
            "test_recall10": {name: m["recall@10"] for name, m in results.items()},
            "recommendations": recommend(run_dir, users, trained["name"], k=5),
            "report": report, "seconds": round(clock.seconds, 3)}
