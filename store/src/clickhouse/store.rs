//! The [`Store`] implementation: appends (spooled on failure), cached observation reads,
//! and the weekly tables as one generation swapped in with a single `RENAME`.

use std::future::Future;

use async_trait::async_trait;
use chrono::Utc;
use polars::prelude::*;
use tagpulse_model::tables::{RUNS, RUN_SOURCES, WEEKLY_TABLES};
use tagpulse_model::{ObservationBatch, WeeklyTables};

use super::schema::weekly_swap;
use super::{observations, ClickHouseStore, ObservationCache};
use crate::parquet;
use crate::{polars_err, AppendStats, Store, StoreError};

/// Observation frames encoded for their INSERTs, and how many rows they hold.
pub(super) struct Encoded {
    snapshots: Vec<bytes::Bytes>,
    daily: Vec<bytes::Bytes>,
    stats: AppendStats,
}

impl ClickHouseStore {
    /// Runs schema DDL: `ON CLUSTER` DDL as [`ClickHouseStore::execute_ddl`] does (a node
    /// that is down runs it when back), else as any statement.
    async fn ddl(&self, cluster: bool, what: &str, sql: &str) -> Result<(), StoreError> {
        if cluster {
            self.execute_ddl(what, sql).await
        } else {
            self.execute(what, sql).await
        }
    }

    /// In cluster mode, `e` reworded when it says a whole shard did not answer (the
    /// server's "All connection tries failed" lists the replicas it tried): the shard's
    /// number and every replica of it, from `system.clusters`. Any other error as it is.
    async fn name_down_shard(&self, e: StoreError) -> StoreError {
        let (Some(cluster), StoreError::ClickHouse { url, what, message }) =
            (&self.cfg.cluster, &e)
        else {
            return e;
        };
        if !message.contains("All connection tries failed") {
            return e;
        }
        #[derive(clickhouse::Row, serde::Deserialize)]
        struct Replica {
            shard_num: u32,
            host_name: String,
            port: u16,
        }
        let replicas = self
            .server()
            .query("SELECT shard_num, host_name, port FROM system.clusters WHERE cluster = ? ORDER BY shard_num, replica_num")
            .bind(cluster.as_str())
            .fetch_all::<Replica>();
        let Ok(Ok(replicas)) = tokio::time::timeout(self.cfg.timeout, replicas).await else {
            return e;
        };
        let mut shards: Vec<(u32, Vec<String>)> = Vec::new();
        for r in replicas {
            let addr = format!("{}:{}", r.host_name, r.port);
            match shards.last_mut() {
                Some((n, list)) if *n == r.shard_num => list.push(addr),
                _ => shards.push((r.shard_num, vec![addr])),
            }
        }
        // The server names each replica it could not reach by its port.
        let down: Vec<String> = shards
            .iter()
            .filter(|(_, list)| {
                list.iter().all(|a| {
                    let port = a.rsplit(':').next().unwrap_or(a);
                    message.contains(&format!(":{port})"))
                })
            })
            .map(|(n, list)| format!("shard {n} ({})", list.join(", ")))
            .collect();
        if down.is_empty() {
            return e;
        }
        StoreError::ClickHouse {
            url: url.clone(),
            what: what.clone(),
            message: format!(
                "{} of cluster {cluster} did not answer: none of its replicas is reachable",
                down.join(" and ")
            ),
        }
    }

    /// `OPTIMIZE TABLE {db}.<table>_local FINAL` on every configured node.
    async fn optimize_each_node(&self, table: &str) -> Result<(), StoreError> {
        let sql = super::schema::for_database(
            &format!("OPTIMIZE TABLE {{db}}.{table}_local FINAL"),
            &self.cfg.database,
        );
        for (node, url) in self.nodes.iter().zip(self.cfg.nodes()) {
            let node = &node.server;
            // 18.16 answers an OPTIMIZE of an empty replicated table with "Unknown log
            // entry type": a node with no part of it has nothing to merge anyway.
            let parts = node
                .query(
                    "SELECT count() FROM system.parts WHERE database = ? AND table = ? AND active",
                )
                .bind(&self.cfg.database)
                .bind(format!("{table}_local"))
                .fetch_one::<u64>();
            if self
                .timed(&format!("count {table}'s parts on {url}"), parts)
                .await?
                == 0
            {
                continue;
            }
            self.timed(
                &format!("optimize {table} on {url}"),
                node.query(&sql).execute(),
            )
            .await?;
        }
        Ok(())
    }

    /// Encodes frames of the observation tables (an empty frame, of any schema, gives
    /// none) in batches of `batch_rows`.
    pub(super) fn encode_observations(
        &self,
        snapshots: &DataFrame,
        daily: &DataFrame,
    ) -> Result<Encoded, StoreError> {
        let batch = usize::try_from(self.cfg.batch_rows).unwrap_or(usize::MAX);
        Ok(Encoded {
            snapshots: observations::encode(false, snapshots, batch)?,
            daily: observations::encode(true, daily, batch)?,
            stats: AppendStats {
                snapshots: snapshots.height(),
                daily: daily.height(),
            },
        })
    }

