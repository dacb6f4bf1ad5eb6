"""Page-wise next-token prediction (GenRec): the windows' targets and the loss against a
reference written out term by term."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from g2rec.data.sequences import TRAIN, Sequences
from g2rec.errors import ConfigError
from g2rec.model.generator import Generator, GeneratorConfig, InterestContext
from g2rec.train import loop
from g2rec.train.loop import training_windows

I = 12


def sequences(pages=True):
    """Two users: items 0..5 in pages {0,1},{2},{3,4,5}; items 6..8 in pages {6},{7,8}."""
    items = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8])
    page = np.array([0, 0, 1, 2, 2, 2, 3, 4, 4])
    return Sequences(np.arange(2), np.arange(I), np.array([0, 6, 9]), items, np.arange(9), np.full(9, TRAIN, np.int8),
                     page if pages else None).check()


def test_page_windows_target_the_whole_next_page_from_the_position_closing_a_page():
    x, y, users = training_windows(sequences(), max_len=5, windows="all", ntp="page")
    assert x.tolist() == [[0, 1, 2, 3, 4], [I, I, I, 6, 7]] and users.tolist() == [0, 1]
    assert y.shape == (2, 5, 3)
    assert y[0].tolist() == [[I, I, I], [2, I, I], [3, 4, 5], [I, I, I], [I, I, I]]
    assert y[1].tolist() == [[I, I, I]] * 3 + [[7, 8, I], [I, I, I]]
    # point-wise: every next item, from the item before it
    _, yp, _ = training_windows(sequences(), max_len=5, windows="all", ntp="point")
    assert yp[0].tolist() == [1, 2, 3, 4, 5]


def test_page_prefixes_end_each_history_where_its_page_begins():
    x, y, users = training_windows(sequences(), max_len=3, windows="prefixes", ntp="page")
    assert y[:, -1].tolist() == [2, 3, 4, 5, 7, 8]
    assert x.tolist() == [[I, 0, 1], [0, 1, 2], [0, 1, 2], [0, 1, 2], [I, I, 6], [I, I, 6]]
    assert users.tolist() == [0, 0, 0, 0, 1, 1]


def test_page_ntp_needs_pages_and_refuses_a_huge_target_array(monkeypatch):
    with pytest.raises(ConfigError, match="needs pages"):
        training_windows(sequences(pages=False), 5, "all", "page")
    monkeypatch.setattr(loop, "PAGE_TARGET_BYTES", 100)  # 2 windows x 5 positions x 3 targets x 8 bytes = 240
    with pytest.raises(ConfigError, match="smaller --page-gap"):
        training_windows(sequences(), 5, "all", "page")
    assert training_windows(sequences(), 5, "prefixes", "page")[0].shape == (6, 5)


@pytest.mark.parametrize("head", ["items", "sids"])
def test_page_loss_matches_the_written_out_reference(head):
    torch.manual_seed(0)
    codes = torch.stack([torch.arange(I) % 4, torch.arange(I) // 4], 1)
    model = Generator(I, GeneratorConfig(head=head, profiles="none", max_len=5, dim=16, dropout=0.0,
                                         profile_weight=0.0), InterestContext(codes=codes, codebook_sizes=(4, 3))).eval()
    x, y, _ = training_windows(sequences(), max_len=5, windows="all", ntp="page")
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    _, loss = model(x, y)
    h = model.hidden(x)
    terms = []
    for b in range(y.shape[0]):
        for t in range(y.shape[1]):
            for target in y[b, t].tolist():
                if target == I:
                    continue
                if head == "items":
                    terms.append(-F.log_softmax(h[b, t] @ model.item_vectors().T, -1)[target])
                else:  # mean over the levels of -log p(c_l | h, c_<l)
                    state, nll = h[b, t], 0.0
                    for level in range(2):
                        c = model.codes[target, level]
                        nll = nll - F.log_softmax(model.code_head.level_logits(state, level), -1)[c]
                        state = model.code_head.step(state, level, c)
                    terms.append(nll / 2)
    assert len(terms) == 6  # pages {2} and {3, 4, 5} of user 0, {7, 8} of user 1
    assert torch.allclose(loss, torch.stack(terms).mean(), atol=1e-6)
