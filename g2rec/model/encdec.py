"""TIGER's generator: a T5-style encoder-decoder over semantic-ID tokens.

An item ``i`` is its ``L`` codes ``(c_1..c_L)``; code ``c`` of level ``l`` is token ``o_l + c`` of
one shared vocabulary (``o_l = K_1 + .. + K_{l-1}``), which also holds a padding token, the
decoder's start token ``s`` and ``U`` hashed user tokens (TIGER: 2,000).

* Encoder, bidirectional, over the history's tokens, oldest first, with learned positions
  counted from the newest token (so the newest item's codes keep theirs). TIGER's layout
  (``encoder_input='codes'``) reads every code, ``[u, c^1_1 .. c^1_L, .., c^T_1 .. c^T_L]``;
  GenRec's token merger (``encoder_input='merged'``) reads one token per item,
  ``x_t = W [E_{c^t_1}; ..; E_{c^t_L}]`` (``W`` a ``(D, L D)`` linear map), ``L`` times fewer
  encoder tokens for the same history. ``u`` = token ``user mod U`` (none for a history without
  a user). G2Rec's interest context (``profiles='add'``): each history item's interest profile
  ``y_i = P_i V`` (:mod:`g2rec.tokenize.profiles`), projected, is added to its token(s).
* Decoder, causal, over ``[s, c_1, .., c_{L-1}]`` with cross-attention to the encoder's
  states ``m``. Its state ``g_l`` after ``c_<l`` scores level ``l``'s codes against their own
  (tied) token embeddings ``E``:

  .. math::
      p(c_l = k \\mid \\text{history}, c_{<l}) = \\operatorname{softmax}_k(g_l \\cdot E_{o_l + k})

* Loss: teacher-forced cross-entropy averaged over the ``L`` levels, one target item per sample
  (the item after the history; with page-wise NTP, ``--ntp page``, each item of a page after
  the history before its page). Dropout on the embeddings and on every residual branch, not on
  the attention weights, so that scaled-dot-product attention keeps its fused kernel.
* SODA (``soda_weight = lambda > 0``, :mod:`g2rec.model.soda`): ``+ lambda L_SODA``, the
  history's soft codes being those of ``MLP(mean of its encoder states)`` in the tokenizer's
  space (the model then needs the tokenizer's item vectors and codebooks, ``code_space``).
* Decoding: :func:`g2rec.model.beam.beam_search` constrained to the trie of real items, this
  module being its decoder: the cross-attention keys and values of ``m`` are computed once per
  user (the beams are that user's queries), the self-attention keys and values of earlier
  levels are cached per beam, so each level runs the decoder on one new token per beam.

Shapes: ``B`` users, ``T`` history items (``<= max_len``), ``S = T L (+1)`` encoder tokens
(``T (+1)`` merged),
``W`` beams, ``D`` = ``dim``, ``H`` heads of ``head_dim``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import check_fields
from ..errors import ConfigError, check_choice
from ..tokenize.trie import SIDTrie
from . import soda
from .transformer import Dropout

ENCODER_INPUTS = ("codes", "merged")
PROFILES = ("none", "add")
CODE_METHODS = ("rkmeans", "rqvae")
TOKENIZERS = ("frozen", "trained")


@dataclass
class EncoderDecoderConfig:
    max_len: int = 20          # history items the encoder reads (oldest dropped)
    dim: int = 128             # d_model
    encoder_layers: int = 4
    decoder_layers: int = 4
    heads: int = 6
    head_dim: int = 64         # attention width = heads * head_dim (T5's d_kv; need not equal dim)
    ff_mult: int = 8           # feed-forward width = ff_mult * dim
    dropout: float = 0.1
    user_tokens: int = 2000    # U hashed user tokens (0 = no user token)
    encoder_input: str = "codes"  # codes (TIGER: L tokens per history item) | merged (GenRec: one)
    codes_from: str = "sasrec"     # plain codes (tiger, soda-tiger): the `g2rec embed` method they quantize
    codes_method: str = "rkmeans"  # plain codes: rkmeans (residual k-means) | rqvae (TIGER's RQ-VAE)
    profiles: str = "none"     # none | add (each history item's interest profile added to its tokens)
    soda_weight: float = 0.0   # lambda of SODA's distributional BPR loss (0 = off)
    soda_beta: float = 10.0    # SODA's scale beta
    soda_tau: float = 1.0      # SODA's soft-code temperature, in units of each level's mean squared residual
    tokenizer: str = "frozen"  # frozen (codes fixed before training) | trained (ETEGRec, g2rec.model.etegrec)
    sia_weight: float = 0.0    # tokenizer='trained': mu, ETEGRec's sequence-item alignment
    psa_weight: float = 0.0    # tokenizer='trained': lambda, ETEGRec's preference-semantic alignment
    psa_tau: float = 0.07      # temperature of the preference-semantic InfoNCE
    tokenizer_lr: float = 1e-4  # learning rate of the tokenizer's epochs
    cycle: int = 2             # epochs per cycle: the first trains the tokenizer, the others the generator
    warm_epochs: int = 10      # epochs before the alignment losses switch on
    tokenizer_epochs: int = 100  # cycles run up to this epoch; the tokenizer stays frozen after it

    head = property(lambda self: "sids", doc="what it generates: semantic IDs, decoded by beam search")

    def __post_init__(self):
        check_fields(self)
        for name in ("max_len", "dim", "encoder_layers", "decoder_layers", "heads", "head_dim", "ff_mult"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)} must be >= 1")
        check_choice("encoder_input", self.encoder_input, ENCODER_INPUTS)
        check_choice("profiles", self.profiles, PROFILES)
        check_choice("codes_method", self.codes_method, CODE_METHODS)
        check_choice("tokenizer", self.tokenizer, TOKENIZERS)
        if self.tokenizer == "frozen" and self.soda_weight > 0 and self.codes_method != "rkmeans":
            raise ConfigError(f"SODA aligns to residual k-means codebooks: soda_weight needs codes_method='rkmeans' "
                              f"(got {self.codes_method!r})")
        if self.tokenizer == "frozen" and (self.sia_weight or self.psa_weight):
            raise ConfigError(f"sia_weight and psa_weight align a trained tokenizer: they need tokenizer='trained' "
                              f"(got {self.sia_weight}, {self.psa_weight})")
        if self.tokenizer == "trained" and self.codes_method != "rqvae":
            raise ConfigError(f"tokenizer='trained' trains an RQ-VAE: it needs codes_method='rqvae' (got {self.codes_method!r})")
        if min(self.sia_weight, self.psa_weight, self.warm_epochs, self.tokenizer_epochs) < 0 or \
                self.psa_tau <= 0 or self.tokenizer_lr <= 0 or self.cycle < 2:
            raise ConfigError(f"need sia_weight, psa_weight, warm_epochs, tokenizer_epochs >= 0, psa_tau > 0, "
                              f"tokenizer_lr > 0 and cycle >= 2 (got {self.sia_weight}, {self.psa_weight}, "
                              f"{self.warm_epochs}, {self.tokenizer_epochs}, {self.psa_tau}, {self.tokenizer_lr}, {self.cycle})")
        if self.soda_weight < 0 or self.soda_beta <= 0 or self.soda_tau <= 0:
            raise ConfigError(f"need soda_weight >= 0, soda_beta > 0 and soda_tau > 0 (got {self.soda_weight}, "
                              f"{self.soda_beta}, {self.soda_tau})")
        if not 0 <= self.dropout < 1 or self.user_tokens < 0:
            raise ConfigError(f"need dropout in [0, 1) (got {self.dropout}) and user_tokens >= 0 (got {self.user_tokens})")


class Attention(nn.Module):
    """Multi-head attention of queries ``x`` over keys/values made by :meth:`keys_values`."""

    def __init__(self, config: EncoderDecoderConfig):
        super().__init__()
        inner = config.heads * config.head_dim
        self.heads, self.head_dim = config.heads, config.head_dim
        self.q = nn.Linear(config.dim, inner)
        self.kv = nn.Linear(config.dim, 2 * inner)
        self.proj = nn.Linear(inner, config.dim)
        self.resid_dropout = Dropout(config.dropout)

    def split(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, H d)`` -> ``(B, H, T, d)``."""
        return x.view(*x.shape[:-1], self.heads, self.head_dim).transpose(-3, -2)

    def keys_values(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x (B, S, D)`` -> keys and values, each ``(B, H, S, d)``."""
        k, v = self.kv(x).chunk(2, dim=-1)
        return self.split(k), self.split(v)

    def forward(self, x: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None,
                causal: bool = False) -> torch.Tensor:
        """``x (B, T, D)`` over ``k, v (B, H, S, d)``; ``mask`` bool broadcastable to ``(B, H, T, S)``
        (True = may attend). Returns ``(B, T, D)``."""
        q = self.split(self.q(x))  # no dropout on attention weights: SDPA keeps its fused CPU kernel
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)
        return self.resid_dropout(self.proj(y.transpose(-3, -2).flatten(-2)))


def feed_forward(config: EncoderDecoderConfig) -> nn.Sequential:
    hidden = config.ff_mult * config.dim
    return nn.Sequential(nn.Linear(config.dim, hidden), nn.GELU(), nn.Linear(hidden, config.dim), Dropout(config.dropout))


class EncoderLayer(nn.Module):
    """Pre-LayerNorm: ``x + attn(ln(x))`` over the whole (unpadded) history, then ``x + ff(ln(x))``."""

    def __init__(self, config: EncoderDecoderConfig):
        super().__init__()
        self.ln_1, self.attn = nn.LayerNorm(config.dim), Attention(config)
        self.ln_2, self.ff = nn.LayerNorm(config.dim), feed_forward(config)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        y = self.ln_1(x)
        x = x + self.attn(y, *self.attn.keys_values(y), mask)
        return x + self.ff(self.ln_2(x))


class DecoderLayer(nn.Module):
    """Pre-LayerNorm: causal self-attention, cross-attention to the encoder, feed-forward."""

    def __init__(self, config: EncoderDecoderConfig):
        super().__init__()
        self.ln_1, self.self_attn = nn.LayerNorm(config.dim), Attention(config)
        self.ln_2, self.cross = nn.LayerNorm(config.dim), Attention(config)
        self.ln_3, self.ff = nn.LayerNorm(config.dim), feed_forward(config)

    def forward(self, x: torch.Tensor, memory: tuple[torch.Tensor, torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: ``x (B, L, D)``, ``memory`` the cross keys/values ``(B, H, S, d)``."""
        y = self.ln_1(x)
        x = x + self.self_attn(y, *self.self_attn.keys_values(y), causal=True)
        x = x + self.cross(self.ln_2(x), *memory, mask)
        return x + self.ff(self.ln_3(x))

    def step(self, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor] | None,
             memory: tuple[torch.Tensor, torch.Tensor], mask: torch.Tensor):
        """One new token per beam: ``x (B, W, D)``; ``cache`` the beams' earlier self-attention
        keys/values ``(B, W, H, t, d)`` (None at the first level). The beams of a user are that
        user's queries of the cross-attention. Returns ``x`` and the cache with this token."""
        y = self.ln_1(x)[:, :, None]                                              # (B, W, 1, D)
        k, v = self.self_attn.keys_values(y)                                       # (B, W, H, 1, d)
        if cache is not None:
            k, v = torch.cat([cache[0], k], dim=3), torch.cat([cache[1], v], dim=3)
        x = x + self.self_attn(y, k, v)[:, :, 0]
        x = x + self.cross(self.ln_2(x), *memory, mask)
        return x + self.ff(self.ln_3(x)), (k, v)


