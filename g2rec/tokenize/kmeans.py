"""k-means for prototypes and semantic IDs: faiss when it is installed (the ``cpu``/``gpu``
extras), else Lloyd's algorithm in torch with the same interface.

The fallback starts from ``k`` distinct points drawn with ``seed`` and runs ``iterations`` Lloyd
steps over every point (faiss trains on at most 256 points per centroid). Same seed, same
result on either path, but the two paths give different centroids; faiss is the faster one on
large catalogues. The first fallback logs one line saying how to install faiss.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from ..deps import optional_faiss

LOG = logging.getLogger(__name__)
ROWS = 65_536  # points whose distances to every centroid are computed at once
_warned = []


def kmeans(x: np.ndarray, k: int, iterations: int, seed: int, spherical: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(centroids (k, d) float32, labels (n,) int64)`` of the ``(n, d)`` points ``x``
    (``spherical``: centroids normalized to unit length after each step)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    faiss = optional_faiss()
    if faiss is not None:
        km = faiss.Kmeans(x.shape[1], k, niter=iterations, seed=seed, spherical=spherical,
                          min_points_per_centroid=1)  # trains on <= 256 per centroid
        km.train(x)
        _, labels = km.index.search(x, 1)
        return km.centroids.copy(), labels.ravel().astype(np.int64)
    if not _warned:
        _warned.append(True)
        LOG.info("faiss is not installed: k-means runs in torch (slower on large catalogues; "
                 "pip install 'g2rec[cpu]' for faiss)")
    return lloyd(x, k, iterations, seed, spherical)


def lloyd(x: np.ndarray, k: int, iterations: int, seed: int, spherical: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's algorithm from ``k`` distinct points drawn with ``seed``; an emptied centroid keeps
    its place. Labels are the nearest centroids of the result."""
    points = torch.from_numpy(x)
    centroids = points[np.random.default_rng(seed).choice(len(x), size=k, replace=False)].clone()
    for _ in range(iterations):
        labels = _nearest(points, centroids)
        sums = torch.zeros_like(centroids).index_add_(0, labels, points)
        sizes = torch.bincount(labels, minlength=k).to(points.dtype)[:, None]
        centroids = torch.where(sizes > 0, sums / sizes.clamp_min(1), centroids)
        if spherical:
            centroids = centroids / centroids.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return centroids.numpy().copy(), _nearest(points, centroids).numpy().astype(np.int64)


def _nearest(points: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    norms = (centroids * centroids).sum(1)
    return torch.cat([(norms[None] - 2 * chunk @ centroids.T).argmin(1) for chunk in points.split(ROWS)])
