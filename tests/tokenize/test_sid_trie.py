"""Semantic IDs: unique codes, the trie against the SID table, determinism, supervision, errors."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from g2rec.errors import ConfigError, G2RecError
from g2rec.tokenize.semantic_ids import (
    SemanticIDConfig,
    agreement,
    deduplicate,
    semantic_ids,
    unresolved_collisions,
)
from g2rec.tokenize.trie import SIDTrie

torch.set_num_threads(1)


def _clustered(n=600, d=16, groups=6, seed=0):
    """Vectors in ``groups`` blobs, and a membership that mostly follows the blobs."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, groups, n)
    x = rng.normal(size=(groups, d))[label] * 2 + rng.normal(size=(n, d))
    proto = np.where(rng.random(n) < 0.9, label, rng.integers(0, groups, n))
    return x.astype(np.float32), sp.csr_matrix((np.ones(n), (np.arange(n), proto)), shape=(n, groups))


def test_dedup_makes_codes_unique_and_keeps_unique_ones():
    codes = np.array([[1, 2], [1, 2], [0, 5], [1, 2], [0, 5], [3, 3]])
    out, info = deduplicate(codes)
    assert out.shape == (6, 3) and unresolved_collisions(out) == 0
    assert out[:, 2].tolist() == [0, 1, 0, 2, 1, 0]  # rank within the group, by item index
    assert info == {"colliding_items": 5, "collision_groups": 2, "max_group_size": 3, "extra_level": True}
    same, info = deduplicate(np.array([[0, 1], [1, 0]]))
    assert same.shape == (2, 2) and not info["extra_level"]


def test_trie_next_tokens_match_the_sid_table():
    rng = np.random.default_rng(3)
    codes, _ = deduplicate(rng.integers(0, [5, 4, 6], size=(300, 3)))
    vocab = np.array([5, 4, 6, codes[:, 3].max() + 1])
    trie = SIDTrie.build(codes, vocab)
    assert trie.levels == 4 and trie.vocab == max(6, vocab[3]) and trie.token_offsets.tolist() == [0, 5, 9, 15]
    # walk every prefix of every SID: next tokens = the distinct next codes among SIDs with that prefix
    for depth in range(4):
        prefixes = {tuple(r) for r in codes[:, :depth].tolist()}
        for prefix in prefixes:
            node = 0
            for tok in prefix:
                node = int(trie.child(np.array([node]), np.array([tok]))[0])
            rows = codes[(codes[:, :depth] == np.array(prefix, dtype=int)).all(1)] if depth else codes
            assert trie.next_tokens(node).tolist() == sorted(set(rows[:, depth].tolist()))
    assert (trie.lookup(codes) == np.arange(len(codes))).all()
    # invalid continuations and batched masks, numpy and torch alike
    bad = codes.copy()
    bad[:, 0] = 5  # out of level-1 range
    assert (trie.lookup(bad) == -1).all()
    nodes = trie.child(np.zeros(5, dtype=np.int64), np.arange(5))
    mask = trie.allowed_mask(np.r_[0, nodes, -1])
    assert mask[0, :5].tolist() == [bool(v) for v in np.isin(np.arange(5), codes[:, 0])] and not mask[-1].any()
    for b, node in enumerate(nodes, start=1):
        if node >= 0:
            assert np.flatnonzero(mask[b]).tolist() == trie.next_tokens(node).tolist()
    tmask = trie.allowed_mask(torch.from_numpy(np.r_[0, nodes, -1]))
    assert isinstance(tmask, torch.Tensor) and (tmask.numpy() == mask).all()
    assert (trie.lookup(torch.from_numpy(codes)).numpy() == np.arange(len(codes))).all()
    leaves = trie.items(torch.arange(trie.num_nodes))
    assert sorted(leaves[leaves >= 0].tolist()) == list(range(len(codes)))


def test_trie_round_trip_and_duplicates_refused(tmp_path):
    codes, _ = deduplicate(np.random.default_rng(0).integers(0, 3, size=(50, 2)))
    trie = SIDTrie.build(codes)
    trie.save(tmp_path / "trie.npz")
    again = SIDTrie.load(tmp_path / "trie.npz")
    for name in ("indptr", "tokens", "children", "depth", "item", "vocab_sizes"):
        assert (getattr(trie, name) == getattr(again, name)).all()
    with pytest.raises(G2RecError, match="not unique"):
        SIDTrie.build(np.array([[1, 2], [1, 2]]))


@pytest.mark.parametrize("method", ["rkmeans", "rqvae"])
def test_same_seed_same_codes_and_all_unique(method):
    x, member = _clustered()
    config = SemanticIDConfig(method=method, levels=2, codebook_size=8, rqvae_epochs=3, kmeans_iterations=5,
                              compare_unsupervised=False)
    a = semantic_ids(x, config, member)
    b = semantic_ids(x, config, member)
    assert (a.codes == b.codes).all() and a.report["unresolved_collisions"] == 0
    assert len(np.unique(a.codes, axis=0)) == len(x)
    assert [u["level"] for u in a.report["codebook_usage"]] == list(range(1, a.codes.shape[1] + 1))


def test_supervision_raises_code_prototype_agreement():
    x, member = _clustered(n=800, groups=8, seed=1)
    x = x + np.random.default_rng(5).normal(size=x.shape).astype(np.float32) * 3  # blur the blobs
    sids = semantic_ids(x, SemanticIDConfig(levels=2, codebook_size=16, supervision=5.0), member)
    agree = sids.report["prototype_agreement"]
    assert agree["supervised"]["purity"] > agree["unsupervised"]["purity"]
    assert agree["supervised"]["nmi"] > agree["unsupervised"]["nmi"]
    assert agreement(np.arange(10) % 2, np.arange(10) % 2) == {"nmi": 1.0, "purity": 1.0}


def test_bad_sid_options_fail_clearly():
    with pytest.raises(ConfigError, match="sid_method='pq' is not one of: rkmeans, rqvae"):
        SemanticIDConfig(method="pq")
    with pytest.raises(ConfigError, match="codebook_size=1"):
        SemanticIDConfig(codebook_size=1)
    with pytest.raises(ConfigError, match="larger than the 10 items"):
        semantic_ids(np.zeros((10, 4), np.float32), SemanticIDConfig(codebook_size=16))
