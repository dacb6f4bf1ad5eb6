r"""Graph prior over the next item: the co-engagement graph's vote from the recent history.

With ``\hat A = D^{-1} A`` the row-normalized training co-engagement graph (so one busy item
does not drown the others) and a history whose last ``H`` items are ``h_1..h_H`` (most recent
last), item ``j`` gets

.. math::
    g_j = \sum_{s=1}^{H} \delta^{H - s} \hat A_{h_s, j},

the item-kNN baseline's score. The generator's ``items`` head adds ``alpha * log(g_j + eps)``
to its logits (:class:`~g2rec.model.generator.Generator`, ``graph_prior = alpha``): a
product of experts of the sequence model and the graph, which gives weight to items the
graph links to the recent history and lets the Transformer rank within and beyond them.

``alpha`` is one scalar chosen on the validation split after training, not learned with the
network: the training graph holds every training transition ``(i_t, i_{t+1})`` as an edge,
so on training windows the prior always points at the target and a jointly learned weight
would trust it far more than it deserves on held-out items. (Training the network inside the
sum, with votes from graphs that exclude the user, is :mod:`g2rec.train.crossfit`; on Scientific
it scored below this post-hoc product, benchmarks/README.md.)
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from ..errors import ConfigError


class GraphPrior:
    """``g`` above for batches of histories.

    Args:
        graph: ``(I, I)`` symmetric non-negative training co-engagement graph.
        history: ``H``, how many of the most recent items vote.
        decay: ``delta``, weight ratio between consecutive history items (the last weighs 1).
        eps: floor inside the log, so items no recent item links to keep a finite score.
    """

    def __init__(self, graph: sp.spmatrix, history: int = 10, decay: float = 0.7, eps: float = 1e-3):
        degree = np.asarray(graph.sum(axis=1), dtype=np.float64).ravel()
        self.graph = (sp.diags(1.0 / np.maximum(degree, 1e-12)) @ sp.csr_matrix(graph, dtype=np.float64)).tocsr()
        self.history, self.decay, self.eps = history, decay, eps

    def scores(self, windows: np.ndarray) -> np.ndarray:
        """``windows (N, T)`` item ids, most recent last, negative = padding -> ``(N, I)`` float32 ``g``."""
        h = np.asarray(windows)[:, -self.history:]
        weights = self.decay ** np.arange(h.shape[1])[::-1]
        rows, cols = np.nonzero(h >= 0)
        query = sp.csr_matrix((weights[cols], (rows, h[rows, cols])), shape=(len(h), self.graph.shape[0]))
        return (query @ self.graph).toarray().astype(np.float32)

    def log_scores(self, windows: torch.Tensor) -> torch.Tensor:
        """``log(g + eps)`` as a ``(N, I)`` tensor for ``windows (N, T)`` (negative = padding)."""
        return torch.log(torch.from_numpy(self.scores(windows.cpu().numpy())) + self.eps).to(windows.device)


class PriorScoring:
    """``item_scores`` for an ``items``-head scorer (the generator, a seed ensemble): its
    ``item_logits (B, T) -> (B, I)``, plus ``alpha * log(g + eps)`` when ``config.graph_prior
    = alpha > 0``. Needs ``config`` (a ``GeneratorConfig``), ``num_items`` and ``prior``."""

    prior: GraphPrior | None = None

    def attach_graph(self, graph) -> None:
        """Use ``graph (I, I)`` for the graph prior (its weight is ``config.graph_prior``)."""
        if graph is None or graph.shape != (self.num_items, self.num_items):
            raise ConfigError(f"graph_prior needs the ({self.num_items}, {self.num_items}) co-engagement graph, "
                              f"got {None if graph is None else graph.shape}")
        self.prior = GraphPrior(graph, self.config.prior_history, self.config.prior_decay, self.config.prior_eps)

    def item_scores(self, items: torch.Tensor) -> torch.Tensor:
        """``(B, I)`` next-item scores after each history ``items (B, T)`` (padding = ``I``), with
        the graph log-prior added when ``config.graph_prior > 0``."""
        logits = self.item_logits(items)
        if self.config.graph_prior == 0:
            return logits
        if self.prior is None:
            raise ConfigError("graph_prior > 0 but no graph attached (attach_graph)")
        windows = torch.where(items == self.num_items, -1, items)
        return F.log_softmax(logits, dim=-1) + self.config.graph_prior * self.prior.log_scores(windows)
