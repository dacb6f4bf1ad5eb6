"""Run the eSASRec paper's SASRec+SS (RecTools) on an S3Rec-format file, beside g2rec.

The peer is the published implementation: RecTools' ``SASRecModel`` with the trainer and
validation of the paper's repository (blondered/transformer_benchmark), on the same file and
split g2rec reads. It is run, not copied: RecTools is installed into its own environment and
the repository's ``src`` package is put on ``PYTHONPATH``::

    python -m venv --system-site-packages /tmp/peerenv
    /tmp/peerenv/bin/pip install "rectools[torch]==0.13.0"
    git clone <fetch of blondered/transformer_benchmark> /tmp/peer
    PYTHONPATH=/tmp/peer /tmp/peerenv/bin/python benchmarks/peer_rectools.py \
        ../shared/data/amazon2014_beauty/Beauty.txt.gz --dim 256 -o benchmarks/results/peer_beauty_d256.json

What it does, as the paper's ``s3_vanilla.yaml`` / ``s3_*_ligr.yaml`` configs do:

* reads ``user item item ...`` lines, each item's time its position in the line;
* holds each user's last interaction out as test (``LastNSplitter(n=1)``: cold users and
  items and already-seen pairs filtered out of the test);
* fits on the rest, its last interaction per user held out as validation, checkpoint and early
  stopping on validation Recall@10 with viewed items filtered (their ``RecallCallback``);
* recommends 10 items per test user with viewed items filtered, and scores Recall@10 and
  NDCG@10 with RecTools' metrics.

It writes the metrics and each test user's rank of the held-out item in the top 10 (0 = not in
it), keyed by the file's user id, so that a g2rec model's ranks pair with it user by user.
Runs on CPU (the repository's trainer asks for a GPU; the accelerator is switched to CPU).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time
from pathlib import Path


def read_s3(path: Path):
    import pandas as pd
    from rectools import Columns

    opener = gzip.open if path.suffix == ".gz" else open
    users, items, times = [], [], []
    with opener(path, "rt") as f:
        for line in f:
            user, *seq = line.split()
            users += [int(user)] * len(seq)
            items += [int(i) for i in seq]
            times += list(range(1, len(seq) + 1))
    return pd.DataFrame({Columns.User: users, Columns.Item: items, Columns.Datetime: times, Columns.Weight: 1})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", type=Path, help="S3Rec-format file (user item item ...), gzipped or not")
    ap.add_argument("-o", "--out", type=Path, required=True, help="JSON to write")
    ap.add_argument("--dim", type=int, default=256, help="n_factors (the paper's configs: 256)")
    ap.add_argument("--ligr", type=int, default=0, help="LiGR layers with this ff multiplier (eSASRec); 0 = SASRec")
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--patience", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=32, help="the repository's setup_deterministic default")
    args = ap.parse_args()

    import pandas as pd
    import torch
    from rectools import Columns
    from rectools.dataset import Dataset, Interactions
    from rectools.metrics import NDCG, Recall, calc_metrics
    from rectools.models import model_from_params

    import src.models.transformers.trainer as peer_trainer
    from src.evaluation.splitter import LastNSplitter
    from src.utils import setup_deterministic

    torch.set_num_threads(args.threads)
    setup_deterministic(args.seed)
    peer_trainer.ACCELERATOR, peer_trainer.DEVICES = "cpu", 1
    peer_trainer.SHOW_PROGRESS = False
    peer_trainer.PATIENCE, peer_trainer.MAX_EPOCHS = args.patience, args.epochs

    df = read_s3(args.input)
    splitter = LastNSplitter(n=1, n_splits=1, filter_cold_users=True, filter_cold_items=True, filter_already_seen=True)
    interactions = Interactions(df)
    train_ids, test_ids, _ = next(iter(splitter.split(interactions)))
    train_df, test_df = df.iloc[train_ids], df.iloc[test_ids]
    dataset = Dataset.construct(train_df)

    params = {"cls": "SASRecModel", "verbose": 1, "deterministic": True,
              "get_val_mask_func": "src.models.transformers.trainer.get_val_mask_func_all",
              "get_trainer_func": "src.models.transformers.trainer.get_trainer",  # reads MAX_EPOCHS and PATIENCE
              "n_factors": args.dim, "session_max_len": 50, "n_blocks": 1, "n_heads": 1, "dropout_rate": 0.2,
              "loss": "sampled_softmax", "n_negatives": 256, "lr": 1e-3, "batch_size": 128}
    if args.ligr:
        params.update({"transformer_layers_type": "src.models.transformers.transformer_layers.ligr.LiGRLayers",
                       "transformer_layers_kwargs": {"ff_factors_multiplier": args.ligr}, "use_key_padding_mask": True})
    model = model_from_params(params)
    start = time.perf_counter()
    model.fit(dataset)
    fit_seconds = time.perf_counter() - start

    test_users = test_df[Columns.User].unique()
    reco = model.recommend(users=test_users, dataset=dataset, k=10, filter_viewed=True)
    metrics = calc_metrics({"recall@10": Recall(k=10), "ndcg@10": NDCG(k=10, divide_by_achievable=True)},
                           reco=reco, interactions=test_df, prev_interactions=train_df)
    hit = reco.merge(test_df[[Columns.User, Columns.Item]], on=[Columns.User, Columns.Item])
    ranks = dict.fromkeys((int(u) for u in test_users), 0)
    ranks.update({int(u): int(r) for u, r in zip(hit[Columns.User], hit[Columns.Rank])})
    log = Path(peer_trainer.LOGGER.log_dir) / "metrics.csv"
    curve = pd.read_csv(log).dropna(subset=["recall@10"]) if log.exists() else None
    out = {"peer": "RecTools 0.13.0 SASRecModel, blondered/transformer_benchmark trainer",
           "input": str(args.input), "params": {k: v for k, v in params.items() if k != "cls"},
           "seed": args.seed, "threads": args.threads,
           "metrics": {k: round(float(v), 5) for k, v in metrics.items()}, "test_users": len(test_users),
           "fit_seconds": round(fit_seconds, 1),
           "epochs_run": int(curve["epoch"].max()) + 1 if curve is not None else None,
           "best_epoch": int(curve.loc[curve["recall@10"].idxmax(), "epoch"]) + 1 if curve is not None else None,
           "best_valid_recall@10": round(float(curve["recall@10"].max()), 5) if curve is not None else None,
           "ranks": ranks}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(out))
    os.replace(tmp, args.out)
    print(json.dumps({k: v for k, v in out.items() if k != "ranks"}, indent=1))


if __name__ == "__main__":
    main()
