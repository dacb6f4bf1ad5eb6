"""Neighbour sampling in plain torch: the L-hop sub-graph around a batch of seed nodes.

PyG's ``NeighborLoader`` needs ``pyg-lib`` or ``torch-sparse``, which do not install beside
torch 2.13, so this is the same idea written with vectorized torch ops on the CSR arrays:

* hop 1 takes up to ``fanouts[0]`` distinct neighbours of every seed (all of them when the
  degree is smaller), uniformly or in proportion to the edge weights; hop 2 does the same for
  the nodes that hop 1 discovered, and so on;
* every node is sampled at most once and gets a local id in order of discovery, seeds first,
  so the output of a GNN applied to the sub-graph at rows ``0..num_seeds-1`` belongs to the seeds.

The sub-graph is returned in CSR form over local ids with rows = destination (aggregating)
node and columns = sampled neighbour, with the original edge weights, so a model builds the
same adjacency from it as from the full graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor


@dataclass
class CSRGraph:
    """A graph as torch CSR arrays: node ``v``'s neighbours are ``indices[indptr[v]:indptr[v+1]]``.

    Attributes:
        indptr: ``(N+1,)`` int64 row pointers.
        indices: ``(E,)`` int64 neighbour ids.
        weight: ``(E,)`` float32 edge weights.
    """

    indptr: Tensor
    indices: Tensor
    weight: Tensor

    @classmethod
    def from_scipy(cls, matrix: sp.spmatrix) -> CSRGraph:
        csr = sp.csr_matrix(matrix)
        csr.sort_indices()
        return cls(torch.from_numpy(csr.indptr.astype(np.int64)), torch.from_numpy(csr.indices.astype(np.int64)),
                   torch.from_numpy(csr.data.astype(np.float32)))

    @property
    def num_nodes(self) -> int:
        return self.indptr.numel() - 1

    @property
    def num_edges(self) -> int:
        return self.indices.numel()

    @property
    def degree(self) -> Tensor:
        """``(N,)`` number of neighbours of every node."""
        return self.indptr[1:] - self.indptr[:-1]

    @cached_property
    def cumulative_weight(self) -> Tensor:
        """``(E+1,)`` float64 ``[0, w_0, w_0 + w_1, ...]``: node v's weights sum to ``c[indptr[v+1]] - c[indptr[v]]``."""
        return torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(self.weight.double(), 0)])


@dataclass
class Subgraph:
    """Sampled sub-graph over local ids ``0..N-1`` (``nodes[local] = global id``).

    Attributes:
        nodes: ``(N,)`` global ids; ``nodes[:num_seeds]`` are the seeds in the given order.
        num_seeds: number of seed nodes.
        indptr: ``(N+1,)`` CSR row pointers; row = destination node (nodes of the last hop have none).
        indices: ``(E,)`` local id of each sampled neighbour (the message source).
        weight: ``(E,)`` original weight of each sampled edge.
        hop_sizes: number of nodes first reached at hop 0 (the seeds), 1, ..., L.
    """

    nodes: Tensor
    num_seeds: int
    indptr: Tensor
    indices: Tensor
    weight: Tensor
    hop_sizes: list[int]

    @property
    def num_nodes(self) -> int:
        return self.nodes.numel()

    @property
    def edge_index(self) -> Tensor:
        """``(2, E)`` local ``[source; target]`` pairs (PyG's convention)."""
        target = torch.repeat_interleave(torch.arange(self.num_nodes), self.indptr[1:] - self.indptr[:-1])
        return torch.stack([self.indices, target])


