"""Training under torchrun (2 processes, gloo on CPU): the same validation curve as one process at
the same global batch, within the tolerance README.md states; the per-rank evaluation shards
gather to exactly the single-process metrics; a 2-process run killed with SIGKILL resumes to the
straight 2-process run's result."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from g2rec import build_graph
from g2rec.data.sequences import VALID
from g2rec.eval.protocol import evaluate_ranking
from g2rec.model.generator import Generator, GeneratorConfig, InterestContext
from g2rec.pipeline.runfolder import RunFolder
from g2rec.train.distributed import Ranks
from tests.conftest import MOVIELENS

G2REC = ["-c", "from g2rec_cli.main import app; app(prog_name='g2rec')"]
TRAIN = ["--model", "sasrec", "--epochs", "2", "--patience", "2", "--dim", "16", "--max-len", "20",
         "--batch-size", "256", "--threads", "1"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def torchrun(*args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "g2rec_cli.main",
            *args]


def curve(run: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (run / "models" / name / "train_log.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def run(tmp_path_factory, shared_data) -> Path:
    path = tmp_path_factory.mktemp("distributed") / "run"
    build_graph(MOVIELENS, path)
    return path


def test_two_processes_follow_one_process_curve(run):
    one = subprocess.run([sys.executable, *G2REC, "train", str(run), *TRAIN, "--name", "one"], env=ENV,
                         check=False, capture_output=True, text=True)
    assert one.returncode == 0, one.stderr[-2000:]
    two = subprocess.run(torchrun("train", str(run), *TRAIN, "--name", "two"), env=ENV, check=False, capture_output=True, text=True)
    assert two.returncode == 0, two.stderr[-3000:]
    a, b = curve(run, "one"), curve(run, "two")
    assert [r["epoch"] for r in a] == [r["epoch"] for r in b] == [1, 2]
    for x, y in zip(a, b):
        assert abs(x["loss"] - y["loss"]) <= 0.01 * x["loss"], (x["loss"], y["loss"])
        assert abs(x["valid"]["NDCG@10"] - y["valid"]["NDCG@10"]) <= 0.003
        assert x["valid"]["num_users"] == y["valid"]["num_users"]
    manifest = RunFolder(run).manifest["stages"]["train"]
    assert manifest["two"]["summary"]["processes"] == 2 and manifest["one"]["summary"]["processes"] == 1
    assert not list((run / "models" / "two").glob(".*tmp"))


def test_a_killed_two_process_run_resumes_to_the_straight_result(run):
    straight = subprocess.run(torchrun("train", str(run), *TRAIN, "--name", "straight"), env=ENV,
                              check=False, capture_output=True, text=True)
    assert straight.returncode == 0, straight.stderr[-3000:]
    killed = subprocess.Popen(torchrun("train", str(run), *TRAIN, "--name", "killed"), env=ENV,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    log = run / "models" / "killed" / "train_log.jsonl"
    deadline = time.monotonic() + 300
    while not (log.exists() and log.read_text().count("\n") >= 1):  # after the first checkpoint
        assert killed.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        time.sleep(0.05)
    os.killpg(killed.pid, signal.SIGKILL)  # torchrun and both ranks
    killed.wait()
    assert len(curve(run, "killed")) < 2
    resumed = subprocess.run(torchrun("train", str(run), *TRAIN, "--name", "killed", "--resume"), env=ENV,
                             check=False, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert [r["loss"] for r in curve(run, "killed")] == [r["loss"] for r in curve(run, "straight")]
    untimed = [[{k: v for k, v in r["valid"].items() if k != "users_per_second"} for r in curve(run, name)]
               for name in ("killed", "straight")]
    assert untimed[0] == untimed[1]


class Shard(Ranks):
    """One rank's view of a 2-rank group whose other rank's parts are given (no processes)."""

    def __init__(self, rank, parts):
        super().__init__(rank, 2)
        object.__setattr__(self, "parts", parts)

    def gather(self, part):
        self.parts[self.rank] = part
        return [self.parts[r] for r in range(self.world) if r in self.parts]


def test_sharded_evaluation_gathers_to_the_single_process_metrics(run):
    seq = RunFolder(run).sequences()
    torch.manual_seed(0)
    model = Generator(seq.num_items, GeneratorConfig(profiles="none", max_len=20, dim=16), InterestContext()).eval()

    def scorer(h, u):
        return model.item_scores(torch.where(h < 0, model.num_items, h))

    whole = evaluate_ranking(scorer, seq, VALID, max_len=20, batch=100, keep_ranks=True)
    parts: dict = {}
    evaluate_ranking(scorer, seq, VALID, max_len=20, batch=100, shards=Shard(1, parts))  # rank 1 first, then
    shard = evaluate_ranking(scorer, seq, VALID, max_len=20, batch=100, shards=Shard(0, parts), keep_ranks=True)
    assert np.array_equal(shard["ranks"], whole["ranks"])
    assert {k: v for k, v in shard.items() if k not in ("users_per_second", "ranks")} == \
        {k: v for k, v in whole.items() if k not in ("users_per_second", "ranks")}
    assert 0 < len(parts[0][0]) < seq.num_users and len(parts[0][0]) + len(parts[1][0]) == seq.num_users
