"""benchmarks/generate.py's loss comparison: each case trains and measures, a case that does not
fit its memory cap is reported as such, not dropped."""


import pytest


@pytest.mark.parametrize("name", ["ce", "sampled-uniform", "sampled-popularity", "sampled-in-batch", "gbce"])
def test_every_loss_case_trains_and_measures(load_benchmark, name):
    generate = load_benchmark("generate")
    row = generate.loss_case(name, items=300, steps=2, batch=8, max_len=10)
    assert row["targets_per_second"] > 0 and row["peak_rss_mib"] > 0


def test_a_case_over_its_cap_is_reported(load_benchmark, monkeypatch):
    generate = load_benchmark("generate")
    monkeypatch.setattr(generate, "LOSS_ITEMS", (1_000_000,))
    monkeypatch.setattr(generate, "LOSS_CASES", {"ce": {"loss": "ce"}})
    rows = generate.loss_table(steps=1, batch=64, cap_gib=4.0, threads=1)     # (64 x 50, 1M) logits: 12 GiB
    assert rows[0]["loss"] == "ce" and "did not fit in 4 GiB" in rows[0]["failed"]
    assert "| ce | 1,000,000 | - | - | no:" in generate.loss_markdown(rows, 4.0)
