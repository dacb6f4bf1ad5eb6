"""The CLI reference (``docs/cli.md``), rendered from the Typer app itself:
``python -m g2rec_cli.reference > docs/cli.md``; a test keeps the file in step."""

from __future__ import annotations

import typer.main

from .main import app

HEADER = """# g2rec command reference

Generated from the CLI itself (`python -m g2rec_cli.reference > docs/cli.md`); `tests/cli/test_readme.py`
fails when it drifts. `g2rec VERB -h` prints the same. Every verb prints a summary table, or one JSON
object with `--json`; a mistake is one line on stderr and exit code 2.
"""


def _default(param) -> str:
    flag = getattr(param, "is_flag", False)
    if flag and param.secondary_opts:
        return f"`{(param.opts if param.default else param.secondary_opts)[0]}`"
    if param.default is None or param.default == () or param.required:
        return "required" if param.required else ""
    if flag:
        return "off" if not param.default else "on"
    return f"`{param.default}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def reference() -> str:
    """The whole reference as Markdown."""
    group = typer.main.get_command(app)
    out = [HEADER]
    for name, command in group.commands.items():
        arguments = " ".join(p.metavar or p.name.upper() for p in command.params if p.param_type_name == "argument")
        out.append(f"## `g2rec {name}{' ' + arguments if arguments else ''}`\n")
        out.append(_cell(command.help or "") + "\n")
        rows = [(f"`{', '.join(p.opts + list(p.secondary_opts))}`", _default(p), _cell(p.help or ""))
                for p in command.params if p.param_type_name == "option"]
        if rows:
            out.append("| option | default | what it does |\n|---|---|---|")
            out.extend(f"| {o} | {d} | {h} |" for o, d, h in rows)
            out.append("")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(reference(), end="")
