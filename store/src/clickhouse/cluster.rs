//! Cluster mode's schema, generated from the model's table definitions: every table is a
//! replicated table local to each node (`<table>_local`, its ZooKeeper path holding the
//! `{shard}` macro and the database name) plus a `Distributed` table under the documented
//! name, created `ON CLUSTER`.
//!
//! Observations are sharded by `cityHash64(tag)`: the tag is a prefix of their identity, so
//! `FINAL`, which merges within a shard only, stays exact, and the weekly summary runs on
//! the shards. The weekly tables and the taxonomy are sharded by their leading subject
//! (tag, occupation, brand), so `v_tag_history` joins a tag's rows on its own shard
//! (a per-node view over the local tables, read through a `Distributed` table: 18.16
//! refuses a join of two `Distributed` tables inside a distributed query).
//!
//! A weekly generation gets its own ZooKeeper path (`…/<table>/<generation>`): a
//! replicated table keeps its path through a `RENAME`, so a new table cannot reuse the old
//! one's. Only DDL that 18.16 and modern servers both accept is used.

use tagpulse_model::tables::{
    TableDef, RUNS, RUN_SOURCES, WEEKLY_BRAND_METRICS, WEEKLY_OCCUPATION_METRICS, WEEKLY_TABLES,
};

use super::observations;
use super::schema::{latest_version, WeeklySwap, MIGRATIONS};

/// The column a table is sharded by (hashed with `cityHash64`).
fn shard_key(def: &TableDef) -> &'static str {
    if std::ptr::eq(def, &WEEKLY_OCCUPATION_METRICS) {
        "occupation"
    } else if std::ptr::eq(def, &WEEKLY_BRAND_METRICS) {
        "brand"
    } else if std::ptr::eq(def, &RUNS) || std::ptr::eq(def, &RUN_SOURCES) {
        "run_id"
    } else {
        "tag"
    }
}

/// The column list of a `CREATE TABLE` for `def`.
fn columns(def: &TableDef) -> String {
    def.clickhouse_columns()
        .iter()
        .map(|(n, t)| format!("    {n} {t}"))
        .collect::<Vec<_>>()
        .join(",\n")
}

/// `CREATE TABLE {db}.<name><suffix> ON CLUSTER` as a replicated table with ZooKeeper path
/// `/clickhouse/tables/{shard}/{db}/<zk>`; `engine` is `ReplicatedMergeTree` or
/// `ReplicatedReplacingMergeTree`, `version` its version column, `tail` what follows the
/// engine (partitioning and order).
fn local(
    cluster: &str,
    def: &TableDef,
    suffix: &str,
    zk: &str,
    engine: &str,
    version: Option<&str>,
    tail: &str,
) -> String {
    let version = version.map(|v| format!(", {v}")).unwrap_or_default();
    format!(
        "CREATE TABLE IF NOT EXISTS {{db}}.{name}{suffix} ON CLUSTER {cluster} (\n{cols}\n) ENGINE = {engine}('/clickhouse/tables/{{shard}}/{{db}}/{zk}', '{{replica}}'{version}) {tail}",
        name = def.name,
        cols = columns(def),
    )
}

/// The `Distributed` table `{db}.<name><suffix>` over `{db}.<local>` on every shard.
fn distributed(cluster: &str, name: &str, local: &str, key: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {{db}}.{name} ON CLUSTER {cluster} AS {{db}}.{local} ENGINE = Distributed({cluster}, {{db}}, {local}, cityHash64({key}))"
    )
}

/// The order clause of `def`.
fn order(def: &TableDef) -> String {
    format!("ORDER BY ({})", def.order_by.join(", "))
}

