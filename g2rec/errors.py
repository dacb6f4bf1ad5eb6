"""Errors that g2rec reports to users as one clear line."""

from __future__ import annotations


class G2RecError(Exception):
    """Base class: anything a user can fix (bad input, bad option, missing artifact)."""


class DataError(G2RecError):
    """Bad input data, located by file, line and field where they are known.

    >>> str(DataError("bad time 'x'", path="log.csv", line=7, field="timestamp"))
    "log.csv:7: field 'timestamp': bad time 'x'"
    """

    def __init__(self, message: str, *, path=None, line: int | None = None, field: str | None = None):
        where = ""
        if path is not None:
            where = f"{path}:" + (f"{line}:" if line is not None else "") + " "
        elif line is not None:
            where = f"line {line}: "
        if field is not None:
            where += f"field '{field}': "
        super().__init__(where + message)
        self.path, self.line, self.field = path, line, field


class ConfigError(G2RecError):
    """An option outside its valid choices or range."""


def check_choice(name: str, value: str, choices) -> str:
    """Fail fast with a message naming the valid choices."""
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not one of: {', '.join(map(str, choices))}")
    return value
