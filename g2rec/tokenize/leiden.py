"""Leiden communities (leidenalg on igraph) as the hard-partition baseline for soft modularity."""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..config import check_fields
from ..errors import ConfigError, G2RecError
from .soft_modularity import modularity_of_labels


@dataclass
class LeidenConfig:
    """leidenalg options: ``resolution`` (gamma of ``RBConfigurationVertexPartition``, where 1
    is standard modularity), ``iterations`` (-1: until no improvement), ``seed``."""

    resolution: float = 1.0
    iterations: int = -1
    seed: int = 0

    def __post_init__(self):
        check_fields(self)
        if self.resolution <= 0:
            raise ConfigError(f"leiden resolution={self.resolution}: must be > 0")
        if self.iterations == 0 or self.iterations < -1:
            raise ConfigError(f"leiden iterations={self.iterations}: must be >= 1, or -1 (until stable)")


@dataclass
class LeidenResult:
    """``labels``: ``(I,)`` int64 community per item (0..n-1, largest first);
    ``modularity``: ``Q`` at ``resolution`` computed by :func:`modularity_of_labels` (the same
    definition as ours); ``seconds``: Leiden's own time (building the igraph graph excluded,
    reported as ``build_seconds``)."""

    labels: np.ndarray
    modularity: float
    seconds: float
    build_seconds: float

    @property
    def num_communities(self) -> int:
        return int(self.labels.max()) + 1 if len(self.labels) else 0


def _import(name: str):
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise G2RecError(f"{name} is not installed ({e}): pip install leidenalg igraph") from None


def to_igraph(graph: sp.spmatrix):
    """Undirected weighted igraph graph from the upper triangle of a symmetric matrix."""
    ig = _import("igraph")
    upper = sp.triu(sp.csr_matrix(graph), k=1).tocoo()
    return ig.Graph(n=graph.shape[0], edges=np.c_[upper.row, upper.col],
                    edge_attrs={"weight": upper.data.astype(np.float64)})


def leiden(graph: sp.spmatrix, config: LeidenConfig | None = None) -> LeidenResult:
    """Leiden partition of the symmetric weighted ``(I, I)`` graph maximizing modularity."""
    config = config or LeidenConfig()
    la = _import("leidenalg")
    start = time.perf_counter()
    g = to_igraph(graph)
    built = time.perf_counter()
    part = la.find_partition(g, la.RBConfigurationVertexPartition, weights="weight",
                             resolution_parameter=config.resolution, n_iterations=config.iterations,
                             seed=config.seed)
    seconds = time.perf_counter() - built
    labels = np.asarray(part.membership, dtype=np.int64)
    sizes = np.bincount(labels)
    rank = np.empty(len(sizes), dtype=np.int64)
    rank[np.lexsort((np.arange(len(sizes)), -sizes))] = np.arange(len(sizes))
    labels = rank[labels]
    return LeidenResult(labels, modularity_of_labels(graph, labels, config.resolution), seconds, built - start)
