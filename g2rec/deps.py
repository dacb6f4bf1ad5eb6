"""Optional dependencies, imported on demand with one clear line when they are missing."""

from __future__ import annotations

import importlib
from importlib import metadata

from .errors import G2RecError

FAISS_DISTRIBUTIONS = ("faiss-cpu", "faiss-gpu", "faiss-gpu-cu12", "faiss-gpu-cu11")


def installed_faiss_distributions() -> list[str]:
    """Names of the installed pip distributions that provide the ``faiss`` module."""
    found = []
    for name in FAISS_DISTRIBUTIONS:
        try:
            metadata.version(name)
            found.append(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def optional_faiss():
    """The ``faiss`` module, or None when it is not installed (two conflicting installs still fail)."""
    try:
        return import_faiss()
    except G2RecError:
        if len(installed_faiss_distributions()) > 1:
            raise
        return None


def import_faiss():
    """Return the ``faiss`` module, or fail naming the extra to install.

    faiss-cpu and faiss-gpu install the same module, so exactly one must be present:
    ``pip install 'g2rec[cpu]'`` here, ``pip install 'g2rec[gpu]'`` on CUDA hosts.
    """
    dists = installed_faiss_distributions()
    if len(dists) > 1:
        raise G2RecError(f"both {' and '.join(dists)} are installed and overwrite each other's `faiss` module: "
                         f"pip uninstall -y {' '.join(dists)}, then install one of g2rec[cpu] / g2rec[gpu]")
    try:
        return importlib.import_module("faiss")
    except ImportError as e:
        raise G2RecError(f"faiss is not installed ({e}): pip install 'g2rec[cpu]' (or 'g2rec[gpu]' on CUDA hosts)") from None
