"""Quality recipes: per dataset, how its run folder is made and which models are trained.

Plain dicts (cornac-style), read by ``benchmarks/quality.py``. Every stage entry is a call of
the library function with these keyword arguments, which are also the CLI's options
(``dropout`` -> ``--dropout``), so each row's command is printed from its recipe. A model
entry is either ``None`` (a baseline: ``popularity``, ``knn``), ``{"train": {...}}`` (a
``g2rec train`` call; ``"embed"``: embeddings it needs besides the recipe's, made only when
it is run) or ``{"tune_prior": SOURCE, "grid": {...}}`` (the graph prior chosen on
validation for a copy of a trained items model, over the grid's values of ``alpha``,
``history``, ``decay`` and ``eps``, default the library's: an ablation such as SASRec + prior;
``"sampled": 99`` chooses it on the sampled-99 validation protocol) or ``{"ensemble": [MEMBERS]}``
(``g2rec ensemble``: trained models of the run scored as one, their mean log-probabilities).

Provenance: what the options come from and what search chose them. Searches are on the
validation split only; test is evaluated once per configuration. Hardware of every run:
the result JSON records it.
"""

from __future__ import annotations

BASELINES = {"popularity": None, "knn": None}

# Trained on the device machine (one H100 or H200, 16 CPUs) by benchmarks/train_parallel.py, one
# process per model; patience 15 because an epoch costs a second there, not a minute.
GPU = {"device": "cuda", "threads": 1, "windows": "last", "epochs": 200, "patience": 15}
CPU = {**GPU, "device": "cpu"}
# g2rec's Beauty setting (the CPU row g2rec-items): profiles added, LightGCN vectors as X
G2REC = {"model": "g2rec", "profiles": "add", "item_init": "lightgcn", **GPU}

# The graph prior's knobs searched on validation (4 x 4 x 3 x 7 = 336 points, one network pass).
# A wider Beauty search (alpha 0-4 x history 3-20 x decay .3-1 x eps 1e-4-1e-2) puts the best
# point at its short-history / fast-decay / small-eps edge (alpha 3, H 3, decay .3, eps 1e-4:
# valid N@10 .0576 against .0527 for the model's own knobs H 10, decay .7, eps 1e-3); this grid
# is centred there.
PRIOR_GRID = {"alpha": [0, 1, 2, 2.5, 3, 3.5, 4], "history": [1, 2, 3, 5], "decay": [0.1, 0.2, 0.3, 0.5],
              "eps": [1e-5, 1e-4, 1e-3]}

# PRIOR_GRID widened to contain the library's default grid too (alpha .25/.5, history 10, decay
# .7): MovieLens-100K's default search chooses alpha .5, which PRIOR_GRID lacks:
# 9 x 5 x 5 x 3 = 675 points.
PRIOR_GRID_WIDE = {"alpha": [0, 0.25, 0.5, 1, 2, 2.5, 3, 3.5, 4], "history": [1, 2, 3, 5, 10],
                   "decay": [0.1, 0.2, 0.3, 0.5, 0.7], "eps": [1e-5, 1e-4, 1e-3]}

# The relative target on Toys, Scientific and MovieLens-100K: g2rec ahead of SASRec and TIGER on
# test NDCG@10, each side's configuration chosen on validation (quality.py's head_to_head)
AHEAD_OF = {"metric": "ndcg@10", "networks": ["sasrec", "tiger", "tiger-mlp"]}


def seeds(name: str, options: dict, count: int = 5) -> dict:
    """Train entries ``NAME-s1`` .. ``NAME-s{count-1}``: ``NAME``'s options with seeds 1.. (seed 0 is ``NAME``)."""
    return {f"{name}-s{seed}": {"train": {**options, "seed": seed}} for seed in range(1, count)}


def seed_members(name: str, count: int) -> list[str]:
    """``NAME`` (seed 0) and ``NAME-s1`` .. ``NAME-s{count-1}``."""
    return [name] + [f"{name}-s{seed}" for seed in range(1, count)]


def named_ensembles(ensembles: dict, grid: dict | None = None) -> dict:
    """``NAME: [A, B, ...]`` -> the ensemble ``NAME`` of the trained models A, B... (either head) and
    its graph prior chosen on validation NDCG@10 (``NAME-prior-tuned``)."""
    tuned = {"grid": grid} if grid else {}
    return {entry: value for name, members in ensembles.items()
            for entry, value in ((name, {"ensemble": members}), (f"{name}-prior-tuned", {"tune_prior": name, **tuned}))}


