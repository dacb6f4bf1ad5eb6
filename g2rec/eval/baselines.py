"""Non-neural baselines, as scorers for :func:`g2rec.eval.protocol.evaluate_ranking`.

* ``popularity``: every user gets the items' training interaction counts.
* ``item-kNN on the co-engagement graph``: a user's score for item j is
  ``s_j = sum_t decay^(age_t) * A[h_t, j]`` over the last ``history`` items ``h_t`` of the
  user's history (``A`` the row-normalized training co-engagement graph, so that one busy
  item does not drown the others), plus ``1e-6`` times popularity to order the items no
  neighbour reaches.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ..data.sequences import Sequences
from ..graph.ops import GraphVotes


class PopularityScorer:
    """Scores ``(B, I)``: training interaction counts of every item, the same for every user."""

    def __init__(self, seq: Sequences):
        self.counts = torch.from_numpy(seq.item_counts().astype(np.float32))

    def __call__(self, histories: torch.Tensor, users: np.ndarray) -> torch.Tensor:
        return self.counts.expand(len(histories), -1)


class GraphKNNScorer:
    """Item-kNN on the co-engagement graph (see the module docstring).

    Args:
        graph: ``(I, I)`` symmetric training co-engagement graph.
        seq: sequences (training counts for the tie-breaking popularity term).
        history: how many of the most recent items vote.
        decay: weight ratio between consecutive history items (most recent weighs 1).
    """

    def __init__(self, graph: sp.csr_matrix, seq: Sequences, history: int = 10, decay: float = 0.7):
        self.votes = GraphVotes(graph, history, decay)
        self.popularity = PopularityScorer(seq).counts * 1e-6

    def __call__(self, histories: torch.Tensor, users: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(self.votes.scores(histories.numpy())) + self.popularity
