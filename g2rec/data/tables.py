"""Table readers for interaction logs: generic tables (csv/tsv/parquet/jsonl) and the public
formats in ``../shared/data`` (S3Rec, LC-Rec JSON, MovieLens).

Every reader returns an :class:`InteractionLog` or raises a :class:`DataError` that names
file, line and field; :func:`g2rec.data.readers.read_log` picks one. Gzip is read
transparently (by pandas, or by :func:`open_text`).
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import check_fields
from ..errors import DataError, check_choice
from .log import InteractionLog
from .times import parse_times

FORMATS = ("auto", "csv", "tsv", "parquet", "jsonl", "s3rec", "lcrec", "movielens", "onchain")

USER_GUESSES = ("user_id", "user", "userid", "uid", "visitorid", "reviewerid", "wallet")
ITEM_GUESSES = ("item_id", "item", "itemid", "iid", "movie_id", "product_id", "asin", "business_id")
TIME_GUESSES = ("timestamp", "time", "ts", "datetime", "date", "unix_time", "event_time")


@dataclass
class ReadOptions:
    """How to read a log. Column options apply to csv/tsv/parquet/jsonl/onchain.

    ``time_col="none"`` uses file order as time. ``intent`` (onchain) makes the item
    ``receiver:method_id`` so that different calls to one contract are different items.
    """

    format: str = "auto"
    user_col: str | None = None
    item_col: str | None = None
    time_col: str | None = None
    weight_col: str | None = None
    event_col: str | None = None
    sep: str | None = None
    intent: bool = False
    keep_failed: bool = False

    def __post_init__(self):
        check_fields(self)
        check_choice("format", self.format, FORMATS)


def open_text(path: Path):
    """Open a text file, gunzipping when it starts with the gzip magic bytes."""
    with open(path, "rb") as f:
        magic = f.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, "rt", encoding="utf-8", errors="replace")


def load_frame(path: Path, fmt: str, sep: str | None = None) -> pd.DataFrame:
    """Load a csv/tsv/parquet/jsonl file as strings-or-numbers columns, with clear errors."""
    try:
        if fmt == "parquet":
            return pd.read_parquet(path)
        if fmt == "jsonl":
            return _read_jsonl(path)
        return pd.read_csv(path, **csv_options(path, fmt, sep))
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError("file is empty", path=path) from None
    except pd.errors.ParserError as e:
        raise DataError(f"cannot parse as {fmt}: {str(e).strip().splitlines()[-1]}", path=path) from None
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read as {fmt}: {e}", path=path) from None


def csv_options(path: Path, fmt: str, sep: str | None) -> dict:
    """``pandas.read_csv``'s options for a csv/tsv log: every field a string, only "" missing."""
    sep = sep or ("\t" if fmt == "tsv" else _sniff_sep(path))
    return {"sep": sep, "dtype": str, "keep_default_na": False, "na_values": [""],
            "compression": "gzip" if _is_gzip(path) else "infer"}


def read_table(path: Path, options: ReadOptions, fmt: str) -> InteractionLog:
    """Generic table: user/item/time columns by option, or guessed from common names."""
    frame = load_frame(path, fmt, options.sep)
    return table_to_log(frame, path, fmt, table_columns(frame, path, fmt, options))


def table_columns(frame: pd.DataFrame, path: Path, fmt: str, options: ReadOptions) -> dict:
    """The role -> column map of a table's (first) frame, after checking that it has rows and columns."""
    if len(frame) == 0:
        raise DataError("file has a header but no rows", path=path)
    if len(frame.columns) == 1 and fmt in ("csv", "tsv"):
        raise DataError(f"only one column ({frame.columns[0]!r}) found: wrong delimiter? (use --sep)",
                        path=path, line=1)
    return resolve_columns(frame, path, options)


