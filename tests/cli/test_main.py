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


def test_an_error_prints_its_brackets(tmp_path):
    """Markup in an error (an extra's name, a path with brackets) reaches the user as written."""
    log = tmp_path / "log[cpu].csv"
    log.write_text("user_id,item_id,timestamp\n1,2,yesterday\n")
    result = runner.invoke(app, ["build-graph", str(log), "-o", str(tmp_path / "run")])
    assert result.exit_code == 2 and "log[cpu].csv:2: field 'timestamp'" in result.stderr