@dataclass
class Decoding:
    """Beam-search state of :class:`SIDEncoderDecoder` (see :func:`g2rec.model.beam.beam_search`)."""

    memory: list[tuple[torch.Tensor, torch.Tensor]]     # per decoder layer: cross keys, values (B, H, S, d)
    mask: torch.Tensor                                   # (B, 1, 1, S) True = a real encoder token
    token: torch.Tensor                                  # (B, W) each beam's newest decoder input token
    cache: list | None = None                            # per layer: self keys, values (B, W, H, t, d)


class SIDEncoderDecoder(nn.Module):
    """See the module docstring. ``codes (I, L)`` long, unique per item; ``sizes`` the ``K_l``.
    Histories are ``(B, T)`` item ids left-padded with ``num_items``. ``code_space``: the
    tokenizer's ``(I, d)`` item vectors and ``(L', K, d)`` codebooks, needed with ``soda_weight``;
    ``profiles``: the ``(I, d_y)`` interest profiles, needed with ``profiles='add'``."""

    def __init__(self, num_items: int, config: EncoderDecoderConfig, codes: torch.Tensor, sizes: tuple[int, ...],
                 code_space: tuple[torch.Tensor, torch.Tensor] | None = None, profiles: torch.Tensor | None = None):
        super().__init__()
        self.config, self.num_items, self.levels = config, num_items, len(sizes)
        self.sizes = tuple(int(k) for k in sizes)
        self.offsets = offsets = [sum(self.sizes[:level]) for level in range(self.levels)]
        self.pad_token = sum(self.sizes)
        self.start_token = self.pad_token + 1
        tokens = codes.long() + torch.tensor(offsets)
        self.register_buffer("codes", torch.cat([codes.long(), codes.new_zeros(1, self.levels)]), persistent=False)
        self.register_buffer("tokens", torch.cat([tokens, tokens.new_full((1, self.levels), self.pad_token)]),
                             persistent=False)                                       # (I+1, L); padding row
        self.tok_emb = nn.Embedding(self.start_token + 1 + config.user_tokens, config.dim)
        per_item = self.levels if config.encoder_input == "codes" else 1
        self.enc_pos = nn.Embedding(config.max_len * per_item + 1, config.dim)
        self.merge = nn.Linear(self.levels * config.dim, config.dim) if config.encoder_input == "merged" else None
        self.dec_pos = nn.Embedding(self.levels, config.dim)
        self.drop = Dropout(config.dropout)
        self.encoder = nn.ModuleList(EncoderLayer(config) for _ in range(config.encoder_layers))
        self.decoder = nn.ModuleList(DecoderLayer(config) for _ in range(config.decoder_layers))
        self.enc_ln, self.dec_ln = nn.LayerNorm(config.dim), nn.LayerNorm(config.dim)
        self.profile_proj = None
        if config.profiles == "add":
            if profiles is None:
                raise ConfigError("profiles='add' needs the items' interest profiles: run `g2rec tokenize` first")
            profiles = torch.as_tensor(profiles, dtype=torch.float32)
            self.register_buffer("profiles", torch.cat([profiles, profiles.new_zeros(1, profiles.shape[1])]),
                                 persistent=False)                                   # (I+1, d_y); padding row
            self.profile_proj = nn.Linear(profiles.shape[1], config.dim)
        self.to_code_space = None
        if config.soda_weight > 0 and config.tokenizer == "frozen":
            if code_space is None:
                raise ConfigError("soda_weight > 0 needs the tokenizer's item vectors and codebooks (code_space)")
            vectors, books = (torch.as_tensor(t, dtype=torch.float32) for t in code_space)
            self.register_buffer("code_vectors", vectors, persistent=False)
            self.register_buffer("codebooks", books, persistent=False)
            self.register_buffer("code_scales", soda.level_scales(vectors, books), persistent=False)
            self.to_code_space = nn.Sequential(nn.Linear(config.dim, config.dim), nn.GELU(), nn.Linear(config.dim, books.shape[-1]))
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # residual projections scaled down, as in GPT-2
            if name.endswith("proj.weight") or name.endswith("ff.2.weight"):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * (config.encoder_layers + config.decoder_layers)))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    # ----------------------------------------------------------------------------- encoder
    def encode(self, items: torch.Tensor, users: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``items (B, T)`` (and ``users (B,)`` user indices, or None) -> the encoder's states
        ``(B, S, D)`` and the mask of real tokens ``(B, S)``."""
        B, T = items.shape
        if T > self.config.max_len:
            raise ValueError(f"history of {T} items is longer than max_len={self.config.max_len}")
        tok = self.tokens[items]                                                    # (B, T, L)
        x = self.tok_emb(tok)                                                       # (B, T, L, D)
        if self.merge is not None:
            x, real = self.merge(x.flatten(-2)), items != self.num_items            # (B, T, D)
        if self.profile_proj is not None:
            y = self.profile_proj(self.profiles[items]) * (items != self.num_items)[..., None]
            x = x + (y if self.merge is not None else y[:, :, None])
        if self.merge is None:
            x, real = x.reshape(B, T * self.levels, -1), tok.reshape(B, T * self.levels) != self.pad_token
        if self.config.user_tokens:
            user = torch.full((B, 1), self.pad_token, dtype=torch.long, device=items.device) if users is None else \
                (self.start_token + 1 + users.long() % self.config.user_tokens)[:, None]
            x, real = torch.cat([self.tok_emb(user), x], dim=1), torch.cat([user != self.pad_token, real], dim=1)
        real[:, -1] |= ~real.any(1)  # an empty history attends to its (padding) last token, not to nothing
        S, n = x.shape[1], self.enc_pos.num_embeddings
        x = self.drop(x + self.enc_pos(torch.arange(n - S, n, device=x.device)))
        mask = real[:, None, None, :]
        for layer in self.encoder:
            x = layer(x, mask)
        return self.enc_ln(x), real

    def cross_memory(self, states: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [layer.cross.keys_values(states) for layer in self.decoder]

    # ----------------------------------------------------------------------------- decoder
    def level_logits(self, g: torch.Tensor, level: int) -> torch.Tensor:
        """``g (..., D)`` decoder states -> ``(..., K_level)`` logits of that level's codes."""
        o = self.offsets[level]
        return g @ self.tok_emb.weight[o:o + self.sizes[level]].T

    def decode(self, codes: torch.Tensor, memory, mask: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: ``codes (B, L)`` the target's codes -> decoder states ``(B, L, D)``,
        row ``l`` having read ``s, c_1..c_l`` (so it predicts ``c_{l+1}``)."""
        start = codes.new_full((len(codes), 1), self.start_token)
        inputs = torch.cat([start, codes[:, :-1] + codes.new_tensor(self.offsets[:-1])], dim=1)  # (B, L)
        x = self.drop(self.tok_emb(inputs) + self.dec_pos.weight)
        for layer, mem in zip(self.decoder, memory):
            x = layer(x, mem, mask)
        return self.dec_ln(x)

    def code_log_probs(self, items: torch.Tensor, targets: torch.Tensor, users: torch.Tensor | None = None
                       ) -> torch.Tensor:
        """``log p(c_1..c_L of each target | history)``: ``items (B, T)``, ``targets (B, C)`` item ids
        -> ``(B, C)`` (the unconstrained per-level softmax, as the loss trains it)."""
        return self.token_log_probs(items, self.codes[targets], users).sum(-1)

    def token_log_probs(self, items: torch.Tensor, codes: torch.Tensor, users: torch.Tensor | None = None
                        ) -> torch.Tensor:
        """``(B, C, L)`` per-level log-probabilities ``log p(c_l | history, c_<l)`` of code sequences
        ``codes (B, C, L)`` (items or not) after ``items (B, T)``."""
        states, real = self.encode(items, users)
        B, C = codes.shape[:2]
        states, real = states.repeat_interleave(C, 0), real.repeat_interleave(C, 0)
        flat = codes.reshape(B * C, -1)
        g = self.decode(flat, self.cross_memory(states), real[:, None, None, :])
        out = [F.log_softmax(self.level_logits(g[:, level], level), dim=-1).gather(1, flat[:, level:level + 1])
               for level in range(self.levels)]
        return torch.cat(out, dim=1).view(B, C, -1)

    def teacher_forced(self, items: torch.Tensor, targets: torch.Tensor, users: torch.Tensor | None = None):
        """The rows of a training batch that have a target: ``(target (B'), states (B', S, D), real
        (B', S), g (B', L, D))``, ``g`` the decoder's states with the target's codes as inputs."""
        target = targets[:, -1]
        keep = target != self.num_items
        items, target = items[keep], target[keep]
        states, real = self.encode(items, None if users is None else users[keep])
        return target, states, real, self.decode(self.codes[target], self.cross_memory(states), real[:, None, None, :])

    def code_loss(self, g: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The code cross-entropy of decoder states ``g (B, L, D)`` for ``target (B,)``, averaged over levels."""
        return sum(F.cross_entropy(self.level_logits(g[:, level], level), self.codes[target, level])
                   for level in range(self.levels)) / self.levels

    @staticmethod
    def pooled(states: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """``(B, D)`` mean of the encoder's states over the real tokens."""
        return (states * real[..., None]).sum(1) / real.sum(1, keepdim=True)

    def trie(self) -> SIDTrie:
        """The trie of the items' codes as they are now (the decoding constraint)."""
        return SIDTrie.build(self.codes[:-1].cpu().numpy(), self.sizes)

    def forward(self, items: torch.Tensor, targets: torch.Tensor, users: torch.Tensor | None = None
                ) -> tuple[None, torch.Tensor]:
        """``(None, loss)``: ``items (B, T)`` histories, ``targets (B, T)`` whose last column is the
        item after each history (``num_items`` = none; the other columns are not read). The loss
        is the mean code cross-entropy, plus ``soda_weight * L_SODA`` when SODA is on."""
        target, states, real, g = self.teacher_forced(items, targets, users)
        loss = self.code_loss(g, target)
        if self.to_code_space is not None:
            pooled = self.pooled(states, real)
            soft = lambda x: soda.soft_codes(x, self.codebooks, self.code_scales, self.config.soda_tau)
            loss = loss + self.config.soda_weight * soda.soda_loss(soft(self.to_code_space(pooled)),
                                                                   soft(self.code_vectors[target]), self.config.soda_beta)
        return None, loss

    # ----------------------------------------------------------------------------- beam search
    def decoding(self, items: torch.Tensor, users: torch.Tensor | None = None) -> tuple[SIDEncoderDecoder, Decoding]:
        """The decoder and start state of :func:`g2rec.model.beam.beam_search` after ``items (B, T)``."""
        states, real = self.encode(items, users)
        token = items.new_full((len(items), 1), self.start_token)
        return self, Decoding(self.cross_memory(states), real[:, None, None, :], token)

    def level_log_probs(self, state: Decoding, level: int) -> torch.Tensor:
        """``(B, W, K_level)`` log-probabilities of the next code of each beam; caches this level's
        self-attention keys and values in ``state``."""
        x = self.tok_emb(state.token) + self.dec_pos.weight[level]
        cache = []
        for i, (layer, mem) in enumerate(zip(self.decoder, state.memory)):
            x, kv = layer.step(x, None if state.cache is None else state.cache[i], mem, state.mask)
            cache.append(kv)
        state.cache = cache
        return F.log_softmax(self.level_logits(self.dec_ln(x), level), dim=-1)

    def advance(self, state: Decoding, beam: torch.Tensor, level: int, code: torch.Tensor) -> Decoding:
        """The state after beam ``beam (B, W')`` of the last level chose ``code (B, W')``."""
        pick = lambda t: t.gather(1, beam.view(*beam.shape, 1, 1, 1).expand(-1, -1, *t.shape[2:]))
        cache = [(pick(k), pick(v)) for k, v in state.cache]
        return Decoding(state.memory, state.mask, code + self.offsets[level], cache)
