"""Merging whole prototypes when that raises soft modularity (the coarse move of Louvain).

For memberships ``P`` the coarse graph is ``W = P^T A P`` (``(C, C)``, with self-loops) and
``K = P^T k``. Merging clusters ``a != b`` changes ``Q_soft`` by exactly

    dQ_ab = 2 (W_ab / |E| - gamma K_a K_b / |E|^2),

and merges of disjoint pairs add up. Each round merges every pair of mutual best partners
with ``dQ > 0``; rounds repeat until no pair gains. Item-level ascent cannot do this: moving
one item at a time out of a cluster first loses what the whole merge would gain.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .soft_modularity import GraphTensors, Membership

MAX_DENSE_CLUSTERS = 8192  # W is held dense: (C, C) float64


def merge_gains(g: GraphTensors, p: Membership, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """``(W, K)``: the ``(C, C)`` coarse graph ``P^T A P`` and ``(C,)`` cluster degrees ``P^T k``."""
    mat = p.to_scipy()
    w = (mat.T @ (g.csr @ mat)).toarray()
    return w, mat.T @ g.k.numpy()


def merge_clusters(g: GraphTensors, p: Membership, gamma: float = 1.0) -> tuple[Membership, int, float]:
    """Greedy mutual-best merging; returns the merged membership (same ``C``, merged clusters
    emptied), the number of merges and the total ``Q_soft`` gain."""
    c = p.num_clusters
    if c > MAX_DENSE_CLUSTERS or g.total <= 0:
        return p, 0, 0.0
    w, k = merge_gains(g, p, gamma)
    alive = k > 0
    target = np.arange(c)
    merges, gain = 0, 0.0
    while True:
        dq = 2 * (w / g.total - gamma * np.outer(k, k) / g.total ** 2)
        np.fill_diagonal(dq, -np.inf)
        dq[~alive] = -np.inf
        dq[:, ~alive] = -np.inf
        best = dq.argmax(1)
        rows = np.arange(c)
        mutual = alive & (best[best] == rows) & (rows < best) & (dq[rows, best] > 0)
        if not mutual.any():
            break
        a, b = rows[mutual], best[mutual]
        gain += float(dq[a, b].sum())
        merges += len(a)
        # fold b into a: rows/columns of the coarse graph and degrees add up
        w[a] += w[b]
        w[:, a] += w[:, b]
        w[b], w[:, b] = 0, 0
        k[a] += k[b]
        k[b] = 0
        alive[b] = False
        fold = np.arange(c)
        fold[b] = a
        target = fold[target]
    if merges == 0:
        return p, 0, 0.0
    mat = p.to_scipy()
    mat = sp.csr_matrix((mat.data, target[mat.indices].astype(mat.indices.dtype), mat.indptr), shape=mat.shape)
    return Membership.from_scipy(mat, p.rho), merges, gain
