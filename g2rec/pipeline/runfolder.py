"""The run folder: the one place g2rec reads and writes stage artifacts.

``manifest.json`` records, per stage, its input, parameters, summary and files; every file goes
in through a temporary file or folder and a rename, so a failed stage leaves nothing half-written.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..atomic import write_json_atomic
from ..data.sequences import Sequences
from ..errors import G2RecError

MANIFEST = "manifest.json"
GRAPH_FILE = "graph.npz"


def read_manifest(run_dir: Path) -> dict:
    path = Path(run_dir) / MANIFEST
    if not path.exists():
        return {}
    return json.loads(path.read_text())


@contextmanager
def staged_run_dir(run_dir: Path, overwrite: bool = False):
    """Yield a temporary folder beside ``run_dir``; on success it becomes ``run_dir``.

    On any error the temporary folder is removed and ``run_dir`` is left as it was,
    so a failed stage never leaves half-written artifacts.
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and any(run_dir.iterdir()) and not overwrite:
        raise G2RecError(f"{run_dir}: run folder exists and is not empty (pass --overwrite to replace it)")
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=run_dir.parent, prefix=f".{run_dir.name}.", suffix=".partial"))
    tmp.chmod(0o755)
    try:
        yield tmp
        if run_dir.exists():
            old = run_dir.with_name(f".{run_dir.name}.old-{os.getpid()}")
            os.replace(run_dir, old)
            os.replace(tmp, run_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, run_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


class RunFolder:
    """A run folder made by ``g2rec build-graph`` (and grown by later stages)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        manifest = self.path / MANIFEST
        if not manifest.exists():
            raise G2RecError(f"{self.path}: not a run folder (no {MANIFEST}; run `g2rec build-graph` first)")
        try:
            self.manifest = json.loads(manifest.read_text())
        except json.JSONDecodeError as e:
            raise G2RecError(f"{manifest}: corrupt manifest ({e.msg} at line {e.lineno})") from None
        if "build-graph" not in self.manifest.get("stages", {}):
            raise G2RecError(f"{self.path}: no build-graph stage in {MANIFEST}; run `g2rec build-graph` first")

    def require(self, *names: str) -> None:
        missing = [n for n in names if not (self.path / n).exists()]
        if missing:
            raise G2RecError(f"{self.path}: missing {', '.join(missing)} (incomplete run folder; rebuild it)")

    def sequences(self) -> Sequences:
        self.require("sequences.npz", "user_ids.parquet", "item_ids.parquet")
        seq = Sequences.load(self.path)
        expected = self.manifest["stages"]["build-graph"]["summary"]
        if (seq.num_users, seq.num_items, seq.num_interactions) != (
                expected["num_users"], expected["num_items"], expected["num_interactions"]):
            raise G2RecError(f"{self.path}: sequences do not match the manifest's counts (mixed run folders?)")
        return seq

    def graph(self) -> sp.csr_matrix:
        self.require(GRAPH_FILE)
        graph = sp.load_npz(self.path / GRAPH_FILE).tocsr()
        n = self.num_items
        if graph.shape != (n, n):
            raise G2RecError(f"{self.path}/graph.npz: shape {graph.shape} does not match {n} items in the manifest")
        return graph

    def embeddings(self, method: str) -> np.ndarray:
        """The ``(I, d)`` float32 item embeddings written by ``g2rec embed --method METHOD``."""
        path = self.path / "embeddings" / f"{method}.npy"
        if not path.exists():
            done = sorted(self.manifest.get("stages", {}).get("embed", {}))
            raise G2RecError(f"{self.path}: no '{method}' embeddings (run `g2rec embed {self.path} --method {method}`;"
                             f" available: {', '.join(done) or 'none'})")
        vectors = np.load(path, allow_pickle=False)
        n = self.num_items
        if vectors.ndim != 2 or vectors.shape[0] != n:
            raise G2RecError(f"{path}: shape {vectors.shape} does not match {n} items")
        return vectors

    @property
    def num_items(self) -> int:
        return self.manifest["stages"]["build-graph"]["summary"]["num_items"]

    @property
    def input_path(self) -> Path | None:
        """The log this run was built from (None when built from an in-memory log)."""
        path = self.manifest["stages"]["build-graph"]["input"].get("path")
        return Path(path) if path else None

    def model_folder(self, name: str) -> Path:
        return self.path / "models" / name

    def record(self, stage: str, key: str | None, entry: dict) -> None:
        """Store a stage's entry (under ``stages[stage][key]`` when ``key`` is given) atomically.

        The manifest is re-read under an exclusive lock first, so processes working on the same
        run folder at once (two trainings, an embedding beside a training) keep each other's
        entries: writing back the copy loaded at start lost them."""
        with open(self.path / ".manifest.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.manifest = json.loads((self.path / MANIFEST).read_text())
            self._store(stage, key, entry)

    def _store(self, stage: str, key: str | None, entry: dict) -> None:
        stages = self.manifest.setdefault("stages", {})
        if key is None:
            stages[stage] = entry
        else:
            stages.setdefault(stage, {})[key] = entry
        write_json_atomic(self.path / MANIFEST, self.manifest)