def sample_neighbors(graph: CSRGraph, seeds: Tensor, fanout: int, generator: torch.Generator | None = None
                     ) -> tuple[Tensor, Tensor]:
    """Up to ``fanout`` distinct neighbours of each seed, uniformly without replacement.

    A seed of degree ``deg <= fanout`` keeps all its neighbours. Otherwise ``fanout`` of its
    ``deg`` CSR slots are drawn by Floyd's algorithm, vectorized over seeds: for step
    ``s = 0..k-1`` with ``j = deg - k + s``, draw ``t ~ U{0..j}`` and take ``t``, or ``j`` when
    ``t`` was taken before. Every k-subset is equally likely, and the cost is ``O(S k^2)``
    whatever the degrees.

    Args:
        graph: the CSR graph.
        seeds: ``(S,)`` node ids.
        fanout: ``k``, neighbours per seed.
        generator: torch generator for reproducible draws.

    Returns:
        ``(seed_pos (E,), slot (E,))``: for each sampled edge the position of its seed in
        ``seeds`` (non-decreasing) and its CSR slot, so the neighbour is ``graph.indices[slot]``
        and the weight ``graph.weight[slot]``; ``E = sum_s min(deg_s, k)``.
    """
    _check_fanout(fanout)
    start, deg = graph.indptr[seeds], graph.degree[seeds]
    seed_pos, slot = _all_slots(start, deg.clamp(max=fanout))  # replaced below for high-degree seeds
    big = torch.nonzero(deg > fanout).flatten()
    if big.numel():
        d = deg[big]
        chosen = torch.empty((big.numel(), fanout), dtype=torch.int64)
        u = torch.rand((big.numel(), fanout), generator=generator, dtype=torch.float64)
        for s in range(fanout):  # Floyd: k small steps over all high-degree seeds at once
            j = d - fanout + s
            t = (u[:, s] * (j + 1).double()).long().clamp_max_(j)
            taken = (chosen[:, :s] == t[:, None]).any(1)
            chosen[:, s] = torch.where(taken, j, t)
        first = torch.searchsorted(seed_pos, big)  # each high-degree seed's first output position
        out = first[:, None] + torch.arange(fanout)
        slot[out.flatten()] = (start[big][:, None] + chosen).flatten()
    return seed_pos, slot


def sample_neighbors_weighted(graph: CSRGraph, seeds: Tensor, fanout: int, generator: torch.Generator | None = None
                              ) -> tuple[Tensor, Tensor, Tensor]:
    """Up to ``fanout`` distinct neighbours of each seed, drawn in proportion to the edge weights.

    A seed of degree ``deg <= fanout`` keeps all its neighbours with their weights ``w_sj``.
    Otherwise ``k = fanout`` neighbours are drawn with replacement, ``P(j) = w_sj / W_s``
    (``W_s = sum_j w_sj``, inverse CDF on the graph's cumulative weights), and repeats are merged:
    neighbour j drawn ``c_j`` times gets weight ``c_j W_s / k``. The weighted mean over the
    sampled neighbours, ``sum_j c_j x_j / k``, is then an unbiased estimate of the full
    weighted mean ``sum_j w_sj x_j / W_s``, and strong edges are rarely missed.

    Returns:
        ``(seed_pos (E,), slot (E,), weight (E,))`` as :func:`sample_neighbors`, plus each
        sampled edge's weight; seeds stay in order and neighbours are distinct per seed.
    """
    _check_fanout(fanout)
    start, deg = graph.indptr[seeds], graph.degree[seeds]
    small = torch.nonzero(deg <= fanout).flatten()
    small_pos, small_slot = _all_slots(start[small], deg[small])
    small_pos = small[small_pos]
    big = torch.nonzero(deg > fanout).flatten()
    cumulative = graph.cumulative_weight
    low, high = cumulative[start[big]], cumulative[start[big] + deg[big]]
    u = torch.rand((big.numel(), fanout), generator=generator, dtype=torch.float64)
    drawn = torch.searchsorted(cumulative, low[:, None] + u * (high - low)[:, None], right=True) - 1
    drawn = torch.minimum(torch.maximum(drawn, start[big][:, None]), (start[big] + deg[big] - 1)[:, None])
    key, repeats = torch.unique(torch.arange(big.numel())[:, None] * graph.num_edges + drawn, return_counts=True)
    big_row, big_slot = key // graph.num_edges, key % graph.num_edges
    big_weight = repeats * ((high - low) / fanout)[big_row]
    seed_pos = torch.cat([small_pos, big[big_row]])
    order = torch.argsort(seed_pos, stable=True)
    slot = torch.cat([small_slot, big_slot])[order]
    weight = torch.cat([graph.weight[small_slot], big_weight.to(torch.float32)])[order]
    return seed_pos[order], slot, weight


