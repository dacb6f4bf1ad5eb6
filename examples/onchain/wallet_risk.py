"""Flag phishing accounts from wallet embeddings (g2rec) against hand-made transaction features.

    python examples/onchain/wallet_risk.py

Accounts: the crawled accounts of the phishing crawl (``transactions_normalized.csv.gz``: each
crawled account's full external-transaction history) that have at least one successful
transaction; positives are those in ``phishing-address.txt``, negatives the other crawled ones.
The two classes are balanced by a seeded draw of as many phishing accounts as there are negatives
(as in trans2vec, Wu et al. 2020), and scored again on all accounts. Feature sets:

* ``hand``: the account's own activity (:func:`address_activity.address_features`:
  counts, degrees, values, shares, span; no absolute times), log-scaled;
* ``hand+behaviour``: the same plus the shape of its own activity
  (:func:`address_activity.behaviour_features`: value medians/minima/spread, round
  values, one-off counterparties, forwarding lag, gaps, hour-of-day entropy);
* ``g2rec``: the wallet in two run folders built on the whole log without labels (transductive):
  ``sent`` (user = sender, item = receiver) and ``received`` (:func:`g2rec.data.onchain.incoming`:
  user = receiver, item = sender). In each, the wallet as a user is its interest profile (mean
  prototype membership ``P`` of its history) and the mean spectral embedding of its history; the
  wallet as an item is its own ``P`` row and embedding. So both directions count: what it sends
  to, who sends to it, and where it sits among receivers and among senders. ``g2rec+lightgcn``
  adds, in both folders, a LightGCN embedding trained on the user-item (bipartite) graph (the
  wallet's own row as an item and the mean over its history as a user);
* ``crawl-source`` and ``crawl-neighbourhood``: the crawl's own structure (which crawl folder a
  row came from; how many crawled accounts are one and two hops away), never used in the others:
  they measure how much the crawl gives the label away.

With ``--grouped`` the last classifier also scores three sets with folds grouped by campaign
(:func:`campaign_groups`: accounts that pay each other or share a rarely touched counterparty,
Louvain communities, no labels), so that no campaign is in training and test at once.
``--received-max-rows N`` builds the ``received`` folder without receivers paid more than N
times (hub receivers; :func:`g2rec.data.onchain.filter_by_activity`).

Writes ``results.json``, ``roc.png`` and ``prototypes.png`` (phishing share per prototype).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from address_activity import address_features, behaviour_features, read_transfers
from address_labels import read_address_labels
from intents import memberships, prototype_names
from risk_cv import CLASSIFIERS, CVConfig, cross_validate_all, plot_prototype_rates, plot_roc

import g2rec
from g2rec.data.onchain import ActivityFilter, filter_by_activity, incoming
from g2rec.data.prepare import PrepareConfig
from g2rec.data.readers import ReadOptions, read_log
from g2rec.errors import DataError, G2RecError
from g2rec.pipeline.embed import embed
from g2rec.pipeline.tokenize import tokenize
from g2rec.tokenize.tokens import TokenizeConfig

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
CRAWL_COLS = ("from_address", "to_address", "is_error", "source_crawl", "from_is_crawled_account", "to_is_crawled_account")
SETS = ("crawl-source", "crawl-neighbourhood", "hand", "hand+behaviour", "g2rec", "g2rec+lightgcn", "hand+g2rec",
        "hand+behaviour+g2rec+lightgcn")
ALL_ACCOUNTS_SETS = ("hand", "g2rec+lightgcn", "hand+behaviour+g2rec+lightgcn")
GROUPED_SETS = ALL_ACCOUNTS_SETS  # balanced again, folds that keep each campaign (campaign_groups) whole
MATCHED_SETS = ("crawl-neighbourhood", "hand", "hand+behaviour", "g2rec", "g2rec+lightgcn", "hand+behaviour+g2rec+lightgcn")
BOUNDED = ("_share", "_position", "_entropy", "_cv", "_std", "_is_in", "_is_out")  # columns log_scaled leaves as they are


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DATA, help="folder with the Ethereum sets (default: ../shared/data)")
    p.add_argument("--out", type=Path, default=ROOT / "runs" / "onchain" / "wallet_risk", help="run folder")
    p.add_argument("--dim", type=int, default=32, help="spectral embedding dimension")
    p.add_argument("--lightgcn-dim", type=int, default=64, help="LightGCN (bipartite graph) embedding dimension")
    p.add_argument("--lightgcn-steps", type=int, default=400, help="LightGCN training steps (the library's default)")
    p.add_argument("--prototypes", type=int, default=32, help="interest prototypes at the start")
    p.add_argument("--folds", type=int, default=5, help="outer cross-validation folds")
    p.add_argument("--seed", type=int, default=0, help="folds, balancing draw, classifiers, g2rec stages")
    p.add_argument("--classifiers", default="logreg,gboost",
                   help=f"comma-separated, of {', '.join(CLASSIFIERS)}; the last one also scores all accounts "
                        "(and campaign folds with --grouped) and draws the ROC")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--jobs", type=int, default=2,
                   help="cross-validations run side by side, one thread each (the same numbers for any value; 1 on a busy machine)")
    p.add_argument("--grouped", action="store_true",
                   help="also score three sets with folds grouped by campaign (about 2 more minutes with --jobs 2)")
    p.add_argument("--min-transactions", type=int, default=5,
                   help="the activity-matched setting: balanced among accounts of both classes with at least this many "
                        "successful transactions (the listed phishing accounts' floor in this crawl); 0: not scored")
    p.add_argument("--received-max-rows", type=int, default=None,
                   help="build the 'received' folder without receivers paid more than this many times (hubs; default: keep all)")
    args = p.parse_args()
    args.classifiers = [c.strip() for c in args.classifiers.split(",") if c.strip()]
    if not args.classifiers or set(args.classifiers) - set(CLASSIFIERS) or args.folds < 2 or args.jobs < 1 \
            or args.min_transactions < 0:
        p.error(f"--classifiers must name some of {', '.join(CLASSIFIERS)}, --folds must be >= 2, --jobs >= 1 "
                "and --min-transactions >= 0")
    return args


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    folder = args.data / "ethereum_phishing_account_txs"
    txs, phishing_file = folder / "transactions_normalized.csv.gz", folder / "phishing-address.txt"
    labels = read_address_labels(args.data / "ethereum_address_labels" / "etherscan_tags.csv.gz")
    clock, seconds = time.time(), {}

    def step(name):
        seconds[name] = round(time.time() - clock - sum(seconds.values()), 1)

    transfers = read_transfers(txs)
    hand_all = address_features(transfers)
    raw = read_crawl_columns(txs)
    accounts, y, population = evaluation_accounts(raw, read_phishing_list(phishing_file), hand_all)
    print(f"accounts: {population['phishing']:,} phishing and {population['normal']:,} other crawled accounts with "
          f"at least one successful transaction ({population['crawled']:,} crawled accounts occur in the log, "
          f"{population['crawled_without_tx']} of them without a successful one; {population['phishing_not_crawled']} "
          f"listed phishing addresses are not crawled accounts of this log)")
    hand = hand_all.reindex(accounts)
    features = {"hand": log_scaled(hand), **crawl_features(raw, accounts)}
    if args.min_transactions:  # the activity-matched draw: both classes above the same floor, balanced
        activity = hand[["tx_out", "tx_in"]].sum(axis=1).to_numpy()
        population["activity"] = f = activity_floor(activity, y, args.min_transactions)  # fails if a class is gone
        active = np.flatnonzero(activity >= args.min_transactions)
        matched = active[balance(y[active], args.seed)]
        f["balanced_accounts"] = len(matched)
        print(f"activity: {f['phishing_below']:,} phishing and {f['normal_below']:,} other accounts have fewer than "
              f"{f['floor']} successful transactions; accounts with 1..{f['floor']}: phishing "
              f"{f['accounts_with_1_to_floor']['phishing']}, other {f['accounts_with_1_to_floor']['normal']}")
    features["hand+behaviour"] = np.hstack([features["hand"], log_scaled(behaviour_features(transfers, accounts))])
    if args.grouped:
        groups = campaign_groups(raw, accounts, args.seed)
        print(f"campaign groups: {groups.max() + 1:,} (largest {np.bincount(groups).max()} accounts, "
              f"{(np.bincount(groups) == 1).sum():,} accounts alone)")
    step("features")

    log = read_log(txs, ReadOptions(format="onchain"))
    runs = {}
    received = incoming(log)
    if args.received_max_rows is not None:
        received = filter_by_activity(received, ActivityFilter(max_user_rows=args.received_max_rows))
        print(f"'received' without hub receivers: {received.counts['hub_users_dropped']} receivers, "
              f"{received.counts['hub_user_rows_dropped']:,} transactions dropped")
    for name, view in (("sent", log), ("received", received)):
        runs[name] = run_g2rec(view, args.out / name, args)
        print(f"g2rec '{name}': {runs[name]['num_users']:,} users, {runs[name]['num_items']:,} items, "
              f"{runs[name]['num_edges']:,} edges, {runs[name]['num_prototypes']} prototypes "
              f"(soft modularity {runs[name]['modularity']:.3f})")
    g2 = np.hstack([wallet_vectors(args.out / name, accounts) for name in runs])
    g2l = np.hstack([g2] + [embedding_vectors(args.out / name, accounts, "lightgcn") for name in runs])
    features.update({"g2rec": g2, "g2rec+lightgcn": g2l, "hand+g2rec": np.hstack([features["hand"], g2]),
                     "hand+behaviour+g2rec+lightgcn": np.hstack([features["hand+behaviour"], g2l])})
    step("g2rec")

    config = CVConfig(folds=args.folds, seed=args.seed)
    balanced = balance(y, args.seed)
    yb, last = y[balanced], args.classifiers[-1]
    tasks = [("balanced", name, clf, balanced, None) for name in SETS for clf in args.classifiers]
    tasks += [("all", name, last, np.arange(len(y)), None) for name in ALL_ACCOUNTS_SETS]
    tasks += [("grouped", name, last, balanced, groups[balanced]) for name in (GROUPED_SETS if args.grouped else ())]
    if args.min_transactions:
        tasks += [("matched", name, last, matched, None) for name in MATCHED_SETS]
        tasks += [("matched-grouped", name, last, matched, groups[matched]) for name in (GROUPED_SETS if args.grouped else ())]
    scored = cross_validate_all([(features[name][rows], y[rows], clf, groups_) for _, name, clf, rows, groups_ in tasks],
                                config, args.jobs)
    results, curves = {"balanced": {}, "all": {}}, {}
    for (part, name, clf, _, _), r in zip(tasks, scored):
        if part == "balanced" and clf == last:
            curves[name] = (yb, r["scores"], r["auc"])
        results.setdefault(part, {})[f"{name}/{clf}"] = {k: v for k, v in r.items() if k != "scores"}
    step("cross_validation")

    trivial = {"balanced": 2 * 0.5 / 1.5, "all": 2 * y.mean() / (1 + y.mean())}
    trivial.update({part: trivial["balanced"] for part in ("grouped", "matched", "matched-grouped")})
    print_table(results, trivial, len(yb), len(y), args.folds, population.get("activity"))
    rates = prototype_rates(args.out / "sent", accounts, y, labels)
    print("\nPrototypes of the 'sent' graph (receivers co-engaged by the same senders), by the phishing share of the "
          "crawled accounts' membership (accounts as receivers):")
    for r in sorted(rates, key=lambda r: -r["mass"])[:10]:
        print(f"  #{r['prototype']:<3} {r['name'][:52]:<52} accounts' mass {r['mass']:7.1f}  phishing share {r['rate']:.2f}")
    step("report")

    plot_roc(curves, args.out / "roc.png", f"Phishing vs other crawled accounts, balanced ({len(yb):,} accounts)\n"
             f"{args.folds}-fold out-of-fold scores, {args.classifiers[-1]}")
    plot_prototype_rates(rates, float(y.mean()), args.out / "prototypes.png",
                         "Prototypes of receivers ('sent' graph): phishing share of the crawled accounts' membership")
    out = {"population": population, "balanced_accounts": len(yb), "trivial_f1": trivial,
           "cv": {"folds": args.folds, "inner_folds": config.inner_folds, "seed": args.seed}, "results": results,
           "g2rec": runs, "prototypes": rates, "seconds": seconds, "args": {k: str(v) for k, v in vars(args).items()}}
    (args.out / "results.json").write_text(json.dumps(out, indent=1, default=str))
    print(f"\nseconds per step {seconds}, total {time.time() - clock:.0f} s")
    print(f"wrote {args.out / 'results.json'}, {args.out / 'roc.png'}, {args.out / 'prototypes.png'}")


def read_crawl_columns(path: Path) -> pd.DataFrame:
    """The crawl's bookkeeping columns (:data:`CRAWL_COLS`), addresses as in the file (lower-case)."""
    head = pd.read_csv(path, nrows=0)
    missing = [c for c in CRAWL_COLS if c not in head.columns]
    if missing:
        raise DataError(f"not the normalized phishing crawl: no {', '.join(missing)} column", path=path, line=1)
    return pd.read_csv(path, usecols=list(CRAWL_COLS), dtype=str, keep_default_na=False)


