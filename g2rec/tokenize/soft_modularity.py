"""Soft modularity: a sparse, row-stochastic membership ``P`` of items over ``C`` prototypes.

Definitions (consistent with the standard weighted modularity, so that a one-hot ``P`` with
``gamma = 1`` gives exactly networkx's ``modularity``). ``A`` is the symmetric ``(I, I)``
co-engagement graph with its diagonal ignored, ``k = A 1`` the weighted degrees and
``|E| = sum_ij A_ij = 1^T k`` (every undirected edge counted in both directions, i.e. ``2m``):

    Q_soft(P) = (1/|E|) sum_ij A_ij p_i . p_j  -  gamma ||P^T k||^2 / |E|^2

``P`` is stored sparsely as ``(I, rho)`` cluster indices ``idx`` and values ``val`` (rows sum to
1; unused slots point at a dummy cluster ``C`` with value 0). The edge term is evaluated
by gathers over the ``nnz(A) = |E|``-long edge list: the slot pairs of each edge that share a
cluster (at most ``rho`` per edge) are found once per support (:class:`SlotPairs`), after
which every evaluation is one gather and one scatter-add over them, ``O(rho |E|)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

EDGE_CHUNK = 1 << 22  # edges per comparison chunk: bounds temporary memory (~8 rho B per edge)


@dataclass
class GraphTensors:
    """The graph as a torch edge list (both directions, diagonal dropped).

    ``src``, ``dst``: ``(nnz,)`` int64, sorted by ``src``; ``w``: ``(nnz,)`` float64;
    ``k``: ``(I,)`` float64 weighted degrees; ``total``: ``|E| = sum(k)``; ``csr``: the same
    matrix as a float64 scipy CSR (for sparse products).
    """

    src: torch.Tensor
    dst: torch.Tensor
    w: torch.Tensor
    k: torch.Tensor
    total: float
    csr: sp.csr_matrix

    @property
    def num_nodes(self) -> int:
        return int(self.k.shape[0])

    @classmethod
    def from_csr(cls, graph: sp.spmatrix) -> GraphTensors:
        csr = sp.csr_matrix(graph, dtype=np.float64)
        csr.setdiag(0)
        csr.eliminate_zeros()
        csr.sort_indices()
        src = np.repeat(np.arange(csr.shape[0], dtype=np.int64), np.diff(csr.indptr))
        k = np.asarray(csr.sum(axis=1)).ravel()
        return cls(torch.from_numpy(src), torch.from_numpy(csr.indices.astype(np.int64)),
                   torch.from_numpy(csr.data.copy()), torch.from_numpy(k), float(k.sum()), csr)


@dataclass
class Membership:
    """Sparse row-stochastic membership: ``idx`` ``(I, rho)`` int64 in ``[0, C]`` (``C`` = empty
    slot) and ``val`` ``(I, rho)`` float64, each row summing to 1 over its real slots."""

    idx: torch.Tensor
    val: torch.Tensor
    num_clusters: int

    @property
    def rho(self) -> int:
        return int(self.idx.shape[1])

    @classmethod
    def one_hot(cls, labels, num_clusters: int, rho: int = 1) -> Membership:
        labels = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
        idx = torch.full((len(labels), rho), num_clusters, dtype=torch.int64)
        val = torch.zeros((len(labels), rho), dtype=torch.float64)
        idx[:, 0], val[:, 0] = labels, 1.0
        return cls(idx, val, num_clusters)

    def to_scipy(self) -> sp.csr_matrix:
        """``(I, C)`` CSR with the non-zero memberships (duplicate indices are summed)."""
        rows = np.repeat(np.arange(self.idx.shape[0]), self.rho)
        idx, val = self.idx.numpy().ravel(), self.val.numpy().ravel()
        keep = (idx < self.num_clusters) & (val > 0)
        return sp.csr_matrix((val[keep], (rows[keep], idx[keep])), shape=(self.idx.shape[0], self.num_clusters))

    @classmethod
    def from_scipy(cls, matrix: sp.spmatrix, rho: int) -> Membership:
        """From an ``(I, C)`` sparse matrix with at most ``rho`` non-zeros per row (summed when
        duplicated), rows renormalized; slots in increasing cluster order."""
        csr = sp.csr_matrix(matrix)
        csr.sum_duplicates()
        csr.eliminate_zeros()
        n, c = csr.shape
        counts = np.diff(csr.indptr)
        if counts.max(initial=0) > rho:
            raise ValueError(f"a row has {counts.max()} non-zeros > rho={rho}")
        rows = np.repeat(np.arange(n), counts)
        slot = np.arange(csr.nnz) - csr.indptr[rows]
        idx = np.full((n, rho), c, dtype=np.int64)
        val = np.zeros((n, rho))
        idx[rows, slot], val[rows, slot] = csr.indices, csr.data
        val /= np.maximum(val.sum(1, keepdims=True), 1e-300)
        return cls(torch.from_numpy(idx), torch.from_numpy(val), c)

    def hard_labels(self) -> np.ndarray:
        """``(I,)`` the cluster of each item's largest membership."""
        return self.idx.gather(1, self.val.argmax(1, keepdim=True)).squeeze(1).numpy()

    def cluster_mass(self, weights: torch.Tensor | None = None) -> torch.Tensor:
        """``(C,)``: ``P^T 1`` (or ``P^T weights``)."""
        contrib = self.val if weights is None else self.val * weights[:, None]
        out = torch.zeros(self.num_clusters + 1, dtype=torch.float64)
        out.index_add_(0, self.idx.reshape(-1), contrib.reshape(-1))
        return out[:-1]


