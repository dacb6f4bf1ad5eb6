"""SODA's distributional alignment: a BPR loss between codebook distributions.

A residual tokenizer (codebooks ``e_l``, ``(K, d)`` each) maps a vector ``v`` to one soft code
distribution per level, along its hard residual path ``v_1 = v``,
``v_{l+1} = v_l - e_l[argmin_k ||v_l - e_lk||]``:

.. math::
    p_{l,k}(v) = \\operatorname{softmax}_k\\left(-\\|v_l - e_{lk}\\|^2 / (\\tau s_l)\\right),

``s_l`` being the mean squared distance of the items' level-``l`` residuals to their own codes
(so ``tau`` is unit-free). For a history ``x`` the generator's pooled encoder state, projected
into the tokenizer's space, gives ``h^+ = p(r_x)``; the target item's vector gives
``h^y = p(z_y)``; ``h^-`` is the mean of the other histories' ``h^+`` in the batch, per level.
With the symmetric KL divergence summed over levels as the (negative) match ``s``:

.. math::
    s(a, b) = -\\tfrac12 \\sum_l \\left(KL(a_l \\| b_l) + KL(b_l \\| a_l)\\right)
            = -\\tfrac12 \\sum_{l,k} (a_{lk} - b_{lk}) (\\log a_{lk} - \\log b_{lk}),

    \\mathcal{L}_{SODA} = -\\log \\sigma\\left(\\beta (s(h^+, h^y) - s(h^-, h^y))\\right).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def level_scales(vectors: torch.Tensor, codebooks: torch.Tensor) -> torch.Tensor:
    """``s_l``: ``(L,)`` mean squared distance of ``vectors (I, d)``'s level-``l`` residuals to
    their nearest codes of ``codebooks (L, K, d)``."""
    residual, scales = vectors, []
    for book in codebooks:
        d = torch.cdist(residual, book).square()
        best = d.min(1)
        scales.append(best.values.mean().clamp_min(1e-12))
        residual = residual - book[best.indices]
    return torch.stack(scales)


def soft_codes(x: torch.Tensor, codebooks: torch.Tensor, scales: torch.Tensor, tau: float) -> torch.Tensor:
    """``x (B, d)`` -> ``(B, L, K)`` log-probabilities of the soft codes of the module docstring."""
    residual, out = x, []
    for book, scale in zip(codebooks, scales):
        d = (residual.square().sum(1, keepdim=True) - 2 * residual @ book.T + book.square().sum(1)[None]).clamp_min(0)
        out.append(F.log_softmax(-d / (tau * scale), dim=-1))
        residual = residual - book[d.argmin(1)]
    return torch.stack(out, 1)


def symmetric_kl(log_a: torch.Tensor, log_b: torch.Tensor) -> torch.Tensor:
    """``(B, L, K)`` log-distributions -> ``(B,)`` ``sum_l (KL(a_l||b_l) + KL(b_l||a_l)) / 2``."""
    return 0.5 * ((log_a.exp() - log_b.exp()) * (log_a - log_b)).sum((1, 2))


def soda_loss(log_history: torch.Tensor, log_target: torch.Tensor, beta: float) -> torch.Tensor:
    """``L_SODA`` averaged over the batch: ``log_history`` the ``(B, L, K)`` log ``h^+`` of each
    history, ``log_target`` its target's log ``h^y``; ``h^-`` the mean of the other rows'
    ``h^+``. Needs ``B >= 2``."""
    B = len(log_history)
    if B < 2:
        return log_history.new_zeros(())
    p = log_history.exp()
    negative = (p.sum(0, keepdim=True) - p) / (B - 1)
    log_negative = negative.clamp_min(1e-30).log()
    margin = symmetric_kl(log_negative, log_target) - symmetric_kl(log_history, log_target)  # s(h+,hy) - s(h-,hy)
    return F.softplus(-beta * margin).mean()
