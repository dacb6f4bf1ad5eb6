"""Kill soak: `g2rec train` killed with SIGKILL at random moments and resumed each time ends
exactly where a straight run ends.

One run folder (built, embedded and tokenized once) is copied twice. In the first copy the
model trains straight through; in the second the same command is killed with SIGKILL at
``--kills`` random moments (seeded: each run is killed after 10-30% of the straight run's
duration, so startup, epochs, checkpoints and the graph prior search all get hit), each time
resumed with the same command plus ``--resume`` (a run killed before its model folder exists
starts again without it, as a user would), until one resume finishes. Then both are evaluated
on test and compared: the training summary (epochs, best epoch, validation metrics, graph
prior), ``best.safetensors`` tensor by tensor and the test metrics must be identical.

Usage::

    python benchmarks/kill_soak.py --kills 5 --out benchmarks/results/kill_soak.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from safetensors.numpy import load_file

ROOT = Path(__file__).resolve().parents[1]
G2REC = [sys.executable, "-c", "from g2rec_cli.main import app; app(prog_name='g2rec')"]
MOVIELENS = ROOT.parent / "shared" / "data" / "movielens_100k" / "u.data"
# g2rec's full-softmax network with profiles (the figures in benchmarks/README.md were measured on it)
TRAIN = ["--model", "g2rec", "--name", "m", "--epochs", "30", "--patience", "30", "--dim", "32", "--max-len", "50",
         "--threads", "1", "--layers", "2", "--heads", "2", "--dropout", "0.5", "--profiles", "add", "--profile-weight", "1",
         "--item-dropout", "0", "--loss", "ce", "--negatives-per", "batch", "--batch-size", "256"]
TIMED = ("seconds", "_per_second", "memory_mb")
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def untimed(obj):
    """A JSON value less its timings and memory figures (they differ between identical runs)."""
    if isinstance(obj, dict):
        return {k: untimed(v) for k, v in obj.items() if not any(t in k for t in TIMED)}
    return [untimed(v) for v in obj] if isinstance(obj, list) else obj


def g2rec(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([*G2REC, *args], check=False, capture_output=True, text=True, cwd=ROOT, env=ENV)
    if check and done.returncode != 0:
        sys.exit(f"g2rec {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done


def outcome(run: Path) -> dict:
    """What the trained model is: its recorded summary (no timings), test metrics and weights."""
    g2rec("evaluate", str(run), "--model", "m", "--json")
    manifest = json.loads((run / "manifest.json").read_text())
    metrics = json.loads((run / "models/m/metrics.json").read_text())["test-full-ranking"]["metrics"]
    return {"summary": untimed(manifest["stages"]["train"]["m"]["summary"]),
            "prior": json.loads((run / "models/m/config.json").read_text())["prior"],
            "test": untimed(metrics), "weights": load_file(str(run / "models/m/best.safetensors"))}


def soak(base: Path, work: Path, kills: int, seed: int, train=TRAIN) -> dict:
    """Train straight in a copy of ``base``, then killed ``kills`` times and resumed in another;
    returns both outcomes and each kill's moment and the epoch its checkpoint had reached."""
    straight, killed = work / "straight", work / "killed"
    for run in (straight, killed):
        shutil.copytree(base, run)
    tick = time.perf_counter()
    g2rec("train", str(straight), *train)
    duration = time.perf_counter() - tick
    rng = random.Random(seed)
    events = []
    for moment in [rng.uniform(0.1, 0.3) * duration for _ in range(kills)]:
        resume = ["--resume"] if (killed / "models" / "m").exists() else []
        child = subprocess.Popen([*G2REC, "train", str(killed), *train, *resume], cwd=ROOT, env=ENV,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            child.wait(timeout=moment)
            finished = True
        except subprocess.TimeoutExpired:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
            finished = False
        log = killed / "models/m/train_log.jsonl"
        epochs = len(log.read_text().splitlines()) if log.exists() else 0
        events.append({"after_seconds": round(moment, 2), "killed": not finished, "returncode": child.returncode,
                       "log_epochs_after": epochs, "resumed": bool(resume)})
        if finished:
            break
    resume = ["--resume"] if (killed / "models" / "m").exists() else []
    g2rec("train", str(killed), *train, *resume)
    a, b = outcome(straight), outcome(killed)
    same_weights = a["weights"].keys() == b["weights"].keys() and all(
        (a["weights"][k] == b["weights"][k]).all() for k in a["weights"])
    return {"straight_seconds": round(duration, 1), "kills": events,
            "identical": {"summary": a["summary"] == b["summary"], "prior": a["prior"] == b["prior"],
                          "test_metrics": a["test"] == b["test"], "best_weights": bool(same_weights)},
            "straight": {k: a[k] for k in ("summary", "prior", "test")},
            "resumed": {k: b[k] for k in ("summary", "prior", "test")}}


def prepare(work: Path, log: Path) -> Path:
    base = work / "base"
    g2rec("build-graph", str(log), "-o", str(base))
    g2rec("embed", str(base), "--method", "spectral")
    g2rec("tokenize", str(base))
    return base



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log", type=Path, default=MOVIELENS)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        result = soak(prepare(work, args.log), work, args.kills, args.seed)
    result = {"command": "python benchmarks/kill_soak.py " + " ".join(sys.argv[1:]), "log": str(args.log),
              "train": " ".join(TRAIN), **result}
    print(json.dumps({k: result[k] for k in ("straight_seconds", "kills", "identical")}, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    if not all(result["identical"].values()):
        sys.exit("kill soak: the resumed run differs from the straight run")


if __name__ == "__main__":
    main()
