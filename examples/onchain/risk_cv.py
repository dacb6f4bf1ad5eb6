"""Cross-validation and plots of the wallet-risk example (``wallet_risk.py``).

Each feature set is scored by stratified k-fold cross-validation (seeded). Everything that sees
labels is fitted inside the training folds only: the scaler and the classifier, and the decision
threshold, which is the one maximizing F1 on out-of-fold predictions of an inner k-fold split of
the training folds; the test fold is scored once with that threshold. With ``groups`` (e.g. the
accounts of one phishing campaign) both splits keep each group within one fold
(``StratifiedGroupKFold``), so no campaign is in training and test at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
import numpy as np
from joblib import Parallel, delayed, parallel_config
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


@dataclass
class CVConfig:
    """folds: outer stratified folds; inner_folds: folds inside the training part that choose
    the threshold; seed: fold shuffling and the gradient-boosting seed."""

    folds: int = 5
    inner_folds: int = 3
    seed: int = 0


CLASSIFIERS = ("logreg", "gboost", "gboost-slow", "forest")


def make_classifier(name: str, seed: int):
    """A fresh unfitted classifier: ``logreg`` (standardized, L2, C=0.1), ``gboost`` (histogram
    gradient boosting, 300 trees of at most 15 leaves, learning rate 0.05), ``gboost-slow`` (600
    trees at learning rate 0.025, each split drawn from 30% of the features, leaves of >= 10
    accounts) or ``forest`` (random forest, 500 trees, leaves of >= 2 accounts)."""
    if name == "logreg":
        return make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=1000))
    if name == "gboost":
        return HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, max_leaf_nodes=15,
                                              l2_regularization=1.0, random_state=seed)
    if name == "gboost-slow":
        return HistGradientBoostingClassifier(max_iter=600, learning_rate=0.025, max_leaf_nodes=15,
                                              l2_regularization=1.0, min_samples_leaf=10, max_features=0.3,
                                              random_state=seed)
    if name == "forest":
        return RandomForestClassifier(n_estimators=500, min_samples_leaf=2, n_jobs=1, random_state=seed)
    raise ValueError(f"unknown classifier {name!r}; choose one of {', '.join(CLASSIFIERS)}")


def best_threshold(y: np.ndarray, scores: np.ndarray) -> float:
    """The score threshold (among the 1st..99th percentiles of ``scores``) with the best F1."""
    candidates = np.unique(np.quantile(scores, np.linspace(0.01, 0.99, 99)))
    f1 = [f1_score(y, scores >= t, zero_division=0.0) for t in candidates]
    return float(candidates[int(np.argmax(f1))])


def cross_validate(x: np.ndarray, y: np.ndarray, classifier: str, config: CVConfig,
                   groups: np.ndarray | None = None) -> dict:
    """ROC-AUC and F1 per test fold of ``x`` ``(N, F)`` against ``y`` ``(N,)`` in {0, 1};
    ``groups`` ``(N,)``: group ids no fold boundary may cut (None = plain stratified folds).

    Returns ``auc``/``f1`` (mean), ``auc_std``/``f1_std``, per-fold lists, the thresholds and
    ``scores`` ``(N,)``: each account's score from the model that did not see it (for ROC plots).
    """
    folds = StratifiedKFold if groups is None else StratifiedGroupKFold
    outer = folds(config.folds, shuffle=True, random_state=config.seed)
    scores = np.zeros(len(y))
    aucs, f1s, thresholds = [], [], []
    for train, test in outer.split(x, y, groups):
        inner = folds(config.inner_folds, shuffle=True, random_state=config.seed + 1)
        inner_scores = cross_val_predict(make_classifier(classifier, config.seed), x[train], y[train],
                                         groups=None if groups is None else groups[train], cv=inner,
                                         method="predict_proba")[:, 1]
        threshold = best_threshold(y[train], inner_scores)
        model = make_classifier(classifier, config.seed).fit(x[train], y[train])
        scores[test] = model.predict_proba(x[test])[:, 1]
        aucs.append(roc_auc_score(y[test], scores[test]))
        f1s.append(f1_score(y[test], scores[test] >= threshold, zero_division=0.0))
        thresholds.append(threshold)
    return {"auc": float(np.mean(aucs)), "auc_std": float(np.std(aucs)), "f1": float(np.mean(f1s)),
            "f1_std": float(np.std(f1s)), "auc_folds": [round(float(a), 4) for a in aucs],
            "f1_folds": [round(float(f), 4) for f in f1s], "thresholds": [round(t, 4) for t in thresholds],
            "scores": scores}


def cross_validate_all(tasks: list[tuple], config: CVConfig, jobs: int = 1) -> list[dict]:
    """:func:`cross_validate` of each ``(x, y, classifier, groups)`` in ``tasks``, ``jobs`` of them
    side by side in worker processes of one thread each (largest ``x`` first, for an even load); the
    results in the order of ``tasks``, the same for any ``jobs``."""
    order = sorted(range(len(tasks)), key=lambda i: -tasks[i][0].size)
    if jobs == 1:
        done = [cross_validate(*tasks[i][:3], config, tasks[i][3]) for i in order]
    else:
        with parallel_config(backend="loky", inner_max_num_threads=1):
            done = Parallel(n_jobs=jobs)(delayed(cross_validate)(*tasks[i][:3], config, tasks[i][3]) for i in order)
    results = [None] * len(tasks)
    for i, r in zip(order, done):
        results[i] = r
    return results


def plot_roc(curves: dict[str, tuple[np.ndarray, np.ndarray, float]], path: Path, title: str) -> None:
    """One ROC curve per feature set: ``curves[name] = (y, out-of-fold scores, mean fold AUC)``."""
    fig, ax = plt.subplots(figsize=(6, 5.5))
    for name, (y, scores, auc) in curves.items():
        fpr, tpr, _ = roc_curve(y, scores)
        ax.plot(fpr, tpr, label=f"{name} (AUC {auc:.3f})", linestyle="--" if name.startswith("crawl") else "-")
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
    ax.set_xlabel("false positive rate (normal accounts flagged)")
    ax.set_ylabel("true positive rate (phishing accounts flagged)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_prototype_rates(rows: list[dict], base_rate: float, path: Path, title: str, top: int = 16) -> None:
    """Per prototype (``rows``: ``name``, ``mass``, ``rate``), the phishing share of the accounts'
    membership mass beside that mass; the dashed line is the share over all accounts."""
    rows = sorted(rows, key=lambda r: -r["mass"])[:top]
    y = np.arange(len(rows))
    fig, (rate, mass) = plt.subplots(1, 2, figsize=(12, 0.4 * len(rows) + 1.8), sharey=True,
                                     gridspec_kw={"width_ratios": [3, 1]})
    rate.barh(y, [r["rate"] for r in rows], color=[plt.cm.RdYlGn_r(r["rate"]) for r in rows])
    rate.axvline(base_rate, color="black", linestyle="--", linewidth=0.8)
    for k, r in enumerate(rows):
        rate.text(0.01, k, f"#{r['prototype']} {r['name'][:60]}", va="center", fontsize=7)
    rate.set_yticks([])
    rate.invert_yaxis()
    rate.set_xlim(0, 1)
    rate.set_xlabel("phishing share of the prototype's account mass")
    mass.barh(y, [r["mass"] for r in rows], color="tab:blue", alpha=0.6)
    mass.set_xlabel("account mass")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
