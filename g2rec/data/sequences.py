"""Id-mapped, time-ordered user sequences with a split label per interaction."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

TRAIN, VALID, TEST = 0, 1, 2
SPLIT_NAMES = {TRAIN: "train", VALID: "valid", TEST: "test"}


@dataclass
class Sequences:
    """All users' histories in one flat, CSR-like layout.

    User ``u``'s interactions are ``items[offsets[u]:offsets[u+1]]``, oldest first.

    Attributes:
        user_ids: ``(U,)`` original user id of each user index.
        item_ids: ``(I,)`` original item id of each item index.
        offsets: ``(U+1,)`` int64 start of each user's run in the flat arrays.
        items: ``(M,)`` int64 item index per interaction.
        times: ``(M,)`` int64 or float64 time per interaction (position when the log had none).
        split: ``(M,)`` int8, ``TRAIN``/``VALID``/``TEST``.
        pages: ``(M,)`` int64 page id per interaction (:mod:`g2rec.data.pages`), or None when
            the run defines no pages.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    offsets: np.ndarray
    items: np.ndarray
    times: np.ndarray
    split: np.ndarray
    pages: np.ndarray | None = None

    @property
    def num_users(self) -> int:
        return len(self.user_ids)

    @property
    def num_items(self) -> int:
        return len(self.item_ids)

    @property
    def num_interactions(self) -> int:
        return len(self.items)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def users(self) -> np.ndarray:
        """``(M,)`` user index of each interaction."""
        return np.repeat(np.arange(self.num_users, dtype=np.int64), self.lengths)

    def check(self) -> Sequences:
        """``self`` when its arrays are consistent with each other; else a ``ValueError`` saying how not."""
        m, offsets = len(self.items), np.asarray(self.offsets)
        problems = [
            (offsets.ndim != 1 or len(offsets) != self.num_users + 1, f"{len(offsets)} offsets for {self.num_users} users"),
            (len(self.times) != m or len(self.split) != m, f"{m} items, {len(self.times)} times, {len(self.split)} splits"),
        ]
        for bad, why in problems:
            if bad:
                raise ValueError(why)
        if len(offsets) and (offsets[0] != 0 or offsets[-1] != m or np.any(np.diff(offsets) < 0)):
            raise ValueError("offsets are not a non-decreasing run from 0 to the number of interactions")
        if m and (self.items.min() < 0 or self.items.max() >= self.num_items):
            raise ValueError(f"item index outside 0..{self.num_items - 1}")
        if m and not np.isin(self.split, list(SPLIT_NAMES)).all():
            raise ValueError("split labels other than train/valid/test")
        if self.pages is not None:
            pages = np.asarray(self.pages)
            if len(pages) != m or (m and np.any(np.diff(pages) < 0)):
                raise ValueError(f"pages: {len(pages)} ids for {m} interactions, or not non-decreasing")
            same = pages[1:] == pages[:-1]
            boundary = np.zeros(max(m - 1, 0), dtype=bool)
            boundary[offsets[1:-1][(offsets[1:-1] > 0) & (offsets[1:-1] < m)] - 1] = True
            if np.any(same & (boundary | (self.split[1:] != self.split[:-1]))):
                raise ValueError("a page spans two users or two splits")
        return self

    def subset(self, mask: np.ndarray) -> Sequences:
        """The interactions where ``mask`` is true, same id maps (e.g. ``seq.subset(seq.split == TRAIN)``)."""
        kept_before = np.r_[0, np.cumsum(mask, dtype=np.int32 if len(mask) < 2**31 else np.int64)]
        offsets = kept_before[self.offsets].astype(np.int64)
        return Sequences(self.user_ids, self.item_ids, offsets, self.items[mask], self.times[mask], self.split[mask],
                         None if self.pages is None else self.pages[mask])

    def train(self) -> Sequences:
        return self.subset(self.split == TRAIN)

    def item_counts(self) -> np.ndarray:
        """``(I,)`` int64 training interactions of each item."""
        return np.bincount(self.items[self.split == TRAIN], minlength=self.num_items)

    def split_counts(self) -> dict:
        counts = np.bincount(self.split, minlength=3)
        return {SPLIT_NAMES[k]: int(counts[k]) for k in SPLIT_NAMES}

    def save(self, folder: Path) -> list[str]:
        """Write ``sequences.npz``, ``user_ids.parquet`` and ``item_ids.parquet`` into ``folder``."""
        folder = Path(folder)
        pages = {} if self.pages is None else {"pages": self.pages}
        np.savez(folder / "sequences.npz", offsets=self.offsets, items=self.items, times=self.times, split=self.split,
                 **pages)
        _save_ids(folder / "user_ids.parquet", self.user_ids)
        _save_ids(folder / "item_ids.parquet", self.item_ids)
        return ["sequences.npz", "user_ids.parquet", "item_ids.parquet"]

    @classmethod
    def load(cls, folder: Path) -> Sequences:
        folder = Path(folder)
        with np.load(folder / "sequences.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in ("offsets", "items", "times", "split", "pages") if k in z.files}
        return cls(load_ids(folder / "user_ids.parquet"), load_ids(folder / "item_ids.parquet"), **arrays)


def sequence_windows(train: Sequences, max_len: int, pad: int, newest_only: bool = False) -> np.ndarray:
    """Cut every training sequence into left-padded windows of ``max_len + 1`` items.

    A sequence of n >= 2 items gives ceil((n-1) / max_len) windows ending at its newest item,
    then every ``max_len`` items earlier; consecutive windows share one item, so each of the
    n-1 transitions is a target exactly once. Sequences of one item give none. With
    ``newest_only``, only each sequence's newest window (its last ``max_len + 1`` items).

    Returns:
        ``(N, max_len + 1)`` int64 item ids, ``pad`` on the left where a window is short;
        windows grouped by user (users in order), each user's newest window first.
    """
    return _items_at(train, window_positions(train, max_len, newest_only), pad)


def window_positions(train: Sequences, max_len: int, newest_only: bool = False) -> np.ndarray:
    """The windows of :func:`sequence_windows` as flat positions in ``train`` (``-1`` = padding)."""
    count = _windows_per_user(train, max_len, newest_only)
    users = np.repeat(np.arange(train.num_users), count)                       # (N,)
    first = np.cumsum(count) - count
    k = np.arange(len(users)) - np.repeat(first, count)                        # 0 = newest window
    end = train.offsets[users + 1] - k * max_len                               # exclusive end
    pos = end[:, None] - (max_len + 1) + np.arange(max_len + 1)                # (N, max_len + 1)
    return np.where(pos >= train.offsets[users][:, None], pos, -1)


def window_users(train: Sequences, max_len: int, newest_only: bool = False) -> np.ndarray:
    """``(N,)`` user index of each window of :func:`sequence_windows` (same arguments)."""
    return np.repeat(np.arange(train.num_users), _windows_per_user(train, max_len, newest_only))


def prefix_windows(train: Sequences, max_len: int, pad: int, cut: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Every training transition as its own sample (TIGER's training data): each item after a
    user's first, with the up to ``max_len`` items before it. With ``cut`` (``(M,)`` flat
    positions, e.g. each item's page's first row), an item's history ends at its ``cut``
    instead, and items with nothing before their cut give no sample.

    Returns:
        ``(N, max_len + 1)`` int64 windows, the target last, left-padded with ``pad``
        (N = interactions - users with any, without ``cut``), and ``(N,)`` the user index of
        each; users in order, each user's transitions oldest first.
    """
    users_of = train.users
    ends = np.arange(train.num_interactions) if cut is None else np.asarray(cut)
    target = np.flatnonzero(ends > train.offsets[users_of])                    # (N,) something before
    users = users_of[target]
    pos = ends[target][:, None] - max_len + np.arange(max_len)                 # (N, max_len) the history
    pos = np.where(pos >= train.offsets[users][:, None], pos, -1)
    return np.concatenate([_items_at(train, pos, pad), train.items[target][:, None]], axis=1), users


def _items_at(train: Sequences, pos: np.ndarray, pad: int) -> np.ndarray:
    """Items at flat positions ``pos`` (``-1`` -> ``pad``), int64."""
    return np.where(pos >= 0, train.items[np.maximum(pos, 0)], pad).astype(np.int64)


def _windows_per_user(train: Sequences, max_len: int, newest_only: bool) -> np.ndarray:
    lengths = train.lengths
    count = np.where(lengths >= 2, -(-(lengths - 1) // max_len), 0)
    return np.minimum(count, 1) if newest_only else count


def _save_ids(path: Path, ids: np.ndarray) -> None:
    values = ids.astype(str) if ids.dtype == object else ids
    pd.DataFrame({"index": np.arange(len(ids), dtype=np.int64), "original_id": values}).to_parquet(path, index=False)


def load_ids(path: Path) -> np.ndarray:
    return pd.read_parquet(path)["original_id"].to_numpy()
