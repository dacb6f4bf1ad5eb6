"""Ordering, de-duplication, k-core, splits and id maps."""

import numpy as np
import pandas as pd
import pytest

from g2rec.data.log import InteractionLog
from g2rec.data.prepare import PrepareConfig, prepare_sequences
from g2rec.data.readers import read_log
from g2rec.data.sequences import TEST, TRAIN, VALID, Sequences
from g2rec.errors import ConfigError
from tests.conftest import BEAUTY, MOVIELENS


def _log(rows):
    frame = pd.DataFrame(rows, columns=["user", "item", "time"])
    frame.insert(0, "line", np.arange(len(frame)) + 2)
    return InteractionLog(frame, "mem.csv", "csv", has_time=True)


def test_order_ties_duplicates_and_unsorted_are_handled_and_counted():
    log = _log([("b", "x", 5), ("a", "p", 3), ("a", "q", 1), ("a", "q", 1), ("a", "r", 3), ("a", "s", 9),
                ("b", "y", 6), ("b", "z", 7)])
    seq, report = prepare_sequences(log)
    assert report["duplicate_rows"] == 1
    assert report["unsorted_users"] == 1  # user a's rows were out of time order
    assert report["time_ties"] == 1  # p and r share time 3, kept in file order
    a = list(seq.user_ids).index("a")
    names = seq.item_ids[seq.items[seq.offsets[a]:seq.offsets[a + 1]]]
    assert list(names) == ["q", "p", "r", "s"]
    assert list(seq.split[seq.offsets[a]:seq.offsets[a + 1]]) == [TRAIN, TRAIN, VALID, TEST]


def test_short_users_and_kcore_are_dropped_and_counted():
    rows = [(u, f"i{(u * 3 + k) % 40}", k) for u in range(60) for k in range(1 + u % 6)]
    seq, report = prepare_sequences(_log(rows), PrepareConfig(min_user_len=4))
    assert report["short_users_dropped"] == 30 and seq.num_users == 30 and seq.lengths.min() >= 4
    seq, report = prepare_sequences(_log(rows), PrepareConfig(min_user_len=3, kcore=3))
    assert report["kcore_dropped"] > 0
    assert seq.lengths.min() >= 3 and np.bincount(seq.items).min() >= 3  # a true 3-core
    assert report["kcore_dropped"] + report["num_interactions"] == report["rows_read"]


def test_leave_one_out_on_beauty(shared_data):
    seq, report = prepare_sequences(read_log(BEAUTY))
    assert (seq.num_users, seq.num_items, seq.num_interactions) == (22_363, 12_101, 198_502)
    assert report["test_interactions"] == report["valid_interactions"] == 22_363
    last = seq.offsets[1:] - 1
    assert (seq.split[last] == TEST).all() and (seq.split[last - 1] == VALID).all()
    # integer ids keep their numeric order: item index 0 is item "1"
    assert seq.item_ids[0] == 1 and seq.item_ids[-1] == 12_101


def test_temporal_split_uses_cutoffs(shared_data):
    seq, report = prepare_sequences(read_log(MOVIELENS), PrepareConfig(split="temporal"))
    assert report["valid_time"] < report["test_time"]
    assert (seq.times[seq.split == TRAIN] < report["valid_time"]).all()
    assert (seq.times[seq.split == TEST] >= report["test_time"]).all()
    assert report["users_without_train_dropped"] > 0
    assert np.all(np.bincount(seq.users[seq.split == TRAIN], minlength=seq.num_users) > 0)


def test_sequences_round_trip(tmp_path, shared_data):
    seq, _ = prepare_sequences(read_log(MOVIELENS))
    seq.save(tmp_path)
    back = Sequences.load(tmp_path)
    for name in ("offsets", "items", "times", "split"):
        np.testing.assert_array_equal(getattr(seq, name), getattr(back, name))
    assert list(back.user_ids.astype(str)) == list(seq.user_ids.astype(str))


def test_bad_config_names_valid_choices():
    with pytest.raises(ConfigError, match="loo, loo-page, temporal"):
        PrepareConfig(split="random")
    with pytest.raises(ConfigError, match="at least 3"):
        PrepareConfig(min_user_len=2)
