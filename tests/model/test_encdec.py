"""The encoder-decoder semantic-ID generator: its loss, its cached beam search against teacher
forcing, causality, padding, and learning a rule."""

import pytest
import torch

from g2rec.errors import ConfigError
from g2rec.model.beam import beam_search
from g2rec.model.encdec import EncoderDecoderConfig, SIDEncoderDecoder
from g2rec.tokenize.trie import SIDTrie

SIZES = (4, 3, 2)


def all_codes(n: int) -> torch.Tensor:
    """``n`` distinct codes over SIZES."""
    grid = torch.cartesian_prod(*(torch.arange(k) for k in SIZES))
    return grid[torch.randperm(len(grid), generator=torch.Generator().manual_seed(0))[:n]]


def model(n=20, user_tokens=5, **options) -> SIDEncoderDecoder:
    torch.manual_seed(0)
    config = EncoderDecoderConfig(max_len=6, dim=16, encoder_layers=2, decoder_layers=2, heads=2, head_dim=8,
                                  ff_mult=2, dropout=0.0, user_tokens=user_tokens, **options)
    profiles = torch.rand(n, 5) if config.profiles == "add" else None
    return SIDEncoderDecoder(n, config, all_codes(n), SIZES, profiles=profiles).eval()


def histories(n=20):
    return torch.tensor([[n, n, 3, 7, 1, 5], [2, 9, 4, 4, 0, 11], [n, n, n, n, n, 8]])


def test_loss_is_the_mean_code_cross_entropy():
    net, items = model(), histories()
    targets = torch.full((3, 6), net.num_items)
    targets[:, -1] = torch.tensor([6, 12, 19])
    users = torch.tensor([0, 1, 7])
    _, loss = net(items, targets, users)
    log_p = net.code_log_probs(items, targets[:, -1:], users)[:, 0]              # log p(c_1..c_L)
    assert torch.allclose(loss, -log_p.mean() / len(SIZES), atol=1e-6)
    targets[1, -1] = net.num_items                                               # no target: left out
    _, loss = net(items, targets, users)
    assert torch.allclose(loss, -log_p[[0, 2]].mean() / len(SIZES), atol=1e-6)


@pytest.mark.parametrize("layout", ["codes", "merged"])
def test_cached_beam_search_scores_equal_teacher_forcing(layout):
    net, items, users = model(encoder_input=layout), histories(), torch.tensor([0, 1, 7])
    trie = SIDTrie.build(net.codes[:-1].numpy(), SIZES)
    with torch.no_grad():
        found, scores = beam_search(*net.decoding(items, users), trie, width=net.num_items)
        assert sorted(found[0].tolist()) == list(range(net.num_items))           # every item, each once
        direct = net.code_log_probs(items, found, users)
        assert torch.allclose(scores, direct, atol=1e-5)
        assert (scores[:, :-1] >= scores[:, 1:]).all()
        # a beam at least as wide as the trie's widest level keeps every prefix: exact top-W
        widest = len(torch.unique(net.codes[:-1, :2], dim=0))
        top, _ = beam_search(*net.decoding(items, users), trie, width=widest)
        assert torch.equal(top, found[:, :widest])
        narrow, narrow_scores = beam_search(*net.decoding(items, users), trie, width=3)  # approximate,
        assert torch.allclose(narrow_scores, net.code_log_probs(items, narrow, users), atol=1e-5)  # scored exactly
        assert (narrow_scores[:, 0] <= scores[:, 0] + 1e-6).all()


@pytest.mark.parametrize("layout,profiles", [("codes", "none"), ("merged", "none"), ("codes", "add"), ("merged", "add")])
def test_decoder_is_causal_and_left_padding_is_neutral(layout, profiles):
    net = model(encoder_input=layout, profiles=profiles)
    items = histories()
    memory_states, real = net.encode(items)
    memory, mask = net.cross_memory(memory_states), real[:, None, None, :]
    first = net.codes[:-1, 0]
    pair = [int(i) for i in torch.nonzero(first == first[6])[:, 0] if net.codes[i, 1] != net.codes[6, 1]][:1]
    a, b = torch.tensor([6, 12, 19]), torch.tensor(pair + [12, 19])  # same first code, another second one
    with torch.no_grad():  # level 1 reads only the start token: the same whatever the target
        decode = lambda targets: net.decode(net.codes[targets], memory, mask)
        assert torch.allclose(decode(a)[:, 0], decode(torch.tensor([0, 1, 2]))[:, 0])
        assert torch.allclose(decode(a)[:, :2], decode(b)[:, :2], atol=1e-6)
        assert not torch.allclose(decode(a)[:, 2], decode(b)[:, 2])
        short = net.code_log_probs(items[2:, -1:], a[None, :])
        padded = net.code_log_probs(items[2:], a[None, :])
    assert torch.allclose(short, padded, atol=1e-5)


