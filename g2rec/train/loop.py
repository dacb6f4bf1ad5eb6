"""The training loop: epochs, validation, early stopping, atomic checkpoints, exact resume.

Reproducibility: epoch ``e`` shuffles with ``Generator().manual_seed(seed, e)`` and seeds the
global torch RNG (dropout) the same way before its first step, so a run resumed from the
checkpoint after epoch ``e`` replays epochs ``e+1..`` exactly as the straight run does.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel

from ..atomic import sweep_stale
from ..config import check_fields
from ..data.pages import next_page_targets, page_first_row
from ..data.sequences import Sequences, prefix_windows, window_positions, window_users
from ..errors import ConfigError, check_choice
from ..measure import peak_memory_mb
from .checkpoint import load_checkpoint, save_checkpoint
from .distributed import setup

LOG = logging.getLogger(__name__)
WINDOWS = ("all", "last", "prefixes")
NTPS = ("point", "page")
PAGE_TARGET_BYTES = 4 << 30  # page-wise windows hold (windows, max_len, largest page) targets: refuse beyond this
SELECTS = {"ndcg10": "NDCG@10", "recall10": "Recall@10"}  # --select: the validation metric that picks checkpoints (tune-prior --metric names them alike)


@dataclass
class TrainConfig:
    epochs: int = 200
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 15          # epochs without a better validation score (``select``) before stopping
    seed: int = 0
    threads: int = 0            # torch threads (0 = all cores)
    windows: str = "all"        # all | last | prefixes: every training transition a target, each user's last max_len only, or each transition its own sample
    device: str = "cpu"         # cpu | cuda | cuda:N: where the model trains and validates
    select: str = "ndcg10"      # ndcg10 | recall10: validation NDCG@10 or Recall@10 picks the checkpoint and stops
    valid_exclude_history: bool = False  # validate with the user's own items out of the ranking
    ntp: str = "point"          # point | page: the next item is the target, or every item of the next page (GenRec)

    def __post_init__(self):
        check_fields(self)
        check_choice("windows", self.windows, WINDOWS)
        check_choice("ntp", self.ntp, NTPS)
        check_choice("select", self.select, tuple(SELECTS))
        training_device(self.device)
        for name, low in (("epochs", 1), ("batch_size", 1), ("patience", 1), ("threads", 0), ("seed", 0)):
            if getattr(self, name) < low:
                raise ConfigError(f"{name}={getattr(self, name)}: must be >= {low}")
        if self.lr <= 0 or self.weight_decay < 0:
            raise ConfigError(f"lr={self.lr}, weight_decay={self.weight_decay}: need lr > 0 and weight_decay >= 0")


def training_device(name: str) -> torch.device:
    """``name`` as a torch device, or ``ConfigError`` naming the choices (and why CUDA is not there)."""
    kind = name.split(":")[0]
    check_choice("device", kind, ("cpu", "cuda"))
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"device={name!r}: not a device (choose cpu, cuda or cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device={name!r}: this torch ({torch.__version__}) sees no CUDA GPU; use device='cpu'")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise ConfigError(f"device={name!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    return device


def training_windows(train: Sequences, max_len: int, windows: str = "all", ntp: str = "point"
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs and next-item targets from the training sequences.

    ``windows="all"``: every sequence cut from its newest item into windows of ``max_len + 1``
    items, so each training transition is a target once (:func:`sequence_windows`); ``"last"``:
    only each user's last ``max_len + 1`` items (older items of long histories are never
    targets); ``"prefixes"``: each transition its own sample, the up to ``max_len`` items
    before it and its target in the last column only (:func:`prefix_windows`; what an
    encoder-decoder, which predicts one item per history, trains on).

    ``ntp="page"`` (GenRec's page-wise next-token prediction; ``train`` must have pages): every
    item of the next page is a target of the position that closes a page
    (:func:`~g2rec.data.pages.next_page_targets`), and positions inside a page have none; with
    ``"prefixes"``, each item's history ends where its page begins.

    Returns ``(inputs, targets, users)``: ``inputs (N, max_len)`` int64 left-padded with ``I``
    (users with fewer than 2 training items give none); ``targets`` ``(N, max_len)``, the item
    after ``inputs[:, t]`` in column ``t`` (``I`` = none), or ``(N, max_len, P)`` for
    ``ntp="page"`` with windows, up to ``P`` targets per position; ``users (N,)`` the user
    index of each row.
    """
    check_choice("windows", windows, WINDOWS)
    check_choice("ntp", ntp, NTPS)
    if ntp == "page" and train.pages is None:
        raise ConfigError("ntp='page' needs pages: build the run with --page-gap (g2rec build-graph)")
    pad = train.num_items
    if windows == "prefixes":
        cut = None if ntp == "point" else page_first_row(train.pages)
        w, users = prefix_windows(train, max_len, pad, cut)
        targets = np.full((len(w), max_len), pad, dtype=np.int64)
        targets[:, -1] = w[:, -1]
        return np.ascontiguousarray(w[:, :-1]), targets, users
    pos = window_positions(train, max_len, newest_only=windows == "last")
    users = window_users(train, max_len, newest_only=windows == "last")
    w = np.where(pos >= 0, train.items[np.maximum(pos, 0)], pad)
    inputs = np.ascontiguousarray(w[:, :-1])
    if ntp == "page":
        pages = next_page_targets(train.pages, train.offsets, train.items, pad)  # (M, P)
        size = pos.shape[0] * (pos.shape[1] - 1) * pages.shape[1] * 8
        if size > PAGE_TARGET_BYTES:
            raise ConfigError(f"ntp='page': pages of up to {pages.shape[1]} items make a {size / 2**30:.1f} GiB target "
                              f"array over {pos.shape[0]:,} windows; build with a smaller --page-gap or train with "
                              f"windows='prefixes' (one sample per target)")
        return inputs, np.where((pos[:, :-1] >= 0)[..., None], pages[np.maximum(pos[:, :-1], 0)], pad), users
    return inputs, np.where(inputs == pad, pad, w[:, 1:]), users  # a sequence's first item follows nothing


