//! Applying the numbered migrations of [`super::schema`], and the database's status.

use chrono::{DateTime, Utc};
use clickhouse::Row;
use serde::{Deserialize, Serialize};
use tagpulse_model::tables::{OBSERVATION_TABLES, RUN_TABLES, WEEKLY_TABLES};

use super::schema::{latest_version, Step, MIGRATIONS, MIGRATIONS_TABLE};
use super::ClickHouseStore;
use crate::StoreError;

/// A row of `schema_migrations`: the one table only ClickHouse has, so its row is
/// written here rather than in the model.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub(super) struct MigrationRow {
    pub version: u32,
    pub name: String,
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    pub applied_at: DateTime<Utc>,
}

/// What `migrate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateReport {
    /// Migrations applied now (version, name).
    pub applied: Vec<(u32, &'static str)>,
    /// The schema version after migrating.
    pub version: u32,
}

/// What `status` found.
#[derive(Debug, Clone, PartialEq)]
pub struct DbStatus {
    /// The server's `version()`.
    pub server_version: String,
    /// Applied migrations (version, name, when), oldest first.
    pub applied: Vec<(u32, String, chrono::DateTime<Utc>)>,
    /// Known migrations not applied yet (version, name).
    pub pending: Vec<(u32, &'static str)>,
    /// Row counts per table (observation tables counted with `FINAL`).
    pub tables: Vec<(&'static str, u64)>,
    /// Spooled part files waiting for delivery.
    pub spooled_parts: usize,
}

impl ClickHouseStore {
    /// Creates the database and applies every pending migration, in order; in cluster
    /// mode, creates the whole schema on the cluster once (see [`super::cluster`]).
    pub async fn migrate(&self) -> Result<MigrateReport, StoreError> {
        if let Some(cluster) = &self.cfg.cluster {
            return self.migrate_cluster(cluster).await;
        }
        let db = &self.cfg.database;
        let done = self
            .bookkeeping(
                &format!("CREATE DATABASE IF NOT EXISTS {db}"),
                &[MIGRATIONS_TABLE.to_string()],
            )
            .await?;
        let mut applied = Vec::new();
        for m in MIGRATIONS.iter().filter(|m| !done.contains(&m.version)) {
            let what = format!("apply migration {}", m.version);
            for step in m.steps {
                if let Step::AddColumn { table, column } = step {
                    let present = self
                        .timed(
                            &what,
                            self.server()
                                .query("SELECT count() FROM system.columns WHERE database = ? AND table = ? AND name = ?")
                                .bind(db.as_str())
                                .bind(table.name)
                                .bind(*column)
                                .fetch_one::<u64>(),
                        )
                        .await?;
                    if present > 0 {
                        continue;
                    }
                }
                self.execute(&what, &step.sql()).await?;
            }
            let row = MigrationRow {
                version: m.version,
                name: m.name.to_string(),
                applied_at: DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_default(),
            };
            self.insert("schema_migrations", &[row]).await?;
            tracing::info!(database = %db, version = m.version, name = m.name, "applied migration");
            applied.push((m.version, m.name));
        }
        Ok(MigrateReport {
            applied,
            version: latest_version(),
        })
    }

    /// Connects, creates the database (`create_db`) and the bookkeeping tables
    /// (`bookkeeping`), and returns the versions applied so far; refuses a schema newer
    /// than this build knows.
    async fn bookkeeping(
        &self,
        create_db: &str,
        bookkeeping: &[String],
    ) -> Result<Vec<u32>, StoreError> {
        self.pick_node().await?;
        self.timed("connect", self.server().query("SELECT 1").fetch_one::<u8>())
            .await?;
        self.timed(
            "create the database",
            self.server().query(create_db).execute(),
        )
        .await?;
        for sql in bookkeeping {
            self.execute("create schema_migrations", sql).await?;
        }
        let done: Vec<u32> = self
            .fetch(
                "read schema_migrations",
                "SELECT DISTINCT version FROM {db}.schema_migrations ORDER BY version",
            )
            .await?;
        let current = done.last().copied().unwrap_or(0);
        if current > latest_version() {
            return Err(StoreError::SchemaTooNew {
                database: self.cfg.database.clone(),
                found: current,
                known: latest_version(),
            });
        }
        Ok(done)
    }

    /// Cluster mode's migrate: `{db}` and `schema_migrations` on every node, then, for a
    /// cluster without a schema, every table at the latest version, recorded as each
    /// migration applied. Every statement is idempotent, so an interrupted run is simply
    /// run again.
    async fn migrate_cluster(&self, cluster: &str) -> Result<MigrateReport, StoreError> {
        let db = &self.cfg.database;
        // `ON CLUSTER` DDL waits for every node: a schema that is current is only read, so
        // a node down does not hold up every command for distributed_ddl_task_timeout.
        self.pick_node().await?;
        let known: Result<Vec<u32>, StoreError> = self
            .fetch(
                "read schema_migrations",
                "SELECT DISTINCT version FROM {db}.schema_migrations ORDER BY version",
            )
            .await;
        if let Ok(known) = known {
            if known.last() == Some(&latest_version()) {
                return Ok(MigrateReport {
                    applied: Vec::new(),
                    version: latest_version(),
                });
            }
        }
        let done = self
            .bookkeeping(
                &format!("CREATE DATABASE IF NOT EXISTS {db} ON CLUSTER {cluster}"),
                &super::cluster::migrations_table(cluster),
            )
            .await?;
        let current = done.last().copied().unwrap_or(0);
        if current == latest_version() {
            return Ok(MigrateReport {
                applied: Vec::new(),
                version: current,
            });
        }
        if current > 0 {
            return Err(StoreError::ClickHouse {
                url: self.cfg.url.clone(),
                what: "migrate the cluster".into(),
                message: format!(
                    "database {db} is at schema version {current}; this tagpulse creates a cluster's schema at version {} but does not upgrade one yet",
                    latest_version()
                ),
            });
        }
        for sql in super::cluster::schema(cluster) {
            self.execute_ddl("create the schema on the cluster", &sql)
                .await?;
        }
        let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_default();
        let rows: Vec<MigrationRow> = super::cluster::versions()
            .map(|(version, name)| MigrationRow {
                version,
                name: name.to_string(),
                applied_at: now,
            })
            .collect();
        self.insert("schema_migrations", &rows).await?;
        tracing::info!(database = %db, cluster, version = latest_version(), "created the schema on the cluster");
        Ok(MigrateReport {
            applied: super::cluster::versions().collect(),
            version: latest_version(),
        })
    }

    /// The schema version, table sizes and spool of the database.
    pub async fn status(&self) -> Result<DbStatus, StoreError> {
        self.pick_node().await?;
        let server_version = self
            .timed(
                "ask the server version",
                self.server()
                    .query("SELECT version()")
                    .fetch_one::<String>(),
            )
            .await?;
        let exists = self
            .timed(
                "look up the database",
                self.server()
                    .query("SELECT count() FROM system.tables WHERE database = ? AND name = 'schema_migrations'")
                    .bind(&self.cfg.database)
                    .fetch_one::<u64>(),
            )
            .await?;
        let applied: Vec<MigrationRow> = if exists > 0 {
            self.fetch(
                "read schema_migrations",
                "SELECT version, any(name), min(applied_at) FROM {db}.schema_migrations GROUP BY version ORDER BY version")
                .await?
        } else {
            Vec::new()
        };
        let pending = MIGRATIONS
            .iter()
            .filter(|m| !applied.iter().any(|a| a.version == m.version))
            .map(|m| (m.version, m.name))
            .collect::<Vec<_>>();
        let mut tables = Vec::new();
        if pending.is_empty() {
            for def in OBSERVATION_TABLES
                .iter()
                .chain(WEEKLY_TABLES.iter())
                .chain(RUN_TABLES.iter())
            {
                // Observations collapse re-imports only under FINAL.
                let fin = if OBSERVATION_TABLES.contains(def) {
                    " FINAL"
                } else {
                    ""
                };
                let sql = format!("SELECT count() FROM {{db}}.{}{fin}", def.name);
                tables.push((def.name, self.count(&sql).await?));
            }
        }
        Ok(DbStatus {
            server_version,
            applied: applied
                .into_iter()
                .map(|r| (r.version, r.name, r.applied_at))
                .collect(),
            pending,
            tables,
            spooled_parts: self.spooled_parts()?,
        })
    }
}
