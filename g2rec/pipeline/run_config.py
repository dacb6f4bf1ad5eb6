"""``g2rec run CONFIG.toml``: every stage from one TOML file, skipping what has not changed.

The file::

    input = "logs/events.csv"      # paths relative to this file
    run_dir = "runs/events"

    [read]        # ReadOptions: user_col, item_col, time_col, format, ...
    [prepare]     # PrepareConfig: split, min_user_len, kcore, ...
    [graph]       # GraphConfig: builder, window, weight, ... and engine, spark_master
    [embed]       # method (default spectral) and that method's options
    [tokenize]    # TokenizeConfig: num_prototypes, levels, codebook_size, ...
    [train]       # model (default g2rec), name, graph_prior and train's options
    [evaluate]    # split, sampled, exclude_history, skip_cold_targets, beam, seed

``build-graph`` always runs; each later stage runs when its table is present (an empty table:
its defaults). Options keep their Python names; an unknown table or key is an error naming it
and the valid ones, before any work. ``overrides`` (``--set train.epochs=5``) replace values;
a value is read as TOML (``5``, ``true``, ``"text"``, ``[1, 2]``), else taken as text.

Each stage's fingerprint hashes its options and the fingerprint of the stage before it (the
first: the input file's path, size and modification time). A stage whose fingerprint and
outputs are as a finished earlier run recorded them is skipped, so a second run with nothing
changed skips every stage, and a change reruns its stage and everything after it. A training
killed midway resumes from its last checkpoint when its fingerprint is unchanged. Records go
under ``stages.pipeline`` in the manifest.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import sys
from dataclasses import fields
from pathlib import Path

from ..data.prepare import PrepareConfig
from ..data.readers import ReadOptions
from ..errors import ConfigError
from ..graph.build import GraphConfig
from ..measure import Stopwatch
from ..tokenize.tokens import TokenizeConfig
from .build_graph import build_graph
from .embed import METHODS, embed
from .evaluate import evaluate
from .runfolder import RunFolder
from .tokenize import tokenize
from .train import OPTIONS as TRAIN_OPTIONS
from .train import default_name, train

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the tomli backport has tomllib's API
    import tomli as tomllib

LOG = logging.getLogger(__name__)
TOP = {"input", "run_dir"}
STAGES = ("build-graph", "embed", "tokenize", "train", "evaluate")


def _names(cls) -> set[str]:
    return {f.name for f in fields(cls)}


EVALUATE = set(inspect.signature(evaluate).parameters) - {"run_dir", "model", "progress", "max_len"}
TABLES = {
    "read": _names(ReadOptions),
    "prepare": _names(PrepareConfig),
    "graph": _names(GraphConfig) | {"engine", "spark_master"},
    "embed": {"method", "evaluate"} | set().union(*(_names(config) for config, _ in METHODS.values())),
    "tokenize": _names(TokenizeConfig),
    "train": TRAIN_OPTIONS | {"model", "name", "graph_prior"},
    "evaluate": EVALUATE,
}


def load_config(path: str | Path, overrides: list[str] = ()) -> dict:
    """The checked pipeline config of a TOML file with ``overrides`` applied; paths resolved."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not TOML ({e})") from None
    for override in overrides:
        key, sep, value = override.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {override!r}: expected TABLE.KEY=VALUE or KEY=VALUE (e.g. train.epochs=5)")
        *table, name = key.strip().split(".")
        if len(table) > 1:
            raise ConfigError(f"--set {override!r}: one table and one key (e.g. train.epochs=5)")
        target = config.setdefault(table[0], {}) if table else config
        if not isinstance(target, dict):
            raise ConfigError(f"--set {override!r}: {table[0]} is not a table")
        target[name] = _value(value.strip())
    for key, value in config.items():
        if key not in TOP and key not in TABLES:
            raise ConfigError(f"{path}: unknown key {key!r} (top level: {', '.join(sorted(TOP))}; "
                              f"tables: {', '.join(TABLES)})")
        if key in TABLES:
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: {key!r} must be a table ([{key}])")
            unknown = sorted(set(value) - TABLES[key])
            if unknown:
                raise ConfigError(f"{path}: [{key}] has no option {unknown[0]!r} (valid: {', '.join(sorted(TABLES[key]))})")
    for key in sorted(TOP):
        if not isinstance(config.get(key), str):
            raise ConfigError(f"{path}: {key!r} must be given, as a string (a path relative to the config file)")
        config[key] = str((path.parent / config[key]).resolve()) if "://" not in config[key] else config[key]
    method = config.get("embed", {}).get("method", "spectral")
    if "embed" in config and method in METHODS:
        foreign = sorted(set(config["embed"]) - _names(METHODS[method][0]) - {"method", "evaluate"})
        if foreign:
            raise ConfigError(f"{path}: [embed] method {method!r} has no option {foreign[0]!r} "
                              f"(valid: {', '.join(sorted(_names(METHODS[method][0])))})")
    return config


