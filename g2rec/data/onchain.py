"""On-chain transaction CSVs as interaction logs: wallet (sender) -> item (what it acts on).

Column layouts understood (names compared case-insensitively), all found in ``../shared/data``:

* the normalized phishing set: ``from_address, to_address, timestamp, method_id, is_error,
  contract_address``;
* the per-account Etherscan crawl: ``From, To, TimeStamp, Input, isError, ContractAddress``;
* ethereum-etl and mev-inspect tables: ``from_address, to_address, block_timestamp`` or
  ``block_number``, ``input``, ``transaction_index`` or ``transaction_position``,
  ``receipt_status`` or ``error``.

Every log gets, each step counted in ``log.counts``:

* **addresses** stripped and lower-cased, so checksummed (mixed-case) and plain spellings are
  one address; ``null``/``NULL``/``None`` read as empty;
* **failed transactions** dropped unless ``keep_failed`` (``failed_tx_dropped``);
* **contract creations** (empty receiver) act on the created contract (``contract_creations``),
  rows with neither are dropped (``no_receiver_dropped``);
* **time**: unix seconds when the log has them, else the **block number**; rows of one
  block are put in their order inside the block (``transaction_index``/``transaction_position``)
  so that the file's order inside a block does not matter;
* **intents** (``intent``): the item is ``receiver:method`` with the 4-byte selector
  (``0xa9059cbb``), ``transfer`` for plain value transfers (no calldata, or less than 4 bytes)
  and ``create`` for contract creations.

:func:`incoming` turns a log around (user = receiver, item = sender): an address's history of who
pays it, for addresses that mostly receive (deposit addresses, scams).

:func:`filter_by_activity` then drops hub senders (routers, exchange hot wallets: many actors
behind one address) and items that too few distinct wallets act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from .log import InteractionLog
from .tables import ReadOptions, load_frame, resolve_columns, table_to_log

USER_GUESSES = ("from_address", "from", "wallet", "sender")
ITEM_GUESSES = ("to_address", "to", "receiver", "contract_address")
TIME_GUESSES = ("timestamp", "block_timestamp", "block_number", "blockheight", "block_height")
METHOD_COLS = ("method_id",)
INPUT_COLS = ("input",)
ERROR_COLS = ("is_error", "iserror", "receipt_status", "error")
CREATED_COLS = ("contract_address", "contractaddress", "receipt_contract_address")
POSITION_COLS = ("transaction_index", "transaction_position", "transactionindex")
NULLS = ("", "null", "none", "nan")
OK_STATUS = ("", "0", "0.0", "false", "none", "null")  # error/is_error values of a successful tx


def normalize_addresses(values: pd.Series) -> pd.Series:
    """``(N,)`` address strings stripped and lower-cased; null spellings become NaN."""
    out = values.astype(object).str.strip().str.lower()
    return out.where(~out.isin(NULLS))


def read_onchain(path: Path, options: ReadOptions, fmt: str = "onchain") -> InteractionLog:
    """Read an on-chain transaction CSV (module docstring) into an :class:`InteractionLog`."""
    frame = load_frame(path, "csv", options.sep)
    if len(frame) == 0:
        raise DataError("file has a header but no rows", path=path)
    lower = {str(c).lower(): c for c in frame.columns}
    cols = resolve_columns(frame, path, options, USER_GUESSES, ITEM_GUESSES, TIME_GUESSES)
    counts = {}

    failed = failed_mask(frame, lower)
    keep = np.ones(len(frame), dtype=bool)
    if failed is not None and not options.keep_failed:
        counts["failed_tx_dropped"] = int(failed.sum())
        keep &= ~failed

    user = normalize_addresses(frame[cols["user"]])
    item = normalize_addresses(frame[cols["item"]])
    creation = np.zeros(len(frame), dtype=bool)
    created_col = next((lower[c] for c in CREATED_COLS if c in lower), None)
    if created_col is not None and created_col != cols["item"]:
        created = normalize_addresses(frame[created_col])
        creation = (item.isna() & created.notna()).to_numpy()
        item = item.where(~creation, created)
        counts["contract_creations"] = int((creation & keep).sum())
    empty = item.isna().to_numpy()
    counts["no_receiver_dropped"] = int((empty & keep).sum())
    keep &= ~empty
    no_sender = user.isna().to_numpy() & keep
    if no_sender.any():
        line = int(np.flatnonzero(no_sender)[0]) + 2
        raise DataError("empty sender address", path=path, line=line, field=str(cols["user"]))
    if options.intent:
        item = item + ":" + _methods(frame, lower, path, creation)

    # all rows go through the checks, so that an error names the file's line; dropped rows after
    frame = frame.assign(**{str(cols["user"]): user.where(keep, ""), str(cols["item"]): item.where(keep, "")})
    log = table_to_log(frame, path, fmt, cols, counts)
    log.frame = log.frame[keep].reset_index(drop=True)
    return _in_block_order(log, frame[keep], lower, cols)


def failed_mask(frame: pd.DataFrame, lower: dict) -> np.ndarray | None:
    """``(N,)`` bool, True for failed transactions; None when the log has no status column.
    ``lower`` maps lower-cased column names to the frame's own."""
    col = next((lower[c] for c in ERROR_COLS if c in lower), None)
    if col is None:
        return None
    status = frame[col].fillna("").astype(str).str.strip().str.lower()
    if str(col).lower() == "receipt_status":  # ethereum-etl: 1 success, 0 failure
        return (status == "0").to_numpy()
    return (~status.isin(OK_STATUS)).to_numpy()


