r"""An ensemble: several trained generators scoring as one.

Members ``m = 1..M`` (one recipe trained with seeds 0..M-1, or different networks and heads:
an ``items`` head and a ``sids`` head, whose probability of an item is that of its code
sequence renormalized over the items) each give next-item log-probabilities after a history;
the ensemble's logits are their mean,

.. math::
    s_j = \frac{1}{M} \sum_{m=1}^{M} \log p_m(j \mid i_{1..T}),

a product of experts (the geometric mean of the members' distributions). The graph prior is
added on top exactly as for one generator (:class:`~g2rec.model.prior.PriorScoring`),
with its knobs in the ensemble's own config, chosen on validation by ``g2rec tune-prior``.
"""

from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import nn

from ..errors import ConfigError
from .generator import Generator
from .prior import PriorConfig, PriorScoring


class Ensemble(PriorScoring, nn.Module):
    """Mean log-probabilities of ``members`` (either head, same items, same ``max_len``).

    Args:
        members: trained generators (their own graph priors are not used: only their networks).
        prior: the ensemble's graph prior (weight 0 = none).
        graph: ``(I, I)`` co-engagement graph, needed when ``prior.weight > 0``.
    """

    def __init__(self, members: list[Generator], prior: PriorConfig | None = None, graph=None):
        super().__init__()
        if len(members) < 2:
            raise ConfigError(f"an ensemble needs at least 2 members, got {len(members)}")
        sizes = {(m.num_items, m.config.max_len) for m in members}
        if len(sizes) != 1:
            raise ConfigError(f"ensemble members must all have the same items and max_len (got (items, max_len) "
                              f"{sorted(sizes)})")
        (self.num_items, max_len), = sizes
        self.members = nn.ModuleList(members)
        self.config = SimpleNamespace(head="items", max_len=max_len)  # what scorers read of a model
        self.attach_prior(prior or PriorConfig(), graph)

    def item_logits(self, items: torch.Tensor) -> torch.Tensor:
        """``items (B, T)`` -> ``(B, I)`` the members' mean next-item log-probability."""
        return torch.stack([m.item_log_probs(items) for m in self.members]).mean(0)

    def item_log_probs(self, items: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(self.item_logits(items), dim=-1)
