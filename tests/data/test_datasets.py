"""Named datasets: verified local copies (offline, on ../shared/data), damaged copies refused, and
build-graph reading a dataset by name."""

import gzip
import json

import pytest

from g2rec import build_graph
from g2rec.data.datasets import DATASETS, content_sha256, dataset_path, list_datasets
from g2rec.errors import DataError, G2RecError


@pytest.fixture
def offline_shared(monkeypatch, shared_data, tmp_path):
    monkeypatch.setenv("G2REC_DATA", str(shared_data))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no cached copy, and nothing is written there
    monkeypatch.chdir(tmp_path)


def test_every_named_dataset_is_found_and_verified_offline(offline_shared, shared_data):
    rows = {r["name"]: r for r in list_datasets()}
    assert set(rows) == {"beauty", "toys", "scientific", "ml-100k"}
    for name, dataset in DATASETS.items():
        path = dataset_path(name, download=False)
        assert path.is_relative_to(shared_data) and content_sha256(path) == dataset.sha256
        assert rows[name]["local"] == str(path) and dataset.url.startswith("https://raw.githubusercontent.com/")


def test_a_damaged_copy_is_refused_and_an_absent_one_named(monkeypatch, tmp_path):
    folder = tmp_path / "data"
    (folder / "movielens_100k").mkdir(parents=True)
    with gzip.open(folder / "movielens_100k" / "u.data.gz", "wt") as f:
        f.write("1\t2\t3\t4\n")
    monkeypatch.setenv("G2REC_DATA", str(folder))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match="checksum differs from ml-100k"):
        dataset_path("ml-100k", download=False)
    with pytest.raises(G2RecError, match="dataset 'toys' is not here"):
        dataset_path("toys", download=False)
    with pytest.raises(G2RecError, match="no dataset named 'beuty'"):
        dataset_path("beuty")


def test_build_graph_reads_a_dataset_by_name(offline_shared, tmp_path):
    summary = build_graph("scientific", tmp_path / "run")
    assert summary["num_users"] == 8317 and summary["num_items"] == 4344
    recorded = json.loads((tmp_path / "run" / "manifest.json").read_text())["stages"]["build-graph"]["input"]
    assert recorded["dataset"] == "scientific" and recorded["format"] == "lcrec"
