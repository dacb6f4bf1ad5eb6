"""Shared fixtures: paths into ../shared/data (real public datasets, never copied into the repo)."""

import os
from pathlib import Path

import pytest
import torch

from g2rec import build_graph, tokenize, train

os.environ.setdefault("OMP_NUM_THREADS", "2")

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if not SHARED.exists():  # a clone elsewhere: look beside the working directory
    SHARED = Path.cwd().parent / "shared" / "data"

BEAUTY = SHARED / "amazon2014_beauty" / "Beauty.txt.gz"
BEAUTY_TIMES = SHARED / "amazon2014_beauty" / "Beauty_time_intervals.txt.gz"
TOYS = SHARED / "amazon2014_toys" / "Toys_and_Games.txt.gz"
SCIENTIFIC = SHARED / "amazon2018_scientific" / "Scientific.inter.json.gz"
MOVIELENS = SHARED / "movielens_100k" / "u.data"
PHISHING = SHARED / "ethereum_phishing_account_txs" / "transactions_normalized.csv.gz"
TX2017 = SHARED / "ethereum_tx_sample_2017" / "transactions_03300000_03399999_small.csv.gz"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.exists():
        pytest.fail(f"shared datasets not found at {SHARED}: CI runs with ../shared beside the clone")
    return SHARED


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, shared_data):
    """A small trained run of MovieLens-100K (tokenized, so recommendations carry interests)."""
    torch.set_num_threads(1)
    path = tmp_path_factory.mktemp("served") / "run"
    build_graph(MOVIELENS, path)
    tokenize(path, num_prototypes=16, iterations=40, levels=2, codebook_size=16, kmeans_iterations=5, leiden=False)
    train(path, "sasrec", epochs=1, max_len=10, dim=16, threads=1, graph_prior=False)
    return path
