"""The build-graph stage end to end: every shared dataset, the run folder, the manifest, --json."""

import json

import numpy as np
import pytest
from g2rec_cli.main import app
from typer.testing import CliRunner

from g2rec import build_graph, load_graph, load_sequences
from g2rec.data.sequences import TRAIN
from tests.conftest import BEAUTY, MOVIELENS, PHISHING, SCIENTIFIC, TOYS

runner = CliRunner()


@pytest.mark.parametrize("path, args, users, items", [
    (BEAUTY, [], 22_363, 12_101),
    (TOYS, [], 19_412, 11_924),
    (SCIENTIFIC, [], 8_317, 4_344),
    (MOVIELENS, ["--builder", "window"], 943, 1_682),
    (PHISHING, ["--intent", "--weight", "decay"], None, None),
])
def test_cli_builds_every_shared_dataset(shared_data, tmp_path, path, args, users, items):
    result = runner.invoke(app, ["build-graph", str(path), "-o", str(tmp_path / "run"), "--json", *args])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    for key in ("num_users", "num_items", "num_interactions", "num_edges"):
        assert isinstance(summary[key], int) and summary[key] > 0
    if users is not None:
        assert (summary["num_users"], summary["num_items"]) == (users, items)
    graph = load_graph(tmp_path / "run")
    assert graph.shape == (summary["num_items"],) * 2 and graph.nnz == 2 * summary["num_edges"]


def test_generic_csv_with_column_options_through_cli(tmp_path):
    rows = ["who;sku;ts;kind"] + [f"u{u};p{(u * 7 + k) % 13};2024-01-{k + 1:02d};{'buy' if k % 3 else 'view'}"
                                   for u in range(20) for k in range(6)]
    (tmp_path / "log.csv").write_text("\n".join(rows) + "\n")
    result = runner.invoke(app, ["build-graph", str(tmp_path / "log.csv"), "-o", str(tmp_path / "run"), "--json",
                                 "--user-col", "who", "--item-col", "sku", "--time-col", "ts",
                                 "--event-col", "kind", "--events", "buy", "--split", "temporal"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rows_other_events"] == 40 and summary["num_interactions"] == 80


def test_run_folder_and_manifest(shared_data, tmp_path):
    summary = build_graph(MOVIELENS, tmp_path / "run")
    files = {p.name for p in (tmp_path / "run").iterdir()}
    assert files == {"manifest.json", "graph.npz", "sequences.npz", "user_ids.parquet", "item_ids.parquet"}
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    stage = manifest["stages"]["build-graph"]
    assert stage["input"]["sha256"] and stage["input"]["format"] == "movielens"
    assert stage["params"]["graph"]["builder"] == "sampled"
    assert stage["summary"] == json.loads(json.dumps(summary))
    for key in ("degree_quantiles", "connected_components", "seconds", "peak_memory_mb", "time_ties"):
        assert key in stage["summary"]
    seq = load_sequences(tmp_path / "run")
    assert seq.num_interactions == 100_000 and (seq.split == TRAIN).sum() == summary["train_interactions"]


def test_same_seed_same_artifacts(shared_data, tmp_path):
    for name in ("a", "b"):
        build_graph(PHISHING, tmp_path / name)
    a, b = load_graph(tmp_path / "a"), load_graph(tmp_path / "b")
    assert (a != b).nnz == 0
    np.testing.assert_array_equal(load_sequences(tmp_path / "a").items, load_sequences(tmp_path / "b").items)


def test_help_explains_every_option():
    result = runner.invoke(app, ["build-graph", "--help"])
    assert result.exit_code == 0
    command = app.registered_commands[0]
    import inspect

    import typer

    for name, param in inspect.signature(command.callback).parameters.items():
        info = param.default
        if isinstance(info, typer.models.ParameterInfo):
            assert info.help, f"option {name} has no help text"
