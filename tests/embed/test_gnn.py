"""GNN embeddings (LightGCN, GraphSAGE) on PyG and DGL, and the plain-torch neighbour sampler."""

import json

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from g2rec_cli.main import app
from typer.testing import CliRunner

from g2rec import build_graph
from g2rec.embed.base import EmbedInputs
from g2rec.embed.gnn import LightGCNConfig, SAGEConfig, fit_lightgcn, fit_sage, training_graph
from g2rec.embed.gnn_models import SAGE, Adjacency, LightGCN, copy_sage_parameters
from g2rec.embed.sampling import (
    CSRGraph,
    NeighborSampler,
    sample_neighbors,
    sample_neighbors_weighted,
)
from g2rec.errors import ConfigError
from g2rec.eval.knn import evaluate_item_knn
from g2rec.pipeline.embed import embed
from g2rec.pipeline.runfolder import RunFolder
from tests.conftest import SCIENTIFIC

FAST = {"threads": 1, "dim": 32}  # one thread: on a shared 2-core machine a second one mostly waits


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def run(tmp_path_factory, shared_data):
    path = tmp_path_factory.mktemp("gnn") / "run"
    build_graph(SCIENTIFIC, path)
    return path


@pytest.fixture(scope="module")
def inputs(run):
    folder = RunFolder(run)
    return EmbedInputs(folder.graph(), folder.sequences(), folder.input_path)


@pytest.fixture(scope="module")
def random_recall(inputs):
    vectors = np.random.default_rng(0).normal(size=(inputs.sequences.num_items, 32))
    return evaluate_item_knn(vectors, inputs.sequences)["Recall@10"]


def recall(result, inputs) -> float:
    return evaluate_item_knn(result.vectors, inputs.sequences)["Recall@10"]


# --- the sampler, on generated graphs ---------------------------------------------------------

def generated_graph(n=300, seed=0) -> sp.csr_matrix:
    """Symmetric weighted graph with isolated nodes, low-degree nodes and hubs (degree > 100)."""
    rng = np.random.default_rng(seed)
    rows = np.concatenate([rng.integers(0, n, 1500), np.repeat([0, 1], 150)])
    cols = np.concatenate([rng.integers(0, n, 1500), rng.integers(0, n, 300)])
    keep = (rows != cols) & (rows < n - 10) & (cols < n - 10)  # the last 10 nodes stay isolated
    g = sp.coo_matrix((rng.uniform(0.5, 2, keep.sum()), (rows[keep], cols[keep])), shape=(n, n)).tocsr()
    return (g + g.T).tocsr().astype(np.float32)


def lookup(adj: sp.csr_matrix, rows: torch.Tensor, cols: torch.Tensor) -> np.ndarray:
    """``adj[rows[k], cols[k]]`` for every k (0 where there is no edge)."""
    return np.asarray(adj[rows.numpy().copy(), cols.numpy().copy()]).ravel()


def test_sampler_takes_distinct_real_neighbours_with_the_right_fanout():
    adj = generated_graph()
    graph = CSRGraph.from_scipy(adj)
    seeds = torch.arange(adj.shape[0])
    deg = graph.degree
    assert deg.max() > 100 and (deg == 0).sum() == 10 and ((deg > 0) & (deg < 5)).any()
    for fanout in (1, 5, 12):
        seed_pos, slot = sample_neighbors(graph, seeds, fanout, torch.Generator().manual_seed(fanout))
        neighbour = graph.indices[slot]
        assert (lookup(adj, seeds[seed_pos], neighbour) > 0).all()  # real edges
        assert torch.equal(torch.bincount(seed_pos, minlength=len(seeds)), deg.clamp(max=fanout))
        assert torch.all(seed_pos[1:] >= seed_pos[:-1])
        pairs = seed_pos * adj.shape[0] + neighbour
        assert pairs.unique().numel() == pairs.numel()  # without replacement
        np.testing.assert_array_equal(graph.weight[slot].numpy(), lookup(adj, seeds[seed_pos], neighbour))


def test_sampler_is_uniform_over_neighbours():
    adj = generated_graph()
    graph = CSRGraph.from_scipy(adj)
    draws, deg = 3000, int(graph.degree[0])
    _, slot = sample_neighbors(graph, torch.zeros(draws, dtype=torch.int64), 10, torch.Generator().manual_seed(0))
    counts = torch.bincount(graph.indices[slot], minlength=graph.num_nodes).double()
    seen = counts[graph.indices[graph.indptr[0]:graph.indptr[1]]]
    expected = draws * 10 / deg  # each of the hub's deg neighbours is in a 10-subset with probability 10/deg
    assert deg > 100 and counts.sum() == draws * 10 and seen.sum() == draws * 10
    assert ((seen - expected).abs() < 5 * expected ** 0.5).all()
    sets = slot.view(draws, 10).sort(1).values
    assert (sets[:, 1:] != sets[:, :-1]).all()  # no repeats within a draw


