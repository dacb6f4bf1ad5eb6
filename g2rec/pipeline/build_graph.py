"""The ``build-graph`` stage: log file -> run folder with sequences, splits, id maps and graph."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import scipy.sparse as sp

from ..atomic import file_sha256, write_json_atomic
from ..data.datasets import DATASETS, dataset_path
from ..data.log import InteractionLog
from ..data.prepare import PrepareConfig, prepare_sequences
from ..data.readers import ReadOptions
from ..data.sequences import Sequences
from ..data.spark_reader import read_prepared_on_spark, spark_session
from ..data.stream import read_prepared
from ..errors import ConfigError, check_choice
from ..graph.build import GraphConfig, build_coengagement_graph
from ..graph.spark import build_graph_on_spark
from ..graph.stats import graph_stats
from ..measure import Stopwatch, peak_memory_mb
from ..version import __version__
from .runfolder import GRAPH_FILE, MANIFEST, RunFolder, fingerprint, staged_run_dir

ENGINES = ("local", "spark")


def build_graph(
    source: str | Path | InteractionLog,
    run_dir: str | Path,
    read: ReadOptions | None = None,
    prepare: PrepareConfig | None = None,
    graph: GraphConfig | None = None,
    overwrite: bool = False,
    progress=None,
    engine: str = "local",
    spark_master: str | None = None,
) -> dict:
    """Read a log, prepare sequences and splits, build the graph, and write the run folder.

    Everything is written into a temporary folder first and moved into place only
    when complete, so a failure leaves ``run_dir`` untouched.

    Args:
        source: a log file path, a named public dataset (``beauty``, ``toys``, ``scientific``,
            ``ml-100k``: :mod:`g2rec.data.datasets`, verified by checksum), or an already-read
            :class:`InteractionLog`.
        run_dir: folder to create (must be empty unless ``overwrite``).
        progress: optional ``progress(stage: str, done: int, total: int)``.
        engine: ``local`` (this process) or ``spark`` (the graph's pairs mapped and reduced
            on Spark, :mod:`g2rec.graph.spark`; the same graph, array by array).
        spark_master: the Spark master URL for ``engine="spark"`` (default ``local[*]``).

    Returns:
        The stage summary (also stored under ``stages.build-graph`` in ``manifest.json``):
        ``num_users``, ``num_items``, ``num_interactions``, ``num_edges`` and much more.
    """
    read, prepare, graph = read or ReadOptions(), prepare or PrepareConfig(), graph or GraphConfig()
    check_choice("engine", engine, ENGINES)
    if spark_master is not None and engine != "spark":
        raise ConfigError(f"spark_master={spark_master!r} is for engine='spark' (got engine={engine!r})")
    clock = Stopwatch()
    dataset = None
    if isinstance(source, str) and source in DATASETS and not Path(source).exists():
        dataset, source = source, str(dataset_path(source))
        if read.format == "auto":
            read = ReadOptions(**{**asdict(read), "format": DATASETS[dataset].format})
    spark = spark_session(spark_master) if engine == "spark" else None
    if isinstance(source, InteractionLog):
        input_info = {"path": source.path, "sha256": None, "format": source.format, "has_time": source.has_time}
        seq, data_report = prepare_sequences(source, prepare)
    else:  # a table is read chunk by chunk (memory: ~16 bytes a row beside the sequences)
        input_info = {"path": str(source), "sha256": file_sha256(Path(source)) if Path(source).is_file() else None}
        if spark is not None:
            seq, data_report, info = read_prepared_on_spark(spark, source, read, prepare)
        else:
            seq, data_report, info = read_prepared(source, read, prepare)
        input_info.update(info)
    if dataset is not None:
        input_info["dataset"] = dataset
    if prepare.page_gap is not None and not input_info["has_time"]:
        raise ConfigError(f"{input_info['path']}: page_gap needs times and the log has none (pages are read off them)")
    if not input_info["has_time"] and graph.weight == "decay" and graph.half_life == GraphConfig.half_life:
        graph = GraphConfig(**{**asdict(graph), "half_life": 10.0})  # positions, not seconds
    prepare_s = clock.seconds

    report_progress = (lambda done, total: progress("graph", done, total)) if progress else None
    if spark is not None:
        matrix, build_info = build_graph_on_spark(seq, graph, spark=spark)
    else:
        matrix, build_info = build_coengagement_graph(seq, graph, report_progress)
    stats = graph_stats(matrix)
    summary = {
        "num_users": seq.num_users,
        "num_items": seq.num_items,
        "num_interactions": seq.num_interactions,
        "num_edges": stats["num_edges"],
        **({"columns": input_info["columns"]} if "columns" in input_info else {}),
        **{k: v for k, v in data_report.items() if k not in ("num_users", "num_items", "num_interactions")},
        **build_info,
        **{k: v for k, v in stats.items() if k != "num_edges"},
        "seconds": round(clock.seconds, 3),
        "seconds_by_step": {"read_and_prepare": round(prepare_s, 3), "graph": round(clock.seconds - prepare_s, 3)},
        "peak_memory_mb": round(peak_memory_mb(), 1),
    }
    with staged_run_dir(Path(run_dir), overwrite=overwrite) as tmp:
        files = seq.save(tmp)
        sp.save_npz(tmp / GRAPH_FILE, matrix, compressed=False)
        manifest = {
            "g2rec_version": __version__,
            "stages": {"build-graph": {
                "input": input_info,
                "params": {"read": asdict(read), "prepare": asdict(prepare), "graph": graph.to_dict(), "engine": engine},
                "files": files + [GRAPH_FILE],
                "summary": summary,
            }},
            "files": {f: {**fingerprint(tmp / f), "stage": "build-graph"} for f in files + [GRAPH_FILE]},
        }
        write_json_atomic(tmp / MANIFEST, manifest)
    return summary


def load_graph(run_dir: str | Path) -> sp.csr_matrix:
    """The symmetric item-item CSR graph of a run folder (checked against its manifest)."""
    return RunFolder(run_dir).graph()


def load_sequences(run_dir: str | Path) -> Sequences:
    """The sequences, splits and id maps of a run folder (checked against its manifest)."""
    return RunFolder(run_dir).sequences()
