"""Full-ranking metrics from the rank of each held-out item.

A target's rank is the number of items scored above it, counting ties against the
target (so constant scores earn nothing). With 0-based rank r:
Recall@K = 1[r < K], NDCG@K = 1[r < K] / log2(r + 2), MRR = 1 / (r + 1); each averaged over users.
With pages (every item of a held-out page ranked after the same history), per page ``P``:
PageRecall@K = |top-K ∩ P| / min(|P|, K) and PageHR@K = 1[top-K ∩ P ≠ ∅], averaged over pages.
Two models scored on the same queries are compared per query (:func:`paired_difference`).
"""

from __future__ import annotations

import numpy as np
import torch

KS = (5, 10, 20)


def target_ranks(scores: torch.Tensor, targets: torch.Tensor, exclude: torch.Tensor | None = None) -> torch.Tensor:
    """0-based rank of each target among all items.

    Args:
        scores: ``(B, I)`` item scores.
        targets: ``(B,)`` the held-out item per row.
        exclude: optional ``(B, I)`` bool mask of items removed from the ranking (e.g. history);
            the target itself is never excluded.
    Returns:
        ``(B,)`` int64 ranks.
    """
    target_score = scores.gather(1, targets[:, None])
    ahead = scores >= target_score
    if exclude is not None:
        ahead &= ~exclude
    ahead[torch.arange(len(targets)), targets] = False
    return ahead.sum(dim=1)


def ndcg_per_query(ranks, k: int = 10) -> np.ndarray:
    """``(N,)`` NDCG@k of each query from its 0-based rank."""
    r = np.asarray(ranks, dtype=np.float64)
    return np.where(r < k, 1.0 / np.log2(r + 2.0), 0.0)


def paired_difference(ranks_a, ranks_b, k: int = 10) -> dict:
    """NDCG@k of model A minus model B on the same ``(N,)`` queries, with the standard error of
    the mean of the per-query differences ``d_u``: ``sd(d) / sqrt(N)``. Pairing removes what the
    queries share (an easy query is easy for both), so it is far smaller than either model's own
    standard error; a difference within about two of it is a tie."""
    a, b = ndcg_per_query(ranks_a, k), ndcg_per_query(ranks_b, k)
    if a.shape != b.shape:
        raise ValueError(f"paired_difference: ranks of {a.shape} and {b.shape} queries; both models must rank the same queries")
    d = a - b
    se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
    return {"difference": float(d.mean()), "standard_error": se, "a_better": int((d > 0).sum()),
            "b_better": int((d < 0).sum()), "queries": len(d)}


def metrics_from_ranks(ranks, ks=KS) -> dict:
    """Recall@K, NDCG@K and MRR (means over rows) from 0-based ranks."""
    r = np.asarray(ranks, dtype=np.float64)
    out = {}
    for k in ks:
        hit = r < k
        out[f"Recall@{k}"] = float(hit.mean())
        out[f"NDCG@{k}"] = float(ndcg_per_query(r, k).mean())
    out["MRR"] = float((1.0 / (r + 1.0)).mean())
    out["num_users"] = len(r)
    return out


def page_metrics(ranks, pages, ks=KS) -> dict:
    """PageRecall@K and PageHR@K (means over pages) from the 0-based ranks of ``(N,)`` targets
    and their page ids ``pages (N,)``; the targets of one page share one ranking, so
    ``|top-K ∩ P|`` counts those with rank below K."""
    r = np.asarray(ranks, dtype=np.float64)
    _, page, size = np.unique(np.asarray(pages), return_inverse=True, return_counts=True)
    out = {}
    for k in ks:
        found = np.bincount(page, weights=(r < k).astype(np.float64), minlength=len(size))
        out[f"PageRecall@{k}"] = float((found / np.minimum(size, k)).mean()) if len(size) else 0.0
        out[f"PageHR@{k}"] = float((found > 0).mean()) if len(size) else 0.0
    out["num_pages"] = int(len(size))
    return out
