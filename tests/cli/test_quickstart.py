"""The README's quickstart, pasted from the README and run: the CLI block, the Python block and the
pipeline file. Only the epochs (20 -> 1) and the run folders (into a temporary folder) change."""

import shlex
import subprocess
import sys
from pathlib import Path

from g2rec.pipeline import load_config

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def block(after: str, language: str) -> str:
    return README.split(after, 1)[1].split(f"```{language}\n", 1)[1].split("```", 1)[0]


def test_the_cli_and_python_quickstarts(tmp_path):
    """Both blocks, side by side (each has single-threaded stretches: two cores serve them both)."""
    code = block("### In Python", "python").replace('"runs/ml-py"', repr(str(tmp_path / "ml-py"))).replace("epochs=20", "epochs=1")
    python = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    commands = [line for line in block("## Quickstart on real data", "bash").splitlines() if line.startswith("g2rec ")]
    assert [c.split()[1] for c in commands] == ["build-graph", "tokenize", "train", "evaluate", "recommend", "recommend"]
    outputs = []
    for command in commands:
        args = shlex.split(command.replace("runs/ml", str(tmp_path / "ml")).replace("--epochs 20", "--epochs 1"))
        done = subprocess.run([sys.executable, "-m", "g2rec_cli.main", *args[1:]], cwd=ROOT, capture_output=True, text=True,
                              check=False)
        assert done.returncode == 0, f"{command}: {done.stderr[-2000:]}"
        outputs.append(done.stdout)
    assert "ndcg@10" in outputs[3].lower() and "g2rec-items" in outputs[3]
    assert "user 1: top 5" in outputs[4] and "interest P" in outputs[4]
    assert "history of 3 items: top 5" in outputs[5] and "interest P" in outputs[5]
    stdout, stderr = python.communicate(timeout=600)
    assert python.returncode == 0, stderr[-2000:]
    lines = stdout.splitlines()
    assert 0 < float(lines[0]) < 1 and "'user': '1'" in lines[1] and "'unknown_items': []" in lines[2]


def test_the_pipeline_file_is_the_readmes_and_loads():
    example = (ROOT / "examples" / "ml100k.toml").read_text()
    assert block("### One file for the whole pipeline", "toml").strip() in example.replace(
        '"../../shared/data/movielens_100k/u.data"', '"../../shared/data/movielens_100k/u.data"   # paths relative to this file')
    config = load_config(ROOT / "examples" / "ml100k.toml")
    assert Path(config["input"]).exists() and config["train"] == {"model": "g2rec", "epochs": 20}
