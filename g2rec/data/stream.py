"""Reading a table log chunk by chunk, for logs too large to hold whole as a frame.

:func:`read_prepared` gives what ``prepare_sequences(read_log(path, read), prepare)`` gives,
the same arrays and report, while holding only one chunk of rows as a frame. A csv/tsv/parquet/
jsonl log is read ``chunk_rows`` rows at a time; each chunk is checked as a whole file is
(:func:`.tables.table_to_log`; errors name the file's line) and reduced to what preparing
needs: each row's user and item code (int32) and its time, ~16 bytes a row. Other formats
are read whole. :func:`prepare_frames` is the same for frames from any source (Spark's
partitions, :mod:`.spark_reader`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from ..errors import DataError
from ..measure import release_freed_memory
from .prepare import NO_EVENTS, PrepareConfig, prepare_codes, prepare_sequences
from .readers import ReadOptions, log_format, read_log, reading
from .sequences import Sequences
from .tables import csv_options, jsonl_frames, table_columns, table_to_log

TABLES = ("csv", "tsv", "parquet", "jsonl")
CHUNK_ROWS = 2_000_000


def read_prepared(path, read: ReadOptions | None = None, prepare: PrepareConfig | None = None,
                  chunk_rows: int = CHUNK_ROWS) -> tuple[Sequences, dict, dict]:
    """Read and prepare the log at ``path``: ``(sequences, report, info)``, ``info`` holding the
    log's ``format``, ``has_time`` and, for a table, the ``columns`` each role was read from
    (given or guessed)."""
    read, prepare = read or ReadOptions(), prepare or PrepareConfig()
    path, fmt = log_format(path, read)
    if fmt not in TABLES:
        log = read_log(path, read)
        seq, report = prepare_sequences(log, prepare)
        return seq, report, {"format": log.format, "has_time": log.has_time}
    with reading(path, fmt):
        return prepare_frames(table_frames(path, fmt, read.sep, chunk_rows), path, fmt, read, prepare)


def table_frames(path: Path, fmt: str, sep: str | None, rows: int):
    """The table at ``path`` as frames of ``rows`` rows, typed as :func:`.tables.load_frame` types them."""
    if fmt == "parquet":
        for batch in pq.ParquetFile(path).iter_batches(batch_size=rows):
            yield batch.to_pandas()
    elif fmt == "jsonl":
        yield from jsonl_frames(path, rows)
    else:
        with pd.read_csv(path, chunksize=rows, **csv_options(path, fmt, sep)) as frames:
            yield from frames


def prepare_frames(frames, path, fmt: str, read: ReadOptions, prepare: PrepareConfig) -> tuple[Sequences, dict, dict]:
    """:func:`read_prepared` from a table's consecutive frames (rows in file order)."""
    users, items, times = DenseCodes("user"), DenseCodes("item"), TimeColumn()
    cols, row, other_events = None, 0, 0
    for frame in frames:
        if cols is None:
            cols = table_columns(frame, path, fmt, read)
            if prepare.events is not None and cols["event"] is None:
                raise DataError(NO_EVENTS, path=path)
        log = table_to_log(frame, path, fmt, cols, first_row=row).frame
        if prepare.events is not None:
            kept = log["event"].isin(prepare.events).to_numpy()
            other_events += int(len(log) - kept.sum())
            log = log[kept]
        where = int(log["line"].iloc[0]) if len(log) else None
        users.add(log["user"].to_numpy(), path, where, cols["user"])
        items.add(log["item"].to_numpy(), path, where, cols["item"])
        times.add(log["time"].to_numpy(), frame[cols["time"]] if cols["time"] is not None else None, path, where)
        row += len(frame)
        del frame, log
        release_freed_memory()  # the chunk's frame lies between the kept codes: give its pages back
    if cols is None:
        raise DataError("file has a header but no rows", path=path)
    report = {"rows_read": row, **({"rows_other_events": other_events} if prepare.events is not None else {})}
    user_code, user_ids = users.finish()
    item_code, item_ids = items.finish()
    times = times.finish()
    release_freed_memory()
    seq, report = prepare_codes(user_code, item_code, times, user_ids, item_ids, prepare, report, path)
    release_freed_memory()
    return seq, report, {"format": fmt, "has_time": cols["time"] is not None,
                         "columns": {role: str(c) for role, c in cols.items() if c is not None}}


class DenseCodes:
    """Codes in the sorted order of the distinct values of a column read chunk by chunk: what
    :func:`.prepare.dense_codes` gives the whole column, holding only the distinct values and
    an int32 code per row. Values are numbered in order of first sight as they come, then
    renumbered in sorted order at ``finish``."""

    def __init__(self, role: str):
        self.role, self.seen, self.codes = role, None, []

    def add(self, values: np.ndarray, path, line, field) -> None:
        local, uniques = pd.factorize(values)
        if self.seen is None:
            self.seen = pd.Index(uniques)
        elif (self.seen.dtype.kind in "iuf") != (pd.Index(uniques).dtype.kind in "iuf") and len(uniques):
            raise DataError(f"{self.role} ids are numbers in some rows and text in others; quote every id "
                            "or none", path=path, line=line, field=str(field))
        at = self.seen.get_indexer(uniques)
        new = at < 0
        at[new] = len(self.seen) + np.arange(int(new.sum()))
        if new.any():
            self.seen = self.seen.append(pd.Index(uniques[new]))
        code = np.int32 if len(self.seen) < 2**31 else np.int64
        self.codes.append(at.astype(code)[local])

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """``(codes, ids)``: every row's code, in row order, into the sorted distinct ``ids``."""
        values = np.asarray(self.seen)
        order = np.argsort(values, kind="stable")
        rank = np.empty(len(order), dtype=self.codes[-1].dtype)
        rank[order] = np.arange(len(order))
        codes = np.empty(sum(len(c) for c in self.codes), dtype=rank.dtype)
        at = 0
        while self.codes:
            chunk = self.codes.pop(0)
            codes[at:at + len(chunk)] = rank[chunk]
            at += len(chunk)
        return codes, values[order]


class TimeColumn:
    """A time column read chunk by chunk: int64 seconds unless some chunk's times are fractional
    (then float64, as :func:`.times.parse_times` makes a whole column float); a column must
    hold unix seconds throughout or dates throughout."""

    def __init__(self):
        self.chunks, self.numeric, self.first = [], None, None

    def add(self, times: np.ndarray, raw: pd.Series | None, path, line) -> None:
        if raw is not None and len(raw):
            numeric = raw.dtype.kind in "iuf" or bool(pd.to_numeric(raw, errors="coerce").notna().all())
            if self.numeric is None:
                self.numeric, self.first = numeric, line
            elif numeric != self.numeric:
                kinds = ("unix seconds", "dates") if self.numeric else ("dates", "unix seconds")
                raise DataError(f"times are {kinds[0]} from line {self.first} but {kinds[1]} here",
                                path=path, line=line, field=str(raw.name))
        self.chunks.append(np.array(times))  # a copy: a view would keep the chunk's whole frame

    def finish(self) -> np.ndarray:
        dtype = np.float64 if any(c.dtype.kind == "f" for c in self.chunks) else np.int64
        out = np.concatenate([c.astype(dtype, copy=False) for c in self.chunks]) if self.chunks else np.empty(0, dtype)
        self.chunks.clear()
        return out
