"""``g2rec datasets``: the public datasets build-graph reads by name."""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.table import Table

from g2rec.pipeline import list_datasets

from .ui import JsonOption


def datasets_command(json_out: bool = JsonOption):
    """List the named datasets (`g2rec build-graph NAME -o RUN_DIR`): source, SHA-256 and the verified local copy."""
    rows = list_datasets()
    if json_out:
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    table = Table(title="named datasets (build-graph NAME -o RUN_DIR)", title_justify="left")
    for column in ("name", "description", "local copy (verified)", "source", "sha256"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(r["name"], r["description"], r["local"] or "not here: downloaded on first use", r["source"], r["sha256"])
    Console().print(table)