def test_weighted_sampler_takes_distinct_real_neighbours_by_weight():
    adj = generated_graph()
    graph = CSRGraph.from_scipy(adj)
    seeds = torch.arange(adj.shape[0])
    seed_pos, slot, weight = sample_neighbors_weighted(graph, seeds, 6, torch.Generator().manual_seed(0))
    neighbour = graph.indices[slot]
    assert (lookup(adj, seeds[seed_pos], neighbour) > 0).all() and torch.all(seed_pos[1:] >= seed_pos[:-1])
    pairs = seed_pos * adj.shape[0] + neighbour
    assert pairs.unique().numel() == pairs.numel()
    per_seed = torch.bincount(seed_pos, minlength=len(seeds))
    small = graph.degree <= 6
    assert torch.equal(per_seed[small], graph.degree[small]) and (per_seed[~small] <= 6).all()
    assert (per_seed[~small] >= 1).all()
    total = torch.zeros(len(seeds), dtype=torch.float64).index_add_(0, seed_pos, weight.double())
    np.testing.assert_allclose(total.numpy(), np.asarray(adj.sum(1)).ravel(), rtol=1e-5)  # sum of w = W_s

    # the hub: strong edges are drawn more often, and the weighted mean is unbiased
    hub = torch.zeros(4000, dtype=torch.int64)
    seed_pos, slot, weight = sample_neighbors_weighted(graph, hub, 10, torch.Generator().manual_seed(1))
    lo, hi = graph.indptr[0], graph.indptr[1]
    w = graph.weight[lo:hi].double()
    x = torch.randn(graph.num_nodes, dtype=torch.float64)
    exact = (w * x[graph.indices[lo:hi]]).sum() / w.sum()
    estimates = torch.zeros(4000, dtype=torch.float64).index_add_(0, seed_pos, weight.double() * x[graph.indices[slot]])
    estimates /= torch.zeros(4000, dtype=torch.float64).index_add_(0, seed_pos, weight.double())
    assert abs(estimates.mean() - exact) < 4 * estimates.std() / 4000 ** 0.5
    drawn = torch.zeros(hi - lo, dtype=torch.float64).index_add_(0, slot - lo, weight.double())
    assert np.corrcoef(drawn.numpy(), w.numpy())[0, 1] > 0.9


@pytest.mark.parametrize("weighted", [False, True])
def test_multi_hop_subgraph(weighted):
    adj = generated_graph()
    graph = CSRGraph.from_scipy(adj)
    seeds = torch.tensor([0, 5, 7, 295])  # 295 is isolated
    sub = NeighborSampler(graph, [4, 3], torch.Generator().manual_seed(0), weighted=weighted).sample(seeds)
    assert torch.equal(sub.nodes[:4], seeds) and sub.num_seeds == 4
    assert sub.nodes.unique().numel() == sub.num_nodes == sum(sub.hop_sizes) and sub.hop_sizes[0] == 4
    src, dst = sub.nodes[sub.edge_index[0]], sub.nodes[sub.edge_index[1]]
    assert (lookup(adj, dst, src) > 0).all()
    in_edges = sub.indptr[1:] - sub.indptr[:-1]
    hop1 = sub.hop_sizes[0] + sub.hop_sizes[1]
    full = graph.degree[sub.nodes]
    fanout = torch.full((sub.num_nodes,), 3)
    fanout[:4] = 4
    expected = full.clamp(max=fanout)
    if weighted:  # repeated draws merge: between 1 and k distinct neighbours for high-degree nodes
        big = full[:hop1] > fanout[:hop1]
        assert torch.equal(in_edges[:hop1][~big], expected[:hop1][~big])
        assert ((in_edges[:hop1][big] >= 1) & (in_edges[:hop1][big] <= expected[:hop1][big])).all()
    else:
        assert torch.equal(in_edges[:hop1], expected[:hop1])
    if not weighted:
        assert torch.equal(sub.weight, torch.from_numpy(lookup(adj, dst, src)))
    assert (in_edges[hop1:] == 0).all()  # the last hop's nodes are only sources
    with pytest.raises(ValueError, match="distinct"):
        NeighborSampler(graph, [2]).sample(torch.tensor([3, 3]))


# --- the models: same function on both backends ------------------------------------------------

