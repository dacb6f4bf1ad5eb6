"""The generator: input layouts, causality, heads and losses, option errors."""

import pytest
import torch

from g2rec.errors import ConfigError
from g2rec.model.generator import Generator, GeneratorConfig, InterestContext

I, C, L = 30, 4, 2


def context():
    g = torch.Generator().manual_seed(0)
    codes = torch.stack([torch.arange(I) % 6, torch.arange(I) // 6], 1)  # unique (I, 2) codes
    idx = torch.stack([torch.arange(I) % C, (torch.arange(I) + 1) % C], 1)
    return InterestContext(profiles=torch.randn(I, 5, generator=g), member_idx=idx,
                           member_val=torch.tensor([[0.7, 0.3]]).expand(I, 2), num_prototypes=C,
                           codes=codes, codebook_sizes=(6, 5))


@pytest.mark.parametrize("profiles", ["interleave", "add", "none"])
@pytest.mark.parametrize("item_input", ["id", "sid"])
def test_hidden_states_are_causal(profiles, item_input):
    torch.manual_seed(0)
    model = Generator(I, GeneratorConfig(profiles=profiles, item_input=item_input, max_len=6, dim=16), context()).eval()
    items = torch.tensor([[I, I, 3, 4, 5, 6], [1, 2, 3, 4, 5, 7]])
    h = model.hidden(items)
    assert h.shape == (2, 6, 16)
    changed = items.clone()
    changed[:, -1] = 9
    assert torch.allclose(model.hidden(changed)[:, :-1], h[:, :-1], atol=1e-6)
    assert not torch.allclose(model.hidden(changed)[:, -1], h[:, -1])
    assert model.item_scores(items).shape == (2, I)


@pytest.mark.parametrize("head", ["items", "sids", "both"])
def test_training_lowers_the_loss(head):
    torch.manual_seed(0)
    model = Generator(I, GeneratorConfig(head=head, max_len=5, dim=16, dropout=0.0), context())
    items = torch.randint(0, I, (16, 5))
    targets = torch.roll(items, -1, 1)
    targets[:, -1] = I  # no target after the last item
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first, parts = model.loss(items, targets)
    assert set(parts) == {"next", "profile"}
    for _ in range(60):
        loss, _ = model.loss(items, targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first.item()


def test_options_fail_fast():
    with pytest.raises(ConfigError, match="interleave, add, none"):
        GeneratorConfig(profiles="concat")
    with pytest.raises(ConfigError, match="run `g2rec tokenize` first"):
        Generator(I, GeneratorConfig(), InterestContext())
    with pytest.raises(ConfigError, match="semantic IDs"):
        Generator(I, GeneratorConfig(head="sids", profiles="none"), InterestContext())


def test_item_init_starts_the_embedding_from_given_vectors():
    torch.manual_seed(0)
    vectors = torch.randn(I, 16)
    vectors[3] = 0.0  # an isolated item: keeps its random row
    ctx = context()
    ctx.item_vectors = vectors
    torch.manual_seed(1)
    plain = Generator(I, GeneratorConfig(dim=16), context())
    torch.manual_seed(1)
    model = Generator(I, GeneratorConfig(dim=16, item_init="lightgcn"), ctx)
    rows = model.transformer.item_emb.weight[:I].detach()
    cos = torch.nn.functional.cosine_similarity(rows, vectors, dim=1)
    keep = torch.arange(I) != 3
    assert torch.allclose(cos[keep], torch.ones(I - 1), atol=1e-5)
    assert torch.allclose(rows.norm(dim=1)[keep], plain.transformer.item_emb.weight[:I].norm(dim=1).mean().expand(I - 1), rtol=0.2)
    assert torch.equal(rows[3], plain.transformer.item_emb.weight[3].detach())
    ctx.item_vectors = torch.randn(I, 8)
    with pytest.raises(ConfigError, match=r"need \(30, 16\)"):
        Generator(I, GeneratorConfig(dim=16, item_init="lightgcn"), ctx)
    with pytest.raises(ConfigError, match="item_input='id'"):
        GeneratorConfig(item_init="lightgcn", item_input="sid")


@pytest.mark.parametrize("budget", [1 << 25, 7])  # one chunk of users; one user at a time
def test_sids_head_scores_every_item_by_its_code_sequence(budget):
    torch.manual_seed(0)
    ctx = context()
    model = Generator(I, GeneratorConfig(head="sids", profiles="add", max_len=5, dim=16), ctx).eval()
    items = torch.tensor([[I, 3, 4, 5, 6], [1, 2, 3, 4, 7], [9, 9, 9, 9, 9]])
    hidden = model.hidden(items)[:, -1]
    log_p = model.code_head.item_log_probs(hidden, ctx.codes, budget=budget)
    # the same as scoring each item's codes level by level (sequence_log_prob), renormalized over the items
    direct = model.code_head.sequence_log_prob(hidden, ctx.codes[None].expand(3, -1, -1))
    assert log_p.shape == (3, I)
    assert torch.allclose(log_p, torch.log_softmax(direct, -1), atol=1e-5)
    assert torch.allclose(log_p.exp().sum(1), torch.ones(3), atol=1e-5)
    assert torch.allclose(model.item_log_probs(items), log_p, atol=1e-6)
    # the distribution depends on the history
    assert not torch.allclose(log_p[0], log_p[1])


def test_both_heads_share_one_trunk_and_mix_their_scores():
    torch.manual_seed(0)
    ctx = context()
    config = GeneratorConfig(head="both", profiles="none", profile_weight=0.0, max_len=5, dim=16, sid_mix=0.3)
    model = Generator(I, config, ctx).eval()
    items = torch.tensor([[I, 3, 4, 5, 6], [1, 2, 3, 4, 7]])
    h = model.hidden(items)[:, -1]
    items_head = torch.log_softmax(h @ model.item_vectors().T, -1)
    sids_head = model.code_head.item_log_probs(h, ctx.codes)
    assert torch.allclose(model.item_logits(items, items_head_only=True).log_softmax(-1), items_head, atol=1e-6)
    assert torch.allclose(model.item_logits(items), 0.7 * items_head + 0.3 * sids_head, atol=1e-5)
    assert torch.allclose(model.item_log_probs(items), (0.7 * items_head + 0.3 * sids_head).log_softmax(-1), atol=1e-5)
    # the loss is the items loss plus sid_weight times the code loss, on the same hidden states
    targets = torch.tensor([[I, 4, 5, 6, 8], [2, 3, 4, 7, 9]])
    keep = targets != I
    hidden = model.hidden(items)[keep]
    expect = (torch.nn.functional.cross_entropy(hidden @ model.item_vectors().T, targets[keep])
              + model.code_head.loss(hidden, ctx.codes[targets[keep]]))
    with torch.no_grad():
        both_eval, _ = model.loss(items, targets)
    assert torch.allclose(both_eval, expect, atol=1e-5)
    with pytest.raises(ConfigError, match="sid_mix"):
        GeneratorConfig(head="both", sid_mix=1.5)
    with pytest.raises(ConfigError, match="semantic IDs"):
        Generator(I, GeneratorConfig(head="both", profiles="none"), InterestContext())


def test_graph_smoothing_mixes_each_item_with_its_graph_neighbours():
    import numpy as np
    import scipy.sparse as sp

    rows = np.array([0, 1, 1, 2])  # a path 0 - 1 - 2; every other item isolated
    graph = sp.coo_matrix((np.ones(4), (rows, np.array([1, 0, 2, 1]))), shape=(I, I)).tocsr()
    ctx = context()
    ctx.item_graph = graph
    torch.manual_seed(0)
    model = Generator(I, GeneratorConfig(dim=16, profiles="none", graph_smoothing=0.5), ctx)
    E = model.transformer.item_emb.weight.detach()
    table = model.item_vectors().detach()
    inv = 1 / np.sqrt(2)  # degrees 1, 2, 1: A_hat[0, 1] = A_hat[1, 2] = 1 / sqrt(2)
    assert torch.allclose(table[0], E[0] + 0.5 * inv * E[1], atol=1e-6)
    assert torch.allclose(table[1], E[1] + 0.5 * inv * (E[0] + E[2]), atol=1e-6)
    assert torch.equal(table[5], E[5])                                  # isolated: unchanged
    tokens = model.item_tokens(torch.tensor([[I, 1]]))
    assert torch.equal(tokens[0, 0], torch.zeros(16)) and torch.allclose(tokens[0, 1], table[1])
    loss, _ = model.loss(torch.tensor([[0, 1]]), torch.tensor([[1, 2]]))
    loss.backward()  # the neighbours' rows learn from an item's use
    assert model.transformer.item_emb.weight.grad[0].abs().sum() > 0
    with pytest.raises(ConfigError, match=r"needs the \(30, 30\) co-engagement graph"):
        Generator(I, GeneratorConfig(graph_smoothing=0.5), context())
    with pytest.raises(ConfigError, match="item_input='id'"):
        GeneratorConfig(graph_smoothing=0.5, item_input="sid")


def test_graph_targets_spread_the_target_over_its_heaviest_neighbours():
    import numpy as np
    import scipy.sparse as sp
    import torch.nn.functional as F

    from g2rec.model.generator import TARGET_NEIGHBOURS, graph_neighbours

    # item 0: neighbours 1 (weight 3) and 2 (1); 12 neighbours of item 3, weights 1..12; 5: isolated
    heavy = np.arange(10, 22)
    rows = np.r_[0, 0, 1, 2, [3] * 12, heavy]
    cols = np.r_[1, 2, 0, 0, heavy, [3] * 12]
    w = np.r_[3.0, 1, 3, 1, np.arange(1, 13), np.arange(1, 13)]
    graph = sp.coo_matrix((w, (rows, cols)), shape=(I, I)).tocsr()
    idx, val = graph_neighbours(graph, I, TARGET_NEIGHBOURS)
    assert idx.shape == val.shape == (I, TARGET_NEIGHBOURS) and torch.allclose(val.sum(1), torch.ones(I))
    assert idx[0, :2].tolist() == [1, 2] and val[0, :2].tolist() == pytest.approx([0.75, 0.25])
    assert (idx[0, 2:] == 0).all() and (val[0, 2:] == 0).all()            # padding: itself at weight 0
    assert idx[3].tolist() == list(range(21, 11, -1))                       # the 10 heaviest, heaviest first
    assert val[3].tolist() == pytest.approx((np.arange(12, 2, -1) / np.arange(3, 13).sum()).tolist())
    assert idx[5, 0] == 5 and val[5, 0] == 1                                # isolated: all on itself
    ctx = context()
    ctx.item_graph = graph
    torch.manual_seed(0)
    model = Generator(I, GeneratorConfig(dim=16, profiles="none", profile_weight=0.0, dropout=0.0,
                                         graph_targets=0.2), ctx).eval()
    items, targets = torch.tensor([[4, 0], [6, 3]]), torch.tensor([[0, 5], [3, 0]])
    loss, _ = model.loss(items, targets)
    log_p = F.log_softmax(model.hidden(items) @ model.item_vectors().T, dim=-1).reshape(4, I)
    soft = torch.zeros(4, I)
    for n, t in enumerate(targets.reshape(-1).tolist()):                    # the soft targets, written out
        soft[n, t] += 0.8
        soft[n].index_add_(0, idx[t], 0.2 * val[t])
    assert loss.item() == pytest.approx(-(soft * log_p).sum(1).mean().item(), rel=1e-5)
    with pytest.raises(ConfigError, match=r"needs the \(30, 30\) co-engagement graph"):
        Generator(I, GeneratorConfig(graph_targets=0.2), context())
    for bad in ({"graph_targets": 1.0}, {"graph_targets": -0.1}, {"graph_targets": 0.2, "head": "sids"}):
        with pytest.raises(ConfigError, match="graph_targets"):
            GeneratorConfig(**bad)
