"""The README stays in step with the code: every option of every verb is documented, and CI runs its test command."""

import re
from pathlib import Path

import typer.main
from g2rec_cli.main import app

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_every_verb_and_option_is_in_the_readme():
    group = typer.main.get_command(app)
    for name, command in group.commands.items():
        assert f"g2rec {name}" in README, f"verb {name} missing from README"
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--") and opt != "--help":
                    assert f"`{opt}`" in README or f"{opt}`" in README, f"{name} {opt} missing from README"
            assert param.help or param.param_type_name == "argument", f"{name} {param.name} has no help"


def test_the_readme_documents_no_option_the_cli_lacks():
    """An option written in the README (`` `--name` ``) is one some verb has: a removed option
    cannot live on in the docs."""
    group = typer.main.get_command(app)
    options = {"--version", "--help"}
    for command in group.commands.values():
        for param in command.params:
            options.update(param.opts, getattr(param, "secondary_opts", []))
    written = set(re.findall(r"`(--[a-z][a-z0-9-]*)", README))
    assert written and not written - options, f"README options no verb has: {sorted(written - options)}"


def test_ci_runs_the_readme_test_command():
    test_command = 'pip install -e ".[cpu,dgl,text,dev,spark]" && python -m pytest'
    assert test_command in README
    assert test_command in (ROOT / ".ci" / "run").read_text()
