"""The run folder: the one place g2rec reads and writes stage artifacts.

``manifest.json`` records, per stage, its input, parameters and summary, and under ``files``
the size and SHA-256 of every artifact a stage wrote; every file goes in through a temporary
file or folder and a rename, so a failed or killed stage leaves nothing half-written. Readers go
through :meth:`RunFolder.load`, which checks a file against its record and turns a truncated,
changed or unreadable one into one line naming the file, the stage that wrote it and the
command that rebuilds it.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..atomic import file_sha256, write_json_atomic
from ..data.sequences import Sequences, load_ids
from ..errors import G2RecError

MANIFEST = "manifest.json"
GRAPH_FILE = "graph.npz"
COUNTS = ("num_users", "num_items", "num_interactions")
SEQUENCE_FILES = ("sequences.npz", "user_ids.parquet", "item_ids.parquet")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")  # a model name: one plain folder name


def fingerprint(path: Path) -> dict:
    """What the manifest records of a written file: ``{"bytes": size, "sha256": hex}``."""
    return {"bytes": Path(path).stat().st_size, "sha256": file_sha256(path)}


def check_name(name: str, what: str = "model name") -> str:
    """``name`` when it is one plain folder name (letters, digits, ``. _ + -``, not starting with
    a dot), so that no name writes outside the run folder; else a one-line error."""
    if not isinstance(name, str) or not NAME.fullmatch(name) or ".." in name:
        raise G2RecError(f"{what} {name!r}: use letters, digits and . _ + - (a plain folder name, "
                         f"not a path, at most 128 characters)")
    return name


def read_manifest(run_dir: Path) -> dict:
    path = Path(run_dir) / MANIFEST
    return read_manifest_file(path) if path.exists() else {}


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
        self.manifest = read_manifest_file(manifest)
        self._verified: set = set()
        summary = self.manifest.get("stages", {}).get("build-graph", {}).get("summary")
        if not isinstance(summary, dict) or not all(isinstance(summary.get(k), int) for k in COUNTS):
            raise G2RecError(f"{self.path}: no build-graph stage in {MANIFEST}; run `g2rec build-graph` first")

    def require(self, *names: str) -> None:
        missing = [n for n in names if not (self.path / n).exists()]
        if missing:
            raise G2RecError(f"{self.path}: missing {', '.join(missing)} (incomplete run folder; "
                             f"rebuild it with `{self.rebuild_command(missing[0])}`)")

    # --- checked reading ----------------------------------------------------------------
    def rebuild_command(self, rel: str) -> str:
        """The command that writes the artifact ``rel`` (a path inside the run folder) again."""
        parts = Path(rel).parts
        if parts[0] == "embeddings":
            return f"g2rec embed {self.path} --method {Path(rel).stem}"
        if parts[0] == "tokenize":
            return f"g2rec tokenize {self.path}"
        if parts[0] == "models" and len(parts) > 1:
            return f"g2rec train {self.path} --name {parts[1]} --overwrite (with the options it was trained with)"
        source = self.manifest.get("stages", {}).get("build-graph", {}).get("input", {}).get("path") or "LOG"
        return f"g2rec build-graph {source} -o {self.path} --overwrite"

    def damaged(self, rel: str, why: str) -> G2RecError:
        """The one-line error for a damaged artifact ``rel``."""
        stage = self.manifest.get("files", {}).get(rel, {}).get("stage")
        by = f" (written by {stage})" if stage else ""
        return G2RecError(f"{self.path / rel}: damaged artifact{by}: {why}; rebuild it with `{self.rebuild_command(rel)}`")

    def checked(self, rel: str) -> Path:
        """The path of artifact ``rel``, after checking it against the size and SHA-256 the
        manifest recorded when it was written (files written before the manifest kept them are
        only checked when read)."""
        path = self.path / rel
        if not path.is_file():
            raise G2RecError(f"{path}: missing (run `{self.rebuild_command(rel)}`)")
        want = self.manifest.get("files", {}).get(rel)
        if want is None:
            return path
        size = path.stat().st_size
        if size != want["bytes"]:
            raise self.damaged(rel, f"{size:,} bytes where {want['bytes']:,} were written (truncated or overwritten)")
        key = (rel, size, path.stat().st_mtime_ns)
        if key not in self._verified:
            if file_sha256(path) != want["sha256"]:
                raise self.damaged(rel, "its SHA-256 differs from the one recorded when it was written (changed since)")
            self._verified.add(key)
        return path

    def load(self, rel: str, reader):
        """``reader(path)`` of the checked artifact ``rel``; anything that goes wrong reading it
        (a garbage file, a missing array, a wrong shape found by ``reader``) becomes
        :meth:`damaged`'s one line."""
        path = self.checked(rel)
        try:
            return reader(path)
        except G2RecError:
            raise
        except Exception as e:  # noqa: BLE001 - any failure to parse a file means the file is damaged
            message = " ".join(str(e).split())[:160] or "no detail"
            raise self.damaged(rel, f"unreadable ({type(e).__name__}: {message})") from None

    def load_npz(self, rel: str, keys: tuple[str, ...] | None = None) -> dict:
        """The arrays of the ``.npz`` artifact ``rel`` (no pickle), all of ``keys`` required."""
        def read(path):
            with np.load(path, allow_pickle=False) as z:
                missing = [k for k in keys or () if k not in z.files]
                if missing:
                    raise ValueError(f"no array {', '.join(missing)}")
                return {k: z[k] for k in z.files}
        return self.load(rel, read)

    def load_json(self, rel: str) -> dict:
        return self.load(rel, lambda path: json.loads(path.read_text()))

    def sequences(self) -> Sequences:
        self.require(*SEQUENCE_FILES)
        arrays = self.load_npz("sequences.npz", ("offsets", "items", "times", "split"))
        users, items = (self.load(name, load_ids) for name in SEQUENCE_FILES[1:])
        try:
            seq = Sequences(users, items, **{k: arrays[k] for k in ("offsets", "items", "times", "split")}).check()
        except (ValueError, TypeError, IndexError) as e:
            raise self.damaged("sequences.npz", f"inconsistent arrays ({e})") from None
        expected = self.manifest["stages"]["build-graph"]["summary"]
        if (seq.num_users, seq.num_items, seq.num_interactions) != (
                expected["num_users"], expected["num_items"], expected["num_interactions"]):
            raise G2RecError(f"{self.path}: sequences do not match the manifest's counts (mixed run folders?)")
        return seq

    def graph(self) -> sp.csr_matrix:
        self.require(GRAPH_FILE)
        graph = self.load(GRAPH_FILE, lambda path: sp.load_npz(path).tocsr())
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
        rel = f"embeddings/{method}.npy"
        vectors = self.load(rel, lambda p: np.load(p, allow_pickle=False))
        n = self.num_items
        if vectors.ndim != 2 or vectors.shape[0] != n or not np.issubdtype(vectors.dtype, np.floating):
            raise self.damaged(rel, f"{vectors.dtype} array of shape {vectors.shape} where ({n}, d) floats belong")
        return vectors

    @property
    def num_items(self) -> int:
        return self.manifest["stages"]["build-graph"]["summary"]["num_items"]

    @property
    def input_path(self) -> Path | None:
        """The log this run was built from (None when built from an in-memory log)."""
        path = self.manifest["stages"]["build-graph"]["input"].get("path")
        return Path(path) if path else None

    @contextmanager
    def locked(self, what: str):
        """Hold the run folder's exclusive lock ``what`` (one per kind of shared file) while inside."""
        with open(self.path / f".{what}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def model_folder(self, name: str) -> Path:
        return self.path / "models" / check_name(name)

    def record(self, stage: str, key: str | None, entry: dict | None, files=(), forget: str | None = None) -> None:
        """Store a stage's entry (under ``stages[stage][key]`` when ``key`` is given) atomically,
        with the fingerprints of the ``files`` (paths inside the run folder) it wrote; ``forget``:
        a folder (``models/NAME``) whose earlier records go first. ``entry`` None records files only.

        The manifest is re-read under an exclusive lock first, so processes working on the same
        run folder at once (two trainings, an embedding beside a training) keep each other's
        entries: writing back the copy loaded at start lost them."""
        with self.locked("manifest"):
            self.manifest = read_manifest_file(self.path / MANIFEST)
            table = self.manifest.setdefault("files", {})
            if forget:
                for rel in [r for r in table if r.startswith(forget.rstrip("/") + "/")]:
                    del table[rel]
            label = stage if key is None else f"{stage} {key}"
            for rel in files:
                table[rel] = {**fingerprint(self.path / rel), "stage": label}
            if entry is not None:
                stages = self.manifest.setdefault("stages", {})
                if key is None:
                    stages[stage] = entry
                else:
                    stages.setdefault(stage, {})[key] = entry
            write_json_atomic(self.path / MANIFEST, self.manifest)


def read_manifest_file(path: Path) -> dict:
    """The manifest at ``path``, or a one-line error when it is not readable JSON."""
    try:
        manifest = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise G2RecError(f"{path}: corrupt manifest ({' '.join(str(e).split())[:120]}); rebuild the run folder "
                         f"with `g2rec build-graph LOG -o {Path(path).parent} --overwrite`") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("stages", {}), dict):
        raise G2RecError(f"{path}: corrupt manifest (not a g2rec manifest); rebuild the run folder "
                         f"with `g2rec build-graph LOG -o {Path(path).parent} --overwrite`")
    return manifest
