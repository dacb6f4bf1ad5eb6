"""Trie-constrained beam search: only real items, and the exact ranking when the beam is wide enough."""

import itertools

import numpy as np
import pytest
import torch

from g2rec.model.beam import beam_search
from g2rec.model.generator import CodeHead
from g2rec.tokenize.trie import SIDTrie

SIZES = (3, 4, 2)


def setup(seed=0, num_items=10):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    all_codes = np.array(list(itertools.product(*(range(k) for k in SIZES))))
    codes = all_codes[rng.choice(len(all_codes), num_items, replace=False)]
    head = CodeHead(8, SIZES).eval()
    return codes, head, SIDTrie.build(codes, SIZES), torch.randn(5, 8)


def exhaustive_log_prob(head, hidden, codes):
    """log p(codes of every item | hidden): ``(B, I)`` by teacher forcing."""
    out = []
    for row in codes:
        state, total = hidden, torch.zeros(len(hidden))
        for level, c in enumerate(row):
            total += torch.log_softmax(head.level_logits(state, level), -1)[:, c]
            state = head.step(state, level, torch.full((len(hidden),), int(c)))
        out.append(total)
    return torch.stack(out, 1)


def test_wide_beam_is_exact_and_narrow_beam_returns_real_items():
    codes, head, trie, hidden = setup()
    exact = exhaustive_log_prob(head, hidden, codes)
    items, scores = beam_search(head, hidden[:, None], trie, width=len(codes))
    assert torch.equal(items, exact.argsort(1, descending=True))
    assert torch.allclose(scores, exact.sort(1, descending=True).values, atol=1e-5)
    items, _ = beam_search(head, hidden[:, None], trie, width=3)
    assert (items >= 0).all() and all(len(set(row)) == 3 for row in items.tolist())
    assert torch.equal(items[:, 0], exact.argmax(1))  # top-1 found here; checked against exhaustive search


def test_unconstrained_decoding_can_hallucinate():
    codes, head, trie, hidden = setup(num_items=4)
    items, _ = beam_search(head, hidden[:, None], trie, width=6, trie_mask=False)
    assert (items == -1).any()  # 4 of 24 codes are items: most free beams are not
    constrained, _ = beam_search(head, hidden[:, None], trie, width=4)
    assert (constrained >= 0).all()


def test_sequence_log_prob_of_candidates_matches_teacher_forcing():
    codes, head, _, hidden = setup()
    exact = exhaustive_log_prob(head, hidden, codes)                                  # (5, 10)
    candidates = torch.from_numpy(codes)[None].expand(len(hidden), -1, -1)            # (5, 10, L)
    assert torch.allclose(head.sequence_log_prob(hidden, candidates), exact, atol=1e-5)
    subset = torch.tensor([[3, 1], [0, 9], [2, 2], [5, 4], [8, 7]])
    picked = head.sequence_log_prob(hidden, torch.from_numpy(codes)[subset])
    assert torch.allclose(picked, exact.gather(1, subset), atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (the device machine; CI has none)")
def test_beam_on_a_gpu_matches_the_cpu():
    codes, head, trie, hidden = setup()
    items, scores = beam_search(head, hidden[:, None], trie, width=4)
    items_gpu, scores_gpu = beam_search(head.to("cuda"), hidden.to("cuda")[:, None], trie, width=4)
    assert items_gpu.device.type == "cpu" and torch.equal(items_gpu, items)
    assert torch.allclose(scores_gpu, scores, atol=1e-5)
