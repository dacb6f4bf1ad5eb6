"""Item-kNN on an embedding: a label-free check of embedding quality.

A user's score for item j is the recency-weighted sum of cosine similarities between j
and the user's last ``history`` training items: ``s_j = sum_t w_t cos(x_{h_t}, x_j)``,
``w_t = decay ** (age of h_t)``. Evaluated by full ranking on the validation split.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data.sequences import TRAIN, VALID, Sequences
from .metrics import metrics_from_ranks, target_ranks


def last_items(seq: Sequences, split: int, history: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For users with an interaction in ``split``: their last ``history`` TRAIN items before it.

    Returns ``(users (B,), histories (B, history) padded with -1 on the left, targets (B,))``.
    """
    target_pos = np.flatnonzero(seq.split == split)
    users = seq.users[target_pos]
    train_mask = seq.split == TRAIN
    train_count = np.bincount(seq.users[train_mask], minlength=seq.num_users)
    train_end = seq.offsets[:-1] + train_count  # training interactions come first in every sequence
    hist = np.full((len(users), history), -1, dtype=np.int64)
    for k in range(history):  # position k from the end
        pos = train_end[users] - 1 - k
        ok = pos >= seq.offsets[users]
        hist[ok, history - 1 - k] = seq.items[pos[ok]]
    return users, hist, seq.items[target_pos]


def history_mask(train: Sequences, users: np.ndarray) -> torch.Tensor:
    """``(B, I)`` bool mask of every item in each user's training history."""
    counts = train.lengths[users]
    rows = np.repeat(np.arange(len(users)), counts)
    pos = np.repeat(train.offsets[users], counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    mask = torch.zeros((len(users), train.num_items), dtype=torch.bool)
    mask[torch.from_numpy(rows), torch.from_numpy(train.items[pos])] = True
    return mask


def evaluate_item_knn(vectors: np.ndarray, seq: Sequences, split: int = VALID, history: int = 5,
                      decay: float = 0.8, exclude_history: bool = True, batch: int = 1024) -> dict:
    """Recall/NDCG@{5,10,20} and MRR of embedding item-kNN on ``split`` (validation by default)."""
    x = torch.from_numpy(np.asarray(vectors, dtype=np.float32))
    x = x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)
    users, hist, targets = last_items(seq, split, history)
    train = seq.train()
    weights = torch.tensor(decay ** np.arange(history)[::-1].copy(), dtype=torch.float32)
    ranks = []
    for start in range(0, len(targets), batch):
        h = torch.from_numpy(hist[start:start + batch])
        valid = (h >= 0).float() * weights
        query = (x[h.clamp_min(0)] * valid[..., None]).sum(1)
        scores = query @ x.T
        exclude = history_mask(train, users[start:start + batch]) if exclude_history else None
        ranks.append(target_ranks(scores, torch.from_numpy(targets[start:start + batch]), exclude))
    result = metrics_from_ranks(torch.cat(ranks).numpy())
    result.update(protocol="full ranking", split={VALID: "valid"}.get(split, "test"),
                  exclude_history=exclude_history, history=history)
    return result