def read_phishing_list(path: Path) -> set[str]:
    """Lower-cased addresses, one per line."""
    if not path.exists():
        raise DataError("no such file", path=path)
    found = {a.strip().lower() for a in path.read_text().split() if a.strip()}
    if not found:
        raise DataError("no addresses in the phishing list", path=path)
    return found


def evaluation_accounts(raw: pd.DataFrame, phishing: set[str], hand: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, dict]:
    """``(N,)`` crawled accounts (sorted) with at least one successful transaction, ``(N,)`` labels
    (1 = in the phishing list) and the counts of who is in and who is left out."""
    crawled = pd.Index(pd.concat([raw["from_address"][raw["from_is_crawled_account"] == "1"],
                                  raw["to_address"][raw["to_is_crawled_account"] == "1"]]).unique())
    active = (hand.reindex(crawled, fill_value=0.0)[["tx_out", "tx_in"]].sum(axis=1) > 0).to_numpy()
    accounts = np.sort(crawled[active].to_numpy().astype(str))
    y = np.isin(accounts, list(phishing)).astype(int)
    if y.min() == y.max():
        raise DataError("the crawled accounts are all of one class: is this the phishing crawl?")
    idle = crawled[~active]
    return accounts, y, {"crawled": len(crawled), "phishing": int(y.sum()), "normal": int(len(y) - y.sum()),
                         "crawled_without_tx": len(idle),
                         "crawled_without_tx_phishing": int(idle.isin(list(phishing)).sum()),
                         "phishing_list": len(phishing), "phishing_not_crawled": len(phishing - set(crawled))}


