"""tagpulse against the tools an analyst would use instead; run it through `bench/run`.

For each size: the same generated TSV series go through `tagpulse import` + `tagpulse
transform` (release) and through the polars, DuckDB and pandas peers; each peer's
weekly_tag_metrics must equal tagpulse's (the gate in peers/compare.py) before its time
counts. Wall time is the median of `--runs`, peak RSS the largest of them. Also timed:
import alone, transform alone, `tagpulse run` on the bundled sample, a steady-state run
(the size's history plus one new snapshot per tag), the 32 real fixture series end to end,
and the ClickHouse backend's import and recompute on one server
(`TAGPULSE_BENCH_CLICKHOUSE_URL`) and on a cluster (`TAGPULSE_BENCH_CLUSTER_URLS` and
`TAGPULSE_BENCH_CLUSTER_NAME`, as `scripts/clickhouse-test-cluster` exports them with
`TEST` in place of `BENCH`). Writes results/latest.md.
"""

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timezone

import polars as pl

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "peers"))
from compare import differences  # noqa: E402

SIZES = {"S": 1_000_000, "M": 10_000_000, "L": 100_000_000}
SEED = 20261122
PEERS = ["polars", "duckdb", "pandas"]
PEER_NAMES = {"polars": "polars (Python, lazy)", "duckdb": "DuckDB SQL", "pandas": "pandas (vectorised)"}
# Import + transform must be this many times faster than each peer (issue 23).
TARGET_RATIO = {"polars": 2.0, "duckdb": 2.0, "pandas": 2.0}
GIB = 1 << 30


class Failed(Exception):
    """A measured command exited non-zero."""


def measure(cmd: list[str], cwd: str, log: str) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one command; its output goes to `log`."""
    with open(log, "ab") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    if status != 0:
        tail = open(log, encoding="utf-8", errors="replace").read()[-2000:]
        raise Failed(f"{' '.join(cmd)} failed ({status}):\n{tail}")
    return wall, usage.ru_maxrss * 1024


def series(cmd_runs: list[tuple[float, int]]) -> tuple[float, int]:
    """Median wall time and largest peak RSS of repeated runs."""
    return statistics.median(w for w, _ in cmd_runs), max(r for _, r in cmd_runs)


def generate(size: str, work: str) -> str:
    """The size's input directory, generated once per (observations, seed)."""
    d = os.path.join(work, "input")
    stamp = os.path.join(work, "input.done")
    want = f"{SIZES[size]} {SEED}\n"
    if os.path.exists(stamp) and open(stamp).read() == want:
        return d
    shutil.rmtree(d, ignore_errors=True)
    print(f"bench: generating {size} ({SIZES[size]:,} observations)", file=sys.stderr)
    subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), d, str(SIZES[size]),
                    "--seed", str(SEED)], check=True)
    open(stamp, "w").write(want)
    return d


def write_config(work: str, new_dir: str, clickhouse: str | None = None,
                 name: str = "tagpulse.toml") -> str:
    """A config over `work`; `clickhouse` is a `[storage.clickhouse]` body (else Parquet)."""
    path = os.path.join(work, name)
    storage = (f'backend = "parquet"\ndata_dir = "{work}/data"\n' if clickhouse is None else
               f'backend = "clickhouse"\ndata_dir = "{work}/ch-data"\n'
               f'[storage.clickhouse]\n{clickhouse}')
    with open(path, "w") as f:
        f.write(f"""[storage]
{storage}
[[sources]]
id = "new"
kind = "file"
paths = ["{new_dir}/*.tsv"]
format = "tsv"
platform = "tiktok"
metric = "views"

[taxonomy]
defaults = true

[report]
out_dir = "{work}/reports"
""")
    return path


def clickhouse_targets() -> list[tuple[str, str, str, str]]:
    """(label, first node url, DROP suffix, `[storage.clickhouse]` body) of each ClickHouse
    the environment names: one server and/or a cluster."""
    out = []
    url = os.environ.get("TAGPULSE_BENCH_CLICKHOUSE_URL")
    if url:
        out.append(("one server", url, "", f'url = "{url}"\n'))
    urls = [u for u in os.environ.get("TAGPULSE_BENCH_CLUSTER_URLS", "").split(",") if u]
    cluster = os.environ.get("TAGPULSE_BENCH_CLUSTER_NAME", "")
    if urls and cluster:
        listed = ", ".join(f'"{u}"' for u in urls)
        out.append((f"cluster {cluster} ({len(urls)} nodes)", urls[0], f" ON CLUSTER {cluster}",
                    f'cluster = "{cluster}"\nurls = [{listed}]\n'))
    return out