@dataclass
class SlotPairs:
    """The slot pairs that share a cluster, over all edges, for fixed supports ``idx``.

    For every edge ``(i, j)`` and slots ``a, b`` with ``idx_ia == idx_jb`` (a real cluster):
    ``left = i * rho + a``, ``right = j * rho + b``, ``w = A_ij``. Slots in one row hold
    distinct clusters, so there are at most ``rho |E|`` pairs (about ``|E|`` when memberships
    are nearly hard). Built once per support by comparing the slots of both ends of every edge
    (``2 rho`` gathers and ``rho^2`` int32 comparisons per edge, chunked), after which
    ``M = (A P)`` on the support costs one gather and one scatter-add per pair.
    """

    left: torch.Tensor
    right: torch.Tensor
    w: torch.Tensor
    shape: tuple[int, int]

    @classmethod
    def build(cls, g: GraphTensors, idx: torch.Tensor, num_clusters: int) -> SlotPairs:
        n, rho = idx.shape
        dtype = np.int32 if num_clusters < 2 ** 31 - 2 else np.int64
        # per slot, the cluster of each edge end; empty slots differ on the two sides (C vs C+1)
        cols = np.ascontiguousarray(idx.numpy().T, dtype=dtype)  # (rho, I)
        other = np.where(cols == num_clusters, num_clusters + 1, cols)
        src, dst, w = g.src.numpy(), g.dst.numpy(), g.w.numpy()
        lefts, rights, ws = [], [], []
        for start in range(0, len(src), EDGE_CHUNK):
            i, j = src[start:start + EDGE_CHUNK], dst[start:start + EDGE_CHUNK]
            ci = [cols[a].take(i) for a in range(rho)]
            cj = [other[b].take(j) for b in range(rho)]
            for a in range(rho):
                for b in range(rho):
                    e = np.flatnonzero(ci[a] == cj[b]) + start
                    lefts.append(src[e] * rho + a)
                    rights.append(dst[e] * rho + b)
                    ws.append(w[e])
        cat = (lambda parts, dt: torch.from_numpy(np.concatenate(parts)) if parts else torch.zeros(0, dtype=dt))
        return cls(cat(lefts, torch.int64), cat(rights, torch.int64), cat(ws, torch.float64), (n, rho))

    def overlap(self, val: torch.Tensor) -> torch.Tensor:
        """``M`` ``(I, rho)``: ``M_ia = sum_j A_ij P[j, idx_ia] = (A P)[i, idx_ia]``."""
        out = torch.zeros(self.shape[0] * self.shape[1], dtype=torch.float64)
        out.index_add_(0, self.left, val.reshape(-1).index_select(0, self.right) * self.w)
        return out.view(self.shape)


def neighbour_overlap(g: GraphTensors, p: Membership) -> torch.Tensor:
    """``M`` ``(I, rho)``: ``M_ia = (A P)[i, idx_ia]`` (see :class:`SlotPairs`)."""
    return SlotPairs.build(g, p.idx, p.num_clusters).overlap(p.val)


def soft_modularity(g: GraphTensors, p: Membership, gamma: float = 1.0) -> float:
    """``Q_soft(P)`` as defined in the module docstring (0 for a graph without edges)."""
    if g.total <= 0:
        return 0.0
    edge = float((p.val * neighbour_overlap(g, p)).sum()) / g.total
    s = p.cluster_mass(g.k)
    return edge - gamma * float(s @ s) / g.total ** 2


def modularity_of_labels(graph: sp.spmatrix, labels, gamma: float = 1.0) -> float:
    """Standard weighted modularity of a hard partition (``Q_soft`` of the one-hot ``P``)."""
    labels = np.asarray(labels)
    _, labels = np.unique(labels, return_inverse=True)
    return soft_modularity(GraphTensors.from_csr(graph), Membership.one_hot(labels, int(labels.max()) + 1), gamma)


def normalized_gradient(g: GraphTensors, p: Membership, gamma: float, pairs: SlotPairs | None = None,
                        return_overlap: bool = False, overlap: torch.Tensor | None = None):
    """Degree-normalized gradient of ``Q_soft`` on the support of ``P``, and ``Q_soft(P)``.

    ``dQ/dP_ia = (2/|E|) (M_ia - gamma k_i S_c / |E|)`` with ``c = idx_ia``, ``S = P^T k``;
    dividing by ``2 k_i / |E|`` gives ``Ghat_ia = M_ia / k_i - gamma S_c / |E|``: the share of
    item i's edge weight that falls in cluster c minus the share the null model expects there.
    Items without edges get 0 (they do not change Q). ``pairs``: :class:`SlotPairs` of
    ``p.idx`` when already built; ``overlap``: ``M`` when already known. Returns
    ``(Ghat (I, rho), Q)``, and ``M = (A P)`` on the support as a third element when
    ``return_overlap``.
    """
    s = torch.cat([p.cluster_mass(g.k), torch.zeros(1, dtype=torch.float64)])
    m = overlap if overlap is not None else (pairs or SlotPairs.build(g, p.idx, p.num_clusters)).overlap(p.val)
    total = max(g.total, 1e-300)
    q = float((p.val * m).sum()) / total - gamma * float(s @ s) / total ** 2
    ghat = m / g.k.clamp_min(1e-300)[:, None] - gamma * s[p.idx] / total
    ghat[g.k == 0] = 0
    return (ghat, q, m) if return_overlap else (ghat, q)
