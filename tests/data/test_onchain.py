"""The on-chain reader, the activity filter and address labels, on the real Ethereum sets in
../shared/data and on small generated CSVs. (Counts of failed rows and the ethereum-etl layout
on real data are in test_readers.py.)"""

import numpy as np
import pytest

from g2rec.data.onchain import ActivityFilter, filter_by_activity, incoming
from g2rec.data.prepare import prepare_sequences
from g2rec.data.readers import ReadOptions, read_log
from g2rec.errors import ConfigError, DataError
from tests.conftest import PHISHING, SHARED, write

SWAPS = SHARED / "ethereum_dex_swaps_2021_sample" / "swaps.csv.gz"
A = "0x52908400098527886E0F7030069857D2E4169EE7"  # EIP-55 checksummed spelling
B = "0x8617E340B3D01FA5F11F306F4090FD50E238070D"
C = "0xde709f2102306220921060314715629080e2fb77"


def onchain(tmp_path, text, **options):
    return read_log(write(tmp_path / "tx.csv", text), ReadOptions(format="onchain", **options))


def test_address_case_and_spaces_do_not_split_a_wallet(tmp_path):
    log = onchain(tmp_path, "from_address,to_address,timestamp\n"
                  f"{A},{B},1\n{A.lower()}, {B.lower()} ,2\n {A} ,{C.upper().replace('0X', '0x')},3\n")
    assert log.frame["user"].nunique() == 1 and log.frame["user"].iloc[0] == A.lower()
    assert list(log.frame["item"]) == [B.lower(), B.lower(), C]


def test_contract_creations_act_on_the_created_contract(shared_data, tmp_path):
    log = read_log(PHISHING, ReadOptions(intent=True))
    created = log.frame[log.frame["item"].str.endswith(":create")]
    assert log.counts["contract_creations"] == len(created) == 129  # 130 creations, one failed
    assert created["item"].str.match(r"0x[0-9a-f]{40}:create$").all()
    assert not log.frame["item"].str.startswith("null").any()
    # the Etherscan per-account crawl layout: empty To, ContractAddress NULL unless creation
    log = onchain(tmp_path, "TxHash,BlockHeight,TimeStamp,From,To,ContractAddress,Input,isError\n"
                  f"h1,10,100,{A},{B},NULL,0x,0\nh2,11,110,{A},,{C},0x60806040,0\nh3,12,120,{A},,NULL,0x,0\n",
                  intent=True)
    assert list(log.frame["item"]) == [f"{B.lower()}:transfer", f"{C}:create"]
    assert log.counts == {"failed_tx_dropped": 0, "contract_creations": 1, "no_receiver_dropped": 1}
    assert list(log.frame["line"]) == [2, 3]


def test_failed_transactions_excluded_by_default(shared_data, tmp_path):
    swaps = read_log(SWAPS, ReadOptions(item_col="contract_address"))  # mev-inspect: error "Reverted"/"Out of gas"
    assert swaps.counts["failed_tx_dropped"] == 36 + 13 and len(swaps) == 10_000 - 49
    assert len(read_log(SWAPS, ReadOptions(item_col="contract_address", keep_failed=True))) == 10_000
    etl = "hash,from_address,to_address,block_timestamp,receipt_status\nh1,{a},{b},1,1\nh2,{a},{c},2,0\n"
    log = onchain(tmp_path, etl.format(a=A, b=B, c=C))
    assert list(log.frame["item"]) == [B.lower()] and log.counts["failed_tx_dropped"] == 1
    assert len(onchain(tmp_path, etl.format(a=A, b=B, c=C), keep_failed=True)) == 2


def test_method_id_intents(shared_data, tmp_path):
    items = read_log(PHISHING, ReadOptions(intent=True)).frame["item"]
    methods = items.str.split(":").str[1]
    assert methods.str.fullmatch(r"0x[0-9a-f]{8}|transfer|create").all()  # "NULL" and "0x00" are transfers
    assert (methods == "0x0a19b14a").sum() > 2000  # EtherDelta trade()
    log = onchain(tmp_path, "from_address,to_address,block_number,input\n"
                  f"{A},{B},1,0xA9059CBB000000000000000000000000{C[2:]}\n{A},{B},2,0x\n{A},{B},3,0x00\n"
                  f"{A},{B},4,\n{A},{C},5,0x095ea7b3\n", intent=True)
    assert list(log.frame["item"].str.split(":").str[1]) == ["0xa9059cbb", "transfer", "transfer", "transfer",
                                                             "0x095ea7b3"]
    with pytest.raises(DataError, match="method_id or input column"):
        onchain(tmp_path, f"from_address,to_address,timestamp\n{A},{B},1\n", intent=True)


