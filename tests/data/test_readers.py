"""Each reader on the real shared datasets and on small generated files."""

import gzip

import numpy as np
import pandas as pd
import pytest

from g2rec.data.readers import ReadOptions, read_log
from g2rec.data.sniff import sniff_format
from tests.conftest import (
    BEAUTY,
    BEAUTY_TIMES,
    MOVIELENS,
    PHISHING,
    SCIENTIFIC,
    TOYS,
    TX2017,
    write,
)


@pytest.mark.parametrize("path, fmt, rows, users, items", [
    (BEAUTY, "s3rec", 198_502, 22_363, 12_101),
    (TOYS, "s3rec", 167_597, 19_412, 11_924),
    (SCIENTIFIC, "lcrec", 58_492, 8_317, 4_344),
    (MOVIELENS, "movielens", 100_000, 943, 1_682),
])
def test_public_formats_match_documented_counts(shared_data, path, fmt, rows, users, items):
    log = read_log(path)
    assert log.format == fmt
    assert len(log) == rows
    assert log.frame["user"].nunique() == users
    assert log.frame["item"].nunique() == items


def test_s3rec_time_intervals_give_real_times(shared_data):
    plain, timed = read_log(BEAUTY), read_log(BEAUTY_TIMES)
    assert not plain.has_time and timed.has_time
    np.testing.assert_array_equal(plain.frame["item"], timed.frame["item"])
    first_user = timed.frame[timed.frame["user"] == 2]["time"].to_numpy()
    np.testing.assert_array_equal(first_user, np.cumsum([0, 3801600, 0, 604800, 864000, 86400, 0]))


def test_onchain_reader_drops_failed_and_builds_intents(shared_data):
    log = read_log(PHISHING)
    assert log.format == "onchain" and log.has_time
    assert log.counts["failed_tx_dropped"] == 7_484
    assert len(log) == 101_307 - 7_484
    assert log.frame["user"].str.startswith("0x").all()
    intents = read_log(PHISHING, ReadOptions(intent=True)).frame["item"]
    assert intents.str.contains(":").all()
    assert (intents.str.endswith(":transfer")).any() and (intents.str.endswith(":0xa9059cbb")).any()
    kept = read_log(PHISHING, ReadOptions(keep_failed=True))
    assert len(kept) == 101_307


def test_onchain_etl_layout(shared_data):
    log = read_log(TX2017)
    assert log.format == "onchain" and log.has_time
    assert log.frame["time"].between(1488758400, 1488844800).all()  # 2017-03-06 UTC


def test_generic_csv_with_column_options(tmp_path):
    path = write(tmp_path / "log.csv", "who,what,when,stars\nu1,a,2024-01-01T10:00:00Z,5\n"
                 "u1,b,2024-01-02T10:00:00Z,4\nu2,a,2024-01-03,3\n")
    log = read_log(path, ReadOptions(user_col="who", item_col="what", time_col="when", weight_col="stars"))
    assert log.format == "csv" and log.has_time
    assert list(log.frame["user"]) == ["u1", "u1", "u2"]
    assert log.frame["time"].iloc[1] - log.frame["time"].iloc[0] == 86400
    assert list(log.frame["weight"]) == [5.0, 4.0, 3.0]
    assert list(log.frame["line"]) == [2, 3, 4]


def test_tsv_parquet_jsonl_and_gzip_agree(tmp_path):
    frame = pd.DataFrame({"user_id": ["x", "x", "y"], "item_id": ["i", "j", "i"], "timestamp": [3, 5, 4]})
    frame.to_csv(tmp_path / "a.tsv", sep="\t", index=False)
    frame.to_parquet(tmp_path / "a.parquet")
    frame.to_json(tmp_path / "a.jsonl", orient="records", lines=True)
    with gzip.open(tmp_path / "a.csv.gz", "wt") as f:
        frame.to_csv(f, index=False)
    formats = {}
    for name in ("a.tsv", "a.parquet", "a.jsonl", "a.csv.gz"):
        log = read_log(tmp_path / name)
        formats[name] = log.format
        assert list(log.frame["user"].astype(str)) == ["x", "x", "y"]
        assert list(log.frame["time"]) == [3, 5, 4]
    assert formats == {"a.tsv": "tsv", "a.parquet": "parquet", "a.jsonl": "jsonl", "a.csv.gz": "csv"}


def test_time_col_none_uses_file_order(tmp_path):
    path = write(tmp_path / "log.csv", "user_id,item_id,timestamp\nu,a,9\nu,b,1\n")
    log = read_log(path, ReadOptions(time_col="none"))
    assert not log.has_time and list(log.frame["time"]) == [0, 1]


def test_sniffing_small_files(tmp_path):
    assert sniff_format(write(tmp_path / "seq.txt", "1 2 3 4\n2 5 6\n")) == "s3rec"
    assert sniff_format(write(tmp_path / "x.txt", "1\t2\t5\t881250949\n3\t4\t1\t881250950\n")) == "movielens"
    assert sniff_format(write(tmp_path / "x.json", '{"0": [1, 2, 3], "1": [2, 3]}')) == "lcrec"
    assert sniff_format(write(tmp_path / "tx.csv", "hash,from_address,to_address,block_timestamp\n")) == "onchain"
    assert sniff_format(write(tmp_path / "log.csv", "user_id,item_id\n1,2\n")) == "csv"


def test_times_outside_pandas_range_and_one_column_in_two_roles_are_refused(tmp_path):
    from g2rec.errors import DataError

    path = tmp_path / "log.csv"
    path.write_text("user,item,time\nu1,i1,2020-01-01\nu1,i2,0001-01-26\nu2,i1,2020-01-03\n")
    with pytest.raises(DataError, match=r"log.csv:3: field 'time': time '0001-01-26' is outside 1678-2262"):
        read_log(path)
    path.write_text("user,item,time\nu1,i1,1969-12-31T23:59:59Z\nu1,i2,2262-04-10\n")
    assert read_log(path).frame["time"].tolist() == [-1, 9223200000]
    with pytest.raises(DataError, match=r"log.csv:1: column 'user' is both the user and the item column"):
        read_log(path, ReadOptions(user_col="user", item_col="user"))
