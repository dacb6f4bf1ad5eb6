"""The ``evaluate`` stage: a trained model or a baseline on the protocol of ARCHITECTURE.md.

Leave-one-out, full ranking over all items (or against sampled negatives), Recall/NDCG@{5,10,20}
and MRR (:mod:`g2rec.eval.protocol`). Results go to ``models/NAME/metrics.json`` under a key
such as ``test-full-ranking``, with every query's rank beside it (``ranks-KEY.npy``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..atomic import save_npy_atomic, write_json_atomic
from ..data.sequences import TEST, VALID
from ..errors import check_choice
from ..eval.baselines import GraphKNNScorer, PopularityScorer
from ..eval.protocol import evaluate_ranking
from ..eval.scorers import make_scorer
from .models import BASELINES, load_trained
from .runfolder import RunFolder


def evaluate_model(run: RunFolder, model: str = "g2rec-items", split: str = "test", sampled: int | None = None,
                   exclude_history: bool = False, max_len: int = 50, beam: int | None = None, seed: int = 0,
                   unconstrained: bool = False, progress=None, skip_cold_targets: bool = False) -> tuple[dict, np.ndarray]:
    """Metrics (lower-case keys) and per-query ranks (``evaluate_ranking``'s query order) of a
    trained model or a baseline on ``split``; writes nothing."""
    check_choice("split", split, ("valid", "test"))
    seq = run.sequences()
    split_id = {"valid": VALID, "test": TEST}[split]
    hallucination, trie = None, None
    if model in BASELINES:
        scorer = PopularityScorer(seq) if model == "popularity" else GraphKNNScorer(run.graph(), seq)
    else:
        net, trie, record = load_trained(run, model)
        max_len = net.config.max_len
        if unconstrained and trie is not None:
            hallucination = {"invalid": 0, "total": 0}
        scorer = make_scorer(net, trie, beam or record["beam"], trie_mask=hallucination is None, counts=hallucination)
    metrics = evaluate_ranking(scorer, seq, split_id, max_len, exclude_history, sampled, seed, progress=progress,
                               keep_ranks=True, skip_cold_targets=skip_cold_targets)
    ranks = metrics.pop("ranks")
    if hallucination is not None:
        metrics["hallucination_rate"] = round(hallucination["invalid"] / max(hallucination["total"], 1), 5)
    elif trie is not None:
        metrics["hallucination_rate"] = 0.0  # constrained beams are trie paths: items by construction
    metrics = {k.lower(): (round(v, 5) if isinstance(v, float) else v) for k, v in metrics.items()}
    return metrics, ranks


def evaluate(run_dir: str | Path, model: str = "g2rec-items", split: str = "test", sampled: int | None = None,
             exclude_history: bool = False, max_len: int = 50, beam: int | None = None, seed: int = 0,
             unconstrained: bool = False, progress=None, skip_cold_targets: bool = False) -> dict:
    """Metrics of a trained model (``models/NAME``) or a baseline (``popularity``, ``knn``) on ``split``,
    written to ``models/NAME/metrics.json`` under a key such as ``test-full-ranking`` (with
    ``-exclude-history``, ``-skip-cold-targets``, ``-unconstrained`` when those are on), with the
    per-query ranks (float32, ``inf`` = not found) in ``models/NAME/ranks-KEY.npy``."""
    run = RunFolder(run_dir)
    metrics, ranks = evaluate_model(run, model, split, sampled, exclude_history, max_len, beam, seed,
                                    unconstrained, progress, skip_cold_targets)
    summary = {"model": model, "split": split, "metrics": metrics}
    folder = run.model_folder(model)
    folder.mkdir(parents=True, exist_ok=True)
    key = f"{split}-{metrics['protocol'].replace(' ', '-')}" + "".join(
        suffix for on, suffix in ((exclude_history, "-exclude-history"), (skip_cold_targets, "-skip-cold-targets"),
                                  (unconstrained, "-unconstrained")) if on)
    path = folder / "metrics.json"
    existing = json.loads(path.read_text()) if path.exists() else {}
    save_ranks(folder, key, ranks)
    write_json_atomic(path, {**existing, key: summary})
    run.record("evaluate", f"{model}/{key}", summary)
    return summary


def save_ranks(folder: Path, key: str, ranks: np.ndarray) -> Path:
    """Per-query ranks next to ``metrics.json``, written atomically."""
    return save_npy_atomic(folder / f"ranks-{key}.npy", ranks.astype(np.float32))
