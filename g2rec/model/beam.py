"""Beam search over semantic IDs, constrained to the trie of real items.

At level ``l`` every beam ``b`` holds a trie node ``n_b`` (the prefix ``c_1..c_{l-1}``) and a
log-probability ``s_b``; the candidates are ``s_b + log p(c | h, prefix)`` for the codes ``c``
that continue a real item's code (``trie.allowed_mask``; the others get ``-inf``).
The best ``W`` candidates over all beams of a user survive. After ``L`` levels each beam is
exactly one item, so every output is a real item (hallucination rate 0 by construction).

Unconstrained decoding (``trie_mask=False``) keeps the trie only to read off which outputs
are items: a generated code with no item is a hallucination, returned as item ``-1``.
"""

from __future__ import annotations

import torch

from ..tokenize.trie import SIDTrie


@torch.no_grad()
def beam_search(decoder, state, trie: SIDTrie, width: int = 20,
                trie_mask: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``width`` most probable items (code sequences) of each user.

    Args:
        decoder: anything with ``level_log_probs(state, level) -> (B, b, K_level)`` (each beam's
            next-code log-probabilities) and ``advance(state, beam, level, code) -> state`` (the
            state after beams ``beam (B, W)`` chose ``code (B, W)``): the generator's
            :class:`~g2rec.model.generator.CodeHead` or the
            :class:`~g2rec.model.encdec.SIDEncoderDecoder`; ``model.decoding(histories)`` gives
            both it and the start ``state`` (one beam per user).
        trie: the items' SID trie (:class:`g2rec.tokenize.trie.SIDTrie`).
        width: beam width W (also the number of items returned).
        trie_mask: constrain every step to real prefixes (default) or decode freely.

    Returns:
        ``items (B, W)`` long (``-1`` for a hallucinated or missing beam) and ``scores (B, W)``
        log-probabilities, best first; on the CPU, where the trie is (the model may be on a GPU).
    """
    score = node = None
    for level in range(trie.levels):
        logp = decoder.level_log_probs(state, level)                           # (B, b, K)
        B, K = logp.shape[0], logp.shape[-1]
        if score is None:
            score = logp.new_zeros(B, 1)
            node = torch.zeros(B, 1, dtype=torch.long)                         # root; -1 = off-trie
        if trie_mask:
            allowed = trie.allowed_mask(node.reshape(-1))[:, :K].reshape(node.shape + (K,))
            logp = logp.masked_fill(~allowed.to(logp.device), float("-inf"))
        cand = (score[..., None] + logp).reshape(B, -1)                        # (B, b*K)
        score, flat = cand.topk(min(width, cand.shape[1]), dim=1)
        beam, code = flat // K, flat % K
        node = trie.child(node.gather(1, beam.cpu()), code.cpu())              # -1 once off the trie
        state = decoder.advance(state, beam, level, code)
    items, score = trie.items(node), score.cpu()
    items[~torch.isfinite(score)] = -1
    return items, score