def seed_ensemble(name: str, count: int, grid: dict | None = None, recall: bool = False) -> dict:
    """``NAME-xCOUNT``, the ensemble of ``NAME`` and its seeds 1..COUNT-1 (all fixed before any
    result: no member is chosen), and its graph prior chosen on validation NDCG@10
    (``-prior-tuned``) and, with ``recall``, on validation Recall@10 (``-prior-recall``)."""
    members = seed_members(name, count)
    ens, tuned = f"{name}-x{count}", {"grid": grid} if grid else {}
    entries = {ens: {"ensemble": members}, f"{ens}-prior-tuned": {"tune_prior": ens, **tuned}}
    if recall:
        entries[f"{ens}-prior-recall"] = {"tune_prior": ens, **tuned, "metric": "recall10"}
    return entries


# Amazon 2014 Beauty: the run folder of benchmarks/README.md ("Quality benchmark"), every
# model trained there; the options are those recorded in each config.json.
BEAUTY = {
    "source": "amazon2014_beauty/Beauty.txt.gz",
    "run": "runs/beauty",
    "build": {},
    "embed": {"spectral": {}, "lightgcn": {"graph": "bipartite"}},
    "tokenize": {"embedding": "lightgcn"},
    "sampled_99": True,
    # targets: above every published full-ranking anchor (best R@10 .0809, N@10 .0464) and the
    # G2Rec paper's sampled-99 N@10 .3334
    "targets": {"full-ranking": {"recall@10": 0.085, "ndcg@10": 0.047}, "sampled-99": {"ndcg@10": 0.345}},
    "models": {
        **BASELINES,
        "sasrec-items": {"train": {"model": "sasrec", "windows": "last", "epochs": 60, "patience": 8, "threads": 1}},
        "sasrec-items-prior": {"tune_prior": "sasrec-items"},
        "sasrec-items-prior-tuned": {"tune_prior": "sasrec-items", "grid": PRIOR_GRID},
        "tiger-sids": {"train": {"model": "tiger-mlp", **GPU}, "embed": {"sasrec": {}}},
        # GPU, a budget of 60 epochs (a longer run, whose weights were not kept, had validation
        # N@10 .0255 at epoch 60 and .0282 at 115)
        "g2rec-sids": {"train": {**G2REC, "head": "sids", "profiles": "interleave", "epochs": 60}},
        "g2rec-items-add": {"train": {"model": "g2rec", "profiles": "add", "windows": "last", "epochs": 40,
                                      "patience": 6, "threads": 1}},
        "g2rec-items-add-prior-tuned": {"tune_prior": "g2rec-items-add", "grid": PRIOR_GRID},
        "g2rec-items": {"train": {"model": "g2rec", "profiles": "add", "item_init": "lightgcn", "windows": "last",
                                  "epochs": 40, "patience": 6, "threads": 1}},
        # ablation of the prior's knobs: the model's own (last 10 items, decay .7, eps 1e-3), weight
        # still chosen on validation; trades full-ranking NDCG for sampled-99
        "g2rec-items-prior-h10": {"tune_prior": "g2rec-items", "grid": {"history": [10], "decay": [0.7], "eps": [1e-3]}},
        # the prior (default grid) chosen on the sampled-99 validation protocol, for the sampled-99 row
        "g2rec-items-prior-s99": {"tune_prior": "g2rec-items", "sampled": 99},
        "sasrec-items-prior-s99": {"tune_prior": "sasrec-items", "sampled": 99},
        # the prior chosen by validation Recall@10 (the target not met by the NDCG@10 choice)
        "sasrec-items-prior-recall": {"tune_prior": "sasrec-items", "grid": PRIOR_GRID, "metric": "recall10"},
        "g2rec-items-d128-prior-recall": {"tune_prior": "g2rec-items-d128", "metric": "recall10"},
        # GPU: wider networks (dim 128/256, dropout 0.5), for Recall@10; checkpoints chosen on validation.
        # sasrec-items-d128 is a run of 111 epochs (the GPU run's time limit, 7 epochs after its best)
        "sasrec-items-d128": {"train": {"model": "sasrec", "dim": 128, "dropout": 0.5, **GPU, "epochs": 111}},
        "sasrec-items-d128-prior-tuned": {"tune_prior": "sasrec-items-d128"},
        "sasrec-items-d256": {"train": {"model": "sasrec", "dim": 256, "dropout": 0.5, **GPU}},
        "sasrec-items-d256-prior-tuned": {"tune_prior": "sasrec-items-d256"},
        "g2rec-items-d128": {"train": {"model": "g2rec", "profiles": "add", "dim": 128, "dropout": 0.5, **GPU,
                                       "graph_prior": False}},
        "g2rec-items-d128-prior-tuned": {"tune_prior": "g2rec-items-d128"},
        "sasrec-items-d128-l3": {"train": {"model": "sasrec", "dim": 128, "layers": 3, "dropout": 0.5, **GPU}},
        "g2rec-items-d256": {"train": {"model": "g2rec", "profiles": "add", "dim": 256, "dropout": 0.5, **GPU,
                                       "graph_prior": False}},
        # ablations, all trained the same way (GPU) from g2rec-items-gpu's options, one change each
        "sasrec-items-gpu": {"train": {"model": "sasrec", **GPU}},
        "g2rec-items-gpu": {"train": {**G2REC, "graph_prior": False}},
        "g2rec-items-gpu-prior-tuned": {"tune_prior": "g2rec-items-gpu"},
        "g2rec-items-x-spectral": {"train": {**G2REC, "item_init": "spectral", "graph_prior": False}},
        "g2rec-items-x-sasrec": {"train": {**G2REC, "item_init": "sasrec", "graph_prior": False}},
        "g2rec-items-x-none": {"train": {**G2REC, "item_init": "none", "graph_prior": False}},
        "g2rec-items-no-prototypes": {"train": {**G2REC, "profiles": "none", "profile_weight": 0.0, "graph_prior": False}},
        "g2rec-items-lambda-0": {"train": {**G2REC, "profile_weight": 0.0, "graph_prior": False}},
        "g2rec-items-lambda-0.3": {"train": {**G2REC, "profile_weight": 0.3, "graph_prior": False}},
        "g2rec-items-lambda-3": {"train": {**G2REC, "profile_weight": 3.0, "graph_prior": False}},
        "g2rec-items-interleave": {"train": {**G2REC, "profiles": "interleave", "graph_prior": False}},
        # GPU: seeds 1-4 of two networks, the members of five-seed ensembles (SASRec's seeds 5-9
        # too, for a ten-seed ensemble with the window graph's prior)
        **seeds("sasrec-items-gpu", {"model": "sasrec", **GPU}, count=10),
        **seeds("g2rec-items-d128", {"model": "g2rec", "profiles": "add", "dim": 128, "dropout": 0.5, **GPU,
                                     "graph_prior": False}),
        **seed_ensemble("g2rec-items-d128", 5, PRIOR_GRID, recall=True),
        # both five-seed ensembles as one (ten members): chosen over them only if validation says so
        "sasrec-g2rec-x10": {"ensemble": seed_members("sasrec-items-gpu", 5) + seed_members("g2rec-items-d128", 5)},
        "sasrec-g2rec-x10-prior-tuned": {"tune_prior": "sasrec-g2rec-x10", "grid": PRIOR_GRID},
        "sasrec-g2rec-x10-prior-recall": {"tune_prior": "sasrec-g2rec-x10", "grid": PRIOR_GRID, "metric": "recall10"},
        "sasrec-items-gpu-x10": {"ensemble": seed_members("sasrec-items-gpu", 10)},
        # the window graph's prior (`tune-prior --graph-from`, runs/beauty-window: the same sequences
        # file) on the ensembles with g2rec members, whose profiles tie them to this run folder (on
        # SASRec x5 the window graph's prior gave the best validation Recall@10 of both folders)
        **{f"{ens}-window-prior-{kind}": {"tune_prior": ens, "grid": PRIOR_GRID, "graph_from": "runs/beauty-window",
                                          **({"metric": "recall10"} if kind == "recall" else {})}
           for ens in ("sasrec-g2rec-x10", "g2rec-items-d128-x5", "sasrec-items-gpu-x10") for kind in ("tuned", "recall")},
        # every trained member of both networks as one ensemble (SASRec x10 + g2rec d128 x5), the window
        # graph's prior; chosen over the others only if validation says so
        "sasrec-g2rec-x15": {"ensemble": seed_members("sasrec-items-gpu", 10) + seed_members("g2rec-items-d128", 5)},
        **{f"sasrec-g2rec-x15-window-prior-{kind}": {"tune_prior": "sasrec-g2rec-x15", "grid": PRIOR_GRID,
                                                    "graph_from": "runs/beauty-window",
                                                    **({"metric": "recall10"} if kind == "recall" else {})}
           for kind in ("tuned", "recall")},
    },
    "provenance": "defaults of GeneratorConfig (dim 64, 2 layers, 2 heads, dropout 0.3, AdamW 1e-3, batch 256) "
                  "unless the row's command says otherwise; profiles=add because interleave learned more slowly "
                  "(validation curves); checkpoints by validation NDCG@10; the graph prior of trained rows from "
                  "the grid of their training (in config.json), of *-prior-tuned rows from PRIOR_GRID (336 "
                  "points), both on validation NDCG@10.",
}

