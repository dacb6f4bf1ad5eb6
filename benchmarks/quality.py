"""Quality benchmark: every dataset x model (x ablation) it is told, one protocol, one table.

For each dataset (``benchmarks/recipes.py``) it makes the run folder when missing
(``build_graph`` -> ``embed`` -> ``tokenize``), trains each model the recipe names unless
``models/NAME`` already holds one trained with the same options (a different one is an
error: ``--retrain`` replaces it), makes the seed ensembles it names, chooses graph-prior
weights on validation, evaluates
the test split (full ranking; sampled-99 where the recipe says), and writes

* ``benchmarks/results/quality.json``: every row with its metrics, training summary,
  commands and the hardware it ran on (rows of datasets not run this time are kept);
* ``benchmarks/results/quality.md`` and the block between the ``quality`` markers in
  ``benchmarks/README.md``: one table per dataset and protocol;
* ``benchmarks/results/quality_DATASET.png``: NDCG@10 and Recall@10 per model.

Usage::

    python benchmarks/quality.py --datasets ml-100k                 # everything its recipe names
    python benchmarks/quality.py --datasets beauty --models sasrec-items g2rec-items-add
    python benchmarks/quality.py --tables-only                      # regenerate tables and plots
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.util
import json
import os
import platform
import shlex
from collections import Counter
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = Path(HERE).parent
RESULTS = Path(HERE) / "results"
METRICS = ["recall@5", "recall@10", "recall@20", "ndcg@5", "ndcg@10", "ndcg@20", "mrr"]
BEGIN, END = "<!-- quality:begin (benchmarks/quality.py writes this block) -->", "<!-- quality:end -->"


def load_recipes() -> dict:
    spec = importlib.util.spec_from_file_location("recipes", Path(HERE) / "recipes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.RECIPES


def cli_words(verb: str, run: str, options: dict, *positional: str) -> list[str]:
    """The CLI words equivalent to a library call with these keyword options (a bool is a
    flag: ``graph_prior=False`` -> ``--no-graph-prior``)."""
    words = [verb, *positional, run]
    for key, value in options.items():
        flag = key.replace("_", "-")
        if isinstance(value, bool):
            words.append(f"--{flag}" if value else f"--no-{flag}")
            continue
        for one in value if isinstance(value, (list, tuple)) else [value]:
            words += [f"--{flag}", str(one)]
    return words


def cli(verb: str, run: str, options: dict, *positional: str) -> str:
    """The command line of :func:`cli_words`."""
    return shlex.join(["g2rec", *cli_words(verb, run, options, *positional)])


def hardware() -> str:
    import torch

    info = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in info.read_text().splitlines()
             if line.startswith("model name")] if info.exists() else []
    cpu = names[0] if names else platform.machine()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{os.cpu_count()} CPUs ({cpu}), {gpu}, torch {torch.__version__}, {platform.platform()}"


def prepare_run(name: str, recipe: dict, models: list[str], shared: Path) -> tuple[Path, list[str]]:
    """The run folder (made when missing) and the commands that make it: the recipe's
    embeddings and those the chosen ``models`` need besides (``"embed"`` in their entry)."""
    from g2rec import build_graph
    from g2rec.pipeline.embed import embed
    from g2rec.pipeline.tokenize import tokenize

    run = ROOT / recipe["run"]
    source = shared / recipe["source"]
    commands = [f"g2rec build-graph ../shared/data/{recipe['source']} -o {recipe['run']}"]
    if not (run / "manifest.json").exists():
        print(f"[{name}] build-graph {source}", flush=True)
        build_graph(source, run, **recipe["build"])
    needed = dict(recipe["embed"])
    for model in models:
        needed.update((recipe["models"][model] or {}).get("embed", {}))
    for method, options in needed.items():
        commands.append(cli("embed", recipe["run"], {"method": method, **options}))
        if not (run / "embeddings" / f"{method}.npy").exists():
            print(f"[{name}] embed {method}", flush=True)
            embed(run, method, **options)
    commands.append(cli("tokenize", recipe["run"], recipe["tokenize"]))
    if not (run / "tokenize" / "prototypes.npz").exists():
        print(f"[{name}] tokenize", flush=True)
        tokenize(run, **recipe["tokenize"])
    else:
        check_tokenized(run, recipe, commands[-1])
    return run, commands


def check_tokenized(run: Path, recipe: dict, command: str) -> None:
    """Stop when ``run``'s tokenize outputs were made with other options than the recipe's
    (another recipe or command shares the folder): its rows would silently train on them."""
    from g2rec.pipeline.runfolder import read_manifest

    made = read_manifest(run)["stages"]["tokenize"]["params"]
    differ = [f"{key} {made.get(key)!r} (recipe: {value!r})" for key, value in recipe["tokenize"].items()
              if made.get(key) != value]
    if differ:
        raise SystemExit(f"{run}/tokenize was made with {', '.join(differ)}: run `{command}` "
                         "(models trained on the present outputs will then refuse to load)")


def entry_command(recipe_run: str, name: str, entry: dict | None) -> str:
    """The command that makes recipe entry ``name`` (a baseline: its evaluation)."""
    if entry is None:
        return cli("evaluate", recipe_run, {"model": name})
    if "ensemble" in entry:
        return cli("ensemble", recipe_run, {"members": entry["ensemble"], "name": name})
    if "tune_prior" in entry:
        flags = {"grid" if k == "alpha" else k: list(v) for k, v in entry.get("grid", {}).items()}
        choice = {k: entry[k] for k in ("sampled", "metric", "graph_from", "exclude_history") if entry.get(k)}
        return cli("tune-prior", recipe_run, {"model": entry["tune_prior"], "name": name, **flags, **choice})
    options = dict(entry["train"])
    return cli("train", recipe_run, {"model": options.pop("model"), **options, "name": name})


def row_command(recipe: dict, name: str) -> str:
    """The commands that reproduce a row: a tuned prior's after those of the model it tunes."""
    entry = recipe["models"][name]
    command = entry_command(recipe["run"], name, entry)
    source = (entry or {}).get("tune_prior")
    return f"{row_command(recipe, source)}; {command}" if source in recipe["models"] else command