    pub(super) async fn insert_encoded(&self, e: &Encoded) -> Result<AppendStats, StoreError> {
        // Dropped before writing: a failed insert may still have stored some rows.
        {
            let mut cache = self.cache.lock().expect("cache lock");
            cache.writes += 1;
            cache.snapshots = None;
            cache.daily = None;
        }
        for (daily, batches) in [(false, &e.snapshots), (true, &e.daily)] {
            for b in batches {
                self.send_rowbinary(observations::stored(daily).name, b.clone())
                    .await?;
            }
        }
        Ok(e.stats)
    }

    /// Every stored observation of one kind, deduplicated, in the model's schema.
    async fn read_observations(&self, daily: bool) -> Result<DataFrame, StoreError> {
        let def = observations::stored(daily);
        let df = self
            .fetch_frame(
                def,
                &format!("read {}", def.name),
                &observations::select_final(daily),
            )
            .await?;
        observations::to_model(df).map_err(polars_err(format!("cannot read {}", def.name)))
    }

    pub(super) async fn snapshots(&self) -> Result<DataFrame, StoreError> {
        self.cached(|c| &mut c.snapshots, self.read_observations(false))
            .await
    }

    pub(super) async fn daily(&self) -> Result<DataFrame, StoreError> {
        self.cached(|c| &mut c.daily, self.read_observations(true))
            .await
    }

    /// The cached frame `slot` picks, or `read`'s result, kept unless a write overlapped.
    pub(super) async fn cached(
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
        let encoded = self.encode_observations(&snapshots, &daily)?;
        let delivered = async {
            self.ready().await?;
            self.insert_encoded(&encoded).await
        }
        .await;
        match delivered {
            Ok(stats) => Ok(stats),
            Err(e) => {
                let e = self.name_down_shard(e).await;
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

    async fn snapshot_weeks(&self, max_gap_secs: i64) -> Result<Option<DataFrame>, StoreError> {
        self.ready().await?;
        Ok(Some(self.weeks(max_gap_secs).await?))
    }

    async fn scan_daily(&self) -> Result<LazyFrame, StoreError> {
        self.ready().await?;
        Ok(self.daily().await?.lazy())
    }

    async fn write_weekly(&self, tables: &WeeklyTables) -> Result<(), StoreError> {
        tables.check().map_err(StoreError::Schema)?;
        self.ready().await?;
        let swap = match &self.cfg.cluster {
            // Each generation its own ZooKeeper path: a replicated table keeps its path
            // through the RENAME, so the next one cannot reuse it.
            Some(cluster) => {
                super::cluster::weekly_swap(cluster, &format!("g{}", Utc::now().timestamp_millis()))
            }
            None => weekly_swap(),
        };
        let cluster = self.cfg.cluster.is_some();
        for sql in &swap.prepare {
            self.ddl(cluster, "prepare the weekly tables", sql).await?;
        }
        for (def, df) in tables.frames() {
            self.insert_table(def, "__next", df).await?;
        }
        // One RENAME swaps all four: SQL users never see tables from two different runs.
        self.ddl(cluster, "swap in the weekly tables", &swap.rename)
            .await?;
        for sql in &swap.cleanup {
            self.ddl(cluster, "drop the previous weekly tables", sql)
                .await?;
        }
        Ok(())
    }

    async fn compact(&self) -> Result<Vec<crate::Compaction>, StoreError> {
        self.ready().await?;
        let mut out = Vec::new();
        for daily in [false, true] {
            let table = observations::stored(daily).name;
            let count = format!("SELECT count() FROM {{db}}.{table}");
            let rows_before = self.count(&count).await?;
            match &self.cfg.cluster {
                // FINAL merges every part of each partition: duplicates of an identity go.
                None => {
                    self.execute("optimize", &format!("OPTIMIZE TABLE {{db}}.{table} FINAL"))
                        .await?
                }
                // 18.16 refuses `OPTIMIZE … ON CLUSTER … FINAL` on replicated tables
                // ("Unknown log entry type"): each node merges its local table, and a
                // replica that merged first hands its result to the other.
                Some(_) => self.optimize_each_node(table).await?,
            }
            out.push(crate::Compaction {
                table,
                parts: None,
                rows_before,
                rows_after: self.count(&count).await?,
            });
        }
        self.cache.lock().expect("cache lock").writes += 1;
        Ok(out)
    }

    async fn record_run(&self, runs: &DataFrame, sources: &DataFrame) -> Result<(), StoreError> {
        self.ready().await?;
        self.insert_table(&RUNS, "", runs).await?;
        self.insert_table(&RUN_SOURCES, "", sources).await
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
        // The transform's own row order (each table's sort key), so both backends return
        // identical frames.
        let mut frames = Vec::with_capacity(WEEKLY_TABLES.len());
        for def in WEEKLY_TABLES {
            frames.push(self.fetch_table(def).await?);
        }
        let frames: [DataFrame; 4] = frames.try_into().expect("four weekly tables");
        Ok(WeeklyTables::from_frames(frames))
    }
}
