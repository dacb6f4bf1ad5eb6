"""The ``recommend`` stage: top-K items for known users and for new histories, with the
interests that explain them.

A :class:`Recommender` loads a run's model once and answers many requests (``g2rec serve``
keeps one); :func:`recommend` is the one-shot form. For a known user, ``upto`` chooses the
history: ``all`` (everything known, the default for serving), or ``valid``/``test`` (what
preceded the user's held-out validation/test item), so that anyone can score the
recommendations independently and get the numbers of ``g2rec evaluate``. A new history is a
list of original item ids, oldest first; ids the run does not know are left out and reported.

Scores are log-probabilities of being the next item: a softmax over every item of the items
head's scores (with the graph prior, when chosen); the beam's log-probability of the item's
code sequence for the sids head; the log share of the training count (``popularity``) or of
the graph votes (``knn``) for the baselines.

A history's interests are the prototype memberships of its items, averaged (``P`` rows from
``g2rec tokenize``); each prototype ``c`` (shown as ``P<c>`` everywhere) comes with its most central items
(largest membership x weighted degree in the co-engagement graph), as the tokenize report names it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..data.sequences import TEST, VALID, Sequences
from ..errors import DataError, G2RecError, check_choice
from ..eval.baselines import GraphKNNScorer, PopularityScorer
from ..model.beam import beam_search
from .context import TOKENS, load_context
from .models import BASELINES, latest_model, load_trained
from .runfolder import RunFolder


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


class Recommender:
    """A run folder's model, loaded once, recommending for its users and for new histories.

    Args:
        run_dir: a run folder with a trained model (or any run folder, for the baselines).
        model: a trained model's name (``models/NAME``), ``popularity`` or ``knn``; default the
            run's most recent model.
        interests: prototypes returned per history (0 = none).
        max_len: history items the baselines read (a trained model reads its own ``max_len``).
    """

    def __init__(self, run_dir: str | Path, model: str | None = None, interests: int = 3, max_len: int = 50):
        self.run = RunFolder(run_dir)
        self.seq = self.run.sequences()
        self.model = model or latest_model(self.run)
        self.net = self.trie = None
        self.max_len, self.beam = max_len, 0
        if self.model in BASELINES:
            self.scorer = PopularityScorer(self.seq) if self.model == "popularity" else GraphKNNScorer(self.run.graph(), self.seq)
        else:
            self.net, self.trie, record = load_trained(self.run, self.model)
            self.max_len, self.beam = self.net.config.max_len, record["beam"]
        self.user_index = {str(u): i for i, u in enumerate(self.seq.user_ids)}
        self.item_index = {str(i): n for n, i in enumerate(self.seq.item_ids)}
        self.interests = _Interests(self.run, self.seq, interests)

    def users(self, users: list, k: int = 10, upto: str = "all", exclude_history: bool = False) -> list[dict]:
        """One dict per original user id: ``user``, ``items`` (original ids, best first),
        ``scores`` and ``interests``; an unknown user is one clear error naming it."""
        missing = [u for u in users if str(u) not in self.user_index]
        if missing:
            raise G2RecError(f"unknown user {missing[0]!r}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
                             + ": not in the run's user_ids.parquet (give its items as a history instead)")
        idx = np.array([self.user_index[str(u)] for u in users], dtype=np.int64)
        hist = user_histories(self.seq, idx, upto, self.max_len)
        return [{"user": _plain(self.seq.user_ids[i]), **r} for i, r in zip(idx, self._top(hist, idx, k, exclude_history))]

    def histories(self, histories: list[list], k: int = 10, exclude_history: bool = False) -> list[dict]:
        """One dict per history (original item ids, oldest first): ``items``, ``scores``,
        ``interests`` and ``unknown_items`` (ids the run does not know, left out). A history with
        no known item gets the model's answer for an empty history."""
        if not isinstance(histories, (list, tuple)) or not all(isinstance(h, (list, tuple)) for h in histories):
            raise G2RecError("histories must be a list of lists of item ids")
        hist = np.full((len(histories), self.max_len), -1, dtype=np.int64)
        unknown = []
        for row, history in enumerate(histories):
            known = [self.item_index[str(i)] for i in history if str(i) in self.item_index][-self.max_len:]
            unknown.append([i for i in history if str(i) not in self.item_index])
            hist[row, self.max_len - len(known):] = known
        results = self._top(hist, None, k, exclude_history)
        return [{**r, "unknown_items": u} for r, u in zip(results, unknown)]

    def _top(self, hist: np.ndarray, users: np.ndarray | None, k: int, exclude_history: bool) -> list[dict]:
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise G2RecError(f"k={k!r}: must be an integer >= 1")
        hist = torch.from_numpy(hist)
        with torch.no_grad():
            scores = self._log_probs(hist, users, k)
            if exclude_history:
                rows = torch.arange(len(hist))[:, None].expand_as(hist)
                scores[rows[hist >= 0], hist[hist >= 0]] = float("-inf")
            top_scores, top_items = scores.topk(min(k, self.seq.num_items), dim=1)
        named = self.interests(hist)
        out = []
        for b in range(len(hist)):
            ok = torch.isfinite(top_scores[b])
            out.append({"items": [_plain(self.seq.item_ids[i]) for i in top_items[b][ok].tolist()],
                        "scores": [round(float(s), 5) for s in top_scores[b][ok]], "interests": named[b]})
        return out

    def _log_probs(self, hist: torch.Tensor, users: np.ndarray | None, k: int) -> torch.Tensor:
        """``(B, I)`` next-item log-probabilities (the module docstring), ``-inf`` where none."""
        if self.net is None:
            scores = self.scorer(hist, users)
            return torch.log(scores / scores.sum(1, keepdim=True).clamp_min(1e-30))
        h = torch.where(hist < 0, self.net.num_items, hist)
        if self.trie is None:
            return torch.log_softmax(self.net.item_scores(h), dim=1)
        start = self.net.decoding(h, None if users is None else torch.as_tensor(users))
        items, scores = beam_search(*start, self.trie, max(k, self.beam))
        return torch.full((len(hist), self.net.num_items), float("-inf")).scatter_(1, items.clamp_min(0), scores)


