"""The raw interaction log every reader returns, before validation and id mapping."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass
class InteractionLog:
    """Interactions as read from one file, with original (string or integer) ids.

    Attributes:
        frame: columns ``user``, ``item``, ``time`` (int64 or float64 seconds, or the
            row's position when the source has no time), optional ``weight`` and ``event``,
            and ``line`` (1-based line in the source file, for error messages).
        path: the file it came from.
        format: the reader that produced it (``csv``, ``s3rec``, ...).
        has_time: False when ``time`` is only the order of rows in the file.
        counts: reader-specific counts worth reporting (skipped rows and why).
    """

    frame: pd.DataFrame
    path: str
    format: str
    has_time: bool
    counts: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frame)
