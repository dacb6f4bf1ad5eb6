"""Training windows over the flat sequence layout: every transition a target exactly once."""

import itertools

import numpy as np

from g2rec.data.sequences import TRAIN, Sequences, sequence_windows


def _three_users() -> Sequences:
    # user 0: 7 training items, user 1: 1 item (no transition), user 2: 3 items
    items = np.arange(11, dtype=np.int64)
    offsets = np.array([0, 7, 8, 11])
    return Sequences(np.arange(3), np.arange(11), offsets, items, np.arange(11), np.full(11, TRAIN, dtype=np.int8))


def test_windows_cover_every_training_transition_once():
    w = sequence_windows(_three_users(), max_len=3, pad=99)
    assert w.tolist() == [[3, 4, 5, 6], [0, 1, 2, 3], [99, 8, 9, 10]]
    pairs = {(int(a), int(b)) for row in w for a, b in itertools.pairwise(row) if a != 99}
    assert pairs == {(i, i + 1) for i in range(6)} | {(8, 9), (9, 10)}


def test_newest_only_keeps_each_users_last_window():
    w = sequence_windows(_three_users(), max_len=3, pad=99, newest_only=True)
    assert w.tolist() == [[3, 4, 5, 6], [99, 8, 9, 10]]
