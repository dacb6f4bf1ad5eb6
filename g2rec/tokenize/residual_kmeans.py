"""Residual k-means semantic IDs (faiss, or its torch fallback), with prototype supervision of the first level.

Level ``l`` clusters the residuals ``r_l = x - sum_{m<l} c_m[code_m]`` (``r_1 = x``) into ``K``
centroids with k-means (:mod:`.kmeans`); ``x_hat = sum_l c_l[code_l]``.

Prototype supervision (``weight = lambda > 0``): the level-1 codes are refined by Lloyd
iterations on the joint cost

    cost(i, k) = ||x_i - c_k||^2 / s  +  lambda * CE(P_i, M_k),   CE(P_i, M_k) = -sum_c P_ic log M_kc,

where ``M_k`` (``(K, C)``) is the prototype distribution of code k (the mean of ``P`` over its
items, smoothed by ``alpha`` toward uniform) and ``s`` the mean squared distance of the items
to their unsupervised centroids (so ``lambda`` is unit-free). The assignment step minimizes
the cost, the update step sets ``c_k`` to its items' mean and ``M_k`` to their mean membership,
and each step lowers the cost: a k-means whose code distributions are trained toward ``P``
with the soft-label cross-entropy (a Bregman / information-theoretic co-clustering).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from .kmeans import kmeans

ROW_CHUNK = 65536  # items per assignment chunk: bounds the (chunk, K) cost matrix


@dataclass
class ResidualCodes:
    """``codes``: ``(I, L)`` int64; ``codebooks``: ``(L, K, d)`` float32; ``reconstruction``:
    ``(I, d)`` float32 ``x_hat``; ``unsupervised_first``: ``(I,)`` level-1 codes before
    supervision (equal to ``codes[:, 0]`` when unsupervised); ``supervision_cost``: the joint
    cost per Lloyd iteration (empty when unsupervised)."""

    codes: np.ndarray
    codebooks: np.ndarray
    reconstruction: np.ndarray
    unsupervised_first: np.ndarray
    supervision_cost: list


def supervised_first_level(x: np.ndarray, centroids: np.ndarray, labels: np.ndarray, membership: sp.csr_matrix,
                           weight: float, iterations: int, alpha: float = 1e-3) -> tuple[np.ndarray, np.ndarray, list]:
    """Lloyd iterations on the joint cost of the module docstring, from ``(centroids, labels)``.

    Args:
        x: ``(I, d)`` vectors; membership: ``(I, C)`` rows summing to 1; weight: ``lambda``.
    Returns:
        ``(centroids (K, d), labels (I,), cost per iteration)``.
    """
    n, k = len(x), len(centroids)
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    c = torch.from_numpy(centroids.copy())
    labels = torch.from_numpy(labels.copy())
    scale = float(((xt - c[labels]) ** 2).sum(1).mean()) or 1.0
    member = membership.tocsr().astype(np.float32)
    costs = []
    for _ in range(iterations):
        onehot = sp.csr_matrix((np.ones(n, np.float32), (labels.numpy(), np.arange(n))), shape=(k, n))
        counts = np.asarray(onehot.sum(1)).ravel()
        mix = (np.asarray((onehot @ member).todense()) + alpha / member.shape[1]) / (counts[:, None] + alpha)
        log_mix = torch.from_numpy(np.log(mix).T.astype(np.float32).copy())  # (C, K)
        total, new = 0.0, torch.empty(n, dtype=torch.int64)
        for s in range(0, n, ROW_CHUNK):
            xs = xt[s:s + ROW_CHUNK]
            dist = (xs * xs).sum(1, keepdim=True) - 2 * xs @ c.T + (c * c).sum(1)[None]
            ce = -torch.from_numpy(np.asarray(member[s:s + ROW_CHUNK] @ log_mix.numpy()))
            cost = dist.clamp_min(0) / scale + weight * ce
            best = cost.min(1)
            new[s:s + ROW_CHUNK], total = best.indices, total + float(best.values.sum())
        costs.append(total / n)
        labels = new
        sums = torch.zeros_like(c).index_add_(0, labels, xt)
        sizes = torch.bincount(labels, minlength=k).to(torch.float32)
        c = torch.where(sizes[:, None] > 0, sums / sizes.clamp_min(1)[:, None], c)  # empty codes keep theirs
    return c.numpy(), labels.numpy(), costs


def residual_kmeans(x: np.ndarray, levels: int, codebook_size: int, iterations: int = 20, seed: int = 0,
                    membership: sp.csr_matrix | None = None, weight: float = 0.0, progress=None) -> ResidualCodes:
    """Residual k-means codes of ``x`` ``(I, d)``: ``levels`` x ``codebook_size`` codes.
    With ``membership`` (``(I, C)``) and ``weight > 0`` the first level is prototype-supervised.
    ``progress(done_levels, levels)`` is called after each level."""
    residual = np.ascontiguousarray(x, dtype=np.float32).copy()
    codes, books, costs, first = [], [], [], None
    for level in range(levels):
        centroids, labels = kmeans(residual, codebook_size, iterations, seed + level)
        if level == 0:
            first = labels
            if membership is not None and weight > 0:
                centroids, labels, costs = supervised_first_level(residual, centroids, labels, membership,
                                                                  weight, iterations)
        residual -= centroids[labels]
        codes.append(labels)
        books.append(centroids)
        if progress is not None:
            progress(level + 1, levels)
    return ResidualCodes(np.stack(codes, 1), np.stack(books), (np.asarray(x, np.float32) - residual),
                         first, costs)