def length_bucketed_batches(lengths: torch.Tensor, batch_size: int, seed: int, pool: int = 32) -> list[torch.Tensor]:
    """Shuffled batches of similar-length windows: shuffle, sort each pool of ``pool`` batches
    by length, cut it into batches, shuffle the batch order. Batches then trim to their own
    longest window, so short histories stop paying for long ones' padding (Beauty: mean 7 of 50)."""
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(lengths), generator=gen)
    batches = []
    for lo in range(0, len(order), pool * batch_size):
        chunk = order[lo:lo + pool * batch_size]
        chunk = chunk[torch.argsort(lengths[chunk], stable=True)]
        batches += list(chunk.split(batch_size))
    return [batches[i] for i in torch.randperm(len(batches), generator=gen).tolist()]


def _epoch_seed(seed: int, epoch: int) -> int:
    return seed * 1_000_003 + epoch


def kept_log_lines(log: Path, upto: int, key: str = "epoch") -> list[str]:
    """The lines of a JSONL log (``train_log.jsonl``; ``align_log.jsonl`` with ``key="step"``) up
    to ``upto`` (the checkpoint's): a run killed after the checkpoint, or in the middle of
    writing a line, leaves later or partial lines behind."""
    kept = []
    for line in log.read_text(errors="replace").splitlines(keepends=True) if log.exists() else []:
        try:
            record = json.loads(line)
        except ValueError:
            break
        if not line.endswith("\n") or not isinstance(record, dict) or record.get(key, upto + 1) > upto:
            break
        kept.append(line)
    return kept