def resolve_columns(frame: pd.DataFrame, path: Path, options: ReadOptions,
                    user_guesses=USER_GUESSES, item_guesses=ITEM_GUESSES, time_guesses=TIME_GUESSES) -> dict:
    """Map the roles user/item/time/weight/event to column names, or fail naming the columns found."""
    lower = {str(c).lower(): c for c in frame.columns}
    found = ", ".join(map(str, frame.columns))

    def pick(role, given, guesses, required):
        if given is not None:
            if given.lower() == "none" and role == "time":
                return None
            if given in frame.columns:
                return given
            if given.lower() in lower:
                return lower[given.lower()]
            raise DataError(f"no column '{given}' for {role} (found: {found})", path=path, line=1)
        for g in guesses:
            if g in lower:
                return lower[g]
        if required:
            raise DataError(f"cannot find a {role} column (found: {found}); name it with --{role}-col",
                            path=path, line=1)
        return None

    roles = {
        "user": pick("user", options.user_col, user_guesses, True),
        "item": pick("item", options.item_col, item_guesses, True),
        "time": pick("time", options.time_col, time_guesses, False),
        "weight": pick("weight", options.weight_col, (), False),
        "event": pick("event", options.event_col, (), False),
    }
    taken = {}
    for role, column in roles.items():
        if column is not None and column in taken:
            raise DataError(f"column '{column}' is both the {taken[column]} and the {role} column; "
                            f"name distinct columns with --{taken[column]}-col and --{role}-col", path=path, line=1)
        taken.setdefault(column, role)
    return roles


def table_to_log(frame: pd.DataFrame, path: Path, fmt: str, cols: dict, counts=None, first_row: int = 0) -> InteractionLog:
    """Build the log from resolved columns, checking for empty ids and bad times/weights.

    ``first_row``: the frame's first row's index in the file (a chunk of a larger table)."""
    line = np.arange(first_row, first_row + len(frame), dtype=np.int64) + (2 if fmt in ("csv", "tsv", "onchain") else 1)
    for role, column in cols.items():
        if column is not None and column not in frame.columns:
            raise DataError(f"no field '{column}' for {role}", path=path, line=int(line[0]) if len(line) else None)
    out = pd.DataFrame({"line": line})
    for role in ("user", "item"):
        values = frame[cols[role]]
        empty = values.isna().to_numpy()
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise DataError(f"empty {role} id", path=path, line=int(line[i]), field=str(cols[role]))
        out[role] = values.astype(str).to_numpy() if values.dtype == object else values.to_numpy()
    if cols["time"] is not None:
        out["time"] = parse_times(frame[cols["time"]], path, line, str(cols["time"]))
    else:
        out["time"] = np.arange(first_row, first_row + len(frame), dtype=np.int64)
    if cols.get("weight") is not None:
        w = pd.to_numeric(frame[cols["weight"]], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(w)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"not a number: {frame[cols['weight']].iloc[i]!r}", path=path,
                            line=int(line[i]), field=str(cols["weight"]))
        out["weight"] = w
    if cols.get("event") is not None:
        out["event"] = frame[cols["event"]].astype(str).to_numpy()
    return InteractionLog(out, str(path), fmt, has_time=cols["time"] is not None, counts=dict(counts or {}))


def read_s3rec(path: Path, options: ReadOptions, fmt: str = "s3rec") -> InteractionLog:
    """S3Rec sequences: ``user item item ...`` per line, chronological, integer ids.

    A TAB followed by one integer per item (seconds since the user's previous
    interaction, as in the TimeWeaver ``*_time_intervals`` files) gives real times.
    """
    users, items, times, lines = [], [], [], []
    has_time = None
    with open_text(path) as f:
        for lineno, raw in enumerate(f, 1):
            raw = raw.rstrip("\n")
            if not raw.strip():
                continue
            seq_part, _, gap_part = raw.partition("\t")
            tokens = seq_part.split()
            ints = _parse_ints(tokens, path, lineno, "user/item id")
            if len(ints) < 2:
                raise DataError("a line needs a user id and at least one item id", path=path, line=lineno)
            if has_time is None:
                has_time = bool(gap_part.strip())
            n = len(ints) - 1
            if has_time:
                gaps = _parse_ints(gap_part.split(), path, lineno, "time interval")
                if len(gaps) != n:
                    raise DataError(f"{len(gaps)} time intervals for {n} items", path=path, line=lineno,
                                    field="time interval")
                times.append(np.cumsum(gaps, dtype=np.int64))
            else:
                times.append(np.arange(n, dtype=np.int64))
            users.append(np.full(n, ints[0], dtype=np.int64))
            items.append(np.asarray(ints[1:], dtype=np.int64))
            lines.append(np.full(n, lineno, dtype=np.int64))
    if not users:
        raise DataError("file is empty", path=path)
    frame = pd.DataFrame({"line": np.concatenate(lines), "user": np.concatenate(users),
                          "item": np.concatenate(items), "time": np.concatenate(times)})
    return InteractionLog(frame, str(path), fmt, has_time=bool(has_time))


