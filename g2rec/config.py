"""Options checked in one place: every field of a config dataclass against its annotation.

Each config's ``__post_init__`` starts with :func:`check_fields`, so the CLI and the Python API
refuse the same values the same way: a wrong type (``dim='x'``, ``epochs=1.5``) or a
non-finite float (``lr=nan``) is a :class:`ConfigError` naming the option, before any range
check of the config itself runs.

>>> from dataclasses import dataclass
>>> @dataclass
... class Example:
...     dim: int = 8
...     lr: float = 1e-3
...     def __post_init__(self):
...         check_fields(self)
>>> Example(lr=1).lr          # an int where a float belongs is that float
1.0
>>> Example(dim="x")
Traceback (most recent call last):
...
g2rec.errors.ConfigError: dim='x': expected an integer
"""

from __future__ import annotations

import math
import numbers
import types
import typing
from dataclasses import fields
from pathlib import Path

import numpy as np

from .errors import ConfigError

_MISMATCH = object()


def check_fields(config) -> None:
    """Check (and normalize: ints to floats, numpy scalars to Python's, lists to tuples) every
    field of the dataclass instance ``config`` against its type annotation."""
    hints = typing.get_type_hints(type(config))
    for f in fields(config):
        value = getattr(config, f.name)
        want = hints.get(f.name, typing.Any)
        fixed = _coerce(value, want)
        if fixed is _MISMATCH:
            raise ConfigError(f"{f.name}={value!r}: expected {_describe(want)}")
        if fixed is not value:
            object.__setattr__(config, f.name, fixed)  # frozen configs too


def _coerce(value, want):
    origin, args = typing.get_origin(want), typing.get_args(want)
    if want is typing.Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for option in args:
            fixed = _coerce(value, option)
            if fixed is not _MISMATCH:
                return fixed
        return _MISMATCH
    if want is type(None):
        return None if value is None else _MISMATCH
    if want is bool:
        return bool(value) if isinstance(value, (bool, np.bool_)) else _MISMATCH
    if want is int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            return _MISMATCH
        return value if type(value) is int else int(value)
    if want is float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            return _MISMATCH
        return value if type(value) is float else float(value)
    if want is str:
        return value if isinstance(value, str) else _MISMATCH
    if want is Path or (isinstance(want, type) and issubclass(want, Path)):
        return Path(value) if isinstance(value, (str, Path)) else _MISMATCH
    if origin is tuple:
        if not isinstance(value, (tuple, list)):
            return _MISMATCH
        element = args[0] if len(args) == 2 and args[1] is Ellipsis else None
        if element is None and args and len(args) != len(value):
            return _MISMATCH
        kinds = [element] * len(value) if element is not None else list(args) or [typing.Any] * len(value)
        items = [_coerce(v, k) for v, k in zip(value, kinds)]
        return _MISMATCH if any(i is _MISMATCH for i in items) else tuple(items)
    return value  # dicts, callables, arrays: the config's own checks


def _describe(want) -> str:
    origin, args = typing.get_origin(want), typing.get_args(want)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if origin is tuple:
        return f"a sequence of {_describe(args[0])}" if args and len(args) == 2 and args[1] is Ellipsis \
            else f"a tuple ({', '.join(_describe(a) for a in args)})"
    return {int: "an integer", float: "a finite number", bool: "true or false", str: "a string",
            type(None): "none"}.get(want, getattr(want, "__name__", str(want)))
