r"""Spectral item embeddings: the top eigenvectors of the normalized co-engagement graph.

With ``A`` the ``(I, I)`` symmetric weighted graph and ``D = diag(A 1)`` its degrees,

.. math::
    S = D^{-1/2} A D^{-1/2}, \qquad S v_j = \lambda_j v_j, \qquad
    1 = \lambda_1 \ge \lambda_2 \ge \dots \ge \lambda_d,

and item ``i``'s embedding is row ``i`` of ``[v_1, ..., v_d]`` (``(I, d)``, float32). These are
the eigenvectors of the smallest eigenvalues ``1 - lambda`` of the normalized Laplacian
``L = I - S`` (Laplacian eigenmaps). ``S``'s spectrum lies in ``[-1, 1]``.

Choices (measured with the item-kNN check on Amazon Beauty, validation split, d = 64, from
exact eigenvectors): plain eigenvectors R@10 0.0450; dropping the trivial ``v_1 ~ D^{1/2} 1``
(and taking ``v_2..v_{d+1}``) 0.0456; scaling columns by ``lambda`` 0.0454, by ``lambda^2``
0.0431 (a difference of ~0.001 is within the noise of 22k users). So the vectors are the plain
top-``d`` eigenvectors: no scaling, and nothing dropped, because with several connected
components ``lambda = 1`` is repeated and its eigenvectors tell the components apart. Scaling
rows (``D^{-1/2} v``, the random-walk eigenvectors) does not change cosine neighbours.

Isolated items (degree 0, no training co-engagement) have no row in ``S``: the problem is
solved on the other items and isolated items get zero vectors (cosine similarity 0 to all).

Connected components: each component ``C`` gives the eigenvalue 1 with eigenvector
``D^{1/2} 1_C / ||D^{1/2} 1_C||``, known exactly, so these are written down rather than solved
for (Lanczos is unreliable on repeated eigenvalues), largest components first, and the solver
finds the remaining ``d - c`` vectors orthogonal to them. With ``c >= d`` components the
embedding is the ``d`` largest components' indicators (any basis of the eigenvalue-1 space is a
valid answer; items of smaller components get zero vectors).

Solvers (``solver``): ``arpack`` (scipy ``eigsh``, implicitly restarted Lanczos), ``lobpcg``
(scipy), and ``randomized``: thick-restart block Lanczos from a random block with Rayleigh-Ritz
(:func:`g2rec.embed.eigensolvers.block_lanczos_top`), float32 blocks, sparse products through
torch's CSR kernel and BLAS-3 reorthogonalization. ``auto`` takes ``arpack`` below
``auto_threshold`` items and ``randomized`` above. Every solver is deterministic given ``seed``.
Each run reports the eigenvalues and the residuals ``||S v - lambda v||`` measured after the
solve (summary ``max_residual``; details ``eigenvalues``, ``residuals``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ..config import check_fields
from ..errors import ConfigError, check_choice
from ..measure import Stopwatch
from .base import EmbedInputs, EmbedResult
from .eigensolvers import SOLVERS, residual_norms

SOLVER_CHOICES = ("auto", "arpack", "lobpcg", "randomized")


@dataclass
class SpectralConfig:
    """dim: number of eigenvectors ``d`` (``1 <= d < `` connected items).
    solver: ``auto`` | ``arpack`` | ``lobpcg`` | ``randomized``.
    tol: target largest residual ``||S v - lambda v||`` over the ``d`` vectors.
    seed: seed of the random start vectors (results are deterministic given it).
    auto_threshold: ``auto`` uses ``arpack`` for fewer items than this, ``randomized`` above."""

    dim: int = 64
    solver: str = "auto"
    tol: float = 1e-4
    seed: int = 0
    auto_threshold: int = 20_000

    def __post_init__(self):
        check_fields(self)
        check_choice("solver", self.solver, SOLVER_CHOICES)
        if self.dim < 1:
            raise ConfigError(f"dim={self.dim}: must be >= 1")
        if not 0 < self.tol < 1:
            raise ConfigError(f"tol={self.tol}: must be in (0, 1)")
        if self.seed < 0:
            raise ConfigError(f"seed={self.seed}: must be >= 0")


def component_vectors(S: sp.csr_matrix, degree: np.ndarray, limit: int) -> tuple[np.ndarray, int]:
    """Unit eigenvectors of eigenvalue 1 of ``S = D^-1/2 A D^-1/2``, one per connected component
    (``D^{1/2}`` on the component, zero elsewhere), largest components first.

    Args:
        S: ``(n, n)`` normalized adjacency; degree: ``(n,)`` the degrees ``D`` it was made from.
        limit: most vectors to return.

    Returns:
        ``(U (n, min(c, limit)) float64, c)`` with ``c`` the number of components.
    """
    count, labels = connected_components(S, directed=False)
    order = np.argsort(-np.bincount(labels, minlength=count), kind="stable")[:limit]
    column = np.full(count, -1)
    column[order] = np.arange(len(order))
    sqrt_degree = np.sqrt(degree)
    rows = np.flatnonzero(column[labels] >= 0)
    U = np.zeros((S.shape[0], len(order)))
    U[rows, column[labels[rows]]] = sqrt_degree[rows]
    return U / np.linalg.norm(U, axis=0), count


def normalized_adjacency(graph: sp.spmatrix, dtype=np.float32) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """``S = D^-1/2 A D^-1/2`` restricted to items with positive degree.

    Returns ``(S (n, n) CSR, kept (n,) item indices, degree (n,) float64)`` where ``n`` = items
    with degree > 0.
    """
    A = sp.csr_matrix(graph, dtype=np.float64)
    degree = np.asarray(A.sum(axis=1)).ravel()
    kept = np.flatnonzero(degree > 0)
    if len(kept) < len(degree):
        A = A[kept][:, kept]
    A.sort_indices()
    scale = 1.0 / np.sqrt(degree[kept])
    rows = np.repeat(np.arange(len(kept)), np.diff(A.indptr))
    data = (A.data * scale[rows] * scale[A.indices]).astype(dtype)
    return sp.csr_matrix((data, A.indices, A.indptr), shape=A.shape), kept, degree[kept]


def fit_spectral(inputs: EmbedInputs, config: SpectralConfig, progress=None) -> EmbedResult:
    """Top-``dim`` eigenvectors of ``S`` for every item (see the module docstring).

    Args:
        inputs: ``inputs.graph`` is the ``(I, I)`` symmetric non-negative co-engagement graph.
        config: see :class:`SpectralConfig`.
        progress: optional ``progress(stage, done, total)``, called per solver iteration.

    Returns:
        ``vectors (I, dim)`` float32 (zero rows for isolated items); summary ``solver``,
        ``max_residual``, ``converged``, ``num_components``, ``isolated_items``, ``lambda_min``
        (smallest of the ``dim`` eigenvalues), ``matvecs``, ``solve_seconds``; details
        ``eigenvalues (dim,)`` and ``residuals (dim,)``.
    """
    graph = inputs.graph
    num_items = graph.shape[0]
    if graph.shape != (num_items, num_items):
        raise ConfigError(f"graph of shape {graph.shape} is not square")
    clock = Stopwatch()
    S, kept, degree = normalized_adjacency(graph, dtype=np.float64)
    n = S.shape[0]
    if config.dim >= n:
        raise ConfigError(f"dim={config.dim} must be smaller than the number of items with at least one "
                          f"co-engagement ({n} of {num_items} items)")
    solver = config.solver
    if solver == "auto":
        solver = "arpack" if n < config.auto_threshold else "randomized"
    if solver == "lobpcg" and n < 3 * (config.dim + max(4, config.dim // 8)):
        solver = "arpack"  # LOBPCG needs n >= 3 x its block; ARPACK is exact at this size
    known, num_components = component_vectors(S, degree, config.dim)
    c = known.shape[1]
    values, residuals = np.ones(c), residual_norms(S, known, np.ones(c))
    solved, matvecs, iterations = known.astype(np.float32), 0, 0
    if c < config.dim:
        counted = progress and (lambda stage, done, total: progress(stage, done + c, total + c))
        pairs = SOLVERS[solver](S, config.dim - c, config.tol, config.seed, counted, exclude=known)
        values, residuals = np.concatenate([values, pairs.values]), np.concatenate([residuals, pairs.residuals])
        solved = np.hstack([solved, pairs.vectors.astype(np.float32)])
        matvecs, iterations = pairs.matvecs, pairs.iterations
    vectors = np.zeros((num_items, config.dim), dtype=np.float32)
    vectors[kept] = solved
    summary = {"solver": solver, "max_residual": float(residuals.max()),
               "converged": bool(residuals.max() <= config.tol),
               "num_components": num_components, "isolated_items": int(num_items - n),
               "lambda_min": round(float(values[-1]), 6), "matvecs": int(matvecs),
               "iterations": int(iterations), "solve_seconds": round(clock.seconds, 3)}
    details = {"eigenvalues": values.round(8).tolist(), "residuals": residuals.tolist()}
    return EmbedResult(vectors=vectors, summary=summary, details=details)
