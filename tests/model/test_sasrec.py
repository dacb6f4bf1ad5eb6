"""SASRec item embeddings on MovieLens-100K: training works, beats random, reproducible, no leakage."""

import dataclasses

import numpy as np
import pytest
import torch

from g2rec import build_graph
from g2rec.data.sequences import TEST, TRAIN, VALID
from g2rec.embed.base import EmbedInputs
from g2rec.errors import ConfigError
from g2rec.eval.knn import evaluate_item_knn
from g2rec.model.sasrec import SASRecConfig, fit_sasrec, length_bucketed_batches
from g2rec.pipeline.runfolder import RunFolder
from tests.conftest import MOVIELENS

# small and quick: 20-item windows, 32-d, 1 block (a few CPU seconds per MovieLens epoch)
SMALL = {"dim": 32, "layers": 1, "max_len": 20, "epochs": 3, "batch_size": 128, "lr": 3e-3}
ONE_EPOCH = SASRecConfig(**{**SMALL, "epochs": 1})


@pytest.fixture(scope="module")
def movielens(tmp_path_factory, shared_data):
    path = tmp_path_factory.mktemp("sasrec") / "run"
    build_graph(MOVIELENS, path)
    run = RunFolder(path)
    return EmbedInputs(run.graph(), run.sequences(), run.input_path)


@pytest.fixture(scope="module")
def fitted(movielens):
    return fit_sasrec(movielens, SASRecConfig(**SMALL))


@pytest.fixture(scope="module")
def few_users(movielens):
    """The first 150 users' interactions (all items kept): for the checks that fit several times."""
    seq = movielens.sequences
    return dataclasses.replace(movielens, sequences=seq.subset(seq.users < 150))


@pytest.fixture(scope="module")
def once(few_users):
    return fit_sasrec(few_users, ONE_EPOCH)


def test_loss_falls_and_embeddings_beat_random(movielens, fitted):
    seq = movielens.sequences
    assert fitted.vectors.shape == (seq.num_items, 32) and fitted.vectors.dtype == np.float32
    losses = [c["loss"] for c in fitted.curve]
    assert [c["epoch"] for c in fitted.curve] == [1, 2, 3]
    assert losses[-1] < losses[0] - 0.2, losses
    assert fitted.summary == {"loss": "ce", "epochs": 3, "final_loss": losses[-1]}
    learned = evaluate_item_knn(fitted.vectors, seq)
    random = evaluate_item_knn(np.random.default_rng(0).normal(size=fitted.vectors.shape).astype(np.float32), seq)
    assert learned["Recall@10"] > 2 * random["Recall@10"] and learned["NDCG@10"] > 2 * random["NDCG@10"], (learned, random)


def test_same_seed_same_vectors_other_seed_other_vectors(few_users, once):
    state = torch.random.get_rng_state()
    np.testing.assert_array_equal(fit_sasrec(few_users, ONE_EPOCH).vectors, once.vectors)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's random stream is left alone
    other = fit_sasrec(few_users, dataclasses.replace(ONE_EPOCH, seed=1))
    assert not np.allclose(once.vectors, other.vectors)


def test_validation_and_test_items_are_never_seen(few_users, once):
    seq = few_users.sequences
    held_out = seq.split != TRAIN
    rng = np.random.default_rng(0)
    scrambled = dataclasses.replace(seq, items=np.where(held_out, rng.integers(0, seq.num_items, seq.num_interactions),
                                                        seq.items))
    assert (scrambled.items != seq.items).sum() > 250
    again = fit_sasrec(dataclasses.replace(few_users, sequences=scrambled), ONE_EPOCH)
    np.testing.assert_array_equal(again.vectors, once.vectors)


def test_bce_loss_trains(few_users):
    result = fit_sasrec(few_users, SASRecConfig(**{**SMALL, "loss": "bce", "epochs": 2}))
    assert result.summary["loss"] == "bce" and result.curve[1]["loss"] < result.curve[0]["loss"]
    assert np.isfinite(result.vectors).all()


def test_length_bucketed_batches_partition_rows():
    sizes = np.random.default_rng(0).integers(2, 50, 1000)
    batches = length_bucketed_batches(sizes, 64, torch.Generator().manual_seed(0), pool_batches=4)
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(1000)) and max(map(len, batches)) == 64
    spread = np.mean([np.ptp(sizes[b]) for b in batches])
    assert spread < 0.5 * np.ptp(sizes)  # batches hold similar lengths


def test_bad_options():
    with pytest.raises(ConfigError, match="loss='softmax' is not one of: ce, bce"):
        SASRecConfig(loss="softmax")
    with pytest.raises(ConfigError, match="multiple of heads"):
        SASRecConfig(dim=30, heads=4)
    with pytest.raises(ConfigError, match="epochs=0"):
        SASRecConfig(epochs=0)


def test_valid_and_test_labels_exist(movielens):
    counts = np.bincount(movielens.sequences.split, minlength=3)
    assert counts[VALID] == counts[TEST] == movielens.sequences.num_users
