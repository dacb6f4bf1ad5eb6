"""Training loop: windows hold only training items; same seed, same run; kill-and-resume = straight run."""

import json

import numpy as np
import pytest
import torch

from g2rec import build_graph
from g2rec.data.sequences import TRAIN, VALID
from g2rec.errors import ConfigError, G2RecError
from g2rec.eval.protocol import evaluate_ranking
from g2rec.model.generator import Generator, GeneratorConfig, InterestContext
from g2rec.pipeline.runfolder import RunFolder
from g2rec.train.checkpoint import load_checkpoint
from g2rec.train.loop import TrainConfig, fit, training_windows
from tests.conftest import MOVIELENS


@pytest.fixture(scope="module")
def seq(tmp_path_factory, shared_data):
    path = tmp_path_factory.mktemp("loop") / "run"
    build_graph(MOVIELENS, path)
    return RunFolder(path).sequences()


def test_windows_hold_training_items_only(seq):
    held_out = seq.split != TRAIN
    # relabel every held-out interaction with a fresh item id that training never sees
    marked = type(seq)(seq.user_ids, np.arange(seq.num_items + held_out.sum()), seq.offsets,
                       np.where(held_out, seq.num_items + np.cumsum(held_out) - 1, seq.items), seq.times, seq.split)
    inputs, targets, _ = training_windows(marked.train(), max_len=20, windows="last")
    pad = marked.num_items
    real = np.concatenate([inputs[inputs != pad], targets[targets != pad]])
    assert real.max() < seq.num_items
    assert inputs.shape == (seq.num_users, 20)
    # the last target of a user is its last training item, the input before it the one before
    train = seq.train()
    last = train.items[train.offsets[1:] - 1]
    assert np.array_equal(targets[:, -1], last)
    # all windows: every training transition is a target exactly once
    _, every, _ = training_windows(marked.train(), max_len=20)
    assert (every != pad).sum() == int(np.maximum(train.lengths - 1, 0).sum()) > (targets != pad).sum()
    # prefixes: the same transitions, one per row, each with the items before it
    histories, after, users = training_windows(marked.train(), max_len=20, windows="prefixes")
    assert len(after) == (every != pad).sum() and (after[:, :-1] == pad).all()
    assert np.array_equal(np.sort(after[:, -1]), np.sort(every[every != pad]))
    row = int(np.flatnonzero(users == users[-1])[-1])                     # the last user's newest transition
    u = users[row]
    items = train.items[train.offsets[u]:train.offsets[u + 1]]
    assert after[row, -1] == items[-1]
    expect = items[:-1][-20:]
    assert np.array_equal(histories[row, 20 - len(expect):], expect) and (histories[row, :20 - len(expect)] == pad).all()


def quality(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k != "users_per_second"}  # a timing, not a result


def run(seq, folder, epochs, resume=False, seed=0, **options):
    torch.manual_seed(seed)
    model = Generator(seq.num_items, GeneratorConfig(profiles="none", max_len=20, dim=16, **options), InterestContext())
    inputs, targets, _ = training_windows(seq.train(), 20)

    def validate(m):
        return evaluate_ranking(lambda h, u: m.item_scores(torch.where(h < 0, m.num_items, h)), seq, VALID,
                                max_len=20, batch=512)

    state = fit(model, inputs, targets, TrainConfig(epochs=epochs, batch_size=128, lr=3e-3, seed=seed, threads=1),
                validate, folder, resume=resume)
    return model, state


def test_resume_replays_the_straight_run(seq, tmp_path):
    straight, s1 = run(seq, tmp_path / "a", epochs=3)
    run(seq, tmp_path / "b", epochs=2)  # "killed" after epoch 2
    resumed, s2 = run(seq, tmp_path / "b", epochs=3, resume=True)
    assert [h["loss"] for h in s1["history"]] == [h["loss"] for h in s2["history"]]
    assert quality(s1["best_metrics"]) == quality(s2["best_metrics"])
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), name
    log = [json.loads(line) for line in (tmp_path / "b" / "train_log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2, 3]
    assert s1["history"][-1]["loss"] < s1["history"][0]["loss"]
    assert s1["best_metrics"]["NDCG@10"] > 0.01


def test_same_seed_same_run_and_bad_checkpoints(seq, tmp_path):
    _, a = run(seq, tmp_path / "a", epochs=1, seed=3)
    _, b = run(seq, tmp_path / "b", epochs=1, seed=3)
    assert quality(a["best_metrics"]) == quality(b["best_metrics"])
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "checkpoint.safetensors").write_bytes(b"garbage")
    model = Generator(seq.num_items, GeneratorConfig(profiles="none", max_len=20, dim=16), InterestContext())
    with pytest.raises(G2RecError, match="unreadable checkpoint"):
        load_checkpoint(tmp_path / "c" / "checkpoint.safetensors", model)
    other = Generator(seq.num_items, GeneratorConfig(profiles="none", max_len=20, dim=32), InterestContext())
    with pytest.raises(G2RecError, match="does not fit this model"):
        load_checkpoint(tmp_path / "a" / "best.safetensors", other)


def test_sampled_softmax_same_seed_same_run_and_resume(seq, tmp_path):
    """The negatives are drawn from the run's random state: same seed, same metrics; a resumed run
    draws the negatives the straight run drew."""
    options = {"loss": "sampled", "negatives": 32, "negatives_per": "position"}
    _, a = run(seq, tmp_path / "a", epochs=2, seed=1, **options)
    _, b = run(seq, tmp_path / "b", epochs=2, seed=1, **options)
    _, c = run(seq, tmp_path / "c", epochs=2, seed=2, **options)
    assert quality(a["best_metrics"]) == quality(b["best_metrics"]) != quality(c["best_metrics"])
    run(seq, tmp_path / "d", epochs=1, seed=1, **options)
    _, d = run(seq, tmp_path / "d", epochs=2, seed=1, resume=True, **options)
    assert [h["loss"] for h in a["history"]] == [h["loss"] for h in d["history"]]


def test_select_names_the_metric_that_picks_the_checkpoint_and_stops(seq, tmp_path):
    """Validation NDCG@10 and Recall@10 that disagree: each choice keeps its own best epoch, and
    patience counts epochs without a better score of that metric."""
    scripted = [{"NDCG@10": 0.2, "Recall@10": 0.1}, {"NDCG@10": 0.1, "Recall@10": 0.3},
                {"NDCG@10": 0.05, "Recall@10": 0.05}, {"NDCG@10": 0.3, "Recall@10": 0.01}]
    inputs, targets, _ = training_windows(seq.train(), 20, "last")
    best = {}
    for select in ("ndcg10", "recall10"):
        model = Generator(seq.num_items, GeneratorConfig(profiles="none", max_len=20, dim=8), InterestContext())
        curve = iter(scripted)
        state = fit(model, inputs, targets, TrainConfig(epochs=4, patience=2, batch_size=512, seed=0, threads=1,
                                                        select=select), lambda m: next(curve), tmp_path / select)
        best[select] = (state["best_epoch"], state["epoch"])
    assert best == {"ndcg10": (1, 3), "recall10": (2, 4)}
    with pytest.raises(ConfigError, match="select.*ndcg10, recall10"):
        TrainConfig(select="mrr")
