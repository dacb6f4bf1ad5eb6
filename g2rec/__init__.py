"""g2rec: graph-centric generative recommendation.

Stages (each also a CLI verb): :func:`build_graph` -> embed -> tokenize -> train -> evaluate -> recommend.
"""

__version__ = "0.1.0"

from .graph.stage import build_graph, load_graph, load_sequences  # noqa: E402

__all__ = ["__version__", "build_graph", "load_graph", "load_sequences"]
