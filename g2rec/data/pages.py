"""Pages: the items a user engaged with in one request.

A recommender serves a page of items per request, and a user may engage with several of them
(GenRec's pagination). Public logs record no requests, so a page is read off the times: a
user's consecutive interactions ``j-1, j`` share a page while ``t_j - t_{j-1} <= gap``
(``gap = 0``: the same timestamp; the same day in a log of whole days such as the Amazon
``*_time_intervals`` files, the same block on chain, whose transactions share its timestamp).
A page never spans two users nor two splits: a held-out item is never in a page with
training items.

Pages are global ids ``0..P-1`` per interaction, non-decreasing along the flat (user, time)
order of :class:`~g2rec.data.sequences.Sequences`; a page is a run of equal ids.
"""

from __future__ import annotations

import numpy as np

from .sequences import TEST, TRAIN, VALID


def page_ids(user: np.ndarray, times: np.ndarray, gap: float, split: np.ndarray | None = None) -> np.ndarray:
    """``(M,)`` int64 page id of each interaction, rows sorted by (user, time).

    A page starts at each user's first interaction, after a time step larger than ``gap``, and
    where the split label changes."""
    n = len(user)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    start = np.ones(n, dtype=bool)
    start[1:] = (user[1:] != user[:-1]) | (np.diff(times) > gap)
    if split is not None:
        start[1:] |= split[1:] != split[:-1]
    return np.cumsum(start, dtype=np.int64) - 1


def page_starts(pages: np.ndarray) -> np.ndarray:
    """``(M,)`` bool: the interaction opens its page."""
    return np.r_[True, pages[1:] != pages[:-1]] if len(pages) else np.zeros(0, dtype=bool)


def page_first_row(pages: np.ndarray) -> np.ndarray:
    """``(M,)`` int64 flat position of the first interaction of each interaction's page."""
    return np.maximum.accumulate(np.where(page_starts(pages), np.arange(len(pages)), 0))


def last_page_split(user: np.ndarray, pages: np.ndarray) -> np.ndarray:
    """Leave-one-page-out: each user's last page is the test, the page before it validation,
    the rest training (a user of fewer than 3 pages has no training interactions)."""
    split = np.full(len(user), TRAIN, dtype=np.int8)
    if len(user) == 0:
        return split
    ends = np.flatnonzero(np.r_[user[1:] != user[:-1], True])        # each user's last row
    lengths = np.diff(np.r_[-1, ends])
    rank_from_end = np.repeat(pages[ends], lengths) - pages            # 0 = the user's last page
    split[rank_from_end == 0] = TEST
    split[rank_from_end == 1] = VALID
    return split


def page_summary(pages: np.ndarray) -> dict:
    """Counts for the run's metadata: pages, mean and largest page, share of interactions in
    pages of two or more items."""
    if len(pages) == 0:
        return {"pages": 0}
    sizes = np.diff(np.r_[np.flatnonzero(page_starts(pages)), len(pages)])
    return {"pages": int(len(sizes)), "mean_page_size": round(float(sizes.mean()), 3),
            "max_page_size": int(sizes.max()),
            "interactions_in_multi_item_pages": round(float(sizes[sizes > 1].sum() / len(pages)), 4)}


def next_page_targets(pages: np.ndarray, offsets: np.ndarray, items: np.ndarray, pad: int) -> np.ndarray:
    """Page-wise next-token targets: ``(M, P)`` int64, row ``j`` the items of the page after
    ``j``'s when ``j`` closes its page and the user has a next page, else all ``pad``; ``P`` the
    largest such page. ``pages``, ``offsets``, ``items`` are one split's sequences (e.g. training)."""
    m = len(items)
    starts = np.flatnonzero(page_starts(pages))                     # (P,) first row of each page
    sizes = np.diff(np.r_[starts, m])
    user_of_row = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    # page k is followed by page k+1 of the same user
    has_next = np.r_[user_of_row[starts[1:]] == user_of_row[starts[:-1]], False] if len(starts) else np.zeros(0, bool)
    width = int(sizes[1:][has_next[:-1]].max()) if has_next.any() else 1
    out = np.full((m, width), pad, dtype=np.int64)
    closing = starts + sizes - 1                                      # last row of each page
    src = np.flatnonzero(has_next)                                    # pages with a next page
    nxt = src + 1
    rows = np.repeat(closing[src], sizes[nxt])
    cols = np.arange(sizes[nxt].sum()) - np.repeat(np.cumsum(sizes[nxt]) - sizes[nxt], sizes[nxt])
    out[rows, cols] = items[np.repeat(starts[nxt], sizes[nxt]) + cols]
    return out
