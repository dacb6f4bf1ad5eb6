"""DEX pools that the same traders use: pool co-engagement graph and its interest prototypes.

    python examples/onchain/dex_pools.py                # items = pools (contract_address)
    python examples/onchain/dex_pools.py --items pair   # items = token pairs (pools of one pair merged)

The mev-inspect swap sample (``swaps.csv.gz``, 10,000 swaps in blocks 12,634,810-12,635,061,
June 2021): senders are users, block number is time (ordered inside a block by the
transaction's position). Routers and aggregators send swaps for many traders, so senders with
more than ``--max-user-rows`` swaps are dropped. build_graph -> embed -> tokenize through
g2rec's public API; each prototype is shown as a group of pools with their tokens, named by
the tokens it trades (Etherscan labels). Writes ``results.json`` and ``prototypes.png``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import pandas as pd
from address_labels import AddressLabels, read_address_labels
from intents import plot_prototypes, prototype_names

import g2rec
from g2rec.data.onchain import ActivityFilter, filter_by_activity, normalize_addresses
from g2rec.data.prepare import PrepareConfig
from g2rec.data.readers import ReadOptions, read_log
from g2rec.errors import G2RecError
from g2rec.pipeline.embed import embed
from g2rec.pipeline.evaluate import evaluate
from g2rec.pipeline.tokenize import tokenize
from g2rec.tokenize.tokens import TokenizeConfig

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DATA, help="folder with the Ethereum sets (default: ../shared/data)")
    p.add_argument("--out", type=Path, default=None, help="run folder (default: runs/onchain/dex_pools[_pair])")
    p.add_argument("--items", choices=("pool", "pair"), default="pool", help="a pool, or its (unordered) token pair")
    p.add_argument("--max-user-rows", type=int, default=100, help="drop senders with more swaps (routers)")
    p.add_argument("--min-item-users", type=int, default=2, help="an item needs this many distinct senders")
    p.add_argument("--prototypes", type=int, default=16, help="interest prototypes at the start")
    p.add_argument("--dim", type=int, default=32, help="spectral embedding dimension")
    return p.parse_args()


class Pools:
    """Per pool its tokens (most swapped first) and its protocol, from the raw swap file."""

    def __init__(self, swaps: Path, labels: AddressLabels):
        raw = pd.read_csv(swaps, dtype=str, usecols=["contract_address", "abi_name", "token_in_address",
                                                     "token_out_address"])
        pool, tin, tout = (normalize_addresses(raw[c]) for c in ("contract_address", "token_in_address",
                                                                  "token_out_address"))
        project = labels.table["name"].str.split(":").str[0]  # "UMA: UMA Token" -> "UMA"
        self.symbol = labels.table["symbol"].fillna(project)
        swap = (tin > tout).to_numpy()
        self.row_pair = tin.where(~swap, tout) + "/" + tout.where(~swap, tin)  # unordered pair, per file row
        tokens = pd.concat([pd.DataFrame({"pool": pool, "token": tin}), pd.DataFrame({"pool": pool, "token": tout})])
        counted = tokens.value_counts().reset_index().sort_values(["pool", "count"], ascending=[True, False])
        self.tokens = counted.groupby("pool")["token"].agg(list)
        self.protocol = pd.Series(raw["abi_name"].to_numpy(), index=pool).groupby(level=0).first()
        share = counted.groupby("token")["pool"].nunique() / counted["pool"].nunique()
        self.base = set(share.index[share > 0.3])  # tokens in most pools (WETH) name no group
        self.labels = labels

    def names(self, tokens: list[str]) -> list[str]:
        short = pd.Series(tokens, dtype=object).str.slice(0, 8)
        return self.symbol.reindex(tokens).fillna(pd.Series(short.to_numpy(), index=tokens)).tolist()

    def describe(self, items: list[str]) -> list[str]:
        """``WETH/USDT (UniswapV2Pair)`` for a pool, ``WETH/USDT`` for a pair; a pool's own label first."""
        out = []
        for item in items:  # a handful of central items per prototype
            if "/" in item:
                out.append("/".join(self.names(item.split("/"))))
                continue
            label = self.labels.table["name"].get(item)
            text = "/".join(self.names(self.tokens.get(item, [])[:3])) + f" ({self.protocol.get(item, '?')})"
            out.append(f"{label}: {text}" if isinstance(label, str) else text)
        return out

    def group_name(self, items: list[str], top: int = 3) -> str:
        """The tokens a prototype's central items trade most, those in most pools (WETH) only
        when there are no others, e.g. ``USDC+DAI``."""
        tokens = Counter(t for i in items for t in (i.split("/") if "/" in i else self.tokens.get(i, [])))
        specific = [t for t, _ in tokens.most_common() if t not in self.base] or [t for t, _ in tokens.most_common()]
        return "+".join(self.names(specific[:top])) or "?"


