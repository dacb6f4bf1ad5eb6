"""Choosing the graph prior's weight ``alpha`` of a trained ``items``-head model on validation.

``alpha`` (:mod:`g2rec.model.graph_prior`) is one scalar, so it is picked like an early-stopping
epoch: validation NDCG@10 full ranking over a small grid, ``alpha = 0`` included, the best
kept. Test data is never read. The result goes into the model's ``config.json``
(``generator.graph_prior``) with the whole grid under ``graph_prior_search``.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from ..data.sequences import VALID
from ..errors import ConfigError
from ..eval.protocol import evaluate_ranking
from ..runfolder import RunFolder
from ..runinfo import Stopwatch, write_json_atomic

GRID = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)


def choose_graph_prior(run_dir: str | Path, model: str, name: str | None = None, grid: tuple[float, ...] = GRID,
                       progress=None) -> dict:
    """Pick ``alpha`` for ``models/MODEL`` on validation; with ``name``, write the result to a
    copy ``models/NAME`` and leave ``MODEL`` as it was (e.g. a SASRec baseline and its ablation).

    Returns a summary: ``model``, ``graph_prior`` (the chosen alpha), ``valid_ndcg10`` per alpha.
    """
    from .stage import load_trained, make_scorer, model_folder  # stage imports this module

    if not grid or any(a < 0 for a in grid):
        raise ConfigError(f"graph prior weights must be >= 0, got {sorted(grid)}")
    run = RunFolder(run_dir)
    source, target = model_folder(run, model), model_folder(run, name or model)
    net, _, record = load_trained(run, model)
    if net.config.head != "items":
        raise ConfigError(f"{model}: the graph prior is for the items head (this model has head={net.config.head!r})")
    if target != source:
        target.mkdir(parents=True, exist_ok=True)
        for file in ("best.safetensors", "codes.npz"):
            if (source / file).exists():
                shutil.copyfile(source / file, target / file)
    clock, seq = Stopwatch(), run.sequences()
    net.attach_graph(run.graph())
    table = {}
    for alpha in grid:
        net.config = replace(net.config, graph_prior=float(alpha))
        metrics = evaluate_ranking(make_scorer(net, None), seq, VALID, net.config.max_len, batch=512)
        table[float(alpha)] = round(metrics["NDCG@10"], 6)
        if progress is not None:
            progress("graph prior", len(table), len(grid))
    best = max(table, key=lambda a: (table[a], -a))  # ties: the smaller weight
    record["generator"]["graph_prior"] = best
    record["graph_prior_search"] = {"split": "valid", "metric": "NDCG@10", "valid_ndcg10": {str(a): v for a, v in table.items()},
                                    "chosen": best, "source_model": model, "seconds": round(clock.seconds, 1)}
    write_json_atomic(target / "config.json", record)
    summary = {"model": name or model, "graph_prior": best, "valid_ndcg10": table}
    run.record("graph-prior", name or model, record["graph_prior_search"])
    return summary
