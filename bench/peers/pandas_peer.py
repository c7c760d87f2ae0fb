"""weekly_tag_metrics with pandas, vectorised: groupby, merge_asof and numpy, no row loops.

usage: pandas_peer.py 'DIR/*.tsv' OUT.parquet
"""

import glob
import os
import sys
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from common import (BREAKOUT_Z, COLUMNS, MAX_GAP, METRIC, PLATFORM, RESOLUTION_WEEKS, Z_MIN,
                    Z_WINDOW)


def read(pattern: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Every snapshot with an integer series id, and the tag of each id. pyarrow's CSV
    reader parses the timestamps; a per-file id keeps 10M strings out of the frame."""
    paths = sorted(glob.glob(pattern))
    options = pacsv.ConvertOptions(column_types={"ts": pa.timestamp("s"), "value": pa.uint64()})
    read_opts = pacsv.ReadOptions(column_names=["ts", "value"])
    parse = pacsv.ParseOptions(delimiter="\t")
    tables, ids = [], []
    for i, path in enumerate(paths):
        t = pacsv.read_csv(path, read_options=read_opts, parse_options=parse,
                           convert_options=options)
        tables.append(t)
        ids.append(np.full(t.num_rows, i, dtype="int32"))
    table = pa.concat_tables(tables)
    value = table.column("value").to_numpy()
    obs = pd.DataFrame({
        "id": np.concatenate(ids),
        "t": table.column("ts").cast(pa.int64()).to_numpy(),
        "raw": value.astype("float64"),
        "raw_u": value,
    })
    tags = np.array([os.path.basename(p)[: -len(".tsv")].lower() for p in paths], dtype=object)
    return obs, tags


def steps(v: np.ndarray) -> np.ndarray:
    """The rounding step 10^k of each raw value (k = trailing decimal zeros); NaN for 0.
    k is found in five halvings (16, 8, 4, 2, 1 zeros) rather than 19 divisions."""
    k = np.zeros(len(v), dtype="int64")
    x = v.copy()
    for p in (16, 8, 4, 2, 1):
        m = np.uint64(10**p)
        hit = (x % m == 0) & (x > 0)
        x = np.where(hit, x // m, x)
        k += hit * p
    return np.where(v > 0, 10.0 ** k, np.nan)


def resolution(obs: pd.DataFrame) -> pd.DataFrame:
    """Per (tag, week): the lower median step of the snapshots of weeks w-1..w+1."""
    s = obs.loc[obs["rstep"].notna(), ["id", "week", "rstep"]]
    around = pd.concat([s.assign(week=s["week"] - d) for d in RESOLUTION_WEEKS])
    around = around.sort_values(["id", "week", "rstep"], kind="stable")
    grp = around.groupby(["id", "week"], sort=False)
    pos = grp.cumcount().to_numpy()
    size = grp["rstep"].transform("size").to_numpy()
    lower = around[pos == (size - 1) // 2]
    return lower.rename(columns={"rstep": "resolution"})[["id", "week", "resolution"]]


def weekly(obs: pd.DataFrame) -> pd.DataFrame:
    obs = obs.drop_duplicates(["id", "t"], keep="last").sort_values(["id", "t"])
    by = obs.groupby("id", sort=False)["raw"]
    obs["env"] = by.cummax()
    obs["step"] = (obs["raw"] < by.shift(1)).astype("uint32")
    obs["week"] = (obs["t"] // 86_400 + 3) // 7
    obs["rstep"] = steps(obs["raw_u"].to_numpy())

    span = obs.groupby("id")["week"].agg(["min", "max"])
    n = (span["max"] - span["min"] + 2).to_numpy()
    start = np.repeat(np.cumsum(n) - n, n)
    grid = pd.DataFrame({
        "id": np.repeat(span.index.to_numpy(), n),
        "week": np.repeat(span["min"].to_numpy(), n) + np.arange(n.sum()) - start,
        "w1": np.repeat(span["max"].to_numpy(), n),
    })
    grid["T"] = (grid["week"] * 7 - 3) * 86_400
    grid = grid.sort_values("T")
    pts = obs[["id", "t", "env"]].sort_values("t")
    grid = pd.merge_asof(grid, pts.rename(columns={"t": "ta", "env": "va"}), left_on="T",
                         right_on="ta", by="id", direction="backward")
    grid = pd.merge_asof(grid, pts.rename(columns={"t": "tb", "env": "vb"}), left_on="T",
                         right_on="tb", by="id", direction="forward")
    ta, tb, T = grid["ta"].to_numpy(), grid["tb"].to_numpy(), grid["T"].to_numpy()
    va, vb = grid["va"].to_numpy(), grid["vb"].to_numpy()
    dt = tb - ta
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where(ta == T, va, np.where(dt > MAX_GAP, np.nan, va + (vb - va) * (T - ta) / dt))
    grid["v"] = v  # NaN where ta or tb is missing
    grid = grid.sort_values(["id", "week"])
    grid["total_end"] = grid.groupby("id", sort=False)["v"].shift(-1)
    grid["gained"] = grid["total_end"] - grid["v"]
    rows = grid[grid["week"] <= grid["w1"]]

    counts = obs.groupby(["id", "week"]).agg(
        observations=("t", "size"), decreases=("step", "sum"))
    rows = rows.merge(counts, on=["id", "week"], how="left")
    rows[["observations", "decreases"]] = rows[["observations", "decreases"]].fillna(0).astype("uint32")
    rows = rows.merge(resolution(obs), on=["id", "week"], how="left")
    return signals(rows.reset_index(drop=True))


def signals(rows: pd.DataFrame) -> pd.DataFrame:
    by = rows.groupby("id", sort=False)
    g = rows["gained"].to_numpy()
    prev = np.column_stack([by["gained"].shift(k).to_numpy() for k in range(1, Z_WINDOW + 1)])
    te1 = by["total_end"].shift(1).to_numpy()
    te = rows["total_end"].to_numpy()
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows give NaN
        med = np.nanmedian(prev, axis=1)
        dev = np.abs(prev - med[:, None])
        mad = np.nanmedian(dev, axis=1)
        mean_dev = np.nanmean(dev, axis=1)
        n = (~np.isnan(prev)).sum(axis=1)
        res = rows["resolution"].to_numpy()
        scale = np.fmax(np.where(mad > 0, 1.4826 * mad, 1.2533 * mean_dev), np.nan_to_num(res))
        z = np.where((n >= Z_MIN) & (scale > 0), (g - med) / scale, np.nan)
        g1 = prev[:, 0]
        mean4 = (prev[:, 0] + prev[:, 1] + prev[:, 2] + prev[:, 3]) / 4.0
        out = pd.DataFrame({
            "platform": PLATFORM,
            "tag": rows["id"],
            "metric": METRIC,
            "week_start": pd.to_datetime((rows["week"] * 7 - 3) * 86_400, unit="s").dt.date,
            "total_end": te,
            "gained": g,
            "observations": rows["observations"],
            "decreases": rows["decreases"],
            "coverage": np.nan,
            "resolution": res,
            "wow_growth": np.where(g1 > 0, g / g1 - 1, np.nan),
            "total_growth": np.where(te1 != 0, te / te1 - 1, np.nan),
            "avg4": (g + prev[:, 0] + prev[:, 1] + prev[:, 2]) / 4.0,
            "momentum": np.where(mean4 > 0, g / mean4 - 1, np.nan),
            "z": z,
            "z_median": np.where(np.isnan(z), np.nan, med),
            "breakout": (z >= BREAKOUT_Z) & (g > 0),
        })
    return out[COLUMNS]


if __name__ == "__main__":
    obs, tags = read(sys.argv[1])
    out = weekly(obs)
    out["tag"] = tags[out["tag"].to_numpy()]
    out.to_parquet(sys.argv[2], index=False)
