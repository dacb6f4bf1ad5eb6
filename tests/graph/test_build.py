"""The co-engagement graph: leakage, sparsification accuracy, weights, pruning, determinism."""

import numpy as np
import pytest
import scipy.sparse as sp

from g2rec.data.prepare import prepare_sequences
from g2rec.data.readers import read_log
from g2rec.data.sequences import TRAIN, Sequences
from g2rec.errors import ConfigError
from g2rec.graph.build import GraphConfig, build_coengagement_graph, top_k_per_node
from g2rec.graph.pairs import hashed_uniform, sparsification_pairs_per_user
from tests.conftest import BEAUTY, MOVIELENS, PHISHING


@pytest.fixture(scope="module")
def movielens():
    return prepare_sequences(read_log(MOVIELENS))[0]


@pytest.fixture(scope="module")
def beauty():
    return prepare_sequences(read_log(BEAUTY))[0]


def _laplacian(graph):
    graph = graph.astype(np.float64)
    return sp.diags(np.asarray(graph.sum(axis=1)).ravel()) - graph


def _brute_force_full_graph(seq: Sequences) -> sp.csr_matrix:
    """Every pair of positions in each user's training prefix, counted by a plain loop."""
    rows, cols = [], []
    for u in range(seq.num_users):
        s, e = seq.offsets[u], seq.offsets[u + 1]
        items = seq.items[s:e][seq.split[s:e] == TRAIN]
        for a in range(len(items)):
            for b in range(a + 1, len(items)):
                if items[a] != items[b]:
                    rows += [items[a], items[b]]
                    cols += [items[b], items[a]]
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(seq.num_items, seq.num_items))


def _small_sequences(seed=0, users=40, items=25):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 12, users)
    flat = rng.integers(0, items, lengths.sum())
    offsets = np.r_[0, np.cumsum(lengths)]
    split = np.zeros(len(flat), np.int8)
    split[offsets[1:] - 1], split[offsets[1:] - 2] = 2, 1
    return Sequences(np.arange(users), np.arange(items), offsets, flat, np.arange(len(flat)), split)


def test_exact_graph_matches_brute_force_on_generated_sequences():
    seq = _small_sequences()
    graph, info = build_coengagement_graph(seq, GraphConfig(pairs_per_user=10**6, chunk_pairs=50))
    assert info["sampled_users"] == 0
    np.testing.assert_allclose(graph.toarray(), _brute_force_full_graph(seq).toarray())


def test_window_graph_matches_brute_force():
    seq = _small_sequences(1)
    graph, _ = build_coengagement_graph(seq, GraphConfig(builder="window", window=2, chunk_pairs=7))
    expected = np.zeros((seq.num_items,) * 2)
    for u in range(seq.num_users):
        items = seq.items[seq.offsets[u]:seq.offsets[u + 1]][:-2]
        for a in range(len(items)):
            for b in range(a + 1, min(a + 3, len(items))):
                if items[a] != items[b]:
                    expected[items[a], items[b]] += 1
                    expected[items[b], items[a]] += 1
    np.testing.assert_allclose(graph.toarray(), expected)


def test_no_validation_or_test_item_reaches_the_graph(beauty):
    graph, _ = build_coengagement_graph(beauty)
    train_items = np.zeros(beauty.num_items, bool)
    train_items[beauty.items[beauty.split == TRAIN]] = True
    degree = np.diff(graph.indptr)
    assert (degree[~train_items] == 0).all() and (~train_items).sum() > 0
    # and no edge joins two items that are not together in some user's training prefix
    np.testing.assert_array_equal((graph > 0).toarray(), (_brute_force_full_graph(beauty) > 0).toarray())


def test_sampled_graph_keeps_the_laplacian_within_eps(movielens):
    """G2Rec's bound: x^T L_sampled x within (1 +- eps) of x^T L_full x, here on real MovieLens."""
    full, _ = build_coengagement_graph(movielens, GraphConfig(pairs_per_user=10**9))
    l_full = _laplacian(full)
    x = np.random.default_rng(0).standard_normal((movielens.num_items, 100))
    base = np.einsum("ij,ij->j", x, l_full @ x)
    for eps in (0.5, 0.9):
        graph, info = build_coengagement_graph(movielens, GraphConfig(eps=eps, seed=3))
        assert info["sampled_users"] > 100  # long MovieLens users really are sampled
        assert info["pairs_emitted"] < 0.75 * info["pairs_full"]
        ratio = np.einsum("ij,ij->j", x, _laplacian(graph) @ x) / base
        assert np.all(np.abs(ratio - 1) <= eps), (eps, ratio.min(), ratio.max())
    # a handful of pairs per user is far from the bound and visibly worse
    rough, _ = build_coengagement_graph(movielens, GraphConfig(pairs_per_user=5, seed=3))
    per_item = np.abs(np.asarray(rough.sum(1)).ravel() / np.maximum(np.asarray(full.sum(1)).ravel(), 1) - 1)
    assert per_item.max() > 0.5


