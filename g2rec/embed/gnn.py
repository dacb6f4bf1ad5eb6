"""GNN item embeddings: LightGCN and GraphSAGE trained self-supervised on the training graph.

Graphs (``graph=``):

* ``coengagement``: the ``(I, I)`` weighted item-item graph of the run folder; positives are
  its edges ``(i, j)`` in a random direction.
* ``bipartite``: users and items as ``U + I`` nodes (users first), an edge per distinct
  training ``(user, item)`` pair weighted by its count; positives are those pairs.

An epoch draws as many positives as there are pairs, each with probability proportional to
its weight (on Beauty's count graph, uniform edges instead lose a third of the kNN recall).

Losses (``loss=``), on outputs ``z`` of a batch of ``B`` positives ``(a_b, p_b)``:

* ``infonce``: cosine logits ``s_bc = cos(z_{a_b}, z_{p_c}) / tau`` with the batch's other
  positives as negatives, ``L = CE(s, diag) = -mean_b log softmax_c(s_bc)|_{c=b}``;
* ``bpr``: one uniform negative item ``n_b`` per positive,
  ``L = -mean_b log sigma(<z_a, z_p> - <z_a, z_n>) + l2 * mean_b (|e_a|^2 + |e_p|^2 + |e_n|^2) / 2``
  on the input rows ``e`` (LightGCN's regularizer).

LightGCN propagates over the whole graph every step (one sparse product per layer);
GraphSAGE does too on small graphs and otherwise runs on the sampled L-hop sub-graph of the
batch's nodes (:mod:`g2rec.embed.sampling`); its final embeddings come from one full-graph pass.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from ..config import check_fields
from ..data.sequences import TRAIN
from ..errors import ConfigError, G2RecError, check_choice
from ..graph.dgl_compat import import_dgl
from .base import EmbedInputs, EmbedResult
from .gnn_models import BACKENDS, SAGE, Adjacency, LightGCN, bpr_loss, infonce_loss
from .sampling import CSRGraph, NeighborSampler

GRAPHS = ("coengagement", "bipartite")
LOSSES = ("infonce", "bpr")
SAMPLING = ("auto", "full", "neighbor")


@dataclass
class GNNConfig:
    """Options shared by LightGCN and GraphSAGE (field names are the CLI's option names).

    Attributes:
        dim: embedding size ``d``.
        backend: ``pyg`` or ``dgl``.
        graph: ``coengagement`` (item-item) or ``bipartite`` (user-item).
        loss: ``infonce`` or ``bpr``.
        layers: propagation layers ``L``.
        epochs: epochs of P positive draws (P = number of positive pairs); None: just enough
            epochs for ``target_steps`` steps (at least 1), so small and large graphs both train.
        target_steps: steps that ``epochs=None`` aims at.
        lr: Adam learning rate.
        batch_size: positives per step ``B``.
        seed: seeds the initial table, the batches, the negatives and the neighbour samples.
        temperature: InfoNCE ``tau``.
        l2: BPR's L2 weight on the batch's input rows.
        threads: torch CPU threads during the fit (0: leave torch's setting).
    """

    dim: int = 64
    backend: str = "pyg"
    graph: str = "coengagement"
    loss: str = "infonce"
    layers: int = 2
    epochs: int | None = None
    target_steps: int = 400
    lr: float = 0.01
    batch_size: int = 2048
    seed: int = 0
    temperature: float = 0.1
    l2: float = 1e-4
    threads: int = 0

    def check(self, min_layers: int) -> None:
        check_choice("backend", self.backend, BACKENDS)
        check_choice("graph", self.graph, GRAPHS)
        check_choice("loss", self.loss, LOSSES)
        for name, low in (("dim", 1), ("layers", min_layers), ("epochs", 1), ("target_steps", 1), ("batch_size", 2),
                          ("threads", 0)):
            value = getattr(self, name)
            if name == "epochs" and value is None:
                continue
            if not isinstance(value, (int, np.integer)) or value < low:
                raise ConfigError(f"{name}={value!r} must be an integer >= {low}")
        for name in ("lr", "temperature"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name}={getattr(self, name)!r} must be > 0")
        if not self.l2 >= 0:
            raise ConfigError(f"l2={self.l2!r} must be >= 0")
        if self.backend == "dgl":  # fail before any work when DGL is missing
            import_dgl()

    def __post_init__(self):
        check_fields(self)


@dataclass
class LightGCNConfig(GNNConfig):
    """LightGCN options (see :class:`GNNConfig`); ``layers=0`` trains the table alone."""


@dataclass
class SAGEConfig(GNNConfig):
    """GraphSAGE options (see :class:`GNNConfig`), plus neighbour sampling.

    Attributes:
        sampling: ``neighbor`` (sampled sub-graphs), ``full`` (whole graph every step) or
            ``auto`` (``neighbor`` when the graph has more than ``sample_above`` nodes).
        fanout: neighbours sampled per node and hop.
        sample_by: ``weight`` (neighbours drawn in proportion to edge weight) or ``uniform``.
        sample_above: node count above which ``auto`` samples.
    """

    sampling: str = "auto"
    fanout: int = 10
    sample_by: str = "weight"
    sample_above: int = 20_000

    def check(self, min_layers: int) -> None:
        super().check(min_layers)
        check_choice("sampling", self.sampling, SAMPLING)
        check_choice("sample_by", self.sample_by, ("weight", "uniform"))
        if not isinstance(self.fanout, (int, np.integer)) or self.fanout < 1:
            raise ConfigError(f"fanout={self.fanout!r} must be an integer >= 1")


@dataclass
class TrainingGraph:
    """The graph a GNN trains on and the positive pairs it learns from.

    Attributes:
        adjacency: ``(N, N)`` symmetric weighted adjacency.
        positives: ``(P, 2)`` node pairs ``(anchor, positive)``.
        weight: ``(P,)`` float64 pair weights (sampling probabilities up to a constant).
        symmetric: pairs are unordered (co-engagement): each is used in a random direction.
        item_offset: node id of item 0 (``U`` on the bipartite graph, else 0).
        num_items: ``I``; items are nodes ``item_offset .. item_offset + I - 1``.
    """

    adjacency: CSRGraph
    positives: Tensor
    weight: Tensor
    symmetric: bool
    item_offset: int
    num_items: int

    @property
    def num_nodes(self) -> int:
        return self.adjacency.num_nodes


def training_graph(inputs: EmbedInputs, kind: str) -> TrainingGraph:
    """The co-engagement or user-item bipartite graph of ``inputs`` (training interactions only)."""
    num_items = inputs.sequences.num_items
    if kind == "coengagement":
        graph = sp.csr_matrix(inputs.graph, dtype=np.float32)
        upper = sp.triu(graph, k=1).tocoo()
        if upper.nnz == 0:
            raise G2RecError("the co-engagement graph has no edges: nothing to train a GNN on "
                             "(try --graph bipartite, or build the graph from more interactions)")
        positives = np.stack([upper.row, upper.col], axis=1)
        return TrainingGraph(CSRGraph.from_scipy(graph), torch.from_numpy(positives.astype(np.int64)),
                             torch.from_numpy(upper.data.astype(np.float64)), True, 0, num_items)
    train = inputs.sequences.subset(inputs.sequences.split == TRAIN)
    if train.num_interactions == 0:
        raise G2RecError("no training interactions: nothing to train a GNN on")
    num_users = train.num_users
    counts = sp.csr_matrix((np.ones(train.num_interactions, dtype=np.float32), (train.users, train.items)),
                           shape=(num_users, num_items))  # duplicates summed: weight = count
    adjacency = sp.bmat([[None, counts], [counts.T, None]], format="csr", dtype=np.float32)
    pairs = counts.tocoo()
    positives = np.stack([pairs.row, pairs.col + num_users], axis=1)
    return TrainingGraph(CSRGraph.from_scipy(adjacency), torch.from_numpy(positives.astype(np.int64)),
                         torch.from_numpy(pairs.data.astype(np.float64)), False, num_users, num_items)


def weighted_draws(weight: Tensor, count: int, generator: torch.Generator) -> Tensor:
    """``count`` indices drawn with replacement, ``P(k) = weight_k / sum(weight)`` (inverse CDF)."""
    cumulative = torch.cumsum(weight, 0)
    u = torch.rand(count, generator=generator, dtype=torch.float64) * cumulative[-1]
    return torch.searchsorted(cumulative, u, right=True).clamp_max_(weight.numel() - 1)


@contextmanager
def _threads(count: int):
    before = torch.get_num_threads()
    if count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _batch_nodes(data: TrainingGraph, batch: Tensor, loss: str, generator: torch.Generator) -> Tensor:
    """``(2, B)`` anchors and positives of the drawn pairs ``batch``, plus a row of uniform negative items for BPR."""
    pairs = data.positives[batch]
    if data.symmetric:  # an unordered edge: random direction
        flip = torch.rand(len(batch), generator=generator) < 0.5
        pairs = torch.where(flip[:, None], pairs.flip(1), pairs)
    nodes = pairs.T
    if loss == "bpr":
        negative = data.item_offset + torch.randint(data.num_items, (1, len(batch)), generator=generator)
        nodes = torch.cat([nodes, negative])
    return nodes


def _outputs(model, graph, sampler: NeighborSampler | None, nodes: Tensor) -> Tensor:
    """Model outputs ``(R, B, d)`` for node ids ``nodes`` ``(R, B)``: from the whole graph, or from
    the sampled sub-graph around the batch's distinct nodes."""
    if isinstance(model, LightGCN):
        return model(graph)[nodes]
    if sampler is None:
        return model(None, graph)[nodes]
    seeds, where = torch.unique(nodes, return_inverse=True)
    sub = sampler.sample(seeds)
    return model(sub.nodes, model.graph(Adjacency(sub.indptr, sub.indices, sub.weight)))[where]


def _fit(inputs: EmbedInputs, config: GNNConfig, method: str, progress) -> EmbedResult:
    """Train ``method`` (``lightgcn`` or ``sage``) and return the item rows of its output."""
    clock, cpu_clock = time.perf_counter(), time.process_time()
    config.check(min_layers=0 if method == "lightgcn" else 1)
    data = training_graph(inputs, config.graph)
    csr = data.adjacency
    full = Adjacency(csr.indptr, csr.indices, csr.weight)
    generator = torch.Generator().manual_seed(config.seed)
    sampled = method == "sage" and (config.sampling == "neighbor" or (
        config.sampling == "auto" and data.num_nodes > config.sample_above))
    with _threads(config.threads), torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        threads = torch.get_num_threads()
        model = (LightGCN if method == "lightgcn" else SAGE)(data.num_nodes, config.dim, config.layers, config.backend)
        graph = None if sampled else model.graph(full)
        sampler = NeighborSampler(csr, [config.fanout] * config.layers, generator,
                                  weighted=config.sample_by == "weight") if sampled else None
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)

        num_pos = data.positives.shape[0]
        steps = -(-num_pos // config.batch_size)
        epochs = config.epochs or -(-config.target_steps // steps)
        curve = []
        for epoch in range(1, epochs + 1):
            losses = []
            for step, batch in enumerate(torch.tensor_split(weighted_draws(data.weight, num_pos, generator), steps)):
                nodes = _batch_nodes(data, batch, config.loss, generator)
                z = _outputs(model, graph, sampler, nodes)
                if config.loss == "infonce":
                    loss = infonce_loss(z[0], z[1], config.temperature)
                else:
                    l2 = model.embedding[nodes].square().sum(2).sum(0).mean() / 2
                    loss = bpr_loss(z[0], z[1], z[2]) + config.l2 * l2
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
                if progress is not None:
                    progress(f"train {method}", (epoch - 1) * steps + step + 1, epochs * steps)
            curve.append({"epoch": epoch, "loss": round(float(np.mean(losses)), 6),
                          "seconds": round(time.perf_counter() - clock, 3)})

        with torch.no_grad():  # final embeddings: whole graph, full neighbourhoods
            if graph is None:
                graph = model.graph(full)
            out = model(graph) if method == "lightgcn" else model(None, graph)
    vectors = out[data.item_offset:data.item_offset + data.num_items].numpy().astype(np.float32)
    summary = {"backend": config.backend, "graph": config.graph, "loss": config.loss, "layers": config.layers,
               "epochs": epochs, "final_loss": curve[-1]["loss"]}
    if method == "sage":
        summary["sampling"] = "neighbor" if sampled else "full"
    details = {"num_nodes": data.num_nodes, "num_graph_edges": csr.num_edges, "num_positives": num_pos,
               "steps_per_epoch": steps, "train_seconds": round(time.perf_counter() - clock, 3),
               "train_cpu_seconds": round(time.process_time() - cpu_clock, 3), "threads": threads}
    return EmbedResult(vectors=vectors, summary=summary, curve=curve, details=details)


def fit_lightgcn(inputs: EmbedInputs, config: LightGCNConfig | None = None, progress=None) -> EmbedResult:
    """LightGCN item embeddings ``(I, d)`` (the layer-mean output ``Z`` of the item nodes)."""
    return _fit(inputs, config or LightGCNConfig(), "lightgcn", progress)


def fit_sage(inputs: EmbedInputs, config: SAGEConfig | None = None, progress=None) -> EmbedResult:
    """GraphSAGE item embeddings ``(I, d)`` (last-layer output of the item nodes, full neighbourhoods)."""
    return _fit(inputs, config or SAGEConfig(), "sage", progress)
