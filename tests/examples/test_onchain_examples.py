"""The on-chain examples end to end, small: next_action.py on 150 real wallets of the phishing
crawl (1 epoch, dim 8), dex_pools.py on the real swap sample. Both as a user runs them."""

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from tests.conftest import PHISHING, SHARED

ROOT = Path(__file__).resolve().parents[2]
LABELS = SHARED / "ethereum_address_labels" / "etherscan_tags.csv.gz"
SWAPS = SHARED / "ethereum_dex_swaps_2021_sample" / "swaps.csv.gz"


def data_folder(tmp_path: Path, wallets: int = 150) -> Path:
    """The real label and swap files, and the transactions of the ``wallets`` busiest senders."""
    data = tmp_path / "data"
    for path in (LABELS, SWAPS):
        (data / path.parent.name).mkdir(parents=True)
        (data / path.parent.name / path.name).symlink_to(path)
    txs = pd.read_csv(PHISHING, dtype=str, keep_default_na=False)
    busiest = txs["from_address"].value_counts().index[:wallets]
    (data / PHISHING.parent.name).mkdir()
    with gzip.open(data / PHISHING.parent.name / PHISHING.name, "wt") as f:
        txs[txs["from_address"].isin(busiest)].to_csv(f, index=False)
    return data


def run(script: str, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(ROOT / "examples" / "onchain" / script), *map(str, args)],
                          check=False, capture_output=True, text=True, env=env, timeout=600)


def test_next_action_and_dex_pools_run_end_to_end(shared_data, tmp_path):
    data = data_folder(tmp_path)
    out = tmp_path / "next"
    done = run("next_action.py", "--data", data, "--out", out, "--intent", "--epochs", 1, "--dim", 8,
               "--prototypes", 4, "--codebook-size", 4, "--show", 2)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "NDCG@10" in done.stdout and "predicted:" in done.stdout and "intents:" in done.stdout
    results = json.loads((out / "results.json").read_text())
    assert set(results["test"]) == {"popularity", "knn", "sasrec-items", "g2rec-items"}
    assert all(0 <= m["ndcg@10"] <= m["recall@10"] <= 1 for m in results["test"].values())
    assert (out / "metrics.png").stat().st_size > 0 and (out / "prototypes.png").stat().st_size > 0

    dex = tmp_path / "dex"
    done = run("dex_pools.py", "--data", data, "--out", dex, "--prototypes", 4)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Prototypes" in done.stdout and (dex / "prototypes.png").stat().st_size > 0
    assert "WETH" in done.stdout  # pools are shown by their tokens' labels

    bad = run("dex_pools.py", "--data", tmp_path / "nowhere")
    assert bad.returncode == 1 and bad.stderr.strip().startswith("error:") and "no such file" in bad.stderr
