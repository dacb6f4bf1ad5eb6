"""The ``recommend`` stage: top-K items per user, with the interests that explain them.

``upto`` chooses the history: ``all`` (everything known, the default for serving), or
``valid``/``test`` (what preceded the user's held-out validation/test item), so that anyone
can score the recommendations independently and get the numbers of ``g2rec evaluate``.
A user's interests are the prototype memberships of its history items, averaged (``P``
rows from ``g2rec tokenize``); each prototype is named by its most central items (largest
membership x weighted degree in the co-engagement graph).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..data.sequences import TEST, VALID, Sequences
from ..errors import G2RecError, check_choice
from ..eval.baselines import GraphKNNScorer, PopularityScorer
from ..model.beam import beam_search
from .context import TOKENS, load_context
from .models import BASELINES, load_trained
from .runfolder import RunFolder


def user_indices(seq: Sequences, users: list) -> np.ndarray:
    """Indices of original user ids (compared as strings); unknown ids raise one clear error."""
    index = {str(u): i for i, u in enumerate(seq.user_ids)}
    missing = [u for u in users if str(u) not in index]
    if missing:
        raise G2RecError(f"unknown user {missing[0]!r}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
                         + " : not in the run's user_ids.parquet")
    return np.array([index[str(u)] for u in users], dtype=np.int64)


def user_histories(seq: Sequences, users: np.ndarray, upto: str, max_len: int) -> np.ndarray:
    """``(B, max_len)`` the items before ``upto`` (``all``/``valid``/``test``), left-padded with ``-1``."""
    check_choice("upto", upto, ("all", "valid", "test"))
    end = seq.offsets[1:].copy()
    if upto != "all":
        pos = np.flatnonzero(seq.split == {"valid": VALID, "test": TEST}[upto])
        np.minimum.at(end, seq.users[pos], pos)
    start, stop = seq.offsets[users], end[users]
    hist = np.full((len(users), max_len), -1, dtype=np.int64)
    for k in range(max_len):
        p = stop - 1 - k
        ok = p >= start
        hist[ok, max_len - 1 - k] = seq.items[p[ok]]
    return hist


def recommend(run_dir: str | Path, users: list, model: str = "g2rec-items", k: int = 10, upto: str = "all",
              exclude_history: bool = False, interests: int = 3, max_len: int = 50) -> list[dict]:
    """One dict per user: ``user``, ``items`` (original ids, best first), ``scores``, ``interests``."""
    if k < 1:
        raise G2RecError(f"k={k}: must be >= 1")
    run = RunFolder(run_dir)
    seq = run.sequences()
    idx = user_indices(seq, users)
    if model in BASELINES:
        scorer = PopularityScorer(seq) if model == "popularity" else GraphKNNScorer(run.graph(), seq)
        net = trie = None
    else:
        net, trie, record = load_trained(run, model)
        max_len = net.config.max_len
    hist = torch.from_numpy(user_histories(seq, idx, upto, max_len))
    with torch.no_grad():
        if net is None:
            scores = scorer(hist, idx)
        else:
            h = torch.where(hist < 0, net.num_items, hist)
            if trie is not None:
                items, scores = beam_search(*net.decoding(h, torch.as_tensor(idx)), trie, max(k, record["beam"]))
                scores = torch.full((len(idx), net.num_items), float("-inf")).scatter_(1, items.clamp_min(0), scores)
            else:
                scores = net.item_scores(h)
        if exclude_history:
            scores = scores.clone()
            rows = torch.arange(len(idx))[:, None].expand_as(hist)
            scores[rows[hist >= 0], hist[hist >= 0]] = float("-inf")
        top_scores, top_items = scores.topk(min(k, seq.num_items), dim=1)
    named = _interests(run, seq, hist, interests)
    out = []
    for b, u in enumerate(users):
        ok = torch.isfinite(top_scores[b])
        out.append({"user": _plain(seq.user_ids[idx[b]]),
                    "items": [_plain(seq.item_ids[i]) for i in top_items[b][ok].tolist()],
                    "scores": [round(float(s), 5) for s in top_scores[b][ok]],
                    "interests": named[b]})
    return out


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _interests(run: RunFolder, seq: Sequences, hist: torch.Tensor, top: int) -> list[list[dict]]:
    """Each user's ``top`` prototypes (weight, central items), or empty lists before tokenize."""
    if top < 1 or not (run.path / TOKENS / "prototypes.npz").exists():
        return [[] for _ in range(len(hist))]
    context = load_context(run, need_profiles=True, need_codes=False)
    C = context.num_prototypes
    idx, val = context.member_idx, context.member_val
    degree = torch.from_numpy(np.asarray(run.graph().sum(axis=1)).ravel().astype(np.float32))
    centrality = torch.zeros(C, seq.num_items).index_put_((idx.T.reshape(-1), torch.arange(seq.num_items).repeat(idx.shape[1])),
                                                          (val * degree[:, None]).T.reshape(-1), accumulate=True)
    central = centrality.topk(min(3, seq.num_items), dim=1).indices                  # (C, 3)
    weights = torch.zeros(len(hist), C)
    valid = hist >= 0
    rows = torch.arange(len(hist))[:, None, None].expand(-1, hist.shape[1], idx.shape[1])
    weights.index_put_((rows[valid], idx[hist.clamp_min(0)][valid]), val[hist.clamp_min(0)][valid], accumulate=True)
    weights /= valid.sum(1, keepdim=True).clamp_min(1)
    best_w, best_c = weights.topk(min(top, C), dim=1)
    return [[{"prototype": int(c), "weight": round(float(w), 4),
              "central_items": [_plain(seq.item_ids[i]) for i in central[c].tolist()]}
             for w, c in zip(best_w[b], best_c[b]) if w > 0] for b in range(len(hist))]
