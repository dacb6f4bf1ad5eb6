"""SODA's soft codes and distributional BPR loss against written-out references, and the term in
the encoder-decoder's loss."""

import math

import pytest
import torch

from g2rec.errors import ConfigError
from g2rec.model import soda
from g2rec.model.encdec import EncoderDecoderConfig, SIDEncoderDecoder

BOOKS = torch.tensor([[[0.0], [2.0]], [[0.0], [0.5]]])  # 2 levels of 2 one-dimensional codes


def test_soft_codes_follow_the_hard_residual_path():
    x = torch.tensor([[1.8], [0.4]])
    scales = torch.tensor([1.0, 0.5])
    log_p = soda.soft_codes(x, BOOKS, scales, tau=2.0)
    # x = 1.8: level 1 distances 3.24, 0.04 (code 1), residual -0.2: level 2 distances 0.04, 0.49
    first = torch.softmax(torch.tensor([-3.24, -0.04]) / 2.0, 0)
    second = torch.softmax(torch.tensor([-0.04, -0.49]) / 1.0, 0)
    assert torch.allclose(log_p[0].exp(), torch.stack([first, second]), atol=1e-6)
    # x = 0.4: code 0 at level 1 (0.16 < 2.56), residual 0.4: 0.16, 0.01
    first = torch.softmax(torch.tensor([-0.16, -2.56]) / 2.0, 0)
    second = torch.softmax(torch.tensor([-0.16, -0.01]) / 1.0, 0)
    assert torch.allclose(log_p[1].exp(), torch.stack([first, second]), atol=1e-6)
    assert torch.allclose(soda.level_scales(torch.tensor([[1.8], [0.4]]), BOOKS), torch.tensor([0.1, 0.025]))


def test_symmetric_kl_and_the_bpr_loss_against_loops():
    torch.manual_seed(0)
    log_h = torch.log_softmax(torch.randn(4, 2, 3), -1)
    log_y = torch.log_softmax(torch.randn(4, 2, 3), -1)

    def kl(a, b):  # KL(a || b) of two probability vectors
        return sum(float(a[k]) * math.log(float(a[k]) / float(b[k])) for k in range(len(a)))

    def match(a, b):  # s(a, b) of the paper, per level summed
        return -sum(kl(a[l], b[l]) + kl(b[l], a[l]) for l in range(len(a))) / 2

    h, y = log_h.exp(), log_y.exp()
    assert torch.allclose(soda.symmetric_kl(log_h, log_y), torch.tensor([-match(h[b], y[b]) for b in range(4)]),
                          atol=1e-5)
    beta, expected = 3.0, 0.0
    for b in range(4):
        negative = torch.stack([h[j] for j in range(4) if j != b]).mean(0)
        margin = match(h[b], y[b]) - match(negative, y[b])
        expected += -math.log(1 / (1 + math.exp(-beta * margin))) / 4
    assert soda.soda_loss(log_h, log_y, beta).item() == pytest.approx(expected, rel=1e-5)
    assert soda.soda_loss(log_h[:1], log_y[:1], beta).item() == 0.0  # no other history: no negative


def net(weight: float, n: int = 12) -> SIDEncoderDecoder:
    torch.manual_seed(0)
    codes = torch.cartesian_prod(torch.arange(4), torch.arange(3))[:n]
    vectors = torch.randn(n, 5)
    books = torch.randn(2, 4, 5)
    config = EncoderDecoderConfig(max_len=4, dim=16, encoder_layers=1, decoder_layers=1, heads=2, head_dim=8, ff_mult=2,
                                  dropout=0.0, user_tokens=0, soda_weight=weight, soda_beta=2.0, soda_tau=0.5)
    return SIDEncoderDecoder(n, config, codes, (4, 3), code_space=(vectors, books) if weight else None)


def test_encoder_decoder_adds_the_weighted_term():
    model, plain = net(0.3), net(0.0)
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("to_code_space")})
    items = torch.tensor([[12, 1, 2, 3], [4, 5, 6, 7], [12, 12, 9, 0]])
    targets = torch.full_like(items, 12)
    targets[:, -1] = torch.tensor([4, 8, 1])
    _, with_soda = model(items, targets)
    _, without = plain(items, targets)
    states, real = model.encode(items)
    pooled = (states * real[..., None]).sum(1) / real.sum(1, keepdim=True)
    soft = lambda x: soda.soft_codes(x, model.codebooks, model.code_scales, 0.5)
    term = soda.soda_loss(soft(model.to_code_space(pooled)), soft(model.code_vectors[targets[:, -1]]), 2.0)
    assert torch.allclose(with_soda, without + 0.3 * term, atol=1e-6) and term > 0
    with_soda.backward()
    assert model.to_code_space[0].weight.grad.abs().sum() > 0


def test_soda_needs_the_tokenizer():
    with pytest.raises(ConfigError, match="code_space"):
        net(0.3).__class__(12, EncoderDecoderConfig(soda_weight=0.1), torch.zeros(12, 2, dtype=torch.long), (4, 3))
    with pytest.raises(ConfigError, match="soda_beta"):
        EncoderDecoderConfig(soda_beta=0.0)
