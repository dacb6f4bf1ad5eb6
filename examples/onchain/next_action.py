"""Next-action prediction on Ethereum transaction histories, with intents in words.

    python examples/onchain/next_action.py            # items = receiving contract/address
    python examples/onchain/next_action.py --intent   # items = (contract, method) intents

Wallets are the senders of the phishing-account crawl (``transactions_normalized.csv.gz``),
items what they act on. The whole g2rec pipeline runs through its public API: read + activity
filter -> build_graph -> embed (spectral) -> tokenize (prototypes, semantic IDs) -> train
(SASRec, g2rec) -> evaluate (leave-one-out, full ranking; with popularity and item-kNN) ->
recommend. Prototypes are named with the Etherscan labels of their central contracts.
Writes ``results.json``, ``metrics.png`` and ``prototypes.png`` into the run folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch
from address_labels import read_address_labels
from intents import plot_metrics, plot_prototypes, print_prototypes, prototype_names

import g2rec
from g2rec.data.onchain import ActivityFilter, filter_by_activity
from g2rec.data.prepare import PrepareConfig
from g2rec.data.readers import ReadOptions, read_log
from g2rec.data.sequences import TEST, VALID
from g2rec.errors import G2RecError
from g2rec.eval.metrics import metrics_from_ranks, paired_difference
from g2rec.eval.protocol import repeat_targets
from g2rec.pipeline.embed import embed
from g2rec.pipeline.evaluate import evaluate
from g2rec.pipeline.recommend import recommend
from g2rec.pipeline.tokenize import tokenize
from g2rec.pipeline.train import train
from g2rec.tokenize.tokens import TokenizeConfig

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
BASELINES = ("popularity", "knn")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DATA, help="folder with the Ethereum sets (default: ../shared/data)")
    p.add_argument("--out", type=Path, default=None, help="run folder (default: runs/onchain/next_action[_intent])")
    p.add_argument("--intent", action="store_true", help="items are (contract, method id) pairs")
    p.add_argument("--min-item-users", type=int, default=2, help="an item needs this many distinct wallets")
    p.add_argument("--max-user-rows", type=int, default=None, help="drop senders with more transactions (hubs)")
    p.add_argument("--prototypes", type=int, default=32, help="interest prototypes at the start")
    p.add_argument("--dim", type=int, default=64, help="model and embedding dimension")
    p.add_argument("--codebook-size", type=int, default=64, help="semantic-ID codes per level")
    p.add_argument("--max-len", type=int, default=20, help="history items the models read")
    p.add_argument("--epochs", type=int, default=150, help="most training epochs (early stopping on validation)")
    # 30, not 8: with intents SASRec's validation NDCG@10 peaks at epoch 2 (a campaign's repeats),
    # dips and passes that peak again at epoch 13; patience 8 stopped it in the dip (examples/README.md)
    p.add_argument("--patience", type=int, default=30, help="epochs without a better validation NDCG@10")
    p.add_argument("--seed", type=int, default=0, help="the two models' training seed (data, graph and prototypes stay fixed)")
    p.add_argument("--jobs", type=int, default=2, help="models trained side by side (processes of --threads each)")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--show", type=int, default=5, help="wallets whose predicted next actions are printed")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    out = args.out or ROOT / "runs" / "onchain" / ("next_action_intent" if args.intent else "next_action")
    txs = args.data / "ethereum_phishing_account_txs" / "transactions_normalized.csv.gz"
    labels = read_address_labels(args.data / "ethereum_address_labels" / "etherscan_tags.csv.gz")
    clock, seconds = time.time(), {}

    def step(name):
        seconds[name] = round(time.time() - clock - sum(seconds.values()), 1)

    log = read_log(txs, ReadOptions(format="onchain", intent=args.intent))
    log = filter_by_activity(log, ActivityFilter(max_user_rows=args.max_user_rows, min_item_users=args.min_item_users))
    built = g2rec.build_graph(log, out, prepare=PrepareConfig(min_user_len=3), overwrite=True)
    print(f"data: {built['num_users']:,} wallets, {built['num_items']:,} items, {built['num_interactions']:,} "
          f"transactions, {built['num_edges']:,} graph edges ({log.counts})")
    repeats = repeat_targets(g2rec.load_sequences(out), TEST).mean()
    print(f"test actions that repeat an item of the wallet's own history: {repeats:.1%}")
    step("build_graph")
    knn_check = embed(out, "spectral", dim=args.dim)
    step("embed")
    tok = tokenize(out, TokenizeConfig(num_prototypes=args.prototypes, codebook_size=args.codebook_size, top_items=8))
    print(f"tokenize: {tok['num_prototypes']} prototypes, modularity {tok['modularity']:.3f} "
          f"(Leiden {tok['leiden_modularity']:.3f}), semantic IDs of {tok['levels']} levels")
    step("tokenize")
    # the two networks at the same size; g2rec adds its interest profiles (added to the item
    # vectors: better on validation than interleaved in both settings, examples/README.md), the
    # profile loss and the graph prior chosen on validation
    common = {"dim": args.dim, "dropout": 0.3, "epochs": args.epochs, "threads": args.threads,
              "patience": args.patience, "max_len": args.max_len, "seed": args.seed}
    sasrec_network = {"layers": 2, "heads": 2, "item_dropout": 0.0, "loss": "ce", "batch_size": 256}  # g2rec's differ
    models = {"sasrec-items": {"model": "sasrec"},
              "g2rec-items": {"model": "g2rec", "profiles": "add", "profile_weight": 1.0, **sasrec_network}}
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=get_context("spawn")) as pool:  # one thread each
        running = {name: pool.submit(train, out, **options, **common) for name, options in models.items()}
        trained = {name: job.result() for name, job in running.items()}
    step("train")
    metrics = {name: evaluate(out, model=name)["metrics"] for name in (*BASELINES, *trained)}
    valid = {name: evaluate(out, model=name, split="valid")["metrics"] for name in (*BASELINES, *trained)}
    step("evaluate")

    print("\nNext-action prediction, test split, leave-one-out, full ranking over all items:")
    print(f"  {'model':<14}{'NDCG@10':>9}{'Recall@10':>11}{'NDCG@20':>9}{'MRR':>8}")
    for name, m in metrics.items():
        print(f"  {name:<14}{m['ndcg@10']:>9.4f}{m['recall@10']:>11.4f}{m['ndcg@20']:>9.4f}{m['mrr']:>8.4f}")
    prior = trained["g2rec-items"].get("graph_prior")
    print(f"  (g2rec graph prior chosen on validation: {prior}; item-kNN on spectral vectors, "
          f"validation NDCG@10 {knn_check.get('knn_valid', {}).get('NDCG@10', float('nan')):.4f})")
    parts = query_breakdown(out, list(metrics), labels)
    paired = paired_comparison(out, "g2rec-items", "sasrec-items")

    named = prototype_names(out, labels)
    print_prototypes(named)
    show_wallets(out, labels, named, args.show)
    step("report")

    title = f"phishing-crawl wallets, items = {'intents' if args.intent else 'receivers'}"
    plot_metrics(metrics, out / "metrics.png", f"Next action, {title}")
    plot_prototypes(out, named, out / "prototypes.png", f"Interest prototypes, {title}")
    results = {"data": {k: built[k] for k in ("num_users", "num_items", "num_interactions", "num_edges")},
               "filter": log.counts, "tokenize": tok, "train": trained, "test": metrics,
               "valid": valid, "parts": parts, "paired": paired,
               "prototypes": [{k: p[k] for k in ("prototype", "name", "mass", "described")} for p in named],
               "seconds": seconds, "args": {k: str(v) for k, v in vars(args).items()}}
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    print(f"\nseconds per step {seconds}, total {time.time() - clock:.0f} s")
    print(f"wrote {out / 'results.json'}, {out / 'metrics.png'}, {out / 'prototypes.png'}")


def query_breakdown(out: Path, models: list[str], labels) -> dict:
    """NDCG@10 of each evaluated model on parts of the validation and test queries (from the
    per-query ranks ``evaluate`` wrote): targets that repeat an item of the wallet's history vs new
    ones, and the split's most frequent target vs the rest (one campaign can be a third of a split).
    Printed, and returned with each part's share of the queries."""
    seq = g2rec.load_sequences(out)
    table = {}
    for split, split_id in (("valid", VALID), ("test", TEST)):
        repeat = repeat_targets(seq, split_id)
        targets = seq.items[seq.split == split_id]
        top = int(np.bincount(targets).argmax())
        parts = {"repeat": repeat, "new": ~repeat, "top target": targets == top, "rest": targets != top}
        table[split] = {"top_target": str(seq.item_ids[top]), "share": {k: round(float(m.mean()), 4) for k, m in parts.items()}}
        for name in models:
            ranks = np.load(out / "models" / name / f"ranks-{split}-full-ranking.npy")
            table[split][name] = {k: round(metrics_from_ranks(ranks[m])["NDCG@10"], 4) if m.any() else None
                                  for k, m in parts.items()}
    print("\nNDCG@10 on parts of the queries (share of the split's queries in brackets):")
    for split, part in table.items():
        print(f"  {split}: top target {labels.describe([part['top_target']])[0]}")
        print(f"    {'model':<14}" + "".join(f"{f'{k} ({v:.0%})':>18}" for k, v in part["share"].items()))
        for name in models:
            print(f"    {name:<14}" + "".join(f"{_or_nan(part[name][k]):>18.4f}" for k in part["share"]))
    return table


