"""Choosing the graph prior of a trained ``items``-head model on validation.

The prior (:mod:`g2rec.model.graph_prior`) has a weight ``alpha`` and three knobs: how many
recent items vote (``history``), their decay and the floor ``eps``. None is trained; they are
picked like an early-stopping epoch: validation NDCG@10, full ranking (or sampled-99 for a
model reported on that protocol), over a grid
(:class:`PriorGrid`, ``alpha = 0`` included), the best kept; ties go to the smaller weight,
then to the earlier grid values. Test data is never read.

The network scores each validation batch once; every grid point then only adds its prior
(``log_softmax(h E^T) + alpha log(g + eps)``), so a grid of many points costs little more than
one evaluation. The result goes into the model's ``config.json`` (``generator.graph_prior``,
``prior_history``, ``prior_decay``, ``prior_eps``) with the whole table under
``graph_prior_search``.

The prior's graph is the run's own by default. ``graph_from`` takes it from another run folder
built on the same sequences (same users, items and splits, so still training interactions
only), e.g. one made with another ``--builder``: the graph that serves the prior best need not
be the one the embeddings and prototypes came from. It is then copied into the model folder
(``prior_graph.npz``, named with its sha256 in ``config.json["prior_graph"]``), so the folder
scores the same wherever it is read.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from ..data.sequences import VALID
from ..errors import ConfigError, G2RecError, check_choice
from ..eval.metrics import metrics_from_ranks, target_ranks
from ..eval.protocol import histories, model_padding, sampled_negatives
from ..model.graph_prior import GraphPrior
from ..runfolder import RunFolder
from ..runinfo import Stopwatch, file_sha256, write_json_atomic

PRIOR_GRAPH = "prior_graph.npz"  # in a model folder: its prior's graph, when not the run's
GRID = (0.0, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0)
METRICS = {"ndcg10": "NDCG@10", "recall10": "Recall@10"}  # what the choice can maximize


@dataclass(frozen=True)
class PriorGrid:
    """Values tried for each knob (every combination is evaluated).

    The defaults (84 points) span where validation searches put the best point: on Beauty
    the last item alone (history 1, eps 1e-5), on MovieLens-100K a few (history 5, decay 0.5),
    the model's own defaults (history 10, decay 0.7, eps 1e-3) in between (benchmarks/recipes.py).
    """

    alpha: tuple[float, ...] = GRID
    history: tuple[int, ...] = (1, 3, 10)
    decay: tuple[float, ...] = (0.5, 0.7)
    eps: tuple[float, ...] = (1e-5, 1e-3)

    def __post_init__(self):
        if not all((self.alpha, self.history, self.decay, self.eps)):
            raise ConfigError("every graph prior grid needs at least one value")
        if min(self.alpha) < 0 or min(self.history) < 1 or min(self.eps) <= 0 or not all(0 < d <= 1 for d in self.decay):
            raise ConfigError(f"graph prior grid: weights must be >= 0, history >= 1, decay in (0, 1], eps > 0; got {self}")

    @property
    def size(self) -> int:
        return len(self.alpha) * len(self.history) * len(self.decay) * len(self.eps)


def search_prior(net, graph, seq, grid: PriorGrid, batch: int = 512, progress=None,
                 sampled: int | None = None, seed: int = 0) -> list[dict]:
    """Validation NDCG@10 (and Recall@10) of every grid point: ``[{alpha, history, decay, eps,
    ndcg10, recall10}]`` in grid order. ``net``: an items-head :class:`Generator` or :class:`Ensemble` (eval mode).
    ``sampled``: rank each target against that many sampled negatives (the sampled-99 protocol,
    negatives drawn as :func:`~g2rec.eval.protocol.evaluate_ranking` draws them) instead of all items."""
    users, hist, targets, _ = histories(seq, VALID, net.config.max_len)
    negatives = torch.from_numpy(sampled_negatives(seq, users, sampled, seed)) if sampled else None
    points = list(itertools.product(grid.history, grid.decay, grid.eps, grid.alpha))
    # grid points that score alike share one slot: alpha = 0 is the network alone whatever the
    # knobs, and decay is moot for a history of one item
    keys = [None if a == 0 else ((h, d if h > 1 else 1.0), e, a) for h, d, e, a in points]
    slot = {key: i for i, key in enumerate(dict.fromkeys(keys))}
    priors = {shape: GraphPrior(graph, *shape) for shape in dict.fromkeys(k[0] for k in slot if k is not None)}
    # one preallocated array: per-batch rank tensors kept in lists pinned freed score buffers
    # between them and grew the heap to 23 GB on Beauty at 336 points
    ranks = torch.empty((len(slot), len(users)), dtype=torch.int64)
    for lo in range(0, len(users), batch):
        h = torch.from_numpy(hist[lo:lo + batch])
        items = model_padding(h, net.num_items)
        target = torch.from_numpy(targets[lo:lo + batch])
        with torch.no_grad():
            base = F.log_softmax(net.item_logits(items), dim=-1)
        pick = None
        if sampled:  # every score narrowed to the (target, negatives) columns, the target in column 0
            pick = torch.cat([target[:, None], negatives[lo:lo + batch]], dim=1)
            base, target = base.gather(1, pick), torch.zeros_like(target)
        if None in slot:
            ranks[slot[None], lo:lo + batch] = target_ranks(base, target)
        for shape, prior in priors.items():  # one (batch, items) vote matrix at a time
            votes = torch.from_numpy(prior.scores(h.numpy()))
            votes = votes.gather(1, pick) if sampled else votes
            for eps in grid.eps:
                log_votes = torch.log(votes + eps)
                for alpha in grid.alpha:
                    if (shape, eps, alpha) in slot:
                        ranks[slot[(shape, eps, alpha)], lo:lo + batch] = target_ranks(base + alpha * log_votes, target)
        if progress is not None:
            progress("graph prior", min(lo + batch, len(users)), len(users))
    scored = [metrics_from_ranks(r.numpy()) for r in ranks]
    table = []
    for (hist_len, decay, eps, alpha), key in zip(points, keys):
        m = scored[slot[key]]
        table.append({"alpha": float(alpha), "history": int(hist_len), "decay": float(decay), "eps": float(eps),
                      "ndcg10": round(m["NDCG@10"], 6), "recall10": round(m["Recall@10"], 6)})
    return table


def prior_graph(run: RunFolder, folder: Path | None) -> sp.csr_matrix:
    """The ``(I, I)`` graph of the prior of the model in ``folder``: the copy its ``config.json``
    names (``tune-prior --graph-from``, checked against its sha256), else the run's."""
    config = folder / "config.json" if folder is not None else None
    own = json.loads(config.read_text()).get("prior_graph") if config is not None and config.exists() else None
    if not own:
        return run.graph()
    path = folder / own["file"]
    if not path.exists() or file_sha256(path) != own["sha256"]:
        raise G2RecError(f"{path}: the prior's graph named in config.json is missing or changed; "
                         f"run `g2rec tune-prior` again")
    graph = sp.load_npz(path).tocsr()
    n = run.manifest["stages"]["build-graph"]["summary"]["num_items"]
    if graph.shape != (n, n):
        raise G2RecError(f"{path}: shape {graph.shape} does not match {n} items in the manifest")
    return graph


