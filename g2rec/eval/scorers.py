"""A trained model as a scorer of :func:`g2rec.eval.protocol.evaluate_ranking`."""

from __future__ import annotations

import numpy as np
import torch

from ..model.beam import beam_search
from ..tokenize.trie import SIDTrie
from .protocol import TopK, model_padding


def make_scorer(model, trie: SIDTrie | None, beam: int = 20, trie_mask: bool = True, counts: dict | None = None):
    """A protocol scorer of ``model`` (a :class:`~g2rec.model.generator.Generator` or an
    :class:`~g2rec.model.ensemble.Ensemble`): full item scores with the graph prior (``items``
    head, ensembles: ``trie`` None) or beam-searched lists (``sids`` head and its ``trie``).

    With ``trie_mask=False`` the beams decode freely; ``counts`` then tallies ``invalid``
    (codes that are no item) out of ``total`` generated.
    """
    def trimmed(histories: torch.Tensor) -> torch.Tensor:
        """The model's padding for ``-1``, no all-padding columns on the left, on the model's device."""
        return model_padding(histories[:, -model.config.max_len:], model.num_items).to(next(model.parameters()).device)

    @torch.no_grad()
    def score(histories: torch.Tensor, users: np.ndarray):  # results on the CPU, as the protocol ranks there
        h = trimmed(histories)
        if trie is None:
            return model.item_scores(h).cpu()
        items, _ = beam_search(*model.decoding(h, torch.from_numpy(users).to(h.device)), trie, beam, trie_mask)
        if counts is not None:
            counts["invalid"] += int((items < 0).sum())
            counts["total"] += items.numel()
        return TopK(items)

    @torch.no_grad()
    def candidates(histories: torch.Tensor, users: np.ndarray, items: torch.Tensor) -> torch.Tensor:
        """``(B, C)`` scores of given items: code-sequence log-probabilities (sids head)."""
        h = trimmed(histories)
        return model.code_log_probs(h, items.to(h.device), torch.from_numpy(users).to(h.device)).cpu()

    if trie is not None:
        score.candidates = candidates
    return score
