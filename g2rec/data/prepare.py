"""From a raw log to validated, id-mapped, time-ordered sequences with a split.

Steps, each counted in the report: event filter, exact duplicate rows dropped,
stable sort by (user, time) with ties kept in file order, optional k-core,
users too short for the split dropped, dense id maps, leave-one-out or temporal split.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError, check_choice
from .log import InteractionLog
from .sequences import TEST, TRAIN, VALID, Sequences

SPLITS = ("loo", "temporal")


@dataclass
class PrepareConfig:
    """Options for :func:`prepare_sequences`.

    split: ``loo`` (last interaction test, second-to-last validation) or ``temporal``
        (global cut-offs ``valid_time`` <= t < ``test_time`` is validation, t >= ``test_time`` test;
        when not given, the ``temporal_quantiles`` of all times).
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

    def __post_init__(self):
        check_choice("split", self.split, SPLITS)
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
            raise DataError("--events given but the log has no event column (use --event-col)", path=log.path)
        df = df[df["event"].isin(config.events)]
        report["rows_other_events"] = report["rows_read"] - len(df)

    dup = df.duplicated(subset=["user", "item", "time"]).to_numpy()
    report["duplicate_rows"] = int(dup.sum())
    df = df[~dup]

    user_code, user_ids = pd.factorize(df["user"].to_numpy(), sort=True)
    times = df["time"].to_numpy()
    order = np.lexsort((np.arange(len(df)), times, user_code))
    user_code, times = user_code[order], times[order]
    item_raw = df["item"].to_numpy()[order]
    report["unsorted_users"] = _count_unsorted_users(user_code, order)
    same_user = user_code[1:] == user_code[:-1]
    report["time_ties"] = int(np.sum(same_user & (times[1:] == times[:-1])))

    item_code, _ = pd.factorize(item_raw, sort=True)
    keep = _kcore_mask(user_code, item_code, config.kcore) if config.kcore > 0 else np.ones(len(order), bool)
    report["kcore_dropped"] = int((~keep).sum())
    user_len = np.bincount(user_code[keep], minlength=len(user_ids))
    short = user_len[user_code] < config.min_user_len
    report["short_users_dropped"] = int(np.sum((user_len > 0) & (user_len < config.min_user_len)))
    keep &= ~short

    split = _split_labels(user_code[keep], times[keep], config, report)
    has_train = np.bincount(user_code[keep][split == TRAIN], minlength=len(user_ids)) > 0
    no_train = ~has_train[user_code[keep]]
    report["users_without_train_dropped"] = int(len(np.unique(user_code[keep][no_train])))
    idx = np.flatnonzero(keep)[~no_train]
    split = split[~no_train]
    if len(idx) == 0:
        raise DataError("no user left after filtering (check --min-user-len / --kcore)", path=log.path)

    users_kept, user_index = np.unique(user_code[idx], return_inverse=True)
    item_kept, item_index = np.unique(item_raw[idx], return_inverse=True)
    counts = np.bincount(user_index, minlength=len(users_kept))
    seq = Sequences(
        user_ids=np.asarray(user_ids)[users_kept],
        item_ids=item_kept,
        offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        items=item_index.astype(np.int64),
        times=times[idx],
        split=split.astype(np.int8),
    )
    report.update(num_users=seq.num_users, num_items=seq.num_items, num_interactions=seq.num_interactions,
                  **{f"{k}_interactions": v for k, v in seq.split_counts().items()})
    return seq, report


def _count_unsorted_users(user_code: np.ndarray, order: np.ndarray) -> int:
    """Users whose rows were not already in time order in the file."""
    moved = order[1:] < order[:-1]
    same = user_code[1:] == user_code[:-1]
    return int(len(np.unique(user_code[1:][moved & same])))


def _kcore_mask(user: np.ndarray, item: np.ndarray, k: int) -> np.ndarray:
    """Iteratively drop interactions of users/items with fewer than ``k`` interactions."""
    keep = np.ones(len(user), dtype=bool)
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
