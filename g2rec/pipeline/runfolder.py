"""The run folder: the one place g2rec reads and writes stage artifacts.

``manifest.json`` records, per stage, its input, parameters and summary, and under ``files``
the size and SHA-256 of every artifact a stage wrote. Readers go through :meth:`RunFolder.load`,
which checks a file against its record and turns a truncated, changed or unreadable one into one
line naming the file, the stage that wrote it and the command that rebuilds it.

Writing is all or nothing. A stage writes its artifacts under temporary names
(:func:`g2rec.atomic.temp_path`) and hands them to :meth:`RunFolder.record`, which first writes a
journal (``.commit.json``: the renames and the new manifest), then renames, then writes the
manifest and removes the journal. A process killed at any moment leaves either the folder as it
was or a journal, which the next process to open the folder carries out; what the killed process
had not handed over yet is swept away. A stage holds its own lock (:meth:`RunFolder.claimed`) on
what it writes, so two processes never write the same artifact, and the manifest's lock
serialises their records.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import re
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..atomic import file_sha256, remove, replace_folder, sweep_stale, temp_path, write_json_atomic
from ..data.sequences import Sequences, load_ids
from ..errors import G2RecError

MANIFEST = "manifest.json"
JOURNAL = ".commit.json"  # a record being carried out: its renames and the manifest after them
GRAPH_FILE = "graph.npz"
COUNTS = ("num_users", "num_items", "num_interactions")
SEQUENCE_FILES = ("sequences.npz", "user_ids.parquet", "item_ids.parquet")
HELD: set[Path] = set()  # the stage locks this process holds (see exclusive)
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
def exclusive(lock_path: Path, busy: str, unlink: bool = False, shared: bool = False):
    """Hold an exclusive lock on the file ``lock_path`` while inside, or fail at once with
    ``busy`` (another process holds it). ``unlink``: remove the lock file on leaving (the lock
    is then taken again if the file was replaced while waiting for it). ``shared``: a shared
    lock instead, which many readers hold together and an exclusive holder excludes."""
    lock_path = Path(lock_path).absolute()
    if lock_path in HELD:  # this process holds it already (a stage that runs another, e.g. train's prior search)
        yield
        return
    while True:
        lock = open(lock_path, "a")  # noqa: SIM115 - held open across the yield below
        try:
            fcntl.flock(lock, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise G2RecError(busy) from None
        try:
            same = os.path.samestat(os.fstat(lock.fileno()), os.stat(lock_path))
        except FileNotFoundError:
            same = False
        if same:
            break
        lock.close()  # a holder removed it between our open and our lock: take the new file's
    HELD.add(lock_path)
    try:
        yield
    finally:
        HELD.discard(lock_path)
        if unlink:
            Path(lock_path).unlink(missing_ok=True)
        lock.close()


@contextmanager
def staged_run_dir(run_dir: Path, overwrite: bool = False):
    """Yield a temporary folder beside ``run_dir``; on success it becomes ``run_dir``.

    On any error the temporary folder is removed and ``run_dir`` is left as it was; a process
    killed while building leaves a ``.NAME.PID-*.partial`` folder that the next build of that
    name removes. ``--overwrite`` swaps the new folder in with one atomic exchange where the
    system has one (Linux ``renameat2``), so no moment has no run folder. Only one process
    builds a given run folder at a time.
    """
    run_dir = Path(run_dir)
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(run_dir.parent / f".{run_dir.name}.lock",
                   f"{run_dir}: another g2rec process is building this run folder; wait for it to end", unlink=True):
        sweep_stale(run_dir.parent, prefix=f".{run_dir.name}.")
        if run_dir.exists() and any(run_dir.iterdir()) and not overwrite:
            raise G2RecError(f"{run_dir}: run folder exists and is not empty (pass --overwrite to replace it)")
        tmp = temp_path(run_dir, "partial")
        tmp.mkdir()
        try:
            yield tmp
            if run_dir.exists() and exchange(tmp, run_dir):
                remove(tmp)  # now the old folder
            else:
                replace_folder(tmp, run_dir)
        except BaseException:
            remove(tmp)
            raise


def exchange(a: Path, b: Path) -> bool:
    """Swap the paths ``a`` and ``b`` in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``);
    False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        at_fdcwd, rename_exchange = -100, 2
        return libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0
    except (OSError, AttributeError):
        return False