def _value(text: str):
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _input_fingerprint(source: str) -> dict:
    path = Path(source)
    if not path.exists():
        return {"path": source}
    stat = path.stat()
    return {"path": str(path), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _hash(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def run_pipeline(config_path: str | Path, overrides: list[str] = (), progress=None) -> dict:
    """Run the stages of a pipeline config (module docstring); for each stage its summary, or
    ``{"skipped": "unchanged"}``, and the total seconds."""
    clock = Stopwatch()
    config = load_config(config_path, overrides)
    run_dir = Path(config["run_dir"])
    stages = ["build-graph"] + [s for s in STAGES[1:] if s in config]
    model_name = None
    if "evaluate" in config and "train" not in config:
        raise ConfigError(f"{config_path}: [evaluate] evaluates the model of [train]; add a [train] table")
    params = {"build-graph": {"input": _input_fingerprint(config["input"]),
                              **{t: config.get(t, {}) for t in ("read", "prepare", "graph")}}}
    params.update({s: config[s] for s in stages[1:]})
    results, upstream = {}, ""
    for stage in stages:
        fingerprint = _hash(upstream, stage, params[stage])
        upstream = fingerprint
        record = _recorded(run_dir, stage)
        if record.get("fingerprint") == fingerprint and record.get("done") and _outputs_exist(run_dir, stage, config, record):
            results[stage] = {"skipped": "unchanged"}
            model_name = record.get("model_name", model_name)
            LOG.info("%s: unchanged, skipped", stage)
            continue
        if stage != "build-graph":
            RunFolder(run_dir).record("pipeline", stage, {"fingerprint": fingerprint, "done": False})
        LOG.info("%s: running", stage)
        summary = _run_stage(stage, config, run_dir, progress, resume=record.get("fingerprint") == fingerprint,
                             model_name=model_name)
        if stage == "train":
            model_name = summary["name"]
        RunFolder(run_dir).record("pipeline", stage, {"fingerprint": fingerprint, "done": True,
                                                      "model_name": model_name})
        results[stage] = summary
    return {"config": str(config_path), "run_dir": str(run_dir), "stages": results, "seconds": round(clock.seconds, 3)}


def _recorded(run_dir: Path, stage: str) -> dict:
    if not (run_dir / "manifest.json").exists():
        return {}
    return RunFolder(run_dir).manifest.get("stages", {}).get("pipeline", {}).get(stage, {})


def _outputs_exist(run_dir: Path, stage: str, config: dict, record: dict) -> bool:
    """Whether the files a finished stage left are still there."""
    name = record.get("model_name")
    expected = {"build-graph": "graph.npz", "embed": f"embeddings/{config.get('embed', {}).get('method', 'spectral')}.npy",
                "tokenize": "tokenize/prototypes.npz", "train": f"models/{name}/best.safetensors",
                "evaluate": f"models/{name}/metrics.json"}[stage]
    return (run_dir / expected).exists()


def _run_stage(stage: str, config: dict, run_dir: Path, progress, resume: bool, model_name: str | None) -> dict:
    if stage == "build-graph":
        graph = dict(config.get("graph", {}))
        engine, master = graph.pop("engine", "local"), graph.pop("spark_master", None)
        return build_graph(config["input"], run_dir, ReadOptions(**config.get("read", {})),
                           PrepareConfig(**config.get("prepare", {})), GraphConfig(**graph), overwrite=True,
                           progress=progress, engine=engine, spark_master=master)
    if stage == "embed":
        options = dict(config["embed"])
        return embed(run_dir, options.pop("method", "spectral"), evaluate=options.pop("evaluate", True),
                     progress=progress, **options)
    if stage == "tokenize":
        return tokenize(run_dir, progress=progress, **config["tokenize"])
    if stage == "train":
        options = dict(config["train"])
        model, prior = options.pop("model", "g2rec"), options.pop("graph_prior", None)
        name = options.pop("name", None) or default_name(model, options)
        can_resume = resume and (run_dir / "models" / name / "checkpoint.safetensors").exists()
        return train(run_dir, model, name, resume=can_resume, progress=progress, graph_prior=prior,
                     overwrite=not can_resume, **options)
    return evaluate(run_dir, model_name, progress=progress, **config["evaluate"])
