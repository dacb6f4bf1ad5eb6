"""The tokenize stage's interest prototypes for the report: sizes, each item's top prototype, a 2-D map."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Prototypes:
    """``mass (C,)`` soft sizes, ``top (I,)`` each item's strongest prototype (``-1``: none),
    ``report``: ``tokenize/report.json``; ``embedding``: the item vectors they were made from."""

    mass: np.ndarray
    top: np.ndarray
    report: dict
    embedding: str | None

    @property
    def top_counts(self) -> np.ndarray:
        return np.bincount(self.top[self.top >= 0], minlength=len(self.mass))




def top_prototype(idx: np.ndarray, val: np.ndarray) -> np.ndarray:
    """Each row's prototype with the largest membership (sparse rows ``idx``/``val``, ``-1`` = empty slot)."""
    weights = np.where(idx >= 0, val, -np.inf)
    best = np.argmax(weights, axis=1)
    top = np.take_along_axis(idx, best[:, None], axis=1)[:, 0].astype(np.int64)
    top[~np.isfinite(weights.max(axis=1)) | (idx.max(axis=1) < 0)] = -1
    return top


def pca_2d(vectors: np.ndarray, max_items: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The first two principal components of at most ``max_items`` rows sampled uniformly
    (fixed seed). Returns ``(rows (n,), coords (n, 2))``."""
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(vectors), max_items, replace=False)) if len(vectors) > max_items else np.arange(len(vectors))
    x = vectors[rows].astype(np.float64)
    x -= x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    coords = x @ vt[:2].T
    if coords.shape[1] < 2:  # one-dimensional vectors: a flat second axis
        coords = np.hstack([coords, np.zeros((len(coords), 2 - coords.shape[1]))])
    coords *= np.where(coords.sum(axis=0) < 0, -1.0, 1.0)  # a sign convention, for stable pictures
    return rows, coords


def central_items(protos: Prototypes, top_items: int = 5) -> dict[int, list[str]]:
    """Each prototype's most central item ids, as the tokenize report lists them."""
    return {int(p["prototype"]): [str(i.get("item_id")) for i in p.get("items", [])[:top_items]]
            for p in protos.report.get("prototype_items", [])}
