"""``g2rec tune-prior``: the graph prior of a trained ``items``-head model chosen on validation.

The search is :func:`g2rec.eval.prior_search.search_prior`; the result goes into the model's
``config.json`` (``prior``: weight, history, decay, eps) with the whole table under
``graph_prior_search``.

The prior's graph is the run's own by default. ``graph_from`` takes it from another run folder
built on the same sequences (same users, items and splits, so still training interactions
only), e.g. one made with another ``--builder``: the graph that serves the prior best need not
be the one the embeddings and prototypes came from. It is then copied into the model folder
(``prior_graph.npz``, named with its sha256 in ``config.json["prior_graph"]``), so the folder
scores the same wherever it is read.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..atomic import file_sha256, link_or_copy, write_json_atomic
from ..errors import ConfigError, G2RecError, check_choice
from ..eval.prior_search import METRICS, PriorGrid, best_point, prior_of, search_prior
from ..measure import Stopwatch
from .models import PRIOR_GRAPH, load_trained, model_files
from .runfolder import RunFolder


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
                       graph_from: str | Path | None = None, exclude_history: bool = False) -> dict:
    """Pick the prior of ``models/MODEL`` on validation; with ``name``, write the result to a
    copy ``models/NAME`` and leave ``MODEL`` as it was (e.g. a SASRec baseline and its ablation).
    ``sampled``: choose it on the sampled-N validation protocol (for a model reported on that
    protocol: a prior that sharpens the full ranking can hurt the sampled one). ``metric``:
    the validation metric maximized, ``ndcg10`` (default) or ``recall10`` (for a Recall@10 target).
    ``graph_from``: a run folder with the same sequences whose graph the prior uses (default: this run's).
    ``exclude_history``: choose it with the user's own items out of the ranking (``evaluate --exclude-history``).

    Returns a summary: ``model``, ``graph_prior`` (the chosen alpha), the chosen ``history``,
    ``decay``, ``eps``, ``valid_ndcg10`` (the chosen point's) and the whole ``table``.
    """
    check_choice("metric", metric, METRICS)
    grid = grid or PriorGrid()
    run = RunFolder(run_dir)
    source, target = run.model_folder(model), run.model_folder(name or model)
    with run.model_claim(target.name):
        graph_run = same_log_run(run, graph_from) if graph_from is not None else run
        net, _, record = load_trained(run, model)
        if net.config.head == "sids":
            raise ConfigError(f"{model}: the graph prior is for the items head (this model has head={net.config.head!r})")
        clock = Stopwatch()
        table = search_prior(net, graph_run.graph(), run.sequences(), grid, progress=progress, sampled=sampled,
                             exclude_history=exclude_history)
        best = best_point(table, grid, metric)
        record["prior"] = asdict(prior_of(best))
        search = {"split": "valid", "metric": METRICS[metric],
                  "protocol": f"sampled-{sampled}" if sampled else "full ranking", "exclude_history": exclude_history,
                  "grid": {k: list(v) for k, v in asdict(grid).items()},
                  "table": table, "chosen": {k: best[k] for k in ("alpha", "history", "decay", "eps")},
                  "valid_ndcg10": best["ndcg10"], "valid_recall10": best["recall10"], "source_model": model,
                  "seconds": round(clock.seconds, 1)}
        record["graph_prior_search"] = search
        record.pop("prior_graph", None)
        rel = f"models/{target.name}"
        with run.staging(rel) as staged:  # the model folder anew, put in place with its record in one step
            folder = staged[rel]
            folder.mkdir()
            # the source's files, less its evaluations (they described the model before this prior)
            keep = ("best.safetensors", "codes.npz") if target != source else \
                [f.name for f in source.iterdir() if f.is_file() and not f.name.startswith(".")
                 and f.name not in ("metrics.json", PRIOR_GRAPH) and not f.name.startswith("ranks-")]
            for file in keep:
                if (source / file).exists():
                    link_or_copy(source / file, folder / file)
            if graph_from is not None:  # the graph the config names, with its sha256
                shutil.copyfile(graph_run.path / "graph.npz", folder / PRIOR_GRAPH)
                record["prior_graph"] = {"file": PRIOR_GRAPH, "from": str(graph_from),
                                         "sha256": file_sha256(folder / PRIOR_GRAPH)}
                search["graph_from"] = str(graph_from)
            write_json_atomic(folder / "config.json", record)
            run.record("graph-prior", target.name, search, files=model_files(folder, rel), forget=rel, staged=staged)
        return {"model": name or model, "graph_prior": best["alpha"], "history": best["history"], "decay": best["decay"],
                "eps": best["eps"], "valid_ndcg10": best["ndcg10"], "table": table}