# MovieLens-100K (943 users, 1,682 items, long histories: mean 106 ratings): the same
# defaults as Beauty, every training transition a target (--windows all), and the larger
# patience a small dataset affords.
MOVIELENS_100K = {
    "source": "movielens_100k/u.data",
    "run": "runs/ml-100k",
    "build": {},
    "embed": {"spectral": {}, "lightgcn": {"graph": "bipartite"}},
    "tokenize": {"embedding": "lightgcn"},
    "sampled_99": False,
    "ahead_of": AHEAD_OF,
    "models": {
        **BASELINES,
        "sasrec-items": {"train": {"model": "sasrec", "epochs": 200, "patience": 20, "threads": 1}},
        "sasrec-items-prior": {"tune_prior": "sasrec-items"},
        "sasrec-items-prior-tuned": {"tune_prior": "sasrec-items", "grid": PRIOR_GRID_WIDE},
        "tiger-sids": {"train": {"model": "tiger-mlp", "epochs": 200, "patience": 20, "threads": 1}, "embed": {"sasrec": {}}},
        "g2rec-items": {"train": {"model": "g2rec", "profiles": "add", "epochs": 200, "patience": 20, "threads": 1}},
        "g2rec-items-prior-tuned": {"tune_prior": "g2rec-items", "grid": PRIOR_GRID_WIDE},
        # ablations: which item vectors X start the id embeddings; the semantic-ID head
        "g2rec-items-lightgcn": {"train": {"model": "g2rec", "profiles": "add", "item_init": "lightgcn", "epochs": 200,
                                           "patience": 20, "threads": 1}},
        "g2rec-items-lightgcn-prior-tuned": {"tune_prior": "g2rec-items-lightgcn", "grid": PRIOR_GRID_WIDE},
        "g2rec-items-spectral": {"train": {"model": "g2rec", "profiles": "add", "item_init": "spectral", "epochs": 200,
                                           "patience": 20, "threads": 1}},
        "g2rec-sids": {"train": {"model": "g2rec", "head": "sids", "epochs": 200, "patience": 20, "threads": 1}},
        # the SID head with profiles added, not interleaved: interleaved, its prediction state sits on
        # the newest item's profile token, which holds the item only through attention
        # (benchmarks/recency.py: g2rec-sids loses 2% of validation N@10 without the newest item, TIGER 14%)
        "g2rec-sids-add": {"train": {"model": "g2rec", "head": "sids", "profiles": "add", "epochs": 200, "patience": 20,
                                     "threads": 1}},
        # and with no profile tokens at all (the profile loss kept): is it the layout or the profiles?
        "g2rec-sids-noprofiles": {"train": {"model": "g2rec", "head": "sids", "profiles": "none", "epochs": 200,
                                            "patience": 20, "threads": 1}},
        "g2rec-items-interleave": {"train": {"model": "g2rec", "epochs": 200, "patience": 20, "threads": 1}},
        "g2rec-items-nolambda": {"train": {"model": "g2rec", "profiles": "add", "profile_weight": 0.0, "epochs": 200,
                                           "patience": 20, "threads": 1}},
        # three-seed ensembles of the two rows the comparison is about (same budget)
        **seeds("sasrec-items", {"model": "sasrec", "epochs": 200, "patience": 20, "threads": 1}, count=3),
        **seeds("g2rec-items-lightgcn", {"model": "g2rec", "profiles": "add", "item_init": "lightgcn", "epochs": 200,
                                         "patience": 20, "threads": 1}, count=3),
        **seed_ensemble("sasrec-items", 3, PRIOR_GRID_WIDE),
        **seed_ensemble("g2rec-items-lightgcn", 3, PRIOR_GRID_WIDE),
        # g2rec's two heads as one model and the two-network baselines (as in amazon())
        **named_ensembles({"g2rec-items-sids": ["g2rec-items-lightgcn", "g2rec-sids-add"],
                                 "sasrec-items-x2": ["sasrec-items", "sasrec-items-s1"],
                                 "sasrec-tiger": ["sasrec-items", "tiger-sids"],
                                 "sasrec-g2rec-sids": ["sasrec-items", "g2rec-sids-add"]}, PRIOR_GRID_WIDE),
        # CPU: three networks, g2rec's SID head in place of SASRec's third seed (against sasrec-items-x3)
        **named_ensembles({"sasrec-x2-g2rec-sids": ["sasrec-items", "sasrec-items-s1", "g2rec-sids-add"]}, PRIOR_GRID_WIDE),
    },
    "provenance": "library defaults (not searched), patience 20, every training transition a target, CPU; "
                  "checkpoints and graph priors chosen on validation NDCG@10 (*-prior-tuned: PRIOR_GRID_WIDE). "
                  "943 test users: one user's hit moves NDCG@10 by up to 0.001.",
}

