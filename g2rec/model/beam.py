"""Beam search over semantic IDs, constrained to the trie of real items.

At level ``l`` every beam ``b`` holds a trie node ``n_b`` (the prefix ``c_1..c_{l-1}``) and a
log-probability ``s_b``; the candidates are ``s_b + log p(c | h, prefix)`` for the codes ``c``
that continue a real item's code (``children[l][n_b, c] >= 0``; the others get ``-inf``).
The best ``W`` candidates over all beams of a user survive. After ``L`` levels each beam is
exactly one item, so every output is a real item (hallucination rate 0 by construction).

Unconstrained decoding (``trie_mask=False``) keeps the trie only to read off which outputs
are items: a generated code with no item is a hallucination, returned as item ``-1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class DenseTrie:
    """Prefix trie of the items' codes as dense per-level tables.

    children: ``children[l]`` ``(N_l, K_l)`` long, the node reached from level-``l`` node ``n``
        by code ``c``, ``-1`` where no item has that prefix (``N_0 = 1``: the root).
    items: ``(N_L,)`` long, the item at each full-code node.
    """

    children: list[torch.Tensor]
    items: torch.Tensor

    @classmethod
    def from_codes(cls, codes: np.ndarray, sizes: tuple[int, ...]) -> DenseTrie:
        """Build from ``codes (I, L)`` (unique rows) and the codebook sizes ``K_l``."""
        codes = np.asarray(codes, dtype=np.int64)
        node = np.zeros(len(codes), dtype=np.int64)  # every item starts at the root
        children, count = [], 1
        for level, k in enumerate(sizes):
            key = node * k + codes[:, level]
            uniq, nxt = np.unique(key, return_inverse=True)
            table = np.full((count, k), -1, dtype=np.int64)
            table[uniq // k, uniq % k] = np.arange(len(uniq))
            children.append(torch.from_numpy(table))
            node, count = nxt.ravel(), len(uniq)
        items = np.full(count, -1, dtype=np.int64)
        items[node] = np.arange(len(codes))
        return cls(children, torch.from_numpy(items))

    def next_tokens(self, level: int, node: int) -> list[int]:
        """The codes that continue a real item's prefix at ``node`` of ``level``."""
        return torch.nonzero(self.children[level][node] >= 0).ravel().tolist()


@torch.no_grad()
def beam_search(code_head, hidden: torch.Tensor, trie: DenseTrie, width: int = 20,
                trie_mask: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``width`` most probable items (code sequences) after each user's state.

    Args:
        code_head: a :class:`g2rec.model.generator.CodeHead`.
        hidden: ``(B, D)`` the generator's last hidden state per user.
        trie: the items' code trie.
        width: beam width W (also the number of items returned).
        trie_mask: constrain every step to real prefixes (default) or decode freely.

    Returns:
        ``items (B, W)`` long (``-1`` for a hallucinated or missing beam) and ``scores (B, W)``
        log-probabilities, best first.
    """
    B, D = hidden.shape
    state = hidden[:, None, :]                                                 # (B, 1, D)
    score = hidden.new_zeros(B, 1)
    node = torch.zeros(B, 1, dtype=torch.long)                                 # root; -1 = off-trie
    for level, table in enumerate(trie.children):
        logp = torch.log_softmax(code_head.level_logits(state, level), dim=-1)  # (B, b, K)
        K = logp.shape[-1]
        nxt = table[node.clamp_min(0)]                                         # (B, b, K)
        nxt[node < 0] = -1
        if trie_mask:
            logp = logp.masked_fill(nxt < 0, float("-inf"))
        cand = (score[..., None] + logp).reshape(B, -1)                        # (B, b*K)
        score, flat = cand.topk(min(width, cand.shape[1]), dim=1)
        beam, code = flat // K, flat % K
        node = nxt.reshape(B, -1).gather(1, flat)
        state = code_head.step(state.gather(1, beam[..., None].expand(-1, -1, D)), level, code)
    items = torch.where(node >= 0, trie.items[node.clamp_min(0)], torch.full_like(node, -1))
    items[~torch.isfinite(score)] = -1
    return items, score
