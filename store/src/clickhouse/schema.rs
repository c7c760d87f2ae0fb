//! The ClickHouse schema as numbered migrations.
//!
//! Every statement is idempotent (`IF NOT EXISTS`), so a migration interrupted half way is
//! simply applied again. Only DDL that ClickHouse 18.16 (CI) and current releases both
//! accept is used: `DateTime('UTC')` and `Date` rather than `DateTime64`/`Date32`, `UInt8`
//! rather than `Bool`, `String` rather than `LowCardinality`, no TTL, no window functions.
//! `{db}` stands for the configured database (a checked identifier, see
//! [`tagpulse_config::check_identifier`]); nothing else is ever formatted into SQL.

use tagpulse_model::tables::{
    TableDef, WEEKLY_OCCUPATION_METRICS, WEEKLY_TABLES, WEEKLY_TAG_METRICS,
};

/// One schema version.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Version number, recorded in `schema_migrations` once applied.
    pub version: u32,
    /// What it does, in a few words.
    pub name: &'static str,
    /// The steps, in order.
    pub steps: &'static [Step],
}

/// One step of a migration; each can be applied again after an interruption.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// DDL that is idempotent by itself (`IF NOT EXISTS`).
    Sql(&'static str),
    /// Adds a column as the model defines it, after the column before it there; skipped
    /// when the table has it already (18.16 has no `ADD COLUMN IF NOT EXISTS`).
    AddColumn {
        /// The table.
        table: &'static TableDef,
        /// The column's name in the table's definition.
        column: &'static str,
    },
}

impl Step {
    /// The SQL this step runs (`{db}` not yet replaced).
    pub fn sql(&self) -> String {
        match self {
            Step::Sql(sql) => sql.to_string(),
            Step::AddColumn { table, column } => {
                let cols = table.clickhouse_columns();
                let i = cols
                    .iter()
                    .position(|(n, _)| n == column)
                    .expect("the column is defined");
                let after = if i == 0 {
                    " FIRST".to_string()
                } else {
                    format!(" AFTER {}", cols[i - 1].0)
                };
                format!(
                    "ALTER TABLE {{db}}.{} ADD COLUMN {} {}{after}",
                    table.name, column, cols[i].1
                )
            }
        }
    }
}

