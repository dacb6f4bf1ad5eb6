"""ETEGRec: the alternation keeps codes unique and the trie true, its losses match written-out
references, each phase trains only its part, and a checkpoint brings the codes back."""

import numpy as np
import pytest
import torch

from g2rec.errors import ConfigError, G2RecError
from g2rec.model.beam import beam_search
from g2rec.model.encdec import EncoderDecoderConfig
from g2rec.model.etegrec import ETEGRec, first_rows, info_nce, sia_loss, unique_codes
from g2rec.tokenize.rqvae import RQVAEConfig

I, K = 200, 16


def config(**kw):
    base = dict(dim=32, encoder_layers=1, decoder_layers=1, heads=2, head_dim=16, ff_mult=2, max_len=6, user_tokens=0,
                dropout=0.0, tokenizer="trained", codes_method="rqvae", sia_weight=0.5, psa_weight=0.5, warm_epochs=0)
    return EncoderDecoderConfig(**{**base, **kw})


def item_vectors(seed=0):
    return np.random.default_rng(seed).normal(size=(I, 12)).astype(np.float32)


def model(**kw):
    torch.manual_seed(0)
    return ETEGRec.pretrained(I, config(**kw), item_vectors(), codebook_size=K, rq=RQVAEConfig(epochs=20, latent_dim=8))


def batch(seed=0, B=32):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, I, (B, 6), generator=g), torch.randint(0, I, (B, 6), generator=g)


def test_every_tokenizer_update_keeps_codes_unique_and_the_trie_true():
    m = model(tokenizer_lr=0.01)
    opt = torch.optim.AdamW(m.param_groups(1e-3))
    start, changed = m.codes[:-1].clone(), False
    for epoch in range(1, 7):
        m.begin_epoch(epoch)
        for step in range(3):
            _, loss = m(*batch(epoch * 10 + step))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        m.end_epoch(epoch)
        codes = m.codes[:-1].numpy()
        assert len(np.unique(codes, axis=0)) == I                                    # every item its own SID
        assert (m.tokens[:-1] == m.codes[:-1] + torch.tensor(m.offsets)).all()       # the encoder reads them
        assert np.array_equal(m.trie().lookup(codes), np.arange(I))                  # the trie is the table
        raw = m.tokenizer.quantize(m.tokenizer.encoder(m.semantic))[0].numpy()
        assert np.array_equal(codes[:, :-1], raw)                                    # what the tokenizer says now
        changed |= not torch.equal(m.codes[:-1], start)
    assert changed  # the tokenizer did move some items


def test_each_phase_trains_its_own_part():
    m = model()
    schedule = {1: "tokenizer", 2: "generator", 3: "tokenizer", 4: "generator"}
    for epoch, phase in schedule.items():
        m.begin_epoch(epoch)
        assert m.phase == phase
        _, loss = m(*batch(epoch))
        loss.backward()
        grads = {n.startswith("tokenizer.") for n, p in m.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
        assert grads == {phase == "tokenizer"}
        m.zero_grad(set_to_none=True)
        m.end_epoch(epoch)
    late = model(tokenizer_epochs=2)
    late.begin_epoch(3)
    assert late.phase == "generator"  # frozen for good after tokenizer_epochs
    warm = model(warm_epochs=2)
    warm.begin_epoch(2)
    w = warm(*batch())[1]
    warm.begin_epoch(4)
    assert not torch.isclose(w, warm(*batch())[1])  # the alignment terms switch on after warm_epochs


def test_alignment_losses_against_written_out_references():
    g = torch.Generator().manual_seed(1)
    la = torch.log_softmax(torch.randn(5, 3, 4, generator=g), -1)
    lb = torch.log_softmax(torch.randn(5, 3, 4, generator=g), -1)
    ref = 0.0
    for row in range(5):
        for level in range(3):
            p, q = la[row, level].exp(), lb[row, level].exp()
            ref += float((p * (p / q).log()).sum() + (q * (q / p).log()).sum())
    assert sia_loss(la, lb).item() == pytest.approx(ref / 15, rel=1e-5)
    a, b, tau = torch.randn(4, 6, generator=g), torch.randn(4, 6, generator=g), 0.5
    cos = [[float(a[i] @ b[j] / a[i].norm() / b[j].norm()) / tau for j in range(4)] for i in range(4)]
    ref = 0.0
    for i in range(4):
        ref -= cos[i][i] - np.log(sum(np.exp(cos[i][j]) for j in range(4)))   # z~ against every h
        ref -= cos[i][i] - np.log(sum(np.exp(cos[j][i]) for j in range(4)))   # h against every z~
    assert info_nce(a, b, tau).item() == pytest.approx(ref / 4, rel=1e-5)
    assert first_rows(torch.tensor([5, 3, 5, 1, 3])).tolist() == [3, 1, 0]


def test_a_checkpoint_brings_the_trained_codes_and_decodes_the_same():
    m = model(tokenizer_lr=0.01)
    opt = torch.optim.AdamW(m.param_groups(1e-3))
    for epoch in (1, 2):
        m.begin_epoch(epoch)
        loss = m(*batch(epoch))[1]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        m.end_epoch(epoch)
    fresh = ETEGRec(I, m.config, np.zeros((I, 12), np.float32), codebook_size=K, rq=RQVAEConfig(latent_dim=8))
    fresh.load_state_dict(m.state_dict())
    assert torch.equal(fresh.codes, m.codes)
    m.eval(), fresh.eval()
    hist = batch(3, 4)[0]
    with torch.no_grad():
        a = beam_search(*m.decoding(hist), m.trie(), 5)[0]
        b = beam_search(*fresh.decoding(hist), fresh.trie(), 5)[0]
    assert torch.equal(a, b)


def test_collisions_past_the_level_and_bad_options_fail():
    codes = unique_codes(np.array([[1, 2], [1, 2], [0, 0]]), capacity=4)
    assert codes.tolist() == [[1, 2, 0], [1, 2, 1], [0, 0, 0]]
    assert unique_codes(np.array([[1], [2]]), 4).tolist() == [[1, 0], [2, 0]]
    with pytest.raises(G2RecError, match="3 items the same codes"):
        unique_codes(np.zeros((3, 2), dtype=np.int64), capacity=2)
    with pytest.raises(ConfigError, match="tokenizer='trained'"):
        EncoderDecoderConfig(sia_weight=0.1)
    with pytest.raises(ConfigError, match="codes_method='rqvae'"):
        EncoderDecoderConfig(tokenizer="trained")
    with pytest.raises(ConfigError, match="cycle >= 2"):
        config(cycle=1)
