"""Prototype vectors, item interest profiles, and each prototype's most central items.

With ``P`` the ``(I, C)`` memberships and ``X`` the ``(I, d)`` item embeddings:

    V = (P^T X) / (P^T 1)      (C, d): prototype c is the membership-weighted mean of its items
    y_i = P_i V                (d,):   item i's interest profile (``Y = P V``, ``(I, d)``)

Centrality of item i in prototype c: ``P_ic (A P)_ic``, the co-engagement weight item i
spends inside prototype c, scaled by how much it belongs there.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def prototype_vectors(membership: sp.csr_matrix, x: np.ndarray) -> np.ndarray:
    """``V`` ``(C, d)`` float32; a prototype without mass gets a zero vector."""
    mass = np.asarray(membership.sum(0)).ravel()
    v = np.asarray(membership.T @ x.astype(np.float64)) / np.maximum(mass, 1e-300)[:, None]
    return v.astype(np.float32)


def interest_profiles(membership: sp.csr_matrix, v: np.ndarray) -> np.ndarray:
    """``Y = P V`` ``(I, d)`` float32."""
    return np.asarray(membership @ v.astype(np.float64)).astype(np.float32)


def central_items(graph: sp.spmatrix, membership: sp.csr_matrix, top: int) -> list[np.ndarray]:
    """For each prototype, its ``top`` items by ``P_ic (A P)_ic`` (descending; ties: lower index)."""
    member = membership.tocsr()
    ap = sp.csr_matrix(graph, dtype=np.float64) @ member
    score = member.multiply(ap).tocsc()
    out = []
    for c in range(member.shape[1]):
        lo, hi = score.indptr[c], score.indptr[c + 1]
        rows, vals = score.indices[lo:hi], score.data[lo:hi]
        if len(rows) < top:  # prototype members without internal edges still rank, after the others
            extra = member[:, c].tocoo().row
            extra = extra[~np.isin(extra, rows)]
            rows, vals = np.r_[rows, extra], np.r_[vals, np.zeros(len(extra))]
        order = np.lexsort((rows, -vals))[:top]
        out.append(rows[order])
    return out
