"""Top eigenpairs of a sparse symmetric matrix whose spectrum lies in ``[-1, 1]``.

Three solvers share one signature ``solve(S, k, tol, seed, progress) -> Eigenpairs``:

* :func:`arpack_top`: scipy's implicitly restarted Lanczos (``eigsh``, ``which="LA"``).
* :func:`lobpcg_top`: scipy's LOBPCG, ``largest=True``, with a few guard vectors.
* :func:`block_lanczos_top`: thick-restart block Lanczos from a random block (block Krylov
  with Rayleigh-Ritz), float32 blocks, BLAS-3 reorthogonalization. Built for large graphs.
  (A Chebyshev-filtered subspace iteration with locking was tried first: on a 104k-item graph,
  d = 32, it needed 1,937 matrix-vector products and 18.7 s where ARPACK needed 200 and 6.8 s.)

All return eigenvalues in descending order and the residual norms ``||S v - lambda v||``
of unit vectors ``v``, measured here and not taken from the solver.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.linalg import eigh
from scipy.sparse.linalg import LinearOperator, eigsh, lobpcg


@dataclass
class Eigenpairs:
    """``values (k,)`` descending, ``vectors (n, k)`` orthonormal columns, ``residuals (k,)``
    ``||S v_i - values_i v_i||``; ``matvecs`` counts matrix-vector products (a product with an
    ``(n, b)`` block counts ``b``); ``iterations`` the solver's outer iterations."""

    values: np.ndarray
    vectors: np.ndarray
    residuals: np.ndarray
    matvecs: int
    iterations: int


