r"""The graph prior inside the training loss, from cross-fitted graphs.

A generator trained with ``train_prior = alpha > 0`` learns its logits *against* the graph:
the training loss is the cross-entropy of

.. math::
    s_j = h_t E_j^\top + \alpha \log(g_j + \epsilon),

``g`` the graph's vote from the last ``H`` items (:class:`~g2rec.model.graph_prior.GraphPrior`),
so the network spends its capacity on what the graph does not already say, and at inference
the same sum ranks the items (the prior of the model's config).

The run's own graph cannot give ``g`` while training: it holds every training transition as an
edge, so on a training window the vote always points at the target, and a network trained on
it would learn to lean on a vote that on held-out items is far weaker. Here users are split
into ``K`` folds (:data:`FOLDS`, a seeded permutation); a window of a user in fold ``k`` takes
its vote from the graph built, with the run's own builder and options, from the other folds'
training interactions only. The vote a training target sees is what the graph says about a
user it never saw, as at validation and test time (where the graph holds all training users
and none of the held-out interactions).
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view

from ..data.sequences import Sequences
from ..graph.build import GraphConfig, build_coengagement_graph
from ..model.graph_prior import GraphPrior

FOLDS = 5           # K: each fold's graph holds 80% of the training users
DECAY = 0.5         # delta of the training prior's history (moot for H = 1)
EPS = 1e-3          # eps of the training prior


class CrossFitPrior:
    """``log(g + eps)`` at every training position, from the graph of the other folds' users.

    Args:
        seq: the run's sequences (training interactions are used; users keep their indices).
        graph_config: how the run's graph was built (``manifest.json``).
        window_users: ``(N,)`` user index of each training window (:func:`g2rec.data.sequences.window_users`).
        history: ``H``, how many of the most recent items vote.
        seed: seeds the users' fold assignment.
    """

    def __init__(self, seq: Sequences, graph_config: GraphConfig, window_users: np.ndarray, history: int = 1,
                 seed: int = 0, folds: int = FOLDS):
        fold_of_user = np.random.default_rng(seed).permutation(seq.num_users) % folds
        interaction_fold = fold_of_user[seq.users]
        self.priors = [GraphPrior(build_coengagement_graph(seq.subset(interaction_fold != k), graph_config)[0],
                                  history, DECAY, EPS) for k in range(folds)]
        self.window_fold = fold_of_user[window_users]                                   # (windows,)
        self.history, self.num_items = history, seq.num_items

    def __call__(self, idx: torch.Tensor, items: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """``log(g + eps)`` ``(N, I)`` for the positions of ``items (B, T)`` (windows ``idx (B,)``,
        padding ``I``) where ``keep (B, T)`` is true, in row-major order (as ``h[keep]``)."""
        x = items.cpu().numpy()
        x = np.pad(np.where(x == self.num_items, -1, x), ((0, 0), (self.history - 1, 0)), constant_values=-1)
        mask = keep.cpu().numpy()
        recent = sliding_window_view(x, self.history, axis=1)[mask]                     # (N, H) per position
        fold = np.broadcast_to(self.window_fold[idx.cpu().numpy()][:, None], mask.shape)[mask]  # (N,)
        votes = np.empty((len(recent), self.num_items), dtype=np.float32)
        for k, prior in enumerate(self.priors):
            rows = np.flatnonzero(fold == k)
            if len(rows):
                votes[rows] = prior.scores(recent[rows])
        return torch.log(torch.from_numpy(votes) + EPS).to(items.device)
