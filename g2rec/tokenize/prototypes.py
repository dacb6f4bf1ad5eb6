"""Interest prototypes: soft-modularity ascent over a sparse membership ``P``, with merges.

Each item keeps ``rho`` candidate clusters (slots) with memberships ``P_i`` on the simplex.
One iteration (all items at once, ``O(rho |E|)``):

1. ``Ghat_ia = (A P)_{i,c} / k_i - gamma S_c / |E|`` (the degree-normalized gradient; see
   :func:`~g2rec.tokenize.soft_modularity.normalized_gradient`);
2. a target ``T_i = softmax(beta * Ghat_i)`` over the item's slots (a smoothed best response;
   ``beta -> inf`` is the Frank-Wolfe vertex) and the direction ``D = T - P``, kept on a random
   share of the items whose first-order gain ``<D_i, Ghat_i>`` is positive;
3. ``P <- P + t D`` with the exact line search ``t = argmax_{[0,1]} Q(P + tD)`` (``Q`` is
   quadratic along a line), so ``Q`` never decreases; the share halves when the line search
   cuts the step (simultaneous moves conflict) and doubles back after a full step.

Every ``reselect_every`` iterations each item's slots are re-chosen as its best clusters by
``Ghat`` among its own and its neighbours' clusters (the support of row i of ``A P``). When an
ascent phase stalls (gain below ``tol`` over ``patience`` iterations), whole clusters are
merged while that raises ``Q`` (:mod:`g2rec.tokenize.merge`, the coarse move of Louvain that
single-item steps cannot make), and ascent resumes, for at most ``rounds`` phases. At the
end memberships below ``min_weight`` are dropped and rows renormalized.

On Amazon Beauty (12,101 items) this goes from the spectral k-means start (Q 0.32) to 0.446
with about 10 prototypes; single-item ascent alone stalls near 0.435.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..config import check_fields
from ..errors import ConfigError
from .merge import merge_clusters
from .soft_modularity import (
    GraphTensors,
    Membership,
    SlotPairs,
    normalized_gradient,
    soft_modularity,
)


@dataclass
class AscentConfig:
    """Soft-modularity ascent options.

    gamma: resolution (1 = standard modularity; larger gives more, smaller prototypes).
    rho: non-zero memberships kept per item.
    iterations: total ascent iterations over all phases.
    beta: inverse temperature of the best-response target ``softmax(beta * Ghat)``.
    reselect_every: iterations between support re-selections.
    merge: merge whole clusters when an ascent phase stalls; rounds: at most this many phases.
    min_weight: memberships below this are dropped at the end (rows renormalized).
    tol, patience: a phase ends when ``Q`` gained less than ``tol`` over ``patience`` iterations.
    seed: seed of the random shares of moving items.
    """

    gamma: float = 1.0
    rho: int = 4
    iterations: int = 300
    beta: float = 1000.0
    reselect_every: int = 5
    merge: bool = True
    rounds: int = 8
    min_weight: float = 0.02
    tol: float = 1e-5
    patience: int = 15
    seed: int = 0

    def __post_init__(self):
        check_fields(self)
        if self.rho < 1:
            raise ConfigError(f"rho={self.rho}: must be >= 1")
        if self.gamma <= 0 or self.beta <= 0 or self.tol < 0:
            raise ConfigError(f"gamma={self.gamma}, beta={self.beta} must be > 0 and tol={self.tol} >= 0")
        if self.iterations < 0 or self.reselect_every < 1 or self.patience < 1 or self.rounds < 1:
            raise ConfigError("iterations must be >= 0; reselect_every, patience and rounds >= 1")
        if not 0 <= self.min_weight < 1 / self.rho:
            raise ConfigError(f"min_weight={self.min_weight}: must be in [0, 1/rho) = [0, {1 / self.rho:.3g})")


NEGLIGIBLE = 1e-9  # memberships below this are dropped when supports are re-selected


def reselect(g: GraphTensors, p: Membership, gamma: float) -> Membership:
    """Each row's ``rho`` slots re-chosen as its best clusters by ``Ghat`` among its current
    clusters and its neighbours' clusters (ties: lower cluster id); the row's largest slot is
    always kept. Kept slots keep their values, new ones enter at 0, rows are renormalized;
    memberships below ``NEGLIGIBLE`` are dropped first (the best-response steps leave the
    non-best slots at ~``exp(-beta * gap)``, e.g. 1e-249: as supports they would only
    multiply the non-zeros of ``A P`` and the slot pairs).

    The candidates of row i are the non-zeros of row i of ``A P + P`` (its neighbours' clusters
    and its own), in cluster order; the best ``rho`` are taken by ``rho`` vectorized per-row
    argmax passes (``np.maximum.reduceat``), so the cost is one sparse product and
    ``O(rho nnz(A P))``, without a global sort."""
    n, rho, c = p.idx.shape[0], p.rho, p.num_clusters
    k, s = g.k.numpy(), p.cluster_mass(g.k).numpy()
    own = p.to_scipy()  # canonical CSR: sorted clusters per row, every row non-empty
    own.data[own.data < NEGLIGIBLE] = 0.0
    own.eliminate_zeros()
    ap = g.csr @ own
    cand = (ap + own).tocsr()  # union of both supports (values > 0 wherever own has an entry)
    cand.sort_indices()
    starts, cols = cand.indptr[:-1], cand.indices
    rows = np.repeat(np.arange(n), np.diff(cand.indptr))
    # position of each current membership among the candidates (both are row-major sorted)
    at = np.searchsorted(rows * np.int64(c) + cols, np.repeat(np.arange(n), np.diff(own.indptr)) * np.int64(c)
                         + own.indices)
    current = np.zeros(cand.nnz)
    current[at] = own.data
    weight = cand.data - current  # (A P)_ic
    kr = k[rows]
    score = np.where(kr > 0, weight / np.maximum(kr, 1e-300) - gamma * s[cols] / max(g.total, 1e-300), 0.0)
    lead = _row_argmax_first(own.data, own.indptr[:-1], np.repeat(np.arange(n), np.diff(own.indptr)))
    score[at[lead]] = np.inf
    idx = np.full((n, rho), c, dtype=np.int64)
    val = np.zeros((n, rho))
    for slot in range(rho):
        best = _row_argmax_first(score, starts, rows)
        live = score[best] > -np.inf
        best, which = best[live], rows[best[live]]
        idx[which, slot], val[which, slot] = cols[best], current[best]
        score[best] = -np.inf
    val /= val.sum(1, keepdims=True)
    return Membership(torch.from_numpy(idx), torch.from_numpy(val), c)


def _row_argmax_first(x: np.ndarray, starts: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``(R,)`` flat position of each row's largest entry (the first one on ties) of a CSR-ordered
    ``x``; every row non-empty (``starts`` strictly increasing, ``rows`` each entry's row)."""
    top = np.maximum.reduceat(x, starts)
    hit = np.flatnonzero(x == top[rows])
    return hit[np.r_[True, rows[hit[1:]] != rows[hit[:-1]]]]


