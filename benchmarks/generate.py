"""Benchmark: generator training throughput, the items head's losses at scale, and constrained
vs unconstrained SID decoding.

On a run folder that has been through ``build-graph`` and ``tokenize`` (Amazon Beauty in
the README), in one process and one run:

* training samples/s (next-item targets per second, forward + backward + AdamW step) for
  ``sasrec`` (items head), ``g2rec`` items head and ``g2rec`` sids head;
* decoding users/s of the sids head at beam 20, constrained to the trie and unconstrained,
  and their time ratio (target: constrained <= 1.3x unconstrained; >= 500 users/s).

The reference is cornac 3.0.1's TIGER on the same data, measured on this machine kind
(not re-run here): 3.6 s per 256-sample step (71 samples/s) and 48.6 ms
per user of beam search (20.6 users/s); cornac SASRec 110 s per epoch.

``--losses`` (no run folder): training samples/s and peak memory of each items-head loss on
synthetic Zipf-popular histories (SASRec+SS's network: dim 64, 1 block, 1 head, history 50,
batch 128) at Beauty's 12,101 items and at 1,000,000, each case in its own process whose
address space is capped at ``--cap-gib`` (4): sampled softmax trains the 1M-item catalogue
inside the cap, full softmax cannot (its ``(B T, I)`` logits alone are 24 GiB there).

Usage::

    python benchmarks/generate.py --run runs/beauty --threads 2
    python benchmarks/generate.py --losses --threads 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

from g2rec.data.sequences import TEST
from g2rec.eval.protocol import histories
from g2rec.model.beam import beam_search
from g2rec.model.generator import Generator, GeneratorConfig, InterestContext
from g2rec.pipeline.models import PRESETS, build_model, load_trained
from g2rec.pipeline.runfolder import RunFolder
from g2rec.train.loop import length_bucketed_batches, training_windows

CORNAC_TIGER = {"samples_per_second": 256 / 3.6, "users_per_second": 1 / 0.0486,
                "source": "cornac 3.0.1 TIGER (GRID recipe) on Beauty, this machine kind, not re-run here"}
RESULTS = Path(__file__).resolve().parent / "results"
# the items-head losses compared by --losses: name -> GeneratorConfig options
LOSS_CASES = {"ce": {"loss": "ce"}, "sampled-uniform": {"loss": "sampled"},
              "sampled-popularity": {"loss": "sampled", "sampler": "popularity"},
              "sampled-in-batch": {"loss": "sampled", "sampler": "in-batch"}, "gbce": {"loss": "gbce"}}
LOSS_ITEMS = (12_101, 1_000_000)


def peak_rss_mib() -> float:
    """This process's peak resident memory (``VmHWM``), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def loss_case(name: str, items: int, steps: int, batch: int, max_len: int = 50, seed: int = 0) -> dict:
    """Train SASRec+SS's network with loss ``name`` on synthetic histories over ``items`` items for
    ``steps`` timed steps (after two warm-up steps): next-item targets/s and peak memory."""
    torch.manual_seed(seed)
    counts = (1e6 / torch.arange(1, items + 1) ** 0.8).long()       # Zipf-like training counts
    model = Generator(items, GeneratorConfig(dim=64, layers=1, heads=1, dropout=0.2, max_len=max_len,
                                             **PRESETS["sasrec"], **LOSS_CASES[name]),
                      InterestContext(item_counts=counts))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    pool = torch.multinomial(counts.double(), 8 * batch * (max_len + 1), replacement=True).view(8 * batch, -1)
    seconds, done = 0.0, 0
    for step in range(steps + 2):
        rows = pool[torch.randint(0, len(pool), (batch,))]
        tick = time.perf_counter()
        _, loss = model(rows[:, :-1], rows[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step >= 2:
            seconds += time.perf_counter() - tick
            done += batch * max_len
    return {"targets_per_second": round(done / seconds, 1), "peak_rss_mib": round(peak_rss_mib(), 1)}


def loss_table(steps: int, batch: int, cap_gib: float, threads: int) -> list[dict]:
    """Every loss case at every catalogue size, each in a child process capped at ``cap_gib``."""
    rows = []
    for items in LOSS_ITEMS:
        for name in LOSS_CASES:
            argv = [sys.executable, __file__, "--loss-case", name, str(items), "--steps", str(steps),
                    "--batch", str(batch), "--threads", str(threads), "--cap-gib", str(cap_gib)]
            done = subprocess.run(argv, capture_output=True, text=True, check=False)  # a failed case is a row
            row = {"loss": name, "items": items}
            if done.returncode == 0:
                row.update(json.loads(done.stdout.strip().splitlines()[-1]))
            else:
                tail = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
                row["failed"] = f"did not fit in {cap_gib:g} GiB: {tail[:160]}"
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def loss_markdown(rows: list[dict], cap_gib: float) -> str:
    lines = [f"| loss | items | targets/s | peak memory (MiB) | within {cap_gib:g} GiB |", "|---|---|---|---|---|"]
    for r in rows:
        if "failed" in r:
            lines.append(f"| {r['loss']} | {r['items']:,} | - | - | no: {r['failed'].split(': ', 1)[1]} |")
        else:
            lines.append(f"| {r['loss']} | {r['items']:,} | {r['targets_per_second']:,.0f} | "
                         f"{r['peak_rss_mib']:,.0f} | yes |")
    return "\n".join(lines) + "\n"


def training_rate(run: RunFolder, kind: str, config: GeneratorConfig, steps: int, batch: int) -> dict:
    """``targets_per_second`` (next-item positions trained on) and ``sequences_per_second``
    (history windows; one window of cornac's TIGER is one sample with one target)."""
    torch.manual_seed(0)
    model, _ = build_model(run, kind, config)
    x, y = (torch.from_numpy(a) for a in training_windows(run.sequences().train(), config.max_len)[:2])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    # the training loop's own batches: shuffled, length-bucketed, trimmed to their longest window
    batches = length_bucketed_batches((x != model.num_items).sum(1), batch, seed=0)
    done, windows, seconds = 0, 0, 0.0
    for step in range(min(steps + 2, len(batches))):  # two warm-up steps
        xb, yb = x[batches[step]], y[batches[step]]
        width = int((xb != model.num_items).sum(1).max())
        tick = time.perf_counter()
        _, loss = model(xb[:, -width:], yb[:, -width:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step >= 2:
            seconds += time.perf_counter() - tick
            done += int((yb != model.num_items).sum())
            windows += len(xb)
    return {"targets_per_second": done / seconds, "sequences_per_second": windows / seconds}


def decoding_rates(run: RunFolder, users: int, beam: int, batch: int, trained: str | None) -> dict:
    """Users/s of beam search, constrained and not; with ``trained`` the model ``models/NAME``
    (so the unconstrained invalid share is a real hallucination rate), else a fresh one."""
    torch.manual_seed(0)
    if trained:
        model, trie, _ = load_trained(run, trained)
    else:
        model, trie = build_model(run, "g2rec", GeneratorConfig(head="sids"))
    model.eval()
    seq = run.sequences()
    _, hist, _, _ = histories(seq, TEST, model.config.max_len)
    hist = torch.from_numpy(hist[:users])
    out = {}
    for constrained in (True, False, True, False):  # alternate to share the machine's noise
        seconds, invalid = 0.0, 0
        with torch.no_grad():
            for lo in range(0, len(hist), batch):
                h = hist[lo:lo + batch]
                h = torch.where(h < 0, model.num_items, h)
                tick = time.perf_counter()
                items, _ = beam_search(model.code_head, model.hidden(h)[:, -1], trie, beam, constrained)
                seconds += time.perf_counter() - tick
                invalid += int((items < 0).sum())
        key = "constrained" if constrained else "unconstrained"
        rate = len(hist) / seconds
        out[key] = max(out.get(key, 0.0), rate)  # best of two passes
        out[f"{key}_invalid_share"] = invalid / (len(hist) * beam)
    out["time_ratio"] = out["unconstrained"] / out["constrained"]  # constrained time / unconstrained time
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", help="run folder after build-graph and tokenize")
    p.add_argument("--losses", action="store_true", help="the items-head losses at 12k and 1M synthetic items")
    p.add_argument("--loss-case", nargs=2, metavar=("LOSS", "ITEMS"), help=argparse.SUPPRESS)
    p.add_argument("--cap-gib", type=float, default=4.0, help="--losses: address-space cap of each case")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=100, help="timed steps (capped at one epoch: 88 on Beauty)")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--users", type=int, default=4096)
    p.add_argument("--beam", type=int, default=20)
    p.add_argument("--trained", help="decode with this trained sids model (models/NAME) instead of a fresh one")
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.loss_case:
        cap = int(args.cap_gib * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        print(json.dumps(loss_case(args.loss_case[0], int(args.loss_case[1]), args.steps, args.batch)))
        return 0
    command = "python benchmarks/generate.py " + " ".join(argv or sys.argv[1:])
    if args.losses:
        rows = loss_table(args.steps, args.batch, args.cap_gib, args.threads)
        result = {"command": command, "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                  "machine": f"{platform.processor() or platform.machine()}, {args.threads} torch threads",
                  "torch": torch.__version__, "network": "dim 64, 1 block, 1 head, history 50, 256 negatives",
                  "batch": args.batch, "cap_gib": args.cap_gib, "rows": rows,
                  "target_met": {"sampled_1m_within_cap": any(r["loss"] == "sampled-uniform" and r["items"] == 10**6
                                                              and "failed" not in r for r in rows),
                                 "ce_1m_exceeds_cap": any(r["loss"] == "ce" and r["items"] == 10**6 and "failed" in r
                                                          for r in rows)}}
        print(loss_markdown(rows, args.cap_gib))
        if not args.no_write:
            RESULTS.mkdir(exist_ok=True)
            (RESULTS / "generate_losses.json").write_text(json.dumps(result, indent=2) + "\n")
            (RESULTS / "generate_losses.md").write_text(f"`{command}`\n\n" + loss_markdown(rows, args.cap_gib))
        return 0
    if not args.run:
        p.error("--run is needed (or --losses)")
    run = RunFolder(args.run)
    rates = {kind: training_rate(run, model, GeneratorConfig(**overrides), args.steps, args.batch)
             for kind, model, overrides in (("sasrec", "sasrec", PRESETS["sasrec"]),
                                            ("g2rec-items", "g2rec", {}), ("g2rec-sids", "g2rec", {"head": "sids"}))}
    decode = decoding_rates(run, args.users, args.beam, batch=512, trained=args.trained)
    result = {"command": command,
              "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads",
              "torch": torch.__version__, "training": {k: {m: round(x, 1) for m, x in v.items()} for k, v in rates.items()},
              # one cornac sample = one history with one target = one of our windows (the stricter count)
              "training_vs_cornac_tiger": {k: round(v["sequences_per_second"] / CORNAC_TIGER["samples_per_second"], 1)
                                           for k, v in rates.items()},
              "decoding": {k: round(v, 3) for k, v in decode.items()}, "decoding_model": args.trained or "untrained g2rec sids head", "beam": args.beam, "reference": CORNAC_TIGER,
              "targets_met": {"constrained_le_1.3x_unconstrained": decode["time_ratio"] <= 1.3,
                              "constrained_ge_500_users_per_second": decode["constrained"] >= 500,
                              "training_ge_10x_cornac_tiger": rates["g2rec-sids"]["sequences_per_second"] >= 10 * CORNAC_TIGER["samples_per_second"]}}
    print(json.dumps(result, indent=2))
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "generate.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
