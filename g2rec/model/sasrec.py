"""``embed --method sasrec``: item embeddings learned by a SASRec next-item model on the training sequences.

SASRec (Kang & McAuley 2018) is a causal Transformer over a user's item history that predicts
the next item at every position. Here it is :class:`g2rec.model.Transformer` with its ``items``
head tied to the item embedding, trained with full-softmax cross-entropy over all items
(``loss="ce"``, default) or, as in the original paper, binary cross-entropy against one
uniformly sampled negative per position (``loss="bce"``). The embeddings are the learned item
table ``(I, dim)``: the item vectors G2Rec starts from.

Only ``TRAIN`` interactions are read. A user's training sequence is cut, from its newest end,
into windows of ``max_len + 1`` items (left-padded), so every training transition is a target
exactly once; inputs are a window's first ``max_len`` items, targets the same shifted by one.
Batches group windows of similar length (a shuffled pool sorted by length, then the batches
shuffled), and each batch is cut to its longest window, so little work goes into padding.
Items seen only in validation or test keep their random initial vectors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..config import check_fields
from ..data.sequences import sequence_windows
from ..embed.base import EmbedInputs, EmbedResult
from ..errors import ConfigError, check_choice
from .transformer import Transformer, TransformerConfig

LOSSES = ("ce", "bce")


@dataclass
class SASRecConfig:
    dim: int = 64              # item embedding size = model width
    layers: int = 2            # Transformer blocks
    heads: int = 1             # attention heads (SASRec uses one)
    max_len: int = 50          # most history positions per window
    dropout: float = 0.3
    loss: str = "ce"           # "ce": full softmax over all items; "bce": one sampled negative
    epochs: int = 10
    lr: float = 1e-3
    weight_decay: float = 0.0
    batch_size: int = 256      # windows per batch
    seed: int = 0

    def __post_init__(self):
        check_fields(self)
        check_choice("loss", self.loss, LOSSES)
        for name in ("dim", "layers", "heads", "max_len", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)} must be at least 1")
        if self.dim % self.heads:
            raise ConfigError(f"dim={self.dim} must be a multiple of heads={self.heads}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout={self.dropout} must be in [0, 1)")
        if self.lr <= 0 or self.weight_decay < 0:
            raise ConfigError(f"need lr > 0 and weight_decay >= 0 (got lr={self.lr}, weight_decay={self.weight_decay})")


def length_bucketed_batches(sizes: np.ndarray, batch_size: int, generator: torch.Generator,
                            pool_batches: int = 32) -> list[np.ndarray]:
    """Shuffled batches of row indices in which rows have similar ``sizes``.

    Rows are shuffled, sorted by size within pools of ``pool_batches * batch_size`` rows, cut
    into batches, and the batches shuffled: as random as a plain shuffle at the batch level,
    with little padding inside a batch.
    """
    n = len(sizes)
    perm = torch.randperm(n, generator=generator).numpy()
    pool = np.arange(n) // (batch_size * pool_batches)
    order = perm[np.lexsort((sizes[perm], pool))]
    batches = [order[i:i + batch_size] for i in range(0, n, batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def batch_loss(model: Transformer, windows: torch.Tensor, loss: str, generator: torch.Generator) -> tuple[torch.Tensor, int]:
    """Mean next-item loss over the real positions of ``windows (B, T+1)``, and their count."""
    inputs, targets = windows[:, :-1], windows[:, 1:]                          # (B, T)
    T = inputs.shape[1]
    positions = torch.arange(model.config.max_len - T, model.config.max_len)
    hidden = model.forward_items(inputs, positions)                             # (B, T, D)
    real = inputs != model.pad                                                  # a real input has a real target
    h, t = hidden[real], targets[real]                                          # (N, D), (N,)
    if loss == "ce":
        return F.cross_entropy(model.item_logits(h), t), len(t)
    negatives = torch.randint(0, model.config.num_items, t.shape, generator=generator)
    table = model.item_vectors
    pos_score = (h * table[t]).sum(-1)
    neg_score = (h * table[negatives]).sum(-1)
    return F.softplus(-pos_score).mean() + F.softplus(neg_score).mean(), len(t)


def fit_sasrec(inputs: EmbedInputs, config: SASRecConfig, progress=None) -> EmbedResult:
    """Train SASRec on the training split and return its ``(I, dim)`` item embedding table.

    Same data, config, seed and thread count give identical vectors. ``progress("sasrec",
    done, total)`` is called after every batch.
    """
    with torch.random.fork_rng(devices=[]):          # seed weights and dropout; leave the caller's RNG alone
        torch.manual_seed(config.seed)
        return _fit(inputs, config, progress)


def _fit(inputs: EmbedInputs, config: SASRecConfig, progress) -> EmbedResult:
    seq = inputs.sequences
    train = seq.train()
    generator = torch.Generator().manual_seed(config.seed)  # batch order and negatives
    model = Transformer(TransformerConfig(num_items=seq.num_items, max_len=config.max_len, dim=config.dim,
                                          layers=config.layers, heads=config.heads, dropout=config.dropout))
    windows = sequence_windows(train, config.max_len, model.pad)
    if len(windows) == 0:
        raise ConfigError("no user has two or more training interactions: nothing to train SASRec on")
    sizes = (windows != model.pad).sum(1)                                      # real items per window
    windows_t = torch.from_numpy(windows)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)

    steps_per_epoch = -(-len(windows) // config.batch_size)
    total, done, curve = config.epochs * steps_per_epoch, 0, []
    model.train()
    for epoch in range(1, config.epochs + 1):
        loss_sum, count_sum = 0.0, 0
        for rows in length_bucketed_batches(sizes, config.batch_size, generator):
            keep = int(sizes[rows].max())                                       # cut the all-padding columns
            loss, count = batch_loss(model, windows_t[torch.from_numpy(rows), -keep:], config.loss, generator)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum, count_sum = loss_sum + loss.item() * count, count_sum + count
            done += 1
            if progress:
                progress("sasrec", done, total)
        curve.append({"epoch": epoch, "loss": round(loss_sum / count_sum, 5)})
    model.eval()

    vectors = model.item_vectors.detach().numpy().astype(np.float32, copy=True)
    trained = np.zeros(seq.num_items, dtype=bool)
    trained[train.items[np.repeat(train.lengths >= 2, train.lengths)]] = True
    summary = {"loss": config.loss, "epochs": config.epochs, "final_loss": curve[-1]["loss"]}
    details = {"windows": len(windows), "targets": int((sizes - 1).sum()),
               "untrained_items": int((~trained).sum()),
               "parameters": int(sum(p.numel() for p in model.parameters()))}
    return EmbedResult(vectors, summary, curve, details)
