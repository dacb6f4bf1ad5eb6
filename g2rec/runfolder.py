"""Reading a run folder: what earlier stages wrote, checked before a later stage uses it."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .data.sequences import Sequences
from .errors import G2RecError
from .runinfo import MANIFEST, write_json_atomic


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
        self.require("graph.npz")
        graph = sp.load_npz(self.path / "graph.npz").tocsr()
        n = self.manifest["stages"]["build-graph"]["summary"]["num_items"]
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
        n = self.manifest["stages"]["build-graph"]["summary"]["num_items"]
        if vectors.ndim != 2 or vectors.shape[0] != n:
            raise G2RecError(f"{path}: shape {vectors.shape} does not match {n} items")
        return vectors

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
