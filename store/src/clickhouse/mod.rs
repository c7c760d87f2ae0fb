//! The ClickHouse backend: the shared store a team (and its SQL users) works from.
//!
//! Observations go to `snapshots` and `daily_counts`, ReplacingMergeTree tables keyed by
//! the spec's identity with `ingested_us` as version, and are read back with `FINAL`: a
//! re-run, an overlapping import or a spool delivered twice never double-counts. The weekly
//! tables are written to `<table>__next` and swapped in with one `RENAME`, so readers see
//! the old tables or the new ones, never a half-written mix.
//!
//! A batch that cannot be delivered (server down, timeout, refused insert) goes to a local
//! spool, a Parquet lake under `data_dir/clickhouse-spool/<database>`, and is delivered,
//! part by part, by the first later operation that reaches the server; a part is removed
//! only after its insert has been acknowledged.

mod http;
mod rows;
pub mod schema;

use std::future::Future;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chrono::Utc;
use clickhouse::{Client, RowOwned, RowRead, RowWrite};
use polars::prelude::*;
use tagpulse_config::{ClickHouseConfig, CLICKHOUSE_PASSWORD_ENV};
use tagpulse_ingest::ObservationBatch;
use tagpulse_transform::WeeklyTables;
use tokio::sync::OnceCell;

use crate::parquet::{self, read_parquet, ParquetStore};
use crate::{polars_err, AppendStats, Store, StoreError};
use schema::{for_database, latest_version, MIGRATIONS, MIGRATIONS_TABLE, WEEKLY_TABLES};

/// The ClickHouse store configured by `[storage.clickhouse]`.
pub struct ClickHouseStore {
    /// Bound to the database.
    client: Client,
    /// Not bound to a database: creates it.
    server: Client,
    cfg: ClickHouseConfig,
    spool: ParquetStore,
    /// Set once the schema is current and the spool delivered, for this process.
    ready: OnceCell<()>,
    /// Observations as last read, until this store writes some: a run scans them for the
    /// transform and again for the report, and unlike a Parquet scan a ClickHouse read
    /// cannot push projections down, so each scan would fetch every row again.
    cache: std::sync::Mutex<ObservationCache>,
}

#[derive(Default)]
struct ObservationCache {
    /// Bumped by every write, so a read that overlapped one is not kept.
    writes: u64,
    snapshots: Option<DataFrame>,
    daily: Option<DataFrame>,
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

/// What moved between a Parquet lake and ClickHouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TransferStats {
    /// Snapshots moved.
    pub snapshots: usize,
    /// Daily counts moved.
    pub daily: usize,
    /// Weekly tag rows moved (0 when there were no weekly tables).
    pub weekly_tag_rows: usize,
}

fn describe_error(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut next = e.source();
    while let Some(s) = next {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = s.source();
    }
    parts.join(": ")
}

/// Rows for the observation tables; an empty frame (of any schema) gives none.
fn observation_rows(
    snapshots: &DataFrame,
    daily: &DataFrame,
) -> Result<(Vec<rows::SnapshotRow>, Vec<rows::DailyRow>), StoreError> {
    let srows = if snapshots.height() > 0 {
        rows::snapshot_rows(snapshots).map_err(polars_err("cannot store snapshots"))?
    } else {
        Vec::new()
    };
    let drows = if daily.height() > 0 {
        rows::daily_rows(daily).map_err(polars_err("cannot store daily counts"))?
    } else {
        Vec::new()
    };
    Ok((srows, drows))
}

impl ClickHouseStore {
    /// A store for `cfg`; the spool lives under `data_dir`. Does not connect yet: the
    /// first operation does, so a run with the server down can still spool.
    pub fn open(cfg: &ClickHouseConfig, data_dir: &Path) -> Result<Self, StoreError> {
        let mut server = http::client(&cfg.url)
            .with_url(&cfg.url)
            .with_user(&cfg.user)
            // Plain RowBinary: the validating default needs settings ClickHouse 18.16 lacks.
            .with_validation(false);
        if let Ok(password) = std::env::var(CLICKHOUSE_PASSWORD_ENV) {
            server = server.with_password(password);
        }
        let client = server.clone().with_database(&cfg.database);
        let spool = ParquetStore::open(&Self::spool_dir(data_dir, &cfg.database))?;
        Ok(ClickHouseStore {
            client,
            server,
            cfg: cfg.clone(),
            spool,
            ready: OnceCell::new(),
            cache: Default::default(),
        })
    }

