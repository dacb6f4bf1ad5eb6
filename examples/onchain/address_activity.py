"""Per-address activity features of an on-chain transaction table: counts, values, degrees, timing.

The hand-made description of a wallet that account classifiers (phishing, bots, exchanges)
start from, computed from the same transaction files :mod:`g2rec.data.onchain` reads (the
normalized phishing set, the per-account Etherscan crawl, ethereum-etl tables). Both sides of
every transaction count: an address's outgoing rows (it is the sender) and incoming rows (it is
the receiver or the created contract).

:func:`read_transfers` reads a file into one row per transaction with columns ``sender``,
``receiver`` (addresses normalized as in the reader; contract creations go to the created
contract), ``value`` (float, in the file's unit: ETH in the phishing set, wei in ethereum-etl),
``time`` (unix seconds or block number), ``call`` (the transaction carries a 4-byte method
selector) and ``failed``. :func:`address_features` turns that into one row per address.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from g2rec.data.onchain import (
    CREATED_COLS,
    INPUT_COLS,
    METHOD_COLS,
    failed_mask,
    normalize_addresses,
)
from g2rec.data.tables import load_frame
from g2rec.data.times import parse_times
from g2rec.errors import DataError

SENDER_COLS = ("from_address", "from")
RECEIVER_COLS = ("to_address", "to")
VALUE_COLS = ("value_eth", "value", "value (eth)")
TIME_COLS = ("timestamp", "block_timestamp", "block_number", "blockheight", "block_height")

FEATURES = (
    "tx_out", "tx_in", "degree_out", "degree_in",
    "value_out_sum", "value_in_sum", "value_out_mean", "value_in_mean", "value_out_max", "value_in_max",
    "zero_value_out_share", "zero_value_in_share", "call_out_share", "call_in_share", "failed_out_share",
    "repeat_out", "repeat_in", "span", "mean_gap", "active_periods",
)


def read_transfers(path: str | Path) -> pd.DataFrame:
    """``(N, 6)`` frame ``sender, receiver, value, time, call, failed`` from an on-chain CSV
    (module docstring); failed transactions are kept and flagged. Rows with neither a receiver
    nor a created contract are dropped; a missing sender or a bad value is a :class:`DataError`."""
    path = Path(path)
    if not path.exists():
        raise DataError("no such file", path=path)
    frame = load_frame(path, "csv")
    if len(frame) == 0:
        raise DataError("file has a header but no rows", path=path)
    lower = {str(c).lower(): c for c in frame.columns}

    def column(role: str, guesses: tuple, required: bool = True):
        col = next((lower[c] for c in guesses if c in lower), None)
        if col is None and required:
            found = ", ".join(map(str, frame.columns))
            raise DataError(f"no {role} column (looked for {', '.join(guesses)}; found: {found})", path=path, line=1)
        return col

    line = np.arange(len(frame)) + 2
    sender = normalize_addresses(frame[column("sender", SENDER_COLS)])
    receiver = normalize_addresses(frame[column("receiver", RECEIVER_COLS)])
    created_col = column("created contract", CREATED_COLS, required=False)
    if created_col is not None:
        receiver = receiver.fillna(normalize_addresses(frame[created_col]))
    if sender.isna().any():
        i = int(np.flatnonzero(sender.isna().to_numpy())[0])
        raise DataError("empty sender address", path=path, line=int(line[i]))
    value_col = column("value", VALUE_COLS)
    value = pd.to_numeric(frame[value_col].fillna("0"), errors="coerce").to_numpy(np.float64)
    if not np.isfinite(value).all():
        i = int(np.flatnonzero(~np.isfinite(value))[0])
        raise DataError(f"not a number: {frame[value_col].iloc[i]!r}", path=path, line=int(line[i]), field=str(value_col))
    time_col = column("time", TIME_COLS)
    times = parse_times(frame[time_col], path, line, str(time_col)).astype(np.float64)
    method_col = column("method", METHOD_COLS + INPUT_COLS, required=False)
    call = np.zeros(len(frame), dtype=bool)
    if method_col is not None:
        call = frame[method_col].fillna("").astype(str).str.strip().str.lower().str.match(r"0x[0-9a-f]{8}").to_numpy()
    failed = failed_mask(frame, lower)
    out = pd.DataFrame({"sender": sender, "receiver": receiver, "value": value, "time": times, "call": call,
                        "failed": np.zeros(len(frame), dtype=bool) if failed is None else failed})
    return out[out["receiver"].notna()].reset_index(drop=True)


def address_features(tx: pd.DataFrame, addresses=None, period: float = 86400.0) -> pd.DataFrame:
    """One row per address, the :data:`FEATURES` columns (float64), from :func:`read_transfers` rows.

    Counts (``tx_*``) and distinct counterparties (``degree_*``) out and in; value sums, means and
    maxima of successful transactions; shares of zero-value and method-call transactions; the
    share of the address's own transactions that failed; transactions per counterparty
    (``repeat_*``); the active ``span`` (last minus first time, in the time column's unit), the
    mean gap between consecutive transactions and the number of distinct ``period``-long time
    buckets with activity (days for unix seconds). Absolute times are left out on purpose: when
    a data set was collected says nothing about the wallet.

    Args:
        tx: ``(N, 6)`` transactions as :func:`read_transfers` returns them.
        addresses: rows to return, in this order (lower-cased); an address without any
            transaction gets zeros. None: every address that occurs.
        period: length of the buckets ``active_periods`` counts.

    Returns:
        ``(A, F)`` frame indexed by address.
    """
    ok = ~tx["failed"].to_numpy()
    both = pd.concat([
        pd.DataFrame({"address": tx["sender"], "other": tx["receiver"], "out": True, "value": tx["value"],
                      "time": tx["time"], "call": tx["call"], "ok": ok}),
        pd.DataFrame({"address": tx["receiver"], "other": tx["sender"], "out": False, "value": tx["value"],
                      "time": tx["time"], "call": tx["call"], "ok": ok}),
    ], ignore_index=True)
    side = {}
    for name, rows in (("out", both[both["out"]]), ("in", both[~both["out"]])):
        good = rows[rows["ok"]]
        g = good.groupby("address", sort=False)
        side[name] = pd.DataFrame({
            f"tx_{name}": g.size(),
            f"degree_{name}": g["other"].nunique(),
            f"value_{name}_sum": g["value"].sum(),
            f"value_{name}_mean": g["value"].mean(),
            f"value_{name}_max": g["value"].max(),
            f"zero_value_{name}_share": (good["value"] == 0).groupby(good["address"], sort=False).mean(),
            f"call_{name}_share": g["call"].mean(),
        })
    sent = both[both["out"]].groupby("address", sort=False)["ok"]
    failed_share = 1.0 - sent.mean()
    g = both.groupby("address", sort=False)["time"]
    first, last, count = g.min(), g.max(), g.size()
    timing = pd.DataFrame({"span": last - first, "mean_gap": (last - first) / np.maximum(count - 1, 1),
                           "active_periods": (both["time"] // period).groupby(both["address"], sort=False).nunique()})
    out = pd.concat([side["out"], side["in"], failed_share.rename("failed_out_share"), timing], axis=1)
    out["repeat_out"] = out["tx_out"] / out["degree_out"]
    out["repeat_in"] = out["tx_in"] / out["degree_in"]
    out = out.reindex(columns=list(FEATURES)).astype(np.float64).fillna(0.0)
    if addresses is not None:
        out = out.reindex(pd.Index(list(addresses), dtype=object).str.lower(), fill_value=0.0)
    out.index.name = "address"
    return out


BEHAVIOUR_FEATURES = tuple(
    [f"{side}_{stat}" for side in ("in", "out") for stat in (
        "value_median", "value_min", "value_log_std", "round_value_share", "single_tx_counterparty_share",
        "top_counterparty_share", "first_position", "gap_median", "gap_cv", "hour_entropy")]
    + ["out_value_share", "first_is_in", "last_is_out", "forward_lag_median", "forwarded_share", "gap_max",
       "burst_share"])


def behaviour_features(tx: pd.DataFrame, addresses, burst: float = 600.0) -> pd.DataFrame:
    """One row per requested address, the :data:`BEHAVIOUR_FEATURES` columns (float64): how the
    address's own successful transactions are shaped, beyond :func:`address_features`' totals.

    Per side (``in``: it receives, ``out``: it sends): median, smallest non-zero and spread (std of
    ``log1p``) of the non-zero values; the share of non-zero values that are round (whole
    hundredths); the share of counterparties met only once and the top counterparty's share of
    the transactions; where the side's first transaction falls in the active span (0 = at the
    start, 1 = at the end, -1 = no such transaction); the median gap between the side's
    transactions and its coefficient of variation; the entropy of the hour of day (UTC).
    Then: the sent share of all value moved, whether the first transaction is incoming and the
    last outgoing, the median lag from an incoming transaction to the next outgoing one and the
    share of incoming transactions followed by one (forwarding), the longest gap and the share of
    gaps shorter than ``burst`` (in the time column's unit). Counts, values and gaps are raw (not
    log-scaled); an address without any successful transaction gets zeros.

    Args:
        tx: transactions as :func:`read_transfers` returns them (times in unix seconds for the
            hour of day to mean anything).
        addresses: rows to return, in this order (lower-cased).
        burst: gap below which two consecutive transactions count as one burst.
    """
    index = pd.Index(list(addresses), dtype=object).str.lower()
    ok = tx[~tx["failed"].to_numpy()]
    both = pd.concat([
        pd.DataFrame({"address": ok["sender"], "other": ok["receiver"], "out": True, "value": ok["value"], "time": ok["time"]}),
        pd.DataFrame({"address": ok["receiver"], "other": ok["sender"], "out": False, "value": ok["value"], "time": ok["time"]}),
    ], ignore_index=True)
    both = both[both["address"].isin(index)].sort_values(["address", "time"], kind="stable")
    rows = {a: _behaviour(g, burst) for a, g in both.groupby("address", sort=False)}
    out = pd.DataFrame.from_dict(rows, orient="index", columns=list(BEHAVIOUR_FEATURES))
    out = out.reindex(index).astype(np.float64).fillna(0.0)
    out.index.name = "address"
    return out


def _behaviour(g: pd.DataFrame, burst: float) -> list[float]:
    """:data:`BEHAVIOUR_FEATURES` of one address's rows (sorted by time)."""
    t, v, out = g["time"].to_numpy(), g["value"].to_numpy(), g["out"].to_numpy()
    span = t[-1] - t[0]
    row = []
    for m in (~out, out):
        row += _side(t[m], v[m], g["other"].to_numpy()[m], t[0], span)
    moved = v.sum()
    lag, forwarded = _forwarding(t[~out], t[out])
    gaps = np.diff(t)
    row += [v[out].sum() / moved if moved > 0 else 0.0, float(not out[0]), float(out[-1]), lag, forwarded,
            gaps.max() if len(gaps) else 0.0, (gaps < burst).mean() if len(gaps) else 0.0]
    return row


