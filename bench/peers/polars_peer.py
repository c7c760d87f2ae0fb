"""weekly_tag_metrics with polars (lazy), written for speed as an expert would.

One `scan_csv` over the glob with an explicit schema (the CSV reader parses the
timestamps natively), the file path cast to a categorical once so every grouping key is an
integer, `join_asof` for the week boundaries, integer arithmetic for the rounding steps,
and one lazy plan collected at the edge. See bench/README.md for what was tried.

usage: polars_peer.py 'DIR/*.tsv' OUT.parquet
"""

import sys

import polars as pl

from common import (BREAKOUT_Z, COLUMNS, MAX_GAP, METRIC, PLATFORM, RESOLUTION_WEEKS, Z_MIN,
                    Z_WINDOW)


def observations(glob: str) -> pl.LazyFrame:
    """Every distinct (series, time) with its envelope, step-down flag, week and step."""
    raw = (
        pl.scan_csv(
            glob, separator="\t", has_header=False,
            # Read as text: the CSV reader's own datetime parsing took 4x longer than
            # `to_datetime` with the format given and no cache.
            schema={"ts": pl.String, "value": pl.UInt64},
            include_file_paths="path",
        )
        .select(
            pl.col("path").cast(pl.Categorical).to_physical().alias("id"),
            pl.col("path").cast(pl.Categorical).alias("path"),
            pl.col("ts").str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="ms", cache=False)
            .dt.epoch("s").alias("t"),
            pl.col("value"),
        )
        # Files are read in order and each is nearly sorted: a stable sort is cheap, and
        # dropping a row equal to the next keeps the last of each (series, time), where
        # `unique` would hash 10M keys and scramble the order the sort then restores.
        .sort("id", "t", maintain_order=True)
        .filter(
            (pl.col("id") != pl.col("id").shift(-1))
            | (pl.col("t") != pl.col("t").shift(-1))
            | pl.col("t").shift(-1).is_null()
        )
    )
    v, x = pl.col("value"), pl.col("x")
    # The rounding step 10^k of a raw value, k = its trailing decimal zeros, found in five
    # halvings (16, 8, 4, 2, 1 zeros): half the time of testing all 19 powers of ten.
    obs = raw.with_columns(x=v, k=pl.lit(0, pl.Int32))
    for p in (16, 8, 4, 2, 1):
        hit = (x % 10**p == 0) & (x > 0)
        obs = obs.with_columns(
            x=pl.when(hit).then(x // 10**p).otherwise(x), k=pl.col("k") + hit.cast(pl.Int32) * p
        )
    return obs.with_columns(
        env=v.cast(pl.Float64).cum_max().over("id"),
        down=(v < v.shift().over("id")).fill_null(False),
        week=(pl.col("t") // 86_400 + 3) // 7,
        step=pl.when(v > 0).then(pl.lit(10.0).pow(pl.col("k"))),
    ).drop("x", "k")


def weekly(glob: str) -> pl.LazyFrame:
    obs = observations(glob).collect().lazy()
    # Week boundaries T_w of each series, one more than its last week (for V(T_w+1)).
    grid = (
        obs.group_by("id")
        .agg(w0=pl.col("week").min(), w1=pl.col("week").max())
        .with_columns(week=pl.int_ranges("w0", pl.col("w1") + 2))
        .explode("week")
        .with_columns(T=(pl.col("week") * 7 - 3) * 86_400)
        .sort("id", "T")
    )
    pts = obs.select("id", "t", "env")
    before = pts.rename({"t": "ta", "env": "va"})
    after = pts.rename({"t": "tb", "env": "vb"})
    dt = (pl.col("tb") - pl.col("ta")).cast(pl.Float64)
    v = (
        pl.when(pl.col("ta") == pl.col("T")).then(pl.col("va"))
        .when(pl.col("ta").is_null() | pl.col("tb").is_null()).then(None)
        .when(dt > MAX_GAP).then(None)
        .otherwise(
            pl.col("va")
            + (pl.col("vb") - pl.col("va")) * (pl.col("T") - pl.col("ta")).cast(pl.Float64) / dt
        )
    )
    bounds = (
        grid.join_asof(before, left_on="T", right_on="ta", by="id", strategy="backward",
                       check_sortedness=False)
        .join_asof(after, left_on="T", right_on="tb", by="id", strategy="forward",
                   check_sortedness=False)
        .with_columns(v_start=v)
        .with_columns(v_end=pl.col("v_start").shift(-1).over("id"))
        .filter(pl.col("week") <= pl.col("w1"))
    )
    counts = obs.group_by("id", "week").agg(
        path=pl.col("path").first(),
        observations=pl.len().cast(pl.UInt32),
        decreases=pl.col("down").sum().cast(pl.UInt32),
    )
    # Resolution of week w: the lower median step of the snapshots of weeks w-1..w+1,
    # from per-week counts of each step (far fewer rows than snapshots).
    steps = (
        obs.filter(pl.col("step").is_not_null())
        .group_by("id", "week", "step")
        .agg(count=pl.len())
    )
    resolution = (
        pl.concat([
            steps.select("id", (pl.col("week") - d).alias("week"), "step", "count")
            for d in RESOLUTION_WEEKS
        ])
        .group_by("id", "week", "step")
        .agg(pl.col("count").sum())
        .sort("id", "week", "step")
        .group_by("id", "week", maintain_order=True)
        .agg(
            resolution=pl.col("step").get(
                (pl.col("count").cum_sum() <= (pl.col("count").sum() - 1) // 2)
                .sum().cast(pl.UInt32)
            )
        )
    )
    rows = (
        bounds.join(counts, on=["id", "week"], how="left")
        .join(resolution, on=["id", "week"], how="left")
        .select(
            "id", "week",
            pl.col("v_end").alias("total_end"),
            (pl.col("v_end") - pl.col("v_start")).alias("gained"),
            pl.col("observations").fill_null(0),
            pl.col("decreases").fill_null(0),
            "resolution",
        )
        .sort("id", "week")
    )
    names = obs.select("id", "path").unique("id").with_columns(
        tag=pl.col("path").cast(pl.String).str.extract(r"([^/]+)\.tsv$").str.to_lowercase()
    ).select("id", "tag")
    return signals(rows).join(names, on="id").select(COLUMNS)


def signals(rows: pl.LazyFrame) -> pl.LazyFrame:
    g = pl.col("gained")

    def back(c: pl.Expr, k: int) -> pl.Expr:
        """`c` k weeks back in the same series: rows are sorted by (id, week), so a plain
        shift masked where the series changes is cheaper than a window per series."""
        return pl.when(pl.col("id").shift(k) == pl.col("id")).then(c.shift(k))

    lag = [back(g, k).alias(f"g{k}") for k in range(1, Z_WINDOW + 1)]
    prev = pl.concat_list([f"g{k}" for k in range(1, Z_WINDOW + 1)])
    mean4 = (pl.col("g1") + pl.col("g2") + pl.col("g3") + pl.col("g4")) / 4.0
    # List aggregations skip nulls: the window's missing weeks need no drop_nulls.
    dev = pl.concat_list(
        [(pl.col(f"g{k}") - pl.col("med")).abs() for k in range(1, Z_WINDOW + 1)]
    )
    scale = pl.max_horizontal(
        pl.when(pl.col("mad") > 0).then(1.4826 * pl.col("mad"))
        .otherwise(1.2533 * pl.col("mean_dev")),
        pl.col("resolution").fill_null(0.0),
    )
    z = (
        pl.when((pl.col("n") >= Z_MIN) & (scale > 0) & g.is_not_null())
        .then((g - pl.col("med")) / scale)
        .otherwise(None)
    )
    n = pl.sum_horizontal([pl.col(f"g{k}").is_not_null() for k in range(1, Z_WINDOW + 1)])
    return (
        rows.with_columns(lag + [back(pl.col("total_end"), 1).alias("te1")])
        .with_columns(med=prev.list.median(), n=n)
        .with_columns(mad=dev.list.median(), mean_dev=dev.list.mean())
        .with_columns(z=z)
        .select(
            "id",
            pl.lit(PLATFORM).alias("platform"),
            pl.lit(METRIC).alias("metric"),
            (pl.col("week") * 7 - 3).cast(pl.Int32).cast(pl.Date).alias("week_start"),
            "total_end", "gained", "observations", "decreases",
            pl.lit(None, pl.Float64).alias("coverage"),
            "resolution",
            pl.when(pl.col("g1") > 0).then(g / pl.col("g1") - 1).alias("wow_growth"),
            pl.when(pl.col("te1") != 0)
            .then(pl.col("total_end") / pl.col("te1") - 1).alias("total_growth"),
            ((g + pl.col("g1") + pl.col("g2") + pl.col("g3")) / 4.0).alias("avg4"),
            pl.when(mean4 > 0).then(g / mean4 - 1).alias("momentum"),
            "z",
            pl.when(pl.col("z").is_not_null()).then(pl.col("med")).alias("z_median"),
            ((pl.col("z") >= BREAKOUT_Z) & (g > 0)).fill_null(False).alias("breakout"),
        )
    )


if __name__ == "__main__":
    weekly(sys.argv[1]).sink_parquet(sys.argv[2])
