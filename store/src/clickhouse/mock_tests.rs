//! The request sequences of migrations, the spool and the weekly swap, against the
//! `clickhouse` crate's mock server: no ClickHouse needed. The real-server tests in
//! `tests/clickhouse.rs` check that a server accepts the same SQL.

use chrono::{DateTime, Utc};
use clickhouse::test::{handlers, status, Mock};
use tagpulse_config::{ClickHouseConfig, Tag};
use tagpulse_model::{tables, ObservationBatch, Snapshot, WeeklyTables};

use super::migrations::MigrationRow;
use super::schema::{latest_version, MIGRATIONS};
use super::ClickHouseStore;
use crate::{Store, StoreError};

/// A row of `snapshots` as ClickHouse receives it, decoded by the mock server.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, serde::Deserialize)]
struct SnapshotRow {
    platform: String,
    tag: String,
    metric: String,
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    observed_at: DateTime<Utc>,
    value: u64,
    source: String,
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    ingested_at: DateTime<Utc>,
    ingested_us: u64,
}

fn store(mock: &Mock, data_dir: &std::path::Path) -> ClickHouseStore {
    let cfg = ClickHouseConfig {
        url: mock.url().to_string(),
        database: "team".into(),
        ..Default::default()
    };
    ClickHouseStore::open(&cfg, data_dir).unwrap()
}

/// The requests `migrate` sends before any migration: connect, database, bookkeeping
/// table, then the applied versions (answered with `done`).
fn expect_migrate_preamble(mock: &Mock, done: &[u32]) -> [handlers::RecordDdlControl; 2] {
    mock.add(handlers::provide([1u8]));
    let create_db = mock.add(handlers::record_ddl());
    let create_table = mock.add(handlers::record_ddl());
    mock.add(handlers::provide(done.iter().copied()));
    [create_db, create_table]
}

fn batch(tag: &str, values: &[u64]) -> ObservationBatch {
    ObservationBatch {
        source: "mock".into(),
        snapshots: values
            .iter()
            .enumerate()
            .map(|(i, v)| Snapshot {
                platform: "tiktok".into(),
                tag: Tag::parse(tag).unwrap(),
                metric: "views".into(),
                observed_at: DateTime::from_timestamp(1_750_000_000 + i as i64 * 3600, 0).unwrap(),
                value: *v,
            })
            .collect(),
        ..Default::default()
    }
}

fn tags_values(rows: &[SnapshotRow]) -> Vec<(String, u64)> {
    rows.iter().map(|r| (r.tag.clone(), r.value)).collect()
}

#[tokio::test]
async fn a_database_at_version_3_gets_migrations_4_to_6_with_the_column_check() {
    let mock = Mock::new();
    let dir = tempfile::tempdir().unwrap();
    let store = store(&mock, dir.path());
    let [create_db, create_table] = expect_migrate_preamble(&mock, &[1, 2, 3]);
    // Migration 4 adds z_median to two tables: the first lacks it, the second (a run
    // interrupted half way) has it already and must not be altered again.
    mock.add(handlers::provide([0u64]));
    let alter = mock.add(handlers::record_ddl());
    mock.add(handlers::provide([1u64]));
    let recorded = mock.add(handlers::record::<MigrationRow>());
    // Migration 5: the run records.
    let runs = mock.add(handlers::record_ddl());
    let run_sources = mock.add(handlers::record_ddl());
    let recorded5 = mock.add(handlers::record::<MigrationRow>());
    // Migration 6 adds resolution: both tables lack it.
    mock.add(handlers::provide([0u64]));
    let alter6a = mock.add(handlers::record_ddl());
    mock.add(handlers::provide([0u64]));
    let alter6b = mock.add(handlers::record_ddl());
    let recorded6 = mock.add(handlers::record::<MigrationRow>());

    let report = store.migrate().await.unwrap();

    assert_eq!(
        create_db.query().await,
        "CREATE DATABASE IF NOT EXISTS team"
    );
    assert!(create_table
        .query()
        .await
        .starts_with("CREATE TABLE IF NOT EXISTS team.schema_migrations ("));
    assert_eq!(
        alter.query().await,
        "ALTER TABLE team.weekly_tag_metrics ADD COLUMN z_median Nullable(Float64) AFTER z"
    );
    let rows: Vec<MigrationRow> = recorded.collect().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].version, rows[0].name.as_str()),
        (4, MIGRATIONS[3].name)
    );
    assert!(runs
        .query()
        .await
        .starts_with("CREATE TABLE IF NOT EXISTS team.runs ("));
    assert!(run_sources
        .query()
        .await
        .starts_with("CREATE TABLE IF NOT EXISTS team.run_sources ("));
    let rows: Vec<MigrationRow> = recorded5.collect().await;
    assert_eq!(
        (rows[0].version, rows[0].name.as_str()),
        (5, MIGRATIONS[4].name)
    );
    assert_eq!(
        alter6a.query().await,
        "ALTER TABLE team.weekly_tag_metrics ADD COLUMN resolution Nullable(Float64) AFTER coverage"
    );
    assert_eq!(
        alter6b.query().await,
        "ALTER TABLE team.weekly_occupation_metrics ADD COLUMN resolution Nullable(Float64) AFTER share"
    );
    let rows: Vec<MigrationRow> = recorded6.collect().await;
    assert_eq!(
        (rows[0].version, rows[0].name.as_str()),
        (6, MIGRATIONS[5].name)
    );
    assert_eq!(
        report.applied,
        vec![
            (4, MIGRATIONS[3].name),
            (5, MIGRATIONS[4].name),
            (6, MIGRATIONS[5].name)
        ]
    );
    assert_eq!(report.version, latest_version());
}

