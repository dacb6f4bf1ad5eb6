"""The ``tokenize`` stage: interest prototypes, profiles and semantic IDs of a run folder.

Reads the graph and item embeddings of earlier stages (:func:`g2rec.tokenize.tokens.find_tokens`
does the work) and writes ``RUN_DIR/tokenize/``:

* ``prototypes.npz``: ``idx`` ``(I, rho)`` int32 prototype ids (-1 = empty slot), ``val``
  ``(I, rho)`` float32 memberships (rows sum to 1), ``vectors`` ``V`` ``(C, d)`` float32,
  ``mass`` ``(C,)`` (``P^T 1``), ``leiden`` ``(I,)`` Leiden communities (-1 when not run);
* ``profiles.npy``: ``Y = P V`` ``(I, d)`` float32;
* ``sids.npz``: ``codes`` ``(I, L')`` int32 unique SIDs, ``raw_codes`` ``(I, L)`` before the
  collision level, ``vocab_sizes`` ``(L',)``, and ``codebooks`` ``(L, K, d)`` for residual k-means;
* ``sid_table.parquet``: ``item_index``, ``item_id`` (original id), ``sid`` ("12-7-201-0"),
  one column per level; ``trie.npz``: :class:`~g2rec.tokenize.trie.SIDTrie` arrays;
* ``report.json``: the report of :func:`~g2rec.tokenize.tokens.find_tokens`.

Everything is written into a temporary folder and moved into place when complete.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import write_json_atomic
from ..errors import ConfigError
from ..tokenize.item_info import load_item_info
from ..tokenize.tokens import TokenizeConfig, Tokens, find_tokens
from .embed import embed
from .runfolder import RunFolder

FOLDER = "tokenize"


def _embeddings(run: RunFolder, method: str, progress) -> np.ndarray:
    if method == "spectral" and not (run.path / "embeddings" / "spectral.npy").exists():
        embed(run.path, "spectral", evaluate=False, progress=progress)  # recorded as `g2rec embed` would
        run.manifest = RunFolder(run.path).manifest
    return run.embeddings(method)


def tokenize(run_dir, config: TokenizeConfig | None = None, progress=None, **options) -> dict:
    """Find interest prototypes and semantic IDs for a run folder (module docstring).

    Args:
        run_dir: a run folder made by ``build_graph`` (with ``embed`` outputs, or spectral
            embeddings are computed).
        config: a :class:`TokenizeConfig`, or pass its fields as ``**options``.
        progress: optional ``progress(stage, done, total)``.

    Returns:
        The summary, also recorded under ``stages.tokenize`` in the manifest: ``num_items``,
        ``num_prototypes``, ``modularity``, ``leiden_modularity``, ``levels``, ``codebook_size``,
        ``unresolved_collisions`` (always 0) and more.
    """
    names = {f.name for f in fields(TokenizeConfig)}
    unknown = sorted(set(options) - names)
    if unknown:
        raise ConfigError(f"unknown tokenize option(s): {', '.join(unknown)} (valid: {', '.join(sorted(names))})")
    config = config or TokenizeConfig(**{k: v for k, v in options.items() if v is not None})
    run = RunFolder(run_dir)
    with run.claimed(FOLDER, "tokenizing this run"):
        graph, seq = run.graph(), run.sequences()
        config = config.fitted(seq.num_items)
        x = _embeddings(run, config.embedding, progress)
        spectral = None
        if config.init == "spectral":
            spectral = x if config.embedding == "spectral" else _embeddings(run, "spectral", progress)
        info = load_item_info(run.manifest["stages"]["build-graph"]["input"].get("path"), seq.item_ids)
        tokens = find_tokens(graph, x, spectral, seq.item_ids, info, config, progress)
        with run.staging(FOLDER) as staged:
            files = _write(staged[FOLDER], tokens, seq.item_ids)
            run.record("tokenize", None, {"params": asdict(config), "summary": tokens.summary, "files": files},
                       files=files, forget=FOLDER, staged=staged)
        return tokens.summary


def _write(tmp: Path, tokens: Tokens, item_ids) -> list[str]:
    """Write the stage's files into the new folder ``tmp``; their paths as the run folder names them."""
    member, vectors, mass, base, profiles = tokens.member, tokens.vectors, tokens.mass, tokens.leiden, tokens.profiles
    sids, trie, report = tokens.sids, tokens.trie, tokens.report
    tmp.mkdir()
    idx = np.where(member.val.numpy() > 0, member.idx.numpy(), -1).astype(np.int32)
    np.savez(tmp / "prototypes.npz", idx=idx, val=member.val.numpy().astype(np.float32), vectors=vectors,
             mass=mass.astype(np.float32),
             leiden=base.labels if base is not None else np.full(len(idx), -1, dtype=np.int64))
    np.save(tmp / "profiles.npy", profiles, allow_pickle=False)
    extra = {"codebooks": sids.codebooks} if sids.codebooks is not None else {}
    np.savez(tmp / "sids.npz", codes=sids.codes.astype(np.int32), raw_codes=sids.raw_codes.astype(np.int32),
             vocab_sizes=sids.vocab_sizes, **extra)
    table = pd.DataFrame({"item_index": np.arange(len(item_ids)), "item_id": [str(i) for i in item_ids],
                          "sid": ["-".join(map(str, row)) for row in sids.codes.tolist()]})
    for level in range(sids.codes.shape[1]):
        table[f"level_{level + 1}"] = sids.codes[:, level].astype(np.int32)
    table.to_parquet(tmp / "sid_table.parquet", index=False)
    trie.save(tmp / "trie.npz")
    write_json_atomic(tmp / "report.json", report)
    return sorted(f"{FOLDER}/{f.name}" for f in tmp.iterdir())
