"""``g2rec evaluate RUN_DIR --report``: one HTML page with PNG figures over a run's evaluations.

The report reads what earlier stages saved (``models/*/metrics.json``, ``train_log.jsonl``,
``tokenize/``, ``embeddings/``) and evaluates nothing again, except the per-user ranks of the
history-length breakdown for models evaluated before ``evaluate`` saved them; those are
computed once (``compute_missing_ranks``) and cached in the report folder. The page and its
figures are drawn by :mod:`g2rec.report`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..atomic import save_npy_atomic
from ..data.sequences import TEST, VALID
from ..errors import G2RecError, check_choice
from ..measure import Stopwatch
from ..report import html, plots
from ..report.anchors import DATASETS, anchors_for, dataset_of
from ..report.breakdown import DEFAULT_EDGES, history_lengths, length_breakdown
from ..report.prototypes import Prototypes, central_items, pca_2d, top_prototype
from ..version import __version__
from .evaluate import evaluate_model
from .models import BASELINES
from .runfolder import RunFolder

SPLITS = {"valid": VALID, "test": TEST}



@dataclass
class ModelResults:
    """One model folder: its evaluations (``metrics.json`` keys such as ``test-full-ranking``),
    its kind (``popularity``, ``knn``, ``g2rec``, ``sasrec``, ``tiger``), head and training log."""

    name: str
    kind: str
    head: str | None
    evaluations: dict[str, dict]
    curve: list[dict] = field(default_factory=list)
    folder: Path | None = None

    def metrics(self, key: str) -> dict | None:
        entry = self.evaluations.get(key)
        return entry["metrics"] if entry else None


def collect_models(run: RunFolder) -> list[ModelResults]:
    """Every model folder with a ``metrics.json``, sorted by name; a clear error when none."""
    models = []
    for folder in sorted((run.path / "models").glob("*/metrics.json")):
        folder = folder.parent
        evaluations = run.load_json(f"models/{folder.name}/metrics.json")
        config = run.load_json(f"models/{folder.name}/config.json") if (folder / "config.json").exists() else {}
        if not isinstance(evaluations, dict) or not isinstance(config, dict):
            raise run.damaged(f"models/{folder.name}/metrics.json", "not a g2rec metrics file")
        kind = config.get("model", folder.name if folder.name in BASELINES else "unknown")
        curve = run.load(f"models/{folder.name}/train_log.jsonl", read_curve) \
            if (folder / "train_log.jsonl").exists() else []
        models.append(ModelResults(folder.name, kind, config.get("generator", {}).get("head"), evaluations,
                                   curve, folder))
    if not models:
        raise G2RecError(f"{run.path}: no evaluated models (no models/*/metrics.json); "
                         f"run `g2rec evaluate {run.path} --model NAME` first")
    return models


def read_curve(path: Path) -> list[dict]:
    """Per-epoch records of ``train_log.jsonl`` (epoch, loss, validation metrics); ``[]`` if absent."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def query_ranks(run: RunFolder, model: ModelResults, key: str, num_queries: int, cache: Path | None,
                compute: bool, progress=None) -> tuple[np.ndarray | None, str]:
    """Per-query ranks of ``model`` for evaluation ``key`` and where they came from.

    Order of preference: ``ranks-KEY.npy`` beside ``metrics.json`` (written by ``evaluate``),
    then the report's own ``cache`` of ranks computed earlier (while newer than the model's
    files), then, with ``compute``, a fresh evaluation (written to ``cache`` only: the model
    folder is left as it is). Returns ``(None, reason)`` when none is available.
    """
    saved = model.folder / f"ranks-{key}.npy"
    if saved.exists():
        ranks = run.load(str(saved.relative_to(run.path)), lambda p: np.load(p, allow_pickle=False))
        return _checked(ranks, num_queries, saved), "saved by evaluate"
    cached = cache / model.name / f"ranks-{key}.npy" if cache is not None else None
    newest = max(p.stat().st_mtime for p in model.folder.iterdir() if p.is_file())
    if cached is not None and cached.exists() and cached.stat().st_mtime >= newest:
        return _checked(np.load(cached, allow_pickle=False), num_queries, cached), "recomputed earlier by the report (its ranks-cache)"
    if not compute:
        return None, f"no {saved.name}; re-run `g2rec evaluate` on it"
    saved_metrics = model.metrics(key)
    split = model.evaluations[key]["split"]
    metrics, ranks = evaluate_model(run, model.name, split, exclude_history=saved_metrics.get("exclude_history", False),
                                    max_len=saved_metrics.get("max_len", 50), progress=progress)
    if abs(metrics["ndcg@10"] - saved_metrics["ndcg@10"]) > 1e-4:
        return None, (f"recomputed NDCG@10 {metrics['ndcg@10']:.5f} differs from the saved "
                      f"{saved_metrics['ndcg@10']:.5f} (model changed since it was evaluated?)")
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        save_npy_atomic(cached, ranks.astype(np.float32))
    return _checked(ranks, num_queries, saved), "recomputed by the report"


