"""Published results on the same data as plain records, each with where it comes from.

Only numbers other papers report are kept here (our own numbers are read from each model's
``metrics.json``). The values are those of ``../shared/ARCHITECTURE.md`` ("Published anchors
on the same data"), which transcribes them from the papers named in ``source``; ``table`` says
which table where that transcription records it. A run is matched to a dataset by its
input file's SHA-256 (or its name and format) and a leave-one-out split, as the papers use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TRANSCRIBED_FROM = "ARCHITECTURE.md, 'Published anchors on the same data'"


@dataclass(frozen=True)
class Anchor:
    """One published row: ``metrics`` keyed like ``metrics.json`` (``recall@10``, ``ndcg@10``)."""

    system: str
    metrics: dict[str, float]
    protocol: str  # "full ranking" or "sampled-99"
    source: str
    table: str = "not recorded"
    transcribed_from: str = TRANSCRIBED_FROM


@dataclass(frozen=True)
class Dataset:
    """A public dataset the anchors refer to, recognised by its input file."""

    name: str
    sha256: frozenset[str]
    file_names: frozenset[str]
    formats: frozenset[str]
    anchors: tuple[Anchor, ...] = field(default=())


TIGER_PAPER = "Rajput et al., Recommender Systems with Generative Retrieval (TIGER), NeurIPS 2023"
TIGER_TABLE = "main results table, Amazon Beauty, Recall/NDCG@5 and @10"
SODA_PAPER = "SODA paper (as named in ARCHITECTURE.md)"
RPG_PAPER = "Hou et al., Generating Long Semantic IDs in Parallel for Recommendation (RPG), KDD 2025"

BEAUTY = Dataset(
    name="Amazon 2014 Beauty (S3Rec 5-core)",
    sha256=frozenset({"42279f722e834b737ba8ce0db247884ea80a1f9d100fe563663351867af46189"}),
    file_names=frozenset({"Beauty.txt.gz", "Beauty.txt"}),
    formats=frozenset({"s3rec"}),
    anchors=(
        Anchor("SASRec (TIGER paper)", {"recall@5": .0387, "ndcg@5": .0249, "recall@10": .0605, "ndcg@10": .0318},
               "full ranking", TIGER_PAPER, TIGER_TABLE),
        Anchor("TIGER (TIGER paper)", {"recall@5": .0454, "ndcg@5": .0321, "recall@10": .0648, "ndcg@10": .0384},
               "full ranking", TIGER_PAPER, TIGER_TABLE),
        Anchor("SASRec tuned (cornac)", {"recall@5": .0508, "ndcg@5": .0348, "recall@10": .0740, "ndcg@10": .0423},
               "full ranking", "cornac's tuned SASRec (as named in ARCHITECTURE.md)"),
        Anchor("ETEGRec (SODA paper)", {"recall@10": .0775, "ndcg@10": .0426}, "full ranking", SODA_PAPER),
        Anchor("SODA-E (SODA paper)", {"recall@10": .0809, "ndcg@10": .0440}, "full ranking", SODA_PAPER),
        Anchor("RPG (paper)", {"recall@5": .0550, "ndcg@5": .0381, "recall@10": .0809, "ndcg@10": .0464},
               "full ranking", RPG_PAPER),
        Anchor("G2Rec (paper)", {"ndcg@5": .3035, "ndcg@10": .3334}, "sampled-99", "G2Rec paper (as named in ARCHITECTURE.md)"),
    ),
)

DATASETS = (BEAUTY,)


def dataset_of(manifest: dict) -> Dataset | None:
    """The known dataset a run folder was built from, or ``None``."""
    stage = manifest.get("stages", {}).get("build-graph", {})
    source = stage.get("input", {})
    split = stage.get("params", {}).get("prepare", {}).get("split")
    if split not in (None, "loo"):
        return None
    name = str(source.get("path", "")).replace("\\", "/").rsplit("/", 1)[-1]
    for dataset in DATASETS:
        if source.get("sha256") in dataset.sha256 or (name in dataset.file_names and source.get("format") in dataset.formats):
            return dataset
    return None


def anchors_for(manifest: dict, protocol: str) -> list[Anchor]:
    """Published rows of the run's dataset under ``protocol`` (empty for unknown data)."""
    dataset = dataset_of(manifest)
    return [a for a in dataset.anchors if a.protocol == protocol] if dataset else []
