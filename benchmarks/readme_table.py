"""The README's results table, made from `benchmarks/results/quality.json`:
``python benchmarks/readme_table.py`` prints it; `tests/cli/test_readme.py` checks that the
README holds exactly this text, so the table cannot drift from the saved results."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "quality.json"
DATASETS = {"beauty": "Amazon Beauty", "toys": "Amazon Toys", "scientific": "Amazon Scientific", "ml-100k": "MovieLens-100K"}
# column -> the quality.json rows that fill it, the first present wins
COLUMNS = {"popularity": ["popularity"], "graph item-kNN": ["knn"], "SASRec": ["sasrec-items"],
           "g2rec, recipes' full-softmax network + prior": ["g2rec-items-d128-prior-tuned", "g2rec-items-prior-tuned"],
           "g2rec's default (`g2rec train`)": ["g2rec"]}
# SASRec with sampled softmax as published on the same data and protocol (eSASRec paper, RecSys 2025)
PUBLISHED = {"beauty": (0.0531, 0.0921), "toys": (0.0580, 0.0970)}


def table() -> str:
    results = json.loads(RESULTS.read_text())
    lines = ["| test NDCG@10 / Recall@10 | " + " | ".join(COLUMNS) + " | published SASRec+SS |",
             "|---" * (len(COLUMNS) + 2) + "|"]
    for key, name in DATASETS.items():
        rows = results[key]["rows"]
        cells = []
        for candidates in COLUMNS.values():
            row = next((rows[c]["full-ranking"] for c in candidates if c in rows), None)
            cells.append(f"{row['ndcg@10']:.4f} / {row['recall@10']:.4f}" if row else "-")
        published = PUBLISHED.get(key)
        cells.append(f"{published[0]:.4f} / {published[1]:.4f}" if published else "-")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(table(), end="")
