"""Train many recipe models at once (one process each), e.g. on one GPU, then evaluate them.

The models are the ``train`` entries of ``benchmarks/recipes.py`` whose options name
``--device`` (default ``cuda``); run folders must exist (``benchmarks/quality.py`` makes them).
Each model is one ``g2rec train`` process, exactly the command ``quality.py`` prints for its
row, with its output added to ``models/NAME/train.out``; ``--limit`` seconds after the start
the ones still running are stopped, and a later call resumes them from their checkpoint. Then
``g2rec evaluate`` writes each finished model's test metrics (and sampled-99 where the recipe
asks) that are not there yet, in parallel too. ``quality.py`` later reads all of it and trains nothing again.

Usage (the device machine: 16 CPUs, one H100; then here, with its runs/ copied to THERE)::

    python benchmarks/train_parallel.py --datasets beauty toys scientific --limit 420
    python benchmarks/train_parallel.py --datasets beauty toys scientific --adopt THERE

``--pack DIR`` (there, after training) writes the models' folders without their optimizer
checkpoints, and their runs' manifests, as one gzipped tar in parts of at most 15 MiB
(``DIR/models.tgz.00``, ...: the device machine sends back files of at most 16 MiB);
``--adopt DIR`` (here) reads such parts as it reads a copy of that machine's repo root.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = Path(HERE).parent
G2REC = [sys.executable, "-c", "from g2rec_cli.main import app; app(prog_name='g2rec')"]


def quality_module():
    spec = importlib.util.spec_from_file_location("quality", Path(HERE) / "quality.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def planned(quality, recipes: dict, datasets: list[str], device: str, only: list[str] | None) -> list[dict]:
    """One job per model: ``dataset``, ``name``, ``run`` (folder), ``args`` (CLI words), ``sampled``."""
    jobs = []
    for dataset in datasets:
        recipe = recipes[dataset]
        for name, entry in recipe["models"].items():
            if not entry or "train" not in entry or entry["train"].get("device") != device:
                continue
            if only and name not in only:
                continue
            options = dict(entry["train"])
            model = options.pop("model")
            args = quality.cli_words("train", recipe["run"], {"model": model, **options, "name": name})
            jobs.append({"dataset": dataset, "name": name, "run": ROOT / recipe["run"], "args": args,
                         "epochs": options.get("epochs", 100),
                         "sampled": recipe.get("sampled_99", False)})
    return jobs


def finished(job: dict) -> bool:
    trained = json.loads((job["run"] / "manifest.json").read_text()).get("stages", {}).get("train", {})
    return job["name"] in trained


def run_all(commands: list[tuple[str, list[str], Path]], limit: float, parallel: int) -> dict:
    """Run ``(label, argv, log)`` commands, at most ``parallel`` at a time, stopping all at
    ``limit`` seconds; returns ``{label: exit code or None (stopped)}``."""
    start, waiting, running, codes = time.monotonic(), list(commands), {}, {}
    while waiting or running:
        while waiting and len(running) < parallel:
            label, argv, log = waiting.pop(0)
            log.parent.mkdir(parents=True, exist_ok=True)
            running[label] = (subprocess.Popen(argv, stdout=open(log, "a"), stderr=subprocess.STDOUT, cwd=ROOT),
                              time.monotonic())
        for label, (proc, began) in list(running.items()):
            if proc.poll() is not None:
                codes[label] = proc.returncode
                del running[label]
                print(f"[{time.monotonic() - start:6.0f} s] {label}: exit {proc.returncode} after "
                      f"{time.monotonic() - began:.0f} s", flush=True)
        if time.monotonic() - start > limit:
            for label, (proc, _) in running.items():
                proc.terminate()
                proc.wait()
                codes[label] = None
                print(f"[{time.monotonic() - start:6.0f} s] {label}: stopped at the limit", flush=True)
            break
        time.sleep(1)
    return codes


def adopt(source: Path, jobs: list[dict]) -> None:
    """Bring models trained elsewhere (``source``: a copy of that machine's repo root, or the
    files it sent back) into the local run folders: each job's model files and its manifest
    entries (training, evaluations). A model whose training stopped at the time limit after
    exactly the recipe's ``epochs`` gets the training entry ``g2rec train`` would have written."""
    from g2rec.pipeline.runfolder import RunFolder

    for job in jobs:
        run_rel = job["run"].relative_to(ROOT)
        there, here = source / run_rel / "models" / job["name"], job["run"] / "models" / job["name"]
        if not (there / "config.json").exists():  # not trained there (e.g. only a failed evaluation's log)
            continue
        here.mkdir(parents=True, exist_ok=True)
        for f in there.iterdir():  # with their times: quality.py trusts metrics newer than the config
            shutil.copy2(f, here / f.name)
        stages = json.loads((source / run_rel / "manifest.json").read_text())["stages"]
        run = RunFolder(job["run"])
        entries = [("train", job["name"], stages.get("train", {}).get(job["name"]))]
        entries += [("evaluate", k, v) for k, v in stages.get("evaluate", {}).items() if k.split("/")[0] == job["name"]]
        log = [json.loads(line) for line in (here / "train_log.jsonl").read_text().splitlines()]
        config = json.loads((here / "config.json").read_text())
        if entries[0][2] is None and len(log) == job["epochs"] and (here / "best.safetensors").exists():
            config["train"]["epochs"] = job["epochs"]  # as `g2rec train --resume --epochs N` records it
            (here / "config.json").write_text(json.dumps(config, indent=1))
            best = max(log, key=lambda r: r["valid"]["NDCG@10"])
            entries[0] = ("train", job["name"], {"config": config, "curve": log, "folder": f"models/{job['name']}",
                                                 "summary": {"model": config["model"], "name": job["name"],
                                                             "epochs": len(log), "best_epoch": best["epoch"],
                                                             "valid_ndcg10": best["valid"]["NDCG@10"],
                                                             "note": "stopped at the time limit after its last epoch"}})
        for stage, key, entry in entries:
            if entry is not None:
                run.record(stage, key, entry)
        print(f"{run_rel}/{job['name']}: {', '.join(k for _, k, e in entries if e is not None) or 'files only'}")


