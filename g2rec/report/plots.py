"""The report's PNG figures (matplotlib, Agg backend): one function per figure, each writes ``path``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import G2RecError
from .breakdown import LengthBreakdown

# bar colours by kind of row; published rows are hatched
COLOURS = {"g2rec": "#1f77b4", "sasrec": "#2ca02c", "tiger": "#9467bd", "soda-tiger": "#7b4173", "tiger-mlp": "#c5b0d5", "popularity": "#7f7f7f", "knn": "#a0a0a0",
           "published": "#ff7f0e", "unknown": "#17becf"}
DPI = 110
FAMILY_MAPS = {"g2rec": "Blues", "sasrec": "Greens", "tiger": "Purples", "soda-tiger": "Purples", "tiger-mlp": "Purples", "popularity": "Greys", "knn": "Greys"}
STYLES = ("-", "--", "-.", ":")


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend, or one clear error naming the extra."""
    try:
        import matplotlib
    except ImportError:
        raise G2RecError("the report needs matplotlib: pip install 'g2rec[report]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    plt.rcParams.update({"font.size": 10, "axes.titlesize": 11, "axes.spines.top": False,
                         "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3})
    return plt


def metric_label(metric: str) -> str:
    """``ndcg@10`` -> ``NDCG@10``."""
    return metric.replace("recall", "Recall").replace("ndcg", "NDCG").replace("mrr", "MRR")


def line_styles(kinds: dict[str, str]) -> dict[str, dict]:
    """Per model a colour from its family's colour map (g2rec blues, SASRec greens, ...) and a
    line style, so that lines of one family look related and stay distinguishable."""
    plt = pyplot()
    families: dict[str, list[str]] = {}
    for name, kind in kinds.items():
        families.setdefault(FAMILY_MAPS.get(kind, "Oranges"), []).append(name)
    styles = {}
    for cmap_name, names in families.items():
        cmap = plt.get_cmap(cmap_name)
        shades = np.linspace(0.85, 0.45, len(names)) if len(names) > 1 else [0.7]
        for i, (name, shade) in enumerate(zip(names, shades)):
            styles[name] = {"color": cmap(shade), "linestyle": STYLES[i % len(STYLES)]}
    return styles


def _save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    pyplot().close(fig)
    return path


def metric_bars(rows: list[tuple[str, str, dict]], metrics: tuple[str, ...], title: str, path: Path) -> Path:
    """Horizontal bars, one panel per metric: ``rows`` are ``(label, kind, metrics)``, kind
    ``published`` for papers' numbers (hatched); best row on top, sorted by the last metric."""
    plt = pyplot()
    rows = sorted(rows, key=lambda r: r[2].get(metrics[-1], -1.0))
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), max(2.6, 0.9 + 0.34 * len(rows))), sharey=True,
                             squeeze=False, layout="constrained")
    y = np.arange(len(rows))
    for ax, metric in zip(axes[0], metrics):
        values = np.array([r[2].get(metric, np.nan) for r in rows], dtype=float)
        colours = [COLOURS.get(kind, COLOURS["unknown"]) for _, kind, _ in rows]
        bars = ax.barh(y, np.nan_to_num(values), color=colours, edgecolor="white", height=0.75)
        for bar, (_, kind, _), value in zip(bars, rows, values):
            if kind == "published":
                bar.set_hatch("///")
                bar.set_edgecolor("#b35900")
            ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2,
                    " n/a" if np.isnan(value) else f" {value:.4f}", va="center", fontsize=8)
        ax.set_xlim(0, np.nanmax(values) * 1.22 if np.isfinite(values).any() else 1)
        ax.set_xlabel(metric_label(metric))
        ax.grid(axis="y", visible=False)
    axes[0][0].set_yticks(y, [label for label, _, _ in rows])
    present = {kind for _, kind, _ in rows}
    kinds = [k for k in COLOURS if k in present] + sorted(present - set(COLOURS))
    handles = [plt.Rectangle((0, 0), 1, 1, facecolor=COLOURS.get(k, COLOURS["unknown"]),
                             hatch="///" if k == "published" else None, edgecolor="#b35900" if k == "published" else "white")
               for k in kinds]
    fig.legend(handles, [("published (paper)" if k == "published" else k) for k in kinds], loc="outside lower center",
               ncol=len(kinds), frameon=False)
    fig.suptitle(f"{title} (sorted by {metric_label(metrics[-1])})")
    return _save(fig, path)


