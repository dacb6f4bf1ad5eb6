"""The README stays in step with the code: every option of every verb is documented, and CI runs its test command."""

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


def test_ci_runs_the_readme_test_command():
    test_command = 'pip install -e ".[cpu,dgl,text,dev]" && python -m pytest'
    assert test_command in README
    assert test_command in (ROOT / ".ci" / "run").read_text()