PART_BYTES = 15 * 2**20


class _Parts:
    """A write-only file that spills into ``stem.00``, ``stem.01``, ... of at most ``size`` bytes each."""

    def __init__(self, stem: Path, size: int):
        self.stem, self.size, self.paths, self.file = stem, size, [], None

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            if self.file is None or self.file.tell() == self.size:
                self.close()
                self.paths.append(self.stem.with_name(f"{self.stem.name}.{len(self.paths):02d}"))
                self.file = open(self.paths[-1], "wb")
            room = self.size - self.file.tell()
            self.file.write(view[:room])
            view = view[room:]
        return len(data)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def pack(jobs: list[dict], out: Path, part_bytes: int = PART_BYTES, root: Path = ROOT) -> list[Path]:
    """Each job's model folder (without ``checkpoint.safetensors``, the optimizer state) and its
    run's ``manifest.json``, paths relative to ``root``, as ``out/models.tgz.NN`` parts."""
    out.mkdir(parents=True, exist_ok=True)
    parts = _Parts(out / "models.tgz", part_bytes)
    with tarfile.open(fileobj=parts, mode="w|gz") as tar:
        for run in dict.fromkeys(job["run"] for job in jobs):
            tar.add(run / "manifest.json", arcname=str((run / "manifest.json").relative_to(root)))
        for job in jobs:
            folder = job["run"] / "models" / job["name"]
            for f in sorted(folder.glob("*")) if folder.is_dir() else []:
                if f.is_file() and f.name != "checkpoint.safetensors":
                    tar.add(f, arcname=str(f.relative_to(root)))
    parts.close()
    return parts.paths


def unpack(folder: Path, into: Path) -> Path:
    """``folder``'s ``models.tgz.NN`` parts extracted under ``into``; returns ``into``."""
    data = b"".join(p.read_bytes() for p in sorted(folder.glob("models.tgz.[0-9][0-9]")))
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(into, filter="data")
    return into


def main(argv=None) -> None:
    quality = quality_module()
    recipes = quality.load_recipes()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", required=True, help=f"any of: {', '.join(recipes)}")
    parser.add_argument("--models", nargs="*", default=None, help="only these model names")
    parser.add_argument("--device", default="cuda", help="train the entries whose options name this device")
    parser.add_argument("--parallel", type=int, default=os.cpu_count(), help="processes at once")
    parser.add_argument("--limit", type=float, default=420, help="seconds after which training stops")
    parser.add_argument("--eval-limit", type=float, default=240, help="seconds for the evaluations")
    parser.add_argument("--adopt", type=Path, help="bring the models of this folder (that machine's repo root, or "
                                                   "the parts --pack wrote) here instead of training")
    parser.add_argument("--pack", type=Path, help="after training and evaluation, write the models as parts into this folder")
    args = parser.parse_args(argv)
    bad = sorted(set(args.datasets) - set(recipes))
    if bad:
        parser.error(f"unknown datasets {bad}; valid: {', '.join(recipes)}")
    if args.adopt:
        jobs = planned(quality, recipes, args.datasets, args.device, args.models)
        if not (args.adopt / "models.tgz.00").exists():
            return adopt(args.adopt, jobs)
        with tempfile.TemporaryDirectory() as tmp:
            return adopt(unpack(args.adopt, Path(tmp)), jobs)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    jobs = [j for j in planned(quality, recipes, args.datasets, args.device, args.models) if not finished(j)]
    print(f"training {len(jobs)} models, {args.parallel} at a time, limit {args.limit:.0f} s", flush=True)
    resume = lambda j: ["--resume"] if (j["run"] / "models" / j["name"] / "checkpoint.safetensors").exists() else []
    run_all([(f"{j['dataset']}/{j['name']}", G2REC + j["args"] + resume(j) + ["--json"],
              j["run"] / "models" / j["name"] / "train.out") for j in jobs], args.limit, args.parallel)
    # per protocol, all models at once; one model's two evaluations never write its metrics.json together
    for sampled in (None, 99):
        todo = [j for j in planned(quality, recipes, args.datasets, args.device, args.models)
                if finished(j) and (j["sampled"] or not sampled) and quality.fresh_metrics(j["run"], j["name"], sampled) is None]
        run_all([(f"{j['dataset']}/{j['name']} evaluate{' sampled' if sampled else ''}",
                  G2REC + ["evaluate", str(j["run"].relative_to(ROOT)), "--model", j["name"], "--json"]
                  + (["--sampled", str(sampled)] if sampled else []),
                  j["run"] / "models" / j["name"] / f"evaluate{'-sampled' if sampled else ''}.out") for j in todo],
                args.eval_limit, args.parallel)
    if args.pack:
        for path in pack(planned(quality, recipes, args.datasets, args.device, args.models), args.pack):
            print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB)")

if __name__ == "__main__":
    main()
