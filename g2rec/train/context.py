"""Reading the interest context that ``g2rec tokenize`` wrote, for the generator.

Artifacts (``RUN_DIR/tokenize/``, see :mod:`g2rec.tokenize.stage`): ``prototypes.npz``
(``idx``, ``val``: each item's ``(I, rho)`` row of the membership P, ``-1`` = empty slot;
``vectors``: ``V`` ``(C, d)``), ``profiles.npy`` (``(I, d)`` profiles ``y_i = P_i V``) and
``sids.npz`` (``codes``/``vocab_sizes``: prototype-supervised semantic IDs;
``plain_codes``/``plain_vocab_sizes``: residual k-means codes without supervision, for TIGER).
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import G2RecError
from ..model.generator import InterestContext
from ..runfolder import RunFolder

TOKENS = "tokenize"


def _load(run: RunFolder, name: str) -> dict:
    path = run.path / TOKENS / name
    if not path.exists():
        raise G2RecError(f"{run.path}: missing {TOKENS}/{name} (run `g2rec tokenize {run.path}` first)")
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def load_context(run: RunFolder, codes: str = "supervised", need_profiles: bool = True,
                 need_codes: bool = True) -> InterestContext:
    """The :class:`InterestContext` the generator needs (only the parts asked for)."""
    n = run.manifest["stages"]["build-graph"]["summary"]["num_items"]
    context = InterestContext()
    if need_profiles:
        proto = _load(run, "prototypes.npz")
        path = run.path / TOKENS / "profiles.npy"
        if not path.exists():
            raise G2RecError(f"{run.path}: missing {TOKENS}/profiles.npy (run `g2rec tokenize {run.path}` first)")
        profiles = np.load(path, allow_pickle=False)
        if len(profiles) != n or len(proto["idx"]) != n:
            raise G2RecError(f"{run.path}/{TOKENS}: profiles for {len(profiles)} items, the run has {n}: re-run tokenize")
        context.profiles = torch.from_numpy(profiles.astype(np.float32))
        idx = proto["idx"].astype(np.int64)
        context.member_idx = torch.from_numpy(np.maximum(idx, 0))
        context.member_val = torch.from_numpy(np.where(idx >= 0, proto["val"], 0).astype(np.float32))
        context.num_prototypes = int(proto["vectors"].shape[0])
    if need_codes:
        z = _load(run, "sids.npz")
        key, sizes = ("codes", "vocab_sizes") if codes == "supervised" else ("plain_codes", "plain_vocab_sizes")
        if key not in z:
            raise G2RecError(f"{run.path}/{TOKENS}/sids.npz has no {key} (made by an older g2rec): re-run tokenize")
        if len(z[key]) != n:
            raise G2RecError(f"{run.path}/{TOKENS}/sids.npz: codes for {len(z[key])} items, the run has {n}: re-run tokenize")
        context.codes = torch.from_numpy(z[key].astype(np.int64))
        context.codebook_sizes = tuple(int(k) for k in z[sizes])
    return context
