"""Pages read off the times: gaps, user and split boundaries, leave-one-page-out, next-page targets."""

import numpy as np
import pytest

from g2rec import build_graph
from g2rec.data.pages import last_page_split, next_page_targets, page_first_row, page_ids, page_summary
from g2rec.data.prepare import PrepareConfig
from g2rec.data.sequences import TEST, TRAIN, VALID
from g2rec.errors import ConfigError
from g2rec.pipeline.runfolder import RunFolder
from tests.conftest import BEAUTY, BEAUTY_TIMES, MOVIELENS


def test_page_ids_follow_gap_user_and_split():
    user = np.array([0, 0, 0, 0, 1, 1, 1])
    times = np.array([5, 5, 7, 20, 20, 20, 21])
    assert page_ids(user, times, 0).tolist() == [0, 0, 1, 2, 3, 3, 4]
    assert page_ids(user, times, 2).tolist() == [0, 0, 0, 1, 2, 2, 2]
    split = np.array([TRAIN, VALID, VALID, TEST, TRAIN, TRAIN, TEST])
    assert page_ids(user, times, 2, split).tolist() == [0, 1, 1, 2, 3, 3, 4]
    assert page_first_row(page_ids(user, times, 2)).tolist() == [0, 0, 0, 3, 4, 4, 4]


def test_last_page_split_leaves_out_whole_pages():
    user = np.array([0, 0, 0, 0, 0, 1, 1])
    pages = np.array([0, 0, 1, 2, 2, 3, 4])
    assert last_page_split(user, pages).tolist() == [TRAIN, TRAIN, VALID, TEST, TEST, VALID, TEST]


def test_next_page_targets_are_the_following_page_of_the_same_user():
    items = np.array([10, 11, 12, 13, 14, 15, 16])
    pages = np.array([0, 0, 1, 1, 1, 2, 3])     # user 0: {10, 11}, {12, 13, 14}; user 1: {15}, {16}
    offsets = np.array([0, 5, 7])
    got = next_page_targets(pages, offsets, items, pad=99)
    expected = np.full((7, 3), 99)
    expected[1] = [12, 13, 14]                  # row 1 closes page 0
    expected[5, 0] = 16                         # row 5 closes user 1's first page
    assert got.tolist() == expected.tolist()    # the last page of a user has no next page
    assert page_summary(pages) == {"pages": 4, "mean_page_size": 1.75, "max_page_size": 3,
                                   "interactions_in_multi_item_pages": round(5 / 7, 4)}


def test_beauty_same_day_pages_never_cross_the_split(tmp_path, shared_data):
    run = tmp_path / "run"
    summary = build_graph(BEAUTY_TIMES, run, prepare=PrepareConfig(split="loo-page", page_gap=0))
    seq = RunFolder(run).sequences()
    assert summary["pages"] == len(np.unique(seq.pages)) and summary["max_page_size"] > 1
    days = seq.times // 86400
    same_page = seq.pages[1:] == seq.pages[:-1]
    assert np.all(seq.split[1:][same_page] == seq.split[:-1][same_page])
    assert np.all(days[1:][same_page] == days[:-1][same_page])
    new_day = (days[1:] != days[:-1]) | (seq.users[1:] != seq.users[:-1])
    assert not np.any(same_page & new_day)
    # each user's test page is the whole last day: the day before it is not test
    last = seq.offsets[1:] - 1
    test_rows = np.flatnonzero(seq.split == TEST)
    assert np.all(days[test_rows] == days[last][seq.users[test_rows]])
    first_test = test_rows[np.r_[True, seq.users[test_rows][1:] != seq.users[test_rows][:-1]]]
    assert np.all(days[first_test - 1] < days[first_test])


def test_pages_need_times_and_a_gap(tmp_path, shared_data):
    with pytest.raises(ConfigError, match="needs page_gap"):
        PrepareConfig(split="loo-page")
    with pytest.raises(ConfigError, match="page_gap=-1"):
        PrepareConfig(page_gap=-1)
    with pytest.raises(ConfigError, match="needs times"):
        build_graph(BEAUTY, tmp_path / "r", prepare=PrepareConfig(page_gap=0))  # positions only
    summary = build_graph(MOVIELENS, tmp_path / "ml", prepare=PrepareConfig(page_gap=0))
    assert summary["pages"] > summary["num_users"]