# Beauty ablations that need their own run folder: the window graph (pairs <= 5 apart) instead of
# G2Rec's sampled pairs; semantic IDs made without the prototypes' supervision of level 1.
BEAUTY_WINDOW = {
    **{k: BEAUTY[k] for k in ("source", "embed", "tokenize", "sampled_99", "targets")},
    "run": "runs/beauty-window", "build": {"builder": "window"}, "embed": {"lightgcn": {"graph": "bipartite"}},
    "models": {"g2rec-items-gpu": BEAUTY["models"]["g2rec-items-gpu"],
               "g2rec-items-gpu-prior-tuned": {"tune_prior": "g2rec-items-gpu"},
               "sasrec-items": BEAUTY["models"]["sasrec-items"],
               "sasrec-items-prior-tuned": {"tune_prior": "sasrec-items", "grid": PRIOR_GRID},
               "sasrec-items-prior-recall": {"tune_prior": "sasrec-items", "grid": PRIOR_GRID, "metric": "recall10"},
               "sasrec-items-prior-s99": {"tune_prior": "sasrec-items", "sampled": 99},
               # Beauty's GPU SASRec seed members, copied; their five-seed ensemble with the window graph's prior
               **{name: BEAUTY["models"][name] for name in seed_members("sasrec-items-gpu", 5)},
               **seed_ensemble("sasrec-items-gpu", 5, PRIOR_GRID, recall=True)},
    "provenance": "ablation of Beauty's g2rec-items-gpu: only the graph builder differs (prototypes, profiles, prior). "
                  "sasrec-items: Beauty's checkpoint, copied (the sequences are the same file, md5-checked, and a CPU "
                  "training with the same seed is the same run), to put the window graph's prior on it; the "
                  "same for the GPU seed members sasrec-items-gpu(-s1..s4), whose ensemble (-x5: "
                  "all five seeds, none chosen) gets the window graph's prior from PRIOR_GRID on validation "
                  "NDCG@10 and Recall@10. g2rec's networks read the run's interest profiles, which differ "
                  "here: they cannot be copied.",
}
BEAUTY_UNSUPERVISED = {
    **{k: BEAUTY[k] for k in ("source", "build", "sampled_99")},
    "run": "runs/beauty-unsup", "embed": {"lightgcn": {"graph": "bipartite"}},
    "tokenize": {"embedding": "lightgcn", "supervision": 0.0},
    "models": {"g2rec-sids": BEAUTY["models"]["g2rec-sids"]},
    "provenance": "ablation of Beauty's g2rec-sids: level-1 codes not supervised by the prototypes.",
}

