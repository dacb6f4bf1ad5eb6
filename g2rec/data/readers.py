"""``read_log``: any supported interaction log -> :class:`InteractionLog`.

``read_log(path, ReadOptions(format="auto"))`` sniffs the format (:mod:`.sniff`) and calls its
reader: the table readers of :mod:`.tables` or the on-chain reader of :mod:`.onchain`. Every
reader raises a :class:`DataError` that names file, line and field.
"""

from __future__ import annotations

import zlib
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from ..errors import DataError
from .log import InteractionLog
from .onchain import read_onchain
from .sniff import sniff_format
from .tables import FORMATS, ReadOptions, read_lcrec, read_movielens, read_s3rec, read_table

__all__ = ["FORMATS", "ReadOptions", "read_log"]


def read_log(path, options: ReadOptions | None = None) -> InteractionLog:
    """Read ``path`` into an :class:`InteractionLog`."""
    options = options or ReadOptions()
    path, fmt = log_format(path, options)
    reader = {
        "csv": read_table, "tsv": read_table, "parquet": read_table, "jsonl": read_table,
        "s3rec": read_s3rec, "lcrec": read_lcrec, "movielens": read_movielens, "onchain": read_onchain,
    }[fmt]
    with reading(path, fmt):
        log = reader(path, options, fmt)
    if len(log) == 0:
        raise DataError("no interactions in file", path=path)
    return log


def log_format(path, options: ReadOptions) -> tuple[Path, str]:
    """``path`` checked to be a non-empty file, and its format (sniffed unless given)."""
    path = Path(path)
    if not path.exists():
        raise DataError("no such file", path=path)
    if path.stat().st_size == 0:
        raise DataError("file is empty", path=path)
    return path, sniff_format(path) if options.format == "auto" else options.format


@contextmanager
def reading(path, fmt: str):
    """Turn the parsers' and the file system's exceptions into one-line :class:`DataError` s."""
    try:
        yield
    except EOFError:
        raise DataError("file is truncated (compressed stream ended early)", path=path) from None
    except (OSError, zlib.error) as e:
        raise DataError(f"cannot read: {e}", path=path) from None
    except UnicodeDecodeError as e:
        raise DataError(f"not UTF-8 text (byte {e.object[e.start:e.start + 1]!r} near byte {e.start:,} of a block; "
                        "re-encode the file as UTF-8)", path=path) from None
    except (ValueError, pd.errors.ParserError) as e:  # the parser's own complaint, when no check above named it
        raise DataError(f"cannot parse as {fmt}: {' '.join(str(e).split())[:200]}", path=path) from None
