//! The ClickHouse backend: the shared store a team (and its SQL users) works from.
//!
//! Observations go to `snapshots` and `daily_counts`, ReplacingMergeTree tables keyed by
//! the spec's identity with `ingested_us` as version, and are read back with `FINAL`: a
//! re-run, an overlapping import or a spool delivered twice never double-counts. The weekly
//! tables are written to `<table>__next` (created from their `tagpulse-model` definition)
//! and swapped in with one `RENAME`, so readers see the old tables or the new ones, never a
//! half-written mix.
//!
//! A batch that cannot be delivered (server down, timeout, refused insert) goes to a local
//! spool, a Parquet lake under `data_dir/clickhouse-spool/<database>`, and is delivered,
//! part by part, by the first later operation that reaches the server; a part is removed
//! only after its insert has been acknowledged.
//!
//! Files: `client` (requests with timeouts), `codec` (RowBinary from the model),
//! `migrations` + `schema` (DDL, `migrate`, `status`), `observations` (their
//! ClickHouse layout),
//! `spool`, `transfer` (Parquet lake in and out), `store` (the [`Store`] impl);
//! `mock_tests` checks their request sequences against the crate's mock server.
//!
//! [`Store`]: crate::Store

mod client;
pub mod cluster;
pub mod codec;
mod http;
mod migrations;
mod observations;
pub mod schema;
mod spool;
mod store;
mod transfer;
mod weeks;

#[cfg(test)]
mod mock_tests;

use std::path::{Path, PathBuf};

use clickhouse::Client;
use polars::prelude::*;
use tagpulse_config::{ClickHouseConfig, CLICKHOUSE_PASSWORD_ENV};
use tokio::sync::OnceCell;

use crate::parquet::ParquetStore;
use crate::StoreError;

pub use migrations::{DbStatus, MigrateReport};
pub use transfer::TransferStats;

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
        if cfg.cluster.is_some() {
            // An insert into a Distributed table returns once every shard has stored its
            // rows, not when they are queued on the node that took it.
            server = server.with_setting("insert_distributed_sync", "1");
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
}