#[tokio::test]
async fn a_fresh_database_gets_every_migration_in_order() {
    let mock = Mock::new();
    let dir = tempfile::tempdir().unwrap();
    let store = store(&mock, dir.path());
    expect_migrate_preamble(&mock, &[]);
    let mut statements = Vec::new();
    let mut recorded = Vec::new();
    for m in MIGRATIONS {
        for step in m.steps {
            if let super::schema::Step::AddColumn { .. } = step {
                mock.add(handlers::provide([0u64]));
            }
            statements.push((m.version, mock.add(handlers::record_ddl())));
        }
        recorded.push(mock.add(handlers::record::<MigrationRow>()));
    }

    let report = store.migrate().await.unwrap();

    let versions: Vec<u32> = report.applied.iter().map(|a| a.0).collect();
    assert_eq!(versions, (1..=latest_version()).collect::<Vec<_>>());
    let mut sent = Vec::new();
    for (version, s) in statements {
        let sql = s.query().await;
        assert!(!sql.contains("{db}"), "migration {version}: {sql}");
        sent.push(sql);
    }
    assert!(sent[0].starts_with("CREATE TABLE IF NOT EXISTS team.snapshots ("));
    assert!(sent.iter().all(|s| s.contains("team.")), "{sent:#?}");
    for (i, r) in recorded.into_iter().enumerate() {
        let rows: Vec<MigrationRow> = r.collect().await;
        assert_eq!(rows[0].version, i as u32 + 1);
    }
}

#[tokio::test]
async fn a_database_newer_than_this_build_is_refused_before_any_ddl() {
    let mock = Mock::new();
    let dir = tempfile::tempdir().unwrap();
    let store = store(&mock, dir.path());
    let newer: Vec<u32> = (1..=latest_version() + 1).collect();
    expect_migrate_preamble(&mock, &newer);
    let err = store.migrate().await.unwrap_err();
    assert!(
        matches!(err, StoreError::SchemaTooNew { found, .. } if found == latest_version() + 1),
        "{err}"
    );
}

