"""The ``train`` stage: a generator trained into ``RUN_DIR/models/NAME/`` (:mod:`.models`).

Validation NDCG@10 after every epoch, early stopping, an atomic checkpoint per epoch and an
exact ``resume`` (:mod:`g2rec.train.loop`). g2rec's items head then gets its graph prior chosen
on validation (:mod:`.tune_prior`).
"""

from __future__ import annotations

import difflib
import shutil
from contextlib import nullcontext
from dataclasses import asdict, fields
from pathlib import Path

import torch

from ..atomic import write_json_atomic
from ..data.sequences import VALID
from ..errors import ConfigError, G2RecError, check_choice
from ..eval.protocol import evaluate_ranking
from ..eval.scorers import make_scorer
from ..measure import Stopwatch, peak_memory_mb
from ..model.encdec import EncoderDecoderConfig
from ..model.generator import GeneratorConfig
from ..model.prior import PriorConfig
from ..train.distributed import setup
from ..train.loop import TrainConfig, fit, training_device, training_windows
from .models import (
    DEFAULTS,
    ENCODER_DECODERS,
    ITEMS_LOSS_DEFAULTS,
    MODELS,
    PRESETS,
    TRAIN_DEFAULTS,
    build_model,
    check_tokenize_inputs,
    clear_metrics,
    model_files,
    read_config,
    tokenize_inputs,
)
from .runfolder import RunFolder
from .tune_prior import choose_graph_prior

GENERATOR = {f.name for f in fields(GeneratorConfig)}
ENCODER_DECODER = {f.name for f in fields(EncoderDecoderConfig)}
TRAIN = {f.name for f in fields(TrainConfig)}
OPTIONS = GENERATOR | ENCODER_DECODER | TRAIN | {"beam"}


def default_name(model: str, options: dict) -> str:
    """The model folder name ``train`` uses when none is given: ``MODEL-HEAD``."""
    return f"{model}-{model_options(model, options)[0].head}"


def model_options(model: str, options: dict) -> tuple[GeneratorConfig | EncoderDecoderConfig, TrainConfig, int]:
    """The configs of ``g2rec train --model MODEL`` with ``options`` (None = the default):
    every model but ``g2rec`` fixes its preset (:data:`.models.PRESETS`), some have their own
    defaults (:data:`.models.DEFAULTS`, ``ITEMS_LOSS_DEFAULTS`` for the items head,
    ``TRAIN_DEFAULTS``); the encoder-decoders (:data:`.models.ENCODER_DECODERS`) take
    :class:`EncoderDecoderConfig`'s options and train on every transition as its own sample
    (``windows='prefixes'``)."""
    check_choice("model", model, MODELS)
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        close = [m for k in unknown for m in difflib.get_close_matches(k, sorted(OPTIONS), n=1)]
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        raise ConfigError(f"unknown train option(s): {', '.join(unknown)}{hint}; valid: {', '.join(sorted(OPTIONS))}")
    given = {k: v for k, v in options.items() if v is not None}
    beam = given.get("beam", 20)
    if isinstance(beam, bool) or not isinstance(beam, int) or beam < 1:
        raise ConfigError(f"beam={beam!r}: must be an integer >= 1")
    network = ENCODER_DECODER if model in ENCODER_DECODERS else GENERATOR
    foreign = sorted(set(given) - network - TRAIN - {"beam"})
    if foreign:
        raise ConfigError(f"--model {model} has no option(s) {', '.join(foreign)}")
    defaults = {**DEFAULTS.get(model, {}), **(ITEMS_LOSS_DEFAULTS.get(model, {}) if given.get("head", "items") == "items" else {})}
    gen = {**defaults, **{k: v for k, v in given.items() if k in network}}
    if model in PRESETS:
        clash = {k for k in gen if k in PRESETS[model] and gen[k] != PRESETS[model][k]}
        if clash:
            other = {"tiger": "soda-tiger or g2rec-tiger", "soda-tiger": "g2rec-tiger", "g2rec-tiger": "soda-tiger",
                     "etegrec": "soda-etegrec", "soda-etegrec": "etegrec"}
            raise ConfigError(f"--model {model} fixes {', '.join(sorted(clash))}; use --model "
                              f"{other.get(model, 'g2rec')} to change them")
        gen.update(PRESETS[model])
    train_options = {**TRAIN_DEFAULTS.get(model, {}), **{k: v for k, v in given.items() if k in TRAIN}}
    if model in ENCODER_DECODERS:
        if train_options.setdefault("windows", "prefixes") != "prefixes":
            raise ConfigError(f"--model {model} predicts one item per history: it trains on windows='prefixes' "
                              f"(got {train_options['windows']!r})")
        return EncoderDecoderConfig(**gen), TrainConfig(**train_options), beam
    return GeneratorConfig(**gen), TrainConfig(**train_options), beam


