r"""Losses of the ``items`` head: full softmax, sampled softmax and gBCE.

With ``h`` the hidden state at a target position, ``e_j`` item ``j``'s output vector and ``s_j =
h \cdot e_j``, for the target ``y``:

* ``ce``, full softmax: :math:`-\log \frac{e^{s_y}}{\sum_{j \in I} e^{s_j}}`, every item scored;
* ``sampled``, sampled softmax over the target and ``K`` negatives ``S`` drawn from ``q``:
  :math:`-\log \frac{e^{s_y - \log q_y}}{e^{s_y - \log q_y} + \sum_{j \in S, j \ne y} e^{s_j - \log q_j}}`
  (the logQ correction; a constant, so no correction, when ``q`` is uniform). ``q``: ``uniform``
  over the items, ``popularity`` (training counts), or ``in-batch``: the batch's own targets are
  the candidates, drawn in proportion to popularity, so they are corrected by it;
* ``gbce``, gSASRec's generalized binary cross-entropy (Petrov & Macdonald, RecSys 2023) over
  ``K`` uniform negatives: :math:`-\beta \log \sigma(s_y) - \sum_{j \in S, j \ne y} \log(1 - \sigma(s_j))`,
  :math:`\beta = \alpha (t (1 - 1/\alpha) + 1/\alpha)`, :math:`\alpha = K / (|I| - 1)`, which
  undoes the overconfidence negative sampling teaches (``t = 0``: plain BCE, ``t = 1``: calibrated).

Negatives are ``K`` items drawn on the model's device, either once for the whole batch and
shared by its positions (``(K,)``: one ``(N, D) x (D, K)`` product) or for each position
(``(N, K)``: ``N K`` gathered vectors, as RecTools' SASRec draws them); memory grows with ``K``,
not with the catalogue. A negative that is a position's own target is left out there.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("ce", "sampled", "gbce")
SAMPLERS = ("uniform", "popularity", "in-batch")
NEGATIVES_PER = ("batch", "position")


def full_softmax(h: torch.Tensor, table: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``h (N, D)``, ``table (I, D)``, ``targets (N,)`` -> ``(logits (N, I), loss)``."""
    logits = h @ table.T
    return logits, F.cross_entropy(logits, targets)


def draw_negatives(count: int, num_items: int, log_q: torch.Tensor | None, device, positions: int = 0) -> torch.Tensor:
    """``count`` item ids ``(K,)``, or ``(positions, K)`` when ``positions``: uniform (``log_q``
    None) or from ``exp(log_q)``, with replacement."""
    total = count * max(positions, 1)
    if log_q is None:
        ids = torch.randint(0, num_items, (total,), device=device)
    else:
        ids = torch.multinomial(log_q.exp(), total, replacement=True)
    return ids.view(positions, count) if positions else ids


def negative_scores(h: torch.Tensor, table: torch.Tensor, negatives: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(N, K)`` scores of shared ``(K,)`` or per-position ``(N, K)`` negatives, and their ids
    broadcastable to ``(N, K)``."""
    if negatives.dim() == 1:
        return h @ table[negatives].T, negatives[None]
    return torch.einsum("nd,nkd->nk", h, table[negatives]), negatives


def sampled_softmax(h: torch.Tensor, table: torch.Tensor, targets: torch.Tensor, negatives: torch.Tensor,
                    log_q: torch.Tensor | None = None) -> torch.Tensor:
    """Sampled softmax (module docstring): ``h (N, D)``, ``table (I, D)``, ``targets (N,)``,
    ``negatives`` ``(K,)`` shared by the positions or ``(N, K)`` per position, ``log_q (I,)`` log
    sampling probabilities (None: uniform, no correction)."""
    positive = (h * table[targets]).sum(-1, keepdim=True)                              # (N, 1)
    negative, ids = negative_scores(h, table, negatives)                               # (N, K)
    if log_q is not None:
        positive = positive - log_q[targets][:, None]
        negative = negative - log_q[ids]
    negative = negative.masked_fill(ids == targets[:, None], float("-inf"))
    logits = torch.cat([positive, negative], dim=1)
    return F.cross_entropy(logits, torch.zeros_like(targets))


def in_batch_softmax(h: torch.Tensor, table: torch.Tensor, targets: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """Sampled softmax whose candidates are the batch's distinct targets, logQ-corrected by
    their popularity ``log_q (I,)``."""
    candidates, label = torch.unique(targets, return_inverse=True)
    logits = h @ table[candidates].T - log_q[candidates][None]                        # (N, U)
    return F.cross_entropy(logits, label)


def gbce(h: torch.Tensor, table: torch.Tensor, targets: torch.Tensor, negatives: torch.Tensor, num_items: int,
         t: float) -> torch.Tensor:
    """gBCE (module docstring) over uniform ``negatives``, ``(K,)`` shared or ``(N, K)`` per position."""
    alpha = negatives.shape[-1] / (num_items - 1)
    beta = alpha * (t * (1 - 1 / alpha) + 1 / alpha)
    positive = (h * table[targets]).sum(-1)                                            # (N,)
    negative, ids = negative_scores(h, table, negatives)                               # (N, K)
    keep = ids != targets[:, None]
    return -(beta * F.logsigmoid(positive) + (F.logsigmoid(-negative) * keep).sum(1)).mean()


def popularity_log_q(counts: torch.Tensor) -> torch.Tensor:
    """``log q`` of sampling by popularity from training ``counts (I,)`` (every item at least once,
    so that an item never seen in training has a finite correction)."""
    counts = counts.double().clamp_min(1)
    return (counts / counts.sum()).log().float()
