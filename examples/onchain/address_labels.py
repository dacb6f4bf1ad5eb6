"""Words for on-chain items: address labels (Etherscan-style tables) and method names.

A label table has columns ``address, name, family`` (``../shared/data/ethereum_address_labels/
etherscan_tags.csv.gz``: 38,617 rows). Its addresses come in checksummed and plain spellings,
and one address can have several rows (OpenSea is ``collectibles``, ``marketplace`` and
``nft``): :func:`read_address_labels` lower-cases them and merges the rows of one address into
its first name, its token symbol if a name ends in one, and all its families joined by ``/``.

:meth:`AddressLabels.describe` turns item ids (``0xabc...`` or intents ``0xabc...:0xa9059cbb``)
into short phrases: ``IDEX [idex] trade``, ``0x8d12..6819 depositToken``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from g2rec.data.onchain import normalize_addresses
from g2rec.data.tables import load_frame
from g2rec.errors import DataError

# 4-byte selectors of common functions (keccak-256 of the signature), for readable intents.
METHOD_NAMES = {
    "0xa9059cbb": "transfer(token)",      # ERC-20 transfer(address,uint256)
    "0x095ea7b3": "approve",              # approve(address,uint256)
    "0x23b872dd": "transferFrom",         # transferFrom(address,address,uint256)
    "0xd0e30db0": "deposit",              # deposit()
    "0x2e1a7d4d": "withdraw",             # withdraw(uint256)
    "0x3ccfd60b": "withdraw",             # withdraw()
    "0x0a19b14a": "trade",                # EtherDelta trade(...)
    "0x338b5dea": "depositToken",         # EtherDelta depositToken(address,uint256)
    "0x9e281a98": "withdrawToken",        # EtherDelta withdrawToken(address,uint256)
    "0x278b8c0e": "cancelOrder",          # EtherDelta cancelOrder(...)
    "0x0b927666": "order",                # EtherDelta order(...)
    "transfer": "send ETH",
    "create": "create contract",
}


@dataclass
class AddressLabels:
    """``table``: index = lower-cased address; columns ``name``, ``family`` and ``symbol`` (a token's
    ticker, from a name like ``Tether USD (USDT)``); any may be NaN."""

    table: pd.DataFrame

    def __len__(self) -> int:
        return len(self.table)

    def known(self, addresses) -> np.ndarray:
        """``(N,)`` bool: the address (or the address part of an intent) has a label."""
        return pd.Index(_address_part(addresses)).isin(self.table.index)

    def describe(self, items) -> list[str]:
        """One phrase per item id: the label's name (or family, or a short address), its
        ``[family]``, and for intents the method's name (or its selector)."""
        parts = pd.Series(list(items), dtype=object).astype(str).str.split(":", n=1, expand=True)
        address = parts[0]
        method = parts[1] if parts.shape[1] > 1 else pd.Series([None] * len(parts))
        rows = self.table.reindex(address.to_numpy())
        short = address.str.slice(0, 6) + ".." + address.str.slice(-4)
        name = rows["name"].fillna(rows["family"]).fillna(pd.Series(short.to_numpy(), index=rows.index))
        family = (" [" + rows["family"] + "]").fillna("")
        family = family.where(rows["name"].notna(), "")  # a family standing in for the name is not repeated
        words = method.map(METHOD_NAMES).fillna(method).fillna("").to_numpy(dtype=object)
        text = pd.Series(name.to_numpy(dtype=object) + family.to_numpy(dtype=object) + " " + words)
        return text.str.strip().tolist()


def read_address_labels(path: str | Path) -> AddressLabels:
    """Read a label CSV (``address, name, family``, gzip fine) into :class:`AddressLabels`."""
    path = Path(path)
    if not path.exists():
        raise DataError("no such file", path=path)
    frame = load_frame(path, "csv")
    lower = {str(c).lower(): c for c in frame.columns}
    if "address" not in lower or not ({"name", "family"} & set(lower)):
        found = ", ".join(map(str, frame.columns))
        raise DataError(f"a label table needs an address column and a name or family column (found: {found})",
                        path=path, line=1)
    missing = pd.Series(None, index=frame.index, dtype=object)
    table = pd.DataFrame({"address": normalize_addresses(frame[lower["address"]]),
                          "name": frame[lower["name"]] if "name" in lower else missing,
                          "family": frame[lower["family"]] if "family" in lower else missing})
    table = table.dropna(subset=["address"])
    table["name"], table["family"] = table["name"].str.strip(), table["family"].str.strip()
    table["symbol"] = table["name"].str.extract(r"\(([^()\s]{1,12})\)$")[0]  # "Tether USD (USDT)"
    families = (table.dropna(subset=["family"]).drop_duplicates(["address", "family"])
                .groupby("address", sort=False)["family"].agg("/".join))
    first = table.groupby("address", sort=False)[["name", "symbol"]].first()  # first non-empty of each
    return AddressLabels(first.assign(family=families.reindex(first.index)))


def _address_part(items) -> np.ndarray:
    return pd.Series(list(items), dtype=object).astype(str).str.split(":", n=1).str[0].to_numpy()
