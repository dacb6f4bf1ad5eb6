"""A small trained run of MovieLens-100K (tokenized, so recommendations carry interests)."""

import pytest
import torch

from g2rec import build_graph, tokenize, train
from tests.conftest import MOVIELENS


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, shared_data):
    torch.set_num_threads(1)
    path = tmp_path_factory.mktemp("served") / "run"
    build_graph(MOVIELENS, path)
    tokenize(path, num_prototypes=16, iterations=40, levels=2, codebook_size=16, kmeans_iterations=5, leiden=False)
    train(path, "sasrec", epochs=1, max_len=10, dim=16, threads=1, graph_prior=False)
    return path