def test_bound_grows_like_n_log_items():
    m = sparsification_pairs_per_user(np.array([10, 20]), 1000, eps=0.5, delta=0.1)
    assert m[1] == pytest.approx(2 * m[0], abs=1)
    assert sparsification_pairs_per_user(np.array([10]), 1000, 0.25, 0.1)[0] > m[0]


def test_same_seed_same_graph_any_chunking(movielens):
    a, _ = build_coengagement_graph(movielens, GraphConfig(eps=0.9, seed=7))
    b, _ = build_coengagement_graph(movielens, GraphConfig(eps=0.9, seed=7, chunk_pairs=50_000))
    c, _ = build_coengagement_graph(movielens, GraphConfig(eps=0.9, seed=8))
    assert (a != b).nnz == 0
    assert (a != c).nnz > 0


@pytest.mark.parametrize("weight", ["decay", "pmi"])
def test_spilled_reduce_gives_the_in_memory_graph_array_by_array(beauty, tmp_path, weight):
    """Many chunks (partial sums spilled to disk, summed range by range) = one chunk, bit for bit."""
    one, _ = build_coengagement_graph(beauty, GraphConfig(weight=weight))
    many, _ = build_coengagement_graph(beauty, GraphConfig(weight=weight, chunk_pairs=20_000), spill_dir=tmp_path)
    for name in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(one, name), getattr(many, name)), name
    assert many.has_sorted_indices and many.data.dtype == np.float32
    assert list(tmp_path.iterdir()) == []  # the spill is removed


def test_hashed_uniform_is_uniform_and_keyed():
    u = hashed_uniform(1, np.zeros(100_000, np.int64), np.arange(100_000), 0)
    assert abs(u.mean() - 0.5) < 0.01 and u.min() >= 0 and u.max() < 1
    assert not np.array_equal(u, hashed_uniform(2, np.zeros(100_000, np.int64), np.arange(100_000), 0))


@pytest.mark.parametrize("weight", ["count", "decay", "cosine", "pmi"])
def test_weightings_are_symmetric_finite_and_positive(shared_data, weight):
    seq, _ = prepare_sequences(read_log(PHISHING))
    graph, _ = build_coengagement_graph(seq, GraphConfig(weight=weight, half_life=86400.0))
    assert (graph != graph.T).nnz == 0 and graph.diagonal().sum() == 0
    assert np.isfinite(graph.data).all() and (graph.data > 0).all()


def test_decay_cosine_and_pmi_values_on_a_tiny_case():
    # one user: items 0, 1, 2 at times 0, 10, 30 (then valid, test)
    seq = Sequences(np.arange(1), np.arange(5), np.array([0, 5]), np.array([0, 1, 2, 3, 4]),
                    np.array([0, 10, 30, 40, 50]), np.array([0, 0, 0, 1, 2], np.int8))
    decay, _ = build_coengagement_graph(seq, GraphConfig(weight="decay", half_life=10.0))
    assert decay[0, 1] == pytest.approx(0.5) and decay[0, 2] == pytest.approx(0.125)
    cosine, _ = build_coengagement_graph(seq, GraphConfig(weight="cosine"))
    assert cosine[0, 1] == pytest.approx(1.0)
    pmi, _ = build_coengagement_graph(seq, GraphConfig(weight="pmi"))
    assert pmi[0, 1] == pytest.approx(np.log(1 * 6 / (2 * 2)))


def test_min_count_and_top_k(beauty):
    full, _ = build_coengagement_graph(beauty)
    pruned, _ = build_coengagement_graph(beauty, GraphConfig(min_count=2))
    assert pruned.nnz < full.nnz and pruned.data.min() >= 2
    top, _ = build_coengagement_graph(beauty, GraphConfig(top_k=10))
    assert (top != top.T).nnz == 0
    # every node keeps at least min(k, degree) of its strongest edges
    degree = np.diff(full.indptr)
    assert np.all(np.diff(top.indptr) >= np.minimum(degree, 10))
    strongest = np.asarray(full.max(axis=1).todense()).ravel()
    np.testing.assert_allclose(np.asarray(top.max(axis=1).todense()).ravel(), strongest)


def test_top_k_keeps_the_k_largest_per_row():
    g = sp.csr_matrix(np.array([[0, 5, 1, 3], [5, 0, 2, 0], [1, 2, 0, 4], [3, 0, 4, 0]], float))
    pruned = top_k_per_node(g, 1).toarray()
    assert pruned[0, 1] == 5 and pruned[2, 3] == 4 and pruned[0, 2] == 0


def test_bad_graph_options_fail_fast():
    with pytest.raises(ConfigError, match="sampled, window"):
        GraphConfig(builder="knn")
    with pytest.raises(ConfigError, match="eps"):
        GraphConfig(eps=1.5)
