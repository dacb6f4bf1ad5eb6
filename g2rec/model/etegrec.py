"""ETEGRec: TIGER's encoder-decoder and its RQ-VAE tokenizer, trained end to end by alternation.

The tokenizer ``T`` (:class:`g2rec.tokenize.rqvae.RQVAE`: encoder ``E_T``, residual codebooks
``e^l``, decoder ``D_T``; pretrained on the items' vectors ``z_i``, standardized) gives item
``i`` its codes ``c_1..c_L`` plus a collision level (its rank among the items with the same
codes, at most ``K``), and, at every level, a code distribution along the hard residual path
of a latent ``v`` (``v_1 = v``, ``v_{l+1} = v_l - e^l_{c_l}``):

.. math::
    P^l(k \\mid v) = \\operatorname{softmax}_k\\left(-\\|v_l - e^l_k\\|^2\\right).

The generator (:class:`~g2rec.model.encdec.SIDEncoderDecoder`) reads the history's codes and
generates the target's. Two alignment losses couple the two, over the batch's distinct targets
``y``:

* sequence-item (SIA): the pooled encoder states mapped into the tokenizer's latent space,
  ``z^E = W_E mean(H^E)``, and the target's latent ``E_T(z_y)`` should get the same codes,

  .. math::
      L_{SIA} = \\frac1L \\sum_l KL(P^l_{z_y} \\| P^l_{z^E}) + KL(P^l_{z^E} \\| P^l_{z_y})

  (averaged over levels, as ETEGRec's code does; the paper writes the sum);
* preference-semantic (PSA): the decoder's first state ``h^D`` (after the start token) mapped
  into the item vectors' space, ``h = W_D h^D``, against the target's reconstruction
  ``\\tilde z_y = D_T(Q(E_T(z_y)))``: a symmetric InfoNCE with cosine similarity ``s``,
  temperature ``tau``, the other rows as negatives,

  .. math::
      L_{PSA} = -\\log \\frac{e^{s(\\tilde z_y, h_y)/\\tau}}{\\sum_{y'} e^{s(\\tilde z_y, h_{y'})/\\tau}}
                -\\log \\frac{e^{s(h_y, \\tilde z_y)/\\tau}}{\\sum_{y'} e^{s(h_y, \\tilde z_{y'})/\\tau}}.

Alternation (:meth:`ETEGRec.begin_epoch`, called by :func:`g2rec.train.loop.fit`): epoch ``e``
trains the tokenizer when ``e <= tokenizer_epochs`` and ``(e - 1) mod cycle = 0``, with
``L_IT = L_SQ + mu L_SIA + lambda L_PSA`` (``L_SQ``: the RQ-VAE's reconstruction and commitment
losses on the distinct targets) and the generator frozen; every other epoch trains the generator
with ``L_GR = L_REC + mu L_SIA + lambda L_PSA`` and the tokenizer frozen, ``+ soda_weight
L_SODA`` for SODA on ETEGRec (SODA's soft codes being the tokenizer's ``P^l``). The alignment
terms switch on after ``warm_epochs``. After each tokenizer epoch every item is tokenized again
(:meth:`ETEGRec.retokenize`); the trie is built from the codes of the moment. Codes and item
vectors are buffers of the weights, so a checkpoint decodes as it was trained.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import G2RecError
from ..tokenize.rqvae import RQVAE, RQVAEConfig, standardized, train_rqvae
from ..tokenize.semantic_ids import deduplicate
from . import soda
from .encdec import EncoderDecoderConfig, SIDEncoderDecoder

PHASES = ("generator", "tokenizer")


def unique_codes(raw: np.ndarray, capacity: int) -> np.ndarray:
    """``(I, L)`` codes -> ``(I, L + 1)`` unique codes: the last level is each item's rank among
    the items with the same codes (0 for all when none collide), below ``capacity``."""
    codes, info = deduplicate(raw)
    if not info["extra_level"]:
        codes = np.concatenate([codes, np.zeros((len(codes), 1), dtype=np.int64)], 1)
    if info["max_group_size"] > capacity:
        raise G2RecError(f"the tokenizer gave {info['max_group_size']} items the same codes, more than the "
                         f"{capacity} its collision level holds: lower --tokenizer-lr or --sia-weight")
    return codes


def first_rows(values: torch.Tensor) -> torch.Tensor:
    """Indices of the first occurrence of each distinct value of ``values (B,)``, in value order."""
    order = torch.argsort(values, stable=True)
    v = values[order]
    keep = torch.ones_like(v, dtype=torch.bool)
    keep[1:] = v[1:] != v[:-1]
    return order[keep]


def info_nce(a: torch.Tensor, b: torch.Tensor, tau: float) -> torch.Tensor:
    """Symmetric InfoNCE of row-paired ``a (B, d)`` and ``b (B, d)`` with cosine similarity:
    ``CE(S, I) + CE(S^T, I)``, ``S = cos(a_i, b_j) / tau``."""
    s = F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T / tau
    labels = torch.arange(len(a), device=a.device)
    return F.cross_entropy(s, labels) + F.cross_entropy(s.T, labels)


def sia_loss(log_a: torch.Tensor, log_b: torch.Tensor) -> torch.Tensor:
    """``L_SIA`` of ``(B, L, K)`` log code distributions, averaged over rows and levels."""
    return 2 * soda.symmetric_kl(log_a, log_b).mean() / log_a.shape[1]


class ETEGRec(SIDEncoderDecoder):
    """See the module docstring. ``vectors (I, d)``: the items' vectors the tokenizer reads;
    ``tokenizer``: an RQ-VAE pretrained on them (:meth:`pretrained`), or None for an untrained
    one of the same shape (``rq``'s) whose weights and codes a checkpoint then brings.
    ``codebook_size`` ``K`` per level, ``levels`` ``L`` (the collision level comes on top)."""

    def __init__(self, num_items: int, config: EncoderDecoderConfig, vectors: torch.Tensor,
                 tokenizer: RQVAE | None = None, levels: int = 3, codebook_size: int = 256, rq: RQVAEConfig | None = None):
        placeholder = torch.zeros(num_items, levels + 1, dtype=torch.long)
        super().__init__(num_items, config, placeholder, (codebook_size,) * (levels + 1))
        for name in ("codes", "tokens"):  # they change with the tokenizer: kept with the weights
            self.register_buffer(name, getattr(self, name), persistent=True)
        x, _ = standardized(np.asarray(vectors, dtype=np.float32))
        self.register_buffer("semantic", x)                                       # (I, d), standardized
        rq = rq or RQVAEConfig()
        self.tokenizer = tokenizer or RQVAE(x.shape[1], rq, levels, codebook_size, 1)
        self.seq_adapter = nn.Linear(config.dim, self.tokenizer.codebooks.shape[-1])  # W_E: into the latent space
        self.pref_adapter = nn.Linear(config.dim, x.shape[1])                      # W_D: into the vectors' space
        for adapter in (self.seq_adapter, self.pref_adapter):
            adapter.apply(self._init_weights)
        self.rq_beta = rq.beta
        self.phase, self.aligned = "generator", False
        self.tokenizer.requires_grad_(False)  # trained only in its own epochs
        if tokenizer is not None:
            self.retokenize()

    @classmethod
    def pretrained(cls, num_items: int, config: EncoderDecoderConfig, vectors: np.ndarray, levels: int = 3,
                   codebook_size: int = 256, rq: RQVAEConfig | None = None) -> ETEGRec:
        """A model whose tokenizer is an RQ-VAE first trained alone on ``vectors`` (ETEGRec's start)."""
        rq = rq or RQVAEConfig()
        tokenizer = train_rqvae(np.asarray(vectors, dtype=np.float32), levels, codebook_size, rq)[3]
        return cls(num_items, config, vectors, tokenizer, levels, codebook_size, rq)

    # ----------------------------------------------------------------------------- alternation
    def param_groups(self, lr: float) -> list[dict]:
        """The optimizer's groups: the generator at ``lr``, the tokenizer at ``tokenizer_lr``."""
        own = [p for n, p in self.named_parameters() if not n.startswith("tokenizer.")]
        return [{"params": own, "lr": lr}, {"params": list(self.tokenizer.parameters()), "lr": self.config.tokenizer_lr}]

    def begin_epoch(self, epoch: int) -> None:
        """Epoch ``epoch`` (from 1) trains the tokenizer or the generator; the other is frozen."""
        c = self.config
        tokenizer = epoch <= c.tokenizer_epochs and (epoch - 1) % c.cycle == 0
        self.phase, self.aligned = PHASES[tokenizer], epoch > c.warm_epochs
        for name, p in self.named_parameters():
            p.requires_grad_(name.startswith("tokenizer.") == tokenizer)

    def end_epoch(self, epoch: int) -> None:
        """After a tokenizer epoch: every item tokenized again. Then the tokenizer is frozen."""
        if self.phase == "tokenizer":
            self.retokenize()
        self.phase = "generator"
        self.tokenizer.requires_grad_(False)
        for name, p in self.named_parameters():
            if not name.startswith("tokenizer."):
                p.requires_grad_(True)

    @torch.no_grad()
    def retokenize(self) -> None:
        """The codes of every item under the tokenizer as it is now (unique, with the collision level)."""
        raw = torch.cat([self.tokenizer.quantize(self.tokenizer.encoder(x))[0] for x in self.semantic.split(8192)])
        codes = torch.from_numpy(unique_codes(raw.cpu().numpy(), self.sizes[-1])).to(self.codes.device)
        self.codes[:-1] = codes
        self.tokens[:-1] = codes + codes.new_tensor(self.offsets)

    # ----------------------------------------------------------------------------- loss
    def forward(self, items: torch.Tensor, targets: torch.Tensor, users: torch.Tensor | None = None
                ) -> tuple[None, torch.Tensor]:
        """``(None, loss)`` of the current phase (:meth:`begin_epoch`); inputs as
        :meth:`SIDEncoderDecoder.forward`'s."""
        c, tokenizer_phase = self.config, self.phase == "tokenizer"
        with torch.set_grad_enabled(torch.is_grad_enabled() and not tokenizer_phase):
            target, states, real, g = self.teacher_forced(items, targets, users)
        first = first_rows(target)
        z = self.semantic[target[first]]
        if tokenizer_phase:
            _, z_hat, recon, commit, _ = self.tokenizer.losses(z, self.rq_beta)
            loss = recon + commit
        else:
            loss = self.code_loss(g, target)
        if not self.aligned:
            return None, loss
        if not tokenizer_phase:
            z_hat = self.tokenizer(z)[1]
        books = self.tokenizer.codebooks
        ones = books.new_ones(len(books))
        log_item = soda.soft_codes(self.tokenizer.encoder(z), books, ones, 1.0)                  # (Y, L, K)
        log_seq = soda.soft_codes(self.seq_adapter(self.pooled(states, real)[first]), books, ones, 1.0)
        loss = loss + c.sia_weight * sia_loss(log_item, log_seq) + \
            c.psa_weight * info_nce(z_hat, self.pref_adapter(g[first, 0]), c.psa_tau)
        if c.soda_weight > 0 and not tokenizer_phase:
            loss = loss + c.soda_weight * soda.soda_loss(log_seq, log_item, c.soda_beta)
        return None, loss
