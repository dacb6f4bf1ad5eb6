"""g2rec.graph.dgl_compat.import_dgl: DGL loads beside a torch its C++ graphbolt wasn't built for."""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest
import torch

from g2rec.errors import G2RecError
from g2rec.graph.dgl_compat import import_dgl

if importlib.util.find_spec("dgl") is None:
    pytest.skip("dgl is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def dgl():
    return import_dgl()


def _graph(dgl, n=6):
    src = torch.tensor([0, 1, 2, 3, 4, 5, 0, 2])
    dst = torch.tensor([1, 2, 3, 4, 5, 0, 3, 5])
    g = dgl.graph((src, dst), num_nodes=n)
    g = dgl.add_self_loop(dgl.to_bidirected(g))  # every node has in-edges for 'both' norm
    g.edata["weight"] = torch.rand(g.num_edges()) + 0.5
    return g


def test_import_is_idempotent_and_leaves_process_clean(dgl):
    assert dgl.__version__
    assert import_dgl() is dgl is sys.modules["dgl"]
    assert not any(type(f).__name__ == "_GraphboltPlaceholder" for f in sys.meta_path)


def test_graphconv_forward_backward_with_edge_weight(dgl):
    g = _graph(dgl)
    x = torch.randn(g.num_nodes(), 4, requires_grad=True)
    conv = dgl.nn.GraphConv(4, 2, norm="both", weight=True)
    out = conv(g, x, edge_weight=g.edata["weight"])
    assert out.shape == (g.num_nodes(), 2) and torch.isfinite(out).all()
    out.sum().backward()
    assert x.grad is not None and conv.weight.grad is not None
    assert torch.isfinite(conv.weight.grad).all() and conv.weight.grad.abs().sum() > 0


def test_sageconv_forward(dgl):
    g = _graph(dgl)
    out = dgl.nn.SAGEConv(4, 3, aggregator_type="mean")(g, torch.randn(g.num_nodes(), 4))
    assert out.shape == (g.num_nodes(), 3) and torch.isfinite(out).all()


@pytest.mark.filterwarnings("ignore:Dataloader CPU affinity")
def test_multilayer_neighbor_sampler_blocks(dgl):
    g = _graph(dgl)
    g.ndata["x"] = torch.randn(g.num_nodes(), 4)
    sampler = dgl.dataloading.MultiLayerNeighborSampler([2, 2])
    seeds = torch.tensor([0, 3])
    input_nodes, output_nodes, blocks = sampler.sample_blocks(g, seeds)
    assert len(blocks) == 2 and torch.equal(output_nodes, seeds)
    assert torch.equal(blocks[-1].dstdata[dgl.NID], seeds)
    assert torch.equal(blocks[0].srcdata[dgl.NID], input_nodes)
    assert all(int(b.in_degrees().max()) <= 2 for b in blocks)
    loader = dgl.dataloading.DataLoader(g, seeds, sampler, batch_size=2, shuffle=False)
    ((_, out_nodes, loaded),) = list(loader)
    h = dgl.nn.SAGEConv(4, 2, "mean")(loaded[0], loaded[0].srcdata["x"])
    assert h.shape == (loaded[0].num_dst_nodes(), 2) and torch.equal(out_nodes, seeds)


def test_missing_dgl_is_one_clear_line(monkeypatch):
    monkeypatch.delitem(sys.modules, "dgl")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(G2RecError, match=r"^DGL is not installed: pip install 'g2rec\[dgl\]'$"):
        import_dgl()


def test_broken_dgl_names_the_real_error(monkeypatch, tmp_path):
    (tmp_path / "dgl").mkdir()
    (tmp_path / "dgl" / "__init__.py").write_text("raise ImportError('boom\\nsecond line')\n")
    monkeypatch.delitem(sys.modules, "dgl")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("DGLBACKEND", raising=False)
    with pytest.raises(G2RecError) as info:
        import_dgl()
    assert str(info.value) == "cannot import DGL (ImportError: boom)"
    assert "DGLBACKEND" not in os.environ and "dgl" not in sys.modules
    assert not any(type(f).__name__ == "_GraphboltPlaceholder" for f in sys.meta_path)
