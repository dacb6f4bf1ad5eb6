"""Item-item co-engagement graph from training sequences: map (pairs per user) then reduce.

The map emits each user's pairs, chunk by chunk of users; the reduce (:mod:`.reduce`) sums
each pair's weight over users in memory bounded by the output plus one chunk (spilling the
chunks' partial sums to disk when there are several), then :func:`finish_graph` applies
``min_count``, the weighting and per-node top-k pruning and returns the symmetric ``(I, I)``
CSR matrix.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

from ..config import check_fields
from ..data.sequences import TRAIN, Sequences
from ..errors import ConfigError, check_choice
from ..measure import release_freed_memory
from .pairs import all_pairs, sampled_pairs, sparsification_pairs_per_user, window_pairs
from .reduce import PairSums, sum_by_pair, symmetric_csr, w_or_one

BUILDERS = ("sampled", "window")
WEIGHTINGS = ("count", "decay", "cosine", "pmi")


@dataclass
class GraphConfig:
    """How to build the graph.

    builder: ``sampled`` (G2Rec: m pairs per user from all of the user's pairs) or
        ``window`` (all pairs at most ``window`` positions apart).
    eps, delta: sparsification accuracy for ``sampled``: m from G2Rec's bound; users with
        fewer pairs than m contribute all their pairs exactly.
    pairs_per_user: a fixed m instead of the bound.
    weight: ``count`` (summed pair weights), ``decay`` (each pair weighted
        ``0.5 ** (gap / half_life)``), ``cosine`` (count / sqrt(n_i n_j), n = item
        interactions), ``pmi`` (positive PMI of the counts).
    half_life: for ``decay``, in the log's time unit (seconds; positions when the log has no time).
    min_count: drop pairs whose summed count is below this.
    top_k: keep each node's k strongest edges (an edge stays if either end keeps it).
    chunk_pairs: pairs per map chunk (~40 bytes each at peak); bounds peak memory, does not
        change the result; one chunk (no merge) is fastest.
    """

    builder: str = "sampled"
    eps: float = 0.5
    delta: float = 0.1
    pairs_per_user: int | None = None
    window: int = 5
    weight: str = "count"
    half_life: float = 30 * 86400.0
    min_count: float = 0.0
    top_k: int | None = None
    seed: int = 0
    chunk_pairs: int = 50_000_000

    def __post_init__(self):
        check_fields(self)
        check_choice("builder", self.builder, BUILDERS)
        check_choice("weight", self.weight, WEIGHTINGS)
        if not 0 < self.eps < 1 or not 0 < self.delta < 1:
            raise ConfigError(f"eps={self.eps}, delta={self.delta}: both must be in (0, 1)")
        if self.window < 1 or (self.pairs_per_user is not None and self.pairs_per_user < 1):
            raise ConfigError("window and pairs_per_user must be >= 1")
        if self.top_k is not None and self.top_k < 1:
            raise ConfigError(f"top_k={self.top_k}: must be >= 1")
        if self.half_life <= 0 or self.chunk_pairs < 1:
            raise ConfigError("half_life and chunk_pairs must be > 0")

    def to_dict(self) -> dict:
        return asdict(self)


def build_coengagement_graph(seq: Sequences, config: GraphConfig | None = None, progress=None, spill_dir=None):
    """Build the symmetric item-item graph from the TRAIN interactions of ``seq``.

    Args:
        seq: sequences with split labels; validation and test interactions are ignored.
        config: builder options.
        progress: optional callable ``progress(done_users, total_users)``.
        spill_dir: where the reduce spills the chunks' partial sums when there is more than
            one chunk (:class:`.reduce.PairSums`; the system's temporary folder by default).

    Returns:
        ``(graph, info)``: ``graph`` is a symmetric ``(I, I)`` float32 CSR matrix with an
        empty diagonal; ``info`` holds ``pairs_emitted`` and ``exact_users``/``sampled_users``.
    """
    config = config or GraphConfig()
    train = seq.subset(seq.split == TRAIN)
    plan = MapPlan.of(train, config)
    chunks = list(user_chunks(plan.cost, config.chunk_pairs))
    emitted, item_counts = 0, train.item_counts()
    with PairSums(train.num_items, ranges=len(chunks), folder=spill_dir) as sums:
        for start, end in chunks:
            *chunk, pairs = chunk_sums(train, plan, config, start, end)
            sums.add(*chunk)
            emitted += pairs
            if progress is not None:
                progress(end, len(plan.cost))
        del train  # the reduce's output needs the memory
        release_freed_memory()
        graph = finish_graph(config, sums.parts(), item_counts)
    return graph, {**plan.info, "pairs_emitted": emitted}


def finish_graph(config: GraphConfig, parts, item_counts: np.ndarray) -> sp.csr_matrix:
    """The reduce's result -> the graph. ``parts``: ``(keys, counts, decayed)`` with the summed
    counts (and decayed weights) of distinct pair keys ``src * I + dst`` (src < dst), sorted
    across parts; ``item_counts``: ``(I,)`` each item's training interactions. Then
    ``min_count``, the weighting, symmetry, ``top_k``, float32. Shared by every engine, so
    equal sums give the same graph."""
    n = len(item_counts)
    item = np.int32 if n < 2**31 else np.int64
    kept = []
    for keys, count, decayed in parts:
        if config.min_count > 0:
            keep = count >= config.min_count - 1e-9
            keys, count = keys[keep], count[keep]
            decayed = None if decayed is None else decayed[keep]
        src, dst = np.divmod(keys, n)
        kept.append((src.astype(item), dst.astype(item), count, decayed))
    row_sums = None
    if config.weight == "pmi":  # r: the symmetric count matrix's row sums
        row_sums = sum((np.bincount(s, c, minlength=n) + np.bincount(d, c, minlength=n) for s, d, c, _ in kept),
                       np.zeros(n))
    counts = item_counts.astype(np.float64) if config.weight == "cosine" else None
    edges = []
    while kept:
        src, dst, count, decayed = kept.pop(0)
        weight = _weigh(src, dst, count, decayed, config.weight, counts, row_sums)
        keep = weight != 0
        if config.top_k is None:  # pruning ranks float64 weights; otherwise float32 now
            weight = weight.astype(np.float32)
            keep &= weight != 0  # decayed weights can underflow float32: such an edge is no edge
        edges.append((src[keep], dst[keep], weight[keep]))
    graph = symmetric_csr(edges, n)
    if config.top_k is not None:
        graph = top_k_per_node(graph, config.top_k).astype(np.float32)
        graph.eliminate_zeros()
        graph.sort_indices()
    return graph


def user_chunks(cost: np.ndarray, budget: int):
    """Split users into consecutive runs whose summed ``cost`` stays near ``budget``."""
    bounds = np.searchsorted(np.cumsum(cost), np.arange(budget, cost.sum() + budget, budget), side="right")
    start = 0
    for end in np.unique(np.r_[bounds, len(cost)]):
        if end > start:
            yield start, int(end)
            start = int(end)


@dataclass
class MapPlan:
    """What the map needs beside a chunk's sequences: per user, the pairs it will emit
    (``cost``, for chunking), its sample size ``m`` and whether it is sampled (``sampled``
    builder only); ``info``: the builder's counts for the manifest."""

    cost: np.ndarray
    m: np.ndarray | None
    sampled: np.ndarray | None
    info: dict

    @classmethod
    def of(cls, train: Sequences, config: GraphConfig) -> MapPlan:
        lengths = train.lengths
        pairs_total = lengths * (lengths - 1) // 2
        if config.builder == "window":
            return cls(np.maximum(lengths * config.window, 1), None, None, {})
        m = (np.full(len(lengths), config.pairs_per_user, dtype=np.int64) if config.pairs_per_user
             else sparsification_pairs_per_user(lengths, train.num_items, config.eps, config.delta))
        sampled = m < pairs_total
        info = {"sampled_users": int(np.sum(sampled & (lengths >= 2))),
                "exact_users": int(np.sum(~sampled & (lengths >= 2))), "pairs_full": int(pairs_total.sum())}
        return cls(np.maximum(np.minimum(m, pairs_total), 1), m, sampled, info)


def map_chunk(train: Sequences, plan: MapPlan, config: GraphConfig, start: int, end: int):
    """The map of users ``start..end-1``: their pairs ``(src, dst, weight, decay)`` (``weight``
    None when all are 1; ``decay`` the pairs' decayed weights, None unless ``weight='decay'``).
    A pure function of those users' sequences, their indices and the seed: any engine, any
    chunking, gives the same multiset of pairs."""
    need_gap = config.weight == "decay"
    lo, hi = train.offsets[start], train.offsets[end]
    item_dtype = np.int32 if train.num_items < 2**31 else np.int64  # halves the memory traffic of the pairs
    items, times = train.items[lo:hi].astype(item_dtype), train.times[lo:hi]
    offsets = train.offsets[start:end + 1] - lo
    if config.builder == "window":
        src, dst, w, gap = window_pairs(items, times, offsets, config.window, need_gap)
    else:
        local = np.arange(end - start)
        exact = local[~plan.sampled[start:end]]
        draw = local[plan.sampled[start:end]]
        src, dst, _, gap_exact = all_pairs(items, times, offsets, exact, need_gap)
        src2, dst2, w, gap = sampled_pairs(items, times, offsets, draw, draw + start, plan.m[start:end][draw],
                                           config.seed, need_gap)
        src, dst = np.concatenate([src, src2]), np.concatenate([dst, dst2])
        w = np.concatenate([np.ones(len(src) - len(src2)), w])
        gap = np.concatenate([gap_exact, gap]) if need_gap else None
    decay = w_or_one(w, len(src)) * np.exp2(-gap / config.half_life) if need_gap else None
    return src, dst, w, decay


def chunk_sums(train: Sequences, plan: MapPlan, config: GraphConfig, start: int, end: int):
    """The map of users ``start..end-1`` summed per pair: ``(keys, counts, decayed, emitted)``
    (:func:`sum_by_pair` of :func:`map_chunk`'s pairs, keyed ``src * I + dst``; ``emitted``
    the number of pairs)."""
    src, dst, w, decay = map_chunk(train, plan, config, start, end)
    return (*sum_by_pair(src.astype(np.int64) * train.num_items + dst, w, decay), len(src))


def _weigh(src, dst, count, decayed, weight: str, item_counts, row_sums) -> np.ndarray:
    """The chosen float64 weight of each upper-triangle edge from its summed count (and decayed sum)."""
    if weight == "count":
        return count
    if weight == "decay":
        return decayed
    if weight == "cosine":  # count / sqrt(n_i n_j), n = the items' training interactions
        return count / np.sqrt(item_counts[src] * item_counts[dst])
    # pmi: log(C_ij * S / (r_i r_j)) with r the symmetric row sums, kept where positive
    pmi = np.log(count * row_sums.sum() / (row_sums[src] * row_sums[dst]))
    pmi[pmi < 0] = 0
    return pmi


def top_k_per_node(graph: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep each row's ``k`` largest entries, then the union with the transpose (stays symmetric)."""
    graph = graph.tocsr()
    rows = np.repeat(np.arange(graph.shape[0]), np.diff(graph.indptr))
    order = np.lexsort((graph.indices, -graph.data, rows))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - graph.indptr[rows[order]]
    keep = rank < k
    pruned = sp.csr_matrix((graph.data[keep], (rows[keep], graph.indices[keep])), shape=graph.shape)
    return pruned.maximum(pruned.T).tocsr()
