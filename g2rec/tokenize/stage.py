"""The ``tokenize`` stage: interest prototypes, profiles and semantic IDs of a run folder.

Reads the graph and item embeddings of earlier stages and writes ``RUN_DIR/tokenize/``:

* ``prototypes.npz``: ``idx`` ``(I, rho)`` int32 prototype ids (-1 = empty slot), ``val``
  ``(I, rho)`` float32 memberships (rows sum to 1), ``vectors`` ``V`` ``(C, d)`` float32,
  ``mass`` ``(C,)`` (``P^T 1``), ``leiden`` ``(I,)`` Leiden communities (-1 when not run);
* ``profiles.npy``: ``Y = P V`` ``(I, d)`` float32;
* ``sids.npz``: ``codes`` ``(I, L')`` int32 unique SIDs, ``raw_codes`` ``(I, L)`` before the
  collision level, ``vocab_sizes`` ``(L',)``, and ``codebooks`` ``(L, K, d)`` for residual k-means;
* ``sid_table.parquet``: ``item_index``, ``item_id`` (original id), ``sid`` ("12-7-201-0"),
  one column per level; ``trie.npz``: :class:`~g2rec.tokenize.trie.SIDTrie` arrays;
* ``report.json``: modularity (ours, Leiden's), prototype sizes and central items (with
  titles where known), purity against item labels, codebook usage, collisions, errors.

Everything is written into a temporary folder and moved into place when complete.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass, fields

import numpy as np
import pandas as pd

from ..deps import import_faiss
from ..errors import ConfigError, check_choice
from ..runfolder import RunFolder
from ..runinfo import Stopwatch, peak_memory_mb, write_json_atomic
from .item_info import load_item_info, purity
from .leiden import LeidenConfig, leiden
from .profiles import central_items, interest_profiles, prototype_vectors
from .prototypes import AscentConfig, compact, optimize
from .semantic_ids import SemanticIDConfig, agreement, semantic_ids
from .soft_modularity import GraphTensors, Membership
from .trie import SIDTrie

INITS = ("spectral", "leiden")
FOLDER = "tokenize"


@dataclass
class TokenizeConfig:
    """All options of the stage (see :class:`AscentConfig`, :class:`SemanticIDConfig`).

    embedding: item embeddings ``X`` for prototype vectors and SIDs (``g2rec embed`` method;
        ``spectral`` is computed when missing). init: ``spectral`` (k-means of the row-normalized
        spectral embedding into ``num_prototypes`` clusters) or ``leiden``. leiden: also run the
        Leiden baseline (needed for ``init=leiden``). top_items: central items per prototype.
    """

    embedding: str = "spectral"
    init: str = "spectral"
    num_prototypes: int = 64
    rho: int = 4
    gamma: float = 1.0
    iterations: int = 300
    beta: float = 1000.0
    merge: bool = True
    min_weight: float = 0.02
    leiden: bool = True
    sid_method: str = "rkmeans"
    levels: int = 3
    codebook_size: int = 256
    supervision: float = 1.0
    kmeans_iterations: int = 20
    compare_unsupervised: bool = True
    rqvae_epochs: int = 60
    top_items: int = 5
    seed: int = 0

    def __post_init__(self):
        check_choice("init", self.init, INITS)
        if self.init == "leiden" and not self.leiden:
            raise ConfigError("init='leiden' needs the Leiden baseline: do not turn leiden off")
        if self.num_prototypes < 1:
            raise ConfigError(f"num_prototypes={self.num_prototypes}: must be >= 1")
        if self.rho > self.num_prototypes:
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
        return SemanticIDConfig(method=self.sid_method, levels=self.levels, codebook_size=self.codebook_size,
                                supervision=self.supervision, kmeans_iterations=self.kmeans_iterations,
                                compare_unsupervised=self.compare_unsupervised, rqvae_epochs=self.rqvae_epochs,
                                seed=self.seed)

    def check_items(self, num_items: int) -> None:
        if self.num_prototypes > num_items:
            raise ConfigError(f"num_prototypes={self.num_prototypes} is larger than the {num_items} items")
        self.sids().check_items(num_items)


def spectral_kmeans_labels(vectors: np.ndarray, clusters: int, seed: int, flat_limit: int = 1024) -> np.ndarray:
    """Spherical faiss k-means of the row-normalized vectors: ``(I,)`` labels (about ``clusters``).

    Above ``flat_limit`` clusters, two levels (``O(I d sqrt(C))`` instead of ``O(I d C)`` per
    iteration): ``ceil(sqrt(C))`` coarse clusters, then each split into a share of ``C``
    proportional to its size."""
    faiss = import_faiss()
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    def flat(points, k, s):
        if k <= 1 or len(points) <= k:
            return np.arange(len(points)) % max(k, 1)
        km = faiss.Kmeans(points.shape[1], k, niter=25, seed=s, spherical=True, min_points_per_centroid=1)
        km.train(points)
        return km.index.search(points, 1)[1].ravel().astype(np.int64)

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


def _embeddings(run: RunFolder, method: str, progress) -> np.ndarray:
    if method == "spectral" and not (run.path / "embeddings" / "spectral.npy").exists():
        from ..embed.stage import embed  # computes and records them as `g2rec embed` would

        embed(run.path, "spectral", evaluate=False, progress=progress)
        run.manifest = RunFolder(run.path).manifest
    return run.embeddings(method)


def tokenize(run_dir, config: TokenizeConfig | None = None, progress=None, **options) -> dict:
    """Find interest prototypes and semantic IDs for a run folder (module docstring).

    Args:
        run_dir: a run folder made by ``build_graph`` (with ``embed`` outputs, or spectral
            embeddings are computed).
        config: a :class:`TokenizeConfig`, or pass its fields as ``**options``.
        progress: optional ``progress(stage, done, total)``.

    Returns:
        The summary, also recorded under ``stages.tokenize`` in the manifest: ``num_items``,
        ``num_prototypes``, ``modularity``, ``leiden_modularity``, ``levels``, ``codebook_size``,
        ``unresolved_collisions`` (always 0) and more.
    """
    clock = Stopwatch()
    names = {f.name for f in fields(TokenizeConfig)}
    unknown = sorted(set(options) - names)
    if unknown:
        raise ConfigError(f"unknown tokenize option(s): {', '.join(unknown)} (valid: {', '.join(sorted(names))})")
    config = config or TokenizeConfig(**{k: v for k, v in options.items() if v is not None})
    run = RunFolder(run_dir)
    graph, seq = run.graph(), run.sequences()
    config.check_items(seq.num_items)
    x = _embeddings(run, config.embedding, progress)
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
        spectral = x if config.embedding == "spectral" else _embeddings(run, "spectral", progress)
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

    info = load_item_info(run.manifest["stages"]["build-graph"]["input"].get("path"), seq.item_ids)
    if info is not None and info.labels is not None:
        report["purity"] = {"labels": info.source, "prototypes": purity(p, info.labels, config.seed)}
        if base is not None:
            leiden_p = Membership.one_hot(base.labels, base.num_communities).to_scipy()
            report["purity"]["leiden"] = purity(leiden_p, info.labels, config.seed)
    central = central_items(graph, p, config.top_items)
    report["prototype_items"] = [
        {"prototype": c, "mass": round(float(mass[c]), 3),
         "items": [{"item_id": str(seq.item_ids[i]), **({"title": info.titles[i]} if info and info.titles else {})}
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
        "num_items": seq.num_items, "num_prototypes": member.num_clusters,
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

    files = _write(run, member, vectors, mass, base, profiles, sids, trie, seq.item_ids, report)
    run.record("tokenize", None, {"params": asdict(config), "summary": summary, "files": files})
    return summary


def _write(run, member, vectors, mass, base, profiles, sids, trie, item_ids, report) -> list[str]:
    tmp = run.path / f".{FOLDER}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        idx = np.where(member.val.numpy() > 0, member.idx.numpy(), -1).astype(np.int32)
        np.savez(tmp / "prototypes.npz", idx=idx, val=member.val.numpy().astype(np.float32), vectors=vectors,
                 mass=mass.astype(np.float32),
                 leiden=base.labels if base is not None else np.full(len(idx), -1, dtype=np.int64))
        np.save(tmp / "profiles.npy", profiles, allow_pickle=False)
        extra = {"codebooks": sids.codebooks} if sids.codebooks is not None else {}
        np.savez(tmp / "sids.npz", codes=sids.codes.astype(np.int32), raw_codes=sids.raw_codes.astype(np.int32),
                 vocab_sizes=sids.vocab_sizes, **extra)
        table = pd.DataFrame({"item_index": np.arange(len(item_ids)), "item_id": [str(i) for i in item_ids],
                              "sid": ["-".join(map(str, row)) for row in sids.codes.tolist()]})
        for level in range(sids.codes.shape[1]):
            table[f"level_{level + 1}"] = sids.codes[:, level].astype(np.int32)
        table.to_parquet(tmp / "sid_table.parquet", index=False)
        trie.save(tmp / "trie.npz")
        write_json_atomic(tmp / "report.json", report)
        final = run.path / FOLDER
        old = run.path / f".{FOLDER}.old-{os.getpid()}"
        if final.exists():
            os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return sorted(f"{FOLDER}/{f.name}" for f in (run.path / FOLDER).iterdir())