def ensure_model(run: Path, recipe_run: str, name: str, entry: dict | None, retrain: bool) -> None:
    """Train (or tune the prior of, or ensemble) ``name`` unless it is there with the same options."""
    from g2rec.eval.prior_search import PriorGrid
    from g2rec.pipeline.ensemble import make_ensemble
    from g2rec.pipeline.train import train
    from g2rec.pipeline.tune_prior import choose_graph_prior

    folder = run / "models" / name
    command = entry_command(recipe_run, name, entry)
    if entry is None:  # a baseline: nothing to train
        return
    if "ensemble" in entry:
        if retrain or not (folder / "config.json").exists():
            print(f"[{run.name}] {command}", flush=True)
            make_ensemble(run, entry["ensemble"], name)
        return
    if "tune_prior" in entry:
        grid = entry.get("grid", {})
        # protocol, metric and graph of the choice (graph_from: another recipe's run folder, same log)
        choice = {k: entry[k] for k in ("sampled", "metric", "graph_from", "exclude_history") if entry.get(k)}
        if retrain or not (folder / "config.json").exists():
            print(f"[{run.name}] {command}", flush=True)
            where = {"graph_from": ROOT / choice["graph_from"]} if "graph_from" in choice else {}
            choose_graph_prior(run, entry["tune_prior"], name=name, grid=PriorGrid(**{k: tuple(v) for k, v in grid.items()}),
                               **{**choice, **where})
        return
    options = dict(entry["train"])
    model = options.pop("model")
    trained = json.loads((run / "manifest.json").read_text()).get("stages", {}).get("train", {})
    complete = name in trained or (folder / "metrics.json").exists()
    resume = not retrain and not complete and (folder / "checkpoint.safetensors").exists()
    if (folder / "config.json").exists() and not retrain and (complete or resume):
        record = json.loads((folder / "config.json").read_text())
        have = {**record["generator"], "windows": "last", **record["train"], "model": record["model"]}
        # graph_prior: the switch of the search after training, not an option of the network
        differ = {k: (have.get(k), v) for k, v in {"model": model, **options}.items()
                  if k != "graph_prior" and have.get(k) != v}
        if differ:
            raise SystemExit(f"{folder}: trained with other options than the recipe ({differ}: have, recipe); "
                             f"use --retrain to replace it")
        if complete:
            return
    print(f"[{run.name}] {command}{' --resume' if resume else ''}", flush=True)
    train(run, model, name, resume=resume, overwrite=not resume, **options)  # a half-made or --retrain folder


