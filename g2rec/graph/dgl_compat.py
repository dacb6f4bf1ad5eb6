"""Import DGL beside a torch newer than the one DGL's C++ extensions were built for.

Why: DGL 2.1.0, the newest Linux wheel, ships ``libgraphbolt_pytorch_<ver>`` only for torch
<= 2.2.1, and ``import dgl`` -> ``dgl.distributed`` -> ``dgl.graphbolt`` fails without it.  g2rec
needs no graphbolt: graphs, ``dgl.nn`` layers and ``dgl.dataloading`` samplers work without it,
and ``dgl.distributed`` uses it only inside functions.  DGL has no setting to skip it.

What: only when the installed DGL lacks the graphbolt library for this torch, a finder on
``sys.meta_path`` answers, for the duration of ``import dgl`` only, for the single name
``dgl.graphbolt`` with an empty placeholder module whose attributes raise AttributeError
saying why (it stays as ``dgl.graphbolt``; the finder is removed).  During that import DGL's own ``DGLBACKEND`` is set to ``pytorch`` if unset (so DGL
neither prints a notice nor writes ``~/.dgl/config.json``) and torchdata's deprecation banner
is hidden; both are restored afterwards.

When to remove: once every supported torch has a DGL wheel with graphbolt (the finder is
already inert where the library exists); then just ``import dgl``.
"""

from __future__ import annotations

import glob
import importlib.abc
import importlib.util
import os
import sys
import threading
import types
import warnings

from g2rec.errors import G2RecError

_LOCK = threading.Lock()
_HINT = "pip install 'g2rec[dgl]'"


class _GraphboltPlaceholder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, reason: str):
        self.reason = reason

    def find_spec(self, name, path=None, target=None):
        return importlib.util.spec_from_loader(name, self) if name == "dgl.graphbolt" else None

    def exec_module(self, module: types.ModuleType) -> None:
        def __getattr__(attr, reason=self.reason):
            raise AttributeError(f"dgl.graphbolt.{attr} is unavailable: {reason}")

        module.__getattr__ = __getattr__


def import_dgl() -> types.ModuleType:
    """Return the ``dgl`` module (the same one on every call), or raise a one-line G2RecError."""
    with _LOCK:
        if "dgl" in sys.modules:
            return sys.modules["dgl"]
        spec = importlib.util.find_spec("dgl")
        if spec is None:
            raise G2RecError(f"DGL is not installed: {_HINT}")
        import torch

        ver = torch.__version__.split("+")[0]
        finder, unset = None, "DGLBACKEND" not in os.environ
        gb_dir = os.path.join(spec.submodule_search_locations[0], "graphbolt")
        if not glob.glob(os.path.join(gb_dir, f"*graphbolt_pytorch_{ver}.*")):
            finder = _GraphboltPlaceholder(f"DGL has no graphbolt library for torch {ver}")
            sys.meta_path.insert(0, finder)
        try:
            os.environ.setdefault("DGLBACKEND", "pytorch")
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=r"(?s).*'datapipes'.*deprecated")
                import dgl
            return dgl
        except Exception as e:  # ImportError, or OSError from a C++ library
            line = (str(e).strip().splitlines() or [""])[0]
            hint = f"; {_HINT}" if isinstance(e, ModuleNotFoundError) else ""
            raise G2RecError(f"cannot import DGL ({type(e).__name__}: {line}){hint}") from e
        finally:
            if unset:
                os.environ.pop("DGLBACKEND", None)
            if finder is not None:
                sys.meta_path.remove(finder)
