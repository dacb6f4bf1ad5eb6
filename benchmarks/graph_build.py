"""Benchmark: the window co-engagement graph, g2rec vs. one DuckDB SQL query.

For each size, a synthetic log (``g2rec.data.synthetic.generate_log_of_size``, fixed seed)
is written to Parquet in a temporary folder, then each method runs in its own fresh
subprocess, reading that Parquet file:

* ``g2rec``:  ``read_log`` -> ``prepare_sequences`` -> ``build_coengagement_graph(window=w)``.
* ``duckdb``: one SQL query (positions by ``row_number``, leave-one-out train prefix,
  self-join within ``w`` positions, ``GROUP BY (least, greatest)``), fetched as numpy arrays.

Both compute the same thing: per user sorted by time, drop the last 2 interactions
(validation/test), keep users with >= 3 interactions, count every pair of positions
1..w apart whose items differ, summed over users, as undirected (min id, max id) edges.
The outputs are checked to be identical (edge count, weight sum and, for small sizes or
with ``--check-edges``, the exact edge set with counts, in original item ids).

Peak memory is the worker's own ``ru_maxrss`` (getrusage, measured inside it). On Linux a
child's ``ru_maxrss`` also includes the high-water mark of the process that spawned it
(the pre-exec address space), so the orchestrating process here never loads any data:
generating, running and comparing all happen in subprocesses. ``VmHWM`` of
``/proc/self/status`` (the worker's own address space only) is recorded beside it as a check.

Usage::

    python benchmarks/graph_build.py --sizes 1000000 2000000 10000000 --window 5 --threads 2

Results go to ``benchmarks/results/<name>.json`` and ``.md`` (``--name``, default ``graph_build``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"

# The reference point DuckDB was measured at, on another machine (not re-run here).
REFERENCE = {
    "text": ("DuckDB 2.0 does the window-5 graph of a 2M-interaction Zipf log "
             "(200k users, 50k items) in 5.2 s at 579 MB peak"),
    "num_interactions": 2_000_000, "num_users": 200_000, "num_items": 50_000,
    "window": 5, "seconds": 5.2, "peak_mb": 579.0,
}

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "ARROW_NUM_THREADS")

DUCKDB_SQL = """
WITH pos AS (
    SELECT user_id AS u, item_id AS i,
           row_number() OVER (PARTITION BY user_id ORDER BY timestamp) AS p,
           count(*)     OVER (PARTITION BY user_id)                    AS n
    FROM read_parquet('{path}')
), train AS (
    SELECT u, i, p FROM pos WHERE n >= 3 AND p <= n - 2
)
SELECT least(a.i, b.i) AS src, greatest(a.i, b.i) AS dst, count(*) AS w
FROM train a
JOIN train b ON a.u = b.u AND b.p BETWEEN a.p + 1 AND a.p + {window}
WHERE a.i <> b.i
GROUP BY 1, 2
"""


# --------------------------------------------------------------------------- measuring


def _peak() -> dict:
    """This process's peak resident memory: ru_maxrss and VmHWM, both in MiB."""
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    hwm = None
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1]) / 1024
    except OSError:
        pass
    return {"ru_maxrss_mb": round(ru, 1), "vmhwm_mb": None if hwm is None else round(hwm, 1)}


def _cpu() -> tuple[float, float]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime


def _cpu_since(start: tuple[float, float]) -> dict:
    user, sys_ = _cpu()
    return {"cpu_user_s": round(user - start[0], 3), "cpu_sys_s": round(sys_ - start[1], 3)}


