"""Ranking metrics and the item-kNN check."""

import numpy as np
import pytest
import torch

from g2rec.data.sequences import Sequences
from g2rec.eval.knn import evaluate_item_knn
from g2rec.eval.metrics import metrics_from_ranks, page_metrics, paired_difference, target_ranks


def test_ranks_count_ties_against_the_target():
    scores = torch.tensor([[0.1, 0.9, 0.5, 0.5], [1.0, 1.0, 1.0, 1.0]])
    ranks = target_ranks(scores, torch.tensor([2, 0]))
    assert ranks.tolist() == [2, 3]  # 0.9 and the tied 0.5 ahead; constant scores rank last
    exclude = torch.tensor([[False, True, False, False], [False, False, False, False]])
    assert target_ranks(scores, torch.tensor([2, 0]), exclude).tolist() == [1, 3]


def test_metric_values():
    m = metrics_from_ranks([0, 1, 9, 30], ks=(1, 10))
    assert m["Recall@1"] == 0.25 and m["Recall@10"] == 0.75
    assert m["NDCG@10"] == pytest.approx((1 + 1 / np.log2(3) + 1 / np.log2(11)) / 4)
    assert m["MRR"] == pytest.approx((1 + 1 / 2 + 1 / 10 + 1 / 31) / 4)


def test_paired_difference_of_two_models_on_the_same_queries():
    a, b = [0, 1, 20, 0], [1, 1, 0, 50]               # per-query NDCG@10: a (1, .63, 0, 1), b (.63, .63, 1, 0)
    d = np.array([1 - 1 / np.log2(3), 0, -1, 1])
    out = paired_difference(a, b)
    assert out["difference"] == pytest.approx(d.mean())
    assert out["standard_error"] == pytest.approx(d.std(ddof=1) / 2)
    assert (out["a_better"], out["b_better"], out["queries"]) == (2, 1, 4)
    same = paired_difference(a, a)
    assert same["difference"] == 0 and same["standard_error"] == 0
    with pytest.raises(ValueError, match="same queries"):
        paired_difference(a, b[:3])


def _toy():
    # user 0: 0 1 2 | valid 3 | test 4 ; user 1: 2 3 | valid 0 | test 1
    items = np.array([0, 1, 2, 3, 4, 2, 3, 0, 1])
    split = np.array([0, 0, 0, 1, 2, 0, 0, 1, 2], np.int8)
    return Sequences(np.arange(2), np.arange(5), np.array([0, 5, 9]), items, np.arange(9), split)


def test_knn_prefers_items_close_to_the_history():
    seq = _toy()
    # item 3 is near item 2 (user 0's last), item 0 near item 3 (user 1's last)
    vectors = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.1, 0, 1], [0, -1, 0]], np.float32)
    result = evaluate_item_knn(vectors, seq, history=1)
    assert result["MRR"] == 1.0 and result["num_users"] == 2  # both targets ranked first
    assert evaluate_item_knn(vectors[[4, 1, 2, 3, 0]], seq, history=1)["MRR"] < 1.0  # item 0 moved away


def test_page_metrics_count_a_page_once():
    ranks = np.array([0.0, 12.0, 3.0, 30.0, np.inf])   # page 7: ranks 0, 12, 3; page 9: 30; page 4: not found
    pages = np.array([7, 7, 7, 9, 4])
    got = page_metrics(ranks, pages, ks=(5, 20))
    assert got["PageRecall@5"] == pytest.approx((2 / 3 + 0 + 0) / 3)
    assert got["PageRecall@20"] == pytest.approx((1 + 0 + 0) / 3)
    assert got["PageHR@5"] == pytest.approx(1 / 3) and got["num_pages"] == 3
