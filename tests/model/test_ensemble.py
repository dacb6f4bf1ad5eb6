"""Seed ensembles: the members' mean log-probabilities, the graph prior on top, options that fail fast."""

import pytest
import torch

from g2rec.errors import ConfigError
from g2rec.model.ensemble import Ensemble
from g2rec.model.generator import Generator, GeneratorConfig, InterestContext
from g2rec.model.prior import PriorConfig
from tests.model.test_prior import GRAPH

ITEMS = torch.tensor([[5, 5, 0, 1], [3, 2, 4, 2]])  # 5 items, 5 = padding


def member(seed: int, **options) -> Generator:
    torch.manual_seed(seed)
    config = GeneratorConfig(**{"profiles": "none", "profile_weight": 0.0, "max_len": 4, "dim": 8, **options})
    return Generator(5, config, InterestContext()).eval()


def test_scores_are_the_members_mean_log_probabilities_plus_the_prior():
    members = [member(0), member(1), member(2)]
    ensemble = Ensemble(members).eval()
    expected = torch.stack([torch.log_softmax(m.item_scores(ITEMS), -1) for m in members]).mean(0)
    assert torch.allclose(ensemble.item_scores(ITEMS), expected)
    assert not torch.allclose(expected, torch.log_softmax(members[0].item_scores(ITEMS), -1))
    prior = Ensemble(members, PriorConfig(weight=0.5, history=2), GRAPH)
    votes = prior.prior.log_scores(torch.where(ITEMS == 5, -1, ITEMS))
    assert torch.allclose(prior.item_scores(ITEMS), torch.log_softmax(expected, -1) + 0.5 * votes)


def test_members_must_match():
    with pytest.raises(ConfigError, match="at least 2"):
        Ensemble([member(0)])
    with pytest.raises(ConfigError, match="same items and max_len"):
        Ensemble([member(0), member(1, max_len=6)])
    with pytest.raises(ConfigError, match="co-engagement graph"):
        Ensemble([member(0), member(1)], PriorConfig(weight=1.0))


def test_an_items_head_and_a_sids_head_score_as_one():
    from tests.model.test_generator import context

    torch.manual_seed(0)
    items_head = Generator(30, GeneratorConfig(profiles="none", profile_weight=0.0, max_len=4, dim=8), context()).eval()
    sids_head = Generator(30, GeneratorConfig(head="sids", profiles="add", max_len=4, dim=8), context()).eval()
    ensemble = Ensemble([items_head, sids_head]).eval()
    histories = torch.tensor([[30, 3, 4, 5], [1, 2, 3, 7]])
    expected = (torch.log_softmax(items_head.item_logits(histories), -1) + sids_head.item_log_probs(histories)) / 2
    assert torch.allclose(ensemble.item_scores(histories), expected, atol=1e-6)
