r"""Operations on the co-engagement graph that later stages share.

:class:`GraphVotes` is the graph's vote for the next item from a recent history. With
``\hat A = D^{-1} A`` the row-normalized training graph (so one busy item does not drown the
others) and a history whose last ``H`` items are ``h_1..h_H`` (most recent last), item ``j`` gets

.. math::
    g_j = \sum_{s=1}^{H} \delta^{H - s} \hat A_{h_s, j}.

It is the item-kNN baseline's score (:mod:`g2rec.eval.baselines`) and the generator's graph
prior (:mod:`g2rec.model.prior`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


class GraphVotes:
    """``g`` above for batches of histories.

    Args:
        graph: ``(I, I)`` symmetric non-negative training co-engagement graph.
        history: ``H``, how many of the most recent items vote.
        decay: ``delta``, weight ratio between consecutive history items (the last weighs 1).
    """

    def __init__(self, graph: sp.spmatrix, history: int = 10, decay: float = 0.7):
        degree = np.asarray(graph.sum(axis=1), dtype=np.float64).ravel()
        self.graph = (sp.diags(1.0 / np.maximum(degree, 1e-12)) @ sp.csr_matrix(graph, dtype=np.float64)).tocsr()
        self.history, self.decay = history, decay

    def scores(self, windows: np.ndarray) -> np.ndarray:
        """``windows (N, T)`` item ids, most recent last, negative = padding -> ``(N, I)`` float32 ``g``."""
        h = np.asarray(windows)[:, -self.history:]
        weights = self.decay ** np.arange(h.shape[1])[::-1]
        rows, cols = np.nonzero(h >= 0)
        query = sp.csr_matrix((weights[cols], (rows, h[rows, cols])), shape=(len(h), self.graph.shape[0]))
        return (query @ self.graph).toarray().astype(np.float32)
