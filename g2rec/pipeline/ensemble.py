"""``g2rec ensemble``: several trained models of one run folder scored as one (either head).

The ensemble is a model folder like any other, ``RUN_DIR/models/NAME/config.json`` with
``"model": "ensemble"`` and its ``members`` (names of trained models in the same run); it has
no weights of its own (:class:`~g2rec.model.ensemble.Ensemble` averages the members'
log-probabilities). ``evaluate``, ``tune-prior`` and ``recommend`` load it like a trained
model. Its validation metrics are computed when it is made and kept in its config.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from ..atomic import write_json_atomic
from ..data.sequences import VALID
from ..errors import ConfigError, G2RecError
from ..eval.protocol import evaluate_ranking
from ..eval.scorers import make_scorer
from ..measure import Stopwatch, peak_memory_mb
from ..model.ensemble import Ensemble
from ..model.prior import PriorConfig
from .models import load_trained, read_config
from .runfolder import RunFolder


def make_ensemble(run_dir: str | Path, members: list[str], name: str, progress=None) -> dict:
    """Write ``models/NAME`` as the ensemble of the trained ``members`` (at least two distinct
    models of either head, none itself an ensemble) and score it on validation (full ranking).

    Returns a summary: ``name``, ``members``, ``valid_ndcg10``, ``valid_recall10`` and each
    member's own validation NDCG@10 as recorded by its training (``member_valid_ndcg10``).
    """
    clock = Stopwatch()
    run = RunFolder(run_dir)
    if len(set(members)) != len(members) or len(members) < 2 or name in members:
        raise ConfigError(f"ensemble {name!r}: needs at least 2 distinct members, not itself (got {members})")
    folder = run.model_folder(name)
    if (folder / "config.json").exists() and read_config(run, folder)["model"] != "ensemble":
        raise G2RecError(f"{folder}: holds a trained model, not an ensemble; choose another --name")
    nets, own = [], []
    for member in members:
        net, _, record = load_trained(run, member)
        if record["model"] == "ensemble":
            raise ConfigError(f"ensemble member {member!r} is itself an ensemble: list its members instead")
        nets.append(net)
        trained = run.manifest.get("stages", {}).get("train", {}).get(member, {})
        own.append(trained.get("summary", {}).get("valid_ndcg10"))
    ensemble = Ensemble(nets).eval()
    seq = run.sequences()
    valid = evaluate_ranking(make_scorer(ensemble, None), seq, VALID, ensemble.config.max_len, batch=512,
                             progress=progress)
    summary = {"name": name, "members": members, "valid_ndcg10": round(valid["NDCG@10"], 5),
               "valid_recall10": round(valid["Recall@10"], 5), "member_valid_ndcg10": own,
               "seconds": round(clock.seconds, 1), "peak_memory_mb": round(peak_memory_mb(), 1)}
    rel = f"models/{name}"
    with run.staging(rel) as staged:  # a new folder: an earlier ensemble of that name goes with its metrics
        staged[rel].mkdir()
        write_json_atomic(staged[rel] / "config.json", {"model": "ensemble", "members": members,
                                                        "max_len": ensemble.config.max_len,
                                                        "prior": asdict(PriorConfig()), "beam": 20, "valid": summary})
        run.record("ensemble", name, summary, files=[f"{rel}/config.json"], forget=rel, staged=staged)
    return summary

