"""Interest prototypes, profiles and semantic IDs of a co-engagement graph: the work of
``g2rec tokenize`` (:mod:`g2rec.pipeline.tokenize` reads and writes the run folder).

From the graph ``A`` and item vectors ``X``: soft-modularity prototypes ``P`` (started from
k-means of the spectral embedding or from Leiden), the Leiden baseline beside them, prototype
vectors ``V``, profiles ``Y = P V``, semantic IDs supervised by ``P`` at level 1 (a collision
level makes every code unique) and their prefix trie, with a report: modularity (ours,
Leiden's), prototype sizes and central items (with titles where known), purity against item
labels, codebook usage, collisions, errors.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from ..config import check_fields
from ..errors import ConfigError, check_choice
from ..measure import Stopwatch, peak_memory_mb
from .item_info import ItemInfo, purity
from .kmeans import kmeans
from .leiden import LeidenConfig, LeidenResult, leiden
from .profiles import central_items, interest_profiles, prototype_vectors
from .prototypes import AscentConfig, compact, optimize
from .semantic_ids import SemanticIDConfig, SemanticIDs, agreement, semantic_ids
from .soft_modularity import GraphTensors, Membership
from .trie import SIDTrie

INITS = ("spectral", "leiden")
MOST_PROTOTYPES, MOST_CODES = 64, 256  # the defaults' prototypes and codes a level, on catalogues of 1,024+ items


@dataclass
class TokenizeConfig:
    """All options of the stage (see :class:`AscentConfig`, :class:`SemanticIDConfig`).

    embedding: item embeddings ``X`` for prototype vectors and SIDs (``g2rec embed`` method;
        ``spectral`` is computed when missing). init: ``spectral`` (k-means of the row-normalized
        spectral embedding into ``num_prototypes`` clusters) or ``leiden``. leiden: also run the
        Leiden baseline (needed for ``init=leiden``). top_items: central items per prototype.
        num_prototypes and codebook_size left as None fit the catalogue (:meth:`fitted`): 64
        prototypes and 256 codes a level, or a quarter of the items where that is fewer.
    """

    embedding: str = "spectral"
    init: str = "spectral"
    num_prototypes: int | None = None
    rho: int = 4
    gamma: float = 1.0
    iterations: int = 300
    beta: float = 1000.0
    merge: bool = True
    min_weight: float = 0.02
    leiden: bool = True
    sid_method: str = "rkmeans"
    levels: int = 3
    codebook_size: int | None = None
    supervision: float = 1.0
    kmeans_iterations: int = 20
    compare_unsupervised: bool = True
    rqvae_epochs: int = 60
    top_items: int = 5
    seed: int = 0

    def __post_init__(self):
        check_fields(self)
        check_choice("init", self.init, INITS)
        if self.init == "leiden" and not self.leiden:
            raise ConfigError("init='leiden' needs the Leiden baseline: do not turn leiden off")
        if self.num_prototypes is not None and self.num_prototypes < 1:
            raise ConfigError(f"num_prototypes={self.num_prototypes}: must be >= 1")
        if self.num_prototypes is not None and self.rho > self.num_prototypes:
            raise ConfigError(f"rho={self.rho} is larger than num_prototypes={self.num_prototypes}: "
                              f"an item cannot belong to more prototypes than there are")
        if self.top_items < 1:
            raise ConfigError(f"top_items={self.top_items}: must be >= 1")
        self.ascent()  # validate the parts now, before any work
        self.sids()

    def ascent(self) -> AscentConfig:
        return AscentConfig(gamma=self.gamma, rho=self.rho, iterations=self.iterations, beta=self.beta,
                            merge=self.merge, min_weight=self.min_weight, seed=self.seed)

    def sids(self) -> SemanticIDConfig:
        return SemanticIDConfig(method=self.sid_method, levels=self.levels, codebook_size=self.codebook_size or MOST_CODES,
                                supervision=self.supervision, kmeans_iterations=self.kmeans_iterations,
                                compare_unsupervised=self.compare_unsupervised, rqvae_epochs=self.rqvae_epochs,
                                seed=self.seed)

    def fitted(self, num_items: int) -> TokenizeConfig:
        """This config with ``num_prototypes`` and ``codebook_size`` left as None set for a
        catalogue of ``num_items`` (``min(64, I/4)`` and ``min(256, I/4)``, at least ``rho`` and 2);
        given values that do not fit it raise one line naming the option."""
        quarter = max(2, num_items // 4)
        fit = replace(self, num_prototypes=self.num_prototypes or min(max(min(MOST_PROTOTYPES, quarter), self.rho), num_items),
                      codebook_size=self.codebook_size or min(MOST_CODES, quarter))
        for option, value in (("num_prototypes", fit.num_prototypes), ("codebook_size", fit.codebook_size)):
            if value > num_items:
                raise ConfigError(f"{option}={value} is larger than the {num_items} items: give a smaller "
                                  f"--{option.replace('_', '-')}, or leave it out to fit the catalogue")
        return fit


def spectral_kmeans_labels(vectors: np.ndarray, clusters: int, seed: int, flat_limit: int = 1024) -> np.ndarray:
    """Spherical k-means (:mod:`.kmeans`) of the row-normalized vectors: ``(I,)`` labels (about ``clusters``).

    Above ``flat_limit`` clusters, two levels (``O(I d sqrt(C))`` instead of ``O(I d C)`` per
    iteration): ``ceil(sqrt(C))`` coarse clusters, then each split into a share of ``C``
    proportional to its size."""
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    def flat(points, k, s):
        if k <= 1 or len(points) <= k:
            return np.arange(len(points)) % max(k, 1)
        return kmeans(points, k, 25, s, spherical=True)[1]

    if clusters <= flat_limit:
        return flat(x, clusters, seed)
    coarse = flat(x, int(np.ceil(np.sqrt(clusters))), seed)
    sizes = np.bincount(coarse)
    shares = np.maximum(1, np.floor(clusters * sizes / len(x)).astype(np.int64))
    shares[np.argsort(-sizes, kind="stable")[: max(0, clusters - int(shares.sum()))]] += 1
    labels, offset = np.empty(len(x), dtype=np.int64), 0
    for group in range(len(sizes)):
        rows = np.flatnonzero(coarse == group)
        k = int(min(shares[group], len(rows)))
        labels[rows] = offset + flat(x[rows], k, seed + 1 + group)
        offset += k
    return labels


@dataclass
class Tokens:
    """What :func:`find_tokens` finds: ``member`` (``P``), prototype ``vectors`` (``V``, ``(C, d)``),
    ``profiles`` (``Y = P V``, ``(I, d)``), ``mass`` (``P^T 1``), ``leiden`` (the baseline, or
    None), ``sids`` and their ``trie``, the ``report`` and its ``summary``."""

    member: Membership
    vectors: np.ndarray
    profiles: np.ndarray
    mass: np.ndarray
    leiden: LeidenResult | None
    sids: SemanticIDs
    trie: SIDTrie
    report: dict
    summary: dict


def find_tokens(graph: sp.csr_matrix, x: np.ndarray, spectral: np.ndarray | None, item_ids: np.ndarray,
                info: ItemInfo | None, config: TokenizeConfig, progress=None) -> Tokens:
    """Prototypes, profiles and semantic IDs (module docstring).

    Args:
        graph: ``(I, I)`` training co-engagement graph.
        x: ``(I, d)`` item vectors ``X`` (``config.embedding``'s).
        spectral: ``(I, d')`` spectral embedding that starts the prototypes (``init='spectral'``).
        item_ids: ``(I,)`` original item ids (named in the report).
        info: item titles and labels where known (titles in the report, purity against labels).
        progress: optional ``progress(stage, done, total)``.
    """
    clock = Stopwatch()
    config = config.fitted(len(item_ids))
    report: dict = {"embedding": config.embedding, "init": config.init}
    g = GraphTensors.from_csr(graph)

    base = None
    if config.leiden:
        base = leiden(graph, LeidenConfig(resolution=config.gamma, seed=config.seed))
        report["leiden"] = {"modularity": base.modularity, "communities": base.num_communities,
                            "seconds": round(base.seconds, 3), "graph_build_seconds": round(base.build_seconds, 3)}
    start = clock.seconds
    if config.init == "leiden":
        init = Membership.one_hot(base.labels, base.num_communities)
    else:
        if spectral is None:
            raise ConfigError("init='spectral' needs the spectral embedding")
        labels = spectral_kmeans_labels(spectral, config.num_prototypes, config.seed)
        init = Membership.one_hot(labels, max(config.num_prototypes, int(labels.max()) + 1))
    init_seconds = clock.seconds - start
    stage_progress = (lambda done, total: progress("prototypes", done, total)) if progress else None
    member, ascent = optimize(g, init, config.ascent(), stage_progress)
    member, _ = compact(member)
    proto_seconds = clock.seconds - start
    p = member.to_scipy()
    vectors = prototype_vectors(p, x)
    profiles = interest_profiles(p, vectors)
    mass = np.asarray(p.sum(0)).ravel()
    slots = (member.val > 0).sum(1).numpy()
    report["prototypes"] = {
        "modularity": ascent["modularity"], "initial_modularity": ascent["initial_modularity"],
        "count": member.num_clusters, "iterations": ascent["iterations"], "merges": ascent["merges"],
        "init_seconds": round(init_seconds, 3), "seconds": round(proto_seconds, 3),
        "memberships_per_item": {str(k): int(v) for k, v in enumerate(np.bincount(slots)) if v},
        "sizes": np.round(mass, 3).tolist(), "curve": ascent["curve"]}

    if info is not None and info.labels is not None:
        report["purity"] = {"labels": info.source, "prototypes": purity(p, info.labels, config.seed)}
        if base is not None:
            leiden_p = Membership.one_hot(base.labels, base.num_communities).to_scipy()
            report["purity"]["leiden"] = purity(leiden_p, info.labels, config.seed)
    central = central_items(graph, p, config.top_items)
    report["prototype_items"] = [
        {"prototype": c, "mass": round(float(mass[c]), 3),
         "items": [{"item_id": str(item_ids[i]), **({"title": info.titles[i]} if info and info.titles else {})}
                   for i in central[c]]} for c in range(member.num_clusters)]

    sid_progress = (lambda done, total: progress("sids", done, total)) if progress else None
    sids = semantic_ids(x, config.sids(), p if config.supervision > 0 else None, sid_progress)
    if config.supervision == 0:  # still report how unsupervised codes agree with the prototypes
        sids.report["prototype_agreement"] = {"unsupervised": agreement(sids.raw_codes[:, 0], member.hard_labels())}
    trie = SIDTrie.build(sids.codes, sids.vocab_sizes)
    report["sids"] = sids.report
    if sids.report["unresolved_collisions"] != 0:  # deduplicate() makes this impossible
        raise AssertionError("semantic IDs are not unique after the collision level")

    summary = {
        "num_items": len(item_ids), "num_prototypes": member.num_clusters,
        "modularity": round(ascent["modularity"], 6),
        "leiden_modularity": round(base.modularity, 6) if base else None,
        "leiden_communities": base.num_communities if base else None,
        "prototype_seconds": round(proto_seconds, 3), "leiden_seconds": round(base.seconds, 3) if base else None,
        "levels": int(sids.codes.shape[1]), "codebook_size": config.codebook_size,
        "colliding_items_before": sids.report["collisions_before"]["colliding_items"],
        "unresolved_collisions": sids.report["unresolved_collisions"],
        "relative_reconstruction_error": sids.report["relative_reconstruction_error"],
        "prototype_agreement": sids.report.get("prototype_agreement"),
        "purity": report.get("purity", {}).get("prototypes", {}).get("purity"),
        "trie_nodes": trie.num_nodes,
    }
    summary.update(seconds=round(clock.seconds, 3), peak_memory_mb=round(peak_memory_mb(), 1))
    report["summary"] = summary

    return Tokens(member, vectors, profiles, mass, base, sids, trie, report, summary)