def same_log_run(run: RunFolder, other: str | Path) -> RunFolder:
    """The run folder ``other`` (whose graph the prior may use), after checking it holds the same sequences as ``run`` (users,
    items, order and splits), so that its graph has this run's training interactions only."""
    source = RunFolder(other)
    mine, theirs = run.sequences(), source.sequences()
    fields = ("user_ids", "item_ids", "offsets", "items", "split")
    differ = [f for f in fields if not np.array_equal(getattr(mine, f), getattr(theirs, f))]
    if differ:
        raise G2RecError(f"{source.path}: its sequences differ from {run.path}'s ({', '.join(differ)}): its graph "
                         f"could hold this run's validation or test interactions; build both from the same log")
    return source


def choose_graph_prior(run_dir: str | Path, model: str, name: str | None = None, grid: PriorGrid | None = None,
                       progress=None, sampled: int | None = None, metric: str = "ndcg10",
                       graph_from: str | Path | None = None) -> dict:
    """Pick the prior of ``models/MODEL`` on validation; with ``name``, write the result to a
    copy ``models/NAME`` and leave ``MODEL`` as it was (e.g. a SASRec baseline and its ablation).
    ``sampled``: choose it on the sampled-N validation protocol (for a model reported on that
    protocol: a prior that sharpens the full ranking can hurt the sampled one). ``metric``:
    the validation metric maximized, ``ndcg10`` (default) or ``recall10`` (for a Recall@10 target).
    ``graph_from``: a run folder with the same sequences whose graph the prior uses (default: this run's).

    Returns a summary: ``model``, ``graph_prior`` (the chosen alpha), the chosen ``history``,
    ``decay``, ``eps``, ``valid_ndcg10`` (the chosen point's) and the whole ``table``.
    """
    from .stage import load_trained, model_folder  # stage imports this module

    check_choice("metric", metric, METRICS)
    grid = grid or PriorGrid()
    run = RunFolder(run_dir)
    source, target = model_folder(run, model), model_folder(run, name or model)
    graph_run = same_log_run(run, graph_from) if graph_from is not None else run
    net, _, record = load_trained(run, model)
    if net.config.head == "sids":
        raise ConfigError(f"{model}: the graph prior is for the items or both head (this model has head={net.config.head!r})")
    clock = Stopwatch()
    table = search_prior(net, graph_run.graph(), run.sequences(), grid, progress=progress, sampled=sampled)
    order = {k: {v: i for i, v in enumerate(getattr(grid, k))} for k in ("history", "decay", "eps")}
    best = max(table, key=lambda r: (r[metric], -r["alpha"], *(-order[k][r[k]] for k in order)))
    chosen = replace(net.config, graph_prior=best["alpha"], prior_history=best["history"],
                     prior_decay=best["decay"], prior_eps=best["eps"])
    if target != source:
        target.mkdir(parents=True, exist_ok=True)
        for file in ("best.safetensors", "codes.npz"):
            if (source / file).exists():
                shutil.copyfile(source / file, target / file)
    record["generator"].update({k: v for k, v in asdict(chosen).items()
                                if k in ("graph_prior", "prior_history", "prior_decay", "prior_eps")})
    search = {"split": "valid", "metric": METRICS[metric], "protocol": f"sampled-{sampled}" if sampled else "full ranking",
              "grid": {k: list(v) for k, v in asdict(grid).items()},
              "table": table, "chosen": {k: best[k] for k in ("alpha", "history", "decay", "eps")},
              "valid_ndcg10": best["ndcg10"], "valid_recall10": best["recall10"], "source_model": model, "seconds": round(clock.seconds, 1)}
    record["graph_prior_search"] = search
    record.pop("prior_graph", None)
    if graph_from is not None:  # the graph first, then the config that names it
        tmp = target / f".{PRIOR_GRAPH}.tmp"
        shutil.copyfile(graph_run.path / "graph.npz", tmp)
        os.replace(tmp, target / PRIOR_GRAPH)
        record["prior_graph"] = {"file": PRIOR_GRAPH, "from": str(graph_from),
                                 "sha256": file_sha256(target / PRIOR_GRAPH)}
        search["graph_from"] = str(graph_from)
    write_json_atomic(target / "config.json", record)
    if graph_from is None:  # a stale copy of an earlier search's graph, no longer named
        (target / PRIOR_GRAPH).unlink(missing_ok=True)
    run.record("graph-prior", name or model, search)
    return {"model": name or model, "graph_prior": best["alpha"], "history": best["history"], "decay": best["decay"],
            "eps": best["eps"], "valid_ndcg10": best["ndcg10"], "table": table}


__all__ = ["GRID", "PRIOR_GRAPH", "PriorGrid", "choose_graph_prior", "same_log_run", "prior_graph", "search_prior"]
