"""The stages of g2rec, each a function over a run folder (and a CLI verb): the only code that
reads or writes a run folder.

:func:`build_graph` -> :func:`embed` -> :func:`tokenize` -> :func:`train` (-> :func:`choose_graph_prior`,
:func:`make_ensemble`, :func:`align`) -> :func:`evaluate` (-> :func:`write_report`) -> :func:`recommend`;
:func:`run_demo` runs them all on a generated log.
"""

from ..data.datasets import list_datasets
from ..data.prepare import PrepareConfig
from ..data.readers import ReadOptions
from ..data.synthetic import SyntheticConfig, generate_log
from ..errors import G2RecError
from ..eval.prior_search import PriorGrid
from ..graph.build import GraphConfig
from ..version import __version__
from .align import align, evaluate_rewards
from .build_graph import build_graph, load_graph, load_sequences
from .demo import run_demo, write_log
from .embed import embed
from .ensemble import make_ensemble
from .evaluate import evaluate
from .recommend import Recommender, read_histories, read_users, recommend
from .report import ReportConfig, write_report
from .run_config import load_config, run_pipeline
from .runfolder import RunFolder
from .serve import make_app, serve
from .tokenize import tokenize
from .train import train
from .tune_prior import choose_graph_prior

# the stages' option types and errors, so that the CLI and users need import nothing else
__all__ = ["__version__", "G2RecError", "align", "evaluate_rewards", "GraphConfig", "PrepareConfig", "PriorGrid", "ReadOptions", "Recommender",
           "ReportConfig", "RunFolder", "SyntheticConfig", "build_graph", "choose_graph_prior", "embed", "evaluate",
           "generate_log", "list_datasets", "load_config", "load_graph", "load_sequences", "make_app",
           "make_ensemble", "read_histories", "read_users", "recommend", "run_demo", "run_pipeline", "serve",
           "tokenize", "train", "write_log", "write_report"]
