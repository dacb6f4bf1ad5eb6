"""The graph prior: the co-engagement graph's vote from recent items, and its place in the generator."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from g2rec.errors import ConfigError
from g2rec.graph.ops import GraphVotes
from g2rec.model.generator import Generator, GeneratorConfig, InterestContext
from g2rec.model.prior import GraphPrior, PriorConfig

# 0-1 (weight 2), 1-2 (weight 1), 2-3 (weight 3); item 4 isolated
GRAPH = sp.csr_matrix(np.array([[0, 2, 0, 0, 0], [2, 0, 1, 0, 0], [0, 1, 0, 3, 0], [0, 0, 3, 0, 0], [0, 0, 0, 0, 0]],
                               dtype=np.float32))


def test_votes_by_hand():
    g = GraphVotes(GRAPH, history=2, decay=0.5).scores(np.array([[-1, 0, 1], [3, 2, 4], [-1, -1, -1]]))
    # row 1: last two items 0 (weight 0.5) and 1 (weight 1); D^-1 A rows: 0 -> [0,1,0,0,0], 1 -> [2/3,0,1/3,0,0]
    assert np.allclose(g[0], [2 / 3, 0.5, 1 / 3, 0, 0])
    # row 2: item 3 is out of the window of 2; item 2 (0.5): [0,1/4,0,3/4,0]; item 4 isolated (1): nothing
    assert np.allclose(g[1], [0, 0.125, 0, 0.375, 0])
    assert np.all(g[2] == 0) and g.dtype == np.float32
    prior = GraphPrior(GRAPH, PriorConfig(weight=1.0, history=2, decay=0.5, eps=1e-3))
    assert torch.allclose(prior.log_scores(torch.tensor([[0, 1]])), torch.log(torch.tensor(g[:1]) + 1e-3))


def test_generator_adds_the_weighted_log_prior_to_its_log_softmax():
    torch.manual_seed(0)
    config = GeneratorConfig(profiles="none", profile_weight=0.0, max_len=4, dim=8)
    model = Generator(5, config, InterestContext()).eval()
    model.attach_prior(PriorConfig(weight=0.5), GRAPH)
    items = torch.tensor([[5, 5, 0, 1], [3, 2, 4, 2]])  # 5 = padding
    plain = model.hidden(items)[:, -1] @ model.item_vectors().T
    expected = torch.log_softmax(plain, -1) + 0.5 * model.prior.log_scores(torch.where(items == 5, -1, items))
    assert torch.allclose(model.item_scores(items), expected)
    model.attach_prior(PriorConfig(weight=0.0))
    assert torch.allclose(model.item_scores(items), plain)


def test_graph_prior_options_fail_fast():
    for bad in ({"weight": -1.0}, {"history": 0}, {"decay": 0.0}, {"decay": 1.5}, {"eps": 0.0}):
        with pytest.raises(ConfigError, match="graph prior"):
            PriorConfig(**bad)
    model = Generator(5, GeneratorConfig(profiles="none", profile_weight=0.0), InterestContext())
    with pytest.raises(ConfigError, match=r"needs the \(5, 5\) co-engagement graph"):
        model.attach_prior(PriorConfig(weight=1.0))
