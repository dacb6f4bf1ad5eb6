"""The training prior's votes come from graphs that never hold the user's own interactions."""

import numpy as np
import torch

from g2rec import build_graph
from g2rec.data.sequences import TRAIN, VALID, Sequences, window_users
from g2rec.graph.build import GraphConfig, build_coengagement_graph
from g2rec.model.graph_prior import GraphPrior
from g2rec.runfolder import RunFolder
from g2rec.train.crossfit import DECAY, EPS, CrossFitPrior
from g2rec.train.loop import training_windows
from tests.conftest import MOVIELENS


def _log(runs: list[list[int]], held_out_last: bool = True) -> Sequences:
    """Users' item runs, oldest first; each user's last item held out (validation)."""
    lengths = np.array([len(r) for r in runs])
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    split = np.full(offsets[-1], TRAIN, dtype=np.int8)
    if held_out_last:
        split[offsets[1:] - 1] = VALID
    items = np.concatenate(runs)
    return Sequences(np.arange(len(runs)), np.arange(items.max() + 1), offsets, items,
                     np.arange(offsets[-1]), split)


def _votes(seq: Sequences, max_len: int, windows: str, history: int, folds: int = 5):
    train = seq.train()
    inputs, targets = training_windows(train, max_len, windows)
    users = window_users(train, max_len, windows == "last")
    prior = CrossFitPrior(seq, GraphConfig(), users, history=history, folds=folds)
    pad = seq.num_items
    x, y = torch.from_numpy(inputs), torch.from_numpy(targets)
    return prior, inputs, targets, users, prior(torch.arange(len(x)), x, y != pad)


def test_a_transition_only_its_own_user_made_gets_no_vote():
    # user 0 alone goes 0 -> 1 -> 2; twelve others share 3 -> 4 -> 5 (and go on to 6, held out)
    seq = _log([[0, 1, 2, 9]] + [[3, 4, 5, 6]] * 12)
    prior, inputs, targets, users, log_votes = _votes(seq, max_len=5, windows="all", history=1)
    full = GraphPrior(build_coengagement_graph(seq)[0], history=1)
    rows_of = np.repeat(users, (targets != seq.num_items).sum(1))                   # user of each target position
    target = targets[targets != seq.num_items]
    vote_at_target = log_votes[torch.arange(len(target)), torch.from_numpy(target)]
    # the run's graph votes for user 0's targets; the cross-fitted one cannot
    assert full.scores(np.array([[0], [1]]))[[0, 1], [1, 2]].min() > 0
    assert torch.allclose(vote_at_target[torch.from_numpy(rows_of == 0)], torch.full((2,), np.log(EPS)))
    # the shared transitions keep their votes: other folds' users made them
    assert (vote_at_target[torch.from_numpy(rows_of > 0)] > np.log(EPS) + 1).all()
    # no vote ever reaches a held-out item (6, 9)
    assert torch.allclose(log_votes[:, [6, 9]], torch.tensor(np.log(EPS), dtype=torch.float32))


def test_votes_equal_each_folds_graph_prior_on_real_data(shared_data, tmp_path):
    build_graph(MOVIELENS, tmp_path / "run")
    seq = RunFolder(tmp_path / "run").sequences()
    prior, inputs, targets, users, log_votes = _votes(seq, max_len=20, windows="last", history=3, folds=3)
    assert len(users) == len(inputs) and np.all(np.diff(users) > 0)   # one window per user, users in order
    fold_of_user = np.random.default_rng(0).permutation(seq.num_users) % 3
    assert np.array_equal(prior.window_fold, fold_of_user[users])
    graphs = [GraphPrior(build_coengagement_graph(seq.subset(fold_of_user[seq.users] != k))[0], 3, DECAY, EPS)
              for k in range(3)]
    pad = seq.num_items
    kept = np.argwhere(targets != pad)                                                # row-major, as the votes
    for n in np.random.default_rng(0).choice(len(kept), 50, replace=False):
        row, t = kept[n]
        recent = inputs[row, max(t - 2, 0):t + 1]
        expected = graphs[fold_of_user[users[row]]].scores(np.where(recent == pad, -1, recent)[None])[0]
        assert np.allclose(log_votes[n].numpy(), np.log(expected + EPS), atol=1e-5)