@pytest.mark.parametrize("kind", ["coengagement", "bipartite"])
def test_backends_compute_the_same_function(inputs, kind):
    data = training_graph(inputs, kind)
    adj = Adjacency(data.adjacency.indptr, data.adjacency.indices, data.adjacency.weight)
    torch.manual_seed(0)
    pyg, dgl = LightGCN(data.num_nodes, 16, 2, "pyg"), LightGCN(data.num_nodes, 16, 2, "dgl")
    dgl.embedding.data.copy_(pyg.embedding.data)
    outs = [m(m.graph(adj)) for m in (pyg, dgl)]
    torch.testing.assert_close(outs[0], outs[1], atol=1e-5, rtol=1e-4)
    for out in outs:
        out[:100].square().sum().backward()
    torch.testing.assert_close(pyg.embedding.grad, dgl.embedding.grad, atol=1e-5, rtol=1e-4)

    pyg, dgl = SAGE(data.num_nodes, 16, 2, "pyg"), SAGE(data.num_nodes, 16, 2, "dgl")
    copy_sage_parameters(pyg, dgl)
    outs = [m(None, m.graph(adj)) for m in (pyg, dgl)]
    torch.testing.assert_close(outs[0], outs[1], atol=1e-5, rtol=1e-4)
    for out in outs:
        out[:100].square().sum().backward()
    torch.testing.assert_close(pyg.embedding.grad, dgl.embedding.grad, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(pyg.convs[0].lin_l.weight.grad, dgl.convs[0].fc_neigh.weight.grad, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("backend", ["pyg", "dgl"])
def test_models_match_dense_formulas(backend):
    """Outputs and gradients (the custom sparse backward) against dense autograd references."""
    adj = generated_graph(60, seed=1)
    csr = CSRGraph.from_scipy(adj)
    graph = Adjacency(csr.indptr, csr.indices, csr.weight)
    w = torch.tensor(adj.toarray(), dtype=torch.float32)
    d = w.sum(1)
    inv = torch.where(d > 0, d.clamp_min(1e-30).rsqrt(), torch.zeros(()))
    a_hat = inv[:, None] * w * inv[None]  # D^-1/2 W D^-1/2
    p = w / d.clamp_min(1e-30)[:, None]  # D^-1 W: weighted mean
    probe = torch.randn(60, 8)

    torch.manual_seed(0)
    model = LightGCN(60, 8, 2, backend)
    e = model.embedding.detach().clone().requires_grad_()
    expected = (e + a_hat @ e + a_hat @ a_hat @ e) / 3
    out = model(model.graph(graph))
    torch.testing.assert_close(out, expected)
    (out * probe).sum().backward()
    (expected * probe).sum().backward()
    torch.testing.assert_close(model.embedding.grad, e.grad)

    model = SAGE(60, 8, 2, backend)
    x = model.embedding.detach().clone().requires_grad_()
    h = x
    for layer, conv in enumerate(model.convs):
        if backend == "pyg":
            h = (p @ h) @ conv.lin_l.weight.T + conv.lin_l.bias + h @ conv.lin_r.weight.T
        else:
            h = (p @ h) @ conv.fc_neigh.weight.T + h @ conv.fc_self.weight.T + conv.fc_self.bias
        h = h.relu() if layer == 0 else h
    out = model(None, model.graph(graph))
    torch.testing.assert_close(out, h)
    (out * probe).sum().backward()
    (h * probe).sum().backward()
    torch.testing.assert_close(model.embedding.grad, x.grad)


# --- training on real data ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def lightgcn(inputs):
    return fit_lightgcn(inputs, LightGCNConfig(epochs=2, batch_size=1024, **FAST))


def test_lightgcn_learns_and_beats_random(lightgcn, inputs, random_recall):
    assert lightgcn.vectors.shape == (inputs.sequences.num_items, 32) and lightgcn.vectors.dtype == np.float32
    losses = [c["loss"] for c in lightgcn.curve]
    assert [c["epoch"] for c in lightgcn.curve] == [1, 2] and losses[1] < losses[0]
    assert lightgcn.summary["final_loss"] == losses[-1]
    assert {k: lightgcn.summary[k] for k in ("backend", "graph", "loss", "epochs")} == {
        "backend": "pyg", "graph": "coengagement", "loss": "infonce", "epochs": 2}
    assert recall(lightgcn, inputs) > max(0.05, 10 * random_recall)  # random ~ 0.002


def test_sage_with_neighbour_sampling_learns(inputs, random_recall):
    result = fit_sage(inputs, SAGEConfig(sampling="neighbor", fanout=5, epochs=2, batch_size=1024, **FAST))
    assert result.summary["sampling"] == "neighbor" and result.vectors.shape == (inputs.sequences.num_items, 32)
    assert result.curve[1]["loss"] < result.curve[0]["loss"]
    assert recall(result, inputs) > max(0.03, 10 * random_recall)


@pytest.mark.parametrize("method", ["lightgcn", "sage"])
def test_dgl_backend_matches_pyg(inputs, method):
    fit, cls = (fit_lightgcn, LightGCNConfig) if method == "lightgcn" else (fit_sage, SAGEConfig)
    results = [fit(inputs, cls(backend=b, graph="bipartite", epochs=2, batch_size=1024, **FAST)) for b in ("pyg", "dgl")]
    assert results[0].vectors.shape == results[1].vectors.shape == (inputs.sequences.num_items, 32)
    assert results[1].summary["backend"] == "dgl"
    r_pyg, r_dgl = recall(results[0], inputs), recall(results[1], inputs)
    assert r_pyg > 0.03 and abs(r_dgl - r_pyg) < 0.1 * r_pyg


@pytest.mark.parametrize("method,graph,loss", [("lightgcn", "bipartite", "bpr"), ("lightgcn", "coengagement", "bpr"),
                                               ("sage", "bipartite", "infonce"), ("sage", "coengagement", "bpr")])
def test_graph_and_loss_variants(inputs, random_recall, method, graph, loss):
    if method == "lightgcn":
        result = fit_lightgcn(inputs, LightGCNConfig(graph=graph, loss=loss, epochs=2, batch_size=2048, **FAST))
    else:
        result = fit_sage(inputs, SAGEConfig(graph=graph, loss=loss, epochs=2, batch_size=2048, sampling="neighbor",
                                             fanout=5, **FAST))
    assert (result.summary["graph"], result.summary["loss"]) == (graph, loss)
    assert result.vectors.shape == (inputs.sequences.num_items, 32) and np.isfinite(result.vectors).all()
    assert result.curve[1]["loss"] < result.curve[0]["loss"]
    assert recall(result, inputs) > 3 * random_recall


@pytest.mark.parametrize("method", ["lightgcn", "sage"])
def test_same_seed_same_vectors(inputs, method):
    fit, cls = (fit_lightgcn, LightGCNConfig) if method == "lightgcn" else (fit_sage, SAGEConfig)
    short = dict(epochs=1, batch_size=1024, graph="bipartite", sampling="neighbor", fanout=5, **FAST)
    if method == "lightgcn":
        del short["sampling"], short["fanout"]
    a, b, c = (fit(inputs, cls(seed=s, **short)) for s in (0, 0, 1))
    np.testing.assert_array_equal(a.vectors, b.vectors)
    assert a.curve[0]["loss"] == b.curve[0]["loss"]
    assert not np.allclose(a.vectors, c.vectors)


# --- options and the stage ---------------------------------------------------------------------

@pytest.mark.parametrize("options,message", [
    ({"backend": "tf"}, "backend='tf' is not one of: pyg, dgl"),
    ({"graph": "social"}, "graph='social' is not one of: coengagement, bipartite"),
    ({"loss": "mse"}, "loss='mse' is not one of: infonce, bpr"),
    ({"dim": 0}, "dim=0 must be an integer >= 1"),
    ({"epochs": 0}, "epochs=0 must be an integer >= 1"),
    ({"batch_size": 1}, "batch_size=1 must be an integer >= 2"),
    ({"lr": -0.1}, "lr=-0.1 must be > 0"),
    ({"layers": -1}, "layers=-1 must be an integer >= 0"),
])
def test_bad_options_fail_fast(run, options, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        embed(run, "lightgcn", **options)


def test_bad_sage_options(inputs):
    with pytest.raises(ConfigError, match="layers=0 must be an integer >= 1"):
        fit_sage(inputs, SAGEConfig(layers=0))
    with pytest.raises(ConfigError, match="sampling='some' is not one of: auto, full, neighbor"):
        fit_sage(inputs, SAGEConfig(sampling="some"))
    with pytest.raises(ConfigError, match="fanout=0"):
        fit_sage(inputs, SAGEConfig(fanout=0))


def test_cli_embed_lightgcn(run):
    result = CliRunner().invoke(app, ["embed", str(run), "--method", "lightgcn", "--graph", "bipartite", "--epochs",
                                      "2", "--dim", "16", "--batch-size", "1024", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {k: summary[k] for k in ("method", "dim", "backend", "graph", "loss", "epochs")} == {
        "method": "lightgcn", "dim": 16, "backend": "pyg", "graph": "bipartite", "loss": "infonce", "epochs": 2}
    assert summary["knn_valid"]["Recall@10"] > 0.01 and isinstance(summary["final_loss"], float)
    entry = json.loads((run / "manifest.json").read_text())["stages"]["embed"]["lightgcn"]
    assert [c["epoch"] for c in entry["curve"]] == [1, 2] and entry["params"]["graph"] == "bipartite"
    assert RunFolder(run).embeddings("lightgcn").shape == (4344, 16)
    bad = CliRunner().invoke(app, ["embed", str(run), "--method", "sage", "--loss", "hinge"])
    assert bad.exit_code == 2 and "loss='hinge' is not one of: infonce, bpr" in bad.stderr
