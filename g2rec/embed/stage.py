"""The ``embed`` stage: item embeddings from a run folder, checked by item-kNN on validation."""

from __future__ import annotations

import importlib
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..errors import G2RecError, check_choice
from ..eval.knn import evaluate_item_knn
from ..runfolder import RunFolder
from ..runinfo import Stopwatch, peak_memory_mb
from .base import EmbedInputs, config_from_options

# method -> (module, config class, fit function); modules load on demand (torch, DGL, text models).
METHODS = {
    "spectral": ("g2rec.embed.spectral", "SpectralConfig", "fit_spectral"),
    "lightgcn": ("g2rec.embed.gnn", "LightGCNConfig", "fit_lightgcn"),
    "sage": ("g2rec.embed.gnn", "SAGEConfig", "fit_sage"),
    "sasrec": ("g2rec.embed.sasrec", "SASRecConfig", "fit_sasrec"),
    "text": ("g2rec.embed.text", "TextConfig", "fit_text"),
}


def method_parts(method: str):
    """``(ConfigClass, fit_function)`` of an embedding method."""
    check_choice("method", method, tuple(METHODS))
    module_name, config_name, fit_name = METHODS[method]
    module = importlib.import_module(module_name)
    return getattr(module, config_name), getattr(module, fit_name)


def embed(run_dir: str | Path, method: str = "spectral", config=None, evaluate: bool = True,
          progress=None, **options) -> dict:
    """Fit ``method``'s item embeddings and write them to ``RUN_DIR/embeddings/METHOD.npy``.

    Args:
        run_dir: a run folder made by ``build_graph``.
        method: one of ``spectral``, ``lightgcn``, ``sage``, ``sasrec``, ``text``.
        config: the method's config dataclass; or pass its fields as ``**options``.
        evaluate: run the label-free item-kNN check on the validation split.
        progress: optional ``progress(stage, done, total)``.

    Returns:
        The summary (``num_items``, ``dim``, ``method``, time, memory, kNN metrics...), also
        recorded under ``stages.embed.METHOD`` in the manifest with parameters and curve.
    """
    clock = Stopwatch()
    config_cls, fit = method_parts(method)
    config = config or config_from_options(config_cls, **options)
    run = RunFolder(run_dir)
    seq, graph = run.sequences(), run.graph()
    result = fit(EmbedInputs(graph, seq, run.path), config, progress)
    vectors = np.ascontiguousarray(result.vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != seq.num_items or not np.isfinite(vectors).all():
        raise G2RecError(f"{method} produced embeddings of shape {vectors.shape} with non-finite values "
                         f"or wrong rows (expected {seq.num_items} items): this is a bug, please report it")
    fit_seconds = clock.seconds
    summary = {"method": method, "num_items": int(vectors.shape[0]), "dim": int(vectors.shape[1]),
               **result.summary, "fit_seconds": round(fit_seconds, 3)}
    if evaluate:
        knn = evaluate_item_knn(vectors, seq)
        summary["knn_valid"] = {k: (round(v, 5) if isinstance(v, float) else v) for k, v in knn.items()}
    summary.update(seconds=round(clock.seconds, 3), peak_memory_mb=round(peak_memory_mb(), 1))

    folder = run.path / "embeddings"
    folder.mkdir(exist_ok=True)
    tmp = folder / f".{method}.npy.tmp"
    with open(tmp, "wb") as f:
        np.save(f, vectors, allow_pickle=False)
    os.replace(tmp, folder / f"{method}.npy")
    run.record("embed", method, {"params": asdict(config), "summary": summary, "curve": result.curve,
                                 "details": result.details, "file": f"embeddings/{method}.npy"})
    return summary
