"""Public datasets by name (``g2rec datasets``; ``g2rec build-graph beauty -o RUN``).

Each name is one file of a public repository at a fixed commit, with the SHA-256 of its content
(of the uncompressed bytes: a gzip-compressed copy of the same file verifies too). A name is
looked up, in order, in ``$G2REC_DATA``, ``../shared/data`` and ``./shared/data`` (from the
working directory) and ``~/.cache/g2rec/datasets``, as the file's folder layout there
(``amazon2014_beauty/Beauty.txt.gz`` or the uncompressed ``Beauty.txt``). A copy is used only when
its checksum matches; when none is found the file is downloaded from its source into the cache,
if the source answers, and checked the same way.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError, G2RecError

RAW = "https://raw.githubusercontent.com"


@dataclass(frozen=True)
class Dataset:
    """A named public log: ``path`` inside a data folder, the reader ``format``, the ``url`` of its
    source file and the ``sha256`` of its uncompressed content."""

    name: str
    description: str
    path: str
    format: str
    url: str
    sha256: str


DATASETS = {d.name: d for d in (
    Dataset("beauty", "Amazon 2014 Beauty 5-core, S3Rec version: 22,363 users, 12,101 items, 198,502 interactions",
            "amazon2014_beauty/Beauty.txt", "s3rec",
            f"{RAW}/aHuiWang/CIKM2020-S3Rec/49a890dcb516c9ed3126564495234ea74d5cd566/data/Beauty.txt",
            "226cce9c3105299ca0db9615d7d3fb32b3175e90da43100ae352599f0f0107b8"),
    Dataset("toys", "Amazon 2014 Toys and Games 5-core, S3Rec version: 19,412 users, 11,924 items, 167,597 interactions",
            "amazon2014_toys/Toys_and_Games.txt", "s3rec",
            f"{RAW}/aHuiWang/CIKM2020-S3Rec/49a890dcb516c9ed3126564495234ea74d5cd566/data/Toys_and_Games.txt",
            "176c680c688d497598c4a89a03b402c0fe78d795e5db335c2e78dd5f2d778a3f"),
    Dataset("scientific", "Amazon 2018 Industrial and Scientific, LC-Rec version: 8,317 users, 4,344 items, 58,492 interactions",
            "amazon2018_scientific/Scientific.inter.json", "lcrec",
            f"{RAW}/Nishikata97/CollisionGenRec/505d5be3166f7c38ae67957daf8a3b7ec7092577/data/Scientific/Scientific.inter.json",
            "32c6c01876ebecebdfabd2dbd358594be36655e9e7b168772a7a3aa3624ee1b4"),
    Dataset("ml-100k", "MovieLens 100K ratings (GroupLens): 943 users, 1,682 items, 100,000 ratings",
            "movielens_100k/u.data", "movielens",
            f"{RAW}/stathischaritos/targetgroups/53b1bcd11357ac165563a16b1fa9f645f22ed09e/ml-100k/u.data",
            "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490"),
)}


def data_folders() -> list[Path]:
    """Where named datasets are looked for, in order."""
    folders = [Path(os.environ["G2REC_DATA"])] if os.environ.get("G2REC_DATA") else []
    return folders + [Path.cwd().parent / "shared" / "data", Path.cwd() / "shared" / "data",
                      Path.home() / ".cache" / "g2rec" / "datasets"]


def content_sha256(path: Path) -> str:
    """SHA-256 of a file's content, uncompressed when it is gzip-compressed."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    with (gzip.open(path, "rb") if gzipped else open(path, "rb")) as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def local_copy(dataset: Dataset) -> Path | None:
    """The first verified local copy of ``dataset``; a copy whose checksum differs is an error."""
    for folder in data_folders():
        for path in (folder / f"{dataset.path}.gz", folder / dataset.path):
            if path.is_file():
                if content_sha256(path) != dataset.sha256:
                    raise DataError(f"checksum differs from {dataset.name}'s {dataset.sha256[:12]}...: a damaged or "
                                    f"other copy; remove it to download the source", path=path)
                return path
    return None


def dataset_path(name: str, download: bool = True) -> Path:
    """The verified file of the dataset ``name``: a local copy, or (``download``) its source
    downloaded into ``~/.cache/g2rec/datasets``; one clear line when neither is possible."""
    if name not in DATASETS:
        raise G2RecError(f"no dataset named {name!r} (named datasets: {', '.join(DATASETS)})")
    dataset = DATASETS[name]
    found = local_copy(dataset)
    if found is not None:
        return found
    target = Path.home() / ".cache" / "g2rec" / "datasets" / dataset.path
    where = ", ".join(str(f) for f in data_folders())
    if not download:
        raise G2RecError(f"dataset {name!r} is not here (looked in {where})")
    try:
        with urllib.request.urlopen(dataset.url, timeout=30) as response:
            content = response.read()
    except OSError as e:
        raise G2RecError(f"dataset {name!r} is not here (looked in {where}) and its source did not answer "
                         f"({dataset.url}: {e})") from None
    if hashlib.sha256(content).hexdigest() != dataset.sha256:
        raise G2RecError(f"dataset {name!r}: the download from {dataset.url} does not have the expected checksum")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, target)
    return target


def list_datasets() -> list[dict]:
    """Every named dataset with its source, checksum and verified local copy (None when not here)."""
    rows = []
    for d in DATASETS.values():
        try:
            local = local_copy(d)
        except DataError as e:
            local = f"checksum mismatch: {e}"
        rows.append({"name": d.name, "description": d.description, "format": d.format, "source": d.url,
                     "sha256": d.sha256, "local": None if local is None else str(local)})
    return rows
