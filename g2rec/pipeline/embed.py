"""The ``embed`` stage: item embeddings from a run folder, checked by item-kNN on validation."""

from __future__ import annotations

from dataclasses import asdict, fields
from pathlib import Path

import numpy as np

from ..embed.base import EmbedInputs, config_from_options
from ..embed.gnn import LightGCNConfig, SAGEConfig, fit_lightgcn, fit_sage
from ..embed.spectral import SpectralConfig, fit_spectral
from ..embed.text import TextConfig, fit_text
from ..errors import G2RecError, check_choice
from ..eval.knn import evaluate_item_knn
from ..measure import Stopwatch, peak_memory_mb
from ..model.sasrec import SASRecConfig, fit_sasrec
from .runfolder import RunFolder

# method -> (config class, fit function)
METHODS = {
    "spectral": (SpectralConfig, fit_spectral),
    "lightgcn": (LightGCNConfig, fit_lightgcn),
    "sage": (SAGEConfig, fit_sage),
    "sasrec": (SASRecConfig, fit_sasrec),
    "text": (TextConfig, fit_text),
}


def method_parts(method: str):
    """``(ConfigClass, fit_function)`` of an embedding method."""
    check_choice("method", method, tuple(METHODS))
    return METHODS[method]


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
    known = {f.name for cls, _ in METHODS.values() for f in fields(cls)}  # the CLI passes every method's, unset
    config = config or config_from_options(config_cls, known, **options)
    run = RunFolder(run_dir)
    with run.claimed(f"embed-{method}", f"computing this run's {method} embeddings"):
        seq, graph = run.sequences(), run.graph()
        result = fit(EmbedInputs(graph, seq, run.input_path), config, progress)
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

        rel = f"embeddings/{method}.npy"
        with run.staging(rel) as staged:
            with open(staged[rel], "wb") as f:
                np.save(f, vectors, allow_pickle=False)
            run.record("embed", method, {"params": asdict(config), "summary": summary, "curve": result.curve,
                                         "details": result.details, "file": rel}, files=[rel], staged=staged)
        return summary
