"""benchmarks/train_parallel.py: the device machine's models packed in parts under the size it sends back."""

import numpy as np


def test_pack_splits_the_models_into_parts_and_unpack_restores_them(tmp_path, load_benchmark):
    tp = load_benchmark("train_parallel")
    root, rng = tmp_path / "repo", np.random.default_rng(0)
    run = root / "runs" / "toys"
    model = run / "models" / "sasrec-items"
    model.mkdir(parents=True)
    (run / "manifest.json").write_text('{"stages": {}}')
    files = {"config.json": b'{"model": "sasrec"}', "best.safetensors": rng.bytes(2_500_000),
             "train_log.jsonl": b"{}\n"}
    for name, data in files.items():
        (model / name).write_bytes(data)
    (model / "checkpoint.safetensors").write_bytes(rng.bytes(1_000_000))      # optimizer state: left behind
    jobs = [{"run": run, "name": "sasrec-items"}, {"run": run, "name": "not-trained"}]
    parts = tp.pack(jobs, tmp_path / "out", part_bytes=2**20, root=root)
    assert [p.name for p in parts] == [f"models.tgz.{i:02d}" for i in range(len(parts))] and len(parts) == 3
    assert all(p.stat().st_size <= 2**20 for p in parts)
    back = tp.unpack(tmp_path / "out", tmp_path / "back")
    there = back / "runs" / "toys" / "models" / "sasrec-items"
    assert {f.name: f.read_bytes() for f in there.iterdir()} == files
    assert (back / "runs" / "toys" / "manifest.json").read_text() == '{"stages": {}}'