def _checked(ranks: np.ndarray, num_queries: int, path: Path) -> np.ndarray:
    if ranks.shape != (num_queries,):
        raise G2RecError(f"{path}: ranks of shape {ranks.shape} for {num_queries} queries (made on another run folder?)")
    return ranks.astype(np.float64)


def load_prototypes(run: RunFolder) -> Prototypes:
    """Read ``tokenize/prototypes.npz`` and ``report.json``; a clear error when tokenize has not run."""
    path = run.path / "tokenize" / "prototypes.npz"
    if not path.exists():
        raise G2RecError(f"{run.path}: no prototypes (run `g2rec tokenize {run.path}`)")
    z = run.load_npz("tokenize/prototypes.npz", ("idx", "val", "mass"))
    idx, val, mass = z["idx"], z["val"], z["mass"]
    report = run.load_json("tokenize/report.json") if (run.path / "tokenize" / "report.json").exists() else {}
    return Prototypes(mass.astype(np.float64), top_prototype(idx, val), report, report.get("embedding"))


FIGURES = ("metrics.png", "metrics_sampled.png", "curves.png", "history_length.png", "prototype_sizes.png",
           "item_map.png")


@dataclass
class ReportConfig:
    """Options of the report.

    Attributes:
        out_dir: where ``index.html`` and the PNGs go (default ``RUN_DIR/report``).
        split: the evaluations shown (``test`` or ``valid``).
        length_edges: history-length bucket edges (``(5, 10, 20)``: 1-4, 5-9, 10-19, 20+).
        compute_missing_ranks: evaluate again, for the breakdown only, models whose
            per-user ranks were not saved (cached in ``out_dir/ranks-cache``).
        map_items: most items drawn on the 2-D map (a uniform sample beyond it).
        seed: the map's sample.
    """

    out_dir: Path | None = None
    split: str = "test"
    length_edges: tuple[int, ...] = DEFAULT_EDGES
    compute_missing_ranks: bool = True
    map_items: int = 5000
    seed: int = 0


def write_report(run_dir: str | Path, config: ReportConfig | None = None, progress=None) -> dict:
    """Write the report of ``run_dir``; returns a summary (``path`` of ``index.html``, figures, notes)."""
    config = config or ReportConfig()
    check_choice("split", config.split, tuple(SPLITS))
    clock = Stopwatch()
    run = RunFolder(run_dir)
    models = collect_models(run)
    out = Path(config.out_dir) if config.out_dir is not None else run.path / "report"
    out.mkdir(parents=True, exist_ok=True)
    for name in FIGURES:  # no figure of an earlier report left looking current
        (out / name).unlink(missing_ok=True)
    notes: list[str] = []
    sections = [_results(run, models, config.split, "full-ranking", "full ranking", ("recall@10", "ndcg@10"), out,
                         "metrics.png")]
    sampled = _results(run, models, config.split, "sampled-99", "sampled-99", ("ndcg@5", "ndcg@10"), out,
                       "metrics_sampled.png")
    if sampled[1]:
        sections.append(sampled)
    sections.append(_curves(models, out, notes))
    sections.append(_breakdown(run, models, config, out, notes, progress))
    sections.append(_prototypes(run, config, out, notes))
    sections.append(("Notes", (html.bullet_list(notes) if notes else "") + _anchor_sources(run.manifest)))
    summary = run.manifest["stages"]["build-graph"]
    dataset = dataset_of(run.manifest)
    meta = [f"run folder {run.path} · input {summary['input'].get('path')}"
            + (f" ({dataset.name})" if dataset else ""),
            (f"{summary['summary']['num_users']:,} users · {summary['summary']['num_items']:,} items · "
             f"{summary['summary']['num_interactions']:,} interactions · g2rec {__version__}")]
    path = out / "index.html"
    path.write_text(html.page(f"g2rec evaluation report: {run.path.name}", meta, [s for s in sections if s[1]]))
    figures = sorted(p.name for p in out.glob("*.png") if p.name in FIGURES)
    return {"path": str(path), "models": len(models), "figures": figures, "notes": notes,
            "seconds": round(clock.seconds, 1)}


