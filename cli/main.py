"""The ``g2rec`` command: one verb per pipeline stage, each a thin layer over the library."""

import typer

from g2rec.pipeline import __version__

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


def print_version(value: bool):
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=print_version, is_eager=True,
                                      help="Print the g2rec version and exit.")):
    """g2rec: interaction logs -> co-engagement graph -> embeddings -> semantic IDs -> generator."""
    show_library_log()


app.command("run")(run_command)
app.command("build-graph")(build_graph_command)
app.command("embed")(embed_command)
app.command("tokenize")(tokenize_command)
app.command("train")(train_command)
app.command("tune-prior")(tune_prior_command)
app.command("ensemble")(ensemble_command)
app.command("evaluate")(evaluate_command)
app.command("recommend")(recommend_command)
app.command("serve")(serve_command)
app.command("generate")(generate_command)
app.command("demo")(demo_command)
app.command("datasets")(datasets_command)

if __name__ == "__main__":
    app()
