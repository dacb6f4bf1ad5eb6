"""Diagnostic: validation NDCG@10 of a ``--head both`` model for each weight of its SID head.

An item scores ``(1 - m) log p_items + m log p_sids`` (``sid_mix`` = m, 0.5 when trained); both
heads are scored once per validation batch and every ``m`` in 0, 0.1, .., 1 ranks from them.
Validation only: no weight here is a reported configuration (benchmarks/README.md, "The two
heads on one trunk").

Usage::

    python benchmarks/sid_mix.py --run runs/scientific --models g2rec-both-noprofiles g2rec-both --threads 1
"""

from __future__ import annotations

import os
import sys

# Python puts this script's folder first on sys.path, where benchmarks/tokenize.py would
# shadow the standard library's tokenize module (which inspect, and so torch, imports).
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import argparse

import numpy as np
import torch
import torch.nn.functional as F

from g2rec.data.sequences import VALID
from g2rec.eval.metrics import metrics_from_ranks, target_ranks
from g2rec.eval.protocol import histories, model_padding
from g2rec.runfolder import RunFolder
from g2rec.train.stage import load_trained

MIXES = np.round(np.linspace(0, 1, 11), 1)


@torch.no_grad()
def mix_sweep(run: RunFolder, name: str, batch: int = 512) -> dict[float, float]:
    """``{m: validation NDCG@10}`` of model ``name`` (head ``both``) for every ``m`` in :data:`MIXES`."""
    net, _, _ = load_trained(run, name)
    if net.config.head != "both":
        raise SystemExit(f"{name}: head {net.config.head!r}, this sweep is for --head both")
    users, hist, targets, _ = histories(run.sequences(), VALID, net.config.max_len)
    ranks = {m: [] for m in MIXES}
    for lo in range(0, len(users), batch):
        items = model_padding(torch.from_numpy(hist[lo:lo + batch]), net.num_items)
        target = torch.from_numpy(targets[lo:lo + batch])
        h = net.hidden(items)[:, -1]
        items_head = F.log_softmax(h @ net.item_vectors().T, dim=-1)
        sids_head = net.code_head.item_log_probs(h, net.codes[:-1])
        for m in MIXES:
            ranks[m].append(target_ranks((1 - m) * items_head + m * sids_head, target))
    return {float(m): metrics_from_ranks(torch.cat(r).numpy())["NDCG@10"] for m, r in ranks.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", required=True, help="run folder")
    p.add_argument("--models", nargs="+", required=True, help="trained --head both models of the run")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    run = RunFolder(args.run)
    for name in args.models:
        sweep = mix_sweep(run, name)
        best = max(sweep, key=sweep.get)
        print(f"{name}: " + "  ".join(f"{m:.1f} {v:.4f}" for m, v in sweep.items()) + f"  | best {best:.1f}")


if __name__ == "__main__":
    main()
