"""Benchmark: soft-modularity prototypes vs. Leiden, and residual k-means semantic IDs.

1. Synthetic co-engagement graphs (``planted_graph``, fixed seed): communities of 50-150
   items; every item sends Poisson(``degree / 2``) + 1 edges, each inside its community with
   probability ``1 - mu`` and to a uniform item otherwise; repeated pairs add up (counts).
   On each graph, one after the other in the same process:
   * Leiden (leidenalg ``RBConfigurationVertexPartition``, resolution 1, leidenalg's default
     of 2 iterations, seed 0): time of ``find_partition`` (igraph conversion reported apart),
     modularity. (Until stable, ``iterations=-1`` as the stage uses, took over 11 minutes at
     100k items here.)
   * ours, the default initialization: spectral embedding (``fit_spectral``, d = 64;
     in the pipeline this is ``g2rec embed``'s artifact), spherical k-means into
     ``C = I / 100`` clusters, then soft-modularity ascent with merges (default config).
     Times for each step; "clustering" = k-means + ascent, "total" adds the embedding.
   Both modularities are computed by the same function (weighted, resolution 1, equal to
   networkx's ``modularity``).
2. Residual k-means on ``I x 64`` float32 vectors (a Gaussian mixture), ``3 x 256`` codes,
   unsupervised, 20 Lloyd iterations per level (faiss, trains on <= 256 points per centroid).

Usage::

    python benchmarks/prototypes.py --sizes 100000 1000000 --rk-items 1000000 --threads 2

Results go to ``benchmarks/results/tokenize.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def planted_graph(n: int, degree: float = 10.0, mu: float = 0.5, seed: int = 0):
    """Symmetric count-weighted CSR ``(n, n)`` and the planted community of each item."""
    import numpy as np
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    sizes = rng.integers(50, 151, size=n // 50 + 1)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), n) + 1]
    sizes[-1] -= sizes.sum() - n
    sizes = sizes[sizes > 0]
    start = np.cumsum(sizes) - sizes
    community = np.repeat(np.arange(len(sizes)), sizes)
    stubs = rng.poisson(degree / 2, n) + 1
    src = np.repeat(np.arange(n), stubs)
    c = community[src]
    inside = start[c] + (rng.random(len(src)) * sizes[c]).astype(np.int64)
    dst = np.where(rng.random(len(src)) < 1 - mu, inside, rng.integers(0, n, len(src)))
    keep = src != dst
    upper = sp.csr_matrix((np.ones(int(keep.sum()), np.float32), (src[keep], dst[keep])), shape=(n, n))
    graph = (upper + upper.T).tocsr()
    perm = rng.permutation(n)  # hide the planted order
    graph = graph[perm][:, perm].tocsr()
    graph.sort_indices()
    return graph, community[perm]


def spectral_vectors(graph, n: int, seed: int, dim: int, cache: Path | None):
    """The spectral embedding and its seconds; with ``cache``, reused from (or saved to)
    ``CACHE/spectral_N_dD_sS.npy`` with the seconds of the run that made it beside it."""
    import numpy as np

    from g2rec.embed.base import EmbedInputs
    from g2rec.embed.spectral import SpectralConfig, fit_spectral

    path = cache / f"spectral_{n}_d{dim}_s{seed}.npy" if cache else None
    if path is not None and path.exists():
        meta = json.loads(path.with_suffix(".json").read_text())
        print(f"[{n}] spectral embedding from {path} (made in {meta['seconds']} s)", flush=True)
        return np.load(path), meta["seconds"], str(path)
    t = time.perf_counter()
    vectors = fit_spectral(EmbedInputs(graph, None), SpectralConfig(dim=dim, seed=seed)).vectors
    seconds = time.perf_counter() - t
    if path is not None:
        cache.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
        path.with_suffix(".json").write_text(json.dumps({"seconds": round(seconds, 2)}))
    return vectors, seconds, None


def bench_graph(n: int, seed: int, dim: int = 64, save=None, cache: Path | None = None) -> dict:
    from g2rec.tokenize.leiden import LeidenConfig, leiden
    from g2rec.tokenize.prototypes import AscentConfig, compact, optimize
    from g2rec.tokenize.soft_modularity import GraphTensors, Membership, modularity_of_labels
    from g2rec.tokenize.tokens import spectral_kmeans_labels

    t = time.perf_counter()
    graph, planted = planted_graph(n, seed=seed)
    out = {"items": n, "edges": int(graph.nnz // 2), "generate_seconds": round(time.perf_counter() - t, 2),
           "planted_communities": int(planted.max() + 1),
           "planted_modularity": round(modularity_of_labels(graph, planted), 4)}
    print(f"[{n}] graph: {out}", flush=True)
    vectors, embed_s, cached = spectral_vectors(graph, n, seed, dim, cache)
    t = time.perf_counter()
    clusters = max(2, n // 100)
    labels = spectral_kmeans_labels(vectors, clusters, seed)
    kmeans_s = time.perf_counter() - t
    t = time.perf_counter()
    g = GraphTensors.from_csr(graph)
    member, report = optimize(g, Membership.one_hot(labels, int(labels.max()) + 1), AscentConfig(seed=seed))
    member, _ = compact(member)
    ascent_s = time.perf_counter() - t
    out["ours"] = {"embedding_seconds": round(embed_s, 2), "kmeans_seconds": round(kmeans_s, 2),
                   "ascent_seconds": round(ascent_s, 2), "clustering_seconds": round(kmeans_s + ascent_s, 2),
                   "total_seconds": round(embed_s + kmeans_s + ascent_s, 2), "initial_clusters": clusters,
                   "initial_modularity": round(report["initial_modularity"], 4),
                   "modularity": round(report["modularity"], 4), "prototypes": member.num_clusters,
                   "iterations": report["iterations"], "merges": report["merges"],
                   "items_with_several_memberships": int(((member.val > 0).sum(1) > 1).sum())}
    out["ours"]["spectral_dim"] = dim
    if cached:
        out["ours"]["embedding_cached"] = cached
    print(f"[{n}] ours: {out['ours']}", flush=True)
    if save is not None:
        save(out)
    base = leiden(graph, LeidenConfig(iterations=2, seed=0))
    out["leiden"] = {"seconds": round(base.seconds, 2), "igraph_seconds": round(base.build_seconds, 2),
                     "modularity": round(base.modularity, 4), "communities": base.num_communities}
    print(f"[{n}] leiden: {out['leiden']}", flush=True)
    out["ours"]["time_vs_leiden"] = round(out["ours"]["clustering_seconds"] / max(base.seconds, 1e-9), 2)
    out["ours"]["total_time_vs_leiden"] = round(out["ours"]["total_seconds"] / max(base.seconds, 1e-9), 2)
    out["higher_modularity"] = report["modularity"] > base.modularity
    return out


def bench_rkmeans(n: int, seed: int) -> dict:
    import numpy as np

    from g2rec.tokenize.residual_kmeans import residual_kmeans
    from g2rec.tokenize.semantic_ids import codebook_usage, deduplicate

    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(1000, 64)).astype(np.float32)
    x = centers[rng.integers(0, 1000, n)] + 0.5 * rng.normal(size=(n, 64)).astype(np.float32)
    t = time.perf_counter()
    res = residual_kmeans(x, 3, 256, 20, seed)
    seconds = time.perf_counter() - t
    codes, info = deduplicate(res.codes)
    err = float(((x - res.reconstruction) ** 2).sum(1).mean() / (x ** 2).sum(1).mean())
    out = {"items": n, "dim": 64, "levels": 3, "codebook_size": 256, "seconds": round(seconds, 2),
           "relative_reconstruction_error": round(err, 4), "collisions_before": info,
           "codebook_usage": codebook_usage(res.codes, [256] * 3), "under_60s": seconds < 60}
    print(f"[rkmeans {n}] {out['seconds']} s, error {out['relative_reconstruction_error']}", flush=True)
    return out


def markdown(result: dict) -> str:
    lines = ["# Tokenize benchmark: soft-modularity prototypes vs. Leiden; residual k-means", "",
             f"- Command: `{result['command']}`", f"- Date: {result['date']}",
             f"- Machine: {result['machine']}", f"- Threads: {result['threads']} (torch, faiss, OMP)",
             *[f"- Graph rows merged from: `{c}`" for c in result.get("merged_from", [])], "",
             "## Clustering on planted synthetic graphs", "",
             "| items | edges | Leiden s | Leiden Q | Leiden comms | ours: k-means s | ascent s | "
             "clustering s | x Leiden | embedding s | ours Q | prototypes | higher Q |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for g in result["graphs"]:
        o, lei = g["ours"], g.get("leiden") or {"seconds": "–", "modularity": "–", "communities": 0}
        o = {"time_vs_leiden": "–", **o}
        lines.append(f"| {g['items']:,} | {g['edges']:,} | {lei['seconds']} | {lei['modularity']} | "
                     f"{lei['communities']:,} | {o['kmeans_seconds']} | {o['ascent_seconds']} | "
                     f"{o['clustering_seconds']} | {o['time_vs_leiden']} | {o['embedding_seconds']}{' (cached)' if o.get('embedding_cached') else ''} | "
                     f"{o['modularity']} (d={o.get('spectral_dim', 64)}) | {o['prototypes']:,} | {g.get('higher_modularity', '–')} |")
    lines += ["", "Planted partition modularity: " + ", ".join(
        f"{g['items']:,} items {g['planted_modularity']} ({g['planted_communities']:,} communities)"
        for g in result["graphs"]), "",
        "\"clustering\" = k-means on the spectral embedding + ascent (the embedding is the `embed` stage's "
        "artifact, reported apart); \"x Leiden\" = clustering time / Leiden's `find_partition` time.", ""]
    if result.get("rkmeans"):
        r = result["rkmeans"]
        lines += ["## Residual k-means", "",
                  f"{r['items']:,} x {r['dim']} vectors, {r['levels']} x {r['codebook_size']} codes: "
                  f"**{r['seconds']} s** (target < 60 s: {r['under_60s']}), relative reconstruction error "
                  f"{r['relative_reconstruction_error']}, colliding items before the extra level "
                  f"{r['collisions_before']['colliding_items']:,}, codes used per level "
                  f"{[u['used'] for u in r['codebook_usage']]}.", ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--rk-items", type=int, default=1_000_000, help="0 to skip residual k-means")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="tokenize")
    parser.add_argument("--spectral-dim", type=int, nargs="*", default=[64],
                        help="embedding dimension per size (one value for all, or one per size)")
    parser.add_argument("--vectors-cache", type=Path, default=None,
                        help="folder where spectral embeddings are saved and reused (same graph, dim, seed)")
    parser.add_argument("--merge-from", nargs="*", default=[],
                        help="earlier result JSON files whose graphs are put first in this report")
    args = parser.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import faiss
    import torch

    torch.set_num_threads(args.threads)
    faiss.omp_set_num_threads(args.threads)
    result = {"command": "python benchmarks/prototypes.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
              "machine": f"{os.cpu_count()} CPUs, {platform.platform()}, python {platform.python_version()}",
              "threads": args.threads, "graphs": [], "rkmeans": None}
    for path in args.merge_from:
        earlier = json.loads(Path(path).read_text())
        result["graphs"] += earlier["graphs"]
        result["merged_from"] = result.get("merged_from", []) + [earlier["command"]]
        result["rkmeans"] = result["rkmeans"] or earlier.get("rkmeans")
    RESULTS.mkdir(exist_ok=True)

    def save(partial=None):
        snapshot = dict(result, graphs=result["graphs"] + ([partial] if partial else []))
        (RESULTS / f"{args.name}.json").write_text(json.dumps(snapshot, indent=2) + "\n")
        (RESULTS / f"{args.name}.md").write_text(markdown(snapshot))

    if args.rk_items:
        result["rkmeans"] = bench_rkmeans(args.rk_items, args.seed)
        save()
    dims = args.spectral_dim * len(args.sizes) if len(args.spectral_dim) == 1 else args.spectral_dim
    for n, dim in zip(args.sizes, dims):
        result["graphs"].append(bench_graph(n, args.seed, dim, save, args.vectors_cache))
        save()
    save()
    print(markdown(result))


if __name__ == "__main__":
    main()
