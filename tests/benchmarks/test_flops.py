"""benchmarks/flops.py counts a training step's forward and backward FLOPs."""

import torch


class Linear(torch.nn.Module):
    """A model with the training interface: ``model(items, targets) -> (scores, loss)``."""

    def __init__(self, d_in: int, d_out: int):
        super().__init__()
        self.proj = torch.nn.Linear(d_in, d_out, bias=False)

    def forward(self, items, targets):
        scores = self.proj(items)
        return scores, (scores - targets).pow(2).mean()


def test_a_step_counts_the_forward_and_both_backward_products(load_benchmark):
    flops = load_benchmark("flops")
    net, batch, d_in, d_out = Linear(16, 8), 4, 16, 8
    counted = flops.step_flops(net, torch.randn(batch, d_in, requires_grad=True), torch.randn(batch, d_out), None)
    assert counted == 3 * 2 * batch * d_in * d_out  # x W, then dL/dW and dL/dx
    assert all(p.grad is None for p in net.parameters())  # nothing left behind for an optimizer