#[tokio::test]
async fn a_batch_the_server_refuses_is_spooled_then_delivered_first_and_removed() {
    let mock = Mock::new();
    let dir = tempfile::tempdir().unwrap();
    let store = store(&mock, dir.path());
    let all: Vec<u32> = (1..=latest_version()).collect();

    // The server answers 503: the batch waits in the spool.
    mock.add(handlers::failure(status::SERVICE_UNAVAILABLE));
    let err = store
        .append(&batch("azubi", &[10, 20, 30]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Spooled {
                snapshots: 3,
                daily: 0,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(store.spooled_parts().unwrap(), 1);

    // Next time: schema current, the spooled part delivered, then the new batch.
    expect_migrate_preamble(&mock, &all);
    let spooled = mock.add(handlers::record::<SnapshotRow>());
    let fresh = mock.add(handlers::record::<SnapshotRow>());
    let stats = store.append(&batch("koch", &[5])).await.unwrap();

    assert_eq!(stats.snapshots, 1);
    let spooled: Vec<SnapshotRow> = spooled.collect().await;
    assert_eq!(
        tags_values(&spooled),
        [
            ("azubi".into(), 10),
            ("azubi".into(), 20),
            ("azubi".into(), 30)
        ]
    );
    assert_eq!(
        spooled[0].observed_at,
        DateTime::<Utc>::from_timestamp(1_750_000_000, 0).unwrap()
    );
    let fresh: Vec<SnapshotRow> = fresh.collect().await;
    assert_eq!(tags_values(&fresh), [("koch".into(), 5)]);
    assert_eq!(
        store.spooled_parts().unwrap(),
        0,
        "delivered parts are removed"
    );
}

#[tokio::test]
async fn a_spooled_part_the_server_refuses_stays_and_is_named() {
    let mock = Mock::new();
    let dir = tempfile::tempdir().unwrap();
    let store = store(&mock, dir.path());
    let all: Vec<u32> = (1..=latest_version()).collect();
    mock.add(handlers::failure(status::SERVICE_UNAVAILABLE));
    store.append(&batch("azubi", &[1])).await.unwrap_err();

    expect_migrate_preamble(&mock, &all);
    mock.add(handlers::failure(status::INTERNAL_SERVER_ERROR));
    let err = store.append(&batch("koch", &[2])).await.unwrap_err();

    let StoreError::Spooled { reason, .. } = &err else {
        panic!("expected the second batch spooled too: {err}");
    };
    assert!(reason.contains("deliver spooled part"), "{reason}");
    assert!(reason.contains("clickhouse-spool"), "{reason}");
    assert_eq!(store.spooled_parts().unwrap(), 2, "nothing spooled is lost");
}

fn weekly_tables() -> WeeklyTables {
    WeeklyTables::from_frames(tables::WEEKLY_TABLES.map(|def| def.empty_frame()))
}

#[tokio::test]
async fn the_weekly_tables_are_filled_aside_and_swapped_in_with_one_rename() {
    let mock = Mock::new();
    let dir = tempfile::tempdir().unwrap();
    let store = store(&mock, dir.path());
    expect_migrate_preamble(&mock, &(1..=latest_version()).collect::<Vec<_>>());
    // Empty frames insert nothing: prepare, rename and cleanup are the whole exchange.
    let sent: Vec<_> = (0..3 * 4 + 1 + 4)
        .map(|_| mock.add(handlers::record_ddl()))
        .collect();

    store.write_weekly(&weekly_tables()).await.unwrap();

    let mut sql = Vec::new();
    for s in sent {
        sql.push(s.query().await);
    }
    let renames: Vec<&String> = sql.iter().filter(|s| s.starts_with("RENAME")).collect();
    assert_eq!(renames.len(), 1, "one RENAME swaps every table: {sql:#?}");
    for def in tables::WEEKLY_TABLES {
        let t = def.name;
        assert!(
            renames[0].contains(&format!("team.{t}__next TO team.{t}")),
            "{t} not swapped in: {}",
            renames[0]
        );
        let create = sql
            .iter()
            .position(|s| s.starts_with(&format!("CREATE TABLE IF NOT EXISTS team.{t}__next")))
            .unwrap_or_else(|| panic!("{t}__next not created"));
        let rename = sql.iter().position(|s| s.starts_with("RENAME")).unwrap();
        assert!(create < rename);
    }
    assert!(sql[13..]
        .iter()
        .all(|s| s.starts_with("DROP TABLE IF EXISTS team.") && s.ends_with("__old")));
}

#[tokio::test]
async fn a_failed_fill_never_reaches_the_rename() {
    let mut mock = Mock::new();
    let dir = tempfile::tempdir().unwrap();
    let store = store(&mock, dir.path());
    expect_migrate_preamble(&mock, &(1..=latest_version()).collect::<Vec<_>>());
    // The third prepare statement (creating the first `__next`) fails.
    mock.add(handlers::record_ddl());
    mock.add(handlers::record_ddl());
    mock.add(handlers::failure(status::INTERNAL_SERVER_ERROR));
    // Anything after it would be the swap: it must never be asked for.
    mock.add(handlers::failure(status::NOT_IMPLEMENTED));
    mock.non_exhaustive();

    let err = store.write_weekly(&weekly_tables()).await.unwrap_err();
    assert!(
        err.to_string().contains("prepare the weekly tables"),
        "{err}"
    );
    assert!(!err.to_string().contains("Not Implemented"), "{err}");
}