/// Records applied migrations; created before any migration runs.
pub const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS {db}.schema_migrations (
    version UInt32,
    name String,
    applied_at DateTime('UTC')
) ENGINE = MergeTree ORDER BY version";

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "observations: snapshots, daily_counts",
        steps: &[
            // ReplacingMergeTree keyed by the spec's identity: a re-run, an overlapping
            // import or a spool delivered twice collapses to one row; FINAL (or a merge)
            // keeps the one ingested last. Partitions follow the identity's time, so
            // duplicates always meet in the same partition.
            Step::Sql(
                "CREATE TABLE IF NOT EXISTS {db}.snapshots (
                platform String,
                tag String,
                metric String,
                observed_at DateTime('UTC'),
                value UInt64,
                source String,
                ingested_at DateTime('UTC'),
                ingested_us UInt64
            ) ENGINE = ReplacingMergeTree(ingested_us)
            PARTITION BY toYYYYMM(observed_at)
            ORDER BY (platform, metric, tag, observed_at)",
            ),
            Step::Sql(
                "CREATE TABLE IF NOT EXISTS {db}.daily_counts (
                platform String,
                tag String,
                metric String,
                day Date,
                value UInt64,
                source String,
                ingested_at DateTime('UTC'),
                ingested_us UInt64
            ) ENGINE = ReplacingMergeTree(ingested_us)
            PARTITION BY toYYYYMM(day)
            ORDER BY (platform, metric, tag, day)",
            ),
        ],
    },
    Migration {
        version: 2,
        name: "weekly tables and the occupation taxonomy",
        steps: &[
            Step::Sql(
                "CREATE TABLE IF NOT EXISTS {db}.weekly_tag_metrics (
                platform String,
                tag String,
                metric String,
                week_start Date,
                total_end Nullable(Float64),
                gained Nullable(Float64),
                observations UInt32,
                decreases UInt32,
                coverage Nullable(Float64),
                wow_growth Nullable(Float64),
                total_growth Nullable(Float64),
                avg4 Nullable(Float64),
                momentum Nullable(Float64),
                z Nullable(Float64),
                breakout UInt8
            ) ENGINE = MergeTree ORDER BY (platform, metric, tag, week_start)",
            ),
            Step::Sql(
                "CREATE TABLE IF NOT EXISTS {db}.weekly_occupation_metrics (
                platform String,
                occupation String,
                metric String,
                week_start Date,
                total_end Nullable(Float64),
                gained Nullable(Float64),
                tags_reporting UInt32,
                tags_total UInt32,
                share Nullable(Float64),
                wow_growth Nullable(Float64),
                total_growth Nullable(Float64),
                avg4 Nullable(Float64),
                momentum Nullable(Float64),
                z Nullable(Float64),
                breakout UInt8
            ) ENGINE = MergeTree ORDER BY (platform, metric, occupation, week_start)",
            ),
            Step::Sql(
                "CREATE TABLE IF NOT EXISTS {db}.weekly_brand_metrics (
                platform String,
                brand String,
                occupation String,
                metric String,
                week_start Date,
                gained Nullable(Float64),
                brand_share Nullable(Float64)
            ) ENGINE = MergeTree ORDER BY (platform, metric, brand, occupation, week_start)",
            ),
            Step::Sql(
                "CREATE TABLE IF NOT EXISTS {db}.occupation_tags (
                occupation String,
                tag String
            ) ENGINE = MergeTree ORDER BY (occupation, tag)",
            ),
        ],
    },
    Migration {
        version: 3,
        name: "analyst views: v_latest_week_occupations, v_tag_history",
        steps: &[
            // "Latest complete week" as the report defines it: the week before the one
            // holding the newest observation.
            Step::Sql(
                "CREATE VIEW IF NOT EXISTS {db}.v_latest_week_occupations AS
            SELECT platform, metric, occupation, week_start, gained, share, wow_growth,
                   momentum, z, breakout, tags_reporting, tags_total, total_end
            FROM {db}.weekly_occupation_metrics
            WHERE week_start = (SELECT max(week_start) - 7 FROM {db}.weekly_tag_metrics)",
            ),
            Step::Sql(
                "CREATE VIEW IF NOT EXISTS {db}.v_tag_history AS
            SELECT platform, metric, tag, week_start, total_end, gained, wow_growth,
                   total_growth, avg4, momentum, z, breakout, observations, coverage,
                   occupations
            FROM {db}.weekly_tag_metrics
            ANY LEFT JOIN (
                SELECT tag, arrayStringConcat(groupArray(occupation), ', ') AS occupations
                FROM {db}.occupation_tags
                GROUP BY tag
            ) AS o USING tag",
            ),
        ],
    },
    Migration {
        version: 4,
        name: "weekly metric tables: z_median (the centre of z)",
        steps: &[
            Step::AddColumn {
                table: &WEEKLY_TAG_METRICS,
                column: "z_median",
            },
            Step::AddColumn {
                table: &WEEKLY_OCCUPATION_METRICS,
                column: "z_median",
            },
        ],
    },
    Migration {
        version: 5,
        name: "run records: runs, run_sources",
        steps: &[
            // Append-only history, by month: a year of six-hourly runs is a few thousand rows.
            Step::Sql(
                "CREATE TABLE IF NOT EXISTS {db}.runs (
                run_id String,
                job String,
                trigger String,
                started_at DateTime('UTC'),
                finished_at DateTime('UTC'),
                outcome String,
                rows_written UInt64,
                message String
            ) ENGINE = MergeTree PARTITION BY toYYYYMM(started_at) ORDER BY (started_at, run_id)",
            ),
            Step::Sql(
                "CREATE TABLE IF NOT EXISTS {db}.run_sources (
                run_id String,
                source String,
                started_at DateTime('UTC'),
                status String,
                observations UInt64,
                tags_ok UInt32,
                tags_failed UInt32,
                failed_by_kind String,
                message String
            ) ENGINE = MergeTree PARTITION BY toYYYYMM(started_at) ORDER BY (started_at, run_id, source)",
            ),
        ],
    },
    Migration {
        version: 6,
        name: "weekly metric tables: resolution (the counter's rounding step)",
        steps: &[
            Step::AddColumn {
                table: &WEEKLY_TAG_METRICS,
                column: "resolution",
            },
            Step::AddColumn {
                table: &WEEKLY_OCCUPATION_METRICS,
                column: "resolution",
            },
        ],
    },
];

