"""LightGCN and GraphSAGE on one adjacency, with PyTorch Geometric or DGL doing the propagation.

Both models start from a learnable table ``E^{(0)} in R^{N x d}`` (items, or users + items on
the bipartite graph) and differ in how they mix it over the graph with weights ``w_ij``:

* LightGCN (He et al., 2020): no weights, no non-linearity,
  ``E^{(l+1)} = Â E^{(l)}``, ``Â = D^{-1/2} W D^{-1/2}``, ``D = diag(sum_j w_ij)``, and the
  output is the layer mean ``Z = 1/(L+1) sum_{l=0..L} E^{(l)}``.
* GraphSAGE (Hamilton et al., 2017) with weighted mean aggregation,
  ``h_i^{(l+1)} = W_self h_i^{(l)} + W_neigh sum_j w_ij h_j^{(l)} / sum_j w_ij + b``,
  ReLU between layers; on a sampled sub-graph the sums run over the sampled neighbours.

Each model turns an :class:`Adjacency` (CSR over destination rows: the whole graph, or a
sampled sub-graph) into its backend's normalized graph with ``model.graph(adj)``; the same
parameters give the same output on both backends.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..graph.dgl_compat import import_dgl
from ..sparse import torch_csr

BACKENDS = ("pyg", "dgl")


@dataclass
class Adjacency:
    """``(N, N)`` weighted adjacency in CSR form, row = destination node (messages flow col -> row).

    Attributes:
        indptr: ``(N+1,)`` int64 row pointers.
        indices: ``(E,)`` int64 source node of each edge.
        weight: ``(E,)`` float32 edge weights.
    """

    indptr: Tensor
    indices: Tensor
    weight: Tensor

    @property
    def num_nodes(self) -> int:
        return self.indptr.numel() - 1

    @property
    def rows(self) -> Tensor:
        """``(E,)`` destination node of each edge."""
        return torch.repeat_interleave(torch.arange(self.num_nodes), self.indptr[1:] - self.indptr[:-1])

    def with_weight(self, weight: Tensor) -> Adjacency:
        return Adjacency(self.indptr, self.indices, weight)

    def symmetric_normalized(self) -> Adjacency:
        """``Â = D^{-1/2} W D^{-1/2}`` (isolated nodes keep zero rows); needs a symmetric ``W``."""
        degree = torch.zeros(self.num_nodes).index_add_(0, self.rows, self.weight)
        inv_sqrt = torch.where(degree > 0, degree.clamp_min(1e-30).rsqrt(), torch.zeros(()))
        return self.with_weight(self.weight * inv_sqrt[self.rows] * inv_sqrt[self.indices])

    def row_normalized(self) -> Adjacency:
        """``P = D^{-1} W``: ``(P x)_i = sum_j w_ij x_j / sum_j w_ij``, the weighted mean."""
        total = torch.zeros(self.num_nodes).index_add_(0, self.rows, self.weight)
        return self.with_weight(self.weight / total.clamp_min(1e-30)[self.rows])

    def mean_normalized(self) -> Adjacency:
        """Weights ``ŵ_ij = n_i w_ij / sum_j w_ij`` (``n_i`` = number of neighbours of i): the
        plain mean of ``ŵ_ij x_j`` (DGL's ``SAGEConv(aggregator_type='mean')`` with edge weights)
        is then the weighted mean ``sum_j w_ij x_j / sum_j w_ij``."""
        count = (self.indptr[1:] - self.indptr[:-1]).to(torch.float32)
        return self.row_normalized().with_weight(self.row_normalized().weight * count[self.rows])

    def transpose(self) -> Adjacency:
        """``A^T`` in CSR form (one stable sort of the edges by source)."""
        order = torch.sort(self.indices, stable=True).indices
        indptr = torch.zeros_like(self.indptr)
        indptr[1:] = torch.cumsum(torch.bincount(self.indices, minlength=self.num_nodes), 0)
        return Adjacency(indptr, self.rows[order], self.weight[order])


class _SpMM(torch.autograd.Function):
    """``y = A x`` for a sparse CSR ``A`` whose transpose ``A^T`` is given: backward ``A^T g``.

    torch's own backward of ``torch.sparse.mm`` transposes (sorts) the CSR matrix on every call,
    which costs several forward products; here ``A^T`` is built once per graph, and not at all
    for a symmetric ``A`` (LightGCN's ``Â``).
    """

    @staticmethod
    def forward(ctx, matrix: Tensor, transposed: Tensor, x: Tensor) -> Tensor:
        ctx.transposed = transposed
        return torch.sparse.mm(matrix, x)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return None, None, torch.sparse.mm(ctx.transposed, grad)


def _torch_csr(adj: Adjacency) -> Tensor:
    return torch_csr(adj.indptr, adj.indices, adj.weight, (adj.num_nodes, adj.num_nodes))


def pyg_adjacency(adj: Adjacency, symmetric: bool) -> Tensor:
    """``adj`` as PyG's ``adj_t`` (torch sparse CSR, ``[dst, src]``), carrying its transpose in
    ``.transposed`` for the backward of :func:`spmm` (itself when ``symmetric``)."""
    matrix = _torch_csr(adj)
    matrix.transposed = matrix if symmetric else _torch_csr(adj.transpose())
    return matrix


def spmm(adj_t: Tensor, x: Tensor) -> Tensor:
    """``adj_t @ x`` for a :func:`pyg_adjacency` matrix, differentiable in ``x``."""
    return _SpMM.apply(adj_t, adj_t.transposed, x)


def dgl_graph(adj: Adjacency):
    """``adj`` as a ``DGLGraph`` with edges ``src -> dst`` and the weights in ``edata['weight']``."""
    dgl = import_dgl()
    graph = dgl.graph((adj.indices, adj.rows), num_nodes=adj.num_nodes)
    graph.edata["weight"] = adj.weight
    return graph


def _pyg_layers():
    """PyG ``LGConv`` and ``SAGEConv`` whose fused aggregation on a :func:`pyg_adjacency` is
    :func:`spmm` (``aggr='sum'``: the matrix already holds the normalized weights)."""
    from torch_geometric.nn import LGConv, SAGEConv

    class LGConvCSR(LGConv):
        def message_and_aggregate(self, adj_t: Tensor, x: Tensor) -> Tensor:
            return spmm(adj_t, x)

    class SAGEConvCSR(SAGEConv):
        def message_and_aggregate(self, adj_t: Tensor, x) -> Tensor:
            return spmm(adj_t, x[0])

    return LGConvCSR, SAGEConvCSR


def _init_table(num_nodes: int, dim: int) -> nn.Parameter:
    return nn.Parameter(torch.randn(num_nodes, dim) * 0.1)


class LightGCN(nn.Module):
    """LightGCN: ``Z = 1/(L+1) sum_l Â^l E^{(0)}``.

    Args:
        num_nodes: ``N``.
        dim: ``d``.
        layers: ``L >= 0`` (0 is plain matrix factorization).
        backend: ``pyg`` (``LGConv``) or ``dgl`` (``GraphConv(norm='none', weight=False)`` with
            ``Â``'s entries as edge weights).

    ``forward(graph)`` takes ``model.graph(adj)`` and returns ``Z`` ``(N, d)``.
    """

    def __init__(self, num_nodes: int, dim: int, layers: int, backend: str = "pyg"):
        super().__init__()
        self.layers, self.backend = layers, backend
        self.embedding = _init_table(num_nodes, dim)
        if backend == "pyg":
            self.conv = _pyg_layers()[0](normalize=False)
        else:
            import_dgl()
            from dgl.nn.pytorch import GraphConv

            self.conv = GraphConv(dim, dim, norm="none", weight=False, bias=False, allow_zero_in_degree=True)

    def graph(self, adj: Adjacency):
        """The backend's graph of ``Â = D^{-1/2} W D^{-1/2}``."""
        norm = adj.symmetric_normalized()
        return pyg_adjacency(norm, symmetric=True) if self.backend == "pyg" else dgl_graph(norm)

    def forward(self, graph) -> Tensor:
        x = total = self.embedding
        for _ in range(self.layers):
            if self.backend == "pyg":
                x = self.conv(x, graph)
            else:
                x = self.conv(graph, x, edge_weight=graph.edata["weight"])
            total = total + x
        return total / (self.layers + 1)


class SAGE(nn.Module):
    """GraphSAGE with weighted mean aggregation over a learnable input table.

    Args:
        num_nodes: ``N`` (rows of the input table).
        dim: ``d`` (input, hidden and output size).
        layers: ``L >= 1`` SAGE layers, ReLU between them.
        backend: ``pyg`` (``torch_geometric.nn.SAGEConv``) or ``dgl`` (``dgl.nn.SAGEConv``, mean).

    ``forward(nodes, graph)`` takes the global ids ``(n,)`` of the graph's nodes (``None`` for
    all nodes, or a sampled sub-graph's ``nodes``) and ``model.graph(adj)`` over them, and
    returns ``(n, d)`` outputs.
    """

    def __init__(self, num_nodes: int, dim: int, layers: int, backend: str = "pyg"):
        super().__init__()
        self.backend = backend
        self.embedding = _init_table(num_nodes, dim)
        if backend == "pyg":
            conv = _pyg_layers()[1]
            self.convs = nn.ModuleList(conv(dim, dim, aggr="sum") for _ in range(layers))
        else:
            import_dgl()
            from dgl.nn.pytorch import SAGEConv

            self.convs = nn.ModuleList(SAGEConv(dim, dim, "mean") for _ in range(layers))

    def graph(self, adj: Adjacency):
        """The backend's weighted-mean graph: ``P = D^{-1} W`` summed (PyG), or ``ŵ`` averaged (DGL)."""
        if self.backend == "pyg":
            return pyg_adjacency(adj.row_normalized(), symmetric=False)
        return dgl_graph(adj.mean_normalized())

    def forward(self, nodes: Tensor | None, graph) -> Tensor:
        x = self.embedding if nodes is None else self.embedding[nodes]
        for layer, conv in enumerate(self.convs):
            if self.backend == "pyg":
                x = conv(x, graph)
            else:
                x = conv(graph, x, edge_weight=graph.edata["weight"])
            if layer < len(self.convs) - 1:
                x = torch.relu(x)
        return x


def infonce_loss(anchor: Tensor, positive: Tensor, temperature: float) -> Tensor:
    """In-batch InfoNCE on ``(B, d)`` outputs: anchor b's positive is row b, the other rows are negatives."""
    logits = F.normalize(anchor, dim=1) @ F.normalize(positive, dim=1).T / temperature
    return F.cross_entropy(logits, torch.arange(logits.shape[0]))


def bpr_loss(anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
    """``-mean log sigma(<a, p> - <a, n>)`` on ``(B, d)`` outputs."""
    return -F.logsigmoid((anchor * (positive - negative)).sum(1)).mean()


def copy_sage_parameters(source: SAGE, target: SAGE) -> None:
    """Copy a SAGE model's parameters into one on the other backend: PyG computes
    ``lin_l(mean) + lin_r(x)`` (bias in ``lin_l``), DGL ``fc_self(x) + fc_neigh(mean)`` (bias in
    ``fc_self``). Used to check that both backends compute the same function."""
    target.embedding.data.copy_(source.embedding.data)
    for a, b in zip(source.convs, target.convs):
        if source.backend == target.backend:
            b.load_state_dict(a.state_dict())
            continue
        pyg, dgl = (a, b) if source.backend == "pyg" else (b, a)
        pairs = [(pyg.lin_l.weight, dgl.fc_neigh.weight), (pyg.lin_l.bias, dgl.fc_self.bias),
                 (pyg.lin_r.weight, dgl.fc_self.weight)]
        for p, d in pairs:
            (d if source.backend == "pyg" else p).data.copy_((p if source.backend == "pyg" else d).data)