def metrics_key(sampled: int | None) -> str:
    return f"test-sampled-{sampled}" if sampled else "test-full-ranking"


def fresh_metrics(run: Path, name: str, sampled: int | None) -> dict | None:
    """The stored test metrics of ``models/NAME`` when written after its config.json, else None."""
    path = run / "models" / name / "metrics.json"
    done = json.loads(path.read_text()).get(metrics_key(sampled)) if path.exists() else None
    config = run / "models" / name / "config.json"
    fresh = done and (not config.exists() or path.stat().st_mtime >= config.stat().st_mtime)
    return done["metrics"] if fresh else None


def evaluate_row(run: Path, name: str, sampled: int | None) -> dict | None:
    from g2rec.pipeline.evaluate import evaluate

    done = fresh_metrics(run, name, sampled)
    if done is not None:
        return done
    key, config = metrics_key(sampled), run / "models" / name / "config.json"
    weights = run / "models" / name / "best.safetensors"
    if config.exists() and not weights.exists() and json.loads(config.read_text())["model"] != "ensemble":
        print(f"[{run.name}] {name}: no {key} metrics and no weights here to compute them (trained elsewhere); "
              "row left out of that table", flush=True)
        return None
    return evaluate(run, name, "test", sampled=sampled)["metrics"]


def training_summary(run: Path, name: str) -> dict | None:
    """Training cost and epochs (an ensemble: its members' summed), the prior's knobs and the
    row's full-ranking validation ``valid_ndcg10`` / ``valid_recall10`` as it scores (with its
    chosen prior), when known."""
    config = run / "models" / name / "config.json"
    if not config.exists():
        return None
    record = json.loads(config.read_text())
    prior = record.get("prior", {})
    summary = {"graph_prior": prior.get("weight", 0.0),
               **{f"prior_{k}": prior[k] for k in ("history", "decay", "eps") if k in prior}}
    search = record.get("graph_prior_search", {})
    if record["model"] == "ensemble":
        parts = [training_summary(run, member) or {} for member in record["members"]]
        summary.update(members=len(parts), train_seconds=round(sum(p.get("train_seconds", 0) for p in parts), 1),
                       valid_ndcg10=record["valid"]["valid_ndcg10"], valid_recall10=record["valid"]["valid_recall10"],
                       members_trained_on=dict(Counter(p.get("gpu", "CPU") for p in parts)))
    else:
        log = run / "models" / search.get("source_model", name) / "train_log.jsonl"
        epochs = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        if epochs:
            best = max(epochs, key=lambda e: e["valid"]["NDCG@10"])
            summary.update(epochs=len(epochs), best_epoch=best["epoch"], valid_ndcg10=best["valid"]["NDCG@10"],
                           valid_recall10=best["valid"]["Recall@10"],
                           train_seconds=round(sum(e["seconds"] for e in epochs), 1),
                           **{"gpu": epochs[-1]["gpu"]} if "gpu" in epochs[-1] else {})
    if search.get("protocol", "full ranking") == "full ranking" and search:
        summary.update(valid_ndcg10=search["valid_ndcg10"], valid_recall10=search.get("valid_recall10"))
    elif search:  # chosen on another protocol: no full-ranking validation score to compare
        summary.update(valid_ndcg10=None, valid_recall10=None)
    return summary


def where_made(training: dict | None) -> str:
    """The hardware of a row: where its network (an ensemble: each member) was trained, where it was scored."""
    training = training or {}
    if training.get("members_trained_on"):
        on = ", ".join(f"{n} on {k}" for k, n in training["members_trained_on"].items())
        return f"members trained {on}; scored on CPU"
    if training.get("gpu"):  # benchmarks/train_parallel.py on the device machine
        return f"trained on {training['gpu']}; scored on CPU"
    return hardware()


