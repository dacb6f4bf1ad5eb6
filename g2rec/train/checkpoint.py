"""Checkpoints as one safetensors file: model weights, optimizer state and a JSON state.

No pickle anywhere: tensors go in as tensors, everything else (epoch, best score, history,
optimizer hyper-parameters) as JSON in the file's metadata. Written to a temporary file and
renamed, so a killed run leaves either the previous checkpoint or the new one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..atomic import temp_path
from ..errors import G2RecError


def save_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None, state: dict) -> None:
    """Write ``model`` (and ``optimizer``) tensors and the JSON-able ``state`` atomically to ``path``."""
    tensors = {f"model.{k}": v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    meta = {"state": json.dumps(state)}
    if optimizer is not None:
        opt = optimizer.state_dict()
        for index, slots in opt["state"].items():
            for name, value in slots.items():
                tensors[f"opt.{index}.{name}"] = torch.as_tensor(value).contiguous().cpu()
        meta["param_groups"] = json.dumps(opt["param_groups"])
    path = Path(path)
    tmp = temp_path(path)
    try:
        save_file(tensors, str(tmp), metadata=meta)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None) -> dict:
    """Load weights (and optimizer state) from ``path`` into ``model``; return the JSON state."""
    path = Path(path)
    if not path.exists():
        raise G2RecError(f"{path}: no checkpoint (train first, or drop --resume)")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # a truncated or foreign file
        raise G2RecError(f"{path}: unreadable checkpoint ({e})") from None
    weights = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        missing, unexpected = model.load_state_dict(weights, strict=False)
    except RuntimeError as e:  # shape mismatches
        missing, unexpected = [str(e).splitlines()[-1].strip()], []
    if missing or unexpected:
        raise G2RecError(f"{path}: checkpoint does not fit this model (missing {missing[:3]}, unexpected {unexpected[:3]}); "
                         "was it trained with other options?")
    if optimizer is not None and "param_groups" in meta:
        state: dict = {}
        for key, value in tensors.items():
            if key.startswith("opt."):
                _, index, name = key.split(".", 2)
                state.setdefault(int(index), {})[name] = value
        optimizer.load_state_dict({"state": state, "param_groups": json.loads(meta["param_groups"])})
    return json.loads(meta.get("state", "{}"))