def test_block_number_time_ordered_inside_blocks(shared_data, tmp_path):
    swaps = read_log(SWAPS, ReadOptions(item_col="contract_address"))
    assert swaps.has_time and swaps.frame["time"].dtype == np.int64  # "12634825.0" in the file
    assert swaps.frame["time"].between(12_634_810, 12_635_061).all()
    assert np.all(np.diff(swaps.frame["time"].to_numpy()) >= 0)
    # rows of one block in file order 2, 0, 1: the sequence follows the position in the block
    log = onchain(tmp_path, "from_address,contract_address,block_number,transaction_position\n"
                  f"{A},p2,7.0,2.0\n{A},p0,7.0,0.0\n{A},p1,7.0,1.0\n{A},p9,6.0,9.0\n", item_col="contract_address")
    seq, _ = prepare_sequences(log)
    assert list(seq.item_ids[seq.items]) == ["p9", "p0", "p1", "p2"]
    assert list(log.frame["line"]) == [5, 3, 4, 2]


def test_bad_rows_are_one_clear_error_naming_the_file_line(tmp_path):
    with pytest.raises(DataError, match=r"tx.csv:3: field 'from_address': empty sender"):
        onchain(tmp_path, f"from_address,to_address,timestamp\n{A},{B},1\nNULL,{B},2\n")
    with pytest.raises(DataError, match=r"tx.csv:4: field 'timestamp': cannot parse 'soon'"):  # after a failed row
        onchain(tmp_path, f"from_address,to_address,timestamp,is_error\n{A},{B},1,1\n{A},{B},2,0\n{A},{B},soon,0\n")


def test_activity_filter_drops_hubs_and_rare_items(shared_data, tmp_path):
    rows = [f"router,p{i % 5},{i}" for i in range(50)] + [f"w{u},p{u % 2},{u}" for u in range(6)] + ["w0,solo,99"]
    log = onchain(tmp_path, "from_address,contract_address,block_number\n" + "\n".join(rows) + "\n",
                  item_col="contract_address")
    out = filter_by_activity(log, ActivityFilter(max_user_rows=10, min_item_users=2))
    assert set(out.frame["user"]) == {f"w{u}" for u in range(6)} and set(out.frame["item"]) == {"p0", "p1"}
    assert out.counts["hub_users_dropped"] == 1 and out.counts["hub_user_rows_dropped"] == 50
    assert out.counts["rare_items_dropped"] == 1 and out.counts["rare_item_rows_dropped"] == 1
    real = filter_by_activity(read_log(PHISHING), ActivityFilter(min_item_users=2))
    assert (real.frame.groupby("item")["user"].nunique() >= 2).all()
    with pytest.raises(ConfigError):
        ActivityFilter(min_item_users=0)
    with pytest.raises(DataError, match="no interactions left"):
        filter_by_activity(log, ActivityFilter(min_item_users=100))


def test_incoming_turns_the_log_around(shared_data, tmp_path):
    log = onchain(tmp_path, f"from_address,to_address,timestamp\n{A},{B},1\n{C},{B},2\n{A},{C},3\n")
    back = incoming(log)
    assert list(back.frame["user"]) == [B.lower(), B.lower(), C] and list(back.frame["item"]) == [A.lower(), C, A.lower()]
    assert list(back.frame["time"]) == [1, 2, 3] and log.frame["user"].iloc[0] == A.lower()  # the input is kept
    real = read_log(PHISHING)
    assert (incoming(real).frame["user"].value_counts() == real.frame["item"].value_counts()).all()
    with pytest.raises(ConfigError, match="without intent"):
        incoming(read_log(PHISHING, ReadOptions(intent=True)))