def log_scaled(frame: pd.DataFrame) -> np.ndarray:
    """``(N, F)``: counts, values, span and gaps through ``log1p``; shares, positions, entropies,
    spreads and flags (names ending in one of :data:`BOUNDED`) as they are."""
    out = frame.to_numpy(dtype=np.float64).copy()
    wide = [not c.endswith(BOUNDED) for c in frame.columns]
    out[:, wide] = np.log1p(out[:, wide])
    return out


def counterparties(raw: pd.DataFrame, accounts: np.ndarray) -> tuple[pd.DataFrame, sp.csr_matrix, np.ndarray]:
    """The accounts' successful rows seen from each account (``a``: the account, ``b``: the other
    end, ``src``: crawl folder), and the ``(N, M)`` 0/1 matrix of who touches which of the ``(M,)``
    counterparties."""
    ok = raw[raw["is_error"] == "0"]
    ends = pd.DataFrame({"a": np.r_[ok["from_address"], ok["to_address"]], "b": np.r_[ok["to_address"], ok["from_address"]],
                         "src": np.r_[ok["source_crawl"], ok["source_crawl"]]})
    mine = ends[ends["a"].isin(accounts)]
    rows = pd.Index(accounts).get_indexer(mine["a"])
    others, cols = np.unique(mine["b"].to_numpy().astype(str), return_inverse=True)
    touch = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(accounts), len(others)))
    touch.data[:] = 1.0
    return mine, touch, others