# Amazon 2014 Toys (19,412 users, 11,924 items) and 2018 Scientific (8,317 users, 4,344 items):
# Beauty's settings unchanged (not searched on these sets); trained on the GPU unless the entry says cpu.
def amazon(source: str, run: str, epochs: int = 200, tiger_device: dict = GPU, wide: dict = CPU,
           wide_seeds: dict = GPU) -> dict:
    """``wide``: where (and how long) the d128 networks train, ``wide_seeds``: their seeds 1-2."""
    sasrec_wide = {"model": "sasrec", "dim": 128, "dropout": 0.5}
    g2rec_wide = {"model": "g2rec", "profiles": "add", "dim": 128, "dropout": 0.5, "graph_prior": False}
    return {
        "source": source, "run": run, "build": {}, "embed": {"spectral": {}, "lightgcn": {"graph": "bipartite"}},
        "tokenize": {"embedding": "lightgcn"}, "sampled_99": False, "ahead_of": AHEAD_OF,
        "models": {
            **BASELINES,
            "sasrec-items": {"train": {"model": "sasrec", **GPU, "epochs": epochs}},
            "sasrec-items-prior-tuned": {"tune_prior": "sasrec-items"},
            "tiger-sids": {"train": {"model": "tiger-mlp", **tiger_device}, "embed": {"sasrec": {}}},
            "g2rec-items": {"train": {**G2REC, "graph_prior": False}},
            "g2rec-items-prior-tuned": {"tune_prior": "g2rec-items"},
            # the wider setting that put g2rec ahead of SASRec on Beauty at equal width (validation
            # and test, with the prior), both models, on the CPU
            "sasrec-items-d128": {"train": {**sasrec_wide, **wide}},
            "sasrec-items-d128-prior-tuned": {"tune_prior": "sasrec-items-d128"},
            "g2rec-items-d128": {"train": {**g2rec_wide, **wide}},
            "g2rec-items-d128-prior-tuned": {"tune_prior": "g2rec-items-d128"},
            # seeds 1-2 of both d64 networks (GPU), the members of three-seed ensembles
            **seeds("sasrec-items", {"model": "sasrec", **GPU, "epochs": epochs}, count=3),
            **seeds("g2rec-items", {**G2REC, "graph_prior": False}, count=3),
            **seed_ensemble("sasrec-items", 3),
            **seed_ensemble("g2rec-items", 3),
            # GPU: seeds 1-2 of both d128 networks. g2rec d128 starts from no item vectors, so its
            # seeds differ more than the LightGCN-started d64 ones (whose x3 gains little)
            **seeds("sasrec-items-d128", {**sasrec_wide, **wide_seeds}, count=3),
            **seeds("g2rec-items-d128", {**g2rec_wide, **wide_seeds}, count=3),
            **seed_ensemble("sasrec-items-d128", 3),
            **seed_ensemble("g2rec-items-d128", 3),
            # CPU: the SID head with profiles interleaved (Beauty's g2rec-sids) and added
            # (MovieLens' g2rec-sids-add), the same budget (at most 100 epochs)
            **{name: {"train": {**G2REC, "device": "cpu", "head": "sids", "profiles": profiles, "epochs": 100}}
               for name, profiles in (("g2rec-sids", "interleave"), ("g2rec-sids-add", "add"))},
            # its best epoch was the 99th of 100: given 200 (CPU, from scratch) it stopped at 114 with
            # the same best epoch and score, so 100 are enough
            "g2rec-sids-add-e200": {"train": {**G2REC, "device": "cpu", "head": "sids", "profiles": "add", "epochs": 200}},
            # CPU: which of g2rec's d64 differences from SASRec costs it on validation (0.069 against
            # 0.074 on Scientific, every seed): the LightGCN start or the profile loss
            "g2rec-items-noinit": {"train": {**G2REC, "device": "cpu", "item_init": "none", "graph_prior": False}},
            "g2rec-items-nolambda": {"train": {**G2REC, "device": "cpu", "profile_weight": 0.0, "graph_prior": False}},
            # the profile loss alone (no profile input, no LightGCN start) and the profile input alone
            "g2rec-items-lossonly": {"train": {**G2REC, "device": "cpu", "profiles": "none", "item_init": "none",
                                               "graph_prior": False}},
            "g2rec-items-inputonly": {"train": {**G2REC, "device": "cpu", "item_init": "none", "profile_weight": 0.0,
                                                "graph_prior": False}},
            "g2rec-items-lossonly-prior-tuned": {"tune_prior": "g2rec-items-lossonly"},
            # SASRec's network on the same hardware as these ablations (CPU), with its prior chosen on
            # validation, and its seeds 1-2 (CPU): a three-seed ensemble
            "sasrec-items-cpu": {"train": {"model": "sasrec", **CPU, "epochs": epochs}},
            "sasrec-items-cpu-prior-tuned": {"tune_prior": "sasrec-items-cpu"},
            **seeds("sasrec-items-cpu", {"model": "sasrec", **CPU, "epochs": epochs}, count=3),
            **seed_ensemble("sasrec-items-cpu", 3),
            # CPU: g2rec's two heads as one model (`g2rec ensemble` of its items network and its SID
            # network, every item scored by both), against two-network baselines: two SASRec seeds, and
            # SASRec with a TIGER-style SID head (TIGER trained on the CPU, as tiger-sids-cpu); and
            # SASRec's items network with g2rec's SID head
            "tiger-sids-cpu": {"train": {"model": "tiger-mlp", **CPU}, "embed": {"sasrec": {}}},
            **named_ensembles({"g2rec-items-sids": ["g2rec-items", "g2rec-sids-add"],
                                     "sasrec-items-x2": ["sasrec-items", "sasrec-items-s1"],
                                     "sasrec-tiger": ["sasrec-items", "tiger-sids-cpu"],
                                     "sasrec-g2rec-sids": ["sasrec-items", "g2rec-sids-add"]}),
            # CPU: three networks, g2rec's SID head in place of SASRec's third seed (against sasrec-items-x3)
            **named_ensembles({"sasrec-x2-g2rec-sids": ["sasrec-items", "sasrec-items-s1", "g2rec-sids-add"]}),
        },
        "provenance": "Beauty's GPU settings (dim 64, 2 layers, dropout 0.3, patience 15, last windows); "
                      "checkpoints and graph priors (default grid, 84 points) chosen on validation NDCG@10.",
    }


