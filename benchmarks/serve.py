"""`g2rec serve` under a bounded local load: p50/p99 latency and requests/s over loopback HTTP.

Builds MovieLens-100K, trains a model (g2rec's default network, 20 epochs; or takes ``--run``'s), starts
`g2rec serve` in its own process, and sends POST /recommend requests from C client threads
(keep-alive connections), N per scenario: one known user, one new history of 10 items, and a
batch of 32 users. Beside each, the same answer computed in-process by `Recommender` (the
reference measured in the same run), so that the HTTP layer's cost reads as a ratio.

    python benchmarks/serve.py --out benchmarks/results/serve.json
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MOVIELENS = ROOT.parent / "shared" / "data" / "movielens_100k" / "u.data"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load(port: int, bodies: list[bytes], clients: int) -> tuple[np.ndarray, float]:
    """Send ``bodies`` from ``clients`` threads; per-request seconds and the wall seconds."""
    latencies, lock = [], threading.Lock()
    shares = [bodies[c::clients] for c in range(clients)]

    def client(share):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        for body in share:
            tick = time.perf_counter()
            connection.request("POST", "/recommend", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}")
            mine.append(time.perf_counter() - tick)
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(s,)) for s in shares]
    tick = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return np.array(latencies), time.perf_counter() - tick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per scenario and client count")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--run", type=Path, default=None,
                        help="serve this run folder's most recent model instead of building and training one")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    from g2rec import Recommender, build_graph, tokenize, train  # after argparse: -h stays instant

    if args.run is None:
        run = Path(tempfile.mkdtemp(prefix="g2rec-serve-")) / "ml"
        build_graph(MOVIELENS, run)
        tokenize(run)
        train(run, "g2rec", epochs=args.epochs)
    else:
        run = args.run
    recommender = Recommender(run)
    model = recommender.model
    rng = np.random.default_rng(0)
    users = [str(u) for u in recommender.seq.user_ids]
    items = [str(i) for i in recommender.seq.item_ids]
    scenarios = {
        "one user": [{"user": users[i]} for i in rng.integers(0, len(users), args.requests)],
        "one new history (10 items)": [{"history": [items[i] for i in rng.integers(0, len(items), 10)]}
                                       for _ in range(args.requests)],
        "batch of 32 users": [[{"user": users[i]} for i in rng.integers(0, len(users), 32)]
                              for _ in range(args.requests // 8)],
    }
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    server = subprocess.Popen([sys.executable, "-m", "g2rec_cli.main", "serve", str(run), "--model", model,
                               "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    rows = []
    try:
        for _ in range(600):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=5).request("GET", "/health")
                break
            except OSError:
                time.sleep(0.5)
        load(port, [json.dumps({"user": users[0]}).encode()] * 20, 1)  # warm-up
        for name, requests in scenarios.items():
            tick = time.perf_counter()
            for request in requests:  # the reference: the same answers in this process
                batch = request if isinstance(request, list) else [request]
                if "user" in batch[0]:
                    recommender.users([r["user"] for r in batch], 10)
                else:
                    recommender.histories([r["history"] for r in batch], 10)
            in_process = (time.perf_counter() - tick) / len(requests)
            bodies = [json.dumps(r).encode() for r in requests]
            for clients in args.clients:
                latencies, wall = load(port, bodies, clients)
                rows.append({"scenario": name, "clients": clients, "requests": len(bodies),
                             "p50_ms": round(1000 * float(np.percentile(latencies, 50)), 2),
                             "p99_ms": round(1000 * float(np.percentile(latencies, 99)), 2),
                             "requests_per_second": round(len(bodies) / wall, 1),
                             "in_process_ms": round(1000 * in_process, 2)})
                print(json.dumps(rows[-1]), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    result = {"command": "python benchmarks/serve.py " + " ".join(sys.argv[1:]),
              "machine": f"{os.cpu_count()} CPUs", "model": model, "rows": rows}
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