def crawl_features(raw: pd.DataFrame, accounts: np.ndarray) -> dict[str, np.ndarray]:
    """The crawl's own structure per account (successful rows only).

    ``crawl-source`` ``(N, 3)``: share of the account's rows from crawl folder A, B and both;
    ``crawl-neighbourhood`` ``(N, 4)``: log counts of counterparties, of those that are crawled
    accounts, of crawled accounts sharing a counterparty (two hops), and the crawled share.
    """
    mine, touch, others = counterparties(raw, accounts)
    source = pd.crosstab(mine["a"], mine["src"]).reindex(index=accounts, columns=["A", "B", "AB"], fill_value=0)
    source = source.to_numpy(np.float64) / np.maximum(source.to_numpy().sum(1, keepdims=True), 1)
    crawled_other = np.isin(others, accounts)
    degree = np.asarray(touch.sum(1)).ravel()
    crawled_nb = np.asarray(touch[:, crawled_other].sum(1)).ravel()
    two_hop = touch @ touch.T
    two_hop.setdiag(0)
    two_hop.eliminate_zeros()
    shared = np.diff(two_hop.tocsr().indptr).astype(np.float64)
    neighbourhood = np.c_[np.log1p(degree), np.log1p(crawled_nb), np.log1p(shared), crawled_nb / np.maximum(degree, 1)]
    return {"crawl-source": source, "crawl-neighbourhood": neighbourhood}