/// `SELECT` of every column of a table the model defines, in its sort order.
pub fn select_all(def: &TableDef) -> String {
    format!(
        "SELECT {} FROM {{db}}.{} ORDER BY {}",
        def.names().join(", "),
        def.name,
        def.order_by.join(", ")
    )
}

/// The statements that replace the weekly tables as one generation (`{db}` unreplaced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeeklySwap {
    /// Drop leftovers, create every `<table>__next` from its definition.
    pub prepare: Vec<String>,
    /// One `RENAME` that swaps all tables in (`__next` filled before it).
    pub rename: String,
    /// Drop the previous tables.
    pub cleanup: Vec<String>,
}

/// The weekly swap of the tables in [`WEEKLY_TABLES`], as `write_weekly` runs it.
pub fn weekly_swap() -> WeeklySwap {
    let mut prepare = Vec::new();
    for def in WEEKLY_TABLES {
        let t = def.name;
        prepare.push(format!("DROP TABLE IF EXISTS {{db}}.{t}__next"));
        prepare.push(format!("DROP TABLE IF EXISTS {{db}}.{t}__old"));
        // From the definition, not `AS {t}`: the new generation has the columns this
        // build computes, whatever an older build left.
        prepare.push(def.clickhouse_create("__next"));
    }
    let rename = WEEKLY_TABLES
        .iter()
        .map(|d| d.name)
        .map(|t| format!("{{db}}.{t} TO {{db}}.{t}__old, {{db}}.{t}__next TO {{db}}.{t}"))
        .collect::<Vec<_>>()
        .join(", ");
    WeeklySwap {
        prepare,
        rename: format!("RENAME TABLE {rename}"),
        cleanup: WEEKLY_TABLES
            .iter()
            .map(|d| format!("DROP TABLE IF EXISTS {{db}}.{}__old", d.name))
            .collect(),
    }
}

/// The SQL the store sends for the weekly tables, as a script for review and for the
/// modern-engine check: the reads, then the swap (`__next` is filled between prepare and
/// rename).
pub fn weekly_script(db: &str) -> String {
    let swap = weekly_swap();
    let mut out = String::from("-- read\n");
    for def in WEEKLY_TABLES {
        out.push_str(&format!("{};\n", for_database(&select_all(def), db)));
    }
    for (section, stmts) in [
        ("prepare", swap.prepare),
        ("rename", vec![swap.rename]),
        ("cleanup", swap.cleanup),
    ] {
        out.push_str(&format!("-- {section}\n"));
        for sql in stmts {
            out.push_str(&format!("{};\n", for_database(&sql, db)));
        }
    }
    out
}

/// The newest schema version this build knows.
pub fn latest_version() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// `sql` with `{db}` replaced by the database name.
pub fn for_database(sql: &str, db: &str) -> String {
    sql.replace("{db}", db)
}

/// Every statement `migrate` would run for `db`, as one SQL script (`;`-separated).
pub fn script(db: &str) -> String {
    let mut out = format!("CREATE DATABASE IF NOT EXISTS {db};\n\n");
    out.push_str(&for_database(MIGRATIONS_TABLE, db));
    out.push_str(";\n");
    for m in MIGRATIONS {
        out.push_str(&format!("\n-- migration {}: {}\n", m.version, m.name));
        for step in m.steps {
            if let Step::AddColumn { table, column } = step {
                out.push_str(&format!(
                    "-- skipped when {}.{column} exists already\n",
                    table.name
                ));
            }
            out.push_str(&dedent(&for_database(&step.sql(), db)));
            out.push_str(";\n");
        }
    }
    out
}

