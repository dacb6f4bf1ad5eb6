"""Choosing the graph prior of a trained ``items``-head scorer on validation.

The prior (:mod:`g2rec.model.prior`) has a weight ``alpha`` and three knobs: how many recent
items vote (``history``), their decay and the floor ``eps``. None is trained; they are picked
like an early-stopping epoch: validation NDCG@10 (or Recall@10), full ranking (or sampled-N
for a model reported on that protocol), over a grid (:class:`PriorGrid`, ``alpha = 0``
included), the best kept; ties go to the smaller weight, then to the earlier grid values.
Test data is never read.

The network scores each validation batch once; every grid point then only adds its prior
(``log_softmax(h E^T) + alpha log(g + eps)``), so a grid of many points costs little more than
one evaluation.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..config import check_fields
from ..data.sequences import VALID
from ..errors import ConfigError, check_choice
from ..graph.ops import GraphVotes
from ..model.prior import PriorConfig
from .metrics import metrics_from_ranks, target_ranks
from .protocol import histories, model_padding, sampled_negatives, seen_before

GRID = (0.0, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0)
METRICS = {"ndcg10": "NDCG@10", "recall10": "Recall@10"}  # what the choice can maximize


@dataclass(frozen=True)
class PriorGrid:
    """Values tried for each knob (every combination is evaluated).

    The defaults (84 points) span where validation searches put the best point: on Beauty
    the last item alone (history 1, eps 1e-5), on MovieLens-100K a few (history 5, decay 0.5),
    the model's own defaults (history 10, decay 0.7, eps 1e-3) in between (benchmarks/README.md).
    """

    alpha: tuple[float, ...] = GRID
    history: tuple[int, ...] = (1, 3, 10)
    decay: tuple[float, ...] = (0.5, 0.7)
    eps: tuple[float, ...] = (1e-5, 1e-3)

    def __post_init__(self):
        check_fields(self)
        if not all((self.alpha, self.history, self.decay, self.eps)):
            raise ConfigError("every graph prior grid needs at least one value")
        if min(self.alpha) < 0 or min(self.history) < 1 or min(self.eps) <= 0 or not all(0 < d <= 1 for d in self.decay):
            raise ConfigError(f"graph prior grid: weights must be >= 0, history >= 1, decay in (0, 1], eps > 0; got {self}")

    @property
    def size(self) -> int:
        return len(self.alpha) * len(self.history) * len(self.decay) * len(self.eps)


def search_prior(net, graph, seq, grid: PriorGrid, batch: int = 512, progress=None,
                 sampled: int | None = None, seed: int = 0, exclude_history: bool = False) -> list[dict]:
    """Validation NDCG@10 (and Recall@10) of every grid point: ``[{alpha, history, decay, eps,
    ndcg10, recall10}]`` in grid order. ``net``: an items-head :class:`Generator` or :class:`Ensemble` (eval mode).
    ``sampled``: rank each target against that many sampled negatives (the sampled-99 protocol,
    negatives drawn as :func:`~g2rec.eval.protocol.evaluate_ranking` draws them) instead of all items.
    ``exclude_history``: the user's own items out of the full ranking, as ``evaluate --exclude-history``."""
    if sampled and exclude_history:
        raise ConfigError("exclude_history is a choice of the full ranking (sampled negatives are unseen items already)")
    users, hist, targets, cut = histories(seq, VALID, net.config.max_len)
    negatives = torch.from_numpy(sampled_negatives(seq, users, sampled, seed)) if sampled else None
    points = list(itertools.product(grid.history, grid.decay, grid.eps, grid.alpha))
    # grid points that score alike share one slot: alpha = 0 is the network alone whatever the
    # knobs, and decay is moot for a history of one item
    keys = [None if a == 0 else ((h, d if h > 1 else 1.0), e, a) for h, d, e, a in points]
    slot = {key: i for i, key in enumerate(dict.fromkeys(keys))}
    priors = {shape: GraphVotes(graph, *shape) for shape in dict.fromkeys(k[0] for k in slot if k is not None)}
    # one preallocated array: per-batch rank tensors kept in lists pinned freed score buffers
    # between them and grew the heap to 23 GB on Beauty at 336 points
    ranks = torch.empty((len(slot), len(users)), dtype=torch.int64)
    for lo in range(0, len(users), batch):
        h = torch.from_numpy(hist[lo:lo + batch])
        items = model_padding(h, net.num_items)
        target = torch.from_numpy(targets[lo:lo + batch])
        seen = seen_before(seq, users[lo:lo + batch], cut[lo:lo + batch]) if exclude_history else None
        with torch.no_grad():
            base = F.log_softmax(net.item_logits(items), dim=-1)
        pick = None
        if sampled:  # every score narrowed to the (target, negatives) columns, the target in column 0
            pick = torch.cat([target[:, None], negatives[lo:lo + batch]], dim=1)
            base, target = base.gather(1, pick), torch.zeros_like(target)
        if None in slot:
            ranks[slot[None], lo:lo + batch] = target_ranks(base, target, seen)
        for shape, prior in priors.items():  # one (batch, items) vote matrix at a time
            votes = torch.from_numpy(prior.scores(h.numpy()))
            votes = votes.gather(1, pick) if sampled else votes
            for eps in grid.eps:
                log_votes = torch.log(votes + eps)
                for alpha in grid.alpha:
                    if (shape, eps, alpha) in slot:
                        ranks[slot[(shape, eps, alpha)], lo:lo + batch] = target_ranks(base + alpha * log_votes, target, seen)
        if progress is not None:
            progress("graph prior", min(lo + batch, len(users)), len(users))
    scored = [metrics_from_ranks(r.numpy()) for r in ranks]
    table = []
    for (hist_len, decay, eps, alpha), key in zip(points, keys):
        m = scored[slot[key]]
        table.append({"alpha": float(alpha), "history": int(hist_len), "decay": float(decay), "eps": float(eps),
                      "ndcg10": round(m["NDCG@10"], 6), "recall10": round(m["Recall@10"], 6)})
    return table


def best_point(table: list[dict], grid: PriorGrid, metric: str = "ndcg10") -> dict:
    """The row of ``table`` (:func:`search_prior`) with the best validation ``metric``; ties go
    to the smaller weight, then to the earlier values of each knob in ``grid``."""
    check_choice("metric", metric, METRICS)
    order = {k: {v: i for i, v in enumerate(getattr(grid, k))} for k in ("history", "decay", "eps")}
    return max(table, key=lambda r: (r[metric], -r["alpha"], *(-order[k][r[k]] for k in order)))


def prior_of(row: dict) -> PriorConfig:
    """The :class:`PriorConfig` of a grid point (a row of :func:`search_prior`'s table)."""
    return PriorConfig(weight=row["alpha"], history=row["history"], decay=row["decay"], eps=row["eps"])
