"""Benchmark: the encoder-decoder semantic-ID generator beside cornac 3.0.1's TIGER, one run.

On a run folder after ``build-graph`` and ``embed --method sasrec`` (Amazon Beauty in the
README), both models at TIGER's sizes (dim 128, 4 + 4 layers, 6 heads of 64, feed-forward
1,024, dropout 0.1, 20-item histories, no user token: cornac has none) over the same plain
residual k-means codes and the same training histories:

* training samples/s (one history with its next item per sample; forward, backward, AdamW);
* the achieved GFLOP/s of training (FLOPs of one step counted by ``torch.utils.flop_counter``)
  as a share of this CPU's float32 matmul peak, measured in the same run (a 2,048-square
  product);
* decoding users/s at beam 20: cornac's ``generate_beam`` (one user at a time, as its
  recommender calls it) against g2rec's batched, cached beam search, constrained to the trie
  and not.

g2rec runs in TIGER's layout (``codes``) and in GenRec's token merger (``merged``). The models
alternate, best of two passes, so the machine's noise is shared.

Usage::

    python benchmarks/encdec.py --run runs/beauty --threads 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from g2rec.model.beam import beam_search
from g2rec.model.encdec import EncoderDecoderConfig, SIDEncoderDecoder
from g2rec.pipeline.context import plain_codes
from g2rec.pipeline.runfolder import RunFolder
from g2rec.tokenize.trie import SIDTrie
from g2rec.train.loop import training_windows

RESULTS = Path(__file__).resolve().parent / "results"
SIZES = {"dim": 128, "encoder_layers": 4, "decoder_layers": 4, "heads": 6, "head_dim": 64, "ff_mult": 8,
         "dropout": 0.1, "max_len": 20, "user_tokens": 0}


def matmul_peak(threads: int, n: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of an ``n``-square float32 matmul, best of ``repeats``."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        tick = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - tick)
    return 2 * n ** 3 / best / 1e9


class Cornac:
    """cornac's ``TIGERSeq2Seq`` on g2rec's histories: tokens offset by level, 0 = padding."""

    def __init__(self, codes: np.ndarray, sizes: tuple[int, ...]):
        from cornac.models.tiger.tiger import TIGERSeq2Seq

        self.net = TIGERSeq2Seq(sizes, d_model=SIZES["dim"], d_ff=SIZES["ff_mult"] * SIZES["dim"],
                                num_heads=SIZES["heads"], d_kv=SIZES["head_dim"], num_enc_layers=SIZES["encoder_layers"],
                                num_dec_layers=SIZES["decoder_layers"], dropout=SIZES["dropout"])
        offsets = np.concatenate(([1], 1 + np.cumsum(sizes[:-1])))
        self.tokens = torch.from_numpy(np.vstack([codes + offsets, np.zeros((1, len(sizes)), np.int64)]))
        self.codes = torch.from_numpy(codes)
        self.children = [{} for _ in sizes]  # level -> prefix -> allowed codes, cornac's constraint
        for row in codes.tolist():
            for level in range(len(sizes)):
                self.children[level].setdefault(tuple(row[:level]), set()).add(row[level])
        self.children = [{k: sorted(v) for k, v in level.items()} for level in self.children]

    def inputs(self, items: torch.Tensor):
        tok = self.tokens[items].flatten(1)
        return tok, (tok != 0).float()

    def loss(self, items: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.net(*self.inputs(items), self.codes[target])

    def decode(self, items: torch.Tensor, beam: int) -> None:
        for row in items:
            tok, mask = self.inputs(row[None])
            keep = mask[0] > 0
            self.net.generate_beam(tok[:, keep], mask[:, keep], beam, self.children)


def train_rate(model: torch.nn.Module, loss_of, batches: list, steps: int) -> tuple[float, float]:
    """(samples/s over ``steps`` timed steps after one warm-up, FLOPs of one step)."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    seconds, samples = 0.0, 0
    for step, (items, target) in enumerate(batches[:steps + 1]):
        tick = time.perf_counter()
        loss = loss_of(items, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step:
            seconds, samples = seconds + time.perf_counter() - tick, samples + len(items)
    with FlopCounterMode(display=False) as counter:
        loss_of(*batches[0]).backward()
    opt.zero_grad()
    return samples / seconds, counter.get_total_flops()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", required=True, help="run folder after build-graph and embed --method sasrec")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=3, help="timed training steps per model and pass")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--users", type=int, default=64, help="users decoded per model and pass")
    p.add_argument("--beam", type=int, default=20)
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    run = RunFolder(args.run)
    with tempfile.TemporaryDirectory() as folder:
        codes, sizes = plain_codes(run, Path(folder), fresh=True)
    inputs, targets, _ = (torch.from_numpy(a) for a in training_windows(run.sequences().train(), SIZES["max_len"], "prefixes"))
    order = torch.randperm(len(inputs), generator=torch.Generator().manual_seed(0))
    batches = [(inputs[order[s:s + args.batch]], targets[order[s:s + args.batch], -1])
               for s in range(0, (args.steps + 1) * args.batch, args.batch)]
    users = inputs[order[-args.users:]]
    trie = SIDTrie.build(codes, sizes)
    cornac = Cornac(codes, sizes)
    ours = {layout: SIDEncoderDecoder(run.num_items, EncoderDecoderConfig(**SIZES, encoder_input=layout),
                                      torch.from_numpy(codes), sizes) for layout in ("codes", "merged")}

    def our_loss(net):
        def loss_of(items, target):
            full = torch.full_like(items, net.num_items)
            full[:, -1] = target
            return net(items, full)[1]
        return loss_of

    rows: dict[str, dict] = {}
    for _ in range(2):  # alternate the models, keep each one's best pass
        candidates = {"cornac-tiger": (cornac.net, cornac.loss),
                      **{f"g2rec-{layout}": (net, our_loss(net)) for layout, net in ours.items()}}
        for name, (net, loss_of) in candidates.items():
            rate, flops = train_rate(net, loss_of, batches, args.steps)
            net.eval()
            with torch.no_grad():
                timings = {}
                for mode in ("constrained", "unconstrained"):
                    if name == "cornac-tiger" and mode == "unconstrained":
                        continue
                    tick = time.perf_counter()
                    if name == "cornac-tiger":
                        cornac.decode(users, args.beam)
                    else:
                        beam_search(*net.decoding(users), trie, args.beam, trie_mask=mode == "constrained")
                    timings[mode] = len(users) / (time.perf_counter() - tick)
            row = rows.setdefault(name, {"parameters": sum(q.numel() for q in net.parameters()),
                                         "gflop_per_sample": round(flops / args.batch / 1e9, 3)})
            row["samples_per_second"] = max(row.get("samples_per_second", 0.0), round(rate, 1))
            for mode, r in timings.items():
                row[f"{mode}_users_per_second"] = max(row.get(f"{mode}_users_per_second", 0.0), round(r, 1))
    peak = matmul_peak(args.threads)
    for row in rows.values():
        row["gflops_training"] = round(row["samples_per_second"] * row["gflop_per_sample"], 1)
        row["share_of_matmul_peak"] = round(row["gflops_training"] / peak, 3)
    ref = rows["cornac-tiger"]
    for name, row in rows.items():
        if name != "cornac-tiger":
            row["training_vs_cornac"] = round(row["samples_per_second"] / ref["samples_per_second"], 2)
            row["decoding_vs_cornac"] = round(row["constrained_users_per_second"] / ref["constrained_users_per_second"], 1)
            row["constrained_time_vs_unconstrained"] = round(row["unconstrained_users_per_second"]
                                                             / row["constrained_users_per_second"], 2)
    command = "python benchmarks/encdec.py " + " ".join(argv or sys.argv[1:])
    result = {"command": command, "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "machine": f"{platform.processor() or platform.machine()}, {args.threads} torch threads",
              "torch": torch.__version__, "sizes": SIZES, "batch": args.batch, "beam": args.beam,
              "matmul_peak_gflops": round(peak, 1), "rows": rows}
    print(json.dumps(result, indent=2))
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "encdec.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