def _proc_stat() -> tuple[int, int, int] | None:
    """(busy, steal, total) jiffies of the whole machine from /proc/stat, or None."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + v[4]  # idle + iowait
        total = sum(v[:8])
        return total - idle, v[7], total
    except (OSError, IndexError, ValueError):
        return None


def _wait_quiet(max_wait: float, threshold: float = 0.25) -> dict:
    """Wait (up to ``max_wait`` s) until the machine is idle: < ``threshold`` cores busy over 1 s.

    Other processes on the machine compete for its cores and distort the timings (DuckDB,
    which uses every thread it is given, most), so each timed run starts on a quiet machine
    when possible; the busy cores seen last are recorded either way.
    """
    hz = os.sysconf("SC_CLK_TCK")
    start = time.monotonic()
    busy_cores = None
    while True:
        a = _proc_stat()
        time.sleep(1.0)
        b = _proc_stat()
        if a is None or b is None:
            return {"waited_s": 0.0, "busy_cores_before": None}
        busy_cores = (b[0] - a[0]) / hz
        if busy_cores < threshold or time.monotonic() - start >= max_wait:
            return {"waited_s": round(time.monotonic() - start, 1), "busy_cores_before": round(busy_cores, 2)}


def _emit(obj: dict) -> None:
    """The worker's answer: one JSON line, last on stdout."""
    sys.stdout.write("\n" + json.dumps(obj) + "\n")
    sys.stdout.flush()


# --------------------------------------------------------------------------- workers