def run_dataset(name: str, recipe: dict, models: list[str] | None, shared: Path, retrain: bool) -> dict:
    unknown = sorted(set(models or []) - set(recipe["models"]))
    if unknown:
        raise SystemExit(f"{name}: no recipe for {unknown}; valid: {', '.join(recipe['models'])}")
    models = models or list(recipe["models"])
    run, setup = prepare_run(name, recipe, models, shared)
    rows = {}
    for model in models:
        ensure_model(run, recipe["run"], model, recipe["models"][model], retrain)
        training = training_summary(run, model)
        row = {"command": row_command(recipe, model), "training": training, "hardware": where_made(training),
               "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
        for sampled in ([None, 99] if recipe["sampled_99"] else [None]):
            metrics = evaluate_row(run, model, sampled)
            if metrics is not None:
                row["sampled-99" if sampled else "full-ranking"] = {k: v for k, v in metrics.items()
                                                                    if k in METRICS or k == "num_users"}
        rows[model] = row
        if "full-ranking" in row:
            print(f"[{name}] {model}: N@10 {row['full-ranking']['ndcg@10']:.4f} R@10 {row['full-ranking']['recall@10']:.4f}",
                  flush=True)
    return {"setup": setup, "provenance": recipe["provenance"], "targets": recipe.get("targets", {}), "rows": rows}


VALID_KEYS = {"ndcg@10": "valid_ndcg10", "recall@10": "valid_recall10"}


def validation_pick(rows: dict, metric: str) -> str | None:
    """The row with the best full-ranking validation ``metric`` (as it scores, prior included),
    among rows that record one; None when none does (baselines, older records)."""
    key = VALID_KEYS.get(metric)
    scored = {m: r["training"][key] for m, r in rows.items() if (r.get("training") or {}).get(key) is not None}
    return max(scored, key=scored.get) if scored else None


def model_family(models: dict, name: str) -> dict | None:
    """Which network a recipe entry scores with, and whether the graph prior was searched for it:
    ``{"network": "sasrec" | "g2rec" | "tiger" | "tiger-mlp" | "mixed", "prior": bool}`` (an ensemble of
    different networks is ``mixed``); None for a baseline or a name the recipe lacks."""
    entry = models.get(name)
    if not entry:
        return None
    if "train" in entry:
        network = entry["train"].get("model", "g2rec")   # g2rec train searches the prior unless told not to
        return {"network": network, "prior": network == "g2rec" and entry["train"].get("graph_prior", True) is not False}
    if "tune_prior" in entry:
        source = model_family(models, entry["tune_prior"])
        return source and {"network": source["network"], "prior": True}
    networks = {(model_family(models, member) or {}).get("network") for member in entry["ensemble"]}
    return {"network": networks.pop() if len(networks) == 1 else "mixed", "prior": False}


def head_to_head(data: dict, recipe: dict | None) -> list[str]:
    """Lines for a target of the form "g2rec ahead of these networks" (``recipe["ahead_of"]``): on each
    side the configuration validation picks (full ranking, the metric itself), its test score and
    the distance on both splits; met when g2rec is ahead on both, level when they disagree. A
    baseline network is taken alone (as published) and, where the recipe searched it, with g2rec's
    graph prior added to its scores; mixed ensembles count on neither side."""
    want = (recipe or {}).get("ahead_of")
    if not want:
        return []
    families = {m: model_family(recipe["models"], m) for m in data["rows"]}
    rows = {m: r for m, r in data["rows"].items() if "full-ranking" in r and families[m]}
    metric, key = want["metric"], VALID_KEYS[want["metric"]]

    def pick(test) -> tuple[str, int] | None:
        side = {m: r for m, r in rows.items() if test(families[m])}
        top = validation_pick(side, metric)
        return top and (top, len(side))

    def describe(label: str, chosen: tuple[str, int]) -> str:
        model, count = chosen
        among = f"the pick of {count} configurations" if count > 1 else "its only configuration"
        return f"{label}: {model} (validation {rows[model]['training'][key]:.4f}, {among}): test {rows[model]['full-ranking'][metric]:.4f}"

    ours = pick(lambda f: f["network"] == "g2rec")
    if ours is None:
        return []
    mine = rows[ours[0]]
    title = (f"- target: g2rec ahead of {', '.join(want['networks'])} on test {metric}, each side's "
             f"configuration chosen on validation {metric}:")
    lines = [title, "  - " + describe("g2rec", ours)]
    for network in want["networks"]:
        for label, prior in ((network, False), (f"{network} + g2rec's graph prior", True)):
            theirs = pick(lambda f, n=network, p=prior: f["network"] == n and f["prior"] == p)
            if theirs is None:
                continue
            other = rows[theirs[0]]
            test = mine["full-ranking"][metric] - other["full-ranking"][metric]
            valid = mine["training"][key] - other["training"][key]
            verdict = ("met" if test > 0 and valid > 0 else "**not met**" if test <= 0 and valid <= 0
                       else "**level: the splits disagree**")
            lines.append("  - " + describe(label, theirs) + f"; g2rec {test:+.4f} on test, {valid:+.4f} on validation: {verdict}")
    mixed = sum(families[m]["network"] == "mixed" for m in rows)
    return lines + ([f"  - ({mixed} ensembles of different networks count on neither side)"] if mixed else []) + [""]


def markdown(results: dict, recipes: dict) -> str:
    lines = []
    for name, data in results.items():
        lines += [f"### {name}", "", "Run folder made by: " + "; ".join(f"`{c}`" for c in data["setup"]), "",
                  f"Provenance: {data['provenance']}", ""]
        for protocol in ("full-ranking", "sampled-99"):
            rows = {m: r for m, r in data["rows"].items() if protocol in r}
            if not rows:
                continue
            lines += [f"**{protocol}**, test split", "",
                      "| model | " + " | ".join(m.replace("recall", "R").replace("ndcg", "N").upper().replace("MRR", "MRR")
                                               for m in METRICS) + " | training | command |",
                      "|---|" + "---:|" * (len(METRICS) + 1) + "---|"]
            best = max(r[protocol]["ndcg@10"] for r in rows.values())
            for model, row in rows.items():
                m = row[protocol]
                cells = [f"**{m[k]:.4f}**" if k == "ndcg@10" and m[k] == best else f"{m[k]:.4f}" for k in METRICS]
                t = row["training"] or {}
                cost = f"{t['train_seconds']:.0f} s ({t['epochs']} ep, best {t['best_epoch']})" if "epochs" in t else "-"
                if "members" in t:
                    cost = f"{t['members']} members, {t['train_seconds']:.0f} s together"
                if t.get("graph_prior"):
                    knobs = ", ".join(f"{k} {t[f'prior_{k}']:g}" for k in ("history", "decay", "eps") if f"prior_{k}" in t)
                    cost += f", prior {t['graph_prior']:g}" + (f" ({knobs})" if knobs else "")
                lines.append(f"| {model} | " + " | ".join(cells) + f" | {cost} | `{row['command']}` |")
            hw = sorted({r["hardware"] for r in rows.values()})
            lines += ["", "Hardware: " + "; ".join(hw), ""]
            verdict = lambda have, target: "met" if have >= target else f"**not met: {target - have:.4f} short**"
            for metric, target in data.get("targets", {}).get(protocol, {}).items():
                top = max(rows, key=lambda m: rows[m][protocol][metric])
                have = rows[top][protocol][metric]
                line = f"- target {metric} >= {target}: best on test {have:.4f} ({top}), {verdict(have, target)}"
                pick = validation_pick(rows, metric) if protocol == "full-ranking" else None
                if pick:
                    got = rows[pick][protocol][metric]
                    line += (f"; validation's pick {pick} (validation {rows[pick]['training'][VALID_KEYS[metric]]:.4f}): "
                             f"test {got:.4f}, {verdict(got, target)}")
                lines.append(line)
            lines += [""] if data.get("targets", {}).get(protocol) else []
            if protocol == "full-ranking":
                lines += head_to_head(data, recipes.get(name))
    return "\n".join(lines)


def plot(name: str, data: dict, path: Path) -> None:
    """NDCG@10 and Recall@10 bars per model (full ranking) with the targets as dashed lines;
    horizontal bars once there are more models than fit side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = [m for m in data["rows"] if "full-ranking" in data["rows"][m]]
    wide = len(models) > 12
    size = (9, 0.32 * len(models) + 1.4) if wide else (max(6, 0.9 * len(models)), 3.6)
    fig, ax = plt.subplots(figsize=size)
    x = list(range(len(models)))[::-1] if wide else range(len(models))
    colors = {"ndcg@10": "C0", "recall@10": "C1"}
    bars, line = (ax.barh, ax.axvline) if wide else (ax.bar, ax.axhline)
    for offset, metric in ((0.2, "ndcg@10"), (-0.2, "recall@10")) if wide else ((-0.2, "ndcg@10"), (0.2, "recall@10")):
        bars([i + offset for i in x], [data["rows"][m]["full-ranking"][metric] for m in models], 0.4,
             color=colors[metric], label=metric.replace("ndcg", "NDCG").replace("recall", "Recall"))
    for metric, target in data.get("targets", {}).get("full-ranking", {}).items():
        line(target, color=colors[metric], linestyle="--", linewidth=1)
        where = (target, len(models) - 0.6) if wide else (len(models) - 0.5, target)
        ax.annotate(f" target {metric} {target:g}", where, ha="left" if wide else "right", va="bottom",
                    fontsize=7, color=colors[metric])
    tops = [data["rows"][m]["full-ranking"][k] for m in models for k in ("ndcg@10", "recall@10")]
    limit = (1.3 if wide else 1.15) * max(tops + list(data.get("targets", {}).get("full-ranking", {}).values()))
    (ax.set_xlim if wide else ax.set_ylim)(0, limit)
    if wide:
        ax.set_yticks(x, models, fontsize=8)
    else:
        ax.set_xticks(list(x), models, rotation=30, ha="right")
    ax.set_title(f"{name}: test, full ranking")
    ax.legend(loc="lower right" if wide else "best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_outputs(results: dict, recipes: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "quality.json").write_text(json.dumps(results, indent=1) + "\n")
    table = markdown(results, recipes)
    (RESULTS / "quality.md").write_text("# Quality benchmark (benchmarks/quality.py)\n\n" + table + "\n")
    for name, data in results.items():
        plot(name, data, RESULTS / f"quality_{name}.png")
    readme = Path(HERE) / "README.md"
    text = readme.read_text()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + BEGIN + "\n\n" + table + "\n" + END + rest.split(END, 1)[1]
        readme.write_text(text)


def main(argv=None) -> None:
    recipes = load_recipes()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="*", default=[], help=f"any of: {', '.join(recipes)}")
    parser.add_argument("--models", nargs="*", default=None, help="models of the recipe (default: all)")
    parser.add_argument("--retrain", action="store_true", help="train again models that exist")
    parser.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tables-only", action="store_true", help="only regenerate tables and plots")
    args = parser.parse_args(argv)
    bad = sorted(set(args.datasets) - set(recipes))
    if bad:
        parser.error(f"unknown datasets {bad}; valid: {', '.join(recipes)}")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    path = RESULTS / "quality.json"

    def saved() -> dict:  # read again before each write: another dataset's run may have written meanwhile
        return json.loads(path.read_text()) if path.exists() else {}

    if not args.tables_only:
        for name in args.datasets:
            done = run_dataset(name, recipes[name], args.models, Path(args.shared), args.retrain)
            results = saved()
            kept = results.get(name, {}).get("rows", {})
            results[name] = {**done, "rows": {**kept, **done["rows"]}}
            write_outputs(results, recipes)
    write_outputs(refreshed(saved(), recipes), recipes)


def refreshed(results: dict, recipes: dict) -> dict:
    """What the saved results derive from the recipes, made again: each row's command and its
    dataset's provenance, rows whose entry the recipe no longer has dropped (named on stdout); and
    each row's training summary read again from its run folder, where that folder is here
    (validation scores and priors recorded after the row was first written)."""
    for name, data in results.items():
        recipe = recipes.get(name)
        if recipe is not None:
            gone = [model for model in data["rows"] if model not in recipe["models"]]
            if gone:
                print(f"[{name}] rows without a recipe entry, dropped: {', '.join(gone)}", flush=True)
            data["rows"] = {m: {**row, "command": row_command(recipe, m)} for m, row in data["rows"].items()
                            if m in recipe["models"]}
            data["provenance"] = recipe["provenance"]
        run = ROOT / recipe["run"] if recipe is not None else None
        for model, row in data["rows"].items():
            if run is not None and (run / "models" / model / "config.json").exists():
                row["training"] = training_summary(run, model)
                if "members_trained_on" in row["training"]:
                    row["hardware"] = where_made(row["training"])
    return results


if __name__ == "__main__":
    main()
