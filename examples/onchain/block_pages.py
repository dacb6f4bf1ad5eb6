"""Next action with block pages: the transactions a wallet sends in one block are one page.

    python examples/onchain/block_pages.py

Wallets and items as in ``next_action.py`` (senders of the phishing-account crawl, the
contracts/addresses they act on). A block's transactions share its timestamp, so
``page_gap=0`` makes each (wallet, block) a page; the split leaves out each wallet's last
block (``loo-page``). The same SASRec network is trained point-wise (the next transaction is
the target) and page-wise (GenRec: every transaction of the next block is a target of the
history before it), and both are evaluated per transaction and per block (PageRecall@10).
Writes ``results.json`` into the run folder.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import torch

import g2rec
from g2rec.data.onchain import ActivityFilter, filter_by_activity
from g2rec.data.prepare import PrepareConfig
from g2rec.data.readers import ReadOptions, read_log
from g2rec.errors import G2RecError
from g2rec.pipeline.evaluate import evaluate
from g2rec.pipeline.train import train

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
SHOWN = ("recall@10", "ndcg@10", "pagerecall@10", "pagehr@10")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DATA, help="folder with the Ethereum sets (default: ../shared/data)")
    p.add_argument("--out", type=Path, default=ROOT / "runs" / "onchain" / "block_pages", help="run folder")
    p.add_argument("--epochs", type=int, default=200, help="most training epochs (early stopping on validation)")
    p.add_argument("--patience", type=int, default=20, help="epochs without a better validation NDCG@10")
    p.add_argument("--dim", type=int, default=64, help="model dimension")
    p.add_argument("--max-len", type=int, default=20, help="history items the models read")
    p.add_argument("--seed", type=int, default=0, help="training seed")
    p.add_argument("--jobs", type=int, default=2, help="models trained side by side (one thread each)")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    txs = args.data / "ethereum_phishing_account_txs" / "transactions_normalized.csv.gz"
    log = filter_by_activity(read_log(txs, ReadOptions(format="onchain")), ActivityFilter(min_item_users=2))
    built = g2rec.build_graph(log, args.out, prepare=PrepareConfig(split="loo-page", page_gap=0), overwrite=True)
    data = {k: built[k] for k in ("num_users", "num_items", "num_interactions", "pages", "mean_page_size",
                                  "max_page_size", "interactions_in_multi_item_pages", "test_interactions")}
    print(f"data: {data}")
    common = {"model": "sasrec", "dim": args.dim, "max_len": args.max_len, "epochs": args.epochs,
              "patience": args.patience, "seed": args.seed, "threads": 1}
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=get_context("spawn")) as pool:
        jobs = {ntp: pool.submit(train, args.out, name=f"sasrec-{ntp}", ntp=ntp, **common) for ntp in ("point", "page")}
        trained = {ntp: job.result() for ntp, job in jobs.items()}
    test = {ntp: evaluate(args.out, model=f"sasrec-{ntp}")["metrics"] for ntp in trained}
    print("\nNext action, test = each wallet's last block, full ranking:")
    print(f"  {'training':<10}" + "".join(f"{k:>15}" for k in SHOWN))
    for ntp, m in test.items():
        print(f"  {ntp:<10}" + "".join(f"{m[k]:>15.4f}" for k in SHOWN))
    results = {"data": data, "train": trained, "test": test, "args": {k: str(v) for k, v in vars(args).items()}}
    (args.out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    print(f"wrote {args.out / 'results.json'}")


if __name__ == "__main__":
    try:
        main()
    except G2RecError as e:
        sys.exit(f"error: {e}")
