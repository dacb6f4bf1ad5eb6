"""Timestamp parsing: unix seconds (int or float) or ISO-8601 / date strings."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError


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
    return ((parsed - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)
