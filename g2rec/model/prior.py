r"""The graph prior: the co-engagement graph's vote added to a sequence model's next-item scores.

With ``g`` the graph's vote from the recent history (:class:`~g2rec.graph.ops.GraphVotes`:
the last ``history`` items, each older one weighted ``decay`` times less), an ``items``-head
scorer (the generator, an ensemble) ranks by

.. math::
    s_j = \log \mathrm{softmax}(h E^T)_j + \alpha \log(g_j + \epsilon),

a product of experts of the sequence model and the graph, which gives weight to items the
graph links to the recent history and lets the network rank within and beyond them.

None of ``alpha``, ``history``, ``decay``, ``eps`` is trained: the training graph holds every
training transition ``(i_t, i_{t+1})`` as an edge, so on training windows the prior always
points at the target and a jointly learned weight would trust it far more than it deserves on
held-out items. They are chosen on validation after training (:mod:`g2rec.eval.prior_search`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..config import check_fields
from ..errors import ConfigError
from ..graph.ops import GraphVotes


@dataclass
class PriorConfig:
    """The prior's weight ``alpha`` (0 = off) and its knobs ``history`` (H), ``decay`` (delta), ``eps``."""

    weight: float = 0.0
    history: int = 10
    decay: float = 0.7
    eps: float = 1e-3

    def __post_init__(self):
        check_fields(self)
        if self.weight < 0 or self.history < 1 or not 0 < self.decay <= 1 or self.eps <= 0:
            raise ConfigError(f"graph prior: need weight >= 0 (got {self.weight}), history >= 1 (got {self.history}), "
                              f"decay in (0, 1] (got {self.decay}) and eps > 0 (got {self.eps})")


class GraphPrior:
    """``log(g + eps)`` for batches of histories (``graph (I, I)``, the knobs of ``config``)."""

    def __init__(self, graph, config: PriorConfig):
        self.votes, self.eps = GraphVotes(graph, config.history, config.decay), config.eps

    def log_scores(self, windows: torch.Tensor) -> torch.Tensor:
        """``windows (N, T)`` item ids (negative = padding) -> ``(N, I)`` ``log(g + eps)``."""
        return torch.log(torch.from_numpy(self.votes.scores(windows.cpu().numpy())) + self.eps).to(windows.device)


class PriorScoring:
    """``item_scores`` for an ``items``-head scorer: its ``item_logits (B, T) -> (B, I)``, plus
    ``alpha * log(g + eps)`` when ``prior_config.weight = alpha > 0``. Needs ``num_items``,
    ``prior_config`` (a :class:`PriorConfig`) and ``prior`` (set by :meth:`attach_prior`)."""

    prior: GraphPrior | None = None
    prior_config: PriorConfig = PriorConfig()

    def attach_prior(self, config: PriorConfig, graph=None) -> None:
        """Score with the prior of ``config`` over ``graph (I, I)`` (no graph needed when its weight is 0)."""
        self.prior_config, self.prior = config, None
        if config.weight == 0:
            return
        if graph is None or graph.shape != (self.num_items, self.num_items):
            raise ConfigError(f"the graph prior needs the ({self.num_items}, {self.num_items}) co-engagement graph, "
                              f"got {None if graph is None else graph.shape}")
        self.prior = GraphPrior(graph, config)

    def item_scores(self, items: torch.Tensor) -> torch.Tensor:
        """``(B, I)`` next-item scores after each history ``items (B, T)`` (padding = ``I``), with
        the graph log-prior added when its weight is > 0."""
        logits = self.item_logits(items)
        if self.prior_config.weight == 0:
            return logits
        windows = torch.where(items == self.num_items, -1, items)
        return F.log_softmax(logits, dim=-1) + self.prior_config.weight * self.prior.log_scores(windows)