def new_snapshots(inp: str, out: str) -> None:
    """One snapshot per tag after its last: the steady-state run's new input."""
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    last = (pl.scan_csv(f"{inp}/*.tsv", separator="\t", has_header=False,
                        new_columns=["ts", "value"], include_file_paths="path")
            .group_by("path").agg(pl.col("value").last()).collect())
    for path, value in last.iter_rows():
        with open(os.path.join(out, os.path.basename(path)), "w") as f:
            f.write(f"2026-11-20 12:00:00\t{value + 1000}\n")


def gib(b: int) -> str:
    return f"{b / GIB:.2f} GiB" if b >= GIB / 4 else f"{b / (1 << 20):.0f} MiB"


def bench_size(args, size: str, tp: str, rows: list, extra: list, failures: list) -> None:
    work = os.path.join(HERE, "data", size)
    os.makedirs(work, exist_ok=True)
    inp = generate(size, work)
    new_dir = os.path.join(work, "new")
    new_snapshots(inp, new_dir)
    cfg = write_config(work, new_dir)
    log = os.path.join(work, "bench.log")
    open(log, "w").close()
    base = [tp, "--config", cfg, "-q"]
    imp, tr, both = [], [], []
    for _ in range(args.runs):
        shutil.rmtree(os.path.join(work, "data"), ignore_errors=True)
        i = measure(base + ["import", f"{inp}/*.tsv"], work, log)
        t = measure(base + ["transform"], work, log)
        imp.append(i)
        tr.append(t)
        both.append((i[0] + t[0], max(i[1], t[1])))
    ours = series(both)
    want = pl.read_parquet(os.path.join(work, "data/weekly/weekly_tag_metrics.parquet"))
    n_series = want["tag"].n_unique()
    row = {"size": size, "obs": SIZES[size], "series": n_series, "tagpulse": ours, "peers": {}}
    for peer in args.peers:
        out = os.path.join(work, f"{peer}.parquet")
        cmd = [sys.executable, os.path.join(HERE, "peers", f"{peer}_peer.py"), f"{inp}/*.tsv", out]
        try:
            runs = [measure(cmd, work, log) for _ in range(args.runs)]
        except Failed as e:
            row["peers"][peer] = ("failed", str(e).splitlines()[0])
            failures.append(f"{size} {peer}: {e}")
            continue
        diff = differences(want, pl.read_parquet(out))
        if diff:
            failures.append(f"{size} {peer}: output differs from tagpulse: " + "; ".join(diff))
        row["peers"][peer] = (series(runs), "ok" if not diff else "WRONG")
    rows.append(row)
    extra.append((f"import alone, {size}", series(imp), "<= 1.0 s at M" if size == "M" else ""))
    extra.append((f"transform alone (from the store), {size}", series(tr),
                  "<= 0.6 s at M" if size == "M" else ""))
    # Steady state: the size's history is in the store; one new snapshot per tag.
    steady = [measure(base + ["run"], work, log) for _ in range(args.runs)]
    extra.append((f"steady-state `tagpulse run` ({size} history + 1 snapshot per tag)",
                  series(steady), "<= 1 s at M" if size == "M" else ""))
    for i, (label, first, on_cluster, body) in enumerate(clickhouse_targets()):
        if size == "L":
            break
        # A database per size, emptied first: each size is measured on its own rows.
        db = f"tagpulse_bench_{size.lower()}"
        urllib.request.urlopen(first, f"DROP DATABASE IF EXISTS {db}{on_cluster}".encode()).read()
        ch_cfg = write_config(work, new_dir, body + f'database = "{db}"\ntimeout = "600s"\n',
                              f"clickhouse-{i}.toml")
        chb = [tp, "--config", ch_cfg, "-q"]
        measure(chb + ["db", "migrate"], work, log)
        # One import: a second would time deduplication, not the first load.
        imported = measure(chb + ["import", f"{inp}/*.tsv"], work, log)
        extra.append((f"ClickHouse, {label}: import, {size}", imported, ""))
        rec = [measure(chb + ["transform"], work, log) for _ in range(args.runs)]
        extra.append((f"ClickHouse, {label}: transform, {size}", series(rec),
                      "within 2x the Parquet transform"))


