"""The causal Transformer: shapes, causality, padding, the tied items head, config checks."""

import pytest
import torch

from g2rec.model import Transformer, TransformerConfig


def model(**overrides) -> Transformer:
    torch.manual_seed(0)
    config = TransformerConfig(**{"num_items": 50, "max_len": 12, "dim": 16, "layers": 2, "heads": 4,
                                  "dropout": 0.1, **overrides})
    return Transformer(config).eval()


def test_shapes_and_tied_head():
    m = model()
    items = torch.randint(0, 50, (3, 10))
    hidden = m.forward_items(items)
    assert hidden.shape == (3, 10, 16)
    logits = m.item_logits(hidden)
    assert logits.shape == (3, 10, 50)
    assert m.item_vectors.shape == (50, 16)
    assert m.item_vectors.data_ptr() == m.item_emb.weight.data_ptr()  # the head *is* the embedding
    torch.testing.assert_close(logits, hidden @ m.item_emb.weight[:50].T)
    x = torch.randn(3, 10, 16)  # the general entry point takes any input embeddings
    assert m(x).shape == (3, 10, 16)


def test_causal_later_positions_do_not_change_earlier_outputs():
    m = model()
    x = torch.randn(2, 12, 16)
    y = x.clone()
    y[:, 7:] = torch.randn(2, 5, 16)  # change positions 7..11
    hx, hy = m(x), m(y)
    torch.testing.assert_close(hx[:, :7], hy[:, :7])
    assert not torch.allclose(hx[:, 7:], hy[:, 7:])
    items = torch.randint(0, 50, (2, 12))
    changed = items.clone()
    changed[:, -1] = (changed[:, -1] + 1) % 50
    torch.testing.assert_close(m.forward_items(items)[:, :-1], m.forward_items(changed)[:, :-1])


def test_left_padding_is_invisible_to_real_positions():
    m = model()
    pad = m.pad
    items = torch.tensor([[pad, pad, pad, 4, 8, 15, 16, 23],
                          [pad, 42, 41, 40, 39, 38, 37, 36],
                          [1, 2, 3, 4, 5, 6, 7, 8]])
    mask = items == pad
    hidden = m.forward_items(items)
    assert torch.isfinite(hidden).all()  # a fully padded prefix yields no NaN
    assert m.embed_items(items)[mask].abs().max() == 0  # the padding row is zero
    # whatever sits at padded positions, real positions see the same thing
    x = m.embed_items(items)
    noisy = x.clone()
    noisy[mask] = torch.randn(int(mask.sum()), 16) * 10
    torch.testing.assert_close(m(x, mask)[~mask], m(noisy, mask)[~mask])
    # a row without padding goes through the plain causal path and agrees with the masked path
    torch.testing.assert_close(m(x[2:], mask[2:]), m(x[2:]))
    torch.testing.assert_close(hidden[2:], m.forward_items(items[2:]))


def test_cutting_leading_padding_with_shifted_positions_changes_nothing():
    m = model()
    pad = m.pad
    items = torch.tensor([[pad, pad, pad, pad, pad, 4, 8, 15],
                          [pad, pad, pad, pad, 42, 41, 40, 39]])
    full = m.forward_items(items)                                 # positions 0..7
    cut = m.forward_items(items[:, 4:], torch.arange(4, 8))       # positions 4..7
    torch.testing.assert_close(full[:, 4:][items[:, 4:] != pad], cut[items[:, 4:] != pad])


def test_padding_embedding_gets_no_gradient_and_dropout_only_in_training():
    m = model(dropout=0.5).train()
    items = torch.tensor([[m.pad, 1, 2, 3], [m.pad, m.pad, 5, 6]])
    m.item_logits(m.forward_items(items)).sum().backward()
    assert m.item_emb.weight.grad[m.pad].abs().max() == 0
    torch.manual_seed(1)
    a = m.forward_items(items)
    torch.manual_seed(2)
    b = m.forward_items(items)
    assert not torch.allclose(a, b)
    m.eval()
    torch.testing.assert_close(m.forward_items(items), m.forward_items(items))


def test_too_long_and_bad_configs():
    with pytest.raises(ValueError, match="max_len=12"):
        model()(torch.randn(1, 13, 16))
    with pytest.raises(ValueError, match="multiple of heads"):
        TransformerConfig(num_items=5, dim=10, heads=4)
    with pytest.raises(ValueError, match="dropout"):
        TransformerConfig(num_items=5, dropout=1.0)