def _results(run: RunFolder, models, split: str, protocol_key: str, protocol: str, bar_metrics: tuple[str, ...],
             out: Path, figure: str) -> tuple[str, str]:
    key = f"{split}-{protocol_key}"
    rows = [(m.name, m.kind, m.metrics(key)) for m in models if m.metrics(key)]
    heading = f"Results: {split} split, {protocol}"
    if not rows:
        return heading, html.paragraph(f"No model has a '{key}' evaluation (run `g2rec evaluate`).", "note")
    anchors = [(a.system, "published", a.metrics) for a in anchors_for(run.manifest, protocol)]
    excluded = [m.name for m in models if (m.metrics(key) or {}).get("exclude_history")]
    text = (f"Leave-one-out, {protocol} over all {run.manifest['stages']['build-graph']['summary']['num_items']:,} items"
            if protocol == "full ranking" else "Each target ranked against 99 sampled items the user never touched")
    text += ("; items of the user's history are kept in the ranking" if not excluded else
             f"; history items removed from the ranking for {', '.join(excluded)}")
    text += f". Bold: best of this run. Shaded: published numbers on the same data ({len(anchors)})." if anchors else "."
    title = f"{split} split, {protocol}: this run's models" + (" and published results" if anchors else "")
    plots.metric_bars(rows + anchors, bar_metrics, title, out / figure)
    caption = f"{' and '.join(map(html._label, bar_metrics))} per model, {protocol}" + (
        "; hatched orange bars are published results (see Notes for their sources)." if anchors else
        " (no published results are known for this data).")
    body = (html.paragraph(text) + html.results_table(rows + anchors, ("hallucination_rate",))
            + html.figure(figure, caption, f"{protocol} metric bars"))
    return heading, body


def _curves(models, out: Path, notes: list[str]) -> tuple[str, str]:
    curves = {m.name: m.curve for m in models if m.curve}
    untrained = [m.name for m in models if not m.curve]
    if untrained:
        notes.append(f"No training curve (baselines, or copies made by tune-prior): {', '.join(untrained)}.")
    if not curves:
        return "Training curves", ""
    plots.training_curves(curves, {m.name: m.kind for m in models}, out / "curves.png")
    rows = [[name, len(c), max(range(len(c)), key=lambda i: c[i].get("valid", {}).get("NDCG@10", -1)) + 1,
             max(r.get("valid", {}).get("NDCG@10", 0.0) for r in c), c[-1].get("loss", "")] for name, c in curves.items()]
    return "Training curves", (html.figure("curves.png", "Per-epoch training loss and validation NDCG@10 of each trained "
                                           "model; the dot marks the best epoch, whose checkpoint is kept. Validation runs "
                                           "without the graph prior (chosen after training). A sids head's loss is per "
                                           "code token, not comparable with an items head's.", "training curves")
                               + html.table(["model", "epochs", "best epoch", "best valid NDCG@10", "last loss"], rows))


