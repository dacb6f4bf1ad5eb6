"""The ``g2rec`` command: one verb per pipeline stage, each a thin layer over the library."""

import typer
from typer.core import TyperCommand

from g2rec.pipeline import __version__

from .align import align_command
from .build_graph import build_graph_command
from .datasets import datasets_command
from .demo import demo_command
from .embed import embed_command
from .evaluate import evaluate_command
from .generate import generate_command
from .recommend import recommend_command
from .run import run_command
from .serve import serve_command
from .tokenize import tokenize_command
from .train import ensemble_command, train_command, tune_prior_command
from .ui import show_library_log

app = typer.Typer(help="g2rec: graph-centric generative recommendation.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]})


class Command(TyperCommand):
    """A verb's help without Typer's decorations: ``g2rec train [OPTIONS] RUN_DIR`` (no braces
    around required arguments) and on/off flags without a ``<bool>`` type label."""

    def get_params(self, ctx) -> list:
        params = super().get_params(ctx)  # with --help, which Typer adds here
        for param in params:
            if getattr(param, "is_flag", False):
                param.metavar = ""
        return params

    def collect_usage_pieces(self, ctx) -> list[str]:
        return [piece[1:-1] if piece.startswith("{") and piece.endswith("}") else piece
                for piece in super().collect_usage_pieces(ctx)]


def print_version(value: bool):
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=print_version, is_eager=True,
                                      help="Print the g2rec version and exit.")):
    """g2rec: interaction logs -> co-engagement graph -> embeddings -> semantic IDs -> generator."""
    show_library_log()


VERBS = {"run": run_command, "build-graph": build_graph_command, "embed": embed_command, "tokenize": tokenize_command,
         "train": train_command, "tune-prior": tune_prior_command, "ensemble": ensemble_command, "align": align_command,
         "evaluate": evaluate_command, "recommend": recommend_command, "serve": serve_command,
         "generate": generate_command, "demo": demo_command, "datasets": datasets_command}
for name, verb in VERBS.items():
    app.command(name, cls=Command)(verb)

if __name__ == "__main__":
    app()
