"""The items head's losses against written-out references on tiny cases, the logQ correction,
the LiGR block's causality, and the generator trained by each loss."""

import math

import numpy as np
import pytest
import torch

from g2rec.errors import ConfigError
from g2rec.model.generator import Generator, GeneratorConfig, InterestContext
from g2rec.model.losses import (
    draw_negatives,
    gbce,
    in_batch_softmax,
    popularity_log_q,
    sampled_softmax,
)
from g2rec.model.transformer import Transformer, TransformerConfig

H = torch.tensor([[1.0, 0.0], [0.5, -1.0]])                       # two target positions, D = 2
TABLE = torch.tensor([[1.0, 2.0], [0.0, 1.0], [-1.0, 0.5], [2.0, -1.0], [0.3, 0.3]])  # I = 5
TARGETS = torch.tensor([0, 3])


def test_sampled_softmax_by_hand():
    negatives = torch.tensor([1, 3, 4])
    loss = sampled_softmax(H, TABLE, TARGETS, negatives)
    expect = 0.0
    for h, y in zip(H.tolist(), TARGETS.tolist()):
        score = lambda j: sum(a * b for a, b in zip(h, TABLE[j].tolist()))
        rest = [score(j) for j in negatives.tolist() if j != y]          # a position's own target is no negative
        expect += -score(y) + math.log(math.exp(score(y)) + sum(math.exp(s) for s in rest))
    assert loss.item() == pytest.approx(expect / 2, rel=1e-6)


def test_logq_correction_by_hand_and_constant_when_uniform():
    negatives = torch.tensor([1, 2, 2])
    counts = torch.tensor([5, 1, 3, 0, 1])
    log_q = popularity_log_q(counts)
    assert torch.allclose(log_q.exp().sum(), torch.tensor(1.0)) and log_q[3] == log_q[1]  # unseen counts as 1
    loss = sampled_softmax(H, TABLE, TARGETS, negatives, log_q)
    expect = 0.0
    for h, y in zip(H.tolist(), TARGETS.tolist()):
        corrected = lambda j: sum(a * b for a, b in zip(h, TABLE[j].tolist())) - log_q[j].item()
        rest = [corrected(j) for j in negatives.tolist() if j != y]
        expect += -corrected(y) + math.log(math.exp(corrected(y)) + sum(math.exp(s) for s in rest))
    assert loss.item() == pytest.approx(expect / 2, rel=1e-5)
    uniform = torch.full((5,), -math.log(5))
    assert sampled_softmax(H, TABLE, TARGETS, negatives, uniform).item() == pytest.approx(
        sampled_softmax(H, TABLE, TARGETS, negatives).item(), rel=1e-6)


def test_in_batch_softmax_by_hand():
    targets = torch.tensor([0, 3, 0])
    h = torch.cat([H, H[:1] * 2])
    log_q = popularity_log_q(torch.tensor([4, 1, 1, 2, 1]))
    loss = in_batch_softmax(h, TABLE, targets, log_q)
    expect = 0.0
    for row, y in zip(h.tolist(), targets.tolist()):                    # candidates: the distinct targets 0 and 3
        s = {j: sum(a * b for a, b in zip(row, TABLE[j].tolist())) - log_q[j].item() for j in (0, 3)}
        expect += -s[y] + math.log(sum(math.exp(v) for v in s.values()))
    assert loss.item() == pytest.approx(expect / 3, rel=1e-5)


def test_gbce_by_hand():
    negatives = torch.tensor([1, 0, 4])
    t, k, items = 0.75, 3, 5
    alpha = k / (items - 1)
    beta = alpha * (t * (1 - 1 / alpha) + 1 / alpha)
    sig = lambda x: 1 / (1 + math.exp(-x))
    expect = 0.0
    for h, y in zip(H.tolist(), TARGETS.tolist()):
        score = lambda j: sum(a * b for a, b in zip(h, TABLE[j].tolist()))
        expect += -beta * math.log(sig(score(y))) - sum(math.log(1 - sig(score(j))) for j in negatives.tolist() if j != y)
    assert gbce(H, TABLE, TARGETS, negatives, items, t).item() == pytest.approx(expect / 2, rel=1e-6)
    # t = 0: plain BCE with weight 1 on the positive
    assert beta != 1 and alpha * (0 * (1 - 1 / alpha) + 1 / alpha) == pytest.approx(1.0)


def test_negatives_are_drawn_by_their_sampler():
    torch.manual_seed(0)
    uniform = draw_negatives(20000, 5, None, "cpu")
    assert uniform.min() >= 0 and uniform.max() == 4
    assert np.allclose(np.bincount(uniform.numpy()) / 20000, 0.2, atol=0.02)
    log_q = popularity_log_q(torch.tensor([7, 1, 1, 1, 0]))
    drawn = np.bincount(draw_negatives(20000, 5, log_q, "cpu").numpy(), minlength=5) / 20000
    assert np.allclose(drawn, log_q.exp().numpy(), atol=0.02)


