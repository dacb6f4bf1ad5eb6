"""Reading the interest context that ``g2rec tokenize`` wrote, for the generator.

Artifacts (``RUN_DIR/tokenize/``, see :mod:`g2rec.pipeline.tokenize`): ``prototypes.npz``
(``idx``, ``val``: each item's ``(I, rho)`` row of the membership P, ``-1`` = empty slot;
``vectors``: ``V`` ``(C, d)``), ``profiles.npy`` (``(I, d)`` profiles ``y_i = P_i V``) and
``sids.npz`` (``codes``/``vocab_sizes``: prototype-supervised semantic IDs).

TIGER-style baselines use *plain* codes instead: residual k-means of graph-free item
embeddings (``sasrec`` by default) with no prototype supervision, computed by
:func:`plain_codes` and kept in the model's folder as ``codes.npz`` with the fingerprint of
what made them (a fresh training remakes them only when that changed), the vectors they
quantized and the residual codebooks (:func:`plain_code_space`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from ..errors import G2RecError
from ..model.generator import InterestContext
from ..tokenize.semantic_ids import SemanticIDConfig, semantic_ids
from .runfolder import RunFolder
from .tokenize import FOLDER as TOKENS


def _load(run: RunFolder, name: str, keys: tuple[str, ...]) -> dict:
    if not (run.path / TOKENS / name).exists():
        raise G2RecError(f"{run.path}: missing {TOKENS}/{name} (run `g2rec tokenize {run.path}` first)")
    return run.load_npz(f"{TOKENS}/{name}", keys)


def plain_codes(run: RunFolder, folder: Path, embedding: str = "sasrec", levels: int = 3, codebook_size: int = 256,
                seed: int = 0, fresh: bool = False, method: str = "rkmeans") -> tuple[np.ndarray, tuple[int, ...]]:
    """Unsupervised SIDs of ``embedding`` (``method`` rkmeans: residual k-means; rqvae: TIGER's
    RQ-VAE), cached in ``folder/codes.npz``.

    The cache is what a trained model was trained with, so it is read as it is, except for
    ``fresh`` (a new training): then codes made from other vectors or options are made again.
    """
    path = Path(folder) / "codes.npz"
    if not fresh and not path.exists():  # a trained model's codes are part of it: never remade behind its back
        raise G2RecError(f"{path}: missing (the semantic IDs this model was trained with); train it again with "
                         f"`g2rec train {run.path} --name {Path(folder).name} --overwrite`")
    x = None if path.exists() and not fresh else run.embeddings(embedding)
    fingerprint = None if x is None else \
        f"{embedding}:{hashlib.sha256(x.tobytes()).hexdigest()}:L{levels}:K{codebook_size}:seed{seed}" + \
        ("" if method == "rkmeans" else f":{method}")
    if path.exists():
        rel = str(path.relative_to(run.path))
        z = run.load_npz(rel, ("codes", "vocab_sizes"))
        if fingerprint is None or ("fingerprint" in z and str(z["fingerprint"]) == fingerprint):
            return checked_codes(run, rel, z["codes"], z["vocab_sizes"])
    size = min(codebook_size, max(2, len(x) // 4))
    sids = semantic_ids(x, SemanticIDConfig(method=method, levels=levels, codebook_size=size, supervision=0.0,
                                            compare_unsupervised=False, seed=seed))
    rel = str(path.relative_to(run.path))
    with run.staging(rel) as staged, open(staged[rel], "wb") as f:
        np.savez(f, codes=sids.codes, vocab_sizes=sids.vocab_sizes, embedding=embedding, fingerprint=fingerprint,
                 vectors=np.asarray(x, np.float32), **({} if sids.codebooks is None else {"codebooks": sids.codebooks}))
    run.record("train", None, None, files=[rel], staged=staged)
    return sids.codes, tuple(int(k) for k in sids.vocab_sizes)


def checked_codes(run: RunFolder, rel: str, codes: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """``(I, L)`` integer codes with ``L`` vocabulary sizes, each code inside its level's
    vocabulary, one row per item of the run; else :meth:`RunFolder.damaged`'s line for ``rel``."""
    sizes = np.asarray(sizes)
    fits = (codes.ndim == 2 and len(codes) == run.num_items and np.issubdtype(codes.dtype, np.integer)
            and sizes.ndim == 1 and np.issubdtype(sizes.dtype, np.integer) and len(sizes) == codes.shape[1]
            and (codes >= 0).all() and (codes < sizes).all())
    if not fits:
        raise run.damaged(rel, f"codes of shape {codes.shape} and vocabulary sizes {sizes.tolist()[:6]} do not "
                               f"make {run.num_items} items' semantic IDs")
    return codes, tuple(int(k) for k in sizes)


def plain_code_space(run: RunFolder, folder: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The tokenizer behind ``folder/codes.npz`` (:func:`plain_codes`): the ``(I, d)`` item
    vectors it quantized and its ``(L, K, d)`` residual codebooks (what SODA aligns to)."""
    rel = str((Path(folder) / "codes.npz").relative_to(run.path))
    z = run.load_npz(rel, ("vectors",))
    if "codebooks" not in z:
        raise G2RecError(f"{run.path / rel}: holds no residual k-means codebooks; train the model again")
    return torch.from_numpy(z["vectors"]), torch.from_numpy(z["codebooks"])


def load_context(run: RunFolder, codes: str = "supervised", need_profiles: bool = True,
                 need_codes: bool = True, folder: Path | None = None, item_init: str = "none",
                 fresh_codes: bool = False, plain: dict | None = None) -> InterestContext:
    """The :class:`InterestContext` the generator needs (only the parts asked for);
    ``codes='plain'`` reads or makes the TIGER codes in the model ``folder``; ``item_init``: the
    embed method whose vectors start the item embedding; ``plain``: :func:`plain_codes`' options
    (``embedding``, ``method``)."""
    n = run.num_items
    context = InterestContext()
    if item_init != "none":
        context.item_vectors = torch.from_numpy(np.asarray(run.embeddings(item_init), dtype=np.float32))
    if need_profiles:
        proto = _load(run, "prototypes.npz", ("idx", "val", "vectors"))
        if not (run.path / TOKENS / "profiles.npy").exists():
            raise G2RecError(f"{run.path}: missing {TOKENS}/profiles.npy (run `g2rec tokenize {run.path}` first)")
        profiles = run.load(f"{TOKENS}/profiles.npy", lambda p: np.load(p, allow_pickle=False))
        if profiles.ndim != 2 or len(profiles) != n or len(proto["idx"]) != n:
            raise G2RecError(f"{run.path}/{TOKENS}: profiles for {len(profiles)} items, the run has {n}: re-run tokenize")
        context.profiles = torch.from_numpy(profiles.astype(np.float32))
        idx = proto["idx"].astype(np.int64)
        context.member_idx = torch.from_numpy(np.maximum(idx, 0))
        context.member_val = torch.from_numpy(np.where(idx >= 0, proto["val"], 0).astype(np.float32))
        context.num_prototypes = int(proto["vectors"].shape[0])
    if need_codes and codes == "plain":
        values, sizes = plain_codes(run, folder, fresh=fresh_codes, **(plain or {}))
        context.codes, context.codebook_sizes = torch.from_numpy(values.astype(np.int64)), sizes
    elif need_codes:
        z = _load(run, "sids.npz", ("codes", "vocab_sizes"))
        values, sizes = checked_codes(run, f"{TOKENS}/sids.npz", z["codes"], z["vocab_sizes"])
        context.codes, context.codebook_sizes = torch.from_numpy(values.astype(np.int64)), sizes
    return context
