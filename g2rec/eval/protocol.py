"""The evaluation protocol every number uses (../ARCHITECTURE.md, "Evaluation protocol").

Each held-out interaction of a split (leave-one-out: one validation and one test item per
user) is a query: the model sees everything the user did before it (at most ``max_len``
items, oldest dropped) and ranks items. Default is **full ranking** over all items; items
of the user's history stay in the ranking unless ``exclude_history``, and every query counts
unless ``skip_cold_targets`` leaves out those whose target never occurs in training (which no
model that learns from training can rank; RecTools' ``filter_cold_items``). The optional
**sampled-99** protocol of the G2Rec paper ranks the target against 99 items the user never
touched, drawn uniformly with a fixed seed; results say which protocol made them.

A scorer is a callable ``scorer(histories, users) -> scores | TopK``:
``histories`` ``(B, T)`` int64 item indices, left-padded with ``-1``; ``users`` ``(B,)``.
It returns either ``(B, I)`` scores (full ranking and sampled-99 both work), or a
:class:`TopK` of ranked lists (e.g. beam search), where a target outside the list counts as
not found (its Recall/NDCG are 0 and its reciprocal rank is 0). A scorer may also have a
``candidates(histories, users, items (B, C)) -> (B, C)`` method that scores given items
only; sampled-99 then uses it (a semantic-ID model scores a candidate by its code sequence's
log-probability instead of ranking by beam search).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..data.sequences import VALID, Sequences
from ..errors import ConfigError
from ..data.pages import page_first_row
from .metrics import metrics_from_ranks, page_metrics, target_ranks


@dataclass
class TopK:
    """Ranked item lists: ``items`` ``(B, K)`` int64 (``-1`` = empty slot), best first."""

    items: torch.Tensor


Scorer = Callable[[torch.Tensor, np.ndarray], "torch.Tensor | TopK"]


def histories(seq: Sequences, split: int, max_len: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Queries of ``split``: what each user did before each of its ``split`` interactions (before
    the interaction's page, when ``seq`` has pages: every item of a held-out page is a target of
    the history the page followed).

    Returns:
        ``users (B,)``, ``hist (B, max_len)`` int64 left-padded with ``-1`` (most recent last),
        ``targets (B,)`` and ``cut (B,)``: the flat position in ``seq`` where each history ends
        (exclusive; the target's own position, or its page's first).
    """
    target_pos = np.flatnonzero(seq.split == split)
    users = seq.users[target_pos]
    start = seq.offsets[users]
    cut = target_pos if seq.pages is None else page_first_row(seq.pages)[target_pos]
    hist = np.full((len(users), max_len), -1, dtype=np.int64)
    for k in range(max_len):  # k-th item before the cut
        pos = cut - 1 - k
        ok = pos >= start
        if not ok.any():
            break
        hist[ok, max_len - 1 - k] = seq.items[pos[ok]]
    return users, hist, seq.items[target_pos], cut


def model_padding(hist: torch.Tensor, pad: int) -> torch.Tensor:
    """``hist (B, T)`` left-padded with ``-1`` -> the same with the model's padding id ``pad`` and
    no all-padding columns on the left (at least one column kept)."""
    items = torch.where(hist < 0, pad, hist)
    return items[:, -max(int((items != pad).sum(1).max()), 1):]