def _side(t: np.ndarray, v: np.ndarray, other: np.ndarray, start: float, span: float) -> list[float]:
    """The ten per-side statistics of :func:`behaviour_features` (zeros, position -1, when empty)."""
    if len(t) == 0:
        return [0.0] * 6 + [-1.0] + [0.0] * 3
    pos = v[v > 0]
    _, counts = np.unique(other, return_counts=True)
    gaps = np.diff(t)
    hours = np.bincount(((t % 86400) // 3600).astype(int), minlength=24) / len(t)
    hours = hours[hours > 0]
    return [np.median(pos) if len(pos) else 0.0, pos.min() if len(pos) else 0.0,
            np.log1p(pos).std() if len(pos) > 1 else 0.0,
            np.mean(np.abs(pos * 100 - np.round(pos * 100)) < 1e-6) if len(pos) else 0.0,
            (counts == 1).mean(), counts.max() / counts.sum(), (t[0] - start) / (span + 1),
            np.median(gaps) if len(gaps) else 0.0, gaps.std() / (gaps.mean() + 1) if len(gaps) else 0.0,
            float(-(hours * np.log(hours)).sum())]


def _forwarding(t_in: np.ndarray, t_out: np.ndarray) -> tuple[float, float]:
    """Median lag from each incoming time to the next outgoing one at or after it, and the share
    of incoming times that have one; ``(0, 0)`` when there is none."""
    if len(t_in) == 0 or len(t_out) == 0:
        return 0.0, 0.0
    nxt = np.searchsorted(t_out, t_in)
    has = nxt < len(t_out)
    if not has.any():
        return 0.0, 0.0
    return float(np.median(t_out[nxt[has]] - t_in[has])), float(has.mean())
