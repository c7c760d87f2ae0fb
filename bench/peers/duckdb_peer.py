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
    SELECT tag, t,
           max(raw) OVER (PARTITION BY tag ORDER BY t ROWS UNBOUNDED PRECEDING) AS env,
           coalesce(raw < lag(raw) OVER (PARTITION BY tag ORDER BY t), false) AS step,
           (t // 86400 + 3) // 7 AS week,
           -- The rounding step 10^k of a raw value: k = its trailing decimal zeros,
           -- counted in integer arithmetic (text took longer).
           CASE WHEN raw_u > 0 THEN pow(10, {trailing_zeros}) END AS rstep
    FROM raw
),
-- Resolution of week w: the lower median step of the snapshots of weeks w-1..w+1.
res AS (
    SELECT tag, week - d AS week,
           list_sort(list(rstep))[(count(*) - 1) // 2 + 1] AS resolution
    FROM obs, (VALUES (-1), (0), (1)) AS around(d)
    WHERE rstep IS NOT NULL
    GROUP BY tag, week - d
),
span AS (SELECT tag, min(week) AS w0, max(week) AS w1 FROM obs GROUP BY tag),
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
    ASOF LEFT JOIN obs a ON g.tag = a.tag AND a.t <= g.T
    ASOF LEFT JOIN obs b ON g.tag = b.tag AND b.t >= g.T
),
counts AS (
    SELECT tag, week, count(*)::UINTEGER AS observations,
           sum(step::INTEGER)::UINTEGER AS decreases
    FROM obs GROUP BY tag, week
),
weekly AS (
    SELECT tag, week, w1, v AS v_start,
           lead(v) OVER (PARTITION BY tag ORDER BY week) AS total_end
    FROM bounds
),
rows AS (
    SELECT w.tag, w.week, w.total_end, w.total_end - w.v_start AS gained,
           coalesce(c.observations, 0)::UINTEGER AS observations,
           coalesce(c.decreases, 0)::UINTEGER AS decreases, r.resolution
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