def _check_fanout(fanout: int) -> None:
    if fanout < 1:
        raise ValueError(f"fanout must be >= 1, got {fanout}")


def _all_slots(start: Tensor, count: Tensor) -> tuple[Tensor, Tensor]:
    """CSR slots ``start[s] .. start[s] + count[s] - 1`` of every seed s, with the seed's position."""
    seed_pos = torch.repeat_interleave(torch.arange(start.numel()), count)
    first = torch.cumsum(count, 0) - count
    return seed_pos, start[seed_pos] + torch.arange(seed_pos.numel()) - first[seed_pos]


class NeighborSampler:
    """Samples the L-hop sub-graph around seed nodes, ``fanouts[l]`` neighbours per node at hop l+1,
    uniformly (:func:`sample_neighbors`, edges keep their weights) or by weight
    (:func:`sample_neighbors_weighted`, edges carry the estimator's weights).

    Example (2 hops, 10 neighbours each)::

        sampler = NeighborSampler(CSRGraph.from_scipy(adj), [10, 10], torch.Generator().manual_seed(0))
        sub = sampler.sample(torch.tensor([3, 17, 42]))
        h = gnn(x[sub.nodes], sub)[:sub.num_seeds]        # outputs of the 3 seeds
    """

    def __init__(self, graph: CSRGraph, fanouts: list[int], generator: torch.Generator | None = None,
                 weighted: bool = False):
        self.graph, self.fanouts, self.generator, self.weighted = graph, list(fanouts), generator, weighted
        self._local = torch.full((graph.num_nodes,), -1, dtype=torch.int64)  # global -> local id, reset after use

    def sample(self, seeds: Tensor) -> Subgraph:
        """The sampled sub-graph of ``seeds`` (``(S,)`` distinct node ids)."""
        local = self._local
        nodes = [seeds]
        local[seeds] = torch.arange(seeds.numel())
        if int((local[seeds] != torch.arange(seeds.numel())).sum()):
            local[seeds] = -1
            raise ValueError("seeds must be distinct node ids")
        frontier, count = torch.arange(seeds.numel()), seeds.numel()  # local ids whose neighbours come next
        rows, cols, weights, hop_sizes = [], [], [], [seeds.numel()]
        try:
            for fanout in self.fanouts:
                if self.weighted:
                    seed_pos, slot, weight = sample_neighbors_weighted(self.graph, nodes[-1], fanout, self.generator)
                else:
                    seed_pos, slot = sample_neighbors(self.graph, nodes[-1], fanout, self.generator)
                    weight = self.graph.weight[slot]
                neighbor = self.graph.indices[slot]
                new = torch.unique(neighbor[local[neighbor] < 0])  # first reached at this hop, sorted
                local[new] = torch.arange(count, count + new.numel())
                rows.append(frontier[seed_pos])
                cols.append(local[neighbor])
                weights.append(weight)
                nodes.append(new)
                hop_sizes.append(new.numel())
                frontier, count = torch.arange(count, count + new.numel()), count + new.numel()
            all_nodes = torch.cat(nodes)
        finally:
            for part in nodes:
                local[part] = -1
        row = torch.cat(rows) if rows else torch.empty(0, dtype=torch.int64)  # non-decreasing: CSR order
        indptr = torch.zeros(count + 1, dtype=torch.int64)
        indptr[1:] = torch.cumsum(torch.bincount(row, minlength=count), 0)
        return Subgraph(nodes=all_nodes, num_seeds=seeds.numel(), indptr=indptr,
                        indices=torch.cat(cols) if cols else torch.empty(0, dtype=torch.int64),
                        weight=torch.cat(weights) if weights else torch.empty(0), hop_sizes=hop_sizes)
