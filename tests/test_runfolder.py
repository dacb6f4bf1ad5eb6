"""The run folder's manifest: entries recorded by separate processes all survive."""

import json

from g2rec.pipeline.runfolder import RunFolder


def test_records_from_two_openers_both_survive(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"stages": {"build-graph": {"summary": {"num_users": 1, "num_items": 1, "num_interactions": 1}}}}))
    first, second = RunFolder(tmp_path), RunFolder(tmp_path)  # e.g. two trainings started together
    first.record("train", "a", {"summary": 1})
    second.record("train", "b", {"summary": 2})
    first.record("embed", "lightgcn", {"summary": 3})
    stages = json.loads((tmp_path / "manifest.json").read_text())["stages"]
    assert stages["train"] == {"a": {"summary": 1}, "b": {"summary": 2}}
    assert stages["embed"] == {"lightgcn": {"summary": 3}}
    assert "build-graph" in stages
