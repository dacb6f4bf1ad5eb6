"""k-means with faiss and without it: the torch fallback converges, is seeded, and tokenize runs on it."""

import numpy as np
import pytest

from g2rec import build_graph, tokenize
from g2rec.tokenize import kmeans as km
from tests.conftest import MOVIELENS


def blobs(seed=0, per=200, k=5, d=8):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 10, (k, d))
    return (centres[:, None] + rng.normal(0, 0.5, (k, per, d))).reshape(-1, d).astype(np.float32), np.repeat(np.arange(k), per)


def test_lloyd_finds_separated_blobs_and_is_seeded():
    x, truth = blobs()
    best = min((km.lloyd(x, 5, 20, seed) for seed in range(5)),
               key=lambda r: float(((x - r[0][r[1]]) ** 2).sum()))  # restarts: any k-means can meet a bad start
    centroids, labels = best
    pairs = {(t, lab) for t, lab in zip(truth, labels)}
    assert len(pairs) == 5 and len({lab for _, lab in pairs}) == 5  # one label per blob
    assert np.array_equal(labels, ((x[:, None] - centroids[None]) ** 2).sum(2).argmin(1))  # labels: the nearest centroid
    again = km.lloyd(x, 5, 20, 0)
    assert all(np.array_equal(a, b) for a, b in zip(km.lloyd(x, 5, 20, 0), again))
    spherical, _ = km.lloyd(x, 5, 5, 0, spherical=True)
    np.testing.assert_allclose(np.linalg.norm(spherical, axis=1), 1, atol=1e-5)


def test_tokenize_runs_without_faiss(monkeypatch, tmp_path, shared_data):
    monkeypatch.setattr(km, "optional_faiss", lambda: None)
    build_graph(MOVIELENS, tmp_path / "run")
    summary = tokenize(tmp_path / "run", num_prototypes=8, iterations=20, leiden=False, levels=2, codebook_size=16)
    assert summary["unresolved_collisions"] == 0 and summary["num_prototypes"] > 1


@pytest.mark.parametrize("spherical", [False, True])
def test_with_faiss_the_interface_is_the_same(spherical):
    pytest.importorskip("faiss")
    x, _ = blobs(1)
    centroids, labels = km.kmeans(x, 5, 10, 0, spherical)
    assert centroids.shape == (5, 8) and centroids.dtype == np.float32 and labels.shape == (1000,) and labels.dtype == np.int64
