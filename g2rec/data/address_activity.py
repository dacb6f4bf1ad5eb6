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

from ..errors import DataError
from .onchain import CREATED_COLS, INPUT_COLS, METHOD_COLS, failed_mask, normalize_addresses
from .readers import load_frame, parse_times

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