/// The statements that create `{db}`'s whole schema, at the latest version, on `cluster`
/// (`{db}` unreplaced); `schema_migrations` is created first, apart (see
/// [`migrations_table`]).
pub fn schema(cluster: &str) -> Vec<String> {
    let mut out = Vec::new();
    for daily in [false, true] {
        let def = observations::stored(daily);
        let time = if daily { "day" } else { "observed_at" };
        out.push(local(
            cluster,
            def,
            "_local",
            def.name,
            "ReplicatedReplacingMergeTree",
            Some("ingested_us"),
            &format!("PARTITION BY toYYYYMM({time}) {}", order(def)),
        ));
        out.push(distributed(
            cluster,
            def.name,
            &format!("{}_local", def.name),
            "tag",
        ));
    }
    for def in WEEKLY_TABLES {
        out.push(local(
            cluster,
            def,
            "_local",
            &format!("{}/g0", def.name),
            "ReplicatedMergeTree",
            None,
            &order(def),
        ));
        out.push(distributed(
            cluster,
            def.name,
            &format!("{}_local", def.name),
            shard_key(def),
        ));
    }
    for def in [&RUNS, &RUN_SOURCES] {
        out.push(local(
            cluster,
            def,
            "_local",
            def.name,
            "ReplicatedMergeTree",
            None,
            &format!("PARTITION BY toYYYYMM(started_at) {}", order(def)),
        ));
        out.push(distributed(
            cluster,
            def.name,
            &format!("{}_local", def.name),
            "run_id",
        ));
    }
    out.push(format!(
        "CREATE VIEW IF NOT EXISTS {{db}}.v_latest_week_occupations ON CLUSTER {cluster} AS
SELECT platform, metric, occupation, week_start, gained, share, wow_growth,
       momentum, z, breakout, tags_reporting, tags_total, total_end
FROM {{db}}.weekly_occupation_metrics
WHERE week_start = (SELECT max(week_start) - 7 FROM {{db}}.weekly_tag_metrics)"
    ));
    // Each shard joins its own tags (the taxonomy is sharded by tag as well).
    out.push(format!(
        "CREATE VIEW IF NOT EXISTS {{db}}.v_tag_history_local ON CLUSTER {cluster} AS
SELECT platform, metric, tag, week_start, total_end, gained, wow_growth,
       total_growth, avg4, momentum, z, breakout, observations, coverage,
       occupations
FROM {{db}}.weekly_tag_metrics_local
ANY LEFT JOIN (
    SELECT tag, arrayStringConcat(groupArray(occupation), ', ') AS occupations
    FROM {{db}}.occupation_tags_local
    GROUP BY tag
) AS o USING tag"
    ));
    out.push(distributed(
        cluster,
        "v_tag_history",
        "v_tag_history_local",
        "tag",
    ));
    out
}

/// `schema_migrations` on `cluster`: which versions the cluster's schema has. One table
/// replicated on every node (its path has no `{shard}`, each replica is `{shard}-{replica}`),
/// so any node that answers can tell, whichever shard is down.
pub fn migrations_table(cluster: &str) -> Vec<String> {
    vec![format!(
        "CREATE TABLE IF NOT EXISTS {{db}}.schema_migrations ON CLUSTER {cluster} (
    version UInt32,
    name String,
    applied_at DateTime('UTC')
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/{{db}}/schema_migrations', '{{shard}}-{{replica}}') ORDER BY version"
    )]
}

/// The migrations a cluster created by [`schema`] counts as applied.
pub fn versions() -> impl Iterator<Item = (u32, &'static str)> {
    MIGRATIONS
        .iter()
        .filter(|m| m.version <= latest_version())
        .map(|m| (m.version, m.name))
}