def recommend(run_dir: str | Path, users: list, model: str | None = None, k: int = 10, upto: str = "all",
              exclude_history: bool = False, interests: int = 3, max_len: int = 50) -> list[dict]:
    """:meth:`Recommender.users` in one call: one dict per user, ``user``, ``items`` (original ids,
    best first), ``scores`` (log-probabilities), ``interests``; ``model`` a trained model's name
    (default the most recent) or a baseline."""
    return Recommender(run_dir, model, interests, max_len).users(users, k, upto, exclude_history)


def read_users(path: str | Path) -> list[str]:
    """The user ids of a file, one per line (blank lines skipped)."""
    path = Path(path)
    if not path.is_file():
        raise G2RecError(f"{path}: no such file")
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_histories(path: str | Path) -> list[list]:
    """The histories of a JSONL file, one JSON list of item ids per line (blank lines skipped);
    a line that is not one is an error naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise G2RecError(f"{path}: no such file")
    histories = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                history = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"not JSON ({e.msg})", path=path, line=line_no) from None
            if not isinstance(history, list) or not all(isinstance(i, (str, int)) and not isinstance(i, bool) for i in history):
                raise DataError(f"a history is a JSON list of item ids (strings or integers), got {line.strip()[:60]}",
                                path=path, line=line_no)
            histories.append(history)
    if not histories:
        raise G2RecError(f"{path}: no histories (one JSON list of item ids per line)")
    return histories


def _plain(value):
    return value.item() if hasattr(value, "item") else value


class _Interests:
    """Each history's ``top`` prototypes: ``{"prototype": c, "weight", "central_items"}``
    (empty lists before tokenize or when ``top`` is 0)."""

    def __init__(self, run: RunFolder, seq: Sequences, top: int):
        self.top, self.seq = top, seq
        if top < 1 or not (run.path / TOKENS / "prototypes.npz").exists():
            self.top = 0
            return
        context = load_context(run, need_profiles=True, need_codes=False)
        self.idx, self.val = context.member_idx, context.member_val                   # (I, rho)
        C, rho = context.num_prototypes, self.idx.shape[1]
        degree = torch.from_numpy(np.asarray(run.graph().sum(axis=1)).ravel().astype(np.float32))
        centrality = torch.zeros(C, seq.num_items).index_put_(
            (self.idx.T.reshape(-1), torch.arange(seq.num_items).repeat(rho)),
            (self.val * degree[:, None]).T.reshape(-1), accumulate=True)
        self.central = centrality.topk(min(3, seq.num_items), dim=1).indices.tolist()  # (C, 3)
        self.num_prototypes = C

    def __call__(self, hist: torch.Tensor) -> list[list[dict]]:
        if self.top == 0:
            return [[] for _ in range(len(hist))]
        weights = torch.zeros(len(hist), self.num_prototypes)
        valid = hist >= 0
        rows = torch.arange(len(hist))[:, None, None].expand(-1, hist.shape[1], self.idx.shape[1])
        weights.index_put_((rows[valid], self.idx[hist.clamp_min(0)][valid]), self.val[hist.clamp_min(0)][valid],
                           accumulate=True)
        weights /= valid.sum(1, keepdim=True).clamp_min(1)
        best_w, best_c = weights.topk(min(self.top, self.num_prototypes), dim=1)
        return [[{"prototype": c, "weight": round(float(w), 4),
                  "central_items": [_plain(self.seq.item_ids[i]) for i in self.central[c]]}
                 for w, c in zip(best_w[b], best_c[b].tolist()) if w > 0] for b in range(len(hist))]
