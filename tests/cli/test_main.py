"""The bare command: --version on its own, -h beside --help."""

from g2rec_cli.main import app
from typer.testing import CliRunner

from g2rec.version import __version__

runner = CliRunner()


def test_version_needs_no_verb():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == __version__


def test_dash_h_is_help_for_the_app_and_every_verb():
    assert runner.invoke(app, ["-h"]).exit_code == 0
    result = runner.invoke(app, ["build-graph", "-h"])
    assert result.exit_code == 0 and "--engine" in result.stdout and "INPUT" in result.stdout
