"""weekly_tag_metrics in DuckDB SQL: read_csv, window functions and ASOF joins.

usage: duckdb_peer.py 'DIR/*.tsv' OUT.parquet
"""

import sys

import duckdb

from common import BREAKOUT_Z, MAX_GAP, METRIC, PLATFORM, Z_MIN

SQL = """
COPY (
WITH raw AS (
    SELECT DISTINCT ON (tag, t) tag, t, raw, raw_u FROM (
        SELECT lower(parse_filename(filename, true)) AS tag,
               epoch(ts)::BIGINT AS t, value::DOUBLE AS raw, value AS raw_u
        FROM read_csv('{glob}', delim = '\t', header = false, filename = true,
                      columns = {{'ts': 'TIMESTAMP', 'value': 'UBIGINT'}},
                      timestampformat = '%Y-%m-%d %H:%M:%S'))
),
obs AS (
    SELECT tag, t, raw, (t // 86400 + 3) // 7 AS week,
           coalesce(raw < lag(raw) OVER (PARTITION BY tag ORDER BY t), false) AS step,
           -- The rounding step 10^k of a raw value: k = its trailing decimal zeros,
           -- counted in integer arithmetic (text took longer).
           CASE WHEN raw_u > 0 THEN pow(10, {trailing_zeros}) END AS rstep
    FROM raw
),
-- A week reduces to what the boundaries need: its first and last snapshot, its largest
-- value. The envelope (running maximum) at those two is a window over weeks, not over
-- every snapshot (which took 3.5-4.4 s of 15 at M).
wk AS (
    SELECT tag, week, max(raw) AS wmax, min(t) AS first_t, arg_min(raw, t) AS first_raw,
           max(t) AS last_t, count(*)::UINTEGER AS observations,
           sum(step::INTEGER)::UINTEGER AS decreases,
           list(rstep) FILTER (WHERE rstep IS NOT NULL) AS steps
    FROM obs GROUP BY tag, week
),
wenv AS (
    SELECT *, max(wmax) OVER (PARTITION BY tag ORDER BY week) AS env_end,
           max(wmax) OVER (PARTITION BY tag ORDER BY week
                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS env_before
    FROM wk
),
-- Each week's first and last snapshot with the envelope there.
pts AS (
    SELECT tag, first_t AS t, greatest(coalesce(env_before, first_raw), first_raw) AS env
    FROM wenv
    UNION ALL
    SELECT tag, last_t AS t, env_end AS env FROM wenv
),
span AS (SELECT tag, min(week) AS w0, max(week) AS w1 FROM wk GROUP BY tag),
grid AS (
    SELECT tag, w1, week, (week * 7 - 3) * 86400 AS T
    FROM (SELECT tag, w1, unnest(range(w0, w1 + 2)) AS week FROM span)
),
bounds AS (
    SELECT g.tag, g.week, g.w1,
        CASE WHEN a.t = g.T THEN a.env
             WHEN a.t IS NULL OR b.t IS NULL THEN NULL
             WHEN (b.t - a.t)::DOUBLE > {max_gap} THEN NULL
             ELSE a.env + (b.env - a.env) * (g.T - a.t)::DOUBLE / (b.t - a.t)::DOUBLE
        END AS v
    FROM grid g
    ASOF LEFT JOIN pts a ON g.tag = a.tag AND a.t <= g.T
    ASOF LEFT JOIN pts b ON g.tag = b.tag AND b.t >= g.T
),
-- Resolution of week w: the lower median step of the snapshots of weeks w-1..w+1 (the
-- grid has every week, so those are the rows around it).
res AS (
    SELECT g.tag, g.week,
           list_concat(lag(k.steps) OVER s, k.steps, lead(k.steps) OVER s) AS around
    FROM grid g LEFT JOIN wk k USING (tag, week)
    WINDOW s AS (PARTITION BY g.tag ORDER BY g.week)
),
counts AS (SELECT tag, week, observations, decreases FROM wk),
weekly AS (
    SELECT tag, week, w1, v AS v_start,
           lead(v) OVER (PARTITION BY tag ORDER BY week) AS total_end
    FROM bounds
),
rows AS (
    SELECT w.tag, w.week, w.total_end, w.total_end - w.v_start AS gained,
           coalesce(c.observations, 0)::UINTEGER AS observations,
           coalesce(c.decreases, 0)::UINTEGER AS decreases,
           CASE WHEN len(r.around) > 0
                THEN list_sort(r.around)[(len(r.around) - 1) // 2 + 1] END AS resolution
    FROM weekly w LEFT JOIN counts c USING (tag, week) LEFT JOIN res r USING (tag, week)
    WHERE w.week <= w.w1
),
lags AS (
    SELECT *,
        lag(gained, 1) OVER s AS g1, lag(gained, 2) OVER s AS g2,
        lag(gained, 3) OVER s AS g3, lag(gained, 4) OVER s AS g4,
        lag(total_end, 1) OVER s AS te1,
        [lag(gained, 1) OVER s, lag(gained, 2) OVER s, lag(gained, 3) OVER s,
         lag(gained, 4) OVER s, lag(gained, 5) OVER s, lag(gained, 6) OVER s,
         lag(gained, 7) OVER s, lag(gained, 8) OVER s] AS prev
    FROM rows WINDOW s AS (PARTITION BY tag ORDER BY week)
),
med AS (
    SELECT *, list_median(prev) AS z_median, list_count(prev) AS n FROM lags
),
dev AS (
    SELECT *, list_median(list_transform(prev, lambda x: abs(x - z_median))) AS mad,
              list_avg(list_transform(prev, lambda x: abs(x - z_median))) AS mean_dev
    FROM med
),
scaled AS (
    SELECT *, greatest(CASE WHEN mad > 0 THEN 1.4826 * mad ELSE 1.2533 * mean_dev END,
                       coalesce(resolution, 0)) AS scale
    FROM dev
),
z AS (
    SELECT *,
        CASE WHEN n >= {z_min} AND gained IS NOT NULL AND scale > 0
             THEN (gained - z_median) / scale
        END AS z
    FROM scaled
)
SELECT '{platform}' AS platform, tag, '{metric}' AS metric,
       ('1970-01-01'::DATE + (week * 7 - 3)::INTEGER) AS week_start,
       total_end, gained, observations, decreases, NULL::DOUBLE AS coverage, resolution,
       CASE WHEN g1 > 0 THEN gained / g1 - 1 END AS wow_growth,
       CASE WHEN te1 <> 0 THEN total_end / te1 - 1 END AS total_growth,
       (gained + g1 + g2 + g3) / 4.0 AS avg4,
       CASE WHEN (g1 + g2 + g3 + g4) / 4.0 > 0
            THEN gained / ((g1 + g2 + g3 + g4) / 4.0) - 1 END AS momentum,
       z, CASE WHEN z IS NOT NULL THEN z_median END AS z_median,
       coalesce(z >= {breakout} AND gained > 0, false) AS breakout
FROM z
) TO '{out}' (FORMAT parquet)
"""

# k = the trailing decimal zeros of raw_u: one test per power of ten.
TRAILING_ZEROS = " + ".join(f"(raw_u % {10**j} = 0)::INTEGER" for j in range(1, 20))

if __name__ == "__main__":
    duckdb.sql(SQL.format(trailing_zeros=TRAILING_ZEROS, glob=sys.argv[1], out=sys.argv[2], max_gap=float(MAX_GAP),
                          z_min=Z_MIN, breakout=BREAKOUT_Z, platform=PLATFORM, metric=METRIC))
