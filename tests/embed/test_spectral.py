"""Spectral embeddings: eigen-equations on a real graph for every solver, solver agreement,
disconnected graphs with isolated items, determinism, and clear errors on bad options."""


import numpy as np
import pytest
import scipy.sparse as sp

from g2rec import build_graph
from g2rec.embed.base import EmbedInputs
from g2rec.embed.eigensolvers import residual_norms
from g2rec.embed.spectral import SpectralConfig, fit_spectral, normalized_adjacency
from g2rec.errors import ConfigError
from g2rec.pipeline.runfolder import RunFolder
from tests.conftest import SCIENTIFIC

DIM = 16
TOL = 1e-4


@pytest.fixture(scope="module")
def scientific(tmp_path_factory, shared_data):
    path = tmp_path_factory.mktemp("spectral") / "run"
    build_graph(SCIENTIFIC, path)
    return RunFolder(path).graph()


def fit(graph, **options):
    return fit_spectral(EmbedInputs(graph, None), SpectralConfig(**options))


@pytest.fixture(scope="module")
def by_solver(scientific):
    return {s: fit(scientific, dim=DIM, solver=s, tol=TOL) for s in ("arpack", "lobpcg", "randomized")}


def check_eigenpairs(graph, result, tol):
    """Recompute S v = lambda v in float64 from the graph, independently of the solver code."""
    A = sp.csr_matrix(graph, dtype=np.float64)
    deg = np.asarray(A.sum(1)).ravel()
    inv = np.divide(1.0, np.sqrt(deg), out=np.zeros_like(deg), where=deg > 0)
    S = sp.diags(inv) @ A @ sp.diags(inv)
    V = result.vectors.astype(np.float64)
    lam = np.array(result.details["eigenvalues"])
    resid = np.linalg.norm(S @ V - V * lam, axis=0)
    assert resid.max() <= 2 * tol, resid.max()
    assert np.allclose(V.T @ V, np.eye(V.shape[1]), atol=1e-3)
    assert np.all(np.diff(lam) <= 1e-9) and lam[0] == pytest.approx(1.0, abs=1e-5)
    return lam


@pytest.mark.parametrize("solver", ["arpack", "lobpcg", "randomized"])
def test_eigen_equation_on_a_real_graph(scientific, by_solver, solver):
    result = by_solver[solver]
    assert result.vectors.shape == (scientific.shape[0], DIM) and result.vectors.dtype == np.float32
    check_eigenpairs(scientific, result, TOL)
    s = result.summary
    assert s["solver"] == solver and s["converged"] and s["max_residual"] <= TOL
    assert s["max_residual"] == pytest.approx(max(result.details["residuals"]))
    deg = np.asarray(scientific.sum(1)).ravel()
    assert s["isolated_items"] == int((deg == 0).sum())
    assert np.all(result.vectors[deg == 0] == 0)


def test_solvers_agree_on_eigenvalues(by_solver):
    lam = {s: np.array(r.details["eigenvalues"]) for s, r in by_solver.items()}
    # Eigenvalue errors are about residual^2 / gap, far below the residual itself.
    assert np.abs(lam["randomized"] - lam["arpack"]).max() < 1e-5
    assert np.abs(lam["lobpcg"] - lam["arpack"]).max() < 1e-5
    # Same subspace: the projection of one solver's vectors onto the other's keeps their norm
    # (for well-separated eigenvalues; the last ones may mix with neighbours).
    a, b = by_solver["arpack"].vectors, by_solver["randomized"].vectors
    overlap = np.linalg.svd(a[:, :8].T @ b, compute_uv=False)
    assert overlap.min() > 0.999


def planted_graph(seed=0):
    """Two dense communities, a separate triangle, a separate path, and 3 isolated items."""
    rng = np.random.default_rng(seed)
    blocks = []
    for size in (120, 80):
        upper = sp.triu(sp.random(size, size, density=0.15, random_state=rng), k=1)
        blocks.append(upper + upper.T)
    triangle = sp.csr_matrix(np.ones((3, 3)) - np.eye(3))
    path = sp.diags([np.ones(4), np.ones(4)], [1, -1], shape=(5, 5))
    isolated = sp.csr_matrix((3, 3))
    graph = sp.block_diag(blocks + [triangle, path, isolated], format="csr")
    perm = rng.permutation(graph.shape[0])  # isolated items are not all at the end
    return graph[perm][:, perm].tocsr().astype(np.float32), perm


