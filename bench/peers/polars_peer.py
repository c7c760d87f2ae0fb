"""weekly_tag_metrics with polars (lazy), as an analyst would write it in a notebook.

usage: polars_peer.py 'DIR/*.tsv' OUT.parquet
"""

import sys

import polars as pl

from common import (BREAKOUT_Z, COLUMNS, MAX_GAP, METRIC, PLATFORM, RESOLUTION_WEEKS, Z_MIN,
                    Z_WINDOW)


def weekly(glob: str) -> pl.LazyFrame:
    obs = (
        pl.scan_csv(
            glob, separator="\t", has_header=False, new_columns=["ts", "value"],
            schema_overrides={"ts": pl.String, "value": pl.UInt64}, include_file_paths="path",
        )
        .select(
            pl.col("path").str.extract(r"([^/]+)\.tsv$").str.to_lowercase().alias("tag"),
            pl.col("ts").str.strptime(pl.Datetime("ms"), "%Y-%m-%d %H:%M:%S")
            .dt.epoch("s").alias("t"),
            pl.col("value").cast(pl.Float64).alias("raw"),
            pl.col("value").alias("raw_u"),
        )
        .unique(["tag", "t"])
        .sort("tag", "t")
        .with_columns(
            env=pl.col("raw").cum_max().over("tag"),
            down=(pl.col("raw") < pl.col("raw").shift().over("tag")).fill_null(False),
            week=(pl.col("t") // 86_400 + 3) // 7,
            # The rounding step 10^k of a raw value: k = its trailing decimal zeros.
            step=pl.when(pl.col("raw_u") > 0).then(
                pl.lit(10.0).pow(
                    pl.col("raw_u").cast(pl.String).str.len_chars()
                    - pl.col("raw_u").cast(pl.String).str.strip_chars_end("0").str.len_chars()
                )
            ),
        )
        # Read by four branches below: materialise once, as a notebook would.
        .collect()
        .lazy()
    )
    # Week boundaries T_w of each series, one more than its last week (for V(T_w+1)).
    grid = (
        obs.group_by("tag")
        .agg(w0=pl.col("week").min(), w1=pl.col("week").max())
        .with_columns(week=pl.int_ranges("w0", pl.col("w1") + 2))
        .explode("week")
        .with_columns(T=(pl.col("week") * 7 - 3) * 86_400)
        .sort("tag", "T")
    )
    pts = obs.select("tag", "t", "env")
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
        grid.join_asof(before, left_on="T", right_on="ta", by="tag", strategy="backward",
                   check_sortedness=False)
        .join_asof(after, left_on="T", right_on="tb", by="tag", strategy="forward",
                   check_sortedness=False)
        .with_columns(v_start=v)
        .with_columns(v_end=pl.col("v_start").shift(-1).over("tag"))
        .filter(pl.col("week") <= pl.col("w1"))
    )
    counts = obs.group_by("tag", "week").agg(
        observations=pl.len().cast(pl.UInt32), decreases=pl.col("down").sum().cast(pl.UInt32)
    )
    # Resolution of week w: the lower median step of the snapshots of weeks w-1..w+1.
    resolution = (
        pl.concat([
            obs.filter(pl.col("step").is_not_null())
            .select("tag", (pl.col("week") - d).alias("week"), "step")
            for d in RESOLUTION_WEEKS
        ])
        .group_by("tag", "week")
        .agg(resolution=pl.col("step").sort().get((pl.len() - 1) // 2))
    )
    rows = (
        bounds.join(counts, on=["tag", "week"], how="left")
        .join(resolution, on=["tag", "week"], how="left")
        .select(
            "tag", "week",
            pl.col("v_end").alias("total_end"),
            (pl.col("v_end") - pl.col("v_start")).alias("gained"),
            pl.col("observations").fill_null(0),
            pl.col("decreases").fill_null(0),
            "resolution",
        )
        .sort("tag", "week")
    )
    return signals(rows)


def signals(rows: pl.LazyFrame) -> pl.LazyFrame:
    g = pl.col("gained")
    lag = [g.shift(k).over("tag").alias(f"g{k}") for k in range(1, Z_WINDOW + 1)]
    prev = pl.concat_list([f"g{k}" for k in range(1, Z_WINDOW + 1)]).list.drop_nulls()
    mean4 = (pl.col("g1") + pl.col("g2") + pl.col("g3") + pl.col("g4")) / 4.0
    dev = pl.concat_list(
        [(pl.col(f"g{k}") - pl.col("med")).abs() for k in range(1, Z_WINDOW + 1)]
    ).list.drop_nulls()
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
    return (
        rows.with_columns(lag + [pl.col("total_end").shift(1).over("tag").alias("te1")])
        .with_columns(med=prev.list.median(), n=prev.list.len())
        .with_columns(mad=dev.list.median(), mean_dev=dev.list.mean())
        .with_columns(z=z)
        .select(
            pl.lit(PLATFORM).alias("platform"),
            "tag",
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
        .select(COLUMNS)
    )


if __name__ == "__main__":
    weekly(sys.argv[1]).sink_parquet(sys.argv[2])