/// The weekly swap on `cluster` for generation `generation` (letters, digits, `_`): the
/// new local tables on their own ZooKeeper paths, filled through `<table>__next`, then one
/// `RENAME … ON CLUSTER` of the local tables under the unchanged `Distributed` ones.
pub fn weekly_swap(cluster: &str, generation: &str) -> WeeklySwap {
    let mut prepare = Vec::new();
    for def in WEEKLY_TABLES {
        let t = def.name;
        for leftover in [
            format!("{t}__next"),
            format!("{t}_local__next"),
            format!("{t}_local__old"),
        ] {
            prepare.push(format!(
                "DROP TABLE IF EXISTS {{db}}.{leftover} ON CLUSTER {cluster}"
            ));
        }
        prepare.push(local(
            cluster,
            def,
            "_local__next",
            &format!("{t}/{generation}"),
            "ReplicatedMergeTree",
            None,
            &order(def),
        ));
        prepare.push(distributed(
            cluster,
            &format!("{t}__next"),
            &format!("{t}_local__next"),
            shard_key(def),
        ));
    }
    let rename = WEEKLY_TABLES
        .iter()
        .map(|d| d.name)
        .map(|t| {
            format!("{{db}}.{t}_local TO {{db}}.{t}_local__old, {{db}}.{t}_local__next TO {{db}}.{t}_local")
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut cleanup = Vec::new();
    for def in WEEKLY_TABLES {
        for gone in [
            format!("{}_local__old", def.name),
            format!("{}__next", def.name),
        ] {
            cleanup.push(format!(
                "DROP TABLE IF EXISTS {{db}}.{gone} ON CLUSTER {cluster}"
            ));
        }
    }
    WeeklySwap {
        prepare,
        rename: format!("RENAME TABLE {rename} ON CLUSTER {cluster}"),
        cleanup,
    }
}

/// Everything `migrate` and the weekly swap send on `cluster` for `db`, as one script.
pub fn script(cluster: &str, db: &str) -> String {
    let db_sql = |s: &str| super::schema::for_database(s, db);
    let mut out = format!("CREATE DATABASE IF NOT EXISTS {db} ON CLUSTER {cluster};\n\n");
    for sql in migrations_table(cluster).iter().chain(&schema(cluster)) {
        out.push_str(&db_sql(sql));
        out.push_str(";\n\n");
    }
    let swap = weekly_swap(cluster, "g1");
    out.push_str("-- each transform: a new generation of the weekly tables\n");
    for sql in swap
        .prepare
        .iter()
        .chain([&swap.rename])
        .chain(&swap.cleanup)
    {
        out.push_str(&db_sql(sql));
        out.push_str(";\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_are_sharded_by_tag_on_replicated_replacing_tables() {
        let all = schema("c").join("\n");
        assert!(all.contains(
            "CREATE TABLE IF NOT EXISTS {db}.snapshots_local ON CLUSTER c (\n    platform String,"
        ));
        assert!(all.contains(
            "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{db}/snapshots', '{replica}', ingested_us) PARTITION BY toYYYYMM(observed_at) ORDER BY (platform, metric, tag, observed_at)"
        ));
        assert!(all.contains(
            "CREATE TABLE IF NOT EXISTS {db}.snapshots ON CLUSTER c AS {db}.snapshots_local ENGINE = Distributed(c, {db}, snapshots_local, cityHash64(tag))"
        ));
        assert!(all.contains(
            "Distributed(c, {db}, weekly_occupation_metrics_local, cityHash64(occupation))"
        ));
        assert!(all.contains("Distributed(c, {db}, runs_local, cityHash64(run_id))"));
        // Every documented table has its Distributed table.
        for def in tagpulse_model::tables::OBSERVATION_TABLES
            .iter()
            .chain(WEEKLY_TABLES.iter())
            .chain(
                [
                    &RUNS,
                    &RUN_SOURCES,
                    &tagpulse_model::tables::OCCUPATION_TAGS,
                ]
                .iter(),
            )
        {
            assert!(
                all.contains(&format!(
                    "CREATE TABLE IF NOT EXISTS {{db}}.{} ON CLUSTER c AS",
                    def.name
                )),
                "{}",
                def.name
            );
        }
    }

    #[test]
    fn each_generation_has_its_own_zookeeper_path_and_one_rename() {
        let a = weekly_swap("c", "g17");
        let b = weekly_swap("c", "g18");
        let path = "/clickhouse/tables/{shard}/{db}/weekly_tag_metrics/g17'";
        assert!(a.prepare.iter().any(|s| s.contains(path)));
        assert!(!b.prepare.iter().any(|s| s.contains(path)));
        assert!(a.rename.starts_with("RENAME TABLE {db}.weekly_tag_metrics_local TO {db}.weekly_tag_metrics_local__old, {db}.weekly_tag_metrics_local__next TO {db}.weekly_tag_metrics_local, "));
        assert!(a.rename.ends_with(" ON CLUSTER c"));
        assert_eq!(a.rename.matches(" TO ").count(), 2 * WEEKLY_TABLES.len());
    }
}
