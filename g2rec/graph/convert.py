"""Conversions of the CSR graph to networkx, PyTorch Geometric and DGL."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .dgl_compat import import_dgl


def to_networkx(graph: sp.csr_matrix):
    """An undirected ``networkx.Graph`` with edge attribute ``weight``; every item is a node."""
    import networkx as nx

    return nx.from_scipy_sparse_array(graph, edge_attribute="weight")


def _edges(graph: sp.csr_matrix):
    import torch

    coo = graph.tocoo()
    edge_index = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
    return edge_index, torch.from_numpy(coo.data.astype(np.float32))


def to_pyg(graph: sp.csr_matrix):
    """A PyG ``Data`` with both directions of every edge in ``edge_index`` ``(2, 2E)`` and ``edge_weight`` ``(2E,)``."""
    from torch_geometric.data import Data

    edge_index, weight = _edges(graph)
    return Data(edge_index=edge_index, edge_weight=weight, num_nodes=graph.shape[0])


def to_dgl(graph: sp.csr_matrix):
    """A DGL graph with both directions of every edge and ``edata['weight']``; needs the ``dgl`` extra."""
    dgl = import_dgl()
    edge_index, weight = _edges(graph)
    g = dgl.graph((edge_index[0], edge_index[1]), num_nodes=graph.shape[0])
    g.edata["weight"] = weight
    return g