/// Strips the source-code indentation shared by every line but the first.
fn dedent(sql: &str) -> String {
    let mut lines = sql.lines();
    let first = lines.next().unwrap_or_default();
    let rest: Vec<&str> = lines.collect();
    let indent = rest
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    std::iter::once(first)
        .chain(
            rest.iter()
                .map(|l| l.get(indent..).unwrap_or(l.trim_start())),
        )
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_ascend_and_sql_stays_compatible() {
        let mut last = 0;
        for m in MIGRATIONS {
            assert!(m.version > last, "versions must ascend");
            last = m.version;
            for step in m.steps {
                let sql = step.sql();
                if let Step::Sql(_) = step {
                    assert!(sql.contains("IF NOT EXISTS"), "not idempotent: {sql}");
                }
                // `?` would be taken as a bind placeholder by the client.
                assert!(!sql.contains('?'), "{sql}");
                for banned in [
                    "DateTime64",
                    "Date32",
                    "LowCardinality",
                    "Bool ",
                    "Map(",
                    " TTL ",
                    " WITH ",
                    "OVER (",
                    "toStartOfWeek",
                ] {
                    assert!(!sql.contains(banned), "{banned} in {sql}");
                }
            }
        }
        assert_eq!(latest_version(), 6);
        let script = script("team_db");
        assert!(script.starts_with("CREATE DATABASE IF NOT EXISTS team_db;\n"));
        assert!(!script.contains("{db}"));
        assert!(script
            .contains("CREATE TABLE IF NOT EXISTS team_db.snapshots (\n    platform String,\n"));
        assert!(script.contains("\n) ENGINE = ReplacingMergeTree(ingested_us)\n"));
        let statements = script.matches(";\n").count();
        let expected = 2 + MIGRATIONS.iter().map(|m| m.steps.len()).sum::<usize>();
        assert_eq!(statements, expected);
        assert!(script.contains(
            "-- skipped when weekly_tag_metrics.z_median exists already\nALTER TABLE team_db.weekly_tag_metrics ADD COLUMN z_median Nullable(Float64) AFTER z;\n"
        ));
    }

    /// The columns each table has once every migration ran, read off the DDL.
    fn migrated_columns() -> std::collections::BTreeMap<String, Vec<(String, String)>> {
        let mut tables = std::collections::BTreeMap::new();
        for step in MIGRATIONS.iter().flat_map(|m| m.steps) {
            match step {
                Step::Sql(sql) if sql.starts_with("CREATE TABLE") => {
                    let name = sql["CREATE TABLE IF NOT EXISTS {db}.".len()..]
                        .split_whitespace()
                        .next()
                        .unwrap()
                        .to_string();
                    let body = &sql[sql.find('(').unwrap() + 1..sql.find(") ENGINE").unwrap()];
                    let cols = body
                        .split(",\n")
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(|l| {
                            let (n, t) = l.trim().split_once(' ').unwrap();
                            (n.to_string(), t.to_string())
                        })
                        .collect::<Vec<_>>();
                    tables.insert(name, cols);
                }
                Step::Sql(_) => {}
                Step::AddColumn { table, column } => {
                    let sql = step.sql();
                    let after = sql.rsplit("AFTER ").next().unwrap().to_string();
                    let ty = table.column(column).unwrap();
                    let ty = if ty.nullable {
                        format!("Nullable({})", ty.ty.clickhouse())
                    } else {
                        ty.ty.clickhouse().to_string()
                    };
                    let cols = tables.get_mut(table.name).unwrap();
                    let at = cols.iter().position(|(n, _)| *n == after).unwrap() + 1;
                    cols.insert(at, (column.to_string(), ty));
                }
            }
        }
        tables
    }

    #[test]
    fn the_weekly_swap_renames_every_table_in_one_statement() {
        let swap = weekly_swap();
        assert_eq!(swap.prepare.len(), 3 * WEEKLY_TABLES.len());
        assert_eq!(
            swap.rename.matches("__next TO").count(),
            WEEKLY_TABLES.len()
        );
        assert!(swap.rename.starts_with("RENAME TABLE {db}.weekly_tag_metrics TO {db}.weekly_tag_metrics__old, {db}.weekly_tag_metrics__next TO {db}.weekly_tag_metrics, "));
        let script = weekly_script("d");
        assert!(script.starts_with("-- read\nSELECT platform, tag, metric, week_start, "));
        assert!(!script.contains("{db}"));
        assert!(script.contains("-- rename\nRENAME TABLE d.weekly_tag_metrics TO"));
    }

    #[test]
    fn migrations_end_at_the_model() {
        use tagpulse_model::tables::{OBSERVATION_TABLES, RUN_TABLES, WEEKLY_TABLES};
        let migrated = migrated_columns();
        for def in OBSERVATION_TABLES
            .iter()
            .chain(WEEKLY_TABLES.iter())
            .chain(RUN_TABLES.iter())
        {
            let mut want: Vec<(String, String)> = def
                .clickhouse_columns()
                .into_iter()
                .map(|(n, t)| (n.to_string(), t))
                .collect();
            if OBSERVATION_TABLES.iter().any(|t| t.name == def.name) {
                // The ReplacingMergeTree version, a ClickHouse-only column.
                want.push(("ingested_us".into(), "UInt64".into()));
            }
            assert_eq!(migrated[def.name], want, "{}", def.name);
        }
    }
}
