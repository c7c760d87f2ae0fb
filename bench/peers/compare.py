"""The correctness gate: a peer's weekly_tag_metrics against tagpulse's, cell for cell.

Same rows (platform, tag, metric, week_start), floats within 1e-9 relative (to
max(|want|, 1)), nulls in the same places (pandas' NaN counts as null), counts and
breakout flags equal. Prints the first differences and exits 1 when any.

usage: compare.py TAGPULSE.parquet PEER.parquet
"""

import sys

import polars as pl

from common import COLUMNS

KEYS = ["platform", "tag", "metric", "week_start"]
FLOATS = ["total_end", "gained", "coverage", "resolution", "wow_growth", "total_growth", "avg4",
          "momentum", "z", "z_median"]
EXACT = ["observations", "decreases", "breakout"]


def differences(want: pl.DataFrame, got: pl.DataFrame) -> list[str]:
    want = want.select(COLUMNS).sort(KEYS)
    got = got.select(COLUMNS).with_columns(pl.col(FLOATS).cast(pl.Float64).fill_nan(None))
    got = got.sort(KEYS)
    out = []
    if want.height != got.height:
        out.append(f"{got.height} rows, want {want.height}")
    j = want.join(got, on=KEYS, how="full", suffix="_got", coalesce=True)
    missing = j.filter(pl.col("observations").is_null() | pl.col("observations_got").is_null())
    if missing.height:
        out.append(f"{missing.height} rows in only one table, e.g. {missing.head(3).select(KEYS).rows()}")
    for c in FLOATS:
        a, b = pl.col(c), pl.col(f"{c}_got")
        bad = j.filter(
            (a.is_null() != b.is_null())
            | ((a - b).abs() > 1e-9 * pl.max_horizontal(a.abs(), pl.lit(1.0)))
        )
        if bad.height:
            out.append(f"{c}: {bad.height} cells differ, e.g. "
                       f"{bad.head(3).select(KEYS[1:] + [c, f'{c}_got']).rows()}")
    for c in EXACT:
        bad = j.filter(pl.col(c).cast(pl.Int64).ne_missing(pl.col(f"{c}_got").cast(pl.Int64)))
        if bad.height:
            out.append(f"{c}: {bad.height} cells differ, e.g. "
                       f"{bad.head(3).select(KEYS[1:] + [c, f'{c}_got']).rows()}")
    return out


if __name__ == "__main__":
    diff = differences(pl.read_parquet(sys.argv[1]), pl.read_parquet(sys.argv[2]))
    for d in diff:
        print(d)
    sys.exit(1 if diff else 0)
