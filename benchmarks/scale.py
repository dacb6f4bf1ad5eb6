"""Past one machine, side by side in one run: build-graph's window graph of synthetic logs on the
local engine, on Spark local[2] (``--engine spark``) and as a DuckDB self-join; training samples/s
with 1 and 2 processes under torchrun.

Graph: each method reads the same Parquet log (``graph_build.py``'s generator) in a fresh
process: the whole ``build_graph`` stage (read, prepare, graph, statistics, run folder written)
for the two engines, the SQL query for DuckDB. Interactions/s is the log's rows over the wall
time of the process, and peak memory the largest resident set of the whole process tree
(Spark's JVM and Python workers included), sampled every 0.1 s. The two engines' run folders
are compared array by array (graph, sequences, splits, id maps), DuckDB's graph by edge count. Training: ``g2rec train`` (SASRec, d64, 2 epochs) on MovieLens-100K, one process with
one thread against ``torchrun --nproc-per-node 2`` with one thread each; samples/s as the
training log records it (all ranks' samples over the epoch's time).

Usage::

    python benchmarks/scale.py --sizes 10000000 100000000 --out benchmarks/results/scale.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MOVIELENS = ROOT.parent / "shared" / "data" / "movielens_100k" / "u.data"
THREADS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

WORKER = """
import json, sys, time
import numpy as np
from g2rec import build_graph
from g2rec.graph.build import GraphConfig
from g2rec.pipeline.runfolder import RunFolder
engine, parquet, window, run = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
tick = time.perf_counter()
summary = build_graph(parquet, run, graph=GraphConfig(builder="window", window=window), engine=engine,
                      spark_master="local[2]" if engine == "spark" else None)
seconds = time.perf_counter() - tick
print(json.dumps({"seconds": round(seconds, 2), "edges": summary["num_edges"],
                  "seconds_by_step": summary["seconds_by_step"]}))
"""


def measured(command: list[str], threads: int, timeout: float = 7200) -> tuple[str, float, float]:
    """Run ``command``; its stdout, wall seconds and the peak RSS (MiB) of its process tree.

    Its output goes to files, not pipes: a chatty child (Spark's JVM logs) would block on a full pipe."""
    env = {**os.environ, **{v: str(threads) for v in THREADS}}
    tick = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(command, stdout=out, stderr=err, text=True, env=env, cwd=ROOT)
        peak, proc = 0.0, psutil.Process(child.pid)
        while child.poll() is None:
            try:
                tree = [proc, *proc.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()) / 2**20)
            except psutil.Error:
                pass
            if time.perf_counter() - tick > timeout:
                child.kill()
            time.sleep(0.1)
        wall = time.perf_counter() - tick
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if child.returncode != 0:
        sys.exit(f"{' '.join(command[:6])} failed:\n{stderr[-3000:]}")
    return stdout, wall, peak


def graph_row(size: int, work: Path, window: int, spark: bool) -> dict:
    parquet = work / f"log_{size}.parquet"
    generated, _, _ = measured([sys.executable, str(HERE / "graph_build.py"), "--worker", "generate", "--size",
                                str(size), "--parquet", str(parquet), "--threads", "2"], 2)
    log = json.loads(generated.strip().splitlines()[-1])
    row = {"interactions": log["num_interactions"], "users": log["num_users"], "items": log["num_items"]}
    for engine in ("local", "spark") if spark else ("local",):
        out, wall, peak = measured([sys.executable, "-c", WORKER, engine, str(parquet), str(window),
                                    str(work / engine)], 2)
        result = json.loads(out.strip().splitlines()[-1])
        row[engine] = {"wall_seconds": round(wall, 1), "interactions_per_second": round(log["num_interactions"] / wall),
                       "peak_mb": round(peak), "edges": result["edges"], "seconds_by_step": result["seconds_by_step"]}
    out, wall, peak = measured([sys.executable, str(HERE / "graph_build.py"), "--worker", "duckdb", "--parquet",
                                str(parquet), "--window", str(window), "--threads", "2"], 2)
    duck = json.loads(out.strip().splitlines()[-1])
    row["duckdb"] = {"wall_seconds": round(wall, 1), "interactions_per_second": round(log["num_interactions"] / wall),
                     "peak_mb": round(peak), "edges": duck["edges"]}
    if spark:
        row["spark_identical"] = same_run_folder(work / "local", work / "spark")
    for engine in ("local", "spark") if spark else ("local",):
        shutil.rmtree(work / engine)
    row["duckdb_same_edge_count"] = duck["edges"] == row["local"]["edges"]
    parquet.unlink()
    return row


def same_run_folder(a: Path, b: Path) -> bool:
    """Graph, sequences, splits and id maps equal, array by array (compared in a subprocess)."""
    check = (
        "import sys, numpy as np, scipy.sparse as sp\n"
        "from g2rec.data.sequences import Sequences\n"
        "a, b = sys.argv[1], sys.argv[2]\n"
        "ga, gb = sp.load_npz(a + '/graph.npz'), sp.load_npz(b + '/graph.npz')\n"
        "same = all(np.array_equal(getattr(ga, k), getattr(gb, k)) for k in ('indptr', 'indices', 'data'))\n"
        "sa, sb = Sequences.load(a), Sequences.load(b)\n"
        "same &= all(np.array_equal(getattr(sa, k), getattr(sb, k)) for k in "
        "('user_ids', 'item_ids', 'offsets', 'items', 'times', 'split'))\n"
        "print(bool(same))\n")
    out = subprocess.run([sys.executable, "-c", check, str(a), str(b)], check=False, capture_output=True, text=True,
                         cwd=ROOT)
    return out.stdout.strip() == "True"


def training_row(work: Path) -> dict:
    run = work / "ml100k"
    g2rec = ["-m", "g2rec_cli.main"]
    subprocess.run([sys.executable, *g2rec, "build-graph", str(MOVIELENS), "-o", str(run)], check=True,
                   capture_output=True, cwd=ROOT)
    options = ["--model", "sasrec", "--epochs", "2", "--patience", "2", "--dim", "64", "--threads", "1"]
    out = {}
    for procs, launcher in ((1, [sys.executable]),
                            (2, [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"])):
        _, wall, peak = measured([*launcher, *g2rec, "train", str(run), *options, "--name", f"p{procs}"], 1)
        log = [json.loads(line) for line in (run / "models" / f"p{procs}" / "train_log.jsonl").read_text().splitlines()]
        out[f"{procs}_process"] = {"samples_per_second": [r["samples_per_second"] for r in log],
                                   "wall_seconds": round(wall, 1), "peak_mb": round(peak),
                                   "valid_ndcg10": [round(r["valid"]["NDCG@10"], 5) for r in log]}
    best = {k: max(v["samples_per_second"]) for k, v in out.items()}
    out["speedup_2_over_1"] = round(best["2_process"] / best["1_process"], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000_000])
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--spark-sizes", type=int, nargs="*", default=None,
                        help="the sizes at which Spark runs too (default: every size)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    result = {"command": "python benchmarks/scale.py " + " ".join(sys.argv[1:]),
              "machine": f"{os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.1f} GiB", "graph": []}
    work = Path(tempfile.mkdtemp(prefix="g2rec-scale-"))
    try:
        for size in args.sizes:
            spark = args.spark_sizes is None or size in args.spark_sizes
            result["graph"].append(graph_row(size, work, args.window, spark))
            print(json.dumps(result["graph"][-1]), flush=True)
        result["training"] = training_row(work)
        print(json.dumps(result["training"]), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