RECIPES = {"beauty": BEAUTY, "ml-100k": MOVIELENS_100K, "beauty-window": BEAUTY_WINDOW, "beauty-unsup": BEAUTY_UNSUPERVISED,
           # Toys: SASRec is a run of 99 epochs (the GPU run's time limit, 13 epochs after its best);
           # TIGER trained on the CPU, with the same options.
           # The d128 networks: on Scientific trained on the CPU, their seeds on the GPU, at most 130
           # epochs (the CPU runs stopped at 64 and 110); on Toys all on the GPU, 70 epochs each (the
           # GPU budget, the same for both models)
           "toys": amazon("amazon2014_toys/Toys_and_Games.txt.gz", "runs/toys", epochs=99,
                          tiger_device=CPU, wide={**GPU, "epochs": 70}, wide_seeds={**GPU, "epochs": 70}),
           "scientific": amazon("amazon2018_scientific/Scientific.inter.json.gz", "runs/scientific",
                                wide_seeds={**GPU, "epochs": 130})}

# Scientific with finer interest prototypes (CPU): at gamma 1 the ascent ends with 10
# prototypes and 4,335 of 4,344 items in exactly one, so an item's profile is one of 19 vectors;
# gamma 4 gives 63 prototypes. The same graph, embeddings and splits; only the profiles differ.
SCIENTIFIC = RECIPES["scientific"]
RECIPES["scientific-fine"] = {
    **{k: SCIENTIFIC[k] for k in ("source", "build", "embed", "sampled_99")},
    "run": "runs/scientific-fine", "tokenize": {"embedding": "lightgcn", "gamma": 4.0},
    "models": {name: {"train": {**G2REC, "device": "cpu", "graph_prior": False, **options}}
               for name, options in (("g2rec-items", {}), ("g2rec-items-noinit", {"item_init": "none"}))},
    "provenance": "ablation of Scientific's g2rec-items and g2rec-items-noinit (CPU): prototypes at gamma 4.",
}

