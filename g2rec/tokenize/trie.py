"""Prefix trie over the semantic IDs, as flat arrays (a CSR over prefix nodes), for
constrained beam search: only continuations that are a real item's SID are allowed.

Nodes are the distinct prefixes: node 0 is the empty prefix (root), then all prefixes of
length 1 in lexicographic order, then length 2, ... down to the full SIDs (leaves, one per
item). Node ``u``'s outgoing edges are ``indptr[u]:indptr[u+1]``, with ``tokens`` (ascending)
and ``children``; ``item[u]`` is the item index of a leaf (-1 for inner nodes). Tokens are
level-local code ids (``0 <= token < vocab_sizes[level]``); a model that uses one shared
vocabulary adds ``token_offsets[level]``.

Every query is vectorized over a batch of beams and takes numpy arrays or torch tensors
(any device; the result comes back in the same kind)::

    trie.next_tokens(node)            # allowed tokens after one prefix node
    trie.child(nodes, tokens)         # (B,) child node ids, -1 where not a valid continuation
    trie.allowed_mask(nodes)          # (B, V) bool, V = max vocabulary size
    trie.items(nodes)                 # (B,) item index of leaf nodes, -1 otherwise
    trie.lookup(codes)                # (B, L) SIDs -> item index or -1
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import G2RecError

FIELDS = ("indptr", "tokens", "children", "depth", "item", "vocab_sizes")


@dataclass
class SIDTrie:
    indptr: np.ndarray  # (N + 1,) int64
    tokens: np.ndarray  # (T,) int64, T = N - 1 edges
    children: np.ndarray  # (T,) int64
    depth: np.ndarray  # (N,) int64
    item: np.ndarray  # (N,) int64
    vocab_sizes: np.ndarray  # (L,) int64

    @property
    def num_nodes(self) -> int:
        return len(self.depth)

    @property
    def levels(self) -> int:
        return len(self.vocab_sizes)

    @property
    def vocab(self) -> int:
        return int(self.vocab_sizes.max(initial=0))

    @property
    def token_offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.vocab_sizes)[:-1]]).astype(np.int64)

    @classmethod
    def build(cls, codes: np.ndarray, vocab_sizes=None) -> SIDTrie:
        """Trie of the ``(I, L)`` unique codes (row i = item i's SID)."""
        codes = np.asarray(codes, dtype=np.int64)
        n, levels = codes.shape
        order = np.lexsort(codes.T[::-1])
        sorted_codes = codes[order]
        if n > 1 and not np.any(sorted_codes[1:] != sorted_codes[:-1], axis=1).all():
            raise G2RecError("semantic IDs are not unique: resolve collisions before building the trie")
        vocab_sizes = np.asarray(vocab_sizes if vocab_sizes is not None else codes.max(0) + 1, dtype=np.int64)
        parent_of_row = np.zeros(n, dtype=np.int64)  # node of each sorted row's prefix at the previous depth
        new_prefix = np.zeros(n, dtype=bool)
        parents, tokens, children, depth = [], [], [], [np.zeros(1, dtype=np.int64)]
        next_id = 1
        for d in range(levels):
            new_prefix |= np.r_[True, sorted_codes[1:, d] != sorted_codes[:-1, d]]  # prefix of length d+1 starts
            rows = np.flatnonzero(new_prefix)
            ids = next_id + np.arange(len(rows))
            parents.append(parent_of_row[rows])
            tokens.append(sorted_codes[rows, d])
            children.append(ids)
            depth.append(np.full(len(rows), d + 1, dtype=np.int64))
            parent_of_row = ids[np.cumsum(new_prefix) - 1]
            next_id += len(rows)
        parents, depth = np.concatenate(parents), np.concatenate(depth)
        item = np.full(next_id, -1, dtype=np.int64)
        item[parent_of_row] = order
        indptr = np.concatenate([[0], np.cumsum(np.bincount(parents, minlength=next_id))]).astype(np.int64)
        return cls(indptr, np.concatenate(tokens), np.concatenate(children), depth, item, vocab_sizes)

    # --- queries -----------------------------------------------------------------------
    def next_tokens(self, node: int) -> np.ndarray:
        """Allowed tokens after prefix node ``node`` (ascending)."""
        return self.tokens[self.indptr[node]:self.indptr[node + 1]]

    def child(self, nodes, tokens):
        """Child node of each ``(node, token)``; -1 where ``token`` does not continue ``node``
        (or ``node`` is -1)."""
        if isinstance(nodes, torch.Tensor):
            out = self.child(nodes.cpu().numpy(), torch.as_tensor(tokens).cpu().numpy())
            return torch.from_numpy(out).to(nodes.device)
        nodes, tokens = np.asarray(nodes, dtype=np.int64), np.asarray(tokens, dtype=np.int64)
        stride = self.vocab + 1
        edge_parent = np.repeat(np.arange(self.num_nodes), np.diff(self.indptr))
        keys = edge_parent * stride + self.tokens
        query = nodes * stride + np.clip(tokens, 0, self.vocab)
        pos = np.minimum(np.searchsorted(keys, query), max(len(keys) - 1, 0))
        ok = (nodes >= 0) & (tokens >= 0) & (tokens < self.vocab) & (len(keys) > 0)
        ok &= keys[pos] == query if len(keys) else False
        return np.where(ok, self.children[pos] if len(keys) else -1, -1)

    def allowed_mask(self, nodes):
        """``(B, V)`` bool: ``mask[b, t]`` iff token t continues prefix node ``nodes[b]``."""
        if isinstance(nodes, torch.Tensor):
            return torch.from_numpy(self.allowed_mask(nodes.cpu().numpy())).to(nodes.device)
        nodes = np.asarray(nodes, dtype=np.int64)
        mask = np.zeros((len(nodes), self.vocab), dtype=bool)
        valid = nodes >= 0
        start, count = self.indptr[nodes[valid]], np.diff(self.indptr)[nodes[valid]]
        beam = np.repeat(np.flatnonzero(valid), count)
        edge = np.repeat(start - np.cumsum(count) + count, count) + np.arange(int(count.sum()))
        mask[beam, self.tokens[edge]] = True
        return mask

    def items(self, nodes):
        """Item index of each leaf node, -1 for inner nodes (and for -1)."""
        if isinstance(nodes, torch.Tensor):
            return torch.from_numpy(self.items(nodes.cpu().numpy())).to(nodes.device)
        nodes = np.asarray(nodes, dtype=np.int64)
        return np.where(nodes >= 0, self.item[np.maximum(nodes, 0)], -1)

    def lookup(self, codes):
        """``(B, L)`` SIDs -> ``(B,)`` item index, -1 where a code is no item's SID."""
        if isinstance(codes, torch.Tensor):
            return torch.from_numpy(self.lookup(codes.cpu().numpy())).to(codes.device)
        codes = np.asarray(codes, dtype=np.int64)
        nodes = np.zeros(len(codes), dtype=np.int64)
        for d in range(codes.shape[1]):
            nodes = self.child(nodes, codes[:, d])
        return self.items(nodes)

    # --- files ---------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        with open(path, "wb") as f:
            np.savez(f, **{k: getattr(self, k) for k in FIELDS})

    @classmethod
    def load(cls, path: Path) -> SIDTrie:
        with np.load(path, allow_pickle=False) as z:
            return cls(*(z[k] for k in FIELDS))