def read_lcrec(path: Path, options: ReadOptions, fmt: str = "lcrec") -> InteractionLog:
    """LC-Rec ``{"user_id": [item_id, ...]}`` JSON (chronological lists, no times)."""
    with open_text(path) as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise DataError(f"invalid JSON: {e.msg}", path=path, line=e.lineno) from None
    if not isinstance(data, dict) or not data:
        raise DataError("expected a non-empty JSON object {user: [items]}", path=path)
    users, items, times = [], [], []
    for user, seq in data.items():
        if not isinstance(seq, list) or not all(isinstance(i, (int, str)) and not isinstance(i, bool) for i in seq):
            raise DataError(f"user {user!r}: expected a list of item ids", path=path, field="items")
        users.append(np.full(len(seq), user, dtype=object))
        items.append(np.asarray([str(i) for i in seq], dtype=object))
        times.append(np.arange(len(seq), dtype=np.int64))
    frame = pd.DataFrame({"user": _ints_if_possible(np.concatenate(users).astype(str)),
                          "item": _ints_if_possible(np.concatenate(items).astype(str)),
                          "time": np.concatenate(times)})
    frame.insert(0, "line", np.ones(len(frame), dtype=np.int64))
    return InteractionLog(frame, str(path), fmt, has_time=False)


def read_movielens(path: Path, options: ReadOptions, fmt: str = "movielens") -> InteractionLog:
    """MovieLens ``u.data`` (TAB: user item rating time) or ``ratings.dat`` (``::``)."""
    with open_text(path) as f:
        first = f.readline()
    sep = "::" if "::" in first else "\t"
    try:
        frame = pd.read_csv(path, sep=sep, header=None, dtype=str, engine="python" if sep == "::" else "c",
                            names=["user", "item", "rating", "time"], keep_default_na=False, na_values=[""])
    except pd.errors.ParserError as e:
        raise DataError(f"cannot parse as MovieLens: {str(e).strip().splitlines()[-1]}", path=path) from None
    cols = {"user": "user", "item": "item", "time": "time", "weight": "rating", "event": None}
    return table_to_log(frame, path, fmt, cols)


INT64 = (-2**63, 2**63 - 1)


def _parse_ints(tokens, path, lineno, field) -> list[int]:
    """The tokens as integers of the 64-bit range, or the one-line error naming the first that is not."""
    for t in tokens:
        try:
            value = int(t)
        except ValueError:
            raise DataError(f"not an integer: {t!r}", path=path, line=lineno, field=field) from None
        if not INT64[0] <= value <= INT64[1]:
            raise DataError(f"{t!r} is outside the 64-bit integer range", path=path, line=lineno, field=field)
    return [int(t) for t in tokens]


def _ints_if_possible(values: np.ndarray) -> np.ndarray:
    """Integer ids stay integers, so that id maps sort 0, 1, 2, ... rather than "0", "1", "10"."""
    try:
        return values.astype(np.int64)
    except ValueError:
        return values


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _sniff_sep(path: Path) -> str:
    with open_text(path) as f:
        head = f.readline()
    counts = {sep: head.count(sep) for sep in (",", "\t", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def _read_jsonl(path: Path) -> pd.DataFrame:
    return next(jsonl_frames(path, None), pd.DataFrame())


def jsonl_frames(path: Path, rows: int | None):
    """A JSON-lines file as frames of ``rows`` objects (one frame when ``None``); text fields as str."""
    records = []

    def frame():
        out = pd.DataFrame.from_records(records)
        records.clear()
        return out.astype({c: str for c in out.columns if out[c].dtype == object})

    with open_text(path) as f:
        for lineno, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as e:
                raise DataError(f"invalid JSON: {e.msg}", path=path, line=lineno) from None
            if not isinstance(obj, dict):
                raise DataError("expected one JSON object per line", path=path, line=lineno)
            records.append(obj)
            if rows is not None and len(records) == rows:
                yield frame()
    if records:
        yield frame()