# MovieLens-100K likewise: 3 prototypes at gamma 1, 64 at gamma 4 (the --num-prototypes start).
RECIPES["ml-100k-fine"] = {
    **{k: MOVIELENS_100K[k] for k in ("source", "build", "embed", "sampled_99")},
    "run": "runs/ml-100k-fine", "tokenize": {"embedding": "lightgcn", "gamma": 4.0},
    "models": {"g2rec-items-lightgcn": MOVIELENS_100K["models"]["g2rec-items-lightgcn"],
               "g2rec-items-lightgcn-prior-tuned": {"tune_prior": "g2rec-items-lightgcn", "grid": PRIOR_GRID_WIDE}},
    "provenance": "ablation of MovieLens-100K's g2rec-items-lightgcn: prototypes at gamma 4.",
}

# The strongest published SASRec on Beauty and Toys, with its published settings (eSASRec,
# Tikhonovich et al., RecSys 2025, arXiv 2508.06450; repository blondered/transformer_benchmark,
# README's hyperparameter table): 1 block, 1 head, dropout 0.2, history 50, sampled softmax with
# 256 uniform negatives, constant lr 1e-3, batch 128, at most 200 epochs, patience 50; eSASRec is
# the same with LiGR blocks (feed-forward x4 on Beauty, x1 on Toys). Width: the README's table
# says 64, the repository's configs/paper/loo/*.yaml say 256, so both are entries. Their protocol
# scores test with the history excluded and cold targets left out (quality.py's test rows do
# not: `g2rec evaluate --exclude-history --skip-cold-targets` gives theirs).
SOTA_SASREC = {"model": "sasrec", "layers": 1, "heads": 1, "dropout": 0.2, "max_len": 50, "loss": "sampled",
               "negatives": 256, "lr": 1e-3, "batch_size": 128, "epochs": 200, "patience": 50, "windows": "last"}


