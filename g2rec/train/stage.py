"""The ``train`` and ``evaluate`` stages: the generator and its baselines on one protocol.

Models (``--model``), all the same :class:`~g2rec.model.generator.Generator` code:

* ``g2rec``: interest profiles interleaved with the items (``--profiles``), profile loss,
  ``items`` head, ``sids`` head over the prototype-supervised semantic IDs, or ``both`` on one
  trunk (validated while training on its items head alone: scoring every item through the
  code head costs tens of items-head passes);
* ``sasrec``: the ``items`` head with no interest context;
* ``tiger``: the ``sids`` head over plain residual k-means codes, no graph, no prototypes;
* ``popularity`` and ``knn`` (item-kNN on the co-engagement graph): nothing to train, only
  evaluated.

A trained model lives in ``RUN_DIR/models/NAME/`` (``NAME`` = ``MODEL-HEAD`` unless given):
``config.json``, ``best.safetensors``, ``checkpoint.safetensors``, ``train_log.jsonl`` and,
after ``evaluate``, ``metrics.json`` with the per-query ranks beside it (``ranks-KEY.npy``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from ..data.sequences import TEST, VALID, window_users
from ..errors import ConfigError, G2RecError, check_choice
from ..eval.baselines import GraphKNNScorer, PopularityScorer
from ..eval.protocol import TopK, evaluate_ranking, model_padding
from ..graph.build import GraphConfig
from ..model.beam import beam_search
from ..model.ensemble import Ensemble
from ..model.generator import Generator, GeneratorConfig
from ..runfolder import RunFolder
from ..runinfo import Stopwatch, peak_memory_mb, write_json_atomic
from ..tokenize.trie import SIDTrie
from . import crossfit
from .checkpoint import load_checkpoint
from .context import load_context
from .loop import TrainConfig, fit, training_windows
from .prior import choose_graph_prior, prior_graph

MODELS = ("g2rec", "sasrec", "tiger")
BASELINES = ("popularity", "knn")
PRESETS = {"sasrec": {"head": "items", "profiles": "none", "item_input": "id", "profile_weight": 0.0, "item_init": "none",
                      "graph_prior": 0.0, "train_prior": 0.0, "graph_smoothing": 0.0,
                      "graph_targets": 0.0},
           "tiger": {"head": "sids", "profiles": "none", "item_input": "sid", "profile_weight": 0.0, "item_init": "none",
                     "graph_prior": 0.0, "train_prior": 0.0, "graph_smoothing": 0.0,
                     "graph_targets": 0.0}}
INFERENCE_PRIOR = ("graph_prior", "prior_history", "prior_decay", "prior_eps")  # set after training (tune-prior)


def model_folder(run: RunFolder, name: str) -> Path:
    return run.path / "models" / name


def build_model(run: RunFolder, kind: str, config: GeneratorConfig, folder: Path | None = None,
                fresh: bool = False) -> tuple[Generator, SIDTrie | None]:
    """The generator of ``kind`` over the run's items, with its interest context; and its trie
    (sids head). ``folder``: the model's folder (TIGER keeps its plain codes there; ``fresh``,
    a new training, remakes them if the vectors they came from changed)."""
    seq_items = run.manifest["stages"]["build-graph"]["summary"]["num_items"]
    context = load_context(run, codes="plain" if kind == "tiger" else "supervised",
                           need_profiles=config.profiles != "none" or config.profile_weight > 0,
                           need_codes=config.head != "items" or config.item_input == "sid", folder=folder,
                           item_init=config.item_init, fresh_codes=fresh)
    if config.graph_prior > 0:
        context.graph = prior_graph(run, folder)
    if config.graph_smoothing > 0 or config.graph_targets > 0:
        context.item_graph = run.graph()
    model = Generator(seq_items, config, context)
    trie = SIDTrie.build(context.codes.numpy(), context.codebook_sizes) if config.head == "sids" else None
    return model, trie


def make_scorer(model: Generator, trie: SIDTrie | None, beam: int = 20, trie_mask: bool = True,
                counts: dict | None = None, items_head_only: bool = False):
    """A protocol scorer: full item scores (``items`` and ``both`` heads; ``items_head_only``: the
    items head's logits alone) or beam-searched lists (``sids``).

    With ``trie_mask=False`` the beams decode freely; ``counts`` then tallies ``invalid``
    (codes that are no item) out of ``total`` generated.
    """
    def trimmed(histories: torch.Tensor) -> torch.Tensor:
        """The model's padding for ``-1``, no all-padding columns on the left, on the model's device."""
        return model_padding(histories[:, -model.config.max_len:], model.num_items).to(next(model.parameters()).device)

    @torch.no_grad()
    def score(histories: torch.Tensor, users: np.ndarray):  # results on the CPU, as the protocol ranks there
        h = trimmed(histories)
        if items_head_only:
            return model.item_logits(h, items_head_only=True).cpu()
        if trie is None:
            return model.item_scores(h).cpu()
        items, _ = beam_search(model.code_head, model.hidden(h)[:, -1], trie, beam, trie_mask)
        if counts is not None:
            counts["invalid"] += int((items < 0).sum())
            counts["total"] += items.numel()
        return TopK(items)

    @torch.no_grad()
    def candidates(histories: torch.Tensor, users: np.ndarray, items: torch.Tensor) -> torch.Tensor:
        """``(B, C)`` scores of given items: code-sequence log-probabilities (sids head)."""
        h = trimmed(histories)
        return model.code_head.sequence_log_prob(model.hidden(h)[:, -1], model.codes[items.to(h.device)]).cpu()

    if trie is not None:
        score.candidates = candidates
    return score


def train(run_dir: str | Path, model: str = "g2rec", name: str | None = None, resume: bool = False,
          progress=None, graph_prior: bool | None = None, **options) -> dict:
    """Train a generator (``model`` in g2rec | sasrec | tiger); options are fields of
    :class:`GeneratorConfig` and :class:`TrainConfig` (``beam`` for the sids head's validation).
    ``graph_prior`` (default: on for g2rec's items head) then chooses the graph prior's weight
    on validation (:func:`g2rec.train.prior.choose_graph_prior`)."""
    check_choice("model", model, MODELS)
    clock = Stopwatch()
    run = RunFolder(run_dir)
    seq = run.sequences()
    gen_fields = {f for f in GeneratorConfig.__dataclass_fields__}
    gen_options = {k: v for k, v in options.items() if k in gen_fields and v is not None}
    if model in PRESETS:
        clash = {k for k in gen_options if k in PRESETS[model] and gen_options[k] != PRESETS[model][k]}
        if clash:
            raise ConfigError(f"--model {model} fixes {', '.join(sorted(clash))}; use --model g2rec to change them")
        gen_options.update(PRESETS[model])
    gen_config = GeneratorConfig(**gen_options)
    if gen_config.train_prior > 0:  # it scores as it was trained until a search chooses otherwise
        gen_config = replace(gen_config, graph_prior=gen_config.train_prior, prior_history=gen_config.train_prior_history,
                             prior_decay=crossfit.DECAY, prior_eps=crossfit.EPS)
    if graph_prior is None:
        graph_prior = model == "g2rec" and gen_config.head == "items"
    if graph_prior and (model != "g2rec" or gen_config.head == "sids"):
        raise ConfigError(f"graph_prior: only --model g2rec with the items or both head has one (got {model}, {gen_config.head}); "
                          "for an ablation on a trained baseline use `g2rec tune-prior --name`")
    train_config = TrainConfig(**{k: v for k, v in options.items() if k in TrainConfig.__dataclass_fields__ and v is not None})
    beam = options.get("beam") or 20
    name = name or f"{model}-{gen_config.head}"
    folder = model_folder(run, name)
    config_record = {"model": model, "generator": asdict(gen_config), "train": asdict(train_config), "beam": beam}
    if resume:
        saved = json.loads((folder / "config.json").read_text()) if (folder / "config.json").exists() else None
        if saved is None:
            raise G2RecError(f"{folder}: nothing to resume (no config.json); train without --resume")
        network = lambda g: {k: v for k, v in g.items() if k not in INFERENCE_PRIOR}
        if saved["model"] != model or network(saved["generator"]) != network(config_record["generator"]):
            raise ConfigError(f"{folder}: --resume with other model options than the run being resumed ({saved['generator']})")
        config_record["train"]["epochs"] = train_config.epochs
    torch.manual_seed(train_config.seed)
    net, trie = build_model(run, model, gen_config, folder, fresh=not resume)
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / "config.json", config_record)
    train_seq = seq.train()
    inputs, targets = training_windows(train_seq, gen_config.max_len, train_config.windows)
    log_prior = None
    if gen_config.train_prior > 0:
        log_prior = crossfit.CrossFitPrior(seq, GraphConfig(**run.manifest["stages"]["build-graph"]["params"]["graph"]),
                                           window_users(train_seq, gen_config.max_len, train_config.windows == "last"),
                                           gen_config.train_prior_history, train_config.seed)
    scorer = make_scorer(net, trie, beam, items_head_only=gen_config.head == "both")
    state = fit(net, inputs, targets, train_config,
                lambda m: evaluate_ranking(scorer, seq, VALID, gen_config.max_len, batch=512), folder, resume, progress,
                log_prior)
    summary = {"model": model, "name": name, "head": gen_config.head, "profiles": gen_config.profiles,
               "epochs": state["epoch"], "best_epoch": state["best_epoch"],
               "valid_ndcg10": round(state["best_ndcg10"], 5),
               "valid_recall10": round(state["best_metrics"]["Recall@10"], 5),
               "parameters": sum(p.numel() for p in net.parameters()),
               "samples_per_second": state["history"][-1]["samples_per_second"],
               "train_seconds": round(state["seconds"], 1), "seconds": round(clock.seconds, 1),
               "peak_memory_mb": round(peak_memory_mb(), 1)}
    run.record("train", name, {"config": config_record, "summary": summary, "curve": state["history"],
                               "folder": f"models/{name}"})
    if graph_prior:
        search = choose_graph_prior(run_dir, name, progress=progress)
        summary.update(graph_prior=search["graph_prior"], valid_ndcg10_with_prior=search["valid_ndcg10"])
    return summary


def load_trained(run: RunFolder, name: str) -> tuple[Generator | Ensemble, SIDTrie | None, dict]:
    """The best checkpoint of ``models/NAME`` with its trie and config (an ensemble: its members)."""
    folder = model_folder(run, name)
    if not (folder / "config.json").exists():
        trained = sorted(run.manifest.get("stages", {}).get("train", {}))
        raise G2RecError(f"{run.path}: no trained model '{name}' (trained: {', '.join(trained) or 'none'}; run `g2rec train`)")
    record = json.loads((folder / "config.json").read_text())
    if record["model"] == "ensemble":  # no weights of its own: its members' (g2rec.train.ensemble)
        config = GeneratorConfig(**record["generator"])
        members = [load_trained(run, member)[0] for member in record["members"]]
        return Ensemble(members, config, prior_graph(run, folder) if config.graph_prior > 0 else None).eval(), None, record
    # the checkpoint replaces the item embedding: no need to read the vectors that started it
    config = replace(GeneratorConfig(**record["generator"]), item_init="none")
    net, trie = build_model(run, record["model"], config, folder)
    load_checkpoint(folder / "best.safetensors", net)
    return net.eval(), trie, record


def evaluate_model(run: RunFolder, model: str = "g2rec-items", split: str = "test", sampled: int | None = None,
                   exclude_history: bool = False, max_len: int = 50, beam: int | None = None, seed: int = 0,
                   unconstrained: bool = False, progress=None) -> tuple[dict, np.ndarray]:
    """Metrics (lower-case keys) and per-query ranks (``evaluate_ranking``'s query order) of a
    trained model or a baseline on ``split``; writes nothing."""
    check_choice("split", split, ("valid", "test"))
    seq = run.sequences()
    split_id = {"valid": VALID, "test": TEST}[split]
    hallucination = None
    if model in BASELINES:
        scorer = PopularityScorer(seq) if model == "popularity" else GraphKNNScorer(run.graph(), seq)
    else:
        net, trie, record = load_trained(run, model)
        max_len = net.config.max_len
        if unconstrained and trie is not None:
            hallucination = {"invalid": 0, "total": 0}
        scorer = make_scorer(net, trie, beam or record["beam"], trie_mask=hallucination is None, counts=hallucination)
    metrics = evaluate_ranking(scorer, seq, split_id, max_len, exclude_history, sampled, seed, progress=progress,
                               keep_ranks=True)
    ranks = metrics.pop("ranks")
    if hallucination is not None:
        metrics["hallucination_rate"] = round(hallucination["invalid"] / max(hallucination["total"], 1), 5)
    elif model not in BASELINES and record["generator"]["head"] == "sids":
        metrics["hallucination_rate"] = 0.0  # constrained beams are trie paths: items by construction
    metrics = {**{k.lower(): (round(v, 5) if isinstance(v, float) else v) for k, v in metrics.items()}}
    return metrics, ranks


def evaluate(run_dir: str | Path, model: str = "g2rec-items", split: str = "test", sampled: int | None = None,
             exclude_history: bool = False, max_len: int = 50, beam: int | None = None, seed: int = 0,
             unconstrained: bool = False, progress=None) -> dict:
    """Metrics of a trained model (``models/NAME``) or a baseline (``popularity``, ``knn``) on ``split``,
    written to ``models/NAME/metrics.json`` under a key such as ``test-full-ranking``, with the
    per-query ranks (float32, ``inf`` = not found) in ``models/NAME/ranks-KEY.npy``."""
    run = RunFolder(run_dir)
    metrics, ranks = evaluate_model(run, model, split, sampled, exclude_history, max_len, beam, seed,
                                    unconstrained, progress)
    summary = {"model": model, "split": split, "metrics": metrics}
    folder = model_folder(run, model)
    folder.mkdir(parents=True, exist_ok=True)
    key = f"{split}-{metrics['protocol'].replace(' ', '-')}{'-unconstrained' if unconstrained else ''}"
    path = folder / "metrics.json"
    existing = json.loads(path.read_text()) if path.exists() else {}
    save_ranks(folder, key, ranks)
    write_json_atomic(path, {**existing, key: summary})
    run.record("evaluate", f"{model}/{key}", summary)
    return summary


def save_ranks(folder: Path, key: str, ranks: np.ndarray) -> Path:
    """Per-query ranks next to ``metrics.json``, written atomically."""
    path = folder / f"ranks-{key}.npy"
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.save(f, ranks.astype(np.float32))
    tmp.replace(path)
    return path