    /// Where undeliverable batches for `database` wait.
    pub fn spool_dir(data_dir: &Path, database: &str) -> PathBuf {
        data_dir.join("clickhouse-spool").join(database)
    }

    /// The database tagpulse writes to.
    pub fn database(&self) -> &str {
        &self.cfg.database
    }

    fn error(&self, what: &str, e: &clickhouse::error::Error) -> StoreError {
        StoreError::ClickHouse {
            url: self.cfg.url.clone(),
            what: what.to_string(),
            message: describe_error(e),
        }
    }

    /// Awaits one request, bounded by the configured timeout.
    async fn timed<T>(
        &self,
        what: &str,
        fut: impl Future<Output = clickhouse::error::Result<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.cfg.timeout, fut).await {
            Ok(r) => r.map_err(|e| self.error(what, &e)),
            Err(_) => Err(self.error(what, &clickhouse::error::Error::TimedOut)),
        }
    }

    async fn execute(&self, what: &str, sql: &str) -> Result<(), StoreError> {
        let sql = for_database(sql, &self.cfg.database);
        self.timed(what, self.client.query(&sql).execute()).await
    }

    async fn count(&self, sql: &str) -> Result<u64, StoreError> {
        let sql = for_database(sql, &self.cfg.database);
        self.timed("count rows", self.client.query(&sql).fetch_one::<u64>())
            .await
    }

    /// Every row of a query, each network read bounded by the timeout.
    async fn fetch<T: RowOwned + RowRead>(
        &self,
        what: &str,
        sql: &str,
    ) -> Result<Vec<T>, StoreError> {
        let sql = for_database(sql, &self.cfg.database);
        let mut cursor = self
            .client
            .query(&sql)
            .fetch::<T>()
            .map_err(|e| self.error(what, &e))?;
        let mut out = Vec::new();
        while let Some(row) = self.timed(what, cursor.next()).await? {
            out.push(row);
        }
        Ok(out)
    }

    /// Inserts rows in batches of `batch_rows`, finishing with `end()`.
    async fn insert<T: RowOwned + RowWrite>(
        &self,
        table: &str,
        rows: &[T],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let what = format!("insert into {table}");
        let mut inserter = self
            .client
            .inserter::<T>(table)
            .with_max_rows(self.cfg.batch_rows)
            .with_timeouts(Some(self.cfg.timeout), Some(self.cfg.timeout));
        // No timer per row: the inserter's own send/end timeouts bound each INSERT.
        for row in rows {
            inserter
                .write(row)
                .await
                .map_err(|e| self.error(&what, &e))?;
            inserter.commit().await.map_err(|e| self.error(&what, &e))?;
        }
        self.timed(&what, inserter.end()).await?;
        Ok(())
    }

    /// Creates the database and applies every pending migration, in order.
    pub async fn migrate(&self) -> Result<MigrateReport, StoreError> {
        let db = &self.cfg.database;
        self.timed("connect", self.server.query("SELECT 1").fetch_one::<u8>())
            .await?;
        self.timed(
            "create the database",
            self.server
                .query(&format!("CREATE DATABASE IF NOT EXISTS {db}"))
                .execute(),
        )
        .await?;
        self.execute("create schema_migrations", MIGRATIONS_TABLE)
            .await?;
        let done: Vec<u32> = self
            .fetch(
                "read schema_migrations",
                "SELECT DISTINCT version FROM {db}.schema_migrations ORDER BY version",
            )
            .await?;
        let current = done.last().copied().unwrap_or(0);
        if current > latest_version() {
            return Err(StoreError::SchemaTooNew {
                database: db.clone(),
                found: current,
                known: latest_version(),
            });
        }
        let mut applied = Vec::new();
        for m in MIGRATIONS.iter().filter(|m| !done.contains(&m.version)) {
            for sql in m.statements {
                self.execute(&format!("apply migration {}", m.version), sql)
                    .await?;
            }
            let row = rows::MigrationRow {
                version: m.version,
                name: m.name.to_string(),
                applied_at: chrono::DateTime::from_timestamp(Utc::now().timestamp(), 0)
                    .unwrap_or_default(),
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

    /// Schema current and spool delivered; done once per process, retried after failure.
    async fn ready(&self) -> Result<(), StoreError> {
        self.ready
            .get_or_try_init(|| async {
                self.migrate().await?;
                self.deliver_spool().await?;
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// Delivers every spooled part, oldest first, removing each once it is stored.
    pub async fn deliver_spool(&self) -> Result<AppendStats, StoreError> {
        let mut stats = AppendStats::default();
        for kind in ["snapshots", "daily"] {
            for part in self.spool.parts(kind)? {
                let df = read_parquet(&part)?;
                let n = df.height();
                let delivered = if kind == "snapshots" {
                    stats.snapshots += n;
                    self.insert_frames(&df, &DataFrame::empty()).await
                } else {
                    stats.daily += n;
                    self.insert_frames(&DataFrame::empty(), &df).await
                };
                // Name the part: a part the server keeps refusing must be findable.
                delivered.map_err(|e| match e {
                    StoreError::ClickHouse { url, what, message } => StoreError::ClickHouse {
                        url,
                        what: format!("deliver spooled part {} ({what})", part.display()),
                        message,
                    },
                    other => other,
                })?;
                // Removed only now: a crash before this line delivers the part again next
                // time, and the identity key makes that second copy invisible.
                std::fs::remove_file(&part).map_err(|source| StoreError::Io {
                    what: "cannot remove delivered spool part",
                    path: part.display().to_string(),
                    source,
                })?;
            }
        }
        if stats.snapshots + stats.daily > 0 {
            tracing::info!(
                snapshots = stats.snapshots,
                daily = stats.daily,
                "delivered spooled observations to ClickHouse"
            );
        }
        Ok(stats)
    }

    /// Spooled part files not delivered yet.
    pub fn spooled_parts(&self) -> Result<usize, StoreError> {
        Ok(self.spool.parts("snapshots")?.len() + self.spool.parts("daily")?.len())
    }

    /// Inserts frames with the stored observation schema (keeping their `ingested_at`).
    pub async fn insert_frames(
        &self,
        snapshots: &DataFrame,
        daily: &DataFrame,
    ) -> Result<AppendStats, StoreError> {
        let (srows, drows) = observation_rows(snapshots, daily)?;
        self.insert_rows(&srows, &drows).await
    }

    async fn insert_rows(
        &self,
        srows: &[rows::SnapshotRow],
        drows: &[rows::DailyRow],
    ) -> Result<AppendStats, StoreError> {
        // Dropped before writing: a failed insert may still have stored some rows.
        {
            let mut cache = self.cache.lock().expect("cache lock");
            cache.writes += 1;
            cache.snapshots = None;
            cache.daily = None;
        }
        self.insert("snapshots", srows).await?;
        self.insert("daily_counts", drows).await?;
        Ok(AppendStats {
            snapshots: srows.len(),
            daily: drows.len(),
        })
    }

    /// The schema version, table sizes and spool of the database.
    pub async fn status(&self) -> Result<DbStatus, StoreError> {
        let server_version = self
            .timed(
                "ask the server version",
                self.server.query("SELECT version()").fetch_one::<String>(),
            )
            .await?;
        let exists = self
            .timed(
                "look up the database",
                self.server
                    .query("SELECT count() FROM system.tables WHERE database = ? AND name = 'schema_migrations'")
                    .bind(&self.cfg.database)
                    .fetch_one::<u64>(),
            )
            .await?;
        let applied: Vec<rows::MigrationRow> = if exists > 0 {
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
            for (table, sql) in [
                ("snapshots", "SELECT count() FROM {db}.snapshots FINAL"),
                (
                    "daily_counts",
                    "SELECT count() FROM {db}.daily_counts FINAL",
                ),
                (
                    "weekly_tag_metrics",
                    "SELECT count() FROM {db}.weekly_tag_metrics",
                ),
                (
                    "weekly_occupation_metrics",
                    "SELECT count() FROM {db}.weekly_occupation_metrics",
                ),
                (
                    "weekly_brand_metrics",
                    "SELECT count() FROM {db}.weekly_brand_metrics",
                ),
                (
                    "occupation_tags",
                    "SELECT count() FROM {db}.occupation_tags",
                ),
            ] {
                tables.push((table, self.count(sql).await?));
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

    /// Copies every observation and the weekly tables into a Parquet lake at `dir`.
    pub async fn export_parquet(&self, dir: &Path) -> Result<TransferStats, StoreError> {
        self.ready().await?;
        let lake = ParquetStore::open(dir)?;
        let mut snapshots = self.snapshots().await?;
        let mut daily = self.daily().await?;
        let mut stats = TransferStats {
            snapshots: snapshots.height(),
            daily: daily.height(),
            weekly_tag_rows: 0,
        };
        lake.append_frames(&mut snapshots, &mut daily)?;
        match self.read_weekly().await {
            Ok(tables) => {
                stats.weekly_tag_rows = tables.tags.height();
                lake.write_weekly(&tables).await?;
            }
            Err(StoreError::NoWeeklyTables(_)) => {}
            Err(e) => return Err(e),
        }
        Ok(stats)
    }

    /// Copies a Parquet lake's observations (and weekly tables, when it has them) in.
    pub async fn import_parquet(&self, dir: &Path) -> Result<TransferStats, StoreError> {
        if !dir.join("observations").is_dir() {
            return Err(StoreError::NotALake(dir.display().to_string()));
        }
        self.ready().await?;
        let lake = ParquetStore::open(dir)?;
        let collect = |lf: LazyFrame, what: &str| {
            lf.collect().map_err(polars_err(format!(
                "cannot read {what} from {}",
                dir.display()
            )))
        };
        let snapshots = collect(lake.scan_snapshots().await?, "snapshots")?;
        let daily = collect(lake.scan_daily().await?, "daily counts")?;
        let moved = self.insert_frames(&snapshots, &daily).await?;
        let mut stats = TransferStats {
            snapshots: moved.snapshots,
            daily: moved.daily,
            weekly_tag_rows: 0,
        };
        match lake.read_weekly().await {
            Ok(tables) => {
                stats.weekly_tag_rows = tables.tags.height();
                self.write_weekly(&tables).await?;
            }
            Err(StoreError::NoWeeklyTables(_)) => {}
            Err(e) => return Err(e),
        }
        Ok(stats)
    }

    async fn snapshots(&self) -> Result<DataFrame, StoreError> {
        self.cached(|c| &mut c.snapshots, async {
            let rows: Vec<rows::SnapshotRow> = self
                .fetch("read snapshots", "SELECT ?fields FROM {db}.snapshots FINAL")
                .await?;
            rows::snapshots_frame(&rows).map_err(polars_err("cannot build the snapshots frame"))
        })
        .await
    }

    async fn daily(&self) -> Result<DataFrame, StoreError> {
        self.cached(|c| &mut c.daily, async {
            let rows: Vec<rows::DailyRow> = self
                .fetch(
                    "read daily_counts",
                    "SELECT ?fields FROM {db}.daily_counts FINAL",
                )
                .await?;
            rows::daily_frame(&rows).map_err(polars_err("cannot build the daily frame"))
        })
        .await
    }

    /// The cached frame `slot` picks, or `read`'s result, kept unless a write overlapped.
    async fn cached(
        &self,
        slot: impl Fn(&mut ObservationCache) -> &mut Option<DataFrame>,
        read: impl Future<Output = Result<DataFrame, StoreError>>,
    ) -> Result<DataFrame, StoreError> {
        let writes = {
            let mut cache = self.cache.lock().expect("cache lock");
            if let Some(df) = slot(&mut cache) {
                return Ok(df.clone());
            }
            cache.writes
        };
        let df = read.await?;
        let mut cache = self.cache.lock().expect("cache lock");
        if cache.writes == writes {
            *slot(&mut cache) = Some(df.clone());
        }
        Ok(df)
    }
}

#[async_trait]
impl Store for ClickHouseStore {
    fn describe(&self) -> String {
        format!(
            "ClickHouse database {} at {} (user {})",
            self.cfg.database, self.cfg.url, self.cfg.user
        )
    }

    async fn append(&self, batch: &ObservationBatch) -> Result<AppendStats, StoreError> {
        let now = Utc::now().timestamp_micros();
        let mut snapshots =
            parquet::snapshots_frame(batch, now).map_err(polars_err("cannot build snapshots"))?;
        let mut daily =
            parquet::daily_frame(batch, now).map_err(polars_err("cannot build daily counts"))?;
        // Rows that ClickHouse cannot hold (e.g. a time before 1970) are a data error, not
        // an outage: refuse the batch here instead of spooling it forever.
        let (srows, drows) = observation_rows(&snapshots, &daily)?;
        let delivered = async {
            self.ready().await?;
            self.insert_rows(&srows, &drows).await
        }
        .await;
        match delivered {
            Ok(stats) => Ok(stats),
            Err(e) => {
                let dir = self.spool.root().display().to_string();
                self.spool
                    .append_frames(&mut snapshots, &mut daily)
                    .map_err(|spool| StoreError::SpoolFailed {
                        reason: e.to_string(),
                        spool: spool.to_string(),
                    })?;
                Err(StoreError::Spooled {
                    reason: e.to_string(),
                    snapshots: snapshots.height(),
                    daily: daily.height(),
                    dir,
                })
            }
        }
    }

    async fn scan_snapshots(&self) -> Result<LazyFrame, StoreError> {
        self.ready().await?;
        Ok(self.snapshots().await?.lazy())
    }

    async fn scan_daily(&self) -> Result<LazyFrame, StoreError> {
        self.ready().await?;
        Ok(self.daily().await?.lazy())
    }

    async fn write_weekly(&self, tables: &WeeklyTables) -> Result<(), StoreError> {
        self.ready().await?;
        let conv = |what: &str| polars_err(format!("cannot convert {what}"));
        let tag_rows = rows::tag_metrics_rows(&tables.tags).map_err(conv("weekly_tag_metrics"))?;
        let occ_rows = rows::occupation_metrics_rows(&tables.occupations)
            .map_err(conv("weekly_occupation_metrics"))?;
        let brand_rows =
            rows::brand_metrics_rows(&tables.brands).map_err(conv("weekly_brand_metrics"))?;
        let taxonomy =
            rows::occupation_tag_rows(&tables.occupation_tags).map_err(conv("occupation_tags"))?;
        for t in WEEKLY_TABLES {
            self.execute(
                "prepare the weekly tables",
                &format!("DROP TABLE IF EXISTS {{db}}.{t}__next"),
            )
            .await?;
            self.execute(
                "prepare the weekly tables",
                &format!("DROP TABLE IF EXISTS {{db}}.{t}__old"),
            )
            .await?;
            self.execute(
                "prepare the weekly tables",
                &format!("CREATE TABLE {{db}}.{t}__next AS {{db}}.{t}"),
            )
            .await?;
        }
        self.insert("weekly_tag_metrics__next", &tag_rows).await?;
        self.insert("weekly_occupation_metrics__next", &occ_rows)
            .await?;
        self.insert("weekly_brand_metrics__next", &brand_rows)
            .await?;
        self.insert("occupation_tags__next", &taxonomy).await?;
        // One RENAME swaps all four: SQL users never see tables from two different runs.
        let swap = WEEKLY_TABLES
            .iter()
            .map(|t| format!("{{db}}.{t} TO {{db}}.{t}__old, {{db}}.{t}__next TO {{db}}.{t}"))
            .collect::<Vec<_>>()
            .join(", ");
        self.execute("swap in the weekly tables", &format!("RENAME TABLE {swap}"))
            .await?;
        for t in WEEKLY_TABLES {
            self.execute(
                "drop the previous weekly tables",
                &format!("DROP TABLE IF EXISTS {{db}}.{t}__old"),
            )
            .await?;
        }
        Ok(())
    }

    async fn read_weekly(&self) -> Result<WeeklyTables, StoreError> {
        self.ready().await?;
        if self
            .count("SELECT count() FROM {db}.weekly_tag_metrics")
            .await?
            == 0
        {
            return Err(StoreError::NoWeeklyTables(self.describe()));
        }
        let conv = |what: &str| polars_err(format!("cannot build {what}"));
        // The transform's own row order, so both backends return identical frames.
        let tags: Vec<rows::TagMetricsRow> = self
            .fetch(
                "read weekly_tag_metrics",
                "SELECT ?fields FROM {db}.weekly_tag_metrics ORDER BY platform, metric, tag, week_start")
            .await?;
        let occ: Vec<rows::OccupationMetricsRow> = self
            .fetch(
                "read weekly_occupation_metrics",
                "SELECT ?fields FROM {db}.weekly_occupation_metrics ORDER BY platform, metric, occupation, week_start")
            .await?;
        let brands: Vec<rows::BrandMetricsRow> = self
            .fetch(
                "read weekly_brand_metrics",
                "SELECT ?fields FROM {db}.weekly_brand_metrics ORDER BY platform, metric, brand, occupation, week_start")
            .await?;
        let taxonomy: Vec<rows::OccupationTagRow> = self
            .fetch(
                "read occupation_tags",
                "SELECT ?fields FROM {db}.occupation_tags ORDER BY occupation, tag",
            )
            .await?;
        Ok(WeeklyTables {
            tags: rows::tag_metrics_frame(&tags).map_err(conv("weekly_tag_metrics"))?,
            occupations: rows::occupation_metrics_frame(&occ)
                .map_err(conv("weekly_occupation_metrics"))?,
            brands: rows::brand_metrics_frame(&brands).map_err(conv("weekly_brand_metrics"))?,
            occupation_tags: rows::occupation_tags_frame(&taxonomy)
                .map_err(conv("occupation_tags"))?,
        })
    }
}