def worker_generate(args) -> None:
    """Generate the synthetic log and write it to Parquet (no pandas metadata)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from g2rec.data.synthetic import generate_log_of_size

    overrides = {"mean_length": args.mean_length} if args.mean_length else {}
    t = time.perf_counter()
    df = generate_log_of_size(args.size, seed=args.seed, **overrides)
    gen_s = time.perf_counter() - t
    user, item, ts = (df[c].to_numpy() for c in ("user_id", "item_id", "timestamp"))
    # Both methods agree on semantics only if there are no exact ties to break: g2rec breaks
    # time ties by file order and drops exact duplicate rows, the SQL does neither.
    same = user[1:] == user[:-1]
    ties = int(np.sum(same & (ts[1:] <= ts[:-1])))
    pq.write_table(pa.table({"user_id": user, "item_id": item, "timestamp": ts}), args.parquet)
    lengths = np.bincount(np.unique(user, return_inverse=True)[1])
    _emit({"num_interactions": len(df), "num_users": len(lengths),
           "num_items": len(np.unique(item)), "mean_length": round(float(lengths.mean()), 3),
           "max_length": int(lengths.max()), "users_ge3": int(np.sum(lengths >= 3)),
           "time_ties_or_unsorted": ties, "generate_seconds": round(gen_s, 3),
           "parquet_bytes": os.path.getsize(args.parquet)})


def worker_g2rec(args) -> None:
    import numpy as np
    import pyarrow as pa
    import scipy.sparse as sp

    from g2rec.data.prepare import PrepareConfig, prepare_sequences
    from g2rec.data.readers import ReadOptions, read_log
    from g2rec.graph.build import GraphConfig, build_coengagement_graph

    pa.set_cpu_count(args.threads)
    after_imports = _peak()
    cpu0 = _cpu()
    t0 = time.perf_counter()
    log = read_log(args.parquet, ReadOptions())
    t1 = time.perf_counter()
    seq, _report = prepare_sequences(log, PrepareConfig())
    del log
    t2 = time.perf_counter()
    graph, info = build_coengagement_graph(seq, GraphConfig(builder="window", window=args.window))
    t3 = time.perf_counter()
    peak = _peak()  # before anything only the check needs
    cpu = _cpu_since(cpu0)

    upper = sp.triu(graph, k=1, format="coo")
    out = {
        "method": "g2rec", "seconds": round(t3 - t0, 3),
        "seconds_by_step": {"read": round(t1 - t0, 3), "prepare": round(t2 - t1, 3),
                            "graph": round(t3 - t2, 3)},
        "graph_seconds": round(t3 - t2, 3),
        "peak_mb": peak["ru_maxrss_mb"], "vmhwm_mb": peak["vmhwm_mb"],
        "after_imports_mb": after_imports["ru_maxrss_mb"],
        "edges": int(upper.nnz), "weight_sum": round(float(np.sum(upper.data, dtype=np.float64))),
        "graph_nnz": int(graph.nnz), "diagonal_nnz": int(np.count_nonzero(graph.diagonal())),
        "num_users": int(seq.num_users), "num_items": int(seq.num_items),
        "pairs_emitted": int(info["pairs_emitted"]), **cpu,
    }
    if args.dump:
        ids = np.asarray(seq.item_ids)
        a, b = ids[upper.row], ids[upper.col]
        np.savez(args.dump, src=np.minimum(a, b), dst=np.maximum(a, b), w=upper.data.astype(np.int64))
    _emit(out)


def worker_duckdb(args) -> None:
    import duckdb
    import numpy as np

    after_imports = _peak()
    cpu0 = _cpu()
    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"SET threads = {int(args.threads)}")
    sql = DUCKDB_SQL.format(path=str(args.parquet).replace("'", "''"), window=int(args.window))
    res = con.execute(sql).fetchnumpy()
    src, dst, w = (np.asarray(res[k]) for k in ("src", "dst", "w"))
    t1 = time.perf_counter()
    peak = _peak()
    cpu = _cpu_since(cpu0)
    out = {
        "method": "duckdb", "seconds": round(t1 - t0, 3),
        "peak_mb": peak["ru_maxrss_mb"], "vmhwm_mb": peak["vmhwm_mb"],
        "after_imports_mb": after_imports["ru_maxrss_mb"],
        "edges": len(src), "weight_sum": int(w.sum(dtype=np.int64)),
        "threads_setting": con.execute("SELECT current_setting('threads')").fetchone()[0], **cpu,
    }
    if args.dump:
        np.savez(args.dump, src=src.astype(np.int64), dst=dst.astype(np.int64), w=w.astype(np.int64))
    _emit(out)


def worker_compare(args) -> None:
    """Exact comparison of two dumped edge lists (src < dst, original ids, integer counts)."""
    import numpy as np

    def load(path):
        z = np.load(path)
        src, dst, w = z["src"], z["dst"], z["w"]
        order = np.lexsort((dst, src))
        return src[order], dst[order], w[order]

    a, b = load(args.left), load(args.right)
    same_len = len(a[0]) == len(b[0])
    out = {"edges_left": len(a[0]), "edges_right": len(b[0]),
           "identical": bool(same_len and all(np.array_equal(x, y) for x, y in zip(a, b)))}
    if not out["identical"] and same_len:
        out["pairs_equal"] = bool(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]))
        out["weights_differ"] = int(np.sum(a[2] != b[2]))
    _emit(out)


# --------------------------------------------------------------------------- orchestration


def _run_worker(kind: str, extra: list[str], threads: int, timeout: float, quiet_wait: float = 0.0) -> dict:
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = str(threads)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--threads", str(threads), *extra]
    quiet = _wait_quiet(quiet_wait) if quiet_wait > 0 else None
    before, child0, wall0 = _proc_stat(), resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env, timeout=timeout)
    after, child1, wall = _proc_stat(), resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter() - wall0
    if proc.returncode != 0:
        raise RuntimeError(f"worker {kind} failed (rc={proc.returncode}):\n{proc.stderr[-4000:]}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    out = json.loads(lines[-1])
    if before and after and after[2] > before[2]:
        hz = os.sysconf("SC_CLK_TCK")
        # share of the machine's CPU time taken by the hypervisor while the worker ran
        out["steal_pct"] = round(100 * (after[1] - before[1]) / (after[2] - before[2]), 1)
        # cores kept busy by everything else on the machine while the worker ran
        worker_cpu = (child1.ru_utime - child0.ru_utime) + (child1.ru_stime - child0.ru_stime)
        out["other_busy_cores"] = round(max(0.0, (after[0] - before[0]) / hz - worker_cpu) / wall, 2)
    if quiet is not None:
        out["quiet_wait"] = quiet
    return out


def _machine() -> dict:
    mem_kb = None
    cpu = platform.processor()
    try:
        with open("/proc/meminfo") as f:
            mem_kb = next(int(ln.split()[1]) for ln in f if ln.startswith("MemTotal:"))
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except (OSError, StopIteration):
        pass
    return {"nproc": os.cpu_count(),
            "nproc_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "ram_gib": None if mem_kb is None else round(mem_kb / 1024**2, 1),
            "cpu": cpu, "platform": platform.platform()}


def _versions() -> dict:
    code = ("import json, sys, numpy, scipy, pandas, pyarrow, duckdb, g2rec;"
            "print(json.dumps({'python': sys.version.split()[0], 'numpy': numpy.__version__,"
            "'scipy': scipy.__version__, 'pandas': pandas.__version__, 'pyarrow': pyarrow.__version__,"
            "'duckdb': duckdb.__version__, 'g2rec': g2rec.__version__}))")
    return json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                     check=True).stdout)


def _source_fingerprint() -> dict:
    """sha256 of the g2rec sources benchmarked (the working tree may differ from any commit)."""
    import hashlib

    files = sorted((REPO / "g2rec").rglob("*.py"))
    total = hashlib.sha256()
    per_file = {}
    for f in files:
        data = f.read_bytes()
        total.update(str(f.relative_to(REPO)).encode() + b"\0" + data)
        per_file[str(f.relative_to(REPO))] = hashlib.sha256(data).hexdigest()[:12]
    return {"g2rec_sources_sha256": total.hexdigest(), "files": per_file}


def _median(runs: list[dict], key: str) -> float:
    return round(statistics.median(r[key] for r in runs), 3)


def _summarize(runs: list[dict]) -> dict:
    s = {"seconds": _median(runs, "seconds"), "seconds_min": round(min(r["seconds"] for r in runs), 3),
         "peak_mb": max(r["peak_mb"] for r in runs), "vmhwm_mb": max(r["vmhwm_mb"] or 0 for r in runs),
         "edges": runs[0]["edges"], "weight_sum": runs[0]["weight_sum"],
         "cpu_user_s": _median(runs, "cpu_user_s"), "cpu_sys_s": _median(runs, "cpu_sys_s"),
         "seconds_all": [r["seconds"] for r in runs],
         "after_imports_mb": max(r["after_imports_mb"] for r in runs),
         "steal_pct_max": max((r.get("steal_pct", 0.0) for r in runs), default=0.0),
         "other_busy_cores_max": max((r.get("other_busy_cores", 0.0) for r in runs), default=0.0)}
    if "seconds_by_step" in runs[0]:
        s["seconds_by_step"] = {k: _median([r["seconds_by_step"] for r in runs], k)
                                for k in runs[0]["seconds_by_step"]}
        s["graph_seconds"] = s["seconds_by_step"]["graph"]
    return s


def _fmt_int(n) -> str:
    return f"{n:,}"


def _runs(s: dict) -> str:
    return ", ".join(f"{x:.2f}" for x in s["seconds_all"])


def _cpu_str(s: dict) -> str:
    return f"{s['cpu_user_s']:.1f} + {s['cpu_sys_s']:.1f}"


def markdown_table(entry: dict) -> str:
    g, d = entry["g2rec"], entry["duckdb"]
    ratio = entry["duckdb_over_g2rec_time"]
    check = entry["check"]
    lines = [
        (f"#### {_fmt_int(entry['data']['num_interactions'])} interactions "
        f"({_fmt_int(entry['data']['num_users'])} users, {_fmt_int(entry['data']['num_items'])} items), "
        f"window {entry['window']}"),
        "",
        ("| method | seconds (median) | all runs s | graph step s | CPU user+sys s | peak MB (ru_maxrss) "
        "| edges | weight sum |"),
        "|---|---:|---|---:|---:|---:|---:|---:|",
        (f"| g2rec | {g['seconds']:.2f} | {_runs(g)} | {g['graph_seconds']:.2f} | {_cpu_str(g)} "
        f"| {g['peak_mb']:.0f} | {_fmt_int(g['edges'])} | {_fmt_int(g['weight_sum'])} |"),
        (f"| DuckDB {entry['duckdb_version']} | {d['seconds']:.2f} | {_runs(d)} | – | {_cpu_str(d)} "
        f"| {d['peak_mb']:.0f} | {_fmt_int(d['edges'])} | {_fmt_int(d['weight_sum'])} |"),
        "",
        f"DuckDB time / g2rec time = **{ratio:.2f}** ({'g2rec faster' if ratio > 1 else 'DuckDB faster'}); "
        f"g2rec peak = **{g['peak_mb']:.0f} MB**; g2rec steps (s): "
        + ", ".join(f"{k} {v:.2f}" for k, v in g["seconds_by_step"].items())
        + f"; output identical: **{check['identical']}** ({check['how']}); "
        f"max hypervisor steal during a run: {max(g['steal_pct_max'], d['steal_pct_max']):.1f}%, "
        f"max other load: {max(g['other_busy_cores_max'], d['other_busy_cores_max']):.2f} cores; "
        f"peak includes the interpreter and imports (g2rec {g['after_imports_mb']:.0f} MB, "
        f"DuckDB {d['after_imports_mb']:.0f} MB before any work).",
    ]
    return "\n".join(lines)


def summary_table(entries: list[dict]) -> str:
    rows = [("| interactions | users | items | g2rec s | (graph step s) | DuckDB s | DuckDB/g2rec time "
             "| same, best runs | g2rec peak MB | DuckDB peak MB | edges | identical | other load |"),
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for e in entries:
        g, d = e["g2rec"], e["duckdb"]
        load = max(g["other_busy_cores_max"], d["other_busy_cores_max"])
        rows.append(f"| {_fmt_int(e['data']['num_interactions'])} | {_fmt_int(e['data']['num_users'])} "
                    f"| {_fmt_int(e['data']['num_items'])} | {g['seconds']:.2f} | {g['graph_seconds']:.2f} "
                    f"| {d['seconds']:.2f} | {e['duckdb_over_g2rec_time']:.2f} "
                    f"| {e['duckdb_over_g2rec_time_best']:.2f} | {g['peak_mb']:.0f} "
                    f"| {d['peak_mb']:.0f} | {_fmt_int(g['edges'])} | {e['check']['identical']} "
                    f"({e['check']['how']}) | {load:.2f} |")
    return "\n".join(rows)


def write_markdown(path: Path, result: dict) -> None:
    m, v = result["machine"], result["versions"]
    parts = [
        "# Graph build benchmark: g2rec vs. DuckDB (window co-engagement graph)",
        "",
        f"- Command: `{result['command']}`",
        f"- Date: {result['date']}",
        f"- Machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gib']} GiB RAM, {m['platform']}",
        "- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items())
        + f"; g2rec sources sha256 `{result['source']['g2rec_sources_sha256'][:16]}`",
        (f"- Threads: {result['threads']} (DuckDB `SET threads`; OMP/BLAS/Arrow env vars and "
        f"`pyarrow.set_cpu_count` for g2rec); window {result['window']}; seed {result['seed']}; "
        f"{result['repeats']} fresh subprocess(es) per method and size, seconds = median, peak = max."),
        ("- Seconds: reading the Parquet file to the finished graph (g2rec: symmetric CSR; DuckDB: "
        "result fetched as numpy arrays); interpreter start-up and imports excluded, their memory included."),
        "",
        "## Summary",
        "",
        summary_table(result["sizes"]),
        "",
        ("Seconds are medians over the runs; *same, best runs* is the ratio of the fastest runs. "
         "*other load*: most CPU cores kept busy by other processes during any one run (the runs wait "
         "for an idle machine first, `--quiet-wait`)."),
        "",
        f"Reference point (another machine): {REFERENCE['text']}.",
        "",
        "Targets: g2rec faster than DuckDB at identical output (ratio > 1) and g2rec peak <= 4096 MB "
        "at 10M interactions. Met: " + ", ".join(f"{k} = **{v}**" for k, v in result["targets_met"].items()) + ".",
        "",
        "## Per size",
        "",
    ]
    for e in result["sizes"]:
        parts += [markdown_table(e), ""]
    path.write_text("\n".join(parts))


def run_size(size: int, args, tmp: Path) -> dict:
    parquet = tmp / f"log_{size}.parquet"
    timeout = args.timeout
    gen_extra = ["--size", str(size), "--seed", str(args.seed), "--parquet", str(parquet)]
    if args.mean_length:
        gen_extra += ["--mean-length", str(args.mean_length)]
    print(f"[{size:,}] generating ...", flush=True)
    data = _run_worker("generate", gen_extra, args.threads, timeout)
    print(f"[{size:,}] {data}", flush=True)
    check_edges = args.check_edges or size <= args.check_edges_max
    common = ["--parquet", str(parquet), "--window", str(args.window)]
    runs = {"g2rec": [], "duckdb": []}
    for rep in range(args.repeats):
        for method in ("g2rec", "duckdb") if rep % 2 == 0 else ("duckdb", "g2rec"):
            extra = list(common)
            if check_edges and rep == 0:
                extra += ["--dump", str(tmp / f"edges_{method}_{size}.npz")]
            r = _run_worker(method, extra, args.threads, timeout, args.quiet_wait)
            runs[method].append(r)
            print(f"[{size:,}] rep {rep} {method}: {r['seconds']:.2f} s (cpu user {r['cpu_user_s']:.1f} "
                  f"sys {r['cpu_sys_s']:.1f}, steal {r.get('steal_pct', float('nan')):.1f}%, "
                  f"other load {r.get('other_busy_cores', float('nan')):.2f} cores), "
                  f"peak {r['peak_mb']:.0f} MB (VmHWM {r['vmhwm_mb']:.0f}), edges {r['edges']:,}, "
                  f"weight sum {r['weight_sum']:,}"
                  + (f", steps {r['seconds_by_step']}" if "seconds_by_step" in r else ""), flush=True)
    g, d = _summarize(runs["g2rec"]), _summarize(runs["duckdb"])
    same_counts = g["edges"] == d["edges"] and g["weight_sum"] == d["weight_sum"]
    check = {"edge_count_equal": g["edges"] == d["edges"], "weight_sum_equal": g["weight_sum"] == d["weight_sum"]}
    if check_edges:
        cmp = _run_worker("compare", ["--left", str(tmp / f"edges_g2rec_{size}.npz"),
                                      "--right", str(tmp / f"edges_duckdb_{size}.npz")], args.threads, timeout)
        check.update(edge_set=cmp)
        check["identical"] = bool(same_counts and cmp["identical"])
        check["how"] = "exact edge set and counts"
        for method in ("g2rec", "duckdb"):
            (tmp / f"edges_{method}_{size}.npz").unlink(missing_ok=True)
    else:
        check["identical"] = bool(same_counts)
        check["how"] = "edge count and weight sum"
    if not args.keep_data:
        parquet.unlink(missing_ok=True)
    entry = {
        "size": size, "window": args.window, "duckdb_version": args.duckdb_version, "data": data,
        "g2rec": g, "duckdb": d,
        "duckdb_over_g2rec_time": round(d["seconds"] / g["seconds"], 3),
        "duckdb_over_g2rec_time_best": round(d["seconds_min"] / g["seconds_min"], 3),
        "duckdb_over_g2rec_time_graph_step_only": round(d["seconds"] / g["graph_seconds"], 3),
        "g2rec_peak_mb": g["peak_mb"],
        "check": check, "runs": runs,
    }
    print(markdown_table(entry), flush=True)
    print(flush=True)
    return entry


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 2_000_000, 10_000_000],
                   help="number of interactions of each synthetic log")
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mean-length", type=float, default=None,
                   help="override SyntheticConfig.mean_length (default: the library's 12; "
                        "10 gives 200k users / 50k items at 2M)")
    p.add_argument("--repeats", type=int, default=3, help="fresh subprocesses per method and size")
    p.add_argument("--check-edges", action="store_true", help="compare the exact edge sets at every size")
    p.add_argument("--check-edges-max", type=int, default=2_000_000,
                   help="sizes up to this are always compared edge by edge")
    p.add_argument("--name", default="graph_build", help="results/<name>.json and .md")
    p.add_argument("--no-write", action="store_true", help="print only, do not write results/")
    p.add_argument("--keep-data", action="store_true", help="keep the temporary Parquet files")
    p.add_argument("--tmp-dir", default=None, help="parent of the temporary data folder (default: system temp)")
    p.add_argument("--timeout", type=float, default=3600, help="seconds per subprocess")
    p.add_argument("--quiet-wait", type=float, default=120,
                   help="before each timed run, wait up to this many seconds for the machine to be idle "
                        "(0: do not wait)")
    # worker mode (internal)
    p.add_argument("--worker", choices=["generate", "g2rec", "duckdb", "compare"], help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, help=argparse.SUPPRESS)
    p.add_argument("--parquet", help=argparse.SUPPRESS)
    p.add_argument("--dump", help=argparse.SUPPRESS)
    p.add_argument("--left", help=argparse.SUPPRESS)
    p.add_argument("--right", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        {"generate": worker_generate, "g2rec": worker_g2rec, "duckdb": worker_duckdb,
         "compare": worker_compare}[args.worker](args)
        return 0

    if args.window < 1 or args.threads < 1 or args.repeats < 1:
        p.error("--window, --threads and --repeats must be >= 1")
    versions = _versions()
    args.duckdb_version = versions["duckdb"]
    command = "python " + " ".join(shlex.quote(a) for a in
                                   [os.path.relpath(Path(__file__).resolve(), REPO), *sys.argv[1:]])
    result = {
        "benchmark": "graph_build", "command": command,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": _machine(), "versions": versions, "source": _source_fingerprint(),
        "threads": args.threads, "window": args.window, "seed": args.seed, "repeats": args.repeats,
        "mean_length": args.mean_length, "duckdb_sql": DUCKDB_SQL.strip(),
        "issue_reference": REFERENCE,
        "targets": {"g2rec_faster_than_duckdb": True, "g2rec_peak_mb_at_10M_max": 4096},
        "sizes": [],
    }
    print(f"machine: {result['machine']}\nversions: {versions}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="g2rec-graph-bench-", dir=args.tmp_dir))
    try:
        for size in args.sizes:
            result["sizes"].append(run_size(size, args, tmp))
    finally:
        if not args.keep_data:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"data kept in {tmp}")
    at_10m = [e for e in result["sizes"] if e["size"] >= 10_000_000]
    result["targets_met"] = {
        "g2rec_faster_at_every_size": all(e["duckdb_over_g2rec_time"] > 1 for e in result["sizes"]),
        "identical_output_at_every_size": all(e["check"]["identical"] for e in result["sizes"]),
        "g2rec_peak_le_4GiB_at_10M": (all(e["g2rec"]["peak_mb"] <= 4096 for e in at_10m) if at_10m else None),
    }
    print("## Summary\n\n" + summary_table(result["sizes"]) + "\n", flush=True)
    print("targets met:", result["targets_met"], flush=True)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{args.name}.json").write_text(json.dumps(result, indent=2) + "\n")
        write_markdown(RESULTS / f"{args.name}.md", result)
        print(f"wrote {RESULTS / (args.name + '.json')} and .md", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