def residual_norms(S: sp.csr_matrix, vectors: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``(k,)`` norms ``||S v_i - values_i v_i||``, computed in ``S``'s precision."""
    V = np.asarray(vectors, dtype=S.dtype)
    R = S @ V - V * np.asarray(values, dtype=S.dtype)
    return np.sqrt(np.einsum("ij,ij->j", R, R, dtype=np.float64))


def _sorted(values, vectors, k):
    order = np.argsort(-values, kind="stable")[:k]
    return values[order].astype(np.float64), np.ascontiguousarray(vectors[:, order])


def arpack_top(S: sp.csr_matrix, k: int, tol: float, seed: int, progress=None) -> Eigenpairs:
    """ARPACK's Lanczos; ``tol`` is its relative accuracy, so residuals end <= ``tol * |lambda|``."""
    v0 = np.random.default_rng(seed).standard_normal(S.shape[0])
    count = [0]

    def matvec(x):
        count[0] += 1
        return S @ x

    op = LinearOperator(S.shape, matvec=matvec, dtype=np.float64)
    values, vectors = eigsh(op, k=k, which="LA", tol=tol, v0=v0)
    values, vectors = _sorted(values, vectors, k)
    return Eigenpairs(values, vectors, residual_norms(S, vectors, values), count[0], 1)


def lobpcg_top(S: sp.csr_matrix, k: int, tol: float, seed: int, progress=None,
               max_iter: int = 1000) -> Eigenpairs:
    """LOBPCG on ``k + guard`` vectors (it converges badly on exactly ``k``), top ``k`` kept."""
    n = S.shape[0]
    block = min(n // 3, k + max(4, k // 8))  # scipy's LOBPCG needs n >= 3 * block
    X = np.random.default_rng(seed).standard_normal((n, block))
    values, vectors = lobpcg(S, X, largest=True, tol=tol, maxiter=max_iter)
    values, vectors = _sorted(values, vectors, k)
    vectors /= np.linalg.norm(vectors, axis=0)
    return Eigenpairs(values, vectors, residual_norms(S, vectors, values), 0, max_iter)


def _orthonormalize(Y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Orthonormal basis of the columns of ``Y (n, b)``: eigen-based (SVQB) pass that drops
    dependent directions and refills them with random ones, then a Cholesky-QR pass."""
    Y /= np.maximum(np.linalg.norm(Y, axis=0), 1e-30)
    s, U = np.linalg.eigh((Y.T @ Y).astype(np.float64))
    keep = s > 1e-6 * s[-1]
    Y = Y @ (U[:, keep] / np.sqrt(s[keep])).astype(Y.dtype)
    missing = int((~keep).sum())
    if missing:
        fill = rng.standard_normal((Y.shape[0], missing)).astype(Y.dtype)
        fill -= Y @ (Y.T @ fill)
        Y = np.hstack([Y, fill / np.linalg.norm(fill, axis=0)])
    R = np.linalg.cholesky((Y.T @ Y).astype(np.float64)).T
    return Y @ np.linalg.inv(R).astype(Y.dtype)


def sparse_product(S: sp.csr_matrix):
    """``X -> S @ X`` for C-ordered float32 blocks ``X (n, p)``, through torch's CSR kernel:
    2x faster than scipy's for 4-32 columns (measured 0.45 s vs 0.96 s, 18M non-zeros, 4 columns)."""
    import torch

    indptr, indices = S.indptr, S.indices.astype(S.indptr.dtype, copy=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "sparse CSR support is in beta"
        St = torch.sparse_csr_tensor(torch.from_numpy(indptr), torch.from_numpy(indices),
                                     torch.from_numpy(S.data), size=S.shape)

    def product(X: np.ndarray) -> np.ndarray:
        return (St @ torch.from_numpy(np.ascontiguousarray(X))).numpy()

    return product


def _orthonormal_block(W: np.ndarray, V: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Orthonormal ``Q (n, p)`` spanning ``W (n, p)``, which is already orthogonal to ``V``;
    directions ``W`` lacks (an invariant subspace was reached) are refilled with random ones."""
    Q = _orthonormalize(W.copy(), rng)
    if V.shape[1]:  # refilled columns, and rounding, may lean on V: one more projection
        Q -= V @ (V.T @ Q)
        Q = _orthonormalize(Q, rng)
    return Q


def block_lanczos_top(S: sp.csr_matrix, k: int, tol: float, seed: int, progress=None,
                      block: int | None = None, keep: int | None = None, basis: int | None = None,
                      max_restarts: int = 500) -> Eigenpairs:
    """Thick-restart block Lanczos from a random block, with full reorthogonalization.

    Builds an orthonormal Krylov basis ``V = [V_1, V_2, ...]`` (blocks of ``p = block`` float32
    columns) with ``S V_j`` projected on all of ``V`` twice (block Gram-Schmidt, matrix-matrix
    products), so ``H = V^T S V`` is known column by column without extra products and
    ``S V = V H + Q B E^T`` with ``Q`` the next block. Rayleigh-Ritz on ``H`` gives Ritz pairs
    ``(theta_i, V y_i)`` whose residuals ``||B E^T y_i||`` cost nothing. When the basis is full,
    it restarts from the ``keep`` leading Ritz vectors and ``Q`` (``H`` becomes diagonal plus
    the coupling ``B E^T Y``), so no Krylov information on the wanted part is lost.

    Krylov methods build the polynomial filter adaptively and need far fewer products than
    subspace iteration; blocks make each product a sparse-times-dense ``(n, p)`` product and
    the orthogonalization BLAS-3, and float32 halves the memory traffic. Eigenvalues near
    ``-1`` need no shift: Lanczos converges to both ends, and only the top ``k`` are taken.

    Args:
        S: ``(n, n)`` symmetric CSR (float32 recommended).
        k: number of largest eigenpairs.
        tol: stop when the ``k`` leading Ritz residuals are ``<= tol``.
        seed: seed of the random start block.
        progress: optional ``progress(stage, done, total)``: converged pairs, once per restart.
        block: columns per Krylov block ``p`` (default 4 for ``k <= 32``, else 8: wider blocks
            make each product cheaper per column but need more columns in all).
        keep: Ritz vectors kept at a restart (default ``k + max(8, k // 4)``).
        basis: basis columns before a restart (default ``max(2 * keep, keep + 6 * block)``).
    """
    n = S.shape[0]
    block = block or (4 if k <= 32 else 8)
    keep = min(n - 2 * block, keep or k + max(8, k // 4))
    m = min(n, basis or max(2 * keep, keep + 6 * block))
    m -= (m - keep) % block  # the basis fills in whole blocks after a restart
    if keep < k or m <= keep + block:
        raise ValueError(f"graph too small for block Lanczos with k={k}, block={block}")
    rng = np.random.default_rng(seed)
    S = sp.csr_matrix(S, dtype=np.float32)
    product = sparse_product(S)
    V = np.empty((n, m), dtype=np.float32, order="F")  # column blocks contiguous for BLAS
    H = np.zeros((m, m))
    V[:, :block] = _orthonormalize(rng.standard_normal((n, block), dtype=np.float32), rng)
    applied, filled, matvecs, restarts = 0, block, 0, 0
    target = tol  # on the cheap residual estimates; tightened if the real residuals miss tol
    while True:
        while filled + block <= m:  # expand: S times the newest block, project, append
            W = product(V[:, applied:filled])
            matvecs += block
            basis_now = V[:, :filled]
            C = basis_now.T @ W  # block classical Gram-Schmidt ...
            W -= basis_now @ C
            H[:filled, applied:filled] = C
            H[applied:filled, :filled] = C.T
            Q = _orthonormal_block(W, basis_now, rng)  # ... and its second pass, on Q
            B = (Q.T @ W).astype(np.float64)
            V[:, filled:filled + block] = Q
            H[filled:filled + block, applied:filled] = B
            H[applied:filled, filled:filled + block] = B.T
            applied, filled = filled, filled + block
        theta, Y = np.linalg.eigh(H[:applied, :applied])
        theta, Y = theta[::-1], Y[:, ::-1]
        coupling = H[applied:filled, applied - block:applied] @ Y[applied - block:applied]  # (p, applied)
        res = np.linalg.norm(coupling, axis=0)
        converged = int(np.argmin(res[:k] <= target)) if not (res[:k] <= target).all() else k
        if progress is not None:
            progress("eigenvectors", converged, k)
        if converged == k:  # the estimate ignores rounding in the basis: check the real residuals
            vectors = V[:, :applied] @ Y[:, :k].astype(np.float32)
            residuals = residual_norms(S, vectors, theta[:k])
            matvecs += k
            if residuals.max() <= tol:
                break
            target *= 0.5 * tol / residuals.max()
        if restarts == max_restarts:
            vectors = V[:, :applied] @ Y[:, :k].astype(np.float32)
            residuals = residual_norms(S, vectors, theta[:k])
            break
        restarts += 1  # thick restart: [Ritz vectors, next block], H = [[diag(theta), c^T], [c, .]]
        V[:, :keep] = V[:, :applied] @ Y[:, :keep].astype(np.float32)
        V[:, keep:keep + block] = V[:, applied:filled]
        H[:] = 0
        H[np.arange(keep), np.arange(keep)] = theta[:keep]
        H[keep:keep + block, :keep] = coupling[:, :keep]
        H[:keep, keep:keep + block] = coupling[:, :keep].T
        applied, filled = keep, keep + block
    return Eigenpairs(theta[:k].copy(), vectors, residuals, matvecs, restarts)


SOLVERS = {"arpack": arpack_top, "lobpcg": lobpcg_top, "randomized": block_lanczos_top}