def training_curves(curves: dict[str, list[dict]], kinds: dict[str, str], path: Path) -> Path:
    """Training loss and validation NDCG@10 per epoch, a line per model; best epoch marked."""
    plt = pyplot()
    fig, (loss_ax, valid_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = line_styles({name: kinds.get(name, "unknown") for name in curves})
    for name, curve in curves.items():
        epochs = [r["epoch"] for r in curve]
        ndcg = [r.get("valid", {}).get("NDCG@10", np.nan) for r in curve]
        loss_ax.plot(epochs, [r.get("loss", np.nan) for r in curve], label=name, lw=1.7, **styles[name])
        valid_ax.plot(epochs, ndcg, label=name, lw=1.7, **styles[name])
        if np.isfinite(ndcg).any():
            best = int(np.nanargmax(ndcg))
            valid_ax.plot(epochs[best], ndcg[best], "o", color=styles[name]["color"], ms=6, mec="black", mew=0.6)
    loss_ax.set(title="Training loss", xlabel="epoch", ylabel="cross-entropy")
    valid_ax.set(title="Validation NDCG@10 (full ranking; dot = best epoch, kept)", xlabel="epoch", ylabel="NDCG@10")
    valid_ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False, fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def length_plot(breakdowns: dict[str, LengthBreakdown], kinds: dict[str, str], k: int, path: Path) -> Path:
    """NDCG@K and Recall@K per history-length bucket, a line per model; user counts on the axis."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    first = next(iter(breakdowns.values()))
    x = np.arange(len(first.labels))
    styles = line_styles({name: kinds.get(name, "unknown") for name in breakdowns})
    for ax, metric in zip(axes, (f"ndcg@{k}", f"recall@{k}")):
        for name, b in breakdowns.items():
            ax.plot(x, b.metrics[metric], marker="o", label=name, lw=1.7, ms=4, **styles[name])
        ax.set_xticks(x, [f"{label}\n{n:,} users" for label, n in zip(first.labels, first.users)])
        ax.set(xlabel="interactions before the held-out item", ylabel=metric.replace("ndcg", "NDCG").replace("recall", "Recall"),
               title=f"{metric.replace('ndcg', 'NDCG').replace('recall', 'Recall')} by history length")
        ax.set_ylim(bottom=0)
    axes[1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False, fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def prototype_sizes(mass: np.ndarray, top_counts: np.ndarray, title: str, path: Path) -> Path:
    """Prototype sizes, largest first: soft mass (sum of memberships) and items whose top prototype it is."""
    plt = pyplot()
    order = np.argsort(-mass, kind="stable")
    fig, ax = plt.subplots(figsize=(max(6.0, 0.28 * len(mass) + 3), 4.0))
    x = np.arange(len(mass))
    ax.bar(x - 0.2, mass[order], width=0.4, color="#1f77b4", label="mass (sum of memberships)")
    ax.bar(x + 0.2, top_counts[order], width=0.4, color="#ff7f0e", label="items with it as top prototype")
    ax.set_xticks(x, [str(c) for c in order], fontsize=8 if len(mass) <= 40 else 6)
    if mass.max() > 30 * max(mass.min(), 1e-9):
        ax.set_yscale("log")
    ax.set(xlabel="prototype (largest first)", ylabel="items", title=title)
    ax.legend(frameon=False)
    fig.tight_layout()
    return _save(fig, path)


def item_map(coords: np.ndarray, labels: np.ndarray, names: list[str], title: str, path: Path) -> Path:
    """Scatter of 2-D item coordinates coloured by top prototype (``-1``: none, grey)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8.5, 6.5))
    order = np.random.default_rng(0).permutation(len(coords))  # no prototype drawn entirely on top
    coords, labels = coords[order], labels[order]
    count = len(names)
    cmap = plt.get_cmap("tab10" if count <= 10 else "tab20" if count <= 20 else "turbo")
    colours = np.array([cmap(i % cmap.N if count <= 20 else i / max(count - 1, 1)) for i in range(count)] or [(0, 0, 0, 1)])
    none = labels < 0
    ax.scatter(*coords[none].T, s=5, c="#cccccc", alpha=0.6, linewidths=0, label="no prototype" if none.any() else None)
    ax.scatter(*coords[~none].T, s=6, c=colours[labels[~none]], alpha=0.7, linewidths=0)
    if count <= 20:
        for c, name in enumerate(names):
            ax.scatter([], [], s=30, color=colours[c], label=name)
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=8, title="top prototype")
    lo, hi = np.quantile(coords, [0.002, 0.998], axis=0)  # a few far outliers would squeeze the rest
    pad = 0.05 * (hi - lo)
    ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
    ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
    ax.set(xlabel="principal component 1", ylabel="principal component 2", title=title)
    ax.grid(False)
    fig.tight_layout()
    return _save(fig, path)
