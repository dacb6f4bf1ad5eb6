"""Same seed, same results with 1 or 2 threads: the graph, embeddings, prototypes and semantic
IDs byte for byte; a trained network within float rounding (a matrix product sums in another
order on another thread count), to the tolerance README.md states."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

from g2rec.atomic import file_sha256
from tests.conftest import MOVIELENS

STAGES = """
import sys
import g2rec
run, threads = sys.argv[1], int(sys.argv[2])
g2rec.build_graph(sys.argv[3], run)
g2rec.embed(run, "spectral", dim=32, evaluate=False)
g2rec.tokenize(run, num_prototypes=8, iterations=30, leiden=False, levels=2, codebook_size=16)
g2rec.train(run, model="g2rec", name="m", epochs=2, dim=16, max_len=20, threads=threads, graph_prior=False)
g2rec.evaluate(run, model="m", split="test")
"""
SAME = ("graph.npz", "sequences.npz", "embeddings/spectral.npy", "tokenize/prototypes.npz", "tokenize/profiles.npy",
        "tokenize/sids.npz")


def test_one_and_two_threads_agree(tmp_path, shared_data):
    runs, processes = {}, {}
    for threads in (1, 2):  # side by side: the results cannot depend on what else the machine runs
        runs[threads] = tmp_path / f"threads-{threads}"
        env = {"PATH": "/usr/bin:/bin", **{k: str(threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                                                         "OPENBLAS_NUM_THREADS")}}
        processes[threads] = subprocess.Popen([sys.executable, "-c", STAGES, str(runs[threads]), str(threads),
                                               str(MOVIELENS)], env=env, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parents[1])
    for process in processes.values():
        _, stderr = process.communicate()
        assert process.returncode == 0, stderr[-2000:]
    one, two = runs[1], runs[2]
    for rel in SAME:
        assert file_sha256(one / rel) == file_sha256(two / rel), rel
    a, b = (load_file(str(r / "models/m/best.safetensors")) for r in (one, two))
    assert max(float(np.abs(a[k] - b[k]).max()) for k in a) < 1e-4
    logs = [[json.loads(line) for line in (r / "models/m/train_log.jsonl").read_text().splitlines()] for r in (one, two)]
    assert [e["loss"] for e in logs[0]] == [e["loss"] for e in logs[1]]  # rounded to 5 decimals
    for e1, e2 in zip(*logs):
        assert abs(e1["valid"]["NDCG@10"] - e2["valid"]["NDCG@10"]) < 1e-4
    m1, m2 = (json.loads((r / "models/m/metrics.json").read_text())["test-full-ranking"]["metrics"] for r in (one, two))
    assert abs(m1["ndcg@10"] - m2["ndcg@10"]) < 1e-4 and abs(m1["recall@10"] - m2["recall@10"]) < 1e-4
