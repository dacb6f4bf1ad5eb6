"""Guess a log's format from its name and first lines (``--format auto``)."""

from __future__ import annotations

from pathlib import Path

from ..errors import DataError
from .tables import open_text

ONCHAIN_MARKERS = ({"from_address", "to_address"}, {"from", "to", "txhash"})


def sniff_format(path: Path) -> str:
    """Return one of the reader formats for ``path``; see ``readers.FORMATS``."""
    name = path.name.lower()
    for suffix in (".gz",):
        name = name.removesuffix(suffix)
    if name.endswith(".parquet") or name.endswith(".pq"):
        return "parquet"
    if name in ("u.data", "ratings.dat"):
        return "movielens"
    if name.endswith(".jsonl") or name.endswith(".ndjson"):
        return "jsonl"
    try:
        with open_text(path) as f:
            head = [f.readline() for _ in range(20)]
    except OSError as e:
        raise DataError(f"cannot read: {e}", path=path) from None
    head = [h.rstrip("\n") for h in head if h.strip()]
    if not head:
        raise DataError("file is empty", path=path)
    first = head[0].lstrip()
    if first.startswith("{"):
        return "jsonl" if first.rstrip().endswith("}") and len(head) > 1 else "lcrec"
    if all(len(h.split("\t")) == 4 and _all_ints(h.split("\t")) for h in head):
        return "movielens"
    if all(_all_ints(h.partition("\t")[0].split()) for h in head):
        return "s3rec"
    header = {c.strip().strip('"').lower() for c in first.replace("\t", ",").replace(";", ",").split(",")}
    if any(m <= header for m in ONCHAIN_MARKERS):
        return "onchain"
    if name.endswith(".tsv") or ("\t" in first and "," not in first):
        return "tsv"
    return "csv"


def _all_ints(tokens) -> bool:
    return len(tokens) >= 2 and all(t.isdigit() for t in tokens)