def paired_comparison(out: Path, a: str, b: str) -> dict:
    """``a`` minus ``b`` in NDCG@10 on the same queries of each split, with the paired standard
    error (``g2rec.eval.metrics.paired_difference``); printed and returned."""
    print(f"\nNDCG@10 of {a} minus {b}, per query (paired standard error):")
    table = {}
    for split in ("valid", "test"):
        ranks = [np.load(out / "models" / name / f"ranks-{split}-full-ranking.npy") for name in (a, b)]
        table[split] = diff = paired_difference(*ranks)
        print(f"  {split:<6}{diff['difference']:+.4f} +- {diff['standard_error']:.4f}  ({a} better on "
              f"{diff['a_better']:,} queries, {b} on {diff['b_better']:,}, of {diff['queries']:,})")
    return table


def _or_nan(value: float | None) -> float:
    return float("nan") if value is None else value


def show_wallets(out: Path, labels, named: list[dict], count: int) -> None:
    """``count`` wallets (seeded draw among those with >= 5 actions): their last actions before
    the test action, g2rec's top 5 predictions for it, the real one, and their interests."""
    seq = g2rec.load_sequences(out)
    rng = np.random.default_rng(0)
    users = rng.choice(np.flatnonzero(seq.lengths >= 5), size=min(count, int((seq.lengths >= 5).sum())), replace=False)
    wallets = [str(seq.user_ids[u]) for u in users]
    recs = recommend(out, wallets, model="g2rec-items", k=5, upto="test")
    test_pos = np.flatnonzero(seq.split == TEST)
    actual = dict(zip(seq.users[test_pos], seq.item_ids[seq.items[test_pos]]))
    print("\nWallets, their last actions, g2rec's predicted next actions (before the test action) and intents:")
    for u, rec in zip(users, recs):
        start, stop = seq.offsets[u], seq.offsets[u + 1]
        last = [str(i) for i in seq.item_ids[seq.items[max(start, stop - 4): stop - 1]]]
        truth = str(actual[u])
        hit = rec["items"].index(truth) + 1 if truth in rec["items"] else None
        print(f"  wallet {rec['user']}  ({stop - start} actions)")
        print(f"    last:      {' -> '.join(labels.describe(last))}")
        print(f"    predicted: {' | '.join(labels.describe(rec['items']))}")
        print(f"    actual:    {labels.describe([truth])[0]}  ({f'rank {hit}' if hit else 'not in top 5'})")
        print("    intents:   " + ", ".join(f"{named[i['prototype']]['name']} ({i['weight']:.2f})" for i in rec["interests"]))


if __name__ == "__main__":
    try:
        main()
    except G2RecError as e:
        sys.exit(f"error: {e}")
