"""Parameters and training FLOPs per sample of trained models, as the rows of benchmarks/README.md report them.

For each model of ``--run``: its parameters, and the FLOPs of one training step (forward and
backward of its own loss) on ``--batch`` training windows drawn at random (seeded) from the run,
counted by ``torch.utils.flop_counter`` and divided by the batch. The batch is padded to its
longest history, so this is an upper bound of the average step of a training whose batches are
bucketed by length. No optimizer step is taken; nothing is written to the run folder.

    python benchmarks/flops.py --run runs/scientific --models tiger-text g2rec-tiger-spectral
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from g2rec.pipeline.models import ENCODER_DECODERS, load_trained
from g2rec.pipeline.runfolder import RunFolder
from g2rec.train.loop import training_windows


def step_flops(net: torch.nn.Module, items: torch.Tensor, targets: torch.Tensor, users: torch.Tensor | None) -> int:
    """FLOPs of one forward and backward pass of ``net``'s training loss on one batch."""
    net.train()
    with FlopCounterMode(display=False) as counter:
        _, loss = net(items, targets) if users is None else net(items, targets, users)
        loss.backward()
    net.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", required=True, help="run folder with the trained models")
    p.add_argument("--models", nargs="+", required=True, help="model names under RUN/models")
    p.add_argument("--batch", type=int, default=256, help="training windows in the counted step")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    run = RunFolder(args.run)
    rows = []
    for name in args.models:
        net, _, record = load_trained(run, name)
        gen, train = record["generator"], record["train"]
        inputs, targets, users = training_windows(run.sequences().train(), gen["max_len"], train["windows"], train["ntp"])
        rows_drawn = np.random.default_rng(args.seed).choice(len(inputs), size=min(args.batch, len(inputs)), replace=False)
        x, y = torch.from_numpy(inputs[rows_drawn]), torch.from_numpy(targets[rows_drawn])
        width = int((x != run.num_items).sum(1).max())  # the loop's trim of all-padding columns
        u = torch.from_numpy(users[rows_drawn]) if record["model"] in ENCODER_DECODERS else None
        flops = step_flops(net, x[:, -width:], y[:, -width:], u)
        rows.append({"model": name, "parameters": sum(t.numel() for t in net.parameters()),
                     "mflop_per_training_sample": round(flops / len(x) / 1e6, 1), "batch": len(x), "width": width})
        print(json.dumps(rows[-1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