class RunFolder:
    """A run folder made by ``g2rec build-graph`` (and grown by later stages)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        manifest = self.path / MANIFEST
        if not manifest.exists():
            raise G2RecError(f"{self.path}: not a run folder (no {MANIFEST}; run `g2rec build-graph` first)")
        if (self.path / JOURNAL).exists():  # a record a killed process began: carry it out first
            with self.locked("manifest"):
                self._finish_journal()
        self.manifest = read_manifest_file(manifest)
        self._verified: set = set()
        self.read: dict[str, str] = {}  # artifact -> the SHA-256 it was checked against, as read by this object
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
        self.read[rel] = want["sha256"]
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
            seq = Sequences(users, items, **{k: arrays[k] for k in ("offsets", "items", "times", "split", "pages")
                                             if k in arrays}).check()
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

    def claimed(self, what: str, doing: str, shared: bool = False):
        """Hold the lock ``what`` for a whole stage (``model-NAME``, ``embed-METHOD``,
        ``tokenize``) so that no second process writes the same artifacts meanwhile; the second
        fails at once with one line saying what the first is ``doing``. ``shared``: a reader's
        claim (``evaluate``), held beside other readers but never beside a writer."""
        return exclusive(self.path / f".{what}.lock", f"{self.path}: another g2rec process is {doing}; "
                                                       "wait for it to end (or write under another name)", shared=shared)

    def model_claim(self, name: str, reader: bool = False):
        """:meth:`claimed` for the model ``name``: a writer's (``train``, ``tune-prior``,
        ``align``), refused beside any other claim, or a reader's (``evaluate``), refused only
        beside a writer's."""
        doing = "training or changing" if reader else "training, changing or evaluating"
        return self.claimed(f"model-{name}", f"{doing} the model '{name}'", shared=reader)

    def model_folder(self, name: str) -> Path:
        return self.path / "models" / check_name(name)

    @contextmanager
    def staging(self, *rels: str):
        """Temporary paths (``{rel: path}``, hidden in the run folder) to write new versions
        of the artifacts to and hand to :meth:`record` as ``staged``; removed if anything fails
        before they are recorded."""
        # in the run folder itself: a killed writer leaves no new subfolder, and one sweep removes its files
        paths = {rel: temp_path(self.path / Path(rel).name) for rel in rels}
        try:
            yield paths
        except BaseException:
            for path in paths.values():
                remove(path)
            raise

    def record(self, stage: str, key: str | None, entry: dict | None, files=(), forget: str | None = None,
               staged: dict[str, Path] | None = None) -> None:
        """Store a stage's entry (under ``stages[stage][key]`` when ``key`` is given) with the
        fingerprints of the ``files`` (paths inside the run folder) it wrote, as one step:
        ``staged`` maps artifacts (a file, or a folder such as ``tokenize``) to the temporary
        paths (:meth:`staging`) holding their new versions, which are renamed into place together
        with the manifest's update through the journal. ``forget``: a folder (``models/NAME``)
        whose earlier records go first. ``entry`` None records files only.

        The manifest is re-read under an exclusive lock first, so processes working on the same
        run folder at once (two trainings, an embedding beside a training) keep each other's
        entries."""
        staged = {rel: Path(tmp) for rel, tmp in (staged or {}).items()}
        with self.locked("manifest"):
            self._finish_journal()
            sweep_stale(self.path)  # what killed writers left
            manifest = read_manifest_file(self.path / MANIFEST)
            table = manifest.setdefault("files", {})
            if forget:
                for rel in [r for r in table if r.startswith(forget.rstrip("/") + "/")]:
                    del table[rel]
            label = stage if key is None else f"{stage} {key}"
            for rel in files:
                table[rel] = {**fingerprint(self._source(rel, staged)), "stage": label}
            if entry is not None:
                stages = manifest.setdefault("stages", {})
                if key is None:
                    stages[stage] = entry
                else:
                    stages.setdefault(stage, {})[key] = entry
            if staged:
                moves = [[str(tmp.relative_to(self.path)), rel] for rel, tmp in staged.items()]
                write_json_atomic(self.path / JOURNAL, {"moves": moves, "manifest": manifest})
                self._finish_journal()
            else:
                write_json_atomic(self.path / MANIFEST, manifest)
            self.manifest = manifest

    def _source(self, rel: str, staged: dict[str, Path]) -> Path:
        """Where artifact ``rel`` is now: inside its staged file or folder, else in place."""
        for path in (Path(rel), *Path(rel).parents):
            if str(path) in staged:
                return staged[str(path)] / Path(rel).relative_to(path)
        return self.path / rel

    def _finish_journal(self) -> None:
        """Carry out the journal's renames and manifest (call with the manifest lock held): the
        record of a process killed half way through it, or this process's own."""
        journal = self.path / JOURNAL
        if not journal.exists():
            return
        try:
            plan = json.loads(journal.read_text())
            moves, manifest = plan["moves"], plan["manifest"]
        except (OSError, ValueError, KeyError, TypeError):  # written atomically, so never half: foreign
            raise G2RecError(f"{journal}: unreadable journal of an interrupted stage; remove it and rerun that stage") from None
        for tmp, rel in moves:
            source, target = self.path / tmp, self.path / rel
            if not source.exists():
                continue  # moved before the interruption
            target.parent.mkdir(parents=True, exist_ok=True)
            (replace_folder if source.is_dir() else os.replace)(source, target)
        write_json_atomic(self.path / MANIFEST, manifest)
        journal.unlink()


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
