"""The interest-conditioned generator: a causal Transformer over items and interest profiles.

Input per history item ``i_t`` (``t = 1..T``, oldest first):

* the item token ``x_t``: its id embedding (``item_input='id'``), or its semantic-ID codes
  ``(c_1..c_L)`` embedded per level, concatenated and merged by one linear layer
  (``item_input='sid'``, GenRec's token merger);
* its interest profile ``y_t = W_y y_{i_t}`` (``y_i = P_i V`` from ``g2rec tokenize``),
  either interleaved as its own position, ``[x_1, y_1, x_2, y_2, ..., x_T, y_T]`` (G2Rec,
  ``profiles='interleave'``), added, ``[x_1 + y_1, ..., x_T + y_T]`` (``'add'``), or left out
  (``'none'``: SASRec / TIGER).

With ``graph_smoothing = beta > 0`` the item table the network reads and scores is smoothed
over the training co-engagement graph, ``E' = E + beta * D^{-1/2} A D^{-1/2} E`` (one
LightGCN-style propagation step, recomputed from ``E`` at every step, so a rarely seen item
borrows the vectors of the items it is co-engaged with); ``E`` stays the parameter.

With ``item_init`` naming a ``g2rec embed`` method, the id embedding starts from those item
vectors (G2Rec's generator starts from pretrained item vectors; here they may be the graph's),
each row rescaled to the norm of the random initialization, and is trained from there.

The hidden state ``h_t`` that has seen ``i_1..i_t`` (at ``y_t`` when interleaved) predicts
``i_{t+1}`` with one of two heads:

* ``items``: scores of all ``I`` items, ``h_t E^T``, tied to the item embedding ``E`` (or the
  merged SID embeddings), trained by full-softmax cross-entropy;
* ``sids``: the ``L`` code tokens of ``i_{t+1}``, level by level,
  ``p(c_l | h_t, c_<l) = softmax(W_l g_l(h_t + sum_{j<l} e_j(c_j)))``; decoded by beam search
  (:mod:`g2rec.model.beam`) constrained to the trie of real items;
* ``both``: the two on one trunk, trained with ``CE(items) + sid_weight * CE(codes)``; an item
  scores ``(1 - sid_mix) log p_items(j) + sid_mix log p_sids(j)``, ``p_sids(j)`` its code
  sequence's probability renormalized over the items (:meth:`CodeHead.item_log_probs`).

Loss: ``L = CE(next item or its codes) + lambda * CE(p_{i_{t+1}}, softmax(W_p h_t))``, the
profile loss being the soft-label cross-entropy of the next item's prototype memberships.
With ``graph_targets = eps > 0`` the items head's target is soft: ``1 - eps`` on the next item
``j`` and ``eps`` spread over its ``TARGET_NEIGHBOURS`` strongest co-engagement neighbours in
proportion to the edge weights ``A_jk`` (label smoothing along the graph, not uniformly).

With ``graph_prior = alpha > 0`` the ``items`` head's scores at inference are
``log_softmax(h_t E^T) + alpha * log(g + eps)``, ``g`` the co-engagement graph's vote from the
recent history (:mod:`g2rec.model.graph_prior`; ``alpha`` is chosen on validation data after
training, see there why it is not trained). With ``train_prior = alpha > 0`` the network is
trained against that sum instead (``h_t E^T + alpha * log(g + eps)`` inside the cross-entropy,
``g`` from graphs that never hold the user's own interactions: :mod:`g2rec.train.crossfit`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from ..embed.spectral import normalized_adjacency
from ..errors import ConfigError, check_choice
from ..sparse import torch_csr
from .graph_prior import PriorScoring
from .transformer import Transformer, TransformerConfig

HEADS = ("items", "sids", "both")
PROFILES = ("interleave", "add", "none")
ITEM_INPUTS = ("id", "sid")
TARGET_NEIGHBOURS = 10  # graph_targets: neighbours of the next item that share its target mass


@dataclass
class GeneratorConfig:
    head: str = "items"          # items | sids | both
    profiles: str = "interleave"  # interleave | add | none
    item_input: str = "id"       # id | sid
    max_len: int = 50            # history items the model reads (oldest dropped)
    dim: int = 64
    layers: int = 2
    heads: int = 2
    dropout: float = 0.3
    profile_weight: float = 1.0  # lambda of the profile loss (0 = off)
    item_init: str = "none"      # none | an embed method (lightgcn, spectral, sasrec...) whose vectors start E
    graph_smoothing: float = 0.0  # beta of E' = E + beta * (normalized co-engagement graph) E, the id table (0 = off)
    graph_targets: float = 0.0   # eps of the items head's target mass spread over its graph neighbours (0 = off)
    graph_prior: float = 0.0     # alpha of the graph log-prior added to item scores at inference (0 = off)
    prior_history: int = 10      # the prior's H: most recent items that vote
    prior_decay: float = 0.7     # the prior's delta: weight ratio of consecutive history items
    prior_eps: float = 1e-3      # the prior's floor inside the log
    train_prior: float = 0.0     # alpha of the graph log-prior inside the training loss (cross-fitted graphs; 0 = off)
    train_prior_history: int = 1  # H of the training prior: most recent items that vote
    sid_weight: float = 1.0      # head='both': weight of the code loss beside the items loss
    sid_mix: float = 0.5         # head='both': weight of the sids head's log-probabilities in an item's score

    def __post_init__(self):
        check_choice("head", self.head, HEADS)
        check_choice("profiles", self.profiles, PROFILES)
        check_choice("item_input", self.item_input, ITEM_INPUTS)
        if self.item_init != "none" and self.item_input != "id":
            raise ConfigError(f"item_init={self.item_init!r} initializes id embeddings: it needs item_input='id'")
        if self.graph_smoothing < 0 or (self.graph_smoothing > 0 and self.item_input != "id"):
            raise ConfigError(f"graph_smoothing={self.graph_smoothing} must be >= 0, and > 0 only with item_input='id'")
        if not 0 <= self.graph_targets < 1 or (self.graph_targets > 0 and self.head == "sids"):
            raise ConfigError(f"graph_targets={self.graph_targets} must be in [0, 1), and > 0 only with head='items' or 'both'")
        if self.graph_prior < 0 or (self.graph_prior > 0 and self.head == "sids"):
            raise ConfigError(f"graph_prior={self.graph_prior} must be >= 0, and > 0 only with head='items' or 'both'")
        if self.prior_history < 1 or not 0 < self.prior_decay <= 1 or self.prior_eps <= 0:
            raise ConfigError(f"graph prior: need prior_history >= 1 (got {self.prior_history}), prior_decay in "
                              f"(0, 1] (got {self.prior_decay}) and prior_eps > 0 (got {self.prior_eps})")
        if self.train_prior < 0 or (self.train_prior > 0 and self.head != "items") or self.train_prior_history < 1:
            raise ConfigError(f"train_prior={self.train_prior} must be >= 0, and > 0 only with head='items'; "
                              f"train_prior_history={self.train_prior_history} must be >= 1")
        if self.sid_weight < 0 or not 0 <= self.sid_mix <= 1:
            raise ConfigError(f"sid_weight={self.sid_weight} must be >= 0 and sid_mix={self.sid_mix} in [0, 1]")
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
    graph: ``(I, I)`` co-engagement graph of the prior (``graph_prior``).
    item_graph: ``(I, I)`` training co-engagement graph that smooths the item table (``graph_smoothing``)
    and spreads the soft targets (``graph_targets``).
    """

    profiles: torch.Tensor | None = None
    member_idx: torch.Tensor | None = None
    member_val: torch.Tensor | None = None
    num_prototypes: int = 0
    codes: torch.Tensor | None = None
    codebook_sizes: tuple[int, ...] = ()
    item_vectors: torch.Tensor | None = None
    graph: object = None
    item_graph: object = None


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

    def sequence_log_prob(self, hidden: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """``log p(c_1..c_L | h) = sum_l log p(c_l | h, c_<l)`` of candidate code sequences:
        ``hidden (B, D)``, ``codes (B, C, L)`` -> ``(B, C)`` (unconstrained softmax per level)."""
        state = hidden[:, None, :].expand(-1, codes.shape[1], -1)
        total = hidden.new_zeros(codes.shape[:2])
        for level in range(len(self.sizes)):
            log_p = F.log_softmax(self.level_logits(state, level), dim=-1)           # (B, C, K_l)
            total = total + log_p.gather(-1, codes[..., level:level + 1]).squeeze(-1)
            state = self.step(state, level, codes[..., level])
        return total

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
        if (config.head != "items" or config.item_input == "sid") and context.codes is None:
            raise ConfigError("semantic IDs are needed (head=sids/both or item_input=sid): run `g2rec tokenize` first")
        positions = 2 * config.max_len if config.profiles == "interleave" else config.max_len
        self.transformer = Transformer(TransformerConfig(num_items, positions, config.dim, config.layers,
                                                         config.heads, config.dropout))
        if config.item_init != "none":
            self._init_item_embedding(context.item_vectors)
        if config.graph_smoothing > 0:
            self.register_buffer("smoother", smoothing_matrix(context.item_graph, num_items), persistent=False)
        if config.graph_targets > 0:
            idx, val = graph_neighbours(context.item_graph, num_items, TARGET_NEIGHBOURS)
            self.register_buffer("neighbour_idx", idx, persistent=False)
            self.register_buffer("neighbour_val", val, persistent=False)
        self.prior = None
        if config.graph_prior > 0:
            self.attach_graph(context.graph)
        pad = lambda x, fill: torch.cat([x, x.new_full((1,) + x.shape[1:], fill)])
        if config.profiles != "none":
            self.register_buffer("profiles", pad(context.profiles.float(), 0.0), persistent=False)
            self.profile_proj = nn.Linear(context.profiles.shape[1], config.dim)
        self.use_profile_loss = config.profile_weight > 0 and context.member_idx is not None
        if self.use_profile_loss:
            self.register_buffer("member_idx", context.member_idx.long(), persistent=False)
            self.register_buffer("member_val", context.member_val.float(), persistent=False)
            self.profile_head = nn.Linear(config.dim, context.num_prototypes)
        if context.codes is not None and (config.head != "items" or config.item_input == "sid"):
            sizes = tuple(int(k) for k in context.codebook_sizes)
            self.register_buffer("codes", pad(context.codes.long(), 0), persistent=False)
            if config.item_input == "sid":
                self.code_in = nn.ModuleList(nn.Embedding(k, config.dim) for k in sizes)
                self.merge = nn.Linear(len(sizes) * config.dim, config.dim)
            if config.head != "items":
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
    def item_tokens(self, items: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
        """``items (...)`` ids in ``0..I`` -> ``(..., D)``; padding gives a zero vector. ``table``:
        the smoothed id table when already computed for this step (``graph_smoothing``)."""
        if self.config.graph_smoothing > 0:
            return F.embedding(items, self.smoothed_table() if table is None else table, padding_idx=self.num_items)
        if self.config.item_input == "id":
            return self.transformer.embed_items(items)
        codes = self.codes[items]                                                   # (..., L)
        merged = self.merge(torch.cat([emb(codes[..., l]) for l, emb in enumerate(self.code_in)], dim=-1))
        return merged * (items != self.num_items)[..., None]

    def smoothed_table(self) -> torch.Tensor:
        """``(I+1, D)``: ``E' = E + beta * A_hat E`` for the items, then the (zero) padding row."""
        weight = self.transformer.item_emb.weight
        spread = torch.sparse.mm(self.smoother, weight[:-1])
        return torch.cat([weight[:-1] + self.config.graph_smoothing * spread, weight[-1:]])

    def step_table(self) -> torch.Tensor | None:
        """The smoothed id table for one forward pass (read and scored with it), else None."""
        return self.smoothed_table() if self.config.graph_smoothing > 0 else None

    def hidden(self, items: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
        """``items (B, T)`` left-padded histories -> ``(B, T, D)``: ``h_t`` has seen ``i_1..i_t``."""
        B, T = items.shape
        pad = items == self.num_items
        x = self.item_tokens(items, table)
        if self.config.profiles == "none":
            return self.transformer(x, pad, torch.arange(self.config.max_len - T, self.config.max_len, device=items.device))
        y = self.profile_proj(self.profiles[items]) * (~pad)[..., None]
        if self.config.profiles == "add":
            return self.transformer(x + y, pad, torch.arange(self.config.max_len - T, self.config.max_len, device=items.device))
        tokens = torch.stack([x, y], dim=2).reshape(B, 2 * T, -1)                    # x_1, y_1, x_2, y_2...
        n = 2 * self.config.max_len
        h = self.transformer(tokens, pad.repeat_interleave(2, dim=1), torch.arange(n - 2 * T, n, device=items.device))
        return h[:, 1::2]                                                           # states at y_t

    # ----------------------------------------------------------------------------- heads
    def item_vectors(self, table: torch.Tensor | None = None) -> torch.Tensor:
        """``(I, D)`` the tied output embedding of every item."""
        if self.config.graph_smoothing > 0:
            return (self.smoothed_table() if table is None else table)[:-1]
        return self.item_tokens(torch.arange(self.num_items, device=self.transformer.pos_emb.weight.device))

    def item_logits(self, items: torch.Tensor, items_head_only: bool = False) -> torch.Tensor:
        """``(B, I)`` the network's next-item logits after each history ``items (B, T)``: ``h_T E^T``,
        or with ``head='both'`` the two heads' mixed log-probabilities (``items_head_only``: the
        items head's logits alone, e.g. a cheap validation while training). ``item_scores``, from
        :class:`~g2rec.model.graph_prior.PriorScoring`, adds the prior."""
        table = self.step_table()
        h = self.hidden(items, table)[:, -1]
        logits = h @ self.item_vectors(table).T
        if self.config.head == "items" or items_head_only:
            return logits
        mix = self.config.sid_mix
        return (1 - mix) * F.log_softmax(logits, dim=-1) + mix * self.code_head.item_log_probs(h, self.codes[:-1])

    def item_log_probs(self, items: torch.Tensor) -> torch.Tensor:
        """``(B, I)`` next-item log-probabilities after ``items (B, T)``: the items head's softmax,
        the sids head's code-sequence probability of every item renormalized over the items
        (what beam search ranks, without the beam), or both heads' mix: any head can join an ensemble."""
        if self.config.head == "sids":
            return self.code_head.item_log_probs(self.hidden(items)[:, -1], self.codes[:-1])
        return F.log_softmax(self.item_logits(items), dim=-1)

    def loss(self, items: torch.Tensor, targets: torch.Tensor,
             log_prior: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        """Training loss on ``items (B, T)`` with next items ``targets (B, T)`` (``I`` = no target);
        ``log_prior (N, I)``: ``log(g + eps)`` at the N target positions (row-major), added to the
        items head's logits with weight ``train_prior``."""
        table = self.step_table()
        h = self.hidden(items, table)
        keep = targets != self.num_items
        h, targets = h[keep], targets[keep]                                         # (N, D), (N,)
        if self.config.head != "sids":
            logits = h @ self.item_vectors(table).T
            if log_prior is not None:
                logits = logits + self.config.train_prior * log_prior
            main = F.cross_entropy(logits, targets)
            if self.config.graph_targets > 0:
                eps, log_p = self.config.graph_targets, F.log_softmax(logits, dim=-1)
                spread = -(self.neighbour_val[targets] * log_p.gather(1, self.neighbour_idx[targets])).sum(1).mean()
                main = (1 - eps) * main + eps * spread
        if self.config.head != "items":
            code_loss = self.code_head.loss(h, self.codes[targets])
            main = code_loss if self.config.head == "sids" else main + self.config.sid_weight * code_loss
        parts = {"next": float(main.detach())}
        if not self.use_profile_loss:
            return main, parts
        log_p = F.log_softmax(self.profile_head(h), dim=-1)                       # (N, C)
        profile = -(self.member_val[targets] * log_p.gather(1, self.member_idx[targets])).sum(1).mean()
        parts["profile"] = float(profile.detach())
        return main + self.config.profile_weight * profile, parts


def require_graph(graph, num_items: int, option: str) -> None:
    """``ConfigError`` naming ``option`` unless ``graph`` is the ``(I, I)`` co-engagement graph."""
    if graph is None or graph.shape != (num_items, num_items):
        raise ConfigError(f"{option} needs the ({num_items}, {num_items}) co-engagement graph, "
                          f"got {None if graph is None else graph.shape}")


def smoothing_matrix(graph, num_items: int) -> torch.Tensor:
    """``D^{-1/2} A D^{-1/2}`` of the ``(I, I)`` co-engagement graph (the spectral embedding's
    :func:`~g2rec.embed.spectral.normalized_adjacency`, isolated items given back as empty rows)
    as a sparse CSR float tensor. ``ConfigError`` when there is no graph of that shape."""
    require_graph(graph, num_items, "graph_smoothing")
    S, kept, _ = normalized_adjacency(graph)
    lift = sp.csr_matrix((np.ones(len(kept), np.float32), (kept, np.arange(len(kept)))), shape=(num_items, len(kept)))
    full = (lift @ S @ lift.T).tocsr()
    full.sort_indices()
    as_tensor = lambda a: torch.from_numpy(a.astype(np.int64))  # CSR: product and gradient a third faster than COO's
    return torch_csr(as_tensor(full.indptr), as_tensor(full.indices), torch.from_numpy(full.data),
                     (num_items, num_items), check=True)


def graph_neighbours(graph, num_items: int, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Each item's ``k`` heaviest co-engagement neighbours: ``(I, k)`` long indices and ``(I, k)``
    float weights ``A_jk / sum of the kept A_jk`` (rows sum to 1). Rows with fewer neighbours are
    padded with the item itself at weight 0; an isolated item keeps all its weight on itself.
    ``ConfigError`` when there is no graph of that shape."""
    require_graph(graph, num_items, "graph_targets")
    A = sp.csr_matrix(graph, dtype=np.float64, copy=True)  # the caller's graph stays as it is
    A.setdiag(0)
    A.eliminate_zeros()
    rows = np.repeat(np.arange(num_items), np.diff(A.indptr))
    order = np.lexsort((A.indices, -A.data, rows))                  # by row, heaviest first, ties by index
    rank = np.arange(len(order)) - A.indptr[rows[order]]
    keep = order[rank < k]
    idx = np.repeat(np.arange(num_items)[:, None], k, axis=1)
    val = np.zeros((num_items, k))
    slot = rank[rank < k]
    idx[rows[keep], slot], val[rows[keep], slot] = A.indices[keep], A.data[keep]
    total = val.sum(1, keepdims=True)
    val = np.where(total > 0, val / np.where(total > 0, total, 1), 0.0)
    val[total[:, 0] == 0, 0] = 1.0
    return torch.from_numpy(idx).long(), torch.from_numpy(val).float()
