"""On-chain transaction CSVs as interaction logs: wallet (sender) -> item (receiver).

Understands the three column layouts in ``../shared/data``: the normalized phishing
set (``from_address, to_address, timestamp, method_id, is_error, contract_address``),
the per-account Etherscan crawl (``From, To, TimeStamp, Input, isError, ContractAddress``)
and ethereum-etl (``from_address, to_address, block_timestamp|block_number, input``).

Addresses are lower-cased. Failed transactions are dropped unless ``keep_failed``;
contract creations (empty receiver) use the created contract as item when known,
else are dropped. With ``intent`` the item is ``receiver:method`` (the 4-byte method
id, ``transfer`` for plain value transfers), so calls of different functions of one
contract are different items.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from .log import InteractionLog
from .readers import ReadOptions, load_frame, resolve_columns, table_to_log

USER_GUESSES = ("from_address", "from", "wallet", "sender")
ITEM_GUESSES = ("to_address", "to", "receiver", "contract_address")
TIME_GUESSES = ("timestamp", "block_timestamp", "timestamp", "block_number", "blockheight")
METHOD_COLS = ("method_id",)
INPUT_COLS = ("input",)
ERROR_COLS = ("is_error", "iserror", "receipt_status", "error")
CREATED_COLS = ("contract_address", "contractaddress", "receipt_contract_address")


def read_onchain(path: Path, options: ReadOptions, fmt: str = "onchain") -> InteractionLog:
    frame = load_frame(path, "csv", options.sep)
    if len(frame) == 0:
        raise DataError("file has a header but no rows", path=path)
    lower = {str(c).lower(): c for c in frame.columns}
    cols = resolve_columns(frame, path, options, USER_GUESSES, ITEM_GUESSES, TIME_GUESSES)
    counts = {}
    keep = np.ones(len(frame), dtype=bool)

    err_col = next((lower[c] for c in ERROR_COLS if c in lower), None)
    if err_col is not None and not options.keep_failed:
        err = frame[err_col].fillna("").astype(str).str.strip()
        failed = ~err.isin(["", "0", "False", "false", "None", "NULL"]).to_numpy()
        if str(err_col).lower() == "receipt_status":
            failed = (err == "0").to_numpy()
        counts["failed_tx_dropped"] = int(failed.sum())
        keep &= ~failed

    item = frame[cols["item"]].copy()
    empty = item.isna() | item.isin(["NULL", "null", "None"])
    created_col = next((lower[c] for c in CREATED_COLS if c in lower), None)
    if created_col is not None and created_col != cols["item"]:
        created = frame[created_col]
        use_created = empty & created.notna() & ~created.isin(["NULL", "null", "None"])
        item[use_created] = created[use_created]
        counts["contract_creations"] = int(use_created.sum())
        empty &= ~use_created
    counts["no_receiver_dropped"] = int((empty.to_numpy() & keep).sum())
    keep &= ~empty.to_numpy()
    frame = frame.assign(**{str(cols["item"]): item})

    for role in ("user", "item"):
        frame[cols[role]] = frame[cols[role]].str.lower()
    if options.intent:
        frame[cols["item"]] = frame[cols["item"]] + ":" + _method_ids(frame, lower, path)
    rows = np.flatnonzero(keep)
    line = rows + 2
    log = table_to_log(frame.iloc[rows].reset_index(drop=True), path, fmt, cols, counts)
    log.frame["line"] = line
    return log


def _method_ids(frame: pd.DataFrame, lower: dict, path: Path) -> pd.Series:
    """The 4-byte method selector per row (``transfer`` for calls without data)."""
    col = next((lower[c] for c in METHOD_COLS if c in lower), None)
    if col is not None:
        method = frame[col].fillna("").str.lower()
    else:
        col = next((lower[c] for c in INPUT_COLS if c in lower), None)
        if col is None:
            raise DataError("--intent needs a method_id or input column", path=path, line=1)
        method = frame[col].fillna("").str.lower().str.slice(0, 10)
    return method.where(~method.isin(["", "0x"]), "transfer")