def campaign_groups(raw: pd.DataFrame, accounts: np.ndarray, seed: int, rare: int = 2) -> np.ndarray:
    """``(N,)`` a group id per account, for folds that test on campaigns never seen in training:
    Louvain communities (networkx, seeded) of the graph that links two accounts when they
    transact with each other or share a counterparty that at most ``rare`` of the accounts touch
    (a victim who paid both, a common cash-out address). No label is read."""
    _, touch, others = counterparties(raw, accounts)
    few = touch[:, np.asarray(touch.sum(0)).ravel() <= rare]
    target = pd.Index(accounts).get_indexer(others)                 # the counterparty as an account, or -1
    hit = np.flatnonzero(target >= 0)
    direct = touch[:, hit] @ sp.csr_matrix((np.ones(len(hit)), (np.arange(len(hit)), target[hit])),
                                           shape=(len(hit), len(accounts)))
    link = (few @ few.T + direct + direct.T).tocoo()
    graph = nx.Graph()
    graph.add_nodes_from(range(len(accounts)))
    graph.add_edges_from((i, j) for i, j in zip(link.row.tolist(), link.col.tolist()) if i < j)
    groups = np.empty(len(accounts), dtype=np.int64)
    for g, members in enumerate(nx.community.louvain_communities(graph, seed=seed)):
        groups[list(members)] = g
    return groups


def run_g2rec(log, run: Path, args) -> dict:
    """build_graph (every transaction in the graph: a temporal split whose cut is after the last
    one), spectral embedding, prototypes, and a LightGCN embedding trained on the user-item
    (bipartite) graph; a summary of the stages."""
    end = float(log.frame["time"].max()) + 1
    built = g2rec.build_graph(log, run, prepare=PrepareConfig(split="temporal", min_user_len=1, valid_time=end,
                                                              test_time=end), overwrite=True)
    embed(run, "spectral", dim=args.dim, evaluate=False, seed=args.seed)
    embed(run, "lightgcn", dim=args.lightgcn_dim, graph="bipartite", threads=args.threads, evaluate=False,
          seed=args.seed, target_steps=args.lightgcn_steps)
    tok = tokenize(run, TokenizeConfig(num_prototypes=args.prototypes, levels=1, codebook_size=16, top_items=8,
                                       compare_unsupervised=False, seed=args.seed))
    return {**{k: built[k] for k in ("num_users", "num_items", "num_interactions", "num_edges")},
            "num_prototypes": tok["num_prototypes"], "modularity": tok["modularity"]}


def wallet_vectors(run: Path, accounts: np.ndarray) -> np.ndarray:
    """``(N, 2C + 2d + 2)`` per account from one run folder: as a user, its interest profile
    (mean ``P`` row of its history, ``C``) and mean embedding (``d``); as an item, its ``P`` row and
    embedding; then two flags (is a user, is an item). Zeros where it is not one."""
    seq = g2rec.load_sequences(run)
    x = np.load(run / "embeddings" / "spectral.npy").astype(np.float64)
    member = memberships(run)
    history = sp.csr_matrix((np.ones(seq.num_interactions), (seq.users, seq.items)), shape=(seq.num_users, seq.num_items))
    history = sp.diags(1.0 / np.maximum(seq.lengths, 1)) @ history
    as_user = np.hstack([(history @ member).toarray(), history @ x])
    as_item = np.hstack([member.toarray(), x])
    users = pd.Index(seq.user_ids.astype(str)).get_indexer(accounts)
    items = pd.Index(seq.item_ids.astype(str)).get_indexer(accounts)
    return np.hstack([_rows(as_user, users), _rows(as_item, items), np.c_[users >= 0, items >= 0]])


