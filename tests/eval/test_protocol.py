"""The evaluation protocol: queries, hand-computed metrics, ranked lists, sampled-99, baselines."""

import numpy as np
import pytest
import torch

from g2rec import build_graph
from g2rec.data.sequences import TEST, TRAIN, VALID, Sequences
from g2rec.errors import ConfigError
from g2rec.eval.baselines import GraphKNNScorer, PopularityScorer
from g2rec.eval.protocol import (
    TopK,
    evaluate_ranking,
    histories,
    repeat_targets,
    sampled_negatives,
    seen_before,
)
from g2rec.pipeline.runfolder import RunFolder
from tests.conftest import MOVIELENS


def tiny() -> Sequences:
    """Two users over 6 items: u0 = 0 1 2 | 3 | 4, u1 = 5 4 | 1 | 2 (train | valid | test)."""
    items = np.array([0, 1, 2, 3, 4, 5, 4, 1, 2])
    split = np.array([TRAIN, TRAIN, TRAIN, VALID, TEST, TRAIN, TRAIN, VALID, TEST], dtype=np.int8)
    return Sequences(np.array(["a", "b"], dtype=object), np.arange(6), np.array([0, 5, 9]), items,
                     np.arange(9), split)


def test_histories_hold_only_what_came_before():
    seq = tiny()
    users, hist, targets, _ = histories(seq, VALID, max_len=4)
    assert users.tolist() == [0, 1] and targets.tolist() == [3, 1]
    assert hist.tolist() == [[-1, 0, 1, 2], [-1, -1, 5, 4]]
    _, hist, targets, _ = histories(seq, TEST, max_len=2)  # test queries see the validation item, capped
    assert hist.tolist() == [[2, 3], [4, 1]] and targets.tolist() == [4, 2]


def test_a_held_out_page_is_ranked_after_the_history_before_it():
    """u0 = 0 1 | 2 3 4 (train | test page), u1 = 5 | 1 | 2 (train | valid | test)."""
    items = np.array([0, 1, 2, 3, 4, 5, 1, 2])
    split = np.array([TRAIN, TRAIN, TEST, TEST, TEST, TRAIN, VALID, TEST], dtype=np.int8)
    seq = Sequences(np.arange(2), np.arange(6), np.array([0, 5, 8]), items, np.arange(8), split,
                    np.array([0, 0, 1, 1, 1, 2, 3, 4])).check()
    users, hist, targets, cut = histories(seq, TEST, max_len=3)
    assert hist.tolist() == [[-1, 0, 1]] * 3 + [[-1, 5, 1]] and targets.tolist() == [2, 3, 4, 2]
    assert cut.tolist() == [2, 2, 2, 7]
    scores = torch.tensor([[9, 9, 0, 8, 7, 0], [0, 0, 5, 0, 0, 0]], dtype=torch.float32)
    m = evaluate_ranking(lambda h, u: scores[u], seq, TEST, exclude_history=True)
    # u0's page: 3 and 4 at ranks 0 and 1 once 0 and 1 (its history) are out, 2 last (rank 2);
    # PageRecall@5 = 3 / min(3, 5) for u0 and 1 for u1
    assert m["PageRecall@5"] == 1.0 and m["PageHR@5"] == 1.0 and m["num_pages"] == 2
    m = evaluate_ranking(lambda h, u: scores[u], seq, TEST)  # history kept: u0's 3, 4 at ranks 2, 3; 2 at 5 (ties)
    assert m["Recall@5"] == 0.75 and m["PageRecall@5"] == pytest.approx((2 / 3 + 1) / 2)
    assert m["NDCG@5"] == pytest.approx((1 / np.log2(4) + 1 / np.log2(5) + 1) / 4)


def test_metrics_match_a_hand_computed_case():
    seq = tiny()
    scores = torch.tensor([[0, 0, 0, 5, 1, 2], [9, 1, 3, 3, 0, 0]], dtype=torch.float32)
    # valid targets: user 0 item 3 (rank 0), user 1 item 1 (items 0, 2, 3 score higher: rank 3)
    m = evaluate_ranking(lambda h, u: scores[u], seq, VALID)
    assert m["Recall@5"] == 1.0
    assert m["NDCG@5"] == pytest.approx((1 + 1 / np.log2(5)) / 2)
    assert m["MRR"] == pytest.approx((1 + 1 / 4) / 2)
    # excluding history: user 1 touched 5 and 4 before, not 0, 2, 3 -> rank unchanged; user 0 unchanged
    assert evaluate_ranking(lambda h, u: scores[u], seq, VALID, exclude_history=True)["MRR"] == m["MRR"]
    # test targets: user 0 item 4 is behind 3 and 5 (rank 2), and with its history excluded
    # 3 drops out (rank 1); user 1 item 2 is behind 0 and the tied 3, neither seen (rank 2)
    assert evaluate_ranking(lambda h, u: scores[u], seq, TEST)["MRR"] == pytest.approx((1 / 3 + 1 / 3) / 2)
    assert evaluate_ranking(lambda h, u: scores[u], seq, TEST, exclude_history=True)["MRR"] == pytest.approx(
        (1 / 2 + 1 / 3) / 2)