def main() -> None:
    args = parse_args()
    out = args.out or ROOT / "runs" / "onchain" / ("dex_pools_pair" if args.items == "pair" else "dex_pools")
    swaps = args.data / "ethereum_dex_swaps_2021_sample" / "swaps.csv.gz"
    labels = read_address_labels(args.data / "ethereum_address_labels" / "etherscan_tags.csv.gz")
    clock = time.time()
    pools = Pools(swaps, labels)

    log = read_log(swaps, ReadOptions(format="onchain", item_col="contract_address"))
    if args.items == "pair":
        log.frame["item"] = pools.row_pair.to_numpy()[log.frame["line"].to_numpy() - 2]
    log = filter_by_activity(log, ActivityFilter(max_user_rows=args.max_user_rows, min_item_users=args.min_item_users))
    built = g2rec.build_graph(log, out, prepare=PrepareConfig(min_user_len=3), overwrite=True)
    print(f"data: {built['num_users']:,} senders, {built['num_items']:,} {args.items}s, "
          f"{built['num_interactions']:,} swaps, {built['num_edges']:,} co-engagement edges, "
          f"{built['connected_components']} components ({log.counts}; same sender+{args.items}+block "
          f"counted once: {built['duplicate_rows']} rows)")
    embed(out, "spectral", dim=min(args.dim, built["num_items"] - 2), evaluate=False)
    tok = tokenize(out, TokenizeConfig(num_prototypes=args.prototypes, rho=2, codebook_size=16, top_items=6))
    print(f"tokenize: {tok['num_prototypes']} prototypes, modularity {tok['modularity']:.3f} "
          f"(Leiden {tok['leiden_modularity']:.3f}, {tok['leiden_communities']} communities)")
    metrics = {m: evaluate(out, model=m)["metrics"] for m in ("popularity", "knn")}
    print("next " + args.items + " (test, full ranking): " + ", ".join(
        f"{m} NDCG@10 {v['ndcg@10']:.4f} Recall@10 {v['recall@10']:.4f}" for m, v in metrics.items()))

    named = prototype_names(out, labels, describe=pools.describe)
    for p in named:
        p["name"] = p["name"] if p["name"].startswith("isolated") else pools.group_name(p["items"])
    print(f"\nPrototypes ({len(named)}), largest first, as groups of {args.items}s (central first):")
    for p in sorted(named, key=lambda p: -p["mass"]):
        print(f"  #{p['prototype']:<3} {p['name']:<28} mass {p['mass']:6.1f}: " + "; ".join(p["described"]))
    title = f"DEX {args.items} prototypes (June 2021 swap sample, senders <= {args.max_user_rows} swaps)"
    plot_prototypes(out, named, out / "prototypes.png", title)
    results = {"data": {k: built[k] for k in ("num_users", "num_items", "num_interactions", "num_edges")},
               "filter": log.counts, "tokenize": tok, "test": metrics,
               "prototypes": [{k: p[k] for k in ("prototype", "name", "mass", "items", "described")} for p in named],
               "seconds": round(time.time() - clock, 1), "args": {k: str(v) for k, v in vars(args).items()}}
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    print(f"\n{time.time() - clock:.0f} s; wrote {out / 'results.json'}, {out / 'prototypes.png'}")


if __name__ == "__main__":
    try:
        main()
    except G2RecError as e:
        sys.exit(f"error: {e}")
