"""The co-engagement graph's map and reduce as PySpark jobs (``build-graph --engine spark``).

The map is the local builder's own: each Spark task takes a run of users and calls
:func:`.build.chunk_sums` (a pure function of those users' sequences, their indices and the
seed: their pairs, summed per pair key as the local builder sums a chunk). The map's input,
the training sequences (~17 bytes an interaction), is broadcast to the executors.

The reduce is Spark's: the tasks' partial sums are hash-partitioned by key across the cluster
and summed, then range-partitioned and sorted by key. Both partition counts are set (one per
8M mapped pairs, at least one per core), not left to Spark's adaptive plan, which on a small local master merges them
into one partition per core, each then one task result on the driver. The sums (one row per
edge: the graph's size, not the pairs') stream to the driver a partition at a time into
:func:`.build.finish_graph`, as the local builder's do. Spark adds a pair's partial sums in
another order than the local builder, which can change a float64 sum in its last bits;
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
TASK_PAIRS = 10_000_000  # pairs a task maps at most (its partial sums must fit an executor's share)
BATCH_ROWS = 1_000_000  # rows per Arrow batch a task hands Spark
PART_PAIRS = 8_000_000  # mapped pairs (a bound on the sums) per partition of the reduce


def build_graph_on_spark(seq: Sequences, config: GraphConfig | None = None, master: str | None = None,
                         spark=None):
    """:func:`.build.build_coengagement_graph`'s graph and info, its pairs mapped and reduced on
    Spark (``master``, or the given ``spark`` session).

    The users are cut into at least four runs per Spark core (each at most ``config.chunk_pairs``
    and 10M pairs); each run's partial sums go into the shuffle as Arrow batches of 1M rows.
    """
    config = config or GraphConfig()
    spark = spark or spark_session(master)
    train = seq.subset(seq.split == TRAIN)
    plan = MapPlan.of(train, config)
    tasks = 4 * spark.sparkContext.defaultParallelism
    budget = int(min(config.chunk_pairs, TASK_PAIRS, max(plan.cost.sum() // tasks, 1)))
    chunks = [(int(a), int(b)) for a, b in user_chunks(plan.cost, budget)]
    shared = spark.sparkContext.broadcast((train, plan, config))
    decay = config.weight == "decay"

    def partial_sums(batches):
        train, plan, config = shared.value
        for batch in batches:
            for start, end in zip(batch.column("start").to_pylist(), batch.column("end").to_pylist()):
                keys, count, decayed, emitted = chunk_sums(train, plan, config, start, end)
                keys, count = np.r_[EMITTED, keys], np.r_[float(emitted), count]
                columns = [keys, count] + ([np.r_[0.0, decayed]] if decayed is not None else [])
                for at in range(0, len(keys), BATCH_ROWS):  # Spark copies each batch into one memory page
                    yield pa.RecordBatch.from_arrays([pa.array(c[at:at + BATCH_ROWS]) for c in columns],
                                                     names=["key", "count", "decay"][:len(columns)])

    schema = "key long, count double" + (", decay double" if decay else "")
    frame = spark.createDataFrame(chunks, "start long, end long").repartition(len(chunks))
    partitions = max(spark.sparkContext.defaultParallelism, -(-int(plan.cost.sum()) // PART_PAIRS))
    columns = ["count", "decay"] if decay else ["count"]
    sums = (frame.mapInArrow(partial_sums, schema).repartition(partitions, "key")
            .groupBy("key").agg({c: "sum" for c in columns})
            .repartitionByRange(partitions, "key").sortWithinPartitions("key"))
    emitted = [0]

    def parts():  # the sorted sums stream to the driver a partition at a time
        for batch in pa.RecordBatchReader.from_stream(sums):
            keys = batch.column("key").to_numpy()
            count = batch.column("sum(count)").to_numpy()
            decayed = batch.column("sum(decay)").to_numpy() if decay else None
            if len(keys) and keys[0] == EMITTED:  # every task sends an EMITTED row, the smallest key
                emitted[0] = int(count[0])
                keys, count, decayed = keys[1:], count[1:], None if decayed is None else decayed[1:]
            yield keys, count, decayed

    graph = finish_graph(config, parts(), train.item_counts())
    shared.unpersist()
    return graph, {**plan.info, "pairs_emitted": emitted[0], "engine": "spark", "spark_master": spark.sparkContext.master,
                   "spark_tasks": len(chunks), "spark_partitions": partitions}
