"""Shared by the on-chain examples: interest prototypes named in words, and the two plots.

Reads only run-folder artifacts that g2rec writes (``tokenize/report.json``,
``tokenize/prototypes.npz``, ``graph.npz`` through :func:`g2rec.load_graph`).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp
from address_labels import METHOD_NAMES, AddressLabels

import g2rec

GENERIC_FAMILIES = {"token-contract", "old-contract", "contract-deployer"}  # say little about an intent


def prototype_names(run: Path, labels: AddressLabels, describe=None) -> list[dict]:
    """Per prototype (``tokenize`` numbering): ``name`` in words, ``mass``, its central items
    described (``describe(items) -> phrases``, default ``labels.describe``) and how many are labelled.

    The name is the most frequent family among the labelled central items (specific families
    first: a ``token-contract`` says less than ``exchange``), and for intent items the most
    frequent method, then the name of its most central labelled item; prototypes whose central
    items are all unlabelled are called ``unlabelled``.
    """
    describe = describe or labels.describe
    report = json.loads((run / "tokenize" / "report.json").read_text())
    linked = coengagement(run, len(report["prototype_items"])).sum(1) > 0
    out = []
    for entry in report["prototype_items"]:
        items = [i["item_id"] for i in entry["items"]]
        known = labels.known(items)
        families = [f for f in labels.table["family"].reindex([i.split(":")[0] for i in items]).dropna()]
        tags = Counter(t for f in families for t in f.split("/"))
        specific = [t for t, _ in tags.most_common() if t not in GENERIC_FAMILIES]
        family = (specific or [t for t, _ in tags.most_common()] or ["unlabelled"])[0]
        methods = Counter(METHOD_NAMES.get(i.split(":")[1], i.split(":")[1]) for i in items if ":" in i)
        first = labels.table["name"].reindex([i.split(":")[0] for i in items]).dropna()
        name = family + (f" · {methods.most_common(1)[0][0]}" if methods else "") + \
            (f" ({first.iloc[0]})" if len(first) else "")
        if not linked[entry["prototype"]]:  # items seen only in validation/test: no graph edges
            name = "isolated items (no training co-engagement)"
        out.append({"prototype": entry["prototype"], "name": name, "mass": entry["mass"],
                    "labelled": int(known.sum()), "items": items, "described": describe(items)})
    return out


def print_prototypes(named: list[dict], top: int = 12, per: int = 4) -> None:
    """The ``top`` largest prototypes with their first ``per`` central items."""
    print(f"\nInterest prototypes (largest {min(top, len(named))} of {len(named)}, by mass = items' membership):")
    for p in sorted(named, key=lambda p: -p["mass"])[:top]:
        print(f"  #{p['prototype']:<3} {p['name']:<44} mass {p['mass']:7.1f}  "
              f"labelled {p['labelled']}/{len(p['items'])}: " + "; ".join(p["described"][:per]))


def coengagement(run: Path, count: int) -> np.ndarray:
    """``(C, C)`` co-engagement between prototypes: ``P^T A P`` with ``P`` the item memberships
    (``tokenize/prototypes.npz``) and ``A`` the training graph."""
    member = memberships(run, count)
    return (member.T @ g2rec.load_graph(run) @ member).toarray()


def memberships(run: Path, count: int | None = None) -> sp.csr_matrix:
    """``P`` ``(I, C)``: item memberships in the ``C`` prototypes (``tokenize/prototypes.npz``,
    rows sum to 1); ``count`` defaults to the number of prototype vectors."""
    data = np.load(run / "tokenize" / "prototypes.npz")
    idx, val = data["idx"], data["val"]
    count = len(data["vectors"]) if count is None else count
    rows = np.repeat(np.arange(idx.shape[0]), idx.shape[1])
    ok = idx.ravel() >= 0
    return sp.csr_matrix((val.ravel()[ok], (rows[ok], idx.ravel()[ok])), shape=(idx.shape[0], count))


def plot_metrics(metrics: dict[str, dict], path: Path, title: str) -> None:
    """Grouped bars of NDCG@10 and Recall@10 per model (``metrics[model] = {"ndcg@10", "recall@10"}``)."""
    models = list(metrics)
    x = np.arange(len(models))
    fig, ax = plt.subplots(figsize=(7, 4))
    for k, key in enumerate(("ndcg@10", "recall@10")):
        values = [metrics[m][key] for m in models]
        bars = ax.bar(x + (k - 0.5) * 0.38, values, 0.38, label=key.upper())
        ax.bar_label(bars, fmt="%.3f", fontsize=8)
    ax.set_xticks(x, models)
    ax.set_ylabel("test, full ranking")
    ax.set_title(title, fontsize=10)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_prototypes(run: Path, named: list[dict], path: Path, title: str, top: int = 20) -> None:
    """The ``top`` largest prototypes: left, their mass with their names and central items;
    right, the co-engagement between them (``P^T A P`` of the training graph, each row divided
    by its total: where a prototype's co-engagement goes)."""
    coarse = coengagement(run, len(named))
    keep = sorted(range(len(named)), key=lambda c: -named[c]["mass"])[:top]
    share = coarse[np.ix_(keep, keep)] / np.maximum(coarse[keep].sum(1, keepdims=True), 1e-12)
    fig, (bars, heat) = plt.subplots(1, 2, figsize=(16, 0.45 * len(keep) + 2), gridspec_kw={"width_ratios": [3, 2]})
    y = np.arange(len(keep))
    bars.barh(y, [named[c]["mass"] for c in keep], color="tab:blue", alpha=0.6)
    for k, c in enumerate(keep):
        items = "; ".join(_short(d, 28) for d in named[c]["described"][:3])
        bars.text(0, k, f" #{c} {named[c]['name']}\n   {items}", va="center", fontsize=7)
    bars.set_yticks([])
    bars.invert_yaxis()
    bars.set_xlabel("mass (sum of the items' memberships)")
    image = heat.imshow(share, cmap="viridis", vmin=0, vmax=1)
    heat.set_xticks(y, [f"#{c}" for c in keep], fontsize=7)
    heat.set_yticks(y, [f"#{c}" for c in keep], fontsize=7)
    heat.set_title("share of a prototype's co-engagement (row) going to each prototype", fontsize=8)
    fig.colorbar(image, ax=heat, fraction=0.046)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _short(text: str, width: int = 30) -> str:
    return text if len(text) <= width else text[: width - 2] + ".."
