"""Item titles and categories/attributes beside a run's input log, for describing prototypes.

Found by the shared datasets' naming conventions next to the log that ``build-graph`` read:

* LC-Rec ``NAME.inter.json[.gz]`` -> ``NAME.item.json[.gz]``: titles, and the category path
  ``"Root,Level2,..."``; the label is the level-2 category (the root is shared by all).
* S3Rec ``NAME.txt[.gz]`` -> ``NAME_item2attributes.json[.gz]``: integer attribute ids
  (brand/category, names not included), several per item; no titles.
* MovieLens ``u.data`` -> ``u.item`` (titles, 19 genre flags) and ``u.genre`` (names).

Prototype purity against such labels (several per item allowed): for prototype c,
``purity_c = max_l sum_i P_ic [l in labels_i] / sum_i P_ic`` over labelled items, averaged
weighted by prototype mass; ``chance`` is the same with the labels shuffled over items.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp


@dataclass
class ItemInfo:
    """``titles``: per item index (None where unknown) or None; ``labels``: ``(I, n_labels)``
    binary CSR or None; ``label_names``; ``source``: the file read."""

    titles: list | None
    labels: sp.csr_matrix | None
    label_names: list
    source: str


def _open(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def _sibling(path: Path, old: str, new: str) -> Path | None:
    name = path.name
    for suffix in ("", ".gz"):
        if name.endswith(old + suffix):
            base = name[: len(name) - len(old + suffix)]
            for s in (".gz", ""):
                candidate = path.with_name(base + new + s)
                if candidate.exists():
                    return candidate
    return None


def _label_matrix(per_item: list[list[str]]) -> tuple[sp.csr_matrix, list]:
    names = sorted({label for labels in per_item for label in labels})
    index = {name: k for k, name in enumerate(names)}
    rows = [i for i, labels in enumerate(per_item) for _ in labels]
    cols = [index[label] for labels in per_item for label in labels]
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(per_item), len(names)))
    matrix.data[:] = 1.0
    return matrix, names


def load_item_info(log_path: str | Path | None, item_ids: np.ndarray) -> ItemInfo | None:
    """Titles and labels for the items (``item_ids``: original ids by item index), or None."""
    if log_path is None:
        return None
    path = Path(log_path)
    keys = [str(i) for i in item_ids]
    if (side := _sibling(path, ".inter.json", ".item.json")) is not None:
        with _open(side) as f:
            meta = json.load(f)
        rows = [meta.get(k, {}) for k in keys]
        titles = [r.get("title") for r in rows]
        cats = [[c.split(",")[1].strip()] if len(c.split(",")) > 1 else [] for c in (r.get("categories") or "" for r in rows)]
        labels, names = _label_matrix(cats)
        return ItemInfo(titles, labels, names, str(side))
    if (side := _sibling(path, ".txt", "_item2attributes.json")) is not None:
        with _open(side) as f:
            attrs = json.load(f)
        labels, names = _label_matrix([[str(a) for a in attrs.get(k, [])] for k in keys])
        return ItemInfo(None, labels, names, str(side))
    if path.name == "u.data" and (path.parent / "u.item").exists():
        genres = [line.split("|")[0] for line in (path.parent / "u.genre").read_text("latin-1").splitlines()
                  if line.strip()] if (path.parent / "u.genre").exists() else [str(k) for k in range(19)]
        meta = {}
        for line in (path.parent / "u.item").read_text("latin-1").splitlines():
            parts = line.split("|")
            if len(parts) >= 24:
                meta[parts[0]] = (parts[1], [genres[g] for g, flag in enumerate(parts[5:24]) if flag == "1"])
        rows = [meta.get(k, (None, [])) for k in keys]
        labels, names = _label_matrix([r[1] for r in rows])
        return ItemInfo([r[0] for r in rows], labels, names, str(path.parent / "u.item"))
    return None


def purity(membership: sp.csr_matrix, labels: sp.csr_matrix, seed: int = 0) -> dict:
    """Mass-weighted prototype purity against binary ``labels`` ``(I, n_labels)``, and the same
    with labels shuffled over items (``chance``), over items with at least one label."""
    has = np.asarray(labels.sum(1)).ravel() > 0
    if not has.any():
        return {}
    member, lab = membership.tocsr()[has], labels.tocsr()[has]

    def score(lab_matrix):
        counts = np.asarray((member.T @ lab_matrix).todense())  # (C, n_labels)
        return float(counts.max(1).sum() / member.sum())

    shuffled = lab[np.random.default_rng(seed).permutation(lab.shape[0])]
    return {"purity": round(score(lab), 4), "chance": round(score(shuffled), 4), "labelled_items": int(has.sum())}
