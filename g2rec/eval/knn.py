"""Item-kNN on an embedding: a label-free check of embedding quality.

A user's score for item j is the recency-weighted sum of cosine similarities between j
and the user's last ``history`` items: ``s_j = sum_t w_t cos(x_{h_t}, x_j)``,
``w_t = decay ** (age of h_t)``. Evaluated with the project's protocol
(:func:`g2rec.eval.protocol.evaluate_ranking`), full ranking on the validation split,
history items excluded by default (a neighbour list would otherwise be led by the items
just seen).
"""

from __future__ import annotations

import numpy as np
import torch

from ..data.sequences import VALID, Sequences
from .protocol import evaluate_ranking


class EmbeddingKNNScorer:
    """Scores ``(B, I)`` from ``(I, d)`` item vectors and the last ``history`` items of each query."""

    def __init__(self, vectors: np.ndarray, history: int = 5, decay: float = 0.8):
        x = torch.from_numpy(np.asarray(vectors, dtype=np.float32))
        self.x = x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)
        self.weights = torch.tensor(decay ** np.arange(history)[::-1].copy(), dtype=torch.float32)
        self.history = history

    def __call__(self, histories: torch.Tensor, users: np.ndarray) -> torch.Tensor:
        h = histories[:, -self.history:]
        valid = (h >= 0).float() * self.weights[-h.shape[1]:]
        query = (self.x[h.clamp_min(0)] * valid[..., None]).sum(1)
        return query @ self.x.T


def evaluate_item_knn(vectors: np.ndarray, seq: Sequences, split: int = VALID, history: int = 5,
                      decay: float = 0.8, exclude_history: bool = True, batch: int = 1024) -> dict:
    """Recall/NDCG@{5,10,20} and MRR of embedding item-kNN on ``split`` (validation by default)."""
    result = evaluate_ranking(EmbeddingKNNScorer(vectors, history, decay), seq, split, max_len=history,
                              exclude_history=exclude_history, batch=batch)
    result.update(split={VALID: "valid"}.get(split, "test"), history=history)
    return result