@pytest.mark.parametrize("solver", ["arpack", "lobpcg", "randomized"])
def test_disconnected_graph_with_isolated_items(solver):
    graph, perm = planted_graph()
    result = fit(graph, dim=8, solver=solver)
    s = result.summary
    assert (s["num_components"], s["isolated_items"]) == (4, 3)
    assert np.isfinite(result.vectors).all()
    isolated = np.isin(perm, np.arange(graph.shape[0] - 3, graph.shape[0]))
    assert np.all(result.vectors[isolated] == 0) and np.all(np.abs(result.vectors[~isolated]).sum(1) > 0)
    lam = check_eigenpairs(graph, result, TOL)
    # One eigenvalue 1 per connected component (the path is bipartite: it also has -1).
    assert np.sum(lam > 1 - 1e-6) == 4


def test_more_components_than_dim_gives_the_largest_components():
    graph, perm = planted_graph()
    result = fit(graph, dim=2, solver="arpack")
    lam = check_eigenpairs(graph, result, 1e-6)
    assert lam.tolist() == [1.0, 1.0] and result.summary["matvecs"] == 0
    original = perm  # row r of the permuted graph is item perm[r] of the block-diagonal one
    for column, members in enumerate((original < 120, (original >= 120) & (original < 200))):
        assert np.all(result.vectors[members, column] > 0) and np.all(result.vectors[~members, column] == 0)


def test_float64_polish_reaches_a_tolerance_float32_cannot(scientific):
    tight = 1e-6  # far below FLOAT32_TARGET (1e-4): only the float64 polish gets there
    result = fit(scientific, dim=8, solver="randomized", tol=tight)
    assert result.summary["converged"], result.summary
    check_eigenpairs(scientific, result, tight)


def test_deterministic_under_seed(scientific):
    a = fit(scientific, dim=8, solver="randomized", seed=3)
    b = fit(scientific, dim=8, solver="randomized", seed=3)
    c = fit(scientific, dim=8, solver="randomized", seed=4)
    assert np.array_equal(a.vectors, b.vectors) and a.details == b.details
    assert not np.array_equal(a.vectors, c.vectors)
    d = fit(scientific, dim=8, solver="arpack", seed=3)
    e = fit(scientific, dim=8, solver="arpack", seed=3)
    assert np.array_equal(d.vectors, e.vectors)


def test_progress_is_reported(scientific):
    calls = []
    fit_spectral(EmbedInputs(scientific, None), SpectralConfig(dim=8, solver="randomized"),
                 lambda stage, done, total: calls.append((stage, done, total)))
    assert len(calls) >= 2 and calls[-1][1:] == (8, 8)
    assert all(0 <= done <= total for _, done, total in calls)


def test_auto_picks_by_size(scientific):
    assert fit(scientific, dim=4).summary["solver"] == "arpack"
    assert fit(scientific, dim=4, auto_threshold=1000).summary["solver"] == "randomized"


def test_normalized_adjacency_drops_isolated_items():
    graph = sp.csr_matrix(np.array([[0, 2, 0], [2, 0, 0], [0, 0, 0]], dtype=np.float32))
    S, kept, degree = normalized_adjacency(graph)
    assert kept.tolist() == [0, 1] and np.allclose(S.toarray(), [[0, 1], [1, 0]]) and degree.tolist() == [2, 2]
    assert residual_norms(S, np.array([[1.0], [1.0]]) / np.sqrt(2), np.array([1.0]))[0] < 1e-7


def test_bad_options(scientific):
    with pytest.raises(ConfigError, match="auto, arpack, lobpcg, randomized"):
        SpectralConfig(solver="eigh")
    with pytest.raises(ConfigError, match="dim=0"):
        SpectralConfig(dim=0)
    with pytest.raises(ConfigError, match="tol"):
        SpectralConfig(tol=0)
    with pytest.raises(ConfigError, match=r"dim=4344 must be smaller .* \(4327 of 4344 items\)"):
        fit(scientific, dim=4344)
    graph, _ = planted_graph()
    with pytest.raises(ConfigError, match="208 of 211 items"):
        fit(graph, dim=300)
