"""Conversions of a real graph to networkx, PyG and DGL keep nodes, edges and weights."""

import numpy as np
import pytest

from g2rec.data.prepare import prepare_sequences
from g2rec.data.readers import read_log
from g2rec.graph.build import build_coengagement_graph
from g2rec.graph.convert import to_dgl, to_networkx, to_pyg
from tests.conftest import SCIENTIFIC


@pytest.fixture(scope="module")
def graph(shared_data):
    return build_coengagement_graph(prepare_sequences(read_log(SCIENTIFIC))[0])[0]


def test_networkx(graph):
    g = to_networkx(graph)
    assert g.number_of_nodes() == graph.shape[0] and g.number_of_edges() == graph.nnz // 2
    u, v = graph.nonzero()
    assert g[u[0]][v[0]]["weight"] == pytest.approx(graph[u[0], v[0]])


def test_pyg(graph):
    data = to_pyg(graph)
    assert data.num_nodes == graph.shape[0] and data.edge_index.shape == (2, graph.nnz)
    src, dst = data.edge_index.numpy()
    np.testing.assert_allclose(data.edge_weight.numpy(), np.asarray(graph[src, dst]).ravel())
    assert data.is_undirected()


def test_dgl(graph):
    g = to_dgl(graph)
    assert g.num_nodes() == graph.shape[0] and g.num_edges() == graph.nnz
    src, dst = (t.numpy().copy() for t in g.edges())
    np.testing.assert_allclose(g.edata["weight"].numpy(), np.asarray(graph[src, dst]).ravel())
