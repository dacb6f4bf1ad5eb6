"""Full-ranking metrics from the rank of each held-out item.

A target's rank is the number of items scored above it, counting ties against the
target (so constant scores earn nothing). With 0-based rank r:
Recall@K = 1[r < K], NDCG@K = 1[r < K] / log2(r + 2), MRR = 1 / (r + 1); each averaged over users.
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


def metrics_from_ranks(ranks, ks=KS) -> dict:
    """Recall@K, NDCG@K and MRR (means over rows) from 0-based ranks."""
    r = np.asarray(ranks, dtype=np.float64)
    out = {}
    for k in ks:
        hit = r < k
        out[f"Recall@{k}"] = float(hit.mean())
        out[f"NDCG@{k}"] = float(np.where(hit, 1.0 / np.log2(r + 2.0), 0.0).mean())
    out["MRR"] = float((1.0 / (r + 1.0)).mean())
    out["num_users"] = len(r)
    return out
