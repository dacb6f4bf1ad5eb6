"""Files written so that a reader never sees half of one: a temporary file, then a rename.

Every temporary name carries the writing process's id (``.NAME.PID-RANDOM.tmp``), so that what a
killed process left behind is told apart from what a live one is still writing, and swept away
(:func:`sweep_stale`) by the next process that writes there.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
from pathlib import Path

import numpy as np

STALE = re.compile(r"\..+\.(\d+)-[0-9a-f]+\.(tmp|partial|old)")  # what temp_path names


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def temp_path(path: Path, kind: str = "tmp") -> Path:
    """A fresh hidden name beside ``path`` (``.NAME.PID-RANDOM.KIND``) owned by this process;
    ``kind`` is ``tmp`` (a file or folder being written), ``partial`` (a run folder being
    built) or ``old`` (a folder being replaced)."""
    path = Path(path)
    return path.parent / f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.{kind}"


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def sweep_stale(folder: Path, prefix: str = ".") -> None:
    """Remove the temporary files and folders in ``folder`` (names starting with ``prefix``)
    that a process no longer running left behind."""
    for entry in Path(folder).iterdir() if Path(folder).is_dir() else ():
        match = STALE.fullmatch(entry.name)
        if match and entry.name.startswith(prefix) and not process_alive(int(match.group(1))):
            remove(entry)


def remove(path: Path) -> None:
    """Remove a file or a folder, whichever ``path`` is (nothing when it is not there)."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def replace_folder(new: Path, target: Path) -> None:
    """Put the folder ``new`` at ``target`` (a folder or nothing): the old one is renamed aside,
    the new one renamed in, the old one removed. Killed in between, ``new`` is still there to
    rename again and the old one is a stale ``.old`` for :func:`sweep_stale`."""
    if Path(target).exists():
        old = temp_path(target, "old")
        os.replace(target, old)
        os.replace(new, target)
        remove(old)
    else:
        os.replace(new, target)


def write_json_atomic(path: Path, obj) -> None:
    """Write JSON to ``path`` through a temporary file and a rename, so readers never see half a file."""
    path = Path(path)
    tmp = temp_path(path)
    try:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=2, sort_keys=False, default=_json_default)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_npy_atomic(path: Path, array: np.ndarray) -> Path:
    """``np.save`` of ``array`` to ``path`` (no pickle) through a temporary file and a rename."""
    path = Path(path)
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as f:
            np.save(f, array, allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def link_or_copy(source: Path, target: Path) -> None:
    """``target`` as a hard link to ``source`` (files here are replaced by renames, never changed
    in place, so sharing one is safe), or a copy where links are not possible."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")