def _methods(frame: pd.DataFrame, lower: dict, path: Path, creation: np.ndarray) -> pd.Series:
    """``(N,)`` the 4-byte selector per row; ``transfer`` without one, ``create`` for creations."""
    col = next((lower[c] for c in METHOD_COLS if c in lower), None)
    if col is None:
        col = next((lower[c] for c in INPUT_COLS if c in lower), None)
        if col is None:
            found = ", ".join(map(str, frame.columns))
            raise DataError(f"intent items need a method_id or input column (found: {found})", path=path, line=1)
    method = frame[col].fillna("").astype(str).str.strip().str.lower().str.slice(0, 10)
    method = method.where(method.str.fullmatch(r"0x[0-9a-f]{8}"), "transfer")
    return method.where(~creation, "create")


def _in_block_order(log: InteractionLog, source: pd.DataFrame, lower: dict, cols: dict) -> InteractionLog:
    """Rows sorted stably by (time, position in block) when the log has a position column."""
    col = next((lower[c] for c in POSITION_COLS if c in lower), None)
    if col is None or cols["time"] is None:
        return log
    position = pd.to_numeric(source[col], errors="coerce").fillna(-1).to_numpy()
    order = np.lexsort((position, log.frame["time"].to_numpy()))  # last key first; stable
    log.frame = log.frame.iloc[order].reset_index(drop=True)
    return log


@dataclass
class ActivityFilter:
    """Which senders and items :func:`filter_by_activity` keeps.

    max_user_rows: senders with more transactions are dropped: routers, aggregators and
        exchange hot wallets, many actors behind one address (None = keep all).
    min_item_users: an item needs this many distinct senders (after the sender filter);
        an item only one wallet uses has no co-engagement to learn from (1 = keep all).
    """

    max_user_rows: int | None = None
    min_item_users: int = 1

    def __post_init__(self):
        if self.min_item_users < 1 or (self.max_user_rows is not None and self.max_user_rows < 1):
            raise ConfigError(f"need min_item_users >= 1 and max_user_rows >= 1 or None; got {self}")


def filter_by_activity(log: InteractionLog, config: ActivityFilter) -> InteractionLog:
    """A new log without hub senders and rarely used items (counts ``hub_user_rows_dropped``,
    ``hub_users_dropped``, ``rare_item_rows_dropped``, ``rare_items_dropped``)."""
    frame, counts = log.frame, dict(log.counts)
    keep = np.ones(len(frame), dtype=bool)
    if config.max_user_rows is not None:
        rows = frame.groupby("user", sort=False)["user"].transform("size").to_numpy()
        hub = rows > config.max_user_rows
        counts.update(hub_user_rows_dropped=int(hub.sum()), hub_users_dropped=int(frame["user"][hub].nunique()))
        keep &= ~hub
    kept = frame[keep]
    senders = kept.groupby("item", sort=False)["user"].transform("nunique").to_numpy()
    rare = senders < config.min_item_users
    counts.update(rare_item_rows_dropped=int(rare.sum()), rare_items_dropped=int(kept["item"][rare].nunique()))
    out = kept[~rare].reset_index(drop=True)
    if len(out) == 0:
        raise DataError(f"no interactions left after the activity filter ({config})", path=log.path)
    return InteractionLog(out, log.path, log.format, log.has_time, counts)


def incoming(log: InteractionLog) -> InteractionLog:
    """The same transactions seen from the receiving side: user = receiver (or created contract),
    item = sender, same times and order. Needs a log of plain receivers, not ``intent`` items
    (``receiver:method`` is no address to act as a user)."""
    frame = log.frame
    if frame["item"].astype(str).str.contains(":", regex=False).any():
        raise ConfigError("incoming() needs receivers as items: read the log without intent")
    out = frame.assign(user=frame["item"].to_numpy(), item=frame["user"].to_numpy())
    return InteractionLog(out, log.path, log.format, log.has_time, dict(log.counts))