def test_ligr_block_is_causal_and_gated():
    torch.manual_seed(0)
    model = Transformer(TransformerConfig(num_items=20, max_len=6, dim=8, layers=2, heads=1, block="ligr",
                                          mlp_ratio=2)).eval()
    items = torch.tensor([[20, 20, 3, 4, 5, 6], [1, 2, 3, 4, 5, 7]])
    h = model.forward_items(items)
    changed = items.clone()
    changed[:, -1] = 9
    assert torch.allclose(model.forward_items(changed)[:, :-1], h[:, :-1], atol=1e-6)
    assert not torch.allclose(model.forward_items(changed)[:, -1], h[:, -1])
    block = model.blocks[0]
    assert hasattr(block, "gate_1") and block.mlp.fc.out_features == 2 * 2 * 8 and block.mlp.fc.bias is None
    # closing both gates makes the block the identity
    x = torch.randn(2, 6, 8)
    with torch.no_grad():
        for gate in (block.gate_1, block.gate_2):
            gate.weight.zero_()
            gate.bias.fill_(-1e4)
    assert torch.allclose(block(x), x)


@pytest.mark.parametrize("options", [{"loss": "ce"}, {"loss": "sampled", "negatives": 8},
                                     {"loss": "sampled", "negatives": 8, "sampler": "popularity"},
                                     {"loss": "sampled", "sampler": "in-batch"}, {"loss": "gbce", "negatives": 8},
                                     {"loss": "sampled", "negatives": 8, "block": "ligr", "ff_mult": 1},
                                     {"loss": "sampled", "negatives": 8, "negatives_per": "position"}])
def test_every_loss_trains_the_generator(options):
    torch.manual_seed(0)
    items_count = 30
    context = InterestContext(item_counts=torch.arange(items_count) % 4)
    model = Generator(items_count, GeneratorConfig(profiles="none", profile_weight=0.0, max_len=5, dim=16,
                                                   dropout=0.0, **options), context)
    items = (torch.randint(0, items_count, (32, 1)) + torch.arange(5)) % items_count  # next item = item + 1
    targets = torch.roll(items, -1, 1)
    targets[:, -1] = items_count
    steps, lr = (400, 3e-3) if options["loss"] == "gbce" else (80, 1e-2)  # BCE first pushes every score down
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.eval()
    with torch.no_grad():
        before = (model.item_logits(items[:, :-1]).argmax(-1) == items[:, -1]).float().mean()
    model.train()
    for _ in range(steps):
        logits, loss = model(items, targets)
        assert (logits is None) == (options["loss"] != "ce")
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():  # whatever loss trained it, the full-catalogue ranking puts the next item first
        after = (model.item_logits(items[:, :-1]).argmax(-1) == items[:, -1]).float().mean()
    assert before.item() < 0.2 and after.item() > 0.75


def test_loss_options_fail_fast():
    with pytest.raises(ConfigError, match="ce, sampled, gbce"):
        GeneratorConfig(loss="bpr")
    with pytest.raises(ConfigError, match="uniform, popularity, in-batch"):
        GeneratorConfig(loss="sampled", sampler="hard")
    with pytest.raises(ConfigError, match="samples its negatives uniformly"):
        GeneratorConfig(loss="gbce", sampler="popularity")
    with pytest.raises(ConfigError, match="items head"):
        GeneratorConfig(head="sids", loss="sampled")
    with pytest.raises(ConfigError, match="negatives >= 1"):
        GeneratorConfig(loss="sampled", negatives=0)
    with pytest.raises(ConfigError, match="batch, position"):
        GeneratorConfig(loss="sampled", negatives_per="user")
    with pytest.raises(ConfigError, match="gpt, ligr"):
        GeneratorConfig(block="alibi")
    with pytest.raises(ConfigError, match="dim=0"):
        GeneratorConfig(dim=0)
    with pytest.raises(ConfigError, match="training counts"):
        Generator(10, GeneratorConfig(profiles="none", loss="sampled", sampler="popularity"), InterestContext())


def test_per_position_negatives_by_hand():
    negatives = torch.tensor([[1, 0, 4], [3, 2, 2]])                # row n: position n's own negatives
    loss = sampled_softmax(H, TABLE, TARGETS, negatives)
    expect = 0.0
    for h, y, own in zip(H.tolist(), TARGETS.tolist(), negatives.tolist()):
        score = lambda j: sum(a * b for a, b in zip(h, TABLE[j].tolist()))
        rest = [score(j) for j in own if j != y]
        expect += -score(y) + math.log(math.exp(score(y)) + sum(math.exp(s) for s in rest))
    assert loss.item() == pytest.approx(expect / 2, rel=1e-6)
    shared = torch.tensor([1, 3, 4])                                # the same row for every position = shared
    assert sampled_softmax(H, TABLE, TARGETS, shared.expand(2, 3)).item() == pytest.approx(
        sampled_softmax(H, TABLE, TARGETS, shared).item(), rel=1e-6)
    assert gbce(H, TABLE, TARGETS, shared.expand(2, 3), 5, 0.75).item() == pytest.approx(
        gbce(H, TABLE, TARGETS, shared, 5, 0.75).item(), rel=1e-6)
    assert draw_negatives(7, 5, None, "cpu", positions=3).shape == (3, 7)
