"""The bare command: --version on its own, -h beside --help; log lines off a terminal."""

import json

from g2rec_cli.main import app
from g2rec_cli.ui import PlainProgress
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


def test_off_a_terminal_training_prints_a_line_per_epoch(trained_run):
    result = runner.invoke(app, ["train", str(trained_run), "--model", "sasrec", "--name", "logged", "--epochs", "2",
                                 "--max-len", "10", "--dim", "8", "--threads", "1", "--no-graph-prior", "--json"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("epoch ")]
    assert len(lines) == 2 and "valid NDCG@10" in lines[0] and lines[1].startswith("epoch 2: loss ")
    json.loads(result.stdout)  # stdout stays one JSON object


def test_plain_progress_lines(capsys, monkeypatch):
    progress = PlainProgress()
    monkeypatch.setattr(PlainProgress, "EVERY", 0.0)
    for done in (1, 2, 4):
        progress("graph", done, 4)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("graph: 1/4 (25%)") and lines[-1].startswith("graph: 4/4 (100%)")


def test_usage_lines_and_flags_are_plain():
    result = runner.invoke(app, ["train", "-h"], terminal_width=120)
    usage = next(line for line in result.stdout.splitlines() if "Usage:" in line)
    assert usage.split("Usage:")[1].split()[-2:] == ["[OPTIONS]", "RUN_DIR"] and "{" not in result.stdout
    assert "<bool>" not in result.stdout and "--resume" in result.stdout