def _masked_softmax(x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    return torch.softmax(torch.where(valid, x, -torch.inf), dim=1)


def _line_search(g: GraphTensors, pairs: SlotPairs, p: Membership, m: torch.Tensor, d: torch.Tensor,
                 gamma: float) -> tuple[float, torch.Tensor]:
    """``argmax_{t in [0, 1]} Q(P + t D)``: ``Q`` is quadratic along the line,
    ``Q(P + tD) = Q(P) + t L1 + t^2 L2`` with ``L1 = 2 (<D, AP>/|E| - gamma S_P.S_D/|E|^2)``
    and ``L2 = <D, AD>/|E| - gamma |S_D|^2/|E|^2`` (``S_X = X^T k``). Returns ``t`` and
    ``(A D)`` on the support, so that ``M`` after the step is ``M + t (A D)`` (linear in P)."""
    total = max(g.total, 1e-300)
    s_p = p.cluster_mass(g.k)
    s_d = Membership(p.idx, d, p.num_clusters).cluster_mass(g.k)
    md = pairs.overlap(d)
    l1 = 2 * (float((d * m).sum()) / total - gamma * float(s_p @ s_d) / total ** 2)
    l2 = float((d * md).sum()) / total - gamma * float(s_d @ s_d) / total ** 2
    if l2 < 0:
        return float(np.clip(-l1 / (2 * l2), 0.0, 1.0)), md
    return (1.0 if l1 + l2 > 0 else 0.0), md


def _pad(p: Membership, rho: int) -> Membership:
    if p.rho > rho:
        raise ConfigError(f"initial membership has {p.rho} slots > rho={rho}")
    n, pad = p.idx.shape[0], rho - p.rho
    return Membership(torch.cat([p.idx, torch.full((n, pad), p.num_clusters, dtype=torch.int64)], 1),
                      torch.cat([p.val, torch.zeros((n, pad), dtype=torch.float64)], 1), p.num_clusters)


def ascend(g: GraphTensors, p: Membership, config: AscentConfig, iterations: int, rng: torch.Generator,
           start: int = 0, curve: list | None = None, progress=None) -> tuple[Membership, int]:
    """One ascent phase from ``p`` (already ``rho`` slots wide): at most ``iterations`` steps,
    ending early when stalled. Returns the best membership seen and the steps taken."""
    history, best_q, best, share = [], -np.inf, p, 1.0
    n = p.idx.shape[0]
    for it in range(iterations + 1):
        if it % config.reselect_every == 0:
            p = reselect(g, p, config.gamma)
            pairs, m = SlotPairs.build(g, p.idx, p.num_clusters), None
        ghat, q, m = normalized_gradient(g, p, config.gamma, pairs, return_overlap=True, overlap=m)
        history.append(q)
        if q > best_q:
            best_q, best = q, p
        stop = it == iterations or (it >= config.patience and history[-1] - history[-1 - config.patience] < config.tol)
        if curve is not None and (it % config.reselect_every == 0 or stop):
            curve.append({"iteration": start + it, "modularity": round(q, 6), "share": share})
        if progress is not None:
            progress(start + it, config.iterations)
        if stop:
            return best, it
        d = _masked_softmax(config.beta * ghat, p.idx < p.num_clusters) - p.val
        moving = ((d * ghat).sum(1) > 0) & (torch.rand(n, generator=rng, dtype=torch.float64) < share)
        d = d * moving[:, None]
        t, md = _line_search(g, pairs, p, m, d, config.gamma)
        share = min(1.0, share * 2) if t >= 0.999 else max(1 / 64, share / 2)
        p = Membership(p.idx, (p.val + t * d).clamp_min(0), p.num_clusters)
        m = m + t * md  # M of the new P without another pass over the slot pairs
    return best, iterations


def optimize(g: GraphTensors, init: Membership, config: AscentConfig | None = None,
             progress=None) -> tuple[Membership, dict]:
    """Maximize ``Q_soft`` from ``init`` by ascent phases and merges (module docstring).

    Returns the pruned membership (``C`` unchanged; emptied clusters stay empty, see
    :func:`compact`) and a report: ``initial_modularity``, ``modularity``, ``iterations``,
    ``merges``, ``phases`` and the ``curve`` (``[{"iteration", "modularity", ...}]``).
    """
    config = config or AscentConfig()
    rng = torch.Generator().manual_seed(config.seed)
    p = _pad(init, config.rho)
    q0 = soft_modularity(g, p, config.gamma)
    curve, used, merges, phases = [], 0, 0, 0
    for _ in range(config.rounds):
        p, steps = ascend(g, p, config, config.iterations - used, rng, used, curve, progress)
        used, phases = used + steps, phases + 1
        if not config.merge or used >= config.iterations:
            break
        p, merged, gain = merge_clusters(g, p, config.gamma)
        merges += merged
        curve.append({"iteration": used, "merged": merged, "merge_gain": round(gain, 6)})
        if merged == 0:
            break
        p = _pad(p, config.rho)
    p = prune(p, config.min_weight)
    q = soft_modularity(g, p, config.gamma)
    return p, {"initial_modularity": q0, "modularity": q, "iterations": used, "merges": merges,
               "phases": phases, "curve": curve}


def prune(p: Membership, min_weight: float) -> Membership:
    """Drop memberships below ``min_weight`` (never a row's largest), renormalize, and sort
    each row's slots by decreasing value."""
    val = p.val.clone()
    largest = val.argmax(1, keepdim=True)
    drop = val < min_weight
    drop.scatter_(1, largest, False)
    val[drop] = 0
    idx = torch.where(val > 0, p.idx, p.num_clusters)
    val = val / val.sum(1, keepdim=True)
    order = torch.argsort(-val, dim=1, stable=True)
    return Membership(idx.gather(1, order), val.gather(1, order), p.num_clusters)


def compact(p: Membership) -> tuple[Membership, np.ndarray]:
    """Renumber clusters to the non-empty ones, largest mass first; returns the membership and
    ``(C_new,)`` the old id of each new cluster."""
    mass = p.cluster_mass().numpy()
    used = np.flatnonzero(mass > 0)
    used = used[np.lexsort((used, -mass[used]))]
    remap = np.full(p.num_clusters + 1, len(used), dtype=np.int64)
    remap[used] = np.arange(len(used))
    return Membership(torch.from_numpy(remap)[p.idx], p.val, len(used)), used


__all__ = ["AscentConfig", "ascend", "compact", "optimize", "prune", "reselect"]
