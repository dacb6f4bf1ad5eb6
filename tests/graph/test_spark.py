"""build-graph on Spark (local[2]): the local builder's graph, array by array, for every builder
and weighting, on real logs; the run folders of both engines hold the same arrays."""

import numpy as np
import pytest

from g2rec import build_graph
from g2rec.errors import ConfigError
from g2rec.graph.build import GraphConfig, build_coengagement_graph
from g2rec.graph.spark import build_graph_on_spark, spark_session
from g2rec.pipeline.runfolder import RunFolder
from tests.conftest import MOVIELENS, PHISHING

CONFIGS = [GraphConfig(), GraphConfig(weight="decay"), GraphConfig(weight="cosine", min_count=2, top_k=20),
           GraphConfig(builder="window", weight="pmi"), GraphConfig(builder="window", window=3, weight="decay"),
           GraphConfig(pairs_per_user=50, seed=3)]


@pytest.fixture(scope="module")
def spark():
    session = spark_session("local[2]")
    yield session
    session.stop()


def same_graph(a, b) -> bool:
    return a.dtype == b.dtype == np.float32 and a.shape == b.shape and all(
        np.array_equal(getattr(a, k), getattr(b, k)) for k in ("indptr", "indices", "data"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory, shared_data):
    folder = tmp_path_factory.mktemp("spark")
    out = {}
    for name, log in (("phishing", PHISHING),):
        build_graph(log, folder / name)
        out[name] = RunFolder(folder / name).sequences()
    return out


def test_every_builder_and_weighting_gives_the_local_graph(runs, spark):
    seq = runs["phishing"]  # MovieLens-100K's default graph: the run-folder test below
    for config in CONFIGS:
        local, local_info = build_coengagement_graph(seq, config)
        distributed, info = build_graph_on_spark(seq, config, spark=spark)
        assert same_graph(local, distributed), config
        assert local.nnz > 0 and info["pairs_emitted"] == local_info["pairs_emitted"] and info["spark_tasks"] > 1


def test_build_graph_engine_spark_writes_the_same_run_folder(tmp_path, shared_data, spark):
    build_graph(MOVIELENS, tmp_path / "local")
    build_graph(MOVIELENS, tmp_path / "spark", engine="spark", spark_master="local[2]")
    a, b = RunFolder(tmp_path / "local"), RunFolder(tmp_path / "spark")
    assert same_graph(a.graph(), b.graph())
    sa, sb = a.sequences(), b.sequences()
    for field in ("user_ids", "item_ids", "offsets", "items", "times", "split"):
        assert np.array_equal(getattr(sa, field), getattr(sb, field)), field
    assert b.manifest["stages"]["build-graph"]["params"]["engine"] == "spark"
    with pytest.raises(ConfigError, match="engine='ray' is not one of: local, spark"):
        build_graph(MOVIELENS, tmp_path / "x", engine="ray")
    with pytest.raises(ConfigError, match="spark_master"):
        build_graph(MOVIELENS, tmp_path / "x", spark_master="local[2]")
