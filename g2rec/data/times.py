"""Timestamp parsing: unix seconds (int or float) or ISO-8601 / date strings."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError

# the times a log may hold: pandas' nanosecond range, in unix seconds
LOWEST, HIGHEST = int(pd.Timestamp.min.ceil("s").timestamp()), int(pd.Timestamp.max.floor("s").timestamp())


def parse_times(values: pd.Series, path, line: np.ndarray, field: str) -> np.ndarray:
    """Parse a column of times to int64 seconds (float64 if fractional).

    Numbers are taken as unix seconds; strings go through ``pandas.to_datetime``.
    The first empty or unparsable value raises a :class:`DataError` naming its line.
    """
    missing = values.isna().to_numpy()
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise DataError("empty time", path=path, line=int(line[i]), field=field)
    numeric = pd.to_numeric(values, errors="coerce")
    if not numeric.isna().any():
        arr = numeric.to_numpy(dtype=np.float64)
        if not np.isfinite(arr).all():
            i = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise DataError(f"cannot parse {values.iloc[i]!r} as a time", path=path, line=int(line[i]), field=field)
        return arr.astype(np.int64) if np.all(arr == np.round(arr)) else arr
    if numeric.notna().mean() > 0.5:  # mostly numbers: the rest are bad values
        i = int(np.flatnonzero(numeric.isna().to_numpy())[0])
        raise DataError(f"cannot parse {values.iloc[i]!r} as a time", path=path, line=int(line[i]), field=field)
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
    bad = parsed.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"cannot parse {values.iloc[i]!r} as a time", path=path, line=int(line[i]), field=field)
    seconds = parsed.dt.tz_convert(None).to_numpy().astype("datetime64[s]").astype(np.int64)
    out = (seconds < LOWEST) | (seconds > HIGHEST)
    if out.any():
        i = int(np.flatnonzero(out)[0])
        raise DataError(f"time {values.iloc[i]!r} is outside {pd.Timestamp.min.year + 1}-{pd.Timestamp.max.year} "
                        f"(a mangled date?)", path=path, line=int(line[i]), field=field)
    return seconds
