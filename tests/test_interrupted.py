"""Interrupted stages: SIGKILL at every rename a stage makes (its every commit point) leaves the
run folder as it was or as the finished stage leaves it, never in between; running the stage
again ends exactly as an uninterrupted run, with nothing the killed process left behind. Two
processes writing the same artifacts: the second is refused, the first finishes."""

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import g2rec
from g2rec.atomic import STALE, file_sha256
from g2rec.errors import G2RecError
from g2rec.graph.build import GraphConfig
from g2rec.pipeline.runfolder import MANIFEST, RunFolder
from tests.conftest import MOVIELENS

# Runs one stage, killing itself with SIGKILL at its KILL_AT-th rename (0: never); prints the
# number of renames it made. Renames are where a stage's writes become visible, so killing at
# each of them, and before the first, visits every state a kill can leave.
DRIVER = """
import json, os, signal, sys
kill_at, stage, args = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
renames = 0
def counted(rename):
    def wrapper(*a, **k):
        global renames
        renames += 1
        if renames == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return rename(*a, **k)
    return wrapper
os.replace = counted(os.replace)
import g2rec
import g2rec.pipeline.runfolder as runfolder
runfolder.exchange = counted(runfolder.exchange)
getattr(g2rec, stage)(**args)
print(json.dumps({"renames": renames}))
"""

TOKENIZE = {"num_prototypes": 8, "iterations": 10, "leiden": False, "levels": 2, "codebook_size": 16, "kmeans_iterations": 5,
            "compare_unsupervised": False}


def drive(kill_at: int, stage: str, **args) -> int:
    """Run ``stage`` in a child process killed at its ``kill_at``-th rename; its rename count
    when it is not killed."""
    done = subprocess.run([sys.executable, "-c", DRIVER, str(kill_at), stage, json.dumps(args)],
                          check=False, capture_output=True, text=True, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
                          cwd=Path(__file__).parents[1])
    if kill_at:
        assert done.returncode == -signal.SIGKILL, (kill_at, done.stdout, done.stderr[-2000:])
        return 0
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])["renames"]


TIMED = ("seconds", "_per_second", "memory_mb")  # how timings and memory figures are named


def untimed(obj):
    """A JSON value less its timings and memory figures (they differ between identical runs)."""
    if isinstance(obj, dict):
        return {k: untimed(v) for k, v in obj.items() if not any(t in k for t in TIMED)}
    return [untimed(v) for v in obj] if isinstance(obj, list) else obj


def state(run: Path) -> dict:
    """What a reader sees of a run folder: each visible file's SHA-256 (JSON files and the
    manifest's stages by content, timings left out) and the files the manifest records."""
    if not run.exists():
        return {}
    files = {}
    for p in sorted(run.rglob("*")):
        rel = p.relative_to(run)
        if p.is_file() and not any(part.startswith(".") for part in rel.parts):
            files[str(rel)] = untimed(json.loads(p.read_text())) if p.suffix == ".json" else file_sha256(p)
    files[MANIFEST] = {k: v for k, v in files[MANIFEST].items() if k != "files"}  # checked file by file below
    recorded = sorted(json.loads((run / MANIFEST).read_text()).get("files", {}))
    return {"files": files, "recorded": recorded}


def leftovers(folder: Path) -> list[str]:
    """Temporary files or folders (pid-named) under ``folder``."""
    return [str(p) for p in folder.rglob(".*") if STALE.fullmatch(p.name)] if folder.exists() else []


@pytest.fixture(scope="module")
def base(tmp_path_factory, shared_data) -> Path:
    run = tmp_path_factory.mktemp("interrupted") / "run"
    g2rec.build_graph(MOVIELENS, run)
    g2rec.embed(run, "spectral", evaluate=False)
    g2rec.tokenize(run, **TOKENIZE)
    return run


