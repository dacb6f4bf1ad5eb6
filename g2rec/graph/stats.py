"""Summary statistics of a co-engagement graph, for manifests and reports."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

QUANTILES = (0.0, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0)


def graph_stats(graph: sp.csr_matrix) -> dict:
    """Nodes, undirected edges, degree quantiles, isolated nodes and connected components."""
    degree = np.diff(graph.indptr)
    strength = np.asarray(graph.sum(axis=1)).ravel()
    # the graph is symmetric, so its strong components are its components; scipy finds them
    # without the transpose that directed=False builds (half the memory)
    n_comp, labels = connected_components(graph, directed=True, connection="strong")
    non_isolated = labels[degree > 0]
    sizes = np.bincount(non_isolated) if len(non_isolated) else np.zeros(1, dtype=np.int64)
    return {
        "num_nodes": int(graph.shape[0]),
        "num_edges": int(graph.nnz // 2),
        "isolated_nodes": int(np.sum(degree == 0)),
        "degree_quantiles": {str(q): float(v) for q, v in zip(QUANTILES, np.quantile(degree, QUANTILES))},
        "weighted_degree_quantiles": {str(q): float(v) for q, v in zip(QUANTILES, np.quantile(strength, QUANTILES))},
        "connected_components": int(n_comp - np.sum(degree == 0)),
        "largest_component": int(sizes.max()),
    }
