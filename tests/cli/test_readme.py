"""The docs stay in step with the code: docs/cli.md is the CLI's own reference, the README and the
guide name no option the CLI lacks, the README's results table is the saved results', and CI runs
the README's test command."""

import re
from pathlib import Path

import typer.main
from g2rec_cli.main import app
from g2rec_cli.reference import reference

from benchmarks.readme_table import table

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
GUIDE = (ROOT / "docs" / "guide.md").read_text()


def test_docs_cli_is_the_generated_reference():
    assert (ROOT / "docs" / "cli.md").read_text() == reference(), \
        "docs/cli.md drifted from the CLI: python -m g2rec_cli.reference > docs/cli.md"


def test_every_option_has_help_and_every_verb_is_in_the_reference():
    group = typer.main.get_command(app)
    text = reference()
    for name, command in group.commands.items():
        assert f"## `g2rec {name}" in text
        for param in command.params:
            assert param.help or param.param_type_name == "argument", f"{name} {param.name} has no help"


def test_the_readme_and_guide_document_no_option_the_cli_lacks():
    """An option written in the docs (`` `--name` ``) is one some verb has: a removed option
    cannot live on in the docs."""
    group = typer.main.get_command(app)
    options = {"--version", "--help"}
    for command in group.commands.values():
        for param in command.params:
            options.update(param.opts, getattr(param, "secondary_opts", []))
    for name, text in (("README.md", README), ("docs/guide.md", GUIDE)):
        written = set(re.findall(r"`(--[a-z][a-z0-9-]*)", text)) | set(re.findall(r"g2rec [a-z-]+ [^`\n]*?(--[a-z][a-z0-9-]*)", text))
        assert written and not written - options, f"{name} options no verb has: {sorted(written - options)}"


def test_the_readme_results_table_is_the_saved_results():
    block = README.split("<!-- results:begin -->\n")[1].split("<!-- results:end -->")[0]
    assert block == table(), "README results drifted: paste `python benchmarks/readme_table.py` between the markers"


def test_ci_runs_the_readme_test_command():
    test_command = 'pip install -e ".[cpu,dgl,text,dev,spark,serve]" && python -m pytest -n 2 --dist loadfile'
    assert test_command in README
    assert test_command in (ROOT / ".ci" / "run").read_text()
