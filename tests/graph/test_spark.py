"""build-graph on Spark (local[2]): the local builder's graph, array by array, for every builder
and weighting, on real logs; the run folders of both engines hold the same arrays, the log read
by Spark from a URL or a glob."""

import numpy as np
import pandas as pd
import pytest

from g2rec import build_graph
from g2rec.data.spark_reader import read_prepared_on_spark, spark_session
from g2rec.errors import ConfigError, DataError
from g2rec.graph.build import GraphConfig, build_coengagement_graph
from g2rec.graph.spark import build_graph_on_spark
from g2rec.pipeline.runfolder import RunFolder
from tests.conftest import MOVIELENS, PHISHING

CONFIGS = [GraphConfig(), GraphConfig(weight="decay", pairs_per_user=50, seed=3),
           GraphConfig(weight="cosine", min_count=2, top_k=20), GraphConfig(builder="window", weight="pmi"),
           GraphConfig(builder="window", window=3, weight="decay")]


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


def test_spark_reads_tables_from_any_path_into_the_local_run_folder(tmp_path, shared_data, spark):
    """Spark reads the log (a file:// URL, a glob over a folder of part files); id maps, order,
    splits and graph are the local engine's."""
    ml = pd.read_csv(MOVIELENS, sep="\t", names=["user_id", "item_id", "rating", "timestamp"])
    ml["user_id"] = "u" + ml["user_id"].astype(str)
    ml.to_csv(tmp_path / "ml.csv", index=False)
    (tmp_path / "parts").mkdir()
    ml.to_parquet(tmp_path / "parts" / "part-0.parquet", index=False)
    build_graph(f"file://{tmp_path}/ml.csv", tmp_path / "csv", engine="spark", spark_master="local[2]")
    build_graph(f"{tmp_path}/parts/*.parquet", tmp_path / "glob", engine="spark", spark_master="local[2]")
    for name, local in (("csv", tmp_path / "ml.csv"), ("glob", tmp_path / "parts" / "part-0.parquet")):
        build_graph(local, tmp_path / f"local-{name}")
        expected, run = RunFolder(tmp_path / f"local-{name}"), RunFolder(tmp_path / name)
        assert same_graph(expected.graph(), run.graph()), name
        for field in ("user_ids", "item_ids", "offsets", "items", "times", "split"):
            assert np.array_equal(getattr(expected.sequences(), field), getattr(run.sequences(), field)), (name, field)
    assert run.manifest["stages"]["build-graph"]["input"]["format"] == "parquet"


def test_spark_read_errors_are_one_line(tmp_path, spark):
    (tmp_path / "logs").mkdir()
    with pytest.raises(ConfigError, match=r"cannot tell the format of .*logs: name it with --format"):
        read_prepared_on_spark(spark, f"file://{tmp_path}/logs")
    (tmp_path / "bad.jsonl").write_text('{"user_id": 1, "item_id": 2, "timestamp": 3}\n{"user_id": 1, "item_id"\n')
    with pytest.raises(DataError, match=r"bad.jsonl: Spark cannot read it as jsonl: .*") as error:
        read_prepared_on_spark(spark, f"file://{tmp_path}/bad.jsonl")
    assert "\n" not in str(error.value)
    with pytest.raises(DataError, match=r"missing.csv: Spark cannot read it as csv: .*"):
        read_prepared_on_spark(spark, f"file://{tmp_path}/missing.csv")