def _breakdown(run: RunFolder, models, config: ReportConfig, out: Path, notes: list[str], progress) -> tuple[str, str]:
    key = f"{config.split}-full-ranking"
    seq = run.sequences()
    lengths = history_lengths(seq, SPLITS[config.split])
    found, sources = {}, {}
    for m in (m for m in models if m.metrics(key)):
        ranks, source = query_ranks(run, m, key, len(lengths), out / "ranks-cache", config.compute_missing_ranks, progress)
        if ranks is None:
            notes.append(f"History-length breakdown leaves out {m.name}: {source}.")
            continue
        found[m.name] = length_breakdown(ranks, lengths, config.length_edges)
        sources.setdefault(source, []).append(m.name)
    if not found:
        return "By history length", html.paragraph("No per-user ranks (see Notes).", "note")
    plots.length_plot(found, {m.name: m.kind for m in models}, 10, out / "history_length.png")
    first = next(iter(found.values()))
    headers = ["model", *[f"{label} ({n:,})" for label, n in zip(first.labels, first.users)]]
    rows = [[name, *b.metrics["ndcg@10"]] for name, b in found.items()]
    notes.extend(f"Per-user ranks {source}: {', '.join(names)}." for source, names in sources.items())
    return "By history length", (
        html.paragraph(f"{config.split.capitalize()} queries grouped by the number of interactions the user had before the "
                       "held-out item (short vs long histories), full ranking. The table gives NDCG@10 per bucket "
                       "(users in brackets).")
        + html.figure("history_length.png", "NDCG@10 and Recall@10 per history-length bucket.", "metrics by history length")
        + html.table(headers, rows))


def _prototypes(run: RunFolder, config: ReportConfig, out: Path, notes: list[str]) -> tuple[str, str]:
    try:
        protos = load_prototypes(run)
    except G2RecError as e:
        notes.append(f"No prototype figures: {e}.")
        return "Interest prototypes", ""
    info = protos.report.get("prototypes", {})
    leiden = protos.report.get("leiden", {}).get("modularity")
    title = (f"{len(protos.mass)} prototypes, modularity {info['modularity']:.3f}" if "modularity" in info
             else f"{len(protos.mass)} prototypes") + (f" (Leiden {leiden:.3f})" if leiden is not None else "")
    plots.prototype_sizes(protos.mass, protos.top_counts, title, out / "prototype_sizes.png")
    body = html.figure("prototype_sizes.png", "Prototype sizes, largest first: soft mass (sum of item memberships) and "
                       "the number of items whose strongest prototype it is.", "prototype sizes")
    embedding = protos.embedding or next((p.stem for p in sorted((run.path / "embeddings").glob("*.npy"))), None)
    if embedding is not None and (run.path / "embeddings" / f"{embedding}.npy").exists():
        rows, coords = pca_2d(run.embeddings(embedding), config.map_items, config.seed)
        names = [f"P{c} ({n:,} items)" for c, n in enumerate(protos.top_counts)]
        plots.item_map(coords, protos.top[rows], names, f"'{embedding}' item embeddings, first two principal components "
                       f"({len(rows):,} of {len(protos.top):,} items)", out / "item_map.png")
        body += html.figure("item_map.png", f"Items on the first two principal components of their '{embedding}' "
                            "embeddings (the vectors the prototypes were made from), coloured by top prototype; "
                            "the axes leave out the outermost 0.2% of items on each side.",
                            "item embedding map")
    else:
        notes.append("No item map: the run folder has no item embeddings.")
    central = central_items(protos)
    order = sorted(range(len(protos.mass)), key=lambda c: -protos.mass[c])
    rows = [[f"P{c}", round(float(protos.mass[c])), int(protos.top_counts[c]), ", ".join(central.get(c, []))] for c in order]
    return "Interest prototypes", body + html.table(["prototype", "mass", "items (top)", "most central items"], rows)


def _anchor_sources(manifest: dict) -> str:
    dataset = dataset_of(manifest)
    if dataset is None:
        return html.paragraph("No published results are known for this dataset (they are for: "
                              + ", ".join(d.name for d in DATASETS) + ").", "note")
    rows = [[a.system, a.protocol, a.source, a.table] for a in dataset.anchors]
    return (html.paragraph(f"Published results on {dataset.name}, as transcribed in {dataset.anchors[0].transcribed_from}:")
            + html.table(["system", "protocol", "source", "table"], rows, text_columns=4))
