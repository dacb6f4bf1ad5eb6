"""GenRec's alignment metrics: what a semantic-ID generator generates, rated by a reward model.

One query per held-out page (every query when the run has no pages): the history before it.
The generator decodes ``W`` code sequences by beam search without the trie (so it may generate
codes that are no item), best first. With ``p(v | S_u)`` the reward model's next-item
probability (an items-head model, :mod:`g2rec.train.align`):

* ``Reward@K`` = ``max`` over the first ``K`` generated items of ``p(v | S_u)`` (a non-item
  scores 0), averaged over queries (GenRec's Table 3);
* ``HR@K`` = 1 when one of the page's items is among the first ``K`` generated, averaged;
* ``HaR`` (hallucination rate) = the share of the ``W`` generated code sequences that are no item.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data.sequences import Sequences
from ..model.beam import beam_search
from ..tokenize.trie import SIDTrie
from .protocol import histories, model_padding

REWARD_KS = (1, 10)
HIT_KS = (10, 50)


@torch.no_grad()
def reward_metrics(model, trie: SIDTrie, reward, seq: Sequences, split: int, width: int = 50, batch: int = 256,
                   progress=None) -> dict:
    """``Reward@1``, ``Reward@10``, ``HR@10``, ``HR@50``, ``HaR`` and ``num_queries`` of
    ``model`` (a semantic-ID generator) on ``split``, rated by ``reward`` (see the module
    docstring); ``width`` is the beam (at least the largest K)."""
    users, hist, targets, cut = histories(seq, split, max(model.config.max_len, reward.config.max_len))
    first = np.r_[True, cut[1:] != cut[:-1]]                                   # one query per page
    query = np.cumsum(first) - 1
    users, hist = users[first], hist[first]
    page = np.full((len(users), int(np.bincount(query).max())), -1, dtype=np.int64)
    page[query, np.arange(len(query)) - np.flatnonzero(first)[query]] = targets
    sums = {f"Reward@{k}": 0.0 for k in REWARD_KS} | {f"HR@{k}": 0.0 for k in HIT_KS} | {"HaR": 0.0}
    for lo in range(0, len(users), batch):
        h = torch.from_numpy(hist[lo:lo + batch])
        u = torch.from_numpy(users[lo:lo + batch])
        own = model_padding(h[:, -model.config.max_len:], model.num_items)
        items, _ = beam_search(*model.decoding(own, u), trie, width, trie_mask=False)        # (b, W), -1 = no item
        prefs = torch.exp(reward.item_log_probs(model_padding(h[:, -reward.config.max_len:], reward.num_items)))
        rated = torch.where(items >= 0, prefs.gather(1, items.clamp_min(0)), 0.0)
        hit = (items[:, :, None] == torch.from_numpy(page[lo:lo + batch])[:, None, :]).any(-1) & (items >= 0)
        for k in REWARD_KS:
            sums[f"Reward@{k}"] += float(rated[:, :k].max(1).values.sum())
        for k in HIT_KS:
            sums[f"HR@{k}"] += float(hit[:, :k].any(1).sum())
        sums["HaR"] += float((items < 0).float().mean(1).sum())
        if progress is not None:
            progress("reward metrics", min(lo + batch, len(users)), len(users))
    return {k: v / max(len(users), 1) for k, v in sums.items()} | {"num_queries": len(users), "beam": width}
