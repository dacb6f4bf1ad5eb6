"""Metrics per history length: do short-history users fare worse than long-history ones?

Every query of a split is put in a bucket by the number of interactions its user had before
the held-out item (the whole history, not just the ``max_len`` items a model reads); the
metrics are then the usual ones (``g2rec.eval.metrics``) averaged within each bucket.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from ..data.sequences import Sequences

DEFAULT_EDGES = (5, 10, 20)


@dataclass
class LengthBreakdown:
    """Per bucket (labels such as ``"5-9"``): query counts and ``recall@K`` / ``ndcg@K`` means."""

    labels: list[str]
    users: list[int]
    metrics: dict[str, list[float]]


def history_lengths(seq: Sequences, split: int) -> np.ndarray:
    """``(B,)`` interactions before each ``split`` query's target, in query order."""
    target_pos = np.flatnonzero(seq.split == split)
    return target_pos - seq.offsets[seq.users[target_pos]]


def bucket_labels(edges: tuple[int, ...], first: int = 1) -> list[str]:
    """``(5, 10, 20)`` -> ``["1-4", "5-9", "10-19", "20+"]`` (``first``: the shortest length)."""
    bounds = [first, *edges]
    labels = [f"{lo}-{hi - 1}" if hi - 1 > lo else str(lo) for lo, hi in pairwise(bounds)]
    return [*labels, f"{bounds[-1]}+"]


def length_breakdown(ranks: np.ndarray, lengths: np.ndarray, edges: tuple[int, ...] = DEFAULT_EDGES,
                     ks: tuple[int, ...] = (10,)) -> LengthBreakdown:
    """Recall@K and NDCG@K of 0-based ``ranks`` (``inf`` = not found) per history-length bucket.

    Buckets are ``[1, e0)``, ``[e0, e1)``, ..., ``[e_last, inf)``; empty buckets are left out.
    """
    if list(edges) != sorted(set(edges)) or (len(edges) and edges[0] <= 1):
        raise ValueError(f"bucket edges must be increasing and > 1, got {edges}")
    ranks = np.asarray(ranks, dtype=np.float64)
    bucket = np.searchsorted(np.asarray(edges), lengths, side="right")
    n = len(edges) + 1
    users = np.bincount(bucket, minlength=n)
    keep = users > 0
    metrics = {}
    for k in ks:
        hit = ranks < k
        gain = np.where(hit, 1.0 / np.log2(np.where(hit, ranks, 0.0) + 2.0), 0.0)
        for name, values in ((f"recall@{k}", hit.astype(np.float64)), (f"ndcg@{k}", gain)):
            sums = np.bincount(bucket, weights=values, minlength=n)
            metrics[name] = (sums[keep] / users[keep]).tolist()
    first = int(lengths.min()) if len(lengths) else 1  # the shortest history there is (4 on 5-core data)
    labels = [label for label, k in zip(bucket_labels(tuple(edges), first), keep) if k]
    return LengthBreakdown(labels, users[keep].tolist(), metrics)
