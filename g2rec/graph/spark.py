"""The co-engagement graph's map and reduce as PySpark jobs (``build-graph --engine spark``).

The map is the local builder's own: each Spark task takes a run of users and calls
:func:`.build.chunk_sums` (a pure function of those users' sequences, their indices and the
seed: their pairs, summed per pair key as the local builder sums a chunk). The reduce is
Spark's: ``groupBy(key).sum`` over every task's partial sums, shuffled across the cluster.
The driver collects one row per edge (the graph's size, not the pairs') and finishes the graph
with :func:`.build.finish_graph`, as the local builder does. Spark adds a pair's partial sums
in another order than the local builder, which can change a float64 sum in its last bits;
``tests/graph/test_spark.py`` checks that the float32 graph is the local builder's, array by
array, for every builder and weighting on real logs.

The log itself is read by Spark too (:mod:`g2rec.data.spark_reader`), from any path Spark reads;
its id maps and splits are computed on the driver from the partitions as they stream in,
by the local engine's own code, at ~16 bytes a row.

PySpark is an extra (``pip install -e ".[spark]"``; Spark needs Java 17).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..data.sequences import TRAIN, Sequences
from ..data.spark_reader import spark_session
from .build import GraphConfig, MapPlan, chunk_sums, finish_graph, user_chunks

EMITTED = -1  # the key of the rows that carry each task's count of emitted pairs


def build_graph_on_spark(seq: Sequences, config: GraphConfig | None = None, master: str | None = None,
                         spark=None):
    """:func:`.build.build_coengagement_graph`'s graph and info, its pairs mapped and reduced on
    Spark (``master``, or the given ``spark`` session).

    The users are cut into about four runs per Spark core (each at most ``config.chunk_pairs``
    pairs); each run's partial sums go into the shuffle as Arrow batches.
    """
    config = config or GraphConfig()
    spark = spark or spark_session(master)
    train = seq.subset(seq.split == TRAIN)
    plan = MapPlan.of(train, config)
    tasks = 4 * spark.sparkContext.defaultParallelism
    budget = int(min(config.chunk_pairs, max(plan.cost.sum() // tasks, 1)))
    chunks = [(int(a), int(b)) for a, b in user_chunks(plan.cost, budget)]
    shared = spark.sparkContext.broadcast((train, plan, config))
    decay = config.weight == "decay"

    def partial_sums(batches):
        train, plan, config = shared.value
        for batch in batches:
            for start, end in zip(batch.column("start").to_pylist(), batch.column("end").to_pylist()):
                keys, count, decayed, emitted = chunk_sums(train, plan, config, start, end)
                keys, count = np.r_[EMITTED, keys], np.r_[float(emitted), count]
                columns = [pa.array(keys), pa.array(count)]
                if decayed is not None:
                    columns.append(pa.array(np.r_[0.0, decayed]))
                yield pa.RecordBatch.from_arrays(columns, names=["key", "count", "decay"][:len(columns)])

    schema = "key long, count double" + (", decay double" if decay else "")
    frame = spark.createDataFrame(chunks, "start long, end long").repartition(len(chunks))
    sums = frame.mapInArrow(partial_sums, schema).groupBy("key").sum()
    table = sums.toArrow()
    shared.unpersist()
    keys = table.column("key").to_numpy()
    order = np.argsort(keys)
    keys = keys[order]
    count = table.column("sum(count)").to_numpy()[order]
    decayed = table.column("sum(decay)").to_numpy()[order] if decay else None
    emitted = int(count[0])  # every task sends an EMITTED row, the smallest key
    keys, count = keys[1:], count[1:]
    decayed = None if decayed is None else decayed[1:]
    graph = finish_graph(config, [(keys, count, decayed)], train.item_counts())
    return graph, {**plan.info, "pairs_emitted": emitted, "engine": "spark", "spark_master": spark.sparkContext.master,
                   "spark_tasks": len(chunks)}
