"""g2rec: graph-centric generative recommendation.

Stages (each also a CLI verb): :func:`build_graph` -> :func:`embed` -> :func:`tokenize` ->
:func:`train` -> :func:`evaluate` -> :func:`recommend` (:mod:`g2rec.pipeline`); all of them from one
TOML file: :func:`run_pipeline`; a model loaded once for many requests: :class:`Recommender`,
served over HTTP by :func:`serve`.
"""

from .pipeline import (
    Recommender,
    ReportConfig,
    RunFolder,
    build_graph,
    choose_graph_prior,
    embed,
    evaluate,
    load_graph,
    load_sequences,
    make_ensemble,
    recommend,
    run_demo,
    run_pipeline,
    serve,
    tokenize,
    train,
    write_report,
)
from .version import __version__

__all__ = ["Recommender", "ReportConfig", "RunFolder", "__version__", "build_graph", "choose_graph_prior", "embed", "evaluate",
           "load_graph", "load_sequences", "make_ensemble", "recommend", "run_demo", "run_pipeline", "serve", "tokenize", "train", "write_report"]
