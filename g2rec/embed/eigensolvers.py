"""Top eigenpairs of a sparse symmetric matrix whose spectrum lies in ``[-1, 1]``.

Three solvers share one signature ``solve(S, k, tol, seed, progress) -> Eigenpairs``:

* :func:`arpack_top`: scipy's implicitly restarted Lanczos (``eigsh``, ``which="LA"``).
* :func:`lobpcg_top`: scipy's LOBPCG, ``largest=True``, with a few guard vectors.
* :func:`chebyshev_top`: Chebyshev-filtered subspace iteration (Zhou & Saad, 2007) with
  Rayleigh-Ritz and locking, vectorized over the block (one sparse-times-dense product per
  polynomial degree), in float32. Built for large graphs.

All return eigenvalues in descending order and the residual norms ``||S v - lambda v||``
of unit vectors ``v``, measured here and not taken from the solver.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.linalg import eigh
from scipy.sparse.linalg import eigsh, lobpcg


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

    op = sp.linalg.LinearOperator(S.shape, matvec=matvec, dtype=np.float64)
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


def lanczos_extremes(S: sp.csr_matrix, steps: int, seed: int) -> tuple[float, float]:
    """Smallest and largest Ritz values of ``steps`` plain Lanczos steps (cheap spectrum bounds
    from inside: the true extremes lie at or beyond them)."""
    n = S.shape[0]
    q = np.random.default_rng(seed + 1).standard_normal(n).astype(S.dtype)
    q /= np.linalg.norm(q)
    q_prev, beta, alphas, betas = np.zeros_like(q), 0.0, [], []
    for _ in range(min(steps, n)):
        w = S @ q - beta * q_prev
        alpha = float(q @ w)
        w -= alpha * q
        alphas.append(alpha)
        beta = float(np.linalg.norm(w))
        if beta < 1e-8:
            break
        betas.append(beta)
        q_prev, q = q, w / beta
    T = np.diag(alphas) + np.diag(betas[:len(alphas) - 1], 1) + np.diag(betas[:len(alphas) - 1], -1)
    ritz = np.linalg.eigvalsh(T)
    return float(ritz[0]), float(ritz[-1])


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


def _chebyshev_filter(S, X: np.ndarray, degree: int, center: float, half_width: float,
                      t_scale: float) -> np.ndarray:
    """``p(S) X`` with ``p(x) = T_m((x - center) / half_width) / T_m(t_scale)``: ``|p| <= 1/T_m(t_scale)``
    on the damped interval ``center +- half_width`` and ``p = 1`` at the scaling point.

    Three-term recurrence ``T_{j+1}(t) = 2 t T_j(t) - T_{j-1}(t)`` on ``Y_j = T_j(t(S)) X / T_j(t_scale)``.
    """
    rho = np.cosh(np.arange(degree + 1) * np.arccosh(max(t_scale, 1.0)))  # T_j(t_scale), j = 0..m
    prev, cur = X, (S @ X - center * X) * np.float32(1.0 / (half_width * rho[1]))
    for j in range(1, degree):
        nxt = S @ cur
        nxt -= center * cur
        nxt *= np.float32(2.0 * rho[j] / (half_width * rho[j + 1]))
        nxt -= prev * np.float32(rho[j - 1] / rho[j + 1])
        prev, cur = cur, nxt
    return cur


def chebyshev_top(S: sp.csr_matrix, k: int, tol: float, seed: int, progress=None,
                  guard: int | None = None, max_ratio: float = 300.0, max_degree: int = 24,
                  max_iter: int = 200, lanczos_steps: int = 24,
                  lock_fraction: float = 0.01) -> Eigenpairs:
    """Chebyshev-filtered subspace iteration with Rayleigh-Ritz and locking.

    A block ``X (n, b)``, ``b = k + guard``, is filtered by a degree-``m`` Chebyshev polynomial
    that is small on ``[lower, cut]`` (``lower``: a bound below the spectrum from a short Lanczos
    run; ``cut``: the block's smallest Ritz value) and grows fast above it, so the eigenvalues
    near ``-1`` (bipartite-like parts, which dominate a plain power method on ``S``) are damped
    like the rest of the unwanted spectrum. After each filter: orthonormalize against the locked
    vectors and within the block, Rayleigh-Ritz (one more product ``S X``), and lock the leading
    Ritz pairs whose residual is ``<= lock_fraction * tol``; the block shrinks as vectors lock.
    Locking only far below ``tol`` matters: a locked vector's error lies along its nearly
    degenerate neighbours, which the block can then no longer resolve (measured: locking at
    ``tol / 8`` stalled at residual 1.5e-4 on a 21k-item graph, ``tol / 100`` converged).

    float32 keeps the products fast but bounds how unevenly the filter may grow the block: the
    degree is the largest with ``T_m(t_top) / T_m(t_wanted) <= max_ratio`` (top active Ritz value
    vs. the smallest wanted one), so the weakest wanted direction keeps ~4 significant digits.

    Args:
        S: ``(n, n)`` symmetric CSR, spectrum within ``[-1, 1]`` (float32 recommended).
        k: number of largest eigenpairs.
        tol: stop when every wanted residual ``||S v - lambda v||`` is ``<= tol``.
        seed: seed of the random start block (``np.random.default_rng``).
        progress: optional ``progress(stage, done, total)``, called once per outer iteration
            with the number of locked (converged) eigenpairs.
        guard: extra block vectors (default ``max(8, k // 4)``); more guard = lower cut =
            faster convergence per product, but wider products.
    """
    n = S.shape[0]
    guard = max(8, k // 4) if guard is None else guard
    b = min(n, k + guard)
    rng = np.random.default_rng(seed)
    dtype = np.float32
    smallest, largest = lanczos_extremes(S, lanczos_steps, seed)
    lower = max(-1.0, smallest - 0.1 * (largest - smallest) - 1e-3)
    matvecs = lanczos_steps

    X = _orthonormalize(rng.standard_normal((n, b), dtype=dtype), rng)
    locked_vecs = np.empty((n, k), dtype=dtype, order="F")  # column slices stay contiguous for BLAS
    locked_vals = np.empty(k)
    lock_tol = tol * lock_fraction
    num_locked = 0
    iteration = 0
    while True:
        # Rayleigh-Ritz on the current orthonormal block.
        SX = S @ X
        matvecs += X.shape[1]
        H = (X.T @ SX).astype(np.float64)
        theta, Q = eigh((H + H.T) / 2)
        theta, Q = theta[::-1], Q[:, ::-1].astype(dtype)
        X, SX = X @ Q, SX @ Q
        res = np.linalg.norm(SX - X * theta.astype(dtype), axis=0)
        del SX
        # Lock the leading pairs converged to lock_tol (in order, so locked values stay the
        # largest); stop once all the remaining wanted pairs are within tol.
        wanted = k - num_locked
        done = bool((res[:wanted] <= tol).all())
        ok = res[:wanted] <= (tol if done else lock_tol)
        newly = wanted if ok.all() else int(np.argmin(ok))
        if newly:
            locked_vecs[:, num_locked:num_locked + newly] = X[:, :newly]
            locked_vals[num_locked:num_locked + newly] = theta[:newly]
            num_locked += newly
            X, theta, res = np.ascontiguousarray(X[:, newly:]), theta[newly:], res[newly:]
        if progress is not None:
            progress("eigenvectors", num_locked, k)
        if num_locked == k or iteration == max_iter:
            break
        iteration += 1
        wanted = k - num_locked
        cut = theta[-1]
        center, half_width = (cut + lower) / 2, (cut - lower) / 2
        # Largest eigenvalue left in the block's span: at most the last locked value (or the
        # Lanczos estimate before any lock); the Ritz values underestimate it early on.
        top = max(theta[0], locked_vals[num_locked - 1] if num_locked else largest)
        t_top = (top - center) / half_width
        t_wanted = max((theta[wanted - 1] - center) / half_width, 1.0 + 1e-9)
        spread = np.arccosh(max(t_top, t_wanted)) - np.arccosh(t_wanted)
        degree = int(np.clip(np.log(max_ratio) / max(spread, 1e-12), 2, max_degree))
        Y = _chebyshev_filter(S, X, degree, center, half_width, t_top)
        matvecs += degree * X.shape[1]
        if num_locked:
            V = locked_vecs[:, :num_locked]
            Y -= V @ (V.T @ Y)
            Y -= V @ (V.T @ Y)
        X = _orthonormalize(Y, rng)
        del Y
    if num_locked < k:  # out of iterations: return the best Ritz pairs as they are
        take = k - num_locked
        locked_vecs[:, num_locked:] = X[:, :take]
        locked_vals[num_locked:] = theta[:take]
    values, vectors = _sorted(locked_vals, locked_vecs, k)
    return Eigenpairs(values, vectors, residual_norms(S, vectors, values), matvecs, iteration)


SOLVERS = {"arpack": arpack_top, "lobpcg": lobpcg_top, "randomized": chebyshev_top}
