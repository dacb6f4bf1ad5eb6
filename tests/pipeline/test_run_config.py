"""`g2rec run CONFIG.toml`: every stage from one file, unchanged stages skipped, a killed training resumed."""

import json
import signal
import subprocess
import sys
import time

import pytest
from g2rec_cli.main import app
from typer.testing import CliRunner

from g2rec import run_pipeline
from g2rec.data.synthetic import SyntheticConfig, generate_log
from g2rec.errors import ConfigError
from g2rec.pipeline import load_config, write_log
from tests.conftest import MOVIELENS

runner = CliRunner()
FAST = """
[tokenize]
num_prototypes = 8
iterations = 30
levels = 2
leiden = false

[train]
model = "sasrec"
epochs = 2
dim = 16
max_len = 10
threads = 1

[evaluate]
split = "valid"
"""


def ran(summary: dict) -> list[str]:
    return [stage for stage, s in summary["stages"].items() if "skipped" not in s]


def test_a_generated_log_end_to_end_then_only_what_changed(tmp_path):
    write_log(generate_log(SyntheticConfig(num_users=400, num_items=150, seed=3)), tmp_path / "log.csv")
    config = tmp_path / "pipeline.toml"
    config.write_text('input = "log.csv"\nrun_dir = "run"\n\n[embed]\nmethod = "spectral"\ndim = 16\n' + FAST)
    first = run_pipeline(config)
    assert ran(first) == ["build-graph", "embed", "tokenize", "train", "evaluate"]
    assert first["stages"]["evaluate"]["model"] == "sasrec-items" and (tmp_path / "run" / "graph.npz").exists()
    assert ran(run_pipeline(config)) == []
    assert ran(run_pipeline(config, ["train.epochs=3"])) == ["train", "evaluate"]
    assert ran(run_pipeline(config, ["train.epochs=3"])) == []
    assert ran(run_pipeline(config, ["train.epochs=3", "tokenize.num_prototypes=6"])) == ["tokenize", "train", "evaluate"]
    result = runner.invoke(app, ["run", str(config), "--set", "train.epochs=3", "--set", "tokenize.num_prototypes=6"])
    assert result.exit_code == 0 and result.stdout.count("skipped (unchanged)") == 5, result.output


def test_a_real_log_and_a_second_run_that_skips_everything(tmp_path):
    config = tmp_path / "ml.toml"
    config.write_text(f'input = "{MOVIELENS}"\nrun_dir = "run"\n[read]\nformat = "movielens"\n[graph]\nbuilder = "window"\n'
                      + FAST)
    result = runner.invoke(app, ["run", str(config), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["stages"]["build-graph"]["num_users"] == 943 and summary["stages"]["evaluate"]["split"] == "valid"
    again = json.loads(runner.invoke(app, ["run", str(config), "--json"]).stdout)
    assert ran(again) == [] and again["seconds"] < summary["seconds"]


@pytest.mark.parametrize("text, overrides, message", [
    ('input = "x"\nrun_dir = "r"\n[trian]\nepochs = 1\n', [], "unknown key 'trian'"),
    ('input = "x"\nrun_dir = "r"\n[train]\nepoch = 1\n', [], "[train] has no option 'epoch'"),
    ('input = "x"\nrun_dir = "r"\n[read]\nuser_column = "u"\n', [], "[read] has no option 'user_column'"),
    ('input = "x"\nrun_dir = "r"\n[embed]\nmethod = "spectral"\nepochs = 3\n', [], "method 'spectral' has no option 'epochs'"),
    ('run_dir = "r"\n', [], "'input' must be given"),
    ('input = "x"\nrun_dir = "r"\n', ["train.epochs"], "expected TABLE.KEY=VALUE"),
    ('input = "x"\nrun_dir = "r"\n', ["a.b.c=1"], "one table and one key"),
    ('input = "x"\nrun_dir = "r"\n', ["graph.windw=3"], "[graph] has no option 'windw'"),
    ('input = "x"\nrun_dir = [\n', [], "not TOML"),
    ('input = "x"\nrun_dir = "r"\n[evaluate]\n', [], "add a [train] table"),
])
def test_bad_configs_fail_in_one_line_before_any_work(tmp_path, text, overrides, message):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    with pytest.raises(ConfigError) as e:
        run_pipeline(config, overrides)
    assert message in str(e.value) and "\n" not in str(e.value)
    assert not (tmp_path / "r").exists()


def test_overrides_are_read_as_toml_values(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('input = "log.csv"\nrun_dir = "run"\n')
    loaded = load_config(config, ["train.epochs=5", "train.graph_prior=false", "read.user_col=wallet", "train.lr=3e-4"])
    assert loaded["train"] == {"epochs": 5, "graph_prior": False, "lr": 3e-4} and loaded["read"] == {"user_col": "wallet"}
    assert loaded["input"] == str(tmp_path / "log.csv")


def test_a_killed_training_resumes(tmp_path):
    config = tmp_path / "ml.toml"
    config.write_text(f'input = "{MOVIELENS}"\nrun_dir = "run"\n' + FAST.replace("epochs = 2", "epochs = 5"))
    command = [sys.executable, "-m", "g2rec_cli.main", "run", str(config)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = tmp_path / "run" / "models" / "sasrec-items" / "train_log.jsonl"
    deadline = time.time() + 300
    while not (log.exists() and log.read_text().count("\n") >= 2) and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = log.read_text().splitlines()
    assert 2 <= len(before) < 5
    result = runner.invoke(app, ["run", str(config), "--json"])
    assert result.exit_code == 0, result.output
    after = log.read_text().splitlines()
    assert len(after) == 5 and after[:len(before) - 1] == before[:len(before) - 1]  # the kept epochs, timings and all
    assert ran(json.loads(result.stdout)) == ["train", "evaluate"]
