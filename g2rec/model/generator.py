"""The interest-conditioned generator: a causal Transformer over items and interest profiles.

Input per history item ``i_t`` (``t = 1..T``, oldest first):

* the item token ``x_t``: its id embedding (``item_input='id'``), or its semantic-ID codes
  ``(c_1..c_L)`` embedded per level, concatenated and merged by one linear layer
  (``item_input='sid'``, GenRec's token merger);
* its interest profile ``y_t = W_y y_{i_t}`` (``y_i = P_i V`` from ``g2rec tokenize``),
  added, ``[x_1 + y_1, ..., x_T + y_T]`` (``profiles='add'``), interleaved as its own position,
  ``[x_1, y_1, x_2, y_2, ..., x_T, y_T]`` (G2Rec's layout, ``'interleave'``), or left out
  (``'none'``: SASRec / TIGER).

In training, ``item_dropout`` zeroes entries of the whole item table ``E`` once per step, the same
mask for the inputs and the tied output (RecTools' SASRec, the eSASRec paper's backbone): every
item's score is computed from a noisy copy of its vector, a regularizer of the output side that
input dropout alone does not give.

With ``item_init`` naming a ``g2rec embed`` method, the id embedding starts from those item
vectors (each row rescaled to the norm of the random initialization) and is trained from there.

The hidden state ``h_t`` that has seen ``i_1..i_t`` (at ``y_t`` when interleaved) predicts
``i_{t+1}`` with one of two heads:

* ``items``: scores of all ``I`` items, ``h_t E^T``, tied to the item embedding ``E`` (or the
  merged SID embeddings), trained by full-softmax cross-entropy, sampled softmax or gBCE
  (``loss``, :mod:`g2rec.model.losses`);
* ``sids``: the ``L`` code tokens of ``i_{t+1}``, level by level,
  ``p(c_l | h_t, c_<l) = softmax(W_l g_l(h_t + sum_{j<l} e_j(c_j)))``; decoded by beam search
  (:mod:`g2rec.model.beam`) constrained to the trie of real items.

Loss: ``L = CE(next item or its codes) + lambda * CE(p_{i_{t+1}}, softmax(W_p h_t))``, the
profile loss being the soft-label cross-entropy of the next item's prototype memberships,
averaged over the (position, target) pairs. With GenRec's page-wise next-token prediction
(``g2rec train --ntp page``) the position that closes a page has every item of the next page
as a target and the positions inside a page have none.

At inference the ``items`` head's scores may add the graph prior
(:class:`~g2rec.model.prior.PriorScoring`, chosen on validation after training).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import check_fields
from ..errors import ConfigError, check_choice
from .losses import (
    LOSSES,
    NEGATIVES_PER,
    SAMPLERS,
    draw_negatives,
    full_softmax,
    gbce,
    in_batch_softmax,
    popularity_log_q,
    sampled_softmax,
)
from .prior import PriorScoring
from .transformer import BLOCKS, Dropout, Transformer, TransformerConfig

HEADS = ("items", "sids")
PROFILES = ("add", "interleave", "none")
ITEM_INPUTS = ("id", "sid")


@dataclass
class GeneratorConfig:
    head: str = "items"          # items | sids
    profiles: str = "add"        # add | interleave | none
    item_input: str = "id"       # id | sid
    max_len: int = 50            # history items the model reads (oldest dropped)
    dim: int = 64
    layers: int = 2
    heads: int = 2
    dropout: float = 0.3
    item_dropout: float = 0.0    # dropout on the item table E, inputs and tied output alike, in training
    profile_weight: float = 1.0  # lambda of the profile loss (0 = off)
    item_init: str = "none"      # none | an embed method (lightgcn, spectral, sasrec...) whose vectors start E
    block: str = "gpt"           # gpt (pre-LayerNorm) | ligr (gated pre-norm, SwiGLU)
    ff_mult: int = 4             # feed-forward width = ff_mult * dim
    loss: str = "ce"             # items head: ce (full softmax) | sampled (sampled softmax) | gbce
    negatives: int = 256         # loss sampled / gbce: negatives drawn
    negatives_per: str = "batch"  # batch (shared by its positions) | position (drawn for each)
    sampler: str = "uniform"     # loss sampled: uniform | popularity | in-batch (logQ-corrected)
    gbce_t: float = 0.75         # loss gbce: calibration t in [0, 1]

    def __post_init__(self):
        check_fields(self)
        check_choice("head", self.head, HEADS)
        check_choice("profiles", self.profiles, PROFILES)
        check_choice("item_input", self.item_input, ITEM_INPUTS)
        check_choice("block", self.block, BLOCKS)
        check_choice("loss", self.loss, LOSSES)
        check_choice("sampler", self.sampler, SAMPLERS)
        check_choice("negatives_per", self.negatives_per, NEGATIVES_PER)
        if self.loss != "ce" and self.head != "items":
            raise ConfigError(f"loss={self.loss!r} is a loss of the items head (head={self.head!r} trains its codes by CE)")
        if self.loss == "gbce" and self.sampler != "uniform":
            raise ConfigError(f"loss='gbce' samples its negatives uniformly (got sampler={self.sampler!r})")
        if self.negatives < 1 or self.ff_mult < 1 or not 0 <= self.gbce_t <= 1:
            raise ConfigError(f"need negatives >= 1 (got {self.negatives}), ff_mult >= 1 (got {self.ff_mult}) "
                              f"and gbce_t in [0, 1] (got {self.gbce_t})")
        for name in ("dim", "layers", "heads"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)} must be >= 1")
        if self.dim % self.heads or not 0 <= self.dropout < 1:
            raise ConfigError(f"dim={self.dim} must be a multiple of heads={self.heads} and dropout={self.dropout} in [0, 1)")
        if not 0 <= self.item_dropout < 1:
            raise ConfigError(f"item_dropout={self.item_dropout} must be in [0, 1)")
        if self.item_init != "none" and self.item_input != "id":
            raise ConfigError(f"item_init={self.item_init!r} initializes id embeddings: it needs item_input='id'")
        if self.max_len < 1 or self.profile_weight < 0:
            raise ConfigError(f"max_len={self.max_len} must be >= 1 and profile_weight={self.profile_weight} >= 0")


@dataclass
class InterestContext:
    """What ``g2rec tokenize`` gives the generator (any field may be None when unused).

    profiles: ``(I, d_y)`` float item interest profiles ``y_i = P_i V``.
    member_idx, member_val: ``(I, rho)`` prototype indices and weights of each item's row of P.
    num_prototypes: ``C``.
    codes: ``(I, L)`` long semantic-ID codes (unique per item); ``codebook_sizes``: ``(L,)`` K_l.
    item_vectors: ``(I, D)`` float vectors that initialize the id embedding (``item_init``).
    item_counts: ``(I,)`` training interactions per item (``sampler`` popularity / in-batch).
    """

    profiles: torch.Tensor | None = None
    member_idx: torch.Tensor | None = None
    member_val: torch.Tensor | None = None
    num_prototypes: int = 0
    codes: torch.Tensor | None = None
    codebook_sizes: tuple[int, ...] = ()
    item_vectors: torch.Tensor | None = None
    item_counts: torch.Tensor | None = None


class CodeHead(nn.Module):
    """Autoregressive semantic-ID head: level-l logits from ``h + sum_{j<l} e_j(c_j)``."""

    def __init__(self, dim: int, sizes: tuple[int, ...]):
        super().__init__()
        self.sizes = sizes
        self.code_emb = nn.ModuleList(nn.Embedding(k, dim) for k in sizes)
        self.mix = nn.ModuleList(nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim), nn.GELU()) for _ in sizes)
        self.out = nn.ModuleList(nn.Linear(dim, k) for k in sizes)

    def level_logits(self, state: torch.Tensor, level: int) -> torch.Tensor:
        """``state (..., D)`` = h plus the embeddings of the earlier codes -> ``(..., K_level)``."""
        return self.out[level](self.mix[level](state))

    def step(self, state: torch.Tensor, level: int, code: torch.Tensor) -> torch.Tensor:
        """The state after choosing ``code (...)`` at ``level``."""
        return state + self.code_emb[level](code)

    def level_log_probs(self, state: torch.Tensor, level: int) -> torch.Tensor:
        """Beam search's decoder (:func:`g2rec.model.beam.beam_search`): ``state (B, W, D)`` -> ``(B, W, K_level)``."""
        return F.log_softmax(self.level_logits(state, level), dim=-1)

    def advance(self, state: torch.Tensor, beam: torch.Tensor, level: int, code: torch.Tensor) -> torch.Tensor:
        """The states of beams ``beam (B, W)`` after choosing ``code (B, W)``."""
        return self.step(state.gather(1, beam[..., None].expand(-1, -1, state.shape[-1])), level, code)

    def token_log_probs(self, hidden: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """``log p(c_l | h, c_<l)`` of each level of candidate code sequences (any codes, items
        or not): ``hidden (B, D)``, ``codes (B, C, L)`` -> ``(B, C, L)`` (unconstrained softmax
        per level)."""
        state = hidden[:, None, :].expand(-1, codes.shape[1], -1)
        out = []
        for level in range(len(self.sizes)):
            log_p = F.log_softmax(self.level_logits(state, level), dim=-1)           # (B, C, K_l)
            out.append(log_p.gather(-1, codes[..., level:level + 1]).squeeze(-1))
            state = self.step(state, level, codes[..., level])
        return torch.stack(out, dim=-1)

    def sequence_log_prob(self, hidden: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """``log p(c_1..c_L | h) = sum_l log p(c_l | h, c_<l)``: ``hidden (B, D)``, ``codes (B, C, L)``
        -> ``(B, C)``."""
        return self.token_log_probs(hidden, codes).sum(-1)

    def item_log_probs(self, hidden: torch.Tensor, codes: torch.Tensor, budget: int = 1 << 25) -> torch.Tensor:
        """``log p(item | h)`` of every item, renormalized over the items (the trie's leaves):
        ``hidden (B, D)``, ``codes (I, L)`` -> ``(B, I)``.

        Level ``l``'s distribution depends on the code prefix ``c_<l`` only, so it is computed
        once per distinct prefix (1 at level 1, at most ``K_1`` at level 2, ...) and gathered
        for the items; users go in chunks of at most ``budget`` floats per level."""
        levels = []
        for level in range(len(self.sizes)):
            if level == 0:  # one empty prefix, shared by every item
                prefixes, inverse = codes[:1, :0], codes.new_zeros(codes.shape[0])
            else:
                prefixes, inverse = torch.unique(codes[:, :level], dim=0, return_inverse=True)  # (U, level), (I,)
            prefix_state = sum((self.code_emb[j](prefixes[:, j]) for j in range(level)),
                               hidden.new_zeros(prefixes.shape[0], hidden.shape[1]))          # (U, D)
            levels.append((prefix_state, inverse))
        widest = max(p.shape[0] * max(k, hidden.shape[1]) for (p, _), k in zip(levels, self.sizes))
        chunk = max(1, budget // widest)
        out = []
        for h in hidden.split(chunk):
            total = h.new_zeros(h.shape[0], codes.shape[0])
            for level, (prefix_state, inverse) in enumerate(levels):
                log_p = F.log_softmax(self.level_logits(h[:, None, :] + prefix_state, level), dim=-1)  # (b, U, K_l)
                total = total + log_p[:, inverse, codes[:, level]]
            out.append(F.log_softmax(total, dim=-1))
        return torch.cat(out)

    def loss(self, hidden: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Teacher-forced mean CE over levels: ``hidden (N, D)``, ``codes (N, L)``."""
        state, total = hidden, hidden.new_zeros(())
        for level in range(len(self.sizes)):
            total = total + F.cross_entropy(self.level_logits(state, level), codes[:, level])
            state = self.step(state, level, codes[:, level])
        return total / len(self.sizes)


class Generator(PriorScoring, nn.Module):
    """See the module docstring. ``num_items`` = I; histories are ``(B, T)`` long, left-padded with ``I``."""

    def __init__(self, num_items: int, config: GeneratorConfig, context: InterestContext):
        super().__init__()
        self.config, self.num_items = config, num_items
        if config.profiles != "none" and context.profiles is None:
            raise ConfigError(f"profiles={config.profiles!r} needs interest profiles: run `g2rec tokenize` first")
        if (config.head == "sids" or config.item_input == "sid") and context.codes is None:
            raise ConfigError("semantic IDs are needed (head=sids or item_input=sid): run `g2rec tokenize` first")
        positions = 2 * config.max_len if config.profiles == "interleave" else config.max_len
        self.transformer = Transformer(TransformerConfig(num_items, positions, config.dim, config.layers,
                                                         config.heads, config.dropout, mlp_ratio=config.ff_mult,
                                                         block=config.block))
        self.item_drop = Dropout(config.item_dropout)
        if config.loss == "sampled" and config.sampler != "uniform":
            if context.item_counts is None:
                raise ConfigError(f"sampler={config.sampler!r} needs the items' training counts")
            self.register_buffer("log_q", popularity_log_q(context.item_counts), persistent=False)
        if config.item_init != "none":
            self._init_item_embedding(context.item_vectors)
        pad = lambda x, fill: torch.cat([x, x.new_full((1,) + x.shape[1:], fill)])
        if config.profiles != "none":
            self.register_buffer("profiles", pad(context.profiles.float(), 0.0), persistent=False)
            self.profile_proj = nn.Linear(context.profiles.shape[1], config.dim)
        self.use_profile_loss = config.profile_weight > 0 and context.member_idx is not None
        if self.use_profile_loss:
            self.register_buffer("member_idx", context.member_idx.long(), persistent=False)
            self.register_buffer("member_val", context.member_val.float(), persistent=False)
            self.profile_head = nn.Linear(config.dim, context.num_prototypes)
        if config.head == "sids" or config.item_input == "sid":
            sizes = tuple(int(k) for k in context.codebook_sizes)
            self.register_buffer("codes", pad(context.codes.long(), 0), persistent=False)
            if config.item_input == "sid":
                self.code_in = nn.ModuleList(nn.Embedding(k, config.dim) for k in sizes)
                self.merge = nn.Linear(len(sizes) * config.dim, config.dim)
            if config.head == "sids":
                self.code_head = CodeHead(config.dim, sizes)

    @torch.no_grad()
    def _init_item_embedding(self, vectors: torch.Tensor | None) -> None:
        """Rows of ``vectors (I, D)`` as directions of ``E``, at the random rows' mean norm
        (all-zero rows, e.g. isolated items, keep their random start)."""
        weight = self.transformer.item_emb.weight                                    # (I+1, D)
        if vectors is None or tuple(vectors.shape) != (self.num_items, self.config.dim):
            got = None if vectors is None else tuple(vectors.shape)
            raise ConfigError(f"item_init={self.config.item_init!r}: need ({self.num_items}, {self.config.dim}) "
                              f"item vectors, got {got}")
        norms = vectors.norm(dim=1, keepdim=True)
        target = weight[:-1].norm(dim=1).mean()
        weight[:-1] = torch.where(norms > 0, vectors / norms.clamp_min(1e-12) * target, weight[:-1])

    # ----------------------------------------------------------------------------- inputs
    def item_tokens(self, items: torch.Tensor) -> torch.Tensor:
        """``items (...)`` ids in ``0..I`` -> ``(..., D)``; padding gives a zero vector."""
        if self.config.item_input == "id":
            return self.transformer.embed_items(items)
        codes = self.codes[items]                                                   # (..., L)
        merged = self.merge(torch.cat([emb(codes[..., l]) for l, emb in enumerate(self.code_in)], dim=-1))
        return merged * (items != self.num_items)[..., None]

    def token_table(self) -> torch.Tensor:
        """``(I+1, D)`` every item's token (the padding row zero), ``item_dropout`` applied in
        training: one mask per call, for a step's inputs and its tied output alike."""
        if self.config.item_input == "id":
            table = self.transformer.item_emb.weight
        else:
            table = self.item_tokens(torch.arange(self.num_items + 1, device=self.transformer.pos_emb.weight.device))
        return self.item_drop(table)

    def hidden(self, items: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
        """``items (B, T)`` left-padded histories -> ``(B, T, D)``: ``h_t`` has seen ``i_1..i_t``;
        the item tokens are rows of ``table`` (:meth:`token_table`) when given."""
        B, T = items.shape
        pad = items == self.num_items
        x = self.item_tokens(items) if table is None else table[items]
        positions = torch.arange(self.config.max_len - T, self.config.max_len, device=items.device)
        if self.config.profiles == "none":
            return self.transformer(x, pad, positions)
        y = self.profile_proj(self.profiles[items]) * (~pad)[..., None]
        if self.config.profiles == "add":
            return self.transformer(x + y, pad, positions)
        tokens = torch.stack([x, y], dim=2).reshape(B, 2 * T, -1)                    # x_1, y_1, x_2, y_2...
        n = 2 * self.config.max_len
        h = self.transformer(tokens, pad.repeat_interleave(2, dim=1), torch.arange(n - 2 * T, n, device=items.device))
        return h[:, 1::2]                                                           # states at y_t

    # ----------------------------------------------------------------------------- heads
    def item_vectors(self) -> torch.Tensor:
        """``(I, D)`` the tied output embedding of every item."""
        if self.config.item_input == "id":
            return self.transformer.item_vectors
        return self.item_tokens(torch.arange(self.num_items, device=self.transformer.pos_emb.weight.device))

    def item_logits(self, items: torch.Tensor) -> torch.Tensor:
        """``(B, I)`` the items head's next-item logits after each history ``items (B, T)``:
        ``h_T E^T``. ``item_scores``, from :class:`~g2rec.model.prior.PriorScoring`, adds the prior."""
        return self.hidden(items)[:, -1] @ self.item_vectors().T

    def item_log_probs(self, items: torch.Tensor) -> torch.Tensor:
        """``(B, I)`` next-item log-probabilities after ``items (B, T)``: the items head's softmax,
        or the sids head's code-sequence probability of every item renormalized over the items
        (what beam search ranks, without the beam), so that either head can join an ensemble."""
        if self.config.head == "sids":
            return self.code_head.item_log_probs(self.hidden(items)[:, -1], self.codes[:-1])
        return F.log_softmax(self.item_logits(items), dim=-1)

    def decoding(self, items: torch.Tensor, users: torch.Tensor | None = None) -> tuple[CodeHead, torch.Tensor]:
        """The sids head and its start state ``(B, 1, D)`` for :func:`g2rec.model.beam.beam_search`."""
        return self.code_head, self.hidden(items)[:, -1:]

    def code_log_probs(self, items: torch.Tensor, targets: torch.Tensor, users: torch.Tensor | None = None
                       ) -> torch.Tensor:
        """``(B, C)`` code-sequence log-probabilities of ``targets (B, C)`` after ``items (B, T)``."""
        return self.token_log_probs(items, self.codes[targets]).sum(-1)

    def token_log_probs(self, items: torch.Tensor, codes: torch.Tensor, users: torch.Tensor | None = None
                        ) -> torch.Tensor:
        """``(B, C, L)`` per-level log-probabilities of code sequences ``codes (B, C, L)`` (items
        or not) after ``items (B, T)``: what preference alignment (:mod:`g2rec.train.align`) trains."""
        return self.code_head.token_log_probs(self.hidden(items)[:, -1], codes)

    def forward(self, items: torch.Tensor, targets: torch.Tensor | None = None
                ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """``(scores, loss)``, nanoGPT's contract.

        Without ``targets``: ``scores (B, I)`` next-item log-probabilities after each history
        ``items (B, T)`` (:meth:`item_log_probs`), ``loss`` None. With ``targets (B, T)``, the
        next item after each position (``I`` = no target), or ``(B, T, P)``, up to ``P`` targets
        per position (page-wise NTP, each a term of the loss): ``loss`` the training loss of the
        module docstring and ``scores (N, I)`` the items head's logits at the N target positions
        (row-major) under ``loss='ce'``; None otherwise (a sampled loss scores no full catalogue,
        and the sids head's per-level logits stay inside its loss).
        """
        if targets is None:
            return self.item_log_probs(items), None
        table = self.token_table() if self.config.item_dropout > 0 and self.training else None
        h = self.hidden(items, table)
        if targets.dim() == 3:  # page-wise: several targets per position
            h = h[:, :, None].expand(-1, -1, targets.shape[2], -1)
        keep = targets != self.num_items
        h, targets = h[keep], targets[keep]                                         # (N, D), (N,)
        vectors = self.item_vectors() if table is None else table[: self.num_items]  # (I, D) the tied output
        logits = None
        if self.config.head == "sids":
            loss = self.code_head.loss(h, self.codes[targets])
        elif self.config.loss == "ce":
            logits, loss = full_softmax(h, vectors, targets)
        else:
            loss = self.sampled_loss(h, vectors, targets)
        if self.use_profile_loss:
            log_p = F.log_softmax(self.profile_head(h), dim=-1)                   # (N, C)
            profile = -(self.member_val[targets] * log_p.gather(1, self.member_idx[targets])).sum(1).mean()
            loss = loss + self.config.profile_weight * profile
        return logits, loss

    def sampled_loss(self, h: torch.Tensor, table: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The items head's sampled softmax or gBCE at ``h (N, D)`` against the item vectors
        ``table (I, D)`` with ``targets (N,)``."""
        config = self.config
        log_q = getattr(self, "log_q", None)
        if config.loss == "sampled" and config.sampler == "in-batch":
            return in_batch_softmax(h, table, targets, log_q)
        negatives = draw_negatives(config.negatives, self.num_items, log_q, h.device,
                                   positions=len(h) if config.negatives_per == "position" else 0)
        if config.loss == "gbce":
            return gbce(h, table, targets, negatives, self.num_items, config.gbce_t)
        return sampled_softmax(h, table, targets, negatives, log_q)
