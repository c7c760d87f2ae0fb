"""Seeded generator of counter-snapshot series shaped like the real fixtures.

Writes one `<tag>.tsv` per series (`YYYY-MM-DD HH:MM:SS<TAB>value`, no header), the
format of `../shared/fixtures/tiktok-tag-views/`. What makes the fixtures hard is copied:
irregular 3-6 h sampling, values shown to 3 (some series 4) significant digits, stale
reads that step the counter down (~1-2% of steps), scraper outages longer than 7 days, and a
few bursts of fast growth. Everything is vectorised numpy; the same seed gives the same
files byte for byte.

usage: gen.py OUT_DIR OBSERVATIONS [--seed N]
"""

import argparse
import os
import sys

import numpy as np
import polars as pl

# Series length varies around this mean (about two years of 3-6 h sampling).
MEAN_LEN = 4000
# Every series ends in the four weeks before this time (UTC seconds): 2026-11-16.
END = 1_794_787_200


def generate(n_obs: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n_series = max(1, round(n_obs / MEAN_LEN))
    # Lengths between 0.5x and 1.5x the mean, scaled to sum to exactly n_obs.
    raw = rng.uniform(0.5, 1.5, n_series)
    lengths = np.floor(raw / raw.sum() * n_obs).astype(np.int64)
    lengths[: n_obs - lengths.sum()] += 1
    sid = np.repeat(np.arange(n_series, dtype=np.int64), lengths)
    first = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    is_first = np.zeros(n_obs, dtype=bool)
    is_first[first] = True

    # Irregular sampling: 3-6 h plus cron drift in seconds; ~1 in 2500 steps is an outage
    # of 2 to 40 days (most longer than max_gap's 7 days).
    step = rng.integers(3 * 3600, 6 * 3600, n_obs)
    outage = rng.random(n_obs) < 1 / 2500
    step = step + np.where(outage, rng.integers(2 * 86400, 40 * 86400, n_obs), 0)
    step[is_first] = 0
    within = np.cumsum(step)
    within -= np.repeat(within[first], lengths)
    span = np.repeat(within[first + lengths - 1], lengths)
    end = END - rng.integers(0, 28 * 86400, n_series)
    t = np.repeat(end, lengths) - span + within

    # A counter: a start value from thousands to tens of billions, growth per second
    # proportional to it, noisy, with bursts of 5-20x lasting ~1-3 weeks.
    start = 10 ** rng.uniform(3, 10.5, n_series)
    rate = start * 10 ** rng.uniform(-9, -7, n_series)
    burst_at = rng.random(n_obs) < 1 / 2500
    burst_len = rng.integers(40, 120, n_obs)
    mark = np.zeros(n_obs + 1, dtype=np.int64)
    np.add.at(mark, np.nonzero(burst_at)[0], 1)
    ends = np.minimum(np.nonzero(burst_at)[0] + burst_len[burst_at], n_obs)
    np.add.at(mark, ends, -1)
    active = np.cumsum(mark[:-1]) > 0
    mult = np.where(active, rng.uniform(5, 20, n_obs), 1.0)
    inc = np.repeat(rate, lengths) * step * mult * rng.lognormal(0, 0.5, n_obs)
    inc[is_first] = 0
    acc = np.cumsum(inc)
    acc -= np.repeat(acc[first], lengths)
    true = np.repeat(start, lengths) + acc

    # Stale reads step down; then the page's rounding to 3 or 4 significant digits.
    stale = rng.random(n_obs) < 0.012
    shown = np.where(stale, true * (1 - rng.uniform(0.0005, 0.01, n_obs)), true)
    digits = np.repeat(np.where(rng.random(n_series) < 0.8, 3, 4), lengths)
    mag = 10.0 ** (np.floor(np.log10(shown)) - (digits - 1))
    value = (np.round(shown / mag) * mag).astype(np.uint64)

    return pl.DataFrame(
        {
            "sid": sid,
            "observed_at": (t * 1000).astype("datetime64[ms]"),
            "value": value,
        }
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out_dir")
    p.add_argument("observations", type=int)
    p.add_argument("--seed", type=int, default=20261122)
    a = p.parse_args()
    df = generate(a.observations, a.seed)
    os.makedirs(a.out_dir, exist_ok=True)
    for (sid,), part in df.partition_by("sid", as_dict=True, maintain_order=True).items():
        part.select("observed_at", "value").write_csv(
            os.path.join(a.out_dir, f"tag{sid:06d}.tsv"),
            separator="\t",
            include_header=False,
            datetime_format="%Y-%m-%d %H:%M:%S",
        )
    print(f"{a.out_dir}: {df.height} observations in {df['sid'].n_unique()} series", file=sys.stderr)


if __name__ == "__main__":
    main()
