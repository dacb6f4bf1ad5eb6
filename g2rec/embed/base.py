"""What every embedding method returns, and the inputs it may use."""

from __future__ import annotations

import difflib

from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..data.sequences import Sequences
from ..errors import ConfigError


@dataclass
class EmbedInputs:
    """Artifacts of earlier stages: the ``(I, I)`` training co-engagement graph, the sequences
    (use only ``split == TRAIN`` interactions for fitting), and the log the run was built from
    (None when unknown), beside which item text may be found."""

    graph: sp.csr_matrix
    sequences: Sequences
    input_path: Path | None = None


@dataclass
class EmbedResult:
    """``vectors``: ``(I, d)`` float32 item embeddings (row i = item index i).
    ``summary``: a few scalars for the stage summary (e.g. final loss, max residual).
    ``curve``: per-epoch records (``[{"epoch": 1, "loss": ...}, ...]``) where training happens.
    ``details``: larger method facts for the manifest (eigenvalues, per-vector residuals...)."""

    vectors: np.ndarray
    summary: dict = field(default_factory=dict)
    curve: list[dict] | None = None
    details: dict = field(default_factory=dict)


def config_from_options(cls, known: set[str] | None = None, **options):
    """Build config ``cls`` from the options that are not None. ``known``: option names other
    configs take (left out when None, refused when set); any other name is refused, naming the
    closest valid one."""
    names = {f.name for f in fields(cls)}
    for key, value in options.items():
        if key not in names | (known or set()):
            close = difflib.get_close_matches(key, sorted(names | (known or set())), n=1)
            raise ConfigError(f"unknown option {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                              + f"; valid for {cls.__name__}: {', '.join(sorted(names))}")
        if key not in names and value is not None:
            raise ConfigError(f"{cls.__name__} has no option {key!r} (its options: {', '.join(sorted(names))})")
    return cls(**{k: v for k, v in options.items() if k in names and v is not None})
