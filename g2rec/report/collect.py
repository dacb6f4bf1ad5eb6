"""What a run folder holds for the report: evaluated models, training logs, per-query ranks."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data.sequences import TEST, VALID
from ..errors import G2RecError
from ..runfolder import RunFolder
from ..train.stage import BASELINES, evaluate_model, save_ranks

SPLITS = {"valid": VALID, "test": TEST}


@dataclass
class ModelResults:
    """One model folder: its evaluations (``metrics.json`` keys such as ``test-full-ranking``),
    its kind (``popularity``, ``knn``, ``g2rec``, ``sasrec``, ``tiger``), head and training log."""

    name: str
    kind: str
    head: str | None
    evaluations: dict[str, dict]
    curve: list[dict] = field(default_factory=list)
    folder: Path | None = None

    def metrics(self, key: str) -> dict | None:
        entry = self.evaluations.get(key)
        return entry["metrics"] if entry else None


def collect_models(run: RunFolder) -> list[ModelResults]:
    """Every model folder with a ``metrics.json``, sorted by name; a clear error when none."""
    models = []
    for folder in sorted((run.path / "models").glob("*/metrics.json")):
        folder = folder.parent
        try:
            evaluations = json.loads((folder / "metrics.json").read_text())
        except json.JSONDecodeError as e:
            raise G2RecError(f"{folder / 'metrics.json'}: corrupt ({e.msg} at line {e.lineno})") from None
        config = json.loads((folder / "config.json").read_text()) if (folder / "config.json").exists() else {}
        kind = config.get("model", folder.name if folder.name in BASELINES else "unknown")
        models.append(ModelResults(folder.name, kind, config.get("generator", {}).get("head"), evaluations,
                                   read_curve(folder / "train_log.jsonl"), folder))
    if not models:
        raise G2RecError(f"{run.path}: no evaluated models (no models/*/metrics.json); "
                         f"run `g2rec evaluate {run.path} --model NAME` first")
    return models


def read_curve(path: Path) -> list[dict]:
    """Per-epoch records of ``train_log.jsonl`` (epoch, loss, validation metrics); ``[]`` if absent."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def query_ranks(run: RunFolder, model: ModelResults, key: str, num_queries: int, cache: Path | None,
                compute: bool, progress=None) -> tuple[np.ndarray | None, str]:
    """Per-query ranks of ``model`` for evaluation ``key`` and where they came from.

    Order of preference: ``ranks-KEY.npy`` beside ``metrics.json`` (written by ``evaluate``),
    then the report's own ``cache`` of ranks computed earlier (while newer than the model's
    files), then, with ``compute``, a fresh evaluation (written to ``cache`` only: the model
    folder is left as it is). Returns ``(None, reason)`` when none is available.
    """
    saved = model.folder / f"ranks-{key}.npy"
    if saved.exists():
        return _checked(np.load(saved), num_queries, saved), "saved by evaluate"
    cached = cache / model.name / f"ranks-{key}.npy" if cache is not None else None
    newest = max(p.stat().st_mtime for p in model.folder.iterdir() if p.is_file())
    if cached is not None and cached.exists() and cached.stat().st_mtime >= newest:
        return _checked(np.load(cached), num_queries, cached), "recomputed earlier by the report (its ranks-cache)"
    if not compute:
        return None, f"no {saved.name}; re-run `g2rec evaluate` on it"
    saved_metrics = model.metrics(key)
    split = model.evaluations[key]["split"]
    metrics, ranks = evaluate_model(run, model.name, split, exclude_history=saved_metrics.get("exclude_history", False),
                                    max_len=saved_metrics.get("max_len", 50), progress=progress)
    if abs(metrics["ndcg@10"] - saved_metrics["ndcg@10"]) > 1e-4:
        return None, (f"recomputed NDCG@10 {metrics['ndcg@10']:.5f} differs from the saved "
                      f"{saved_metrics['ndcg@10']:.5f} (model changed since it was evaluated?)")
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        save_ranks(cached.parent, key, ranks)
    return _checked(ranks, num_queries, saved), "recomputed by the report"


def _checked(ranks: np.ndarray, num_queries: int, path: Path) -> np.ndarray:
    if ranks.shape != (num_queries,):
        raise G2RecError(f"{path}: {ranks.shape[0]} ranks for {num_queries} queries (made on another run folder?)")
    return ranks.astype(np.float64)