def seen_before(seq: Sequences, users: np.ndarray, cut: np.ndarray) -> torch.Tensor:
    """``(B, I)`` bool: items the user interacted with before flat position ``cut`` (the whole
    history of a query, :func:`histories`)."""
    counts = cut - seq.offsets[users]
    rows = np.repeat(np.arange(len(users)), counts)
    pos = np.repeat(seq.offsets[users] - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
    mask = torch.zeros((len(users), seq.num_items), dtype=torch.bool)
    mask[torch.from_numpy(rows), torch.from_numpy(seq.items[pos])] = True
    return mask


def repeat_targets(seq: Sequences, split: int) -> np.ndarray:
    """``(B,)`` bool, in the query order of :func:`histories`: the target is an item the user
    already interacted with before it (a repeat, not a new item)."""
    pair = seq.users.astype(np.int64) * seq.num_items + seq.items
    _, first_index, inverse = np.unique(pair, return_index=True, return_inverse=True)
    target_pos = np.flatnonzero(seq.split == split)
    return first_index[inverse[target_pos]] < target_pos


def sampled_negatives(seq: Sequences, users: np.ndarray, num: int, seed: int, chunk: int = 1024) -> np.ndarray:
    """``(B, num)`` items drawn uniformly (without replacement) from items user ``b`` never touched.

    Deterministic in ``seed`` and the query order; a user who touched almost every item
    raises ``ConfigError``.
    """
    rng = np.random.default_rng(seed)
    out = np.empty((len(users), num), dtype=np.int64)
    for lo in range(0, len(users), chunk):
        u = users[lo:lo + chunk]
        touched = np.zeros((len(u), seq.num_items), dtype=bool)
        counts = seq.lengths[u]
        rows = np.repeat(np.arange(len(u)), counts)
        pos = np.repeat(seq.offsets[u] - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        touched[rows, seq.items[pos]] = True
        if (seq.num_items - touched.sum(1) < num).any():
            raise ConfigError(f"sampled-{num}: a user touched more than {seq.num_items - num} of {seq.num_items} items")
        # random keys, touched items pushed to the end: the first `num` are a uniform sample
        keys = rng.random((len(u), seq.num_items)) + touched
        out[lo:lo + chunk] = np.argpartition(keys, num - 1, axis=1)[:, :num]
    return out


def evaluate_ranking(scorer: Scorer, seq: Sequences, split: int = VALID, max_len: int = 50,
                     exclude_history: bool = False, sampled: int | None = None, seed: int = 0,
                     batch: int = 256, progress=None, keep_ranks: bool = False,
                     skip_cold_targets: bool = False, shards=None) -> dict:
    """Recall/NDCG@{5,10,20} and MRR of ``scorer`` on the ``split`` queries of ``seq``.

    Args:
        scorer: see the module docstring.
        seq: all sequences (the split labels choose the queries; histories may include
            earlier held-out items, e.g. the validation item for a test query).
        max_len: history cap (50 by default; SODA uses 20).
        exclude_history: remove items the user touched before the target from the ranking.
        sampled: rank against this many sampled negatives (99 = the G2Rec paper's protocol).
        skip_cold_targets: leave out queries whose target item has no training interaction.
        progress: optional ``progress(stage, done, total)``.
        shards: the processes of a distributed training (:class:`g2rec.train.distributed.Ranks`):
            each scores every ``world``-th batch of queries and the ranks are gathered, so
            every process returns the same metrics a single process computes.
        keep_ranks: also return ``ranks``, the ``(B,)`` float64 0-based rank of each query's
            target (``inf`` when absent from a ranked list), in query order
            (``np.flatnonzero(seq.split == split)``, less the skipped cold targets): per-user
            breakdowns start from them.

    Returns:
        metrics (``Recall@K``, ``NDCG@K``, ``MRR``, ``num_users``; with pages also
        ``PageRecall@K`` and ``PageHR@K``, :func:`~g2rec.eval.metrics.page_metrics`), ``protocol``,
        ``exclude_history``, ``skipped_cold_targets``, ``max_len`` and ``users_per_second``
        (scoring only).
    """
    users, hist, targets, cut = histories(seq, split, max_len)
    pages = None if seq.pages is None else seq.pages[seq.split == split]
    skipped = 0
    if skip_cold_targets:
        warm = seq.item_counts()[targets] > 0
        skipped = int((~warm).sum())
        users, hist, targets, cut = users[warm], hist[warm], targets[warm], cut[warm]
        pages = None if pages is None else pages[warm]
    negatives = sampled_negatives(seq, users, sampled, seed) if sampled else None
    found, seconds = [], 0.0
    order = np.argsort((hist >= 0).sum(1), kind="stable")  # batches of like lengths: little padding to score
    mine = list(range(0, len(users), batch))
    if shards is not None:
        mine = mine[shards.rank::shards.world]
    for lo in mine:
        sl = order[lo:lo + batch]
        h, target = torch.from_numpy(hist[sl]), torch.from_numpy(targets[sl])
        tick = time.perf_counter()
        if sampled:
            candidates = torch.cat([target[:, None], torch.from_numpy(negatives[sl])], dim=1)
            out = _candidate_scores(scorer, h, users[sl], candidates)
        else:
            out = scorer(h, users[sl])
        seconds += time.perf_counter() - tick
        exclude = seen_before(seq, users[sl], cut[sl]) if exclude_history else None
        if sampled:
            found.append(target_ranks(out, torch.zeros_like(target)).double())
        elif isinstance(out, TopK):
            found.append(_list_ranks(out.items, target, exclude))
        else:
            found.append(target_ranks(out, target, exclude).double())
        if progress is not None:
            progress("evaluate", min(lo + batch, len(users)), len(users))
    scored = torch.cat(found).numpy() if found else np.zeros(0)
    where = np.concatenate([order[lo:lo + batch] for lo in mine]) if mine else np.zeros(0, np.int64)
    ranks = np.empty(len(order))
    for positions, part in [(where, scored)] if shards is None else shards.gather((where, scored)):
        ranks[positions] = part  # back in query order (every rank's batches, when sharded)
    result = metrics_from_ranks(ranks)
    if pages is not None and not sampled:
        result.update(page_metrics(ranks, pages))
    result.update(protocol=f"sampled-{sampled}" if sampled else "full ranking",
                  exclude_history=exclude_history, skipped_cold_targets=skipped, max_len=max_len,
                  users_per_second=round(len(users) / seconds, 1) if seconds > 0 else None)
    if keep_ranks:
        result["ranks"] = ranks.astype(np.float64)
    return result


def _candidate_scores(scorer: Scorer, histories: torch.Tensor, users: np.ndarray,
                      candidates: torch.Tensor) -> torch.Tensor:
    """``(B, C)`` scores of ``candidates``: the scorer's own ``candidates`` method if it has
    one, else its full ``(B, I)`` scores gathered."""
    if hasattr(scorer, "candidates"):
        return scorer.candidates(histories, users, candidates)
    out = scorer(histories, users)
    if isinstance(out, TopK):
        raise ConfigError("the sampled protocol needs item scores; this model only returns ranked lists")
    return out.gather(1, candidates)


def _list_ranks(items: torch.Tensor, target: torch.Tensor, exclude: torch.Tensor | None) -> torch.Tensor:
    """0-based position of each target in its ranked list (``inf`` when absent)."""
    keep = items >= 0
    if exclude is not None:
        keep &= ~exclude.gather(1, items.clamp_min(0)) | (items == target[:, None])
    before = torch.cumsum(keep, dim=1) - keep.long()  # kept entries ahead of each slot
    hit = keep & (items == target[:, None])
    rank = torch.full((len(target),), float("inf"), dtype=torch.float64)
    found = hit.any(dim=1)
    rank[found] = before[hit].double()  # at most one hit per row: lists hold distinct items
    return rank