def embedding_vectors(run: Path, accounts: np.ndarray, method: str) -> np.ndarray:
    """``(N, 2d)`` per account from one run folder's ``embeddings/METHOD.npy``: the mean embedding
    of its history as a user, then its own embedding as an item (zeros where it is not one)."""
    seq = g2rec.load_sequences(run)
    x = np.load(run / "embeddings" / f"{method}.npy").astype(np.float64)
    history = sp.csr_matrix((np.ones(seq.num_interactions), (seq.users, seq.items)), shape=(seq.num_users, seq.num_items))
    history = sp.diags(1.0 / np.maximum(seq.lengths, 1)) @ history
    users = pd.Index(seq.user_ids.astype(str)).get_indexer(accounts)
    items = pd.Index(seq.item_ids.astype(str)).get_indexer(accounts)
    return np.hstack([_rows(history @ x, users), _rows(x, items)])


def _rows(matrix: np.ndarray, index: np.ndarray) -> np.ndarray:
    out = np.zeros((len(index), matrix.shape[1]))
    out[index >= 0] = matrix[index[index >= 0]]
    return out


def balance(y: np.ndarray, seed: int) -> np.ndarray:
    """Sorted indices: all of the smaller class and a seeded draw of as many of the larger one."""
    small = int(y.sum() > len(y) / 2) ^ 1
    keep = np.flatnonzero(y == small)
    draw = np.random.default_rng(seed).choice(np.flatnonzero(y != small), len(keep), replace=False)
    return np.sort(np.r_[keep, draw])


def prototype_rates(run: Path, accounts: np.ndarray, y: np.ndarray, labels) -> list[dict]:
    """Per prototype: its name, the accounts' membership mass (accounts as items) and the
    phishing share of that mass."""
    seq = g2rec.load_sequences(run)
    member = memberships(run)
    items = pd.Index(seq.item_ids.astype(str)).get_indexer(accounts)
    p = member[items[items >= 0]]
    mass = np.asarray(p.sum(0)).ravel()
    phish = np.asarray(p.T @ y[items >= 0]).ravel()
    named = prototype_names(run, labels)
    return [{"prototype": c, "name": named[c]["name"], "mass": round(float(mass[c]), 2),
             "rate": round(float(phish[c] / mass[c]), 4) if mass[c] > 0 else 0.0}
            for c in range(member.shape[1]) if mass[c] > 0]


def activity_floor(activity: np.ndarray, y: np.ndarray, floor: int) -> dict:
    """How the two classes sit against an activity ``floor`` (``activity`` ``(N,)``: successful
    transactions, ``y`` ``(N,)``): per class, how many accounts fall below it and how many have
    exactly 1, 2, ..., ``floor`` transactions (a cliff at ``floor`` says the list was selected by
    activity)."""
    if len(np.unique(y[activity >= floor])) < 2:
        raise DataError(f"--min-transactions {floor} leaves no account of one class")
    counts = {name: [int(((activity == k) & (y == c)).sum()) for k in range(1, floor + 1)]
              for name, c in (("phishing", 1), ("normal", 0))}
    return {"floor": floor, "phishing_below": int((activity[y == 1] < floor).sum()),
            "normal_below": int((activity[y == 0] < floor).sum()), "accounts_with_1_to_floor": counts}


def print_table(results: dict, trivial: dict, balanced: int, total: int, folds: int, activity: dict | None) -> None:
    print(f"\nPhishing vs other crawled accounts, stratified {folds}-fold CV (mean ± std over folds; threshold "
          f"chosen inside the training folds):")
    titles = {"balanced": f"balanced, {balanced:,} accounts",
              "all": f"all accounts, {total:,}",
              "grouped": "balanced, folds grouped by campaign (no campaign in training and test)"}
    if activity:
        titles["matched"] = (f"activity-matched: balanced, {activity['balanced_accounts']:,} accounts with at least "
                             f"{activity['floor']} successful transactions")
        titles["matched-grouped"] = f"{titles['matched']}, folds grouped by campaign"
    for part, title in titles.items():
        if part not in results:
            continue
        width = max(len(name) for name in results[part]) + 2
        print(f"  {title}, all-phishing F1 {trivial[part]:.3f}")
        print(f"    {'features/classifier':<{width}}{'ROC-AUC':>16}{'F1':>16}")
        for name, r in results[part].items():
            note = "   (crawl leak, not a method)" if name.startswith("crawl") else ""
            print(f"    {name:<{width}}{r['auc']:>9.3f} ± {r['auc_std']:.3f}{r['f1']:>9.3f} ± {r['f1_std']:.3f}{note}")


if __name__ == "__main__":
    try:
        main()
    except G2RecError as e:
        sys.exit(f"error: {e}")