def fit(model: torch.nn.Module, inputs: np.ndarray, targets: np.ndarray, config: TrainConfig,
        validate: Callable[[torch.nn.Module], dict], folder: Path, resume: bool = False, progress=None,
        users: np.ndarray | None = None) -> dict:
    """Train ``model`` (anything with ``num_items`` and ``model(items, targets) -> (scores, loss)``,
    called ``model(items, targets, users)`` when ``users``, each row's user index, are given)
    on the windows.

    Each epoch ends with ``validate(model)`` (a metrics dict with ``NDCG@10`` and ``Recall@10``;
    ``config.select`` names the one that counts), a line in ``folder/train_log.jsonl``,
    ``folder/checkpoint.safetensors`` (resume point) and, when validation improved,
    ``folder/best.safetensors``. Returns the final state (best epoch,
    best metrics, history). A model may name optimizer groups (``param_groups(lr)``) and be told
    when each epoch begins and ends (``begin_epoch(epoch)``, ``end_epoch(epoch)``, before
    validation): ETEGRec's alternation.
    """
    folder = Path(folder)
    ranks, device = setup(training_device(config.device))  # one rank unless under torchrun
    if ranks.main:
        folder.mkdir(parents=True, exist_ok=True)
        sweep_stale(folder)  # a checkpoint half-written when an earlier run was killed
    if config.threads:
        torch.set_num_threads(config.threads)
    model.to(device)  # before the optimizer: its state (and a resumed one) lives beside the weights
    net = model if ranks.world == 1 else DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None)
    # a model that trains parts at their own rates (ETEGRec's tokenizer) names its groups
    groups = model.param_groups(config.lr) if hasattr(model, "param_groups") else model.parameters()
    optimizer = torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
    state = {"epoch": 0, "best_epoch": 0, "best_score": -1.0, "best_metrics": None, "bad_epochs": 0,
             "history": [], "seconds": 0.0, "config": asdict(config)}
    log = folder / "train_log.jsonl"
    if resume:
        state = load_checkpoint(folder / "checkpoint.safetensors", model, optimizer)
        if ranks.main:
            log.write_text("".join(kept_log_lines(log, state["epoch"])))
    elif log.exists() and ranks.main:
        log.unlink()
    x, y = torch.from_numpy(inputs).to(device), torch.from_numpy(targets).to(device)
    u = None if users is None else torch.from_numpy(users).to(device)
    pad = model.num_items
    batches = (len(x) + config.batch_size - 1) // config.batch_size
    lengths = (x != pad).sum(1).cpu()
    while state["epoch"] < config.epochs and state["bad_epochs"] < config.patience:
        epoch = state["epoch"] + 1
        tick = time.perf_counter()
        torch.manual_seed(_epoch_seed(config.seed, epoch))
        batch_list = length_bucketed_batches(lengths, config.batch_size, _epoch_seed(config.seed, epoch))
        model.train()
        if hasattr(model, "begin_epoch"):  # a model that alternates what it trains (ETEGRec)
            model.begin_epoch(epoch)
        total, samples = 0.0, 0
        for b, idx in enumerate(batch_list):
            idx = ranks.share(idx).to(device)  # this rank's rows of the global batch
            xb, yb = x[idx], y[idx]
            width = int((xb != pad).sum(1).max())  # trim the all-padding columns on the left
            xb, yb = xb[:, -width:], yb[:, -width:]
            _, loss = net(xb, yb) if u is None else net(xb, yb, u[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(idx)
            samples += int((yb != pad).sum())
            if progress is not None:
                progress(f"epoch {epoch}", b + 1, batches)
        total, samples = ranks.sum([total, samples])
        train_seconds = time.perf_counter() - tick
        if hasattr(model, "end_epoch"):
            model.end_epoch(epoch)
        model.eval()
        with torch.no_grad():
            metrics = validate(model)
        score = metrics[SELECTS[config.select]]  # the same on every rank: the decisions below agree
        if score > state["best_score"]:
            if ranks.main:
                save_checkpoint(folder / "best.safetensors", model, None, {"epoch": epoch, "metrics": metrics})
            state.update(best_epoch=epoch, best_score=score, best_metrics=metrics, bad_epochs=0)
        else:
            state["bad_epochs"] += 1
        record = {"epoch": epoch, "loss": round(total / len(x), 5), "valid": metrics,
                  "train_seconds": round(train_seconds, 2), "samples_per_second": round(samples / train_seconds, 1),
                  "seconds": round(time.perf_counter() - tick, 2), "peak_memory_mb": round(peak_memory_mb(), 1)}
        if device.type == "cuda":
            record["gpu_peak_memory_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
            record["gpu"] = torch.cuda.get_device_name(device)
        state["epoch"] = epoch
        state["seconds"] += record["seconds"]
        state["history"].append({k: record[k] for k in ("epoch", "loss", "seconds", "samples_per_second")}
                                | {"valid_ndcg10": metrics["NDCG@10"], "valid_recall10": metrics["Recall@10"]})
        if ranks.main:
            LOG.info("epoch %d: loss %.4f, valid NDCG@10 %.4f, Recall@10 %.4f (best %s %.4f at epoch %d), "
                     "%.0f samples/s, %.1f s", epoch, record["loss"], metrics["NDCG@10"], metrics["Recall@10"],
                     SELECTS[config.select], state["best_score"], state["best_epoch"], record["samples_per_second"],
                     record["seconds"])
            with open(log, "a") as f:  # before the checkpoint: a resume drops lines past its epoch
                f.write(json.dumps(record) + "\n")
            save_checkpoint(folder / "checkpoint.safetensors", model, optimizer, state)
    ranks.wait()  # the last checkpoint is written before any rank goes on
    return state
