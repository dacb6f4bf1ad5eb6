"""The wallet-risk example's per-address features: exact values on a small generated CSV (both
layouts), real counts on the phishing crawl, clear errors; the address label table."""

import numpy as np
import pandas as pd
import pytest
from address_activity import (
    BEHAVIOUR_FEATURES,
    FEATURES,
    address_features,
    behaviour_features,
    read_transfers,
)
from address_labels import read_address_labels

from g2rec.errors import DataError
from tests.conftest import PHISHING, SHARED, write

LABELS = SHARED / "ethereum_address_labels" / "etherscan_tags.csv.gz"

A = "0x52908400098527886E0F7030069857D2E4169EE7"
B = "0x8617e340b3d01fa5f11f306f4090fd50e238070d"
C = "0xde709f2102306220921060314715629080e2fb77"
N = "0x00000000000000000000000000000000000000aa"  # created contract


def sample(tmp_path):
    # A pays B twice (one failed), B pays C, A calls C, A creates N; times in seconds
    return write(tmp_path / "tx.csv", "from_address,to_address,value_eth,timestamp,method_id,is_error,contract_address\n"
                 f"{A},{B},1.5,0,,0,\n{A},{B},2.0,86400,,1,\n{B},{C},1.0,90000,,0,\n"
                 f"{A},{C},0,172800,0xa9059cbb,0,\n{A},,0,172801,,0,{N}\n")


def test_features_count_both_sides_and_only_successful_values(tmp_path):
    tx = read_transfers(sample(tmp_path))
    assert list(tx.columns) == ["sender", "receiver", "value", "time", "call", "failed"]
    assert tx["sender"].iloc[0] == A.lower() and tx["receiver"].iloc[4] == N and tx["failed"].sum() == 1
    f = address_features(tx)
    assert list(f.columns) == list(FEATURES) and f.dtypes.eq(np.float64).all()
    a, b = f.loc[A.lower()], f.loc[B]
    assert (a["tx_out"], a["tx_in"], a["degree_out"], a["failed_out_share"]) == (3, 0, 3, 0.25)
    assert a["value_out_sum"] == 1.5 and a["value_out_max"] == 1.5 and a["zero_value_out_share"] == 2 / 3
    assert a["call_out_share"] == 1 / 3 and a["span"] == 172801 and a["active_periods"] == 3
    assert a["mean_gap"] == pytest.approx(172801 / 3)
    assert (b["tx_in"], b["degree_in"], b["repeat_in"], b["tx_out"], b["value_in_mean"]) == (1, 1, 1, 1, 1.5)
    assert f.loc[N, "tx_in"] == 1 and f.loc[C, "degree_in"] == 2


def test_requested_addresses_in_order_unknown_ones_zero(tmp_path):
    f = address_features(read_transfers(sample(tmp_path)), [C.upper().replace("0X", "0x"), "0xunknown", A])
    assert list(f.index) == [C, "0xunknown", A.lower()]
    assert (f.loc["0xunknown"] == 0).all() and f.loc[A.lower(), "tx_out"] == 3


def test_behaviour_of_a_forwarder_and_a_sender(tmp_path):
    # B receives 1.5 from A at t=0 and forwards 1.0 to C at t=90000; A only sends (the failed row is left out)
    f = behaviour_features(read_transfers(sample(tmp_path)), [B, A, "0xunknown"])
    assert list(f.columns) == list(BEHAVIOUR_FEATURES) and list(f.index) == [B, A.lower(), "0xunknown"]
    b, a = f.loc[B], f.loc[A.lower()]
    assert (b["in_value_median"], b["in_round_value_share"], b["in_single_tx_counterparty_share"]) == (1.5, 1, 1)
    assert (b["in_first_position"], b["out_first_position"]) == (0, pytest.approx(90000 / 90001))
    assert (b["out_value_share"], b["first_is_in"], b["last_is_out"]) == (pytest.approx(0.4), 1, 1)
    assert (b["forward_lag_median"], b["forwarded_share"], b["gap_max"], b["burst_share"]) == (90000, 1, 90000, 0)
    assert (a["in_first_position"], a["first_is_in"], a["forwarded_share"], a["out_value_share"]) == (-1, 0, 0, 1)
    assert (a["out_value_median"], a["out_top_counterparty_share"], a["out_hour_entropy"]) == (1.5, pytest.approx(1 / 3), 0)
    assert (a["out_gap_median"], a["burst_share"]) == (86400.5, 0.5)
    assert (f.loc["0xunknown"] == 0).all() and f.dtypes.eq(np.float64).all()


def test_etherscan_crawl_layout(tmp_path):
    path = write(tmp_path / "crawl.csv", ",TxHash,BlockHeight,TimeStamp,From,To,Value,ContractAddress,Input,isError\n"
                 f"0,0x1,5,100,{A},{B},0.5,NULL,0x,0\n1,0x2,6,200,{B},,0,{N},0x6060604052,0\n")
    tx = read_transfers(path)
    assert list(tx["receiver"]) == [B, N] and list(tx["call"]) == [False, True] and list(tx["time"]) == [100, 200]


def test_real_crawl_counts_match_the_file(shared_data):
    tx = read_transfers(PHISHING)
    raw = pd.read_csv(PHISHING, usecols=["from_address", "is_error"], dtype=str)
    assert len(tx) == 101_307 and tx["failed"].sum() == 7_484
    f = address_features(tx)
    ok = raw[raw["is_error"] == "0"]["from_address"].value_counts()
    assert (f["tx_out"].reindex(ok.index) == ok).all()
    assert f["tx_out"].sum() == f["tx_in"].sum() == 101_307 - 7_484


def test_bad_input_is_one_clear_error(tmp_path):
    with pytest.raises(DataError, match="no value column"):
        read_transfers(write(tmp_path / "a.csv", f"from,to,timestamp\n{A},{B},1\n"))
    with pytest.raises(DataError, match=r"b.csv:3: field 'value': not a number: 'x'"):
        read_transfers(write(tmp_path / "b.csv", f"from,to,value,timestamp\n{A},{B},1,1\n{A},{B},x,2\n"))
    with pytest.raises(DataError, match=r"c.csv:2: empty sender"):
        read_transfers(write(tmp_path / "c.csv", f"from,to,value,timestamp\n ,{B},1,1\n"))
    with pytest.raises(DataError, match="no such file"):
        read_transfers(tmp_path / "missing.csv")


def test_address_labels_merge_spellings_and_describe_intents(shared_data):
    labels = read_address_labels(LABELS)
    assert labels.table.index.is_unique and labels.table.index.str.fullmatch(r"0x[0-9a-f]{40}").all()
    assert labels.table.loc["0x7be8076f4ea4a4ad08075c2508e481d6c946d12b", "family"] == \
        "collectibles/marketplace/nft/opensea"
    weth, usdt = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2", "0xdac17f958d2ee523a2206206994597c13d831ec7"
    assert list(labels.table.loc[[weth, usdt], "symbol"]) == ["WETH", "USDT"]  # from a later row's name
    assert labels.table.loc[usdt, "name"] == "Tether: USDT Stablecoin"
    items = ["0x2a0c0dbecc7e4d658f48e01e3fa353f44050c208:0x0a19b14a", "0x8d12a197cb00d4747a1fe03395095ce2a5cc6819",
             "0x33a330a68d824bf56c7dbc42d4cd827368441321:transfer"]
    assert labels.describe(items) == ["IDEX [idex] trade", "0x8d12..6819", "0-gas-sender send ETH"]
    assert list(labels.known(items)) == [True, False, True]
