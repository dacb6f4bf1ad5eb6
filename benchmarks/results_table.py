"""Print the results tables of a run folder (markdown): every evaluated model, test split.

Reads what ``g2rec train`` and ``g2rec evaluate`` wrote (``models/NAME/metrics.json``,
``models/NAME/config.json`` and the manifest's ``train`` records); computes nothing new, so
each row is exactly what the command in its row printed. One table per protocol (full
ranking, sampled-99), rows in the order given.

Usage::

    python benchmarks/results_table.py runs/beauty --models popularity knn sasrec-items tiger-sids g2rec-items g2rec-sids
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

METRICS = ["recall@5", "recall@10", "recall@20", "ndcg@5", "ndcg@10", "ndcg@20", "mrr"]
PROTOCOLS = {"test-full-ranking": "full ranking", "test-sampled-99": "sampled-99"}
PRESET_KEYS = {"head", "profiles", "item_input", "profile_weight", "item_init"}  # fixed by --model sasrec/tiger


def train_command(run: Path, name: str, config: dict, defaults: dict) -> str:
    """The ``g2rec train`` line that makes ``models/NAME``: only options that differ from defaults."""
    parts = ["g2rec", "train", str(run), "--model", config["model"]]
    options = {**config["generator"], "windows": "last", **config["train"]}  # configs before --windows: last
    for key, value in options.items():
        if key == "graph_prior":  # chosen after training, not a training option
            continue
        if key in defaults and defaults[key] != value and not (config["model"] != "g2rec" and key in PRESET_KEYS):
            parts += [f"--{key.replace('_', '-')}", str(value)]
    if name != f"{config['model']}-{config['generator']['head']}":
        parts += ["--name", name]
    return " ".join(shlex.quote(p) for p in parts)


def prior_grid_flags(search: dict) -> str:
    """The ``tune-prior`` flags of a recorded search: only knobs whose grid is not the default."""
    from dataclasses import asdict

    from g2rec.eval.prior_search import PriorGrid

    if "grid" not in search:  # written before the other knobs: only weights searched, at the knobs of then
        tried = [float(a) for a in search["valid_ndcg10"]]
        search = {"grid": {"alpha": tried, "history": [10], "decay": [0.7], "eps": [1e-3]}}
    flags = {"alpha": "grid", "history": "history", "decay": "decay", "eps": "eps"}
    default = asdict(PriorGrid())
    return "".join(f" --{flags[k]} {v:g}" for k, values in search["grid"].items()
                   if list(values) != list(default[k]) for v in values)


def rows(run: Path, models: list[str], key: str) -> list[str]:
    from dataclasses import asdict

    from g2rec.model.generator import GeneratorConfig
    from g2rec.train.loop import TrainConfig

    defaults = {**asdict(GeneratorConfig()), **asdict(TrainConfig())}
    trained = json.loads((run / "manifest.json").read_text()).get("stages", {}).get("train", {})
    out = []
    for name in models:
        folder = run / "models" / name
        metrics = json.loads((folder / "metrics.json").read_text()).get(key) if (folder / "metrics.json").exists() else None
        if metrics is None:
            out.append(f"| {name} | not evaluated ({key}) |" + " |" * (len(METRICS) + 3))
            continue
        m = metrics["metrics"]
        hall = m.get("hallucination_rate")
        flag = " --sampled 99" if key.endswith("sampled-99") else ""
        evaluate = f"g2rec evaluate {run} --model {name}{flag}"
        config = json.loads((folder / "config.json").read_text()) if (folder / "config.json").exists() else {}
        search = config.get("graph_prior_search")
        source = search["source_model"] if search else name  # a tune-prior copy: trained as its source
        if source in trained:
            s = trained[source]["summary"]
            # a resumed run's own peak is its last process's: take the largest in the epochs' log
            log = run / "models" / source / "train_log.jsonl"
            epochs = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
            peak = max([s["peak_memory_mb"]] + [e.get("peak_memory_mb", 0) for e in epochs])
            cost = f"{s['train_seconds']:.0f} s ({s['epochs']} ep, best {s['best_epoch']}) | {peak:.0f} MB"
            command = f"`{train_command(run, source, config, defaults)}`"
            if search and (source != name or config["model"] != "g2rec"):
                grid = prior_grid_flags(search)
                command += f"; `g2rec tune-prior {run} --model {source}" + (f" --name {name}" if name != source else "") + f"{grid}`"
            command += f"; `{evaluate}`"
        else:
            cost, command = "- | -", f"`{evaluate}`"
        cells = [f"{m[k]:.4f}" for k in METRICS] + ["-" if hall is None else f"{hall:.3f}"]
        out.append(f"| {name} | " + " | ".join(cells) + f" | {cost} | {command} |")
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("run", type=Path)
    p.add_argument("--models", nargs="+", required=True)
    args = p.parse_args(argv)
    header = ("| model | " + " | ".join(k.replace("recall", "R").replace("ndcg", "N").upper() for k in METRICS)
              + " | halluc. | training | peak mem | command |")
    for key, label in PROTOCOLS.items():
        print(f"\n{label}, test split\n")
        print(header)
        print("|---|" + "---:|" * (len(METRICS) + 1) + "---:|---:|---|")
        print("\n".join(rows(args.run, args.models, key)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
