"""The ``align`` stage: GRPO-SR preference alignment of a trained semantic-ID generator
(:mod:`g2rec.train.align`) into a new model folder, and its metrics under a reward model.

``align(RUN, model=NAME, reward=MODEL)`` copies ``models/NAME`` (its config and codes) to
``models/NAME-grpo-sr`` (``-grpo`` without the NLL term, ``-nogate`` without the gate), aligns
its weights against the frozen items-head model ``models/MODEL`` and writes them as
``best.safetensors``: ``evaluate``, ``recommend`` and ``serve`` read the aligned model as any
other. A killed alignment continues from its last checkpoint (``resume``).
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, fields
from pathlib import Path

from ..atomic import write_json_atomic
from ..data.sequences import TEST, VALID
from ..errors import ConfigError, G2RecError, check_choice
from ..eval.reward import reward_metrics
from ..measure import Stopwatch, peak_memory_mb
from ..model.generator import Generator
from ..train.align import AlignConfig, alignment_queries
from ..train.align import align as run_alignment
from ..train.checkpoint import save_checkpoint
from .models import clear_metrics, latest_model, load_trained, model_files, read_config
from .runfolder import RunFolder

ALIGN_OPTIONS = {f.name for f in fields(AlignConfig)}


def default_name(model: str, config: AlignConfig) -> str:
    return f"{model}-{'grpo-sr' if config.nll_weight > 0 else 'grpo'}{'' if config.gate else '-nogate'}"


def load_pair(run: RunFolder, model: str, reward: str):
    """The policy (a semantic-ID generator, with its trie) and the reward model (items head)."""
    policy, trie, record = load_trained(run, model)
    if trie is None:
        raise ConfigError(f"--model {model}: alignment samples semantic IDs; train a sids-head model "
                          f"(tiger, tiger-mlp, g2rec --head sids) first")
    scorer, _, _ = load_trained(run, reward)
    if not isinstance(scorer, Generator) or scorer.config.head != "items":
        raise ConfigError(f"--reward {reward}: the reward model scores every item: name an items-head model "
                          f"(sasrec, g2rec)")
    return policy, trie, record, scorer


def align(run_dir: str | Path, model: str, reward: str, name: str | None = None, resume: bool = False,
          overwrite: bool = False, progress=None, **options) -> dict:
    """Align ``models/MODEL`` with GRPO-SR against ``models/REWARD`` into ``models/NAME``;
    ``options`` are fields of :class:`AlignConfig`. Returns the summary (also recorded under
    ``stages.align.NAME``) with the aligned model's validation reward metrics."""
    unknown = sorted(set(options) - ALIGN_OPTIONS)
    if unknown:
        raise ConfigError(f"unknown align option(s): {', '.join(unknown)}; valid: {', '.join(sorted(ALIGN_OPTIONS))}")
    config = AlignConfig(**{k: v for k, v in options.items() if v is not None})
    clock = Stopwatch()
    run = RunFolder(run_dir)
    name = name or default_name(model, config)
    if name in (model, reward):
        raise ConfigError(f"--name {name}: the aligned model needs a folder of its own")
    with run.model_claim(name):
        policy, trie, record, scorer = load_pair(run, model, reward)
        source, folder = run.model_folder(model), run.model_folder(name)
        config_record = {**record, "aligned_from": model, "reward": reward, "align": asdict(config)}
        if resume and not (folder / "checkpoint.safetensors").exists():
            resume = False  # stopped before its first checkpoint: it starts over
        if resume:
            saved = read_config(run, folder)
            if {k: saved.get(k) for k in ("aligned_from", "reward", "align")} != \
                    {k: config_record[k] for k in ("aligned_from", "reward", "align")}:
                raise ConfigError(f"{folder}: --resume with other options than the alignment being resumed "
                                  f"({saved.get('aligned_from')}, {saved.get('reward')}, {saved.get('align')})")
        elif (folder / "config.json").exists() and not overwrite:
            raise G2RecError(f"{folder}: a model '{name}' is already there; pass --resume to continue it, "
                             f"--overwrite to align it again, or another --name")
        else:
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            if (source / "codes.npz").exists():  # the plain codes the policy's trie is built from
                shutil.copy2(source / "codes.npz", folder / "codes.npz")
            write_json_atomic(folder / "config.json", config_record)
        run.record("align", None, None, forget=f"models/{name}")
        clear_metrics(folder)
        seq = run.sequences()
        queries = alignment_queries(seq.train(), policy.config.max_len)
        state = run_alignment(policy, scorer, trie, queries, config, folder, resume, progress)
        policy.cpu().eval()
        scorer.cpu()
        save_checkpoint(folder / "best.safetensors", policy, None, {"step": state["step"]})
        valid = reward_metrics(policy, trie, scorer, seq, VALID, progress=progress)
        summary = {"model": name, "aligned_from": model, "reward": reward, "steps": state["step"],
                   "queries": len(queries[0]), **{f"valid_{k.lower()}": round(v, 5) for k, v in valid.items()
                                                   if isinstance(v, float)},
                   "align_seconds": round(state["seconds"], 1), "seconds": round(clock.seconds, 1),
                   "peak_memory_mb": round(peak_memory_mb(), 1)}
        run.record("align", name, {"config": config_record, "summary": summary, "curve": state["history"],
                                   "folder": f"models/{name}"}, files=model_files(folder, f"models/{name}"))
    return summary


def evaluate_rewards(run_dir: str | Path, model: str | None, reward: str, split: str = "test", beam: int = 50,
                     progress=None) -> dict:
    """:func:`g2rec.eval.reward.reward_metrics` of ``models/MODEL`` (default the most recent)
    rated by ``models/REWARD`` on ``split``, recorded in ``models/MODEL/metrics.json`` under
    ``SPLIT-reward-REWARD``."""
    check_choice("split", split, ("valid", "test"))
    run = RunFolder(run_dir)
    model = model or latest_model(run)
    policy, trie, _, scorer = load_pair(run, model, reward)
    seq = run.sequences()
    metrics = reward_metrics(policy, trie, scorer, seq, {"valid": VALID, "test": TEST}[split], beam, progress=progress)
    metrics = {k.lower(): (round(v, 5) if isinstance(v, float) else v) for k, v in metrics.items()}
    summary = {"model": model, "split": split, "reward": reward, "metrics": metrics}
    rel, key = f"models/{model}/metrics.json", f"{split}-reward-{reward}" + (f"-beam{beam}" if beam != 50 else "")
    with run.locked("metrics"), run.staging(rel) as staged:
        existing = run.load_json(rel) if (run.path / rel).exists() else {}
        write_json_atomic(staged[rel], {**(existing if isinstance(existing, dict) else {}), key: summary})
        run.record("evaluate", f"{model}/{key}", summary, files=[rel], staged=staged)
    return summary
