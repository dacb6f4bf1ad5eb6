"""benchmarks/kill_soak.py: training killed twice with SIGKILL and resumed ends exactly as the
straight run (the benchmark kills five times, on g2rec's model with its graph prior search)."""

import g2rec
from tests.conftest import MOVIELENS


def test_killed_and_resumed_training_ends_as_the_straight_run(load_benchmark, tmp_path, shared_data):
    soak = load_benchmark("kill_soak")
    base = tmp_path / "base"
    g2rec.build_graph(MOVIELENS, base)
    train = ["--model", "sasrec", "--name", "m", "--epochs", "3", "--patience", "3", "--dim", "16", "--max-len", "10",
             "--threads", "1"]
    result = soak.soak(base, tmp_path, kills=2, seed=1, train=train)
    assert result["identical"] == {"summary": True, "prior": True, "test_metrics": True, "best_weights": True}, result
    assert any(event["killed"] for event in result["kills"]), result["kills"]
    assert result["straight"]["summary"]["epochs"] == 3
