"""GenRec on public data: page-wise against point-wise NTP, and GRPO-SR against its SFT model.

    python benchmarks/genrec.py --dataset ml-100k --run runs/ml-page
    python benchmarks/genrec.py --dataset beauty --run runs/beauty-page

Runs the CLI commands below in order, each skipped when its result is already in the run
folder (so a stopped run continues), then writes ``benchmarks/results/genrec_DATASET.json``
and ``.md`` from the run folder's metrics:

1. ``build-graph`` with pages read off the times (``--page-gap 0``: the same timestamp; Beauty's
   times are whole days) and the leave-one-page-out split;
2. ``embed --method sasrec`` (the vectors the plain semantic IDs quantize);
3. GenRec's network, ``--model tiger-mlp`` (decoder-only, token-merged history, the target's
   full codes), trained point-wise and page-wise (``--ntp``); ``sasrec`` the same two ways (the
   point-wise one is the reward model);
4. ``align`` of the page-wise model: GRPO-SR, GRPO (``--nll-weight 0``) and both without the
   gate;
5. ``evaluate``: full ranking (per-item Recall/NDCG@10, per-page PageRecall/PageHR@10) and
   ``--reward sasrec-items`` (Reward@1/10, HR@10/50, HaR over beam 50 without the trie).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from g2rec.eval.metrics import paired_difference  # noqa: E402

SOURCES = {"ml-100k": "ml-100k", "beauty": str(ROOT.parent / "shared" / "data" / "amazon2014_beauty" /
                                                "Beauty_time_intervals.txt.gz")}
PATIENCE = {"ml-100k": 20, "beauty": 15}
ALIGNED = {"genrec-page-grpo-sr": [], "genrec-page-grpo": ["--nll-weight", "0"],
           "genrec-page-grpo-sr-nogate": ["--no-gate"], "genrec-page-grpo-nogate": ["--nll-weight", "0", "--no-gate"]}


def g2rec(*args: str) -> list[str]:
    return [sys.executable, "-m", "g2rec_cli.main", *args]


def step(command: list[str], done: bool, log: list) -> None:
    shown = "g2rec " + " ".join(command[3:])
    log.append(shown)
    if done:
        print(f"[done] {shown}", flush=True)
        return
    print(f"[run] {shown}", flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def metrics(run: Path, model: str, key: str) -> dict | None:
    path = run / "models" / model / "metrics.json"
    return json.loads(path.read_text()).get(key, {}).get("metrics") if path.exists() else None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", choices=sorted(SOURCES), required=True)
    p.add_argument("--run", type=Path, required=True, help="run folder (made if missing)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=HERE / "results")
    args = p.parse_args()
    run, threads, log = args.run, str(args.threads), []
    models = run / "models"
    step(g2rec("build-graph", SOURCES[args.dataset], "-o", str(run), "--split", "loo-page", "--page-gap", "0"),
         (run / "manifest.json").exists(), log)
    step(g2rec("embed", str(run), "--method", "sasrec"), (run / "embeddings" / "sasrec.npy").exists(), log)
    train = ["--epochs", "200", "--patience", str(PATIENCE[args.dataset]), "--threads", threads]
    for ntp in ("point", "page"):
        step(g2rec("train", str(run), "--model", "tiger-mlp", "--ntp", ntp, *train, "--name", f"genrec-{ntp}"),
             (models / f"genrec-{ntp}" / "best.safetensors").exists(), log)
    step(g2rec("train", str(run), "--model", "sasrec", *train), (models / "sasrec-items" / "best.safetensors").exists(), log)
    step(g2rec("train", str(run), "--model", "sasrec", "--ntp", "page", *train, "--name", "sasrec-page"),
         (models / "sasrec-page" / "best.safetensors").exists(), log)
    for name, extra in ALIGNED.items():
        step(g2rec("align", str(run), "--model", "genrec-page", "--reward", "sasrec-items", *extra, "--threads", threads),
             (models / name / "best.safetensors").exists(), log)
    ranking = {}
    for name in ("sasrec-items", "sasrec-page", "genrec-point", "genrec-page"):
        step(g2rec("evaluate", str(run), "--model", name), metrics(run, name, "test-full-ranking") is not None, log)
        ranking[name] = metrics(run, name, "test-full-ranking")
    rated = {}
    for name in ("genrec-page", *ALIGNED):
        step(g2rec("evaluate", str(run), "--model", name, "--reward", "sasrec-items"),
             metrics(run, name, "test-reward-sasrec-items") is not None, log)
        rated[name] = metrics(run, name, "test-reward-sasrec-items")
    ranks = {n: np.load(models / n / "ranks-test-full-ranking.npy") for n in ranking}
    paired = {"genrec": paired_difference(ranks["genrec-page"], ranks["genrec-point"]),
              "sasrec": paired_difference(ranks["sasrec-page"], ranks["sasrec-items"])}
    result = {"dataset": args.dataset, "commands": log, "ranking": ranking, "paired_page_minus_point": paired,
              "alignment": rated, "build": json.loads((run / "manifest.json").read_text())["stages"]["build-graph"]["summary"]}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"genrec_{args.dataset}.json").write_text(json.dumps(result, indent=1))
    (args.out / f"genrec_{args.dataset}.md").write_text(table(result))
    print(table(result))


def table(result: dict) -> str:
    """The two markdown tables of a result."""
    lines = ["| SFT (test) | HR@10 (page) | PageRecall@10 | Recall@10 (item) | NDCG@10 (item) |", "|---|---:|---:|---:|---:|"]
    for name, m in result["ranking"].items():
        lines.append(f"| {name} | {m['pagehr@10']:.4f} | {m['pagerecall@10']:.4f} | {m['recall@10']:.4f} | {m['ndcg@10']:.4f} |")
    lines.append("")
    for network, d in result["paired_page_minus_point"].items():
        lines.append(f"NDCG@10 page-wise minus point-wise, {network}: {d['difference']:+.4f} (paired standard error "
                     f"{d['standard_error']:.4f}, {d['queries']} queries)  ")
    lines += ["", "| alignment (test) | Reward@1 | Reward@10 | HR@10 | HR@50 | HaR |", "|---|---:|---:|---:|---:|---:|"]
    for name, m in result["alignment"].items():
        lines.append(f"| {name} | {m['reward@1']:.5f} | {m['reward@10']:.5f} | {m['hr@10']:.4f} | {m['hr@50']:.4f} | "
                     f"{m['har']:.2%} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