# What RecTools' SASRec (the paper's implementation) does beside those settings: negatives drawn
# for each position, dropout on the item table (inputs and tied output), checkpoints chosen on
# validation Recall@10 with the user's items filtered.
AS_RECTOOLS = {"negatives_per": "position", "item_dropout": 0.2, "select": "recall10", "valid_exclude_history": True,
               "patience": 25}


# g2rec's graph components on that backbone, one change at a time: interest profiles with their
# loss (""), without it ("-nopl"), and with the item table started from LightGCN's vectors.
G2REC_ABLATIONS = {"": {}, "-nopl": {"profile_weight": 0.0}, "-lightgcn": {"item_init": "lightgcn"}}


def sota(source: str, run: str, ff_mult: int) -> dict:
    """SASRec+SS (widths 64 and 256) and eSASRec (width 64, LiGR x ``ff_mult``) on ``source``,
    with the published settings and as RecTools trains them; g2rec's graph components on the latter."""
    return {"source": source, "run": run, "build": {}, "embed": {"lightgcn": {"graph": "bipartite"}},
            "tokenize": {"embedding": "lightgcn"}, "sampled_99": False,
            "models": {"sasrec-ss": {"train": {**SOTA_SASREC, "dim": 64}},
                       "sasrec-ss-d256": {"train": {**SOTA_SASREC, "dim": 256}},
                       "esasrec": {"train": {**SOTA_SASREC, "dim": 64, "block": "ligr", "ff_mult": ff_mult}},
                       "sasrec-ss-idrop": {"train": {**SOTA_SASREC, **AS_RECTOOLS, "dim": 64}},
                       **{f"g2rec-ss-idrop{suffix}": {"train": {**SOTA_SASREC, **AS_RECTOOLS, "dim": 64, "model": "g2rec",
                                                                "profiles": "add", "graph_prior": False, **change}}
                          for suffix, change in G2REC_ABLATIONS.items()},
                       **{f"{net}-prior": {"tune_prior": net, "metric": "recall10", "exclude_history": True}
                          for net in ("sasrec-ss-idrop", *(f"g2rec-ss-idrop{suffix}" for suffix in G2REC_ABLATIONS))}},
            "provenance": "eSASRec paper's published settings (blondered/transformer_benchmark); "
                          "sasrec-ss, sasrec-ss-d256 and esasrec chosen on validation NDCG@10 with history kept, "
                          "*-idrop as RecTools trains (AS_RECTOOLS)."}


# Its own folder: runs/beauty's tokenize is rewritten by the encoder-decoder rows (SASRec vectors).
RECIPES["beauty-sota"] = sota("amazon2014_beauty/Beauty.txt.gz", "runs/beauty-sota", ff_mult=4)
RECIPES["toys-sota"] = sota("amazon2014_toys/Toys_and_Games.txt.gz", "runs/toys", ff_mult=1)

# Every row above was trained with the network and budget defaults of its day (g2rec: width 64,
# 2 blocks of 2 heads, dropout 0.3, profiles interleaved with their loss, full-softmax CE, batch
# 256 over every window; at most 100 epochs, patience 10), which an entry left unsaid. They are
# written into each entry here, so that its printed command trains that same network whatever
# `g2rec train`'s defaults are (g2rec's: the SASRec+SS backbone as RecTools trains it, with the
# graph prior, `g2rec/pipeline/models.py`; the `g2rec` entries below).
TRAINED_WITH = {"epochs": 100, "patience": 10}
G2REC_TRAINED_WITH = {"dim": 64, "layers": 2, "heads": 2, "dropout": 0.3, "item_dropout": 0.0, "profiles": "interleave",
                      "profile_weight": 1.0, "loss": "ce", "negatives_per": "batch", "batch_size": 256}  # sasrec's and tiger's are unchanged
for _recipe in RECIPES.values():
    for _entry in _recipe["models"].values():
        if _entry and "train" in _entry:
            _said = _entry["train"]
            _then = {**TRAINED_WITH, **(G2REC_TRAINED_WITH if _said.get("model", "g2rec") == "g2rec" else {})}
            _entry["train"] = {**_said, **{k: v for k, v in _then.items() if k not in _said}}

# g2rec's default network as `g2rec train RUN --model g2rec` trains it today (the SASRec+SS
# backbone above as RecTools trains it, every window, checkpoint and graph prior chosen on
# validation NDCG@10 with history kept). Added after the fill above, so the entry says only what
# it sets: when those defaults change, these entries get them written in as the older ones did.
for _name in ("beauty", "toys", "scientific", "ml-100k"):
    RECIPES[_name]["models"]["g2rec"] = {"train": {"model": "g2rec", "threads": 1}}
