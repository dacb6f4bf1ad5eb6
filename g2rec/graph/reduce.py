"""The co-engagement graph's reduce: pair weights summed per pair, in memory bounded by the output.

A pair of items ``(src, dst)``, ``src < dst``, is keyed ``src * I + dst``. Each map chunk sums
its own pairs (:func:`sum_by_pair`); :class:`PairSums` adds the chunks up. With more than one
chunk it cuts every chunk's sums into ranges of source items and spills them to disk, then sums
one range at a time, so that the memory held is the graph's edges plus one range, never the
chunks' partial sums together. :func:`symmetric_csr` lays the upper-triangle edges out as the
symmetric CSR matrix directly (no transpose, no copy of the edges per step).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp


def w_or_one(w, n: int) -> np.ndarray:
    return np.ones(n) if w is None else w


def sum_by_pair(key: np.ndarray, weight: np.ndarray | None, decay: np.ndarray | None):
    """Sum ``weight`` (1 when ``None``) and ``decay`` per distinct ``key``: ``(keys, sums, decay sums)``.

    Sums are taken in the order the keys come (a stable sort), so the same input gives the
    same float64 sums. Unit weights need only a sort of the keys (a vectorized quicksort,
    ~3x faster than the argsort that weighted pairs need).
    """
    if len(key) == 0:
        return key, np.empty(0), (None if decay is None else np.empty(0))
    if weight is None and decay is None:
        key = np.sort(key)
        first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        return key[first], np.diff(np.r_[first, len(key)]).astype(np.float64), None
    order = np.argsort(key, kind="stable")
    key = key[order]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    total = np.add.reduceat(w_or_one(weight, len(key))[order], first)
    decayed = None if decay is None else np.add.reduceat(decay[order], first)
    return key[first], total, decayed


class PairSums:
    """The sum over chunks of per-pair sums, one range of source items at a time.

    ``add`` takes each chunk's ``(keys, counts, decayed)`` (sorted, distinct keys). The first
    chunk is held; from the second on, every chunk is cut into ``ranges`` runs of source items
    (boundaries at the quantiles of the first chunk's sources) and written to ``folder`` (a
    temporary folder by default, removed on ``close``). ``parts()`` then yields, range by range
    in key order, the summed ``(keys, counts, decayed)``; a pair's chunk sums are added in chunk
    order, as one in-memory merge would add them.
    """

    def __init__(self, num_items: int, ranges: int, folder: str | Path | None = None):
        self.n, self.ranges, self.parent = num_items, max(int(ranges), 1), folder
        self.first, self.bounds, self.folder, self.chunks = None, None, None, 0

    def add(self, keys: np.ndarray, counts: np.ndarray, decayed: np.ndarray | None) -> None:
        if self.first is None and self.folder is None:
            self.first = (keys, counts, decayed)
            return
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="g2rec-pairs-", dir=self.parent))
            sources = self.first[0] // self.n
            rows = np.unique(np.quantile(sources, np.linspace(0, 1, self.ranges + 1)[1:-1]).astype(np.int64)) if len(
                sources) else np.empty(0, np.int64)
            self.bounds = np.r_[0, rows + 1, self.n].astype(np.int64) * self.n  # ranges of whole source rows
            self._spill(*self.first)
            self.first = None
        self._spill(keys, counts, decayed)

    def _spill(self, keys, counts, decayed) -> None:
        cuts = np.searchsorted(keys, self.bounds)
        for r in range(len(self.bounds) - 1):
            lo, hi = cuts[r], cuts[r + 1]
            if hi > lo:
                arrays = {"keys": keys[lo:hi], "counts": counts[lo:hi]}
                if decayed is not None:
                    arrays["decayed"] = decayed[lo:hi]
                for name, values in arrays.items():
                    np.save(self.folder / f"{r}.{self.chunks}.{name}.npy", values)
        self.chunks += 1

    def parts(self):
        """The summed ``(keys, counts, decayed)`` of each range of source items, in key order."""
        if self.folder is None:
            if self.first is not None:
                yield self.first
            return
        for r in range(len(self.bounds) - 1):
            pieces = [c for c in range(self.chunks) if (self.folder / f"{r}.{c}.keys.npy").exists()]
            if pieces:
                yield sum_by_pair(*(self._load(r, pieces, name) for name in ("keys", "counts", "decayed")))

    def _load(self, r: int, pieces: list[int], name: str) -> np.ndarray | None:
        """Range ``r``'s spilled ``name`` arrays of the chunks ``pieces``, in chunk order."""
        files = [self.folder / f"{r}.{c}.{name}.npy" for c in pieces]
        return np.concatenate([np.load(f) for f in files]) if files[0].exists() else None

    def close(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def symmetric_csr(parts, n: int) -> sp.csr_matrix:
    """The symmetric ``(n, n)`` CSR matrix of upper-triangle edges given in ``parts``.

    Args:
        parts: ``(src, dst, weight)`` arrays per part, ``src < dst``; the parts' edges sorted
            by ``(src, dst)`` as one sequence (a row may continue into the next part).
        n: number of nodes.

    Row ``i`` is its lower entries (edges ``(s, i)``, sorted by ``s``) then its upper entries
    (edges ``(i, d)``, sorted by ``d``), so the rows come out sorted without a sort. Memory: the
    output plus one part's positions.
    """
    lower = sum((np.bincount(dst, minlength=n) for _, dst, _ in parts), np.zeros(n, np.int64))
    upper = sum((np.bincount(src, minlength=n) for src, _, _ in parts), np.zeros(n, np.int64))
    nnz = int(lower.sum() + upper.sum())
    index = np.int32 if max(nnz, n) < 2**31 else np.int64
    indptr = np.r_[0, np.cumsum(lower + upper)].astype(index)
    indices = np.empty(nnz, index)
    data = np.empty(nnz, parts[0][2].dtype if parts else np.float32)
    lower_fill = indptr[:-1].astype(np.int64)            # next free slot of each row's lower entries
    upper_fill = lower_fill + lower                      # and of its upper entries
    for src, dst, weight in parts:
        rank = np.arange(len(src)) - np.searchsorted(src, src)           # place within its row in this part
        at = upper_fill[src] + rank
        indices[at], data[at] = dst, weight
        upper_fill += np.bincount(src, minlength=n)
        order = np.argsort(dst, kind="stable")                           # by (dst, src)
        d = dst[order]
        rank = np.arange(len(d)) - np.searchsorted(d, d)
        at = lower_fill[d] + rank
        indices[at], data[at] = src[order], weight[order]
        lower_fill += np.bincount(dst, minlength=n)
    graph = sp.csr_matrix((data, indices, indptr), shape=(n, n))
    graph.has_sorted_indices = True
    return graph
