"""Diagnostic: how much a trained model's ranking rests on the most recent history item.

For each model, full-ranking NDCG@10 and Recall@10 of four query sets of one run folder:

* ``valid``: the validation item after the training history (the protocol);
* ``valid, last dropped``: the same target, the last training item removed from the history;
* ``test``: the test item after training + validation history (the protocol);
* ``test, last dropped``: the same target without the validation item in the history.

A model that follows item-to-item transitions (SASRec) loses much of its score when the last
item goes; one that predicts from the history as a whole loses little. Written for the Beauty
SID heads' larger drop from validation to test (benchmarks/README.md).

Usage::

    python benchmarks/recency.py --run runs/beauty --models sasrec-items-gpu g2rec-sids --threads 2
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from g2rec.data.sequences import TEST, VALID, Sequences
from g2rec.eval.protocol import evaluate_ranking
from g2rec.eval.scorers import make_scorer
from g2rec.pipeline.models import load_trained
from g2rec.pipeline.runfolder import RunFolder


def without_item_before(seq: Sequences, split: int) -> Sequences:
    """``seq`` without the interaction just before each ``split`` interaction of the same user
    (same users and targets)."""
    queries = np.flatnonzero(seq.split == split)
    before = queries - 1
    keep = np.ones(seq.num_interactions, dtype=bool)
    keep[before[before >= seq.offsets[seq.users[queries]]]] = False  # never another user's last item
    return seq.subset(keep)


def recency_rows(run: RunFolder, model: str) -> list[dict]:
    """``[{model, queries, ndcg10, recall10, users}]`` for the four query sets above."""
    seq = run.sequences()
    net, trie, record = load_trained(run, model)
    scorer = make_scorer(net, trie, record.get("beam", 20))
    rows = []
    for label, queries, split in (("valid", seq, VALID), ("valid, last dropped", without_item_before(seq, VALID), VALID),
                                  ("test", seq, TEST), ("test, last dropped", without_item_before(seq, TEST), TEST)):
        m = evaluate_ranking(scorer, queries, split, max_len=net.config.max_len)
        rows.append({"model": model, "queries": label, "ndcg10": round(m["NDCG@10"], 4),
                     "recall10": round(m["Recall@10"], 4), "users": m["num_users"]})
        print(f"{model:<24}{label:<22}{rows[-1]['ndcg10']:>8.4f}{rows[-1]['recall10']:>8.4f}", flush=True)
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", required=True, help="run folder with the trained models")
    parser.add_argument("--models", nargs="+", required=True, help="trained models (models/NAME) of the run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", help="write the rows as JSON here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"{'model':<24}{'queries':<22}{'N@10':>8}{'R@10':>8}")
    rows = [row for model in args.models for row in recency_rows(RunFolder(args.run), model)]
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
