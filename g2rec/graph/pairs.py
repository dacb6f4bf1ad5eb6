"""The map step of graph building: one user's sequence -> its weighted item pairs.

Both builders are pure functions of a user's sequence (and, for sampling, of the
seed and the user's index through a counter-based hash), so any chunking of users,
on one machine or on Spark/Dask, gives the identical multiset of pairs.

Every function returns ``(src, dst, weight, gap)`` with ``src < dst`` (self-pairs of a
repeated item are dropped), ``weight`` the pair's estimator weight (``None`` when every
pair weighs 1, as exact pairs do; ``P/m`` for a pair drawn ``m`` times out of a user's
``P`` pairs) and ``gap`` the absolute time difference of the two interactions (for time
decay; ``None`` unless ``need_gap``, which saves a float array per pair).
"""

from __future__ import annotations

import math

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finalizer, vectorized: a well-mixed uint64 per input uint64."""
    with np.errstate(over="ignore"):
        x = (x + _GOLDEN).astype(np.uint64)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def hashed_uniform(seed: int, user: np.ndarray, draw: np.ndarray, stream: int) -> np.ndarray:
    """Uniform [0, 1) floats that depend only on (seed, user, draw index, stream)."""
    with np.errstate(over="ignore"):
        key = splitmix64(np.uint64(seed) * _GOLDEN + np.uint64(stream))
        x = splitmix64(user.astype(np.uint64) ^ key) + draw.astype(np.uint64) * _GOLDEN
        return (splitmix64(x) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def sparsification_pairs_per_user(length: np.ndarray, num_items: int, eps: float, delta: float) -> np.ndarray:
    """G2Rec's bound: m = 2 N (1/(3 eps) + 1/eps^2) ln(2 |I| / delta) pairs for a user with N items."""
    factor = 2.0 * (1.0 / (3.0 * eps) + 1.0 / eps**2) * math.log(2.0 * num_items / delta)
    return np.ceil(factor * length).astype(np.int64)


def _canonical(a_pos, b_pos, items, times, weight, need_gap):
    a, b = items[a_pos], items[b_pos]
    keep = a != b
    a, b = a[keep], b[keep]
    weight = None if weight is None else weight[keep]
    gap = np.abs(times[a_pos[keep]] - times[b_pos[keep]]).astype(np.float64) if need_gap else None
    return np.minimum(a, b), np.maximum(a, b), weight, gap


def _concat(parts):
    """Concatenate ``(src, dst, weight, gap)`` tuples, keeping ``None`` fields ``None``."""
    return tuple(None if p[0] is None else np.concatenate(p) for p in zip(*parts))


def window_pairs(items: np.ndarray, times: np.ndarray, offsets: np.ndarray, window: int,
                 need_gap: bool = False):
    """All pairs of a user's interactions at most ``window`` positions apart.

    Args:
        items, times: ``(M,)`` flat sequences of the users in this chunk.
        offsets: ``(U+1,)`` start of each user's run in ``items``.
        window: maximum position distance ``w >= 1``.
    """
    user = np.repeat(np.arange(len(offsets) - 1, dtype=np.int32), np.diff(offsets))
    parts = []
    for d in range(1, max(min(window, len(user) - 1), 0) + 1):
        a = np.flatnonzero(user[:-d] == user[d:])
        parts.append(_canonical(a, a + d, items, times, None, need_gap))
    if not parts:
        return _empty(need_gap)
    return _concat(parts)


def _empty(need_gap: bool):
    empty = np.empty(0, np.int64)
    return empty, empty, None, (np.empty(0) if need_gap else None)


def all_pairs(items, times, offsets, users, need_gap: bool = False):
    """Every pair of positions of each user in ``users`` (indices into ``offsets``), grouped by length."""
    lengths = np.diff(offsets)[users]
    parts = []
    for n in np.unique(lengths):
        if n < 2:
            continue
        r, c = np.triu_indices(n, 1)
        base = offsets[users[lengths == n]][:, None]
        a, b = (base + r).ravel(), (base + c).ravel()
        parts.append(_canonical(a, b, items, times, None, need_gap))
    if not parts:
        return _empty(need_gap)
    return _concat(parts)


def sampled_pairs(items, times, offsets, users, user_keys, m, seed, need_gap: bool = False):
    """``m[k]`` pairs drawn with replacement, uniformly, from user ``users[k]``'s position pairs.

    Each draw carries weight ``P/m`` (``P = n(n-1)/2``), so the expected sampled graph is
    the full co-engagement graph. ``user_keys`` (global user indices) seed each user's draws.
    """
    n = np.diff(offsets)[users]
    total = n * (n - 1) // 2
    owner = np.repeat(np.arange(len(users)), m)
    draw = np.arange(len(owner)) - np.repeat(np.cumsum(m) - m, m)
    key = np.repeat(user_keys, m)
    i = np.floor(hashed_uniform(seed, key, draw, 0) * n[owner]).astype(np.int64)
    j = np.floor(hashed_uniform(seed, key, draw, 1) * (n[owner] - 1)).astype(np.int64)
    j += j >= i
    start = offsets[users][owner]
    weight = (total / m)[owner].astype(np.float64)
    return _canonical(start + i, start + j, items, times, weight, need_gap)
