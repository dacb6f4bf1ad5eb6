"""Optional dependencies fail with one clear line."""

import sys

import pytest

from g2rec import deps
from g2rec.errors import G2RecError


def test_faiss_imports_here():
    faiss = deps.import_faiss()
    assert hasattr(faiss, "IndexFlatL2")
    assert len(deps.installed_faiss_distributions()) == 1


def test_missing_faiss_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)  # makes `import faiss` raise ImportError
    with pytest.raises(G2RecError, match=r"g2rec\[cpu\]"):
        deps.import_faiss()


def test_two_faiss_builds_are_refused(monkeypatch):
    monkeypatch.setattr(deps, "installed_faiss_distributions", lambda: ["faiss-cpu", "faiss-gpu"])
    with pytest.raises(G2RecError, match="faiss-cpu and faiss-gpu"):
        deps.import_faiss()
