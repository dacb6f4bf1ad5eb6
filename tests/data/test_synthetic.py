import numpy as np
import pandas as pd
import pytest

from g2rec.data.synthetic import SyntheticConfig, generate_log, generate_log_of_size
from g2rec.errors import ConfigError

SMALL = {"num_users": 2000, "num_items": 1000, "num_communities": 20}


@pytest.fixture(scope="module")
def log():
    return generate_log(SyntheticConfig(**SMALL))


def _top3_share(users: np.ndarray, communities: np.ndarray, num_communities: int) -> float:
    """Mean over users of the share of their interactions in their 3 most-used communities."""
    counts = np.zeros((users.max() + 1, num_communities))
    np.add.at(counts, (users, communities), 1)
    top3 = np.sort(counts, axis=1)[:, -3:].sum(axis=1)
    return float(np.mean(top3 / counts.sum(axis=1)))


def test_same_seed_same_frame_and_different_seed_differs(log):
    again = generate_log(SyntheticConfig(**SMALL))
    pd.testing.assert_frame_equal(log, again)
    np.testing.assert_array_equal(log.attrs["item_community"], again.attrs["item_community"])
    other = generate_log(SyntheticConfig(**SMALL, seed=1))
    assert not log.equals(other)


def test_columns_dtypes_and_sorted(log):
    assert list(log.columns) == ["user_id", "item_id", "timestamp"]
    assert all(dtype == np.int64 for dtype in log.dtypes)
    assert log.user_id.is_monotonic_increasing
    assert log.item_id.between(0, SMALL["num_items"] - 1).all()
    assert log.user_id.nunique() == SMALL["num_users"]


def test_time_strictly_increasing_per_user(log):
    same_user = log.user_id.to_numpy()[1:] == log.user_id.to_numpy()[:-1]
    assert (np.diff(log.timestamp.to_numpy())[same_user] > 0).all()
    assert log.timestamp.min() >= SyntheticConfig.start_time
    assert log.timestamp.max() < SyntheticConfig.start_time + SyntheticConfig.span_days * 86400


def test_length_bounds():
    cfg = SyntheticConfig(**SMALL, min_length=7, max_length=40)
    lengths = generate_log(cfg).groupby("user_id").size()
    assert lengths.min() >= 7 and lengths.max() <= 40
    assert abs(lengths.mean() - cfg.mean_length) < 0.15 * cfg.mean_length


def test_communities_vary_in_size_and_are_not_id_ranges(log):
    ic = log.attrs["item_community"]
    assert ic.shape == (SMALL["num_items"],) and ic.dtype == np.int64
    sizes = np.bincount(ic, minlength=SMALL["num_communities"])
    assert (sizes > 0).all() and sizes.max() > 2 * sizes.min()
    assert (np.diff(ic) != 0).sum() > 10 * SMALL["num_communities"]  # shuffled, not contiguous


def test_popularity_is_heavy_tailed(log):
    counts = np.sort(np.bincount(log.item_id, minlength=SMALL["num_items"]))[::-1]
    assert counts[: SMALL["num_items"] // 10].sum() > 0.3 * len(log)


def test_users_concentrate_on_few_communities(log):
    ic, k = log.attrs["item_community"], SMALL["num_communities"]
    users = log.user_id.to_numpy()
    observed = _top3_share(users, ic[log.item_id.to_numpy()], k)
    random_items = np.random.default_rng(0).integers(0, SMALL["num_items"], len(log))
    baseline = _top3_share(users, ic[random_items], k)
    assert observed > 0.85 and observed > baseline + 0.25


def test_stickiness_keeps_consecutive_items_in_one_community():
    def same_rate(stickiness):
        df = generate_log(SyntheticConfig(**SMALL, stickiness=stickiness, noise=0.0))
        comm = df.attrs["item_community"][df.item_id.to_numpy()]
        same_user = df.user_id.to_numpy()[1:] == df.user_id.to_numpy()[:-1]
        return np.mean((comm[1:] == comm[:-1])[same_user])

    assert same_rate(0.95) > same_rate(0.0) + 0.2


@pytest.mark.parametrize(
    "field, value",
    [
        ("num_users", 0),
        ("num_items", 5),
        ("interests_per_user", 21),
        ("max_length", 3),
        ("mean_length", 1.0),
        ("stickiness", 1.5),
        ("noise", -0.1),
        ("span_days", 0),
        ("zipf_exponent", -1),
    ],
)
def test_bad_config_raises_config_error_naming_field(field, value):
    with pytest.raises(ConfigError, match=field):
        SyntheticConfig(**{field: value})


@pytest.mark.parametrize("size", [1_000, 50_000])
def test_generate_log_of_size_hits_target(size):
    df = generate_log_of_size(size, seed=3)
    assert 0.8 * size <= len(df) <= 1.2 * size
    assert df.item_id.max() < len(df.attrs["item_community"])


def test_generate_log_of_size_overrides_win():
    df = generate_log_of_size(5_000, num_communities=5, min_length=3, mean_length=6.0)
    assert df.attrs["item_community"].max() == 4
    assert df.groupby("user_id").size().min() >= 3
    assert 4_000 <= len(df) <= 6_000


def test_generate_log_of_size_rejects_nonpositive():
    with pytest.raises(ConfigError, match="num_interactions"):
        generate_log_of_size(0)