def test_ties_count_against_the_target():
    seq = tiny()
    m = evaluate_ranking(lambda h, u: torch.zeros(len(u), 6), seq, VALID)
    assert m["Recall@5"] == 0.0 and m["MRR"] == pytest.approx(1 / 6)


def test_ranked_lists_and_missing_targets():
    seq = tiny()
    lists = torch.tensor([[3, 0, 1], [2, 4, 1]])  # user 0 hit at 0; user 1: 4 is history -> excluded
    m = evaluate_ranking(lambda h, u: TopK(lists[u]), seq, VALID)
    assert m["MRR"] == pytest.approx((1 + 1 / 3) / 2)
    m = evaluate_ranking(lambda h, u: TopK(lists[u]), seq, VALID, exclude_history=True)
    assert m["MRR"] == pytest.approx((1 + 1 / 2) / 2)
    m = evaluate_ranking(lambda h, u: TopK(torch.tensor([[0, -1, -1], [0, 5, -1]])[u]), seq, VALID)
    assert m["Recall@20"] == 0.0 and m["MRR"] == 0.0
    with pytest.raises(ConfigError, match="needs item scores"):
        evaluate_ranking(lambda h, u: TopK(lists[u]), seq, VALID, sampled=1)


def test_repeat_targets_are_items_the_user_had_before():
    """u0 = 0 1 0 | 1 | 2, u1 = 3 | 4 | 4: u1's validation item recurs only after it (not a repeat)."""
    items = np.array([0, 1, 0, 1, 2, 3, 4, 4])
    split = np.array([TRAIN, TRAIN, TRAIN, VALID, TEST, TRAIN, VALID, TEST], dtype=np.int8)
    seq = Sequences(np.array(["a", "b"], dtype=object), np.arange(5), np.array([0, 5, 8]), items, np.arange(8), split)
    assert repeat_targets(seq, VALID).tolist() == [True, False]
    assert repeat_targets(seq, TEST).tolist() == [False, True]
    assert not repeat_targets(tiny(), TEST).any()


def test_sampled_negatives_are_untouched_distinct_and_seeded():
    seq = tiny()
    neg = sampled_negatives(seq, np.array([0, 1, 0]), num=1, seed=3)
    assert neg[0, 0] == 5 and neg[2, 0] == 5  # user 0 touched 0..4
    assert neg[1, 0] in (0, 3)
    with pytest.raises(ConfigError, match="touched more than"):
        sampled_negatives(seq, np.array([0]), num=2, seed=0)
    seen = seen_before(seq, np.array([1]), np.array([8]))
    assert seen[0].nonzero().ravel().tolist() == [1, 4, 5]


def test_baselines_on_real_data(shared_data, tmp_path):
    build_graph(MOVIELENS, tmp_path / "run")
    run = RunFolder(tmp_path / "run")
    seq = run.sequences()
    pop = evaluate_ranking(PopularityScorer(seq), seq, VALID)
    knn = evaluate_ranking(GraphKNNScorer(run.graph(), seq), seq, VALID)
    assert pop["num_users"] == knn["num_users"] == seq.num_users
    assert knn["NDCG@10"] > pop["NDCG@10"] > 0
    sampled = evaluate_ranking(GraphKNNScorer(run.graph(), seq), seq, TEST, sampled=99, seed=1)
    assert sampled["protocol"] == "sampled-99" and sampled["NDCG@10"] > 0.1
    again = evaluate_ranking(GraphKNNScorer(run.graph(), seq), seq, TEST, sampled=99, seed=1)
    assert again["NDCG@10"] == sampled["NDCG@10"]


def test_cold_targets_can_be_left_out():
    seq = tiny()  # valid targets: 3 (never in training: cold) for u0, 1 (warm) for u1
    scores = torch.tensor([[0.0, 1.0, 0.0, 9.0, 0.0, 0.0], [0.0, 1.0, 0.0, 9.0, 0.0, 0.0]])
    every = evaluate_ranking(lambda h, u: scores[u], seq, VALID)
    warm = evaluate_ranking(lambda h, u: scores[u], seq, VALID, skip_cold_targets=True, keep_ranks=True)
    assert every["num_users"] == 2 and every["skipped_cold_targets"] == 0 and every["MRR"] == pytest.approx(0.75)
    assert warm["num_users"] == 1 and warm["skipped_cold_targets"] == 1 and warm["ranks"].tolist() == [1.0]
    assert evaluate_ranking(lambda h, u: scores[u], seq, TEST, skip_cold_targets=True)["skipped_cold_targets"] == 0
