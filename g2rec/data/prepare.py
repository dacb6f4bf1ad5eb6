"""From a raw log to validated, id-mapped, time-ordered sequences with a split.

Steps, each counted in the report: event filter, exact duplicate rows dropped,
stable sort by (user, time) with ties kept in file order, optional k-core,
users too short for the split dropped, dense id maps, leave-one-out (of items or pages) or
temporal split, pages (when asked for).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..config import check_fields
from ..errors import ConfigError, DataError, check_choice
from .log import InteractionLog
from .pages import last_page_split, page_ids, page_summary
from .sequences import TEST, TRAIN, VALID, Sequences

SPLITS = ("loo", "loo-page", "temporal")
NO_EVENTS = "--events given but the log has no event column (use --event-col)"


@dataclass
class PrepareConfig:
    """Options for :func:`prepare_sequences`.

    split: ``loo`` (last interaction test, second-to-last validation), ``loo-page`` (last page
        test, the page before validation; needs ``page_gap``) or ``temporal`` (global cut-offs
        ``valid_time`` <= t < ``test_time`` is validation, t >= ``test_time`` test; when not
        given, the ``temporal_quantiles`` of all times).
    page_gap: record pages (:mod:`.pages`): consecutive interactions of a user at most this
        far apart in time share a page (0 = the same timestamp); None = no pages.
    min_user_len: users with fewer interactions (after filtering) are dropped; ``loo`` needs >= 3.
    kcore: keep the k-core (every user and item with >= k interactions); 0 = off.
    events: keep only rows whose event is one of these (needs an event column).
    """

    split: str = "loo"
    min_user_len: int = 3
    kcore: int = 0
    valid_time: float | None = None
    test_time: float | None = None
    temporal_quantiles: tuple[float, float] = (0.8, 0.9)
    events: list[str] | None = field(default=None)
    page_gap: float | None = None

    def __post_init__(self):
        check_fields(self)
        check_choice("split", self.split, SPLITS)
        if self.split == "loo-page" and self.page_gap is None:
            raise ConfigError("split='loo-page' leaves out pages: it needs page_gap (0 = interactions sharing a timestamp)")
        if self.page_gap is not None and not self.page_gap >= 0:
            raise ConfigError(f"page_gap={self.page_gap}: must be >= 0")
        if self.split == "loo" and self.min_user_len < 3:
            raise ConfigError(f"min_user_len={self.min_user_len}: leave-one-out needs at least 3 (train, valid, test)")
        if self.min_user_len < 1 or self.kcore < 0:
            raise ConfigError("min_user_len must be >= 1 and kcore >= 0")
        lo, hi = self.temporal_quantiles
        if not 0 < lo <= hi < 1:
            raise ConfigError(f"temporal_quantiles={self.temporal_quantiles}: need 0 < valid <= test < 1")


def prepare_sequences(log: InteractionLog, config: PrepareConfig | None = None) -> tuple[Sequences, dict]:
    """Validate and order ``log``; return the sequences and a report of every count."""
    config = config or PrepareConfig()
    df = log.frame
    report = {"rows_read": len(df), **log.counts}
    if config.events is not None:
        if "event" not in df:
            raise DataError(NO_EVENTS, path=log.path)
        df = df[df["event"].isin(config.events)]
        report["rows_other_events"] = report["rows_read"] - len(df)
    user_code, user_ids = dense_codes(df["user"].to_numpy())
    item_code, item_ids = dense_codes(df["item"].to_numpy())
    times = np.array(df["time"].to_numpy())  # owned and writable: the sequences may keep it
    return prepare_codes(user_code, item_code, times, user_ids, item_ids, config, report, log.path)


def prepare_codes(user_code: np.ndarray, item_code: np.ndarray, times: np.ndarray, user_ids: np.ndarray,
                  item_ids: np.ndarray, config: PrepareConfig, report: dict, path=None) -> tuple[Sequences, dict]:
    """:func:`prepare_sequences` from the log's rows as codes: ``user_code``/``item_code`` index
    ``user_ids``/``item_ids`` (each sorted, as :func:`dense_codes` gives them), ``times`` per
    row, rows in file order. ``report`` (the reader's counts so far) is extended in place."""
    order = _stable_order(user_code, times)
    report["unsorted_users"] = 0 if order is None else _count_unsorted_users(user_code, order)
    if order is not None:
        user_code, item_code, times = user_code[order], item_code[order], times[order]
        del order
    same_user = user_code[1:] == user_code[:-1]
    tie = same_user & (times[1:] == times[:-1])
    del same_user
    dup = _duplicates_within_ties(tie, item_code)
    report["duplicate_rows"] = int(dup.sum())
    report["time_ties"] = int(tie.sum()) - report["duplicate_rows"]
    del tie

    keep = ~dup
    if config.kcore > 0:
        kcore = _kcore_mask(user_code, item_code, config.kcore, keep)
        report["kcore_dropped"] = int((keep & ~kcore).sum())
        keep = kcore
    else:
        report["kcore_dropped"] = 0
    user_len = np.bincount(user_code[keep], minlength=len(user_ids))
    report["short_users_dropped"] = int(np.sum((user_len > 0) & (user_len < config.min_user_len)))
    keep &= user_len[user_code] >= config.min_user_len
    user_code, item_code, times = _kept(keep, user_code, item_code, times)

    split = _split_labels(user_code, times, config, report)
    has_train = np.bincount(user_code[split == TRAIN], minlength=len(user_ids)) > 0
    report["users_without_train_dropped"] = int(np.sum((user_len >= config.min_user_len) & ~has_train))
    user_code, item_code, times, split = _kept(has_train[user_code], user_code, item_code, times, split)
    pages = None if config.page_gap is None else page_ids(user_code, times, config.page_gap, split)
    if len(user_code) == 0:
        raise DataError("no user left after filtering (check --min-user-len / --kcore)", path=path)

    counts = np.bincount(user_code, minlength=len(user_ids))
    item_index, items_kept = _compact(item_code, len(item_ids))
    seq = Sequences(
        user_ids=np.asarray(user_ids)[counts > 0],
        item_ids=np.asarray(item_ids)[items_kept],
        offsets=np.r_[0, np.cumsum(counts[counts > 0])].astype(np.int64),
        items=item_index,
        times=times,
        split=split.astype(np.int8, copy=False),
        pages=pages,
    )
    report.update(num_users=seq.num_users, num_items=seq.num_items, num_interactions=seq.num_interactions,
                  **{f"{k}_interactions": v for k, v in seq.split_counts().items()})
    if pages is not None:
        report.update(page_summary(pages))
    return seq, report


def _kept(mask: np.ndarray, *arrays):
    """The arrays where ``mask`` holds (the arrays themselves when it holds everywhere)."""
    return arrays if mask.all() else tuple(a[mask] for a in arrays)


def dense_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..n-1 in the sorted order of the distinct ``values`` (numbers numerically, strings lexically)."""
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), np.asarray(uniques)


def _stable_order(user: np.ndarray, times: np.ndarray) -> np.ndarray | None:
    """Permutation sorting by (user, time), ties kept in file order; None when already sorted."""
    later_user = user[1:] > user[:-1]
    if np.all(later_user | ((user[1:] == user[:-1]) & (times[1:] >= times[:-1]))):
        return None
    if np.issubdtype(times.dtype, np.integer) and len(times) and times.max() - times.min() < 2**32:
        key = (user.astype(np.int64) << 32) | (times - times.min())  # one sort on a packed (user, time) key
        return np.argsort(key, kind="stable")
    order = np.argsort(times, kind="stable")
    return order[np.argsort(user[order], kind="stable")]


def _duplicates_within_ties(tie: np.ndarray, item: np.ndarray) -> np.ndarray:
    """Rows repeating an earlier row's item within a run of equal (user, time); ``tie[i]``: row i+1 ties row i."""
    dup = np.zeros(len(item), dtype=bool)
    if not tie.any():
        return dup
    run = np.cumsum(np.r_[True, ~tie])  # one id per group of equal (user, time)
    in_run = np.flatnonzero(np.r_[tie, False] | np.r_[False, tie])
    sub = in_run[np.lexsort((in_run, item[in_run], run[in_run]))]
    repeat = (run[sub[1:]] == run[sub[:-1]]) & (item[sub[1:]] == item[sub[:-1]])
    dup[sub[1:][repeat]] = True
    return dup


def _count_unsorted_users(user_code: np.ndarray, order: np.ndarray) -> int:
    """Users whose rows were not already in time order in the file."""
    moved = order[1:] < order[:-1]
    same = user_code[1:] == user_code[:-1]
    return len(np.unique(user_code[1:][moved & same]))


def _compact(codes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Renumber the codes that occur to 0..k-1 (order kept); also return which codes were kept."""
    present = np.bincount(codes, minlength=n) > 0
    new = np.cumsum(present) - 1
    return new[codes].astype(np.int64, copy=False), np.flatnonzero(present)


def _kcore_mask(user: np.ndarray, item: np.ndarray, k: int, keep: np.ndarray) -> np.ndarray:
    """Iteratively drop interactions of users/items with fewer than ``k`` interactions."""
    while True:
        ucount = np.bincount(user[keep], minlength=user.max() + 1)
        icount = np.bincount(item[keep], minlength=item.max() + 1)
        new = keep & (ucount[user] >= k) & (icount[item] >= k)
        if new.sum() == keep.sum():
            return new
        keep = new


def _split_labels(user: np.ndarray, times: np.ndarray, config: PrepareConfig, report: dict) -> np.ndarray:
    """Split label per interaction; ``user`` is sorted so each user's run is contiguous."""
    n = len(user)
    split = np.full(n, TRAIN, dtype=np.int8)
    if n == 0:
        return split
    if config.split == "loo-page":
        return last_page_split(user, page_ids(user, times, config.page_gap))
    if config.split == "loo":
        last = np.flatnonzero(np.r_[user[1:] != user[:-1], True])
        split[last] = TEST
        split[last - 1] = VALID
        return split
    valid_time, test_time = config.valid_time, config.test_time
    if valid_time is None or test_time is None:
        q = np.quantile(times, config.temporal_quantiles)
        valid_time = q[0] if valid_time is None else valid_time
        test_time = q[1] if test_time is None else test_time
    if valid_time > test_time:
        raise ConfigError(f"valid_time {valid_time} is after test_time {test_time}")
    report["valid_time"], report["test_time"] = float(valid_time), float(test_time)
    split[times >= valid_time] = VALID
    split[times >= test_time] = TEST
    return split
