"""Semantic IDs: ``L`` levels of ``K`` codes per item (residual k-means or RQ-VAE), made unique.

Collisions (items whose ``L`` codes coincide) get one extra level: the item's rank within
its collision group (by item index), 0 for every item when a group has one item, so all SIDs
have the same length ``L + 1`` (the extra level is added only when some collision exists).
Agreement with the prototypes is measured on the level-1 codes against each item's leading
prototype (``argmax_c P_ic``): normalized mutual information (arithmetic mean of entropies,
as sklearn's default) and purity ``sum_k max_c n_kc / I``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..config import check_fields
from ..errors import ConfigError, check_choice
from .residual_kmeans import residual_kmeans
from .rqvae import RQVAEConfig, train_rqvae

METHODS = ("rkmeans", "rqvae")


@dataclass
class SemanticIDConfig:
    """method: ``rkmeans`` (residual k-means: faiss, or torch without it) or ``rqvae`` (torch).
    levels ``L`` and codebook_size ``K``; supervision: weight ``lambda`` of the prototype
    cross-entropy on level 1 (0 = unsupervised); kmeans_iterations: Lloyd iterations per level;
    compare_unsupervised: also measure unsupervised level-1 codes' agreement (RQ-VAE trains
    twice); rqvae_epochs, rqvae_latent_dim: RQ-VAE size; seed."""

    method: str = "rkmeans"
    levels: int = 3
    codebook_size: int = 256
    supervision: float = 1.0
    kmeans_iterations: int = 20
    compare_unsupervised: bool = True
    rqvae_epochs: int = 60
    rqvae_latent_dim: int = 32
    seed: int = 0

    def __post_init__(self):
        check_fields(self)
        check_choice("sid_method", self.method, METHODS)
        if self.levels < 1 or self.codebook_size < 2:
            raise ConfigError(f"levels={self.levels} must be >= 1 and codebook_size={self.codebook_size} >= 2")
        if self.supervision < 0 or self.kmeans_iterations < 1 or self.rqvae_epochs < 1 or self.rqvae_latent_dim < 1:
            raise ConfigError("supervision must be >= 0; kmeans_iterations, rqvae_epochs, rqvae_latent_dim >= 1")

    def check_items(self, num_items: int) -> None:
        if self.codebook_size > num_items:
            raise ConfigError(f"codebook_size={self.codebook_size} is larger than the {num_items} items")


@dataclass
class SemanticIDs:
    """``codes``: ``(I, levels)`` int64 unique SIDs (row i = item i); ``vocab_sizes``:
    ``(levels,)``; ``raw_codes``: ``(I, L)`` before deduplication; ``reconstruction``: ``(I, d)``;
    ``report``: collisions, codebook usage, reconstruction error, agreement, curve;
    ``codebooks``: ``(L, K, d)`` residual k-means centroids (None for the RQ-VAE)."""

    codes: np.ndarray
    vocab_sizes: np.ndarray
    raw_codes: np.ndarray
    reconstruction: np.ndarray
    report: dict
    codebooks: np.ndarray | None = None


def deduplicate(codes: np.ndarray) -> tuple[np.ndarray, dict]:
    """Append the collision-rank level when any two rows coincide. Returns the unique codes
    and ``{colliding_items, collision_groups, max_group_size, extra_level}``."""
    codes = np.asarray(codes, dtype=np.int64)
    _, group, counts = np.unique(codes, axis=0, return_inverse=True, return_counts=True)
    group = group.ravel()
    info = {"colliding_items": int(counts[counts > 1].sum()), "collision_groups": int((counts > 1).sum()),
            "max_group_size": int(counts.max(initial=0)), "extra_level": bool(counts.max(initial=0) > 1)}
    if not info["extra_level"]:
        return codes, info
    order = np.lexsort((np.arange(len(codes)), group))
    first = np.searchsorted(group[order], group[order])  # start of each row's group in sorted order
    rank = np.empty(len(codes), dtype=np.int64)
    rank[order] = np.arange(len(codes)) - first
    return np.concatenate([codes, rank[:, None]], 1), info


def unresolved_collisions(codes: np.ndarray) -> int:
    """Items minus distinct SIDs (0 when every item has its own)."""
    return int(len(codes) - len(np.unique(codes, axis=0))) if len(codes) else 0


def codebook_usage(codes: np.ndarray, vocab_sizes) -> list[dict]:
    """Per level: codes used, share of the codebook used, perplexity ``exp(entropy)``."""
    out = []
    for level, size in enumerate(vocab_sizes):
        counts = np.bincount(codes[:, level], minlength=int(size))
        prob = counts[counts > 0] / counts.sum()
        out.append({"level": level + 1, "size": int(size), "used": int((counts > 0).sum()),
                    "usage": round(float((counts > 0).mean()), 4),
                    "perplexity": round(float(np.exp(-(prob * np.log(prob)).sum())), 2)})
    return out


def agreement(labels_a: np.ndarray, labels_b: np.ndarray) -> dict:
    """NMI (arithmetic normalization) of two labelings, and the purity of ``a`` w.r.t. ``b``."""
    _, a = np.unique(labels_a, return_inverse=True)
    _, b = np.unique(labels_b, return_inverse=True)
    n = len(a)
    table = sp.csr_matrix((np.ones(n), (a, b))).toarray()
    joint = table / n
    pa, pb = joint.sum(1), joint.sum(0)
    nz = joint > 0
    mi = float((joint[nz] * np.log(joint[nz] / np.outer(pa, pb)[nz])).sum())
    ha, hb = -float((pa * np.log(pa)).sum()), -float((pb * np.log(pb)).sum())
    nmi = mi / ((ha + hb) / 2) if ha + hb > 0 else 1.0
    return {"nmi": round(nmi, 4), "purity": round(float(table.max(1).sum() / n), 4)}


def semantic_ids(x: np.ndarray, config: SemanticIDConfig, membership: sp.csr_matrix | None = None,
                 progress=None) -> SemanticIDs:
    """Unique semantic IDs of the ``(I, d)`` vectors ``x``; level 1 supervised by the ``(I, C)``
    prototype memberships when given and ``config.supervision > 0``."""
    config.check_items(len(x))
    x = np.ascontiguousarray(x, dtype=np.float32)
    weight = config.supervision if membership is not None else 0.0
    report, unsup_first, books = {"method": config.method, "supervision": weight}, None, None
    if config.method == "rkmeans":
        res = residual_kmeans(x, config.levels, config.codebook_size, config.kmeans_iterations, config.seed,
                              membership, weight, progress)
        raw, recon, unsup_first, books = res.codes, res.reconstruction, res.unsupervised_first, res.codebooks
        report["supervision_cost"] = [round(c, 6) for c in res.supervision_cost]
    else:
        rq = RQVAEConfig(latent_dim=config.rqvae_latent_dim, epochs=config.rqvae_epochs, seed=config.seed)
        raw, recon, curve, _ = train_rqvae(x, config.levels, config.codebook_size, rq, membership, weight, progress)
        report["curve"] = curve
        if weight > 0 and config.compare_unsupervised:
            unsup_first = train_rqvae(x, config.levels, config.codebook_size, rq)[0][:, 0]
    codes, info = deduplicate(raw)
    vocab = [config.codebook_size] * config.levels + ([info["max_group_size"]] if info["extra_level"] else [])
    err = float(((x - recon) ** 2).sum(1).mean())
    report.update(collisions_before=info, unresolved_collisions=unresolved_collisions(codes),
                  codebook_usage=codebook_usage(codes, vocab),
                  reconstruction_mse=round(err, 8),
                  relative_reconstruction_error=round(err / max(float((x ** 2).sum(1).mean()), 1e-30), 6))
    if membership is not None:
        lead = np.asarray(membership.argmax(1)).ravel()
        report["prototype_agreement"] = {"supervised" if weight > 0 else "codes": agreement(raw[:, 0], lead)}
        if weight > 0 and unsup_first is not None and config.compare_unsupervised:
            report["prototype_agreement"]["unsupervised"] = agreement(unsup_first, lead)
    return SemanticIDs(codes, np.asarray(vocab, dtype=np.int64), raw, recon, report, books)
