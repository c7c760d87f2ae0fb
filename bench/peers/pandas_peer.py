"""weekly_tag_metrics with pandas, vectorised: groupby, merge_asof and numpy, no row loops.

usage: pandas_peer.py 'DIR/*.tsv' OUT.parquet
"""

import glob
import os
import sys
import warnings

import numpy as np
import pandas as pd

from common import (BREAKOUT_Z, COLUMNS, MAX_GAP, METRIC, PLATFORM, RESOLUTION_WEEKS, Z_MIN,
                    Z_WINDOW)


def read(pattern: str) -> pd.DataFrame:
    frames = []
    for path in sorted(glob.glob(pattern)):
        df = pd.read_csv(path, sep="\t", header=None, names=["ts", "value"], engine="pyarrow")
        df["tag"] = os.path.basename(path)[: -len(".tsv")].lower()
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    t = pd.to_datetime(df["ts"], format="%Y-%m-%d %H:%M:%S")
    return pd.DataFrame({
        "tag": df["tag"],
        "t": t.astype("datetime64[s]").astype("int64"),
        "raw": df["value"].astype("float64"),
        "raw_u": df["value"].astype("uint64"),
    })


def steps(v: np.ndarray) -> np.ndarray:
    """The rounding step 10^k of each raw value (k = trailing decimal zeros); NaN for 0."""
    k = np.zeros(len(v), dtype="int64")
    for j in range(1, 20):
        k += (v % np.uint64(10**j) == 0).astype("int64")
    return np.where(v > 0, 10.0 ** k, np.nan)


def resolution(obs: pd.DataFrame) -> pd.DataFrame:
    """Per (tag, week): the lower median step of the snapshots of weeks w-1..w+1."""
    s = obs.loc[obs["rstep"].notna(), ["tag", "week", "rstep"]]
    around = pd.concat([s.assign(week=s["week"] - d) for d in RESOLUTION_WEEKS])
    around = around.sort_values(["tag", "week", "rstep"], kind="stable")
    grp = around.groupby(["tag", "week"], sort=False)
    pos = grp.cumcount().to_numpy()
    size = grp["rstep"].transform("size").to_numpy()
    lower = around[pos == (size - 1) // 2]
    return lower.rename(columns={"rstep": "resolution"})[["tag", "week", "resolution"]]


def weekly(obs: pd.DataFrame) -> pd.DataFrame:
    obs = obs.drop_duplicates(["tag", "t"], keep="last").sort_values(["tag", "t"])
    by = obs.groupby("tag", sort=False)["raw"]
    obs["env"] = by.cummax()
    obs["step"] = (obs["raw"] < by.shift(1)).astype("uint32")
    obs["week"] = (obs["t"] // 86_400 + 3) // 7
    obs["rstep"] = steps(obs["raw_u"].to_numpy())

    span = obs.groupby("tag")["week"].agg(["min", "max"])
    n = (span["max"] - span["min"] + 2).to_numpy()
    start = np.repeat(np.cumsum(n) - n, n)
    grid = pd.DataFrame({
        "tag": np.repeat(span.index.to_numpy(), n),
        "week": np.repeat(span["min"].to_numpy(), n) + np.arange(n.sum()) - start,
        "w1": np.repeat(span["max"].to_numpy(), n),
    })
    grid["T"] = (grid["week"] * 7 - 3) * 86_400
    grid = grid.sort_values("T")
    pts = obs[["tag", "t", "env"]].sort_values("t")
    grid = pd.merge_asof(grid, pts.rename(columns={"t": "ta", "env": "va"}), left_on="T",
                         right_on="ta", by="tag", direction="backward")
    grid = pd.merge_asof(grid, pts.rename(columns={"t": "tb", "env": "vb"}), left_on="T",
                         right_on="tb", by="tag", direction="forward")
    ta, tb, T = grid["ta"].to_numpy(), grid["tb"].to_numpy(), grid["T"].to_numpy()
    va, vb = grid["va"].to_numpy(), grid["vb"].to_numpy()
    dt = tb - ta
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where(ta == T, va, np.where(dt > MAX_GAP, np.nan, va + (vb - va) * (T - ta) / dt))
    grid["v"] = v  # NaN where ta or tb is missing
    grid = grid.sort_values(["tag", "week"])
    grid["total_end"] = grid.groupby("tag", sort=False)["v"].shift(-1)
    grid["gained"] = grid["total_end"] - grid["v"]
    rows = grid[grid["week"] <= grid["w1"]]

    counts = obs.groupby(["tag", "week"]).agg(
        observations=("t", "size"), decreases=("step", "sum"))
    rows = rows.merge(counts, on=["tag", "week"], how="left")
    rows[["observations", "decreases"]] = rows[["observations", "decreases"]].fillna(0).astype("uint32")
    rows = rows.merge(resolution(obs), on=["tag", "week"], how="left")
    return signals(rows.reset_index(drop=True))


def signals(rows: pd.DataFrame) -> pd.DataFrame:
    by = rows.groupby("tag", sort=False)
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
            "tag": rows["tag"],
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
    weekly(read(sys.argv[1])).to_parquet(sys.argv[2], index=False)
