"""Soft modularity: the standard modularity for one-hot P (networkx, real graph), the sparse
evaluation against a dense formula, ascent that raises it, merges, Leiden, clear errors."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from g2rec import build_graph
from g2rec.errors import ConfigError
from g2rec.graph.build import GraphConfig
from g2rec.pipeline.runfolder import RunFolder
from g2rec.tokenize.leiden import LeidenConfig, leiden
from g2rec.tokenize.merge import merge_clusters
from g2rec.tokenize.prototypes import NEGLIGIBLE, AscentConfig, compact, optimize, reselect
from g2rec.tokenize.soft_modularity import (
    GraphTensors,
    Membership,
    modularity_of_labels,
    neighbour_overlap,
    soft_modularity,
)
from tests.conftest import MOVIELENS, SCIENTIFIC

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def movielens_graph(tmp_path_factory, shared_data):
    path = tmp_path_factory.mktemp("tok_ml") / "run"
    build_graph(MOVIELENS, path, graph=GraphConfig(top_k=15))  # real, and small enough for networkx
    return RunFolder(path).graph()


@pytest.fixture(scope="module")
def scientific_graph(tmp_path_factory, shared_data):
    path = tmp_path_factory.mktemp("tok_sci") / "run"
    build_graph(SCIENTIFIC, path)
    return RunFolder(path).graph()


def _random_soft(n, c, rho, seed):
    rng = np.random.default_rng(seed)
    idx = np.stack([rng.choice(c, rho, replace=False) for _ in range(n)])
    val = rng.random((n, rho)) * (rng.random((n, rho)) < 0.7)
    val[np.arange(n), 0] += 0.1
    val /= val.sum(1, keepdims=True)
    idx = np.where(val > 0, idx, c)
    return Membership(torch.from_numpy(idx), torch.from_numpy(val), c)


def test_one_hot_equals_networkx_modularity(movielens_graph):
    graph = movielens_graph
    nxg = nx.from_scipy_sparse_array(graph)
    rng = np.random.default_rng(0)
    labelings = [rng.integers(0, 7, graph.shape[0]), leiden(graph).labels]
    for labels, gamma in zip(labelings, (1.0, 1.7)):
        theirs = nx.community.modularity(nxg, [set(np.flatnonzero(labels == c)) for c in np.unique(labels)],
                                         weight="weight", resolution=gamma)
        assert modularity_of_labels(graph, labels, gamma) == pytest.approx(theirs, abs=1e-9)
    assert modularity_of_labels(graph, labelings[1]) > 0.1  # a real partition, not only noise


def test_sparse_evaluation_matches_dense_formula(scientific_graph):
    graph, c = scientific_graph, 12
    p = _random_soft(graph.shape[0], c, 4, seed=1)
    dense_p = p.to_scipy().toarray()
    a = graph.toarray().astype(np.float64)
    k, total = a.sum(1), a.sum()
    expected = (dense_p * (a @ dense_p)).sum() / total - np.sum((dense_p.T @ k) ** 2) / total ** 2
    g = GraphTensors.from_csr(graph)
    assert soft_modularity(g, p) == pytest.approx(expected, rel=1e-10, abs=1e-12)
    ap = a @ dense_p
    idx = p.idx.numpy()
    want = np.where(idx < c, np.take_along_axis(np.c_[ap, np.zeros(len(ap))], idx, 1), 0)
    np.testing.assert_allclose(neighbour_overlap(g, p).numpy(), want, atol=1e-9)


def test_reselect_keeps_the_best_clusters_by_normalized_gradient(scientific_graph):
    graph, c, rho, gamma = scientific_graph, 30, 3, 1.3
    p = _random_soft(graph.shape[0], c, rho, seed=2)
    val = p.val.numpy().copy()
    val[:, 2] = np.where(p.idx[:, 2].numpy() < c, 1e-12, 0.0)  # negligible: dropped first
    p = Membership(p.idx, torch.from_numpy(val / val.sum(1, keepdims=True)), c)
    new = reselect(GraphTensors.from_csr(graph), p, gamma)
    # brute force, dense: candidates = own clusters (above NEGLIGIBLE) and neighbours' clusters
    own = p.to_scipy().toarray()
    own[own < NEGLIGIBLE] = 0
    a = graph.toarray().astype(np.float64)
    np.fill_diagonal(a, 0)
    k, total = a.sum(1), a.sum()
    ap = a @ own
    score = ap / np.maximum(k, 1e-300)[:, None] - gamma * (p.cluster_mass(torch.from_numpy(k)).numpy() / total)
    score = np.where((ap > 0) | (own > 0), score, -np.inf)
    score[np.arange(len(own)), own.argmax(1)] = np.inf  # the largest membership always stays
    for i in range(len(own)):
        order = np.lexsort((np.arange(c), -score[i]))  # best first, ties: lower cluster id
        want = [int(j) for j in order[:rho] if score[i, j] > -np.inf]
        got = new.idx[i].numpy()
        assert list(got[: len(want)]) == want and (got[len(want):] == c).all(), i
        kept = own[i, want] / own[i, want].sum()
        np.testing.assert_allclose(new.val[i, : len(want)].numpy(), kept, atol=1e-12)


def test_ascent_raises_soft_modularity_and_keeps_p_sparse_and_stochastic(scientific_graph):
    g = GraphTensors.from_csr(scientific_graph)
    init = Membership.one_hot(np.random.default_rng(0).integers(0, 20, g.num_nodes), 20)
    q0 = soft_modularity(g, init)
    p, report = optimize(g, init, AscentConfig(rho=3, iterations=40, merge=False))
    assert report["initial_modularity"] == pytest.approx(q0)
    assert report["modularity"] > q0 + 0.1
    assert report["modularity"] == pytest.approx(soft_modularity(g, p))
    values = [c["modularity"] for c in report["curve"]]
    assert values == sorted(values)  # exact line search: never down
    assert p.rho == 3 and torch.allclose(p.val.sum(1), torch.ones(g.num_nodes, dtype=torch.float64))
    assert ((p.val > 0) == (p.idx < p.num_clusters)).all()


def test_merges_gain_what_they_promise(scientific_graph):
    g = GraphTensors.from_csr(scientific_graph)
    p = Membership.one_hot(np.arange(g.num_nodes) % 40, 40)  # a poor partition: merges help
    before = soft_modularity(g, p)
    merged, count, gain = merge_clusters(g, p)
    assert count > 0 and gain > 0
    assert soft_modularity(g, merged) == pytest.approx(before + gain, abs=1e-9)
    compacted, old = compact(merged)
    assert compacted.num_clusters == 40 - count and len(old) == compacted.num_clusters
    assert soft_modularity(g, compacted) == pytest.approx(before + gain, abs=1e-9)


def test_default_pipeline_beats_leiden_on_scientific(scientific_graph):
    import faiss

    from g2rec.embed.base import EmbedInputs
    from g2rec.embed.spectral import SpectralConfig, fit_spectral
    from g2rec.tokenize.tokens import spectral_kmeans_labels

    faiss.omp_set_num_threads(1)
    base = leiden(scientific_graph, LeidenConfig(seed=0))
    nxg = nx.from_scipy_sparse_array(scientific_graph)
    comms = [set(np.flatnonzero(base.labels == c)) for c in range(base.num_communities)]
    assert base.modularity == pytest.approx(nx.community.modularity(nxg, comms, weight="weight"), abs=1e-9)
    vectors = fit_spectral(EmbedInputs(scientific_graph, None), SpectralConfig(dim=64)).vectors
    init = Membership.one_hot(spectral_kmeans_labels(vectors, 64, 0), 64)
    _, report = optimize(GraphTensors.from_csr(scientific_graph), init)
    assert report["modularity"] >= base.modularity


def test_bad_options_fail_clearly():
    with pytest.raises(ConfigError, match="rho=0"):
        AscentConfig(rho=0)
    with pytest.raises(ConfigError, match="min_weight"):
        AscentConfig(rho=4, min_weight=0.3)
    with pytest.raises(ConfigError, match="gamma"):
        AscentConfig(gamma=0)
    with pytest.raises(ConfigError, match="resolution"):
        LeidenConfig(resolution=-1)
    g = GraphTensors.from_csr(sp.random(30, 30, density=0.2, random_state=0) + sp.random(30, 30, density=0.2, random_state=0).T)
    with pytest.raises(ConfigError, match="slots > rho"):
        optimize(g, Membership.one_hot(np.zeros(30, dtype=int), 2, rho=3), AscentConfig(rho=2))
