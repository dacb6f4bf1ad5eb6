"""What every embedding method returns, and the inputs it may use."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..data.sequences import Sequences


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


def config_from_options(cls, **options):
    """Build config ``cls`` from the options that name its fields and are not None."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in options.items() if k in names and v is not None})
