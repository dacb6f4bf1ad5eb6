"""Reading the interest context that ``g2rec tokenize`` wrote, for the generator.

Artifacts (``RUN_DIR/tokens/``): ``prototypes.npz`` (``member_idx``, ``member_val``: each
item's ``(I, rho)`` row of the membership P), ``profiles.npy`` (``(I, d)`` profiles
``y_i = P_i V``) and ``codes.npz`` (``codes``/``sizes``: prototype-supervised semantic IDs,
``plain_codes``/``plain_sizes``: residual k-means codes without supervision, for TIGER).
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import G2RecError
from ..model.generator import InterestContext
from ..runfolder import RunFolder

TOKENS = "tokens"


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
        if len(profiles) != n or len(proto["member_idx"]) != n:
            raise G2RecError(f"{run.path}/{TOKENS}: profiles for {len(profiles)} items, the run has {n}: re-run tokenize")
        context.profiles = torch.from_numpy(profiles.astype(np.float32))
        context.member_idx = torch.from_numpy(proto["member_idx"].astype(np.int64))
        context.member_val = torch.from_numpy(proto["member_val"].astype(np.float32))
        context.num_prototypes = int(proto["member_idx"].max()) + 1 if "num_prototypes" not in proto else int(proto["num_prototypes"])
    if need_codes:
        z = _load(run, "codes.npz")
        key, sizes = ("codes", "sizes") if codes == "supervised" else ("plain_codes", "plain_sizes")
        if len(z[key]) != n:
            raise G2RecError(f"{run.path}/{TOKENS}/codes.npz: codes for {len(z[key])} items, the run has {n}: re-run tokenize")
        context.codes = torch.from_numpy(z[key].astype(np.int64))
        context.codebook_sizes = tuple(int(k) for k in z[sizes])
    return context
