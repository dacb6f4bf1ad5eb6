"""The ``evaluate`` stage: a trained model or a baseline on the protocol of ARCHITECTURE.md.

Leave-one-out, full ranking over all items (or against sampled negatives), Recall/NDCG@{5,10,20}
and MRR (:mod:`g2rec.eval.protocol`). Results go to ``models/NAME/metrics.json`` under a key
such as ``test-full-ranking``, with every query's rank beside it (``ranks-KEY.npy``).
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import numpy as np

from ..atomic import write_json_atomic
from ..data.sequences import TEST, VALID
from ..errors import check_choice
from ..eval.baselines import GraphKNNScorer, PopularityScorer
from ..eval.protocol import evaluate_ranking
from ..eval.scorers import make_scorer
from .models import BASELINES, latest_model, load_trained
from .runfolder import RunFolder


def evaluate_model(run: RunFolder, model: str = "g2rec-items", split: str = "test", sampled: int | None = None,
                   exclude_history: bool = False, max_len: int = 50, beam: int | None = None, seed: int = 0,
                   unconstrained: bool = False, progress=None, skip_cold_targets: bool = False) -> tuple[dict, np.ndarray]:
    """Metrics (lower-case keys) and per-query ranks (``evaluate_ranking``'s query order) of a
    trained model or a baseline on ``split``; writes nothing."""
    check_choice("split", split, ("valid", "test"))
    seq = run.sequences()
    split_id = {"valid": VALID, "test": TEST}[split]
    hallucination, trie, beams = None, None, {}
    if model in BASELINES:
        scorer = PopularityScorer(seq) if model == "popularity" else GraphKNNScorer(run.graph(), seq)
    else:
        net, trie, record = load_trained(run, model)
        max_len = net.config.max_len
        if unconstrained and trie is not None:
            hallucination = {"invalid": 0, "total": 0}
        scorer = make_scorer(net, trie, beam or record["beam"], trie_mask=hallucination is None, counts=hallucination)
        beams = {"beam": beam or record["beam"], "trained_beam": record["beam"]} if trie is not None else {}
    metrics = evaluate_ranking(scorer, seq, split_id, max_len, exclude_history, sampled, seed, progress=progress,
                               keep_ranks=True, skip_cold_targets=skip_cold_targets)
    ranks = metrics.pop("ranks")
    if hallucination is not None:
        metrics["hallucination_rate"] = round(hallucination["invalid"] / max(hallucination["total"], 1), 5)
    elif trie is not None:
        metrics["hallucination_rate"] = 0.0  # constrained beams are trie paths: items by construction
    metrics = {k.lower(): (round(v, 5) if isinstance(v, float) else v) for k, v in {**metrics, **beams}.items()}
    return metrics, ranks


def metrics_key(split: str, metrics: dict, exclude_history: bool, skip_cold_targets: bool, unconstrained: bool,
                seed: int) -> str:
    """The ``metrics.json`` key of an evaluation: everything that changes its numbers, e.g.
    ``test-full-ranking``, ``test-sampled-100-seed3``, ``test-full-ranking-exclude-history-beam50``."""
    parts = [split, metrics["protocol"].replace(" ", "-")]
    if metrics["protocol"].startswith("sampled") and seed != 0:
        parts.append(f"seed{seed}")
    parts += [name for on, name in ((exclude_history, "exclude-history"), (skip_cold_targets, "skip-cold-targets"),
                                    (unconstrained, "unconstrained")) if on]
    if metrics.get("beam", metrics.get("trained_beam")) != metrics.get("trained_beam"):
        parts.append(f"beam{metrics['beam']}")
    return "-".join(parts)


def evaluate(run_dir: str | Path, model: str | None = None, split: str = "test", sampled: int | None = None,
             exclude_history: bool = False, max_len: int = 50, beam: int | None = None, seed: int = 0,
             unconstrained: bool = False, progress=None, skip_cold_targets: bool = False) -> dict:
    """Metrics of a trained model (``models/NAME``; default the most recent) or a baseline
    (``popularity``, ``knn``) on ``split``,
    written to ``models/NAME/metrics.json`` under a key such as ``test-full-ranking`` (with
    ``-exclude-history``, ``-skip-cold-targets``, ``-unconstrained`` when those are on), with the
    per-query ranks (float32, ``inf`` = not found) in ``models/NAME/ranks-KEY.npy``."""
    run = RunFolder(run_dir)
    model = model or latest_model(run)
    # a reader's claim: never while the model trains or changes (its figures would be of weights
    # that are about to go), beside other evaluations of it
    claim = nullcontext() if model in BASELINES else run.model_claim(model, reader=True)
    with claim:
        metrics, ranks = evaluate_model(run, model, split, sampled, exclude_history, max_len, beam, seed,
                                        unconstrained, progress, skip_cold_targets)
        summary = {"model": model, "split": split, "metrics": metrics}
        folder = run.model_folder(model)
        key = metrics_key(split, metrics, exclude_history, skip_cold_targets, unconstrained, seed)
        rel, ranks_rel = f"models/{model}/metrics.json", f"models/{model}/ranks-{key}.npy"
        with run.locked("metrics"), run.staging(rel, ranks_rel) as staged:  # two evaluations of one model keep each other's entries
            existing = run.load_json(rel) if (folder / "metrics.json").exists() else {}
            write_json_atomic(staged[rel], {**(existing if isinstance(existing, dict) else {}), key: summary})
            with open(staged[ranks_rel], "wb") as f:
                np.save(f, ranks.astype(np.float32), allow_pickle=False)
            run.record("evaluate", f"{model}/{key}", summary, files=[rel, ranks_rel], staged=staged)
    return summary
