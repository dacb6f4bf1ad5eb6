"""RQ-VAE semantic IDs (torch), with prototype supervision of the first level.

Encoder ``E: R^d -> R^h`` (MLP), ``L`` residual codebooks ``e_l`` (``(K, h)`` each), decoder
``D: R^h -> R^d``. For ``z = E(x)``: ``r_1 = z``, ``code_l = argmin_k ||r_l - e_lk||``,
``r_{l+1} = r_l - e_l[code_l]``, ``z_q = sum_l e_l[code_l]``, and ``x_hat = D(z + sg(z_q - z))``
(straight-through). Loss per item (``sg`` = stop-gradient):

    ||x - x_hat||^2 + sum_l ( ||sg(r_l) - e_l[code_l]||^2 + beta ||r_l - sg(e_l[code_l])||^2 )
      + lambda * CE(P_i, pi_i M),

where ``pi_i = softmax(-||r_1 - e_1k||^2 / tau)`` is the level-1 code distribution and
``M = softmax(W)`` a learned ``(K, C)`` code -> prototype map: the soft-label cross-entropy
between the prototype membership ``P_i`` and the prototypes predicted through item i's
level-1 code distribution. With ``K = C`` and ``M = I`` it is exactly ``CE(P_i, pi_i)``; the
map lets ``K`` differ from ``C``, and the loss is lowest when every code's items share one
prototype distribution. Codebooks start from residual k-means of the initial encodings;
codes unused in an epoch are re-seeded from random residuals of that level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from ..config import check_fields
from .residual_kmeans import residual_kmeans
from .soft_modularity import Membership


@dataclass
class RQVAEConfig:
    """latent_dim ``h``, hidden width, epochs, batch_size, lr (Adam), beta (commitment),
    tau (temperature of the level-1 code distribution, in units of the mean squared level-1
    residual), seed."""

    latent_dim: int = 32
    hidden: int = 256
    epochs: int = 60
    batch_size: int = 512
    lr: float = 1e-3
    beta: float = 0.25
    tau: float = 0.1
    seed: int = 0

    def __post_init__(self):
        check_fields(self)


class RQVAE(nn.Module):
    def __init__(self, dim: int, config: RQVAEConfig, levels: int, codebook_size: int, num_prototypes: int):
        super().__init__()
        h = config.latent_dim
        self.encoder = nn.Sequential(nn.Linear(dim, config.hidden), nn.ReLU(), nn.Linear(config.hidden, h))
        self.decoder = nn.Sequential(nn.Linear(h, config.hidden), nn.ReLU(), nn.Linear(config.hidden, dim))
        self.codebooks = nn.Parameter(torch.zeros(levels, codebook_size, h))
        self.code_to_prototype = nn.Parameter(torch.zeros(codebook_size, max(num_prototypes, 1)))

    def quantize(self, z: torch.Tensor):
        """``(codes (B, L), z_q (B, h), residuals [r_1..r_L], first-level squared distances (B, K))``."""
        residual, codes, quantized, residuals, first = z, [], torch.zeros_like(z), [], None
        for book in self.codebooks:
            dist = torch.cdist(residual, book) ** 2
            first = dist if first is None else first
            code = dist.argmin(1)
            residuals.append(residual)
            quantized = quantized + book[code]
            residual = residual - book[code]
            codes.append(code)
        return torch.stack(codes, 1), quantized, residuals, first

    def forward(self, x: torch.Tensor):
        z = self.encoder(x)
        codes, zq, residuals, first = self.quantize(z)
        x_hat = self.decoder(z + (zq - z).detach())
        return codes, x_hat, residuals, first

    def losses(self, x: torch.Tensor, beta: float):
        """``(codes, x_hat, recon, commit, first)`` for rows ``x``: the reconstruction error and the
        codebook + commitment term of the module docstring, each averaged over the rows."""
        codes, x_hat, residuals, first = self(x)
        recon = (x_hat - x).pow(2).sum(1).mean()
        commit = sum((r.detach() - b[c]).pow(2).sum(1).mean() + beta * (r - b[c].detach()).pow(2).sum(1).mean()
                     for r, b, c in zip(residuals, self.codebooks, codes.T))
        return codes, x_hat, recon, commit, first


def standardized(x: np.ndarray) -> tuple[torch.Tensor, float]:
    """``(x / rms(x), rms(x))``: ``x`` as float32 torch in units of its global RMS (1 when all zero)."""
    scale = float(np.sqrt(np.mean(np.square(x)))) or 1.0
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32) / scale), scale


def train_rqvae(x: np.ndarray, levels: int, codebook_size: int, config: RQVAEConfig,
                membership: sp.csr_matrix | None = None, weight: float = 0.0, progress=None):
    """Train an RQ-VAE on ``x`` ``(I, d)`` (standardized by its global RMS inside).

    Returns ``(codes (I, L) int64, x_hat (I, d) float32 in x's units, curve, model)``; the curve
    holds per-epoch mean losses (``recon``, ``commit``, ``proto``) and unused-code counts.
    """
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    xt, scale = standardized(x)
    n, dim = xt.shape
    supervised = membership is not None and weight > 0
    model = RQVAE(dim, config, levels, codebook_size, membership.shape[1] if supervised else 1)
    if supervised:  # P as padded (I, rho) slots; empty slots point at column C, dropped below
        member = Membership.from_scipy(membership, max(1, int(np.diff(membership.indptr).max(initial=1))))
        p_idx, p_val, c = member.idx, member.val.float(), member.num_clusters
    with torch.no_grad():
        init = residual_kmeans(model.encoder(xt).numpy(), levels, codebook_size, 10, config.seed)
        model.codebooks.copy_(torch.from_numpy(init.codebooks))
        tau = config.tau * float((model.encoder(xt) - model.codebooks[0][torch.from_numpy(init.codes[:, 0])])
                                 .pow(2).sum(1).mean().clamp_min(1e-12))
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    curve = []
    for epoch in range(config.epochs):
        order = torch.randperm(n, generator=gen)
        sums, used = np.zeros(3), torch.zeros(levels, codebook_size, dtype=torch.bool)
        for s in range(0, n, config.batch_size):
            batch = order[s:s + config.batch_size]
            codes, x_hat, recon, commit, first = model.losses(xt[batch], config.beta)
            loss = recon + commit
            proto = torch.zeros(())
            if supervised:
                pi = torch.softmax(-first / tau, dim=1)  # (B, K)
                pred = pi @ torch.softmax(model.code_to_prototype, dim=1)  # (B, C)
                target = torch.zeros(len(batch), c + 1).scatter_add_(1, p_idx[batch], p_val[batch])[:, :c]
                proto = -(target * pred.clamp_min(1e-12).log()).sum(1).mean()
                loss = loss + weight * proto
            opt.zero_grad()
            loss.backward()
            opt.step()
            sums += np.array([recon.item(), float(commit.item()) if torch.is_tensor(commit) else commit, proto.item()]) * len(batch)
            used[torch.arange(levels)[None, :].expand_as(codes), codes] = True
        dead = _reseed_dead_codes(model, xt, used, gen)
        curve.append({"epoch": epoch + 1, **dict(zip(("recon", "commit", "proto"), np.round(sums / n, 6).tolist())),
                      "reseeded": dead})
        if progress is not None:
            progress(epoch + 1, config.epochs)
    with torch.no_grad():
        codes, x_hat, _, _ = model(xt)
    return codes.numpy().astype(np.int64), x_hat.numpy() * scale, curve, model


def _reseed_dead_codes(model: RQVAE, xt: torch.Tensor, used: torch.Tensor, gen: torch.Generator) -> int:
    """Re-seed codes no item chose this epoch from random residuals of their level."""
    dead = int((~used).sum())
    if dead == 0:
        return 0
    with torch.no_grad():
        _, _, residuals, _ = model.quantize(model.encoder(xt))
        for level, r in enumerate(residuals):
            idle = torch.nonzero(~used[level]).ravel()
            if len(idle):
                pick = torch.randint(0, len(r), (len(idle),), generator=gen)
                model.codebooks[level, idle] = r[pick]
    return dead
