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


@pytest.mark.parametrize("head", ["items", "sids"])
def test_training_lowers_the_loss(head):
    torch.manual_seed(0)
    model = Generator(I, GeneratorConfig(head=head, max_len=5, dim=16, dropout=0.0), context())
    items = torch.randint(0, I, (16, 5))
    targets = torch.roll(items, -1, 1)
    targets[:, -1] = I  # no target after the last item
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    _, first = model(items, targets)
    for _ in range(60):
        _, loss = model(items, targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first.item()


def test_options_fail_fast():
    with pytest.raises(ConfigError, match="add, interleave, none"):
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


def test_forward_returns_scores_and_the_written_out_loss():
    """nanoGPT's contract: without targets the next-item log-probabilities, with targets the
    items head's logits at the target positions and CE + lambda * the profile loss."""
    torch.manual_seed(0)
    ctx = context()
    model = Generator(I, GeneratorConfig(profiles="add", profile_weight=0.5, max_len=5, dim=16), ctx).eval()
    items = torch.tensor([[I, 3, 4, 5, 6], [1, 2, 3, 4, 7]])
    targets = torch.tensor([[I, 4, 5, 6, 8], [2, 3, 4, 7, I]])
    with torch.no_grad():
        scores, loss = model(items)
        assert loss is None and torch.allclose(scores, model.item_log_probs(items))
        assert torch.allclose(scores.exp().sum(1), torch.ones(2), atol=1e-5)
        logits, loss = model(items, targets)
        keep = targets != I
        hidden = model.hidden(items)[keep]                                        # (8, D)
        expect_logits = hidden @ model.item_vectors().T
        next_item = torch.nn.functional.cross_entropy(expect_logits, targets[keep])
        log_p = torch.log_softmax(model.profile_head(hidden), -1)                 # (8, C)
        members = torch.zeros(len(hidden), C).scatter_add_(1, ctx.member_idx[targets[keep]],
                                                           ctx.member_val[targets[keep]])
        profile = -(members * log_p).sum(1).mean()
    assert logits.shape == (8, I) and torch.allclose(logits, expect_logits, atol=1e-6)
    assert loss.item() == pytest.approx((next_item + 0.5 * profile).item(), rel=1e-5)
    sids = Generator(I, GeneratorConfig(head="sids", profiles="none", profile_weight=0.0, max_len=5, dim=16), ctx).eval()
    logits, loss = sids(items, targets)
    assert logits is None and loss.item() == pytest.approx(
        sids.code_head.loss(sids.hidden(items)[keep], ctx.codes[targets[keep]]).item(), rel=1e-5)


@pytest.mark.parametrize("item_input", ["id", "sid"])
@pytest.mark.parametrize("loss", ["ce", "sampled"])
def test_item_dropout_is_one_mask_for_inputs_and_output_in_training_only(item_input, loss):
    """The training loss with ``item_dropout`` is the written-out loss over one dropped copy of
    the item table, its rows both the history's tokens and the tied output; eval is untouched."""
    torch.manual_seed(0)
    config = GeneratorConfig(profiles="none", profile_weight=0.0, item_input=item_input, max_len=5, dim=16, dropout=0.0,
                             item_dropout=0.5, loss=loss, negatives=8)
    model = Generator(I, config, context())
    plain = Generator(I, GeneratorConfig(**{**config.__dict__, "item_dropout": 0.0}), context())
    plain.load_state_dict(model.state_dict())
    items, targets = torch.randint(0, I, (4, 5)), torch.randint(0, I, (4, 5))
    torch.manual_seed(1)
    _, loss_value = model(items, targets)
    torch.manual_seed(1)
    table = model.token_table()                                          # (I+1, D), one mask
    assert (table[:I] == 0).float().mean() > 0.3 and torch.all(table[I] == 0)
    h = model.hidden(items, table).reshape(-1, 16)
    if loss == "ce":
        expect = torch.nn.functional.cross_entropy(h @ table[:I].T, targets.reshape(-1))
    else:
        expect = model.sampled_loss(h, table[:I], targets.reshape(-1))
    assert torch.allclose(loss_value, expect, atol=1e-6)
    torch.manual_seed(1)
    assert not torch.allclose(loss_value, plain(items, targets)[1])
    model.eval(), plain.eval()
    assert torch.equal(model.item_scores(items), plain.item_scores(items))
    with pytest.raises(ConfigError, match="item_dropout"):
        GeneratorConfig(item_dropout=1.0)
