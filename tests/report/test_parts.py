"""The report's pieces on small hand-made inputs: history-length buckets, top prototypes, PCA, anchors."""

import numpy as np
import pytest

from g2rec.data.sequences import TEST, TRAIN, VALID, Sequences
from g2rec.eval.metrics import metrics_from_ranks
from g2rec.report.anchors import anchors_for, dataset_of
from g2rec.report.breakdown import bucket_labels, history_lengths, length_breakdown
from g2rec.report.prototypes import pca_2d, top_prototype


def test_history_lengths_count_everything_before_the_target():
    # u0: 3 train | valid | test ; u1: 1 train | valid | test
    items = np.arange(8)
    split = np.array([TRAIN, TRAIN, TRAIN, VALID, TEST, TRAIN, VALID, TEST], dtype=np.int8)
    seq = Sequences(np.array(["a", "b"], dtype=object), np.arange(8), np.array([0, 5, 8]), items, np.arange(8), split)
    assert history_lengths(seq, TEST).tolist() == [4, 2]
    assert history_lengths(seq, VALID).tolist() == [3, 1]


def test_buckets_match_metrics_computed_per_group():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 40, size=500)
    ranks = rng.integers(0, 30, size=500).astype(float)
    ranks[::7] = np.inf  # absent from a ranked list
    b = length_breakdown(ranks, lengths, (5, 10, 20))
    assert b.labels == ["1-4", "5-9", "10-19", "20+"] and sum(b.users) == 500
    for label, lo, hi in zip(b.labels, (1, 5, 10, 20), (5, 10, 20, 99)):
        group = ranks[(lengths >= lo) & (lengths < hi)]
        expected = metrics_from_ranks(group)
        i = b.labels.index(label)
        assert b.users[i] == len(group)
        assert b.metrics["ndcg@10"][i] == pytest.approx(expected["NDCG@10"])
        assert b.metrics["recall@10"][i] == pytest.approx(expected["Recall@10"])


def test_empty_buckets_are_left_out_and_bad_edges_refused():
    b = length_breakdown(np.array([0.0, 3.0, 50.0]), np.array([6, 7, 30]), (5, 10, 20))
    assert b.labels == ["5-9", "20+"] and b.users == [2, 1]
    assert b.metrics["recall@10"] == [1.0, 0.0]
    assert bucket_labels((2, 3)) == ["1", "2", "3+"]
    with pytest.raises(ValueError):
        length_breakdown(np.zeros(2), np.ones(2), (10, 5))


def test_top_prototype_takes_the_largest_membership():
    idx = np.array([[2, 0, -1], [1, -1, -1], [-1, -1, -1]])
    val = np.array([[0.3, 0.7, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    assert top_prototype(idx, val).tolist() == [0, 1, -1]


def test_pca_keeps_the_main_directions_and_samples():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3000, 2)) * [10.0, 3.0] @ np.array([[0.6, 0.8], [-0.8, 0.6]])
    x = np.hstack([x, rng.normal(size=(3000, 6)) * 0.1])
    rows, coords = pca_2d(x, 1000)
    assert len(rows) == 1000 and len(np.unique(rows)) == 1000 and coords.shape == (1000, 2)
    assert coords[:, 0].std() == pytest.approx(10, rel=0.1) and coords[:, 1].std() == pytest.approx(3, rel=0.1)
    assert (pca_2d(x, 1000)[1] == coords).all()  # fixed seed


def test_anchors_only_for_the_known_dataset():
    beauty = {"stages": {"build-graph": {"input": {"path": "x/Beauty.txt.gz", "sha256": "0", "format": "s3rec"},
                                         "params": {"prepare": {"split": "loo"}}}}}
    assert dataset_of(beauty).name.startswith("Amazon 2014 Beauty")
    full = anchors_for(beauty, "full ranking")
    assert {a.system for a in full} >= {"TIGER (TIGER paper)", "RPG (paper)"}
    assert all(a.source and a.table and a.transcribed_from for a in full)
    assert [a.metrics["ndcg@10"] for a in anchors_for(beauty, "sampled-99")] == [0.3334]
    temporal = {"stages": {"build-graph": {**beauty["stages"]["build-graph"], "params": {"prepare": {"split": "temporal"}}}}}
    assert anchors_for(temporal, "full ranking") == []
    other = {"stages": {"build-graph": {"input": {"path": "u.data", "sha256": "1", "format": "movielens"}}}}
    assert dataset_of(other) is None