CASES = {  # stage, its arguments (run= filled in), what the folder holds before it
    "embed": ("embed", {"method": "spectral", "evaluate": False, "dim": 16}),
    "tokenize": ("tokenize", {**TOKENIZE, "num_prototypes": 6}),
    "evaluate": ("evaluate", {"model": "popularity", "split": "valid"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_kill_at_any_commit_point_leaves_before_or_after(base, tmp_path, case):
    stage, args = CASES[case]
    before = tmp_path / "before"
    shutil.copytree(base, before)
    after = tmp_path / "after"
    shutil.copytree(base, after)
    renames = drive(0, stage, run_dir=str(after), **args)
    want_before, want_after = state(before), state(after)
    assert want_before != want_after and renames >= 3
    seen = set()
    for kill_at in range(1, renames + 1):
        run = tmp_path / f"killed-{kill_at}"
        shutil.copytree(before, run)
        drive(kill_at, stage, run_dir=str(run), **args)
        folder = RunFolder(run)  # an interrupted record is carried out by the next opener
        for rel in folder.manifest["files"]:
            folder.checked(rel)  # nothing recorded is damaged
        now = state(run)
        assert now in (want_before, want_after), (case, kill_at)
        seen.add("after" if now == want_after else "before")
        getattr(g2rec, stage)(run, **args)  # run again: as if never interrupted
        assert state(run) == want_after, (case, kill_at)
        assert not leftovers(run), (case, kill_at, leftovers(run))
    assert seen == {"before", "after"}  # some kills came before the commit, some after it


def test_build_graph_killed_leaves_no_run_folder(tmp_path, shared_data):
    """A new run folder appears whole or not at all; with --overwrite the old one stays whole
    until the new one replaces it in one step."""
    reference = tmp_path / "reference"
    renames = drive(0, "build_graph", source=str(MOVIELENS), run_dir=str(reference))
    want = state(reference)
    for kill_at in range(1, renames + 1):
        run = tmp_path / f"new-{kill_at}"
        drive(kill_at, "build_graph", source=str(MOVIELENS), run_dir=str(run))
        assert state(run) in ({}, want), kill_at
        g2rec.build_graph(MOVIELENS, run, overwrite=run.exists())
        assert state(run) == want
        assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(f".{run.name}.")], kill_at
    old = tmp_path / "old"
    g2rec.build_graph(MOVIELENS, old, graph=GraphConfig(builder="window"))
    old_state = state(old)
    assert old_state != want
    over = tmp_path / "over"
    shutil.copytree(old, over)
    renames = drive(0, "build_graph", source=str(MOVIELENS), run_dir=str(over), overwrite=True)
    assert state(over) == want
    for kill_at in range(1, renames + 1):  # the last: the exchange that puts the new folder in place
        run = tmp_path / f"over-{kill_at}"
        shutil.copytree(old, run)
        drive(kill_at, "build_graph", source=str(MOVIELENS), run_dir=str(run), overwrite=True)
        assert state(run) in (old_state, want), kill_at
        g2rec.build_graph(MOVIELENS, run, overwrite=True)  # the next build sweeps what the killed one left
        assert state(run) == want
        assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(f".{run.name}.")], kill_at


def held(lock: Path) -> bool:
    """Whether some process holds a flock on the file ``lock`` (Linux: /proc/locks)."""
    if not lock.exists():
        return False
    inode = f":{lock.stat().st_ino} "
    return any("FLOCK" in line and inode in line for line in Path("/proc/locks").read_text().splitlines())


def test_a_second_writer_of_the_same_artifacts_is_refused(base, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(base, run)
    options = {"model": "sasrec", "name": "m", "epochs": 6, "patience": 6, "dim": 16, "max_len": 20, "threads": 1}
    first = subprocess.Popen([sys.executable, "-c", DRIVER, "0", "train", json.dumps({"run_dir": str(run), **options})],
                             cwd=Path(__file__).parents[1], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lock, deadline = run / ".model-m.lock", time.monotonic() + 120
        while not held(lock):
            assert first.poll() is None and time.monotonic() < deadline, "the first process never took its lock"
            time.sleep(0.05)
        with pytest.raises(G2RecError, match="another g2rec process is training, changing or evaluating the model 'm'"):
            g2rec.train(run, **{**options, "epochs": 1}, overwrite=True)
        assert first.poll() is None, "the first process ended before the second was refused: make it longer"
        # another artifact of the same run folder is written meanwhile, and both records survive
        g2rec.evaluate(run, model="popularity", split="valid")
        _, err = first.communicate(timeout=600)
        assert first.returncode == 0, err[-2000:]
    finally:
        if first.poll() is None:
            first.kill()
    folder = RunFolder(run)
    assert folder.manifest["stages"]["train"]["m"]["summary"]["epochs"] == 6
    assert "popularity/valid-full-ranking" in folder.manifest["stages"]["evaluate"]
    for rel in folder.manifest["files"]:
        folder.checked(rel)
    assert not held(lock) and not leftovers(run)