def train(run_dir: str | Path, model: str = "g2rec", name: str | None = None, resume: bool = False,
          progress=None, graph_prior: bool | None = None, overwrite: bool = False, **options) -> dict:
    """Train a generator (``model`` one of :data:`.models.MODELS`); ``options`` are fields of
    :class:`GeneratorConfig` (:class:`EncoderDecoderConfig` for the encoder-decoders) and :class:`TrainConfig`
    (``beam``: the validation beam of semantic-ID models).
    ``graph_prior`` (default: on for g2rec's items head) then chooses the graph prior on
    validation (:func:`.tune_prior.choose_graph_prior`). A model already trained under ``name``
    is continued (``resume``) or replaced (``overwrite``), never silently. Returns the summary, also recorded
    under ``stages.train.NAME`` in the manifest with the config and the curve."""
    gen_config, train_config, beam = model_options(model, options)
    clock = Stopwatch()
    run = RunFolder(run_dir)
    seq = run.sequences()
    if graph_prior is None:
        graph_prior = model == "g2rec" and gen_config.head == "items"
    if graph_prior and (model != "g2rec" or gen_config.head != "items"):
        raise ConfigError(f"graph_prior: only --model g2rec with the items head has one (got {model}, {gen_config.head}); "
                          "for an ablation on a trained baseline use `g2rec tune-prior --name`")
    name = name or default_name(model, options)
    ranks, _ = setup(training_device(train_config.device))  # several under torchrun: rank 0 writes
    if ranks.world > 1 and getattr(gen_config, "tokenizer", "frozen") == "trained":
        raise ConfigError(f"--model {model} trains its tokenizer on one process: run it without torchrun")
    claim = run.model_claim(name) if ranks.main else nullcontext()
    with claim:
        folder = run.model_folder(name)
        config_record = {"model": model, "generator": asdict(gen_config), "prior": asdict(PriorConfig()),
                         "train": asdict(train_config), "beam": beam}
        if not resume and (folder / "config.json").exists() and not overwrite:
            raise G2RecError(f"{folder}: a model '{name}' is already trained there; pass --resume to continue it, "
                             f"--overwrite to train it again (its weights, curve and metrics go), or another --name")
        if resume and not (folder / "checkpoint.safetensors").exists():
            if not folder.exists():
                raise G2RecError(f"{folder}: nothing to resume (no model '{name}'); train without --resume")
            resume = False  # stopped before its first epoch ended: nothing to keep, so it starts over
        if resume:
            saved = read_config(run, folder)
            try:  # through the dataclass: options added since the run began take their defaults
                saved_network = asdict(type(gen_config)(**saved["generator"]))
            except (KeyError, TypeError, ConfigError):
                saved_network = saved.get("generator")
            if saved["model"] != model or saved_network != config_record["generator"]:
                raise ConfigError(f"{folder}: --resume with other model options than the run being resumed ({saved['generator']})")
            check_tokenize_inputs(run, folder, saved)
        ranks.wait()  # every rank has read the folder before rank 0 changes it
        torch.manual_seed(train_config.seed)
        if ranks.main:
            if not resume and folder.exists():
                shutil.rmtree(folder)  # --overwrite, or a start that never reached its first checkpoint
            net, trie = build_model(run, model, gen_config, folder, fresh=not resume)
            config_record["tokenize"] = tokenize_inputs(run)  # the codes and profiles it is trained on
            folder.mkdir(parents=True, exist_ok=True)
            run.record("train", None, None, forget=f"models/{name}")  # its files change from here on
            clear_metrics(folder)  # of the weights before this training (a resume changes them too)
            write_json_atomic(folder / "config.json", config_record)
        ranks.wait()
        if not ranks.main:  # the codes rank 0 made, if any
            net, trie = build_model(run, model, gen_config, folder, fresh=False)
        inputs, targets, users = training_windows(seq.train(), gen_config.max_len, train_config.windows,
                                                   train_config.ntp)
        scorer = lambda m: make_scorer(m, m.trie() if model in ENCODER_DECODERS else trie, beam)  # codes may change
        state = fit(net, inputs, targets, train_config,
                    lambda m: evaluate_ranking(scorer(m), seq, VALID, gen_config.max_len, batch=512, shards=ranks,
                                               exclude_history=train_config.valid_exclude_history), folder, resume,
                    progress if ranks.main else None, users=users if model in ENCODER_DECODERS else None)
        summary = {"model": model, "name": name, "head": gen_config.head, "profiles": getattr(gen_config, "profiles", "none"),
                   "epochs": state["epoch"], "best_epoch": state["best_epoch"],
                   "valid_ndcg10": round(state["best_metrics"]["NDCG@10"], 5),
                   "valid_recall10": round(state["best_metrics"]["Recall@10"], 5),
                   "parameters": sum(p.numel() for p in net.parameters()),
                   "samples_per_second": state["history"][-1]["samples_per_second"],
                   "train_seconds": round(state["seconds"], 1), "seconds": round(clock.seconds, 1),
                   "peak_memory_mb": round(peak_memory_mb(), 1), "processes": ranks.world}
        if not ranks.main:
            return summary
        run.record("train", name, {"config": config_record, "summary": summary, "curve": state["history"],
                                   "folder": f"models/{name}"}, files=model_files(folder, f"models/{name}"))
        if graph_prior:
            search = choose_graph_prior(run_dir, name, progress=progress, exclude_history=train_config.valid_exclude_history,
                                        metric=train_config.select)
            summary.update(graph_prior=search["graph_prior"], valid_ndcg10_with_prior=search["valid_ndcg10"])
        return summary
