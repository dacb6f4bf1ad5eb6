"""Synthetic interaction logs with known structure, for tests and scale benchmarks.

Items are split into communities (latent interests) of varying size; within a community,
popularity follows a power law. Each user mixes a few communities with Dirichlet weights and
walks between them as a sticky Markov chain, with a little uniform noise. The ground-truth
community of every item is returned in ``df.attrs["item_community"]``. Everything is
vectorized with numpy, so 10M rows take seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from g2rec.errors import ConfigError

from ..config import check_fields


def _check(name, value, lo, hi, lo_open=False, owner="SyntheticConfig.") -> None:
    """Raise ConfigError unless lo <= value <= hi (lo < value if lo_open; hi None = no bound)."""
    ok = (value > lo if lo_open else value >= lo) and (hi is None or value <= hi)
    if not ok:
        rng = f"{'(' if lo_open else '['}{lo}, {'inf)' if hi is None else f'{hi}]'}"
        raise ConfigError(f"{owner}{name}={value!r} is out of range: must be in {rng}")


@dataclass
class SyntheticConfig:
    num_users: int = 5000
    num_items: int = 2000
    num_communities: int = 20  # item communities = latent interests
    interests_per_user: int = 3  # communities each user mixes (Dirichlet weights)
    mean_length: float = 12.0  # mean sequence length (lognormal tail above min_length)
    min_length: int = 5
    max_length: int = 500
    zipf_exponent: float = 1.1  # power-law popularity within a community
    stickiness: float = 0.7  # P(keep the previous community); else redraw from the user's mix
    noise: float = 0.05  # P(an interaction is a uniformly random item)
    start_time: int = 1_500_000_000  # unix seconds
    span_days: float = 365.0
    seed: int = 0

    def __post_init__(self):
        check_fields(self)
        _check("num_users", self.num_users, 1, None)
        _check("num_communities", self.num_communities, 1, None)
        _check("num_items", self.num_items, self.num_communities, None)  # every community non-empty
        _check("interests_per_user", self.interests_per_user, 1, self.num_communities)
        _check("min_length", self.min_length, 1, None)
        _check("max_length", self.max_length, self.min_length, None)
        _check("mean_length", self.mean_length, self.min_length, self.max_length)
        _check("zipf_exponent", self.zipf_exponent, 0, None)
        _check("stickiness", self.stickiness, 0, 1)
        _check("noise", self.noise, 0, 1)
        _check("start_time", self.start_time, 0, None)
        _check("span_days", self.span_days, 0, None, lo_open=True)
        _check("seed", self.seed, 0, None)


def generate_log(config: SyntheticConfig) -> pd.DataFrame:
    """Generate an interaction log.

    Returns a frame with int64 columns ``user_id``, ``item_id``, ``timestamp`` (unix seconds),
    sorted by (user_id, timestamp), timestamps strictly increasing within a user, and
    ``attrs["item_community"]``: int64 array (num_items,) with each item's community.
    """
    c, rng = config, np.random.default_rng(config.seed)
    U, I, K, m = c.num_users, c.num_items, c.num_communities, c.interests_per_user

    # Communities: Dirichlet sizes (each >= 1) over a random permutation of the item ids.
    share = rng.dirichlet(np.full(K, 2.0))
    sizes = 1 + rng.multinomial(I - K, share)  # (K,)
    members = rng.permutation(I)  # (I,) items grouped by community
    item_community = np.empty(I, dtype=np.int64)
    item_community[members] = np.repeat(np.arange(K), sizes)

    # Users: lengths, interests (weighted by community size) and Dirichlet mixing weights.
    extra = c.mean_length - c.min_length
    tail = rng.lognormal(np.log(extra) - 0.5, 1.0, U) if extra > 0 else np.zeros(U)
    lengths = np.clip(np.floor(c.min_length + tail + 0.5), c.min_length, c.max_length)
    lengths = lengths.astype(np.int64)  # (U,)
    interests = rng.choice(K, size=(U, m), p=sizes / I)  # (U, m)
    cum_w = np.cumsum(rng.dirichlet(np.ones(m), size=U), axis=1)  # (U, m)

    N = int(lengths.sum())
    user = np.repeat(np.arange(U, dtype=np.int64), lengths)  # (N,)
    first = np.cumsum(lengths) - lengths  # (U,) row of first event

    # Sticky Markov chain over the user's interests: draw a community from the user's mixture
    # at each switch (and at each user's first event), then carry it forward to the next switch.
    switch = rng.random(N) >= c.stickiness
    switch[first] = True
    switch_user = user[switch]  # (S,)
    u = rng.random(switch_user.size)
    slot = np.zeros(switch_user.size, dtype=np.int64)
    for j in range(m - 1):
        slot += u > cum_w[:, j][switch_user]
    community = interests.ravel()[switch_user * m + slot][np.cumsum(switch) - 1]  # (N,)
    del switch, switch_user, u, slot

    # Items: Zipf rank within the community (inverse CDF, one small searchsorted per
    # community, which is much faster than one big one), or uniform noise.
    item = np.empty(N, dtype=np.int64)
    for k, (lo, n) in enumerate(zip(np.cumsum(sizes) - sizes, sizes)):
        cdf = np.cumsum(np.arange(1, n + 1, dtype=np.float64) ** -c.zipf_exponent)
        rows = np.flatnonzero(community == k)
        rank = np.searchsorted(cdf / cdf[-1], rng.random(rows.size), side="right")
        item[rows] = members[lo + rank]
    noisy = rng.random(N) < c.noise
    item[noisy] = rng.integers(0, I, int(noisy.sum()))
    del community, noisy

    # Time: start uniform in the first half of the span, exponential gaps with mean
    # half-span / length, squeezed where a history would run past the span's end; adding the
    # event's rank within the user makes the integer seconds strictly increasing.
    span = c.span_days * 86400
    start = np.floor(rng.random(U) * span / 2)  # (U,) offset into the span
    elapsed = rng.exponential(1.0, N) * (span / 2 / lengths)[user]
    elapsed[first] = 0
    np.cumsum(elapsed, out=elapsed)
    elapsed -= np.repeat(elapsed[first], lengths)
    total = elapsed[first + lengths - 1]
    scale = np.minimum(1.0, np.maximum(span - start - lengths, 0) / np.maximum(total, 1e-9))
    elapsed *= np.repeat(scale, lengths)
    timestamp = np.floor(elapsed).astype(np.int64)
    del elapsed
    timestamp += np.arange(N) - np.repeat(first, lengths)
    timestamp += np.repeat(c.start_time + start.astype(np.int64), lengths)

    df = pd.DataFrame({"user_id": user, "item_id": item, "timestamp": timestamp})
    df.attrs["item_community"] = item_community
    return df


def generate_log_of_size(num_interactions: int, seed: int = 0, **overrides) -> pd.DataFrame:
    """Generate a log of roughly ``num_interactions`` rows (within a few percent).

    Uses num_users = num_interactions / mean_length and num_items = num_users / 4 (capped at
    1M, at least num_communities). ``overrides`` are further SyntheticConfig fields and win.
    """
    _check("num_interactions", num_interactions, 1, None, owner="")
    mean_length = overrides.get("mean_length", SyntheticConfig.mean_length)
    communities = overrides.get("num_communities", SyntheticConfig.num_communities)
    users = max(1, round(num_interactions / mean_length))
    items = int(np.clip(users // 4, communities, 1_000_000))
    fields = {"num_users": users, "num_items": items, "seed": seed, **overrides}
    return generate_log(SyntheticConfig(**fields))
