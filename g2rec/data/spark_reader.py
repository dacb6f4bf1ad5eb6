"""Reading a log on Spark (``build-graph --engine spark``): any path or glob Spark reads.

A csv/tsv/parquet/jsonl log is read by Spark (``file://``, ``hdfs://``, ``s3a://``, a folder of
part files, a glob): csv and tsv with every field a string, as the local reader reads them.
Its rows are numbered in partition order (for one file, file order) and re-cut into ordered
ranges of 2M rows, which come to the driver one at a time as Arrow batches (Spark's
``__arrow_c_stream__``) and go through :func:`.stream.prepare_frames`, as a local file's
chunks do: the same checks, the same id maps, order and splits. For a folder or glob, file
order means Spark's partition order. Other formats (S3Rec, MovieLens, LC-Rec,
on-chain exports) are read from a local path by the local reader.

PySpark is an extra (``pip install -e ".[spark]"``; Spark needs Java 17).
"""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path

import pyarrow as pa

from ..errors import ConfigError, DataError, G2RecError
from .prepare import PrepareConfig
from .readers import ReadOptions
from .sequences import Sequences
from .sniff import sniff_format
from .stream import CHUNK_ROWS, TABLES, prepare_frames, read_prepared
from .tables import csv_options

SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl",
            ".ndjson": "jsonl", ".json": "jsonl"}


def spark_session(master: str | None = None):
    """A Spark session on ``master`` (``local[*]`` by default; any URL ``spark-submit`` takes),
    or one line saying how to install PySpark."""
    try:
        sql = importlib.import_module("pyspark.sql")
    except ImportError as e:
        raise G2RecError(f"PySpark is not installed ({e}): pip install 'g2rec[spark]' (Spark also needs Java 17)") from None
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)  # it works, tested
    try:
        return (sql.SparkSession.builder.master(master or "local[*]").appName("g2rec build-graph")
                .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.execution.arrow.maxRecordsPerBatch", "1000000")
                .config("spark.driver.memory", "8g")  # a new local JVM's heap holds the map's broadcast input
                .getOrCreate())
    except Exception as e:  # noqa: BLE001 - a JVM that does not start, a master that does not answer
        raise G2RecError(f"Spark did not start on {master or 'local[*]'}: {' '.join(str(e).split())[:200]}") from None


def spark_format(source: str, options: ReadOptions) -> str:
    """The format of ``source``: as given, sniffed when it is a local file, else by its suffix."""
    if options.format != "auto":
        return options.format
    if Path(source).is_file():
        return sniff_format(Path(source))
    name = source.rstrip("/").rsplit("/", 1)[-1].lower()
    for compression in (".gz", ".bz2", ".snappy", ".zst"):
        name = name.removesuffix(compression)
    for suffix, fmt in SUFFIXES.items():
        if name.endswith(suffix):
            return fmt
    raise ConfigError(f"cannot tell the format of {source}: name it with --format ({', '.join(TABLES)})")


def read_prepared_on_spark(spark, source: str | Path, read: ReadOptions | None = None,
                           prepare: PrepareConfig | None = None,
                           chunk_rows: int = CHUNK_ROWS) -> tuple[Sequences, dict, dict]:
    """:func:`.stream.read_prepared`'s ``(sequences, report, info)``, the log read by ``spark``."""
    read, prepare, source = read or ReadOptions(), prepare or PrepareConfig(), str(source)
    fmt = spark_format(source, read)
    if fmt not in TABLES:
        if not Path(source).is_file():
            raise ConfigError(f"{fmt} logs are read from a local file, and {source} is none "
                              f"(Spark reads {', '.join(TABLES)})")
        return read_prepared(source, read, prepare, chunk_rows)
    frame = _spark_table(spark, source, fmt, read)
    try:
        return prepare_frames(_chunks(frame, chunk_rows), source, fmt, read, prepare)
    except G2RecError:
        raise
    except Exception as e:  # noqa: BLE001 - Spark's own complaint (a malformed row, a path it cannot list)
        raise DataError(f"Spark cannot read it as {fmt}: {_first_line(e)}", path=source) from None


def _spark_table(spark, source: str, fmt: str, read: ReadOptions):
    reader = spark.read.option("mode", "FAILFAST")
    try:
        if fmt == "parquet":
            return reader.parquet(source)
        if fmt == "jsonl":
            return reader.json(source)
        local = Path(source).is_file()
        sep = csv_options(Path(source), fmt, read.sep)["sep"] if local else (read.sep or ("\t" if fmt == "tsv" else ","))
        return reader.csv(source, header=True, sep=sep, inferSchema=False, escape='"', enforceSchema=False)
    except Exception as e:  # noqa: BLE001 - a path Spark cannot find or list
        raise DataError(f"Spark cannot read it as {fmt}: {_first_line(e)}", path=source) from None


def _chunks(frame, rows: int):
    """The Spark frame's rows in order, as pandas frames of about ``rows`` rows.

    The driver takes one partition at a time, whole, and a partition read from a file can be
    a large part of it (a Parquet row group); so the rows are first numbered in partition
    order and re-cut by that number into ranges of about ``rows`` rows, each sorted back."""
    functions = importlib.import_module("pyspark.sql.functions")
    parts = max(1, -(-frame.count() // rows))
    ordered = (frame.withColumn("_g2rec_row", functions.monotonically_increasing_id())
               .repartitionByRange(parts, "_g2rec_row").sortWithinPartitions("_g2rec_row").drop("_g2rec_row"))
    batches, held = [], 0
    for batch in pa.RecordBatchReader.from_stream(ordered):
        batches.append(batch)
        held += batch.num_rows
        if held >= rows:
            yield pa.Table.from_batches(batches).to_pandas()
            batches, held = [], 0
    if batches:
        yield pa.Table.from_batches(batches).to_pandas()


def _first_line(error: Exception) -> str:
    text = " ".join(str(error).split())
    for marker in ("Caused by:", "org.apache.spark.SparkException:"):
        text = text.split(marker)[-1] if marker in text else text
    return text[:200].strip()