def bench_small(tp: str, runs: int, extra: list) -> None:
    work = os.path.join(HERE, "data", "small")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    log = os.path.join(work, "bench.log")
    sample = os.path.join(ROOT, "examples/sample")
    cfg = open(os.path.join(ROOT, "tagpulse.toml")).read()
    cfg = (cfg.replace('"examples/sample/*.tsv"', f'"{sample}/*.tsv"')
           .replace('data_dir = "data"', f'data_dir = "{work}/data"')
           .replace('out_dir = "reports"', f'out_dir = "{work}/reports"'))
    open(os.path.join(work, "tagpulse.toml"), "w").write(cfg)
    base = [tp, "--config", os.path.join(work, "tagpulse.toml"), "-q"]
    sample_runs = [measure(base + ["run"], work, log) for _ in range(runs)]
    extra.append(("`tagpulse run` on the bundled sample", series(sample_runs), ""))
    fixtures = os.path.join(ROOT, "tests/fixtures/tiktok-tag-views")
    e2e = []
    for _ in range(runs):
        shutil.rmtree(os.path.join(work, "data"), ignore_errors=True)
        steps = [measure(base + cmd, work, log) for cmd in
                 (["import", f"{fixtures}/*.tsv"], ["transform"], ["report"])]
        e2e.append((sum(w for w, _ in steps), max(r for _, r in steps)))
    extra.append(("32 real fixture series: import + transform + report", series(e2e), "< 1 s"))


def machine() -> str:
    cpu = "unknown CPU"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(open("/proc/meminfo").readline().split()[1]) * 1024
    import duckdb
    import pandas
    return (f"{cpu}, {os.cpu_count()} cores, {gib(mem)} RAM, {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}, polars {pl.__version__}, "
            f"DuckDB {duckdb.__version__}, pandas {pandas.__version__}")


def render(rows: list, extra: list, runs: int, failures: list) -> str:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [f"# tagpulse benchmark ({now})", "", f"Machine: {machine()}.", "",
           f"Wall time is the median of {runs} runs, memory the peak RSS of the largest; "
           "x = peer time / tagpulse time (above 1: tagpulse is faster). Every peer's "
           "weekly_tag_metrics equals tagpulse's (gate: same rows, 1e-9 relative, same nulls).",
           "", "| size | observations | series | tagpulse import + transform | "
           + " | ".join(PEER_NAMES[p] for p in PEERS) + " |",
           "|---|---:|---:|---:|" + "---:|" * len(PEERS)]
    for r in rows:
        (t, rss) = r["tagpulse"]
        cells = []
        for p in PEERS:
            res = r["peers"].get(p)
            if res is None:
                cells.append("not run")
            elif res[0] == "failed":
                cells.append(f"failed: {res[1][:60]}")
            else:
                (pt, prss), gate = res
                target = TARGET_RATIO[p]
                mark = "" if pt / t >= target else " (below target)"
                cells.append(f"{pt:.2f} s, {gib(prss)}, **{pt / t:.1f}x** (>= {target}x){mark}"
                             + ("" if gate == "ok" else " WRONG OUTPUT"))
        out.append(f"| {r['size']} | {r['obs']:,} | {r['series']:,} | {t:.2f} s, {gib(rss)} | "
                   + " | ".join(cells) + " |")
    out += ["", "| tagpulse alone | wall | peak RSS | target |", "|---|---:|---:|---|"]
    for name, (t, rss), target in extra:
        out.append(f"| {name} | {t:.2f} s | {gib(rss)} | {target} |")
    if failures:
        out += ["", "Failures:", ""] + [f"- {f}" for f in failures]
    return "\n".join(out) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description="tagpulse against polars, DuckDB and pandas")
    p.add_argument("--tagpulse", required=True, help="the release binary")
    p.add_argument("--sizes", default="S,M", help="comma-separated: S (1M), M (10M), L (100M)")
    p.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    p.add_argument("--peers", default=",".join(PEERS), help="comma-separated subset of peers")
    args = p.parse_args()
    args.peers = [x for x in args.peers.split(",") if x]
    sizes = [s.strip().upper() for s in args.sizes.split(",") if s.strip()]
    for s in sizes:
        if s not in SIZES:
            p.error(f"--sizes: unknown size {s!r} (S, M or L)")
    rows, extra, failures = [], [], []
    bench_small(args.tagpulse, args.runs, extra)
    for s in sizes:
        bench_size(args, s, args.tagpulse, rows, extra, failures)
    md = render(rows, extra, args.runs, failures)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    open(os.path.join(HERE, "results", "latest.md"), "w").write(md)
    print(md)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