def test_user_token():
    net, items, targets = model(), histories(), torch.tensor([[6], [12], [19]])
    with torch.no_grad():
        same = net.code_log_probs(items, targets, torch.tensor([0, 1, 2]))
        hashed = net.code_log_probs(items, targets, torch.tensor([5, 6, 7]))  # users mod 5: the same tokens
        other = net.code_log_probs(items, targets, torch.tensor([3, 4, 3]))
        none = net.code_log_probs(items, targets)
    assert torch.allclose(same, hashed) and not torch.allclose(same, other) and not torch.allclose(same, none)
    plain = model(user_tokens=0)
    assert plain.tok_emb.num_embeddings == sum(SIZES) + 2


@pytest.mark.parametrize("layout", ["codes", "merged"])
def test_learns_a_next_item_rule(layout):
    """Next item = (last item + 1) mod n: after training, greedy decoding finds it."""
    torch.manual_seed(0)
    n = 20
    config = EncoderDecoderConfig(max_len=3, dim=32, encoder_layers=1, decoder_layers=1, heads=2, head_dim=16,
                                  ff_mult=2, dropout=0.0, user_tokens=0, encoder_input=layout)
    net = SIDEncoderDecoder(n, config, all_codes(n), SIZES)
    start = torch.randint(0, n, (256,))
    items = (start[:, None] + torch.arange(3)) % n
    targets = torch.full_like(items, n)
    targets[:, -1] = (items[:, -1] + 1) % n
    optimizer = torch.optim.AdamW(net.parameters(), lr=3e-3)
    for _ in range(300):
        _, loss = net(items, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    net.eval()
    trie = SIDTrie.build(net.codes[:-1].numpy(), SIZES)
    test = (torch.arange(n)[:, None] + torch.arange(3)) % n
    with torch.no_grad():
        found, _ = beam_search(*net.decoding(test), trie, width=1)
    assert (found[:, 0] == (test[:, -1] + 1) % n).float().mean() >= 0.95


def test_config_fails_fast():
    with pytest.raises(ConfigError, match="head_dim"):
        EncoderDecoderConfig(head_dim=0)
    with pytest.raises(ConfigError, match="dropout"):
        EncoderDecoderConfig(dropout=1.0)
    with pytest.raises(ConfigError, match="encoder_input.*codes, merged"):
        EncoderDecoderConfig(encoder_input="tokens")


def test_merged_layout_reads_one_token_per_item():
    codes, merged = model(), model(encoder_input="merged")
    items = histories()
    assert codes.encode(items)[0].shape[1] == 1 + 6 * len(SIZES)
    assert merged.encode(items)[0].shape[1] == 1 + 6
    assert merged.encode(items)[1][2].tolist() == [False] * 6 + [True]       # padding items masked


@pytest.mark.parametrize("layout", ["codes", "merged"])
def test_interest_profiles_enter_the_encoder(layout):
    plain, with_profiles = model(encoder_input=layout), model(encoder_input=layout, profiles="add")
    state = {k: v for k, v in with_profiles.state_dict().items() if not k.startswith("profile_proj")}
    plain.load_state_dict(state)
    items = histories()
    with torch.no_grad():
        with_profiles.profile_proj.weight.zero_(), with_profiles.profile_proj.bias.zero_()
        assert torch.allclose(plain.encode(items)[0], with_profiles.encode(items)[0], atol=1e-6)  # y projected to 0
        with_profiles.profiles[3] += 1.0                                            # item 3's profile moves
        with_profiles.profile_proj.weight.normal_()
        changed = with_profiles.encode(items)[0]
    assert not torch.allclose(plain.encode(items)[0][0], changed[0])                # history 0 holds item 3
    with pytest.raises(ConfigError, match="interest profiles"):
        SIDEncoderDecoder(20, EncoderDecoderConfig(profiles="add"), all_codes(20), SIZES)
