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

/// One node's clients.
struct Node {
    /// Bound to the database.
    client: Client,
    /// Not bound to a database: creates it.
    server: Client,
}

/// The ClickHouse store configured by `[storage.clickhouse]`.
pub struct ClickHouseStore {
    /// Every configured node (`urls`, else the one `url`), in the order they are tried.
    nodes: Vec<Node>,
    /// The node this process talks to: the first that answered (see `ready`).
    active: std::sync::atomic::AtomicUsize,
    /// Whether a configured node did not answer when this process looked.
    down: std::sync::atomic::AtomicBool,
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
        let nodes = cfg
            .nodes()
            .into_iter()
            .map(|url| {
                let server = node_client(cfg, url);
                Node {
                    client: server.clone().with_database(&cfg.database),
                    server,
                }
            })
            .collect();
        let spool = ParquetStore::open(&Self::spool_dir(data_dir, &cfg.database))?;
        Ok(ClickHouseStore {
            nodes,
            active: Default::default(),
            down: Default::default(),
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

    /// The active node's client, bound to the database.
    fn client(&self) -> &Client {
        &self.nodes[self.active.load(std::sync::atomic::Ordering::Relaxed)].client
    }

    /// The active node's client, not bound to a database.
    fn server(&self) -> &Client {
        &self.nodes[self.active.load(std::sync::atomic::Ordering::Relaxed)].server
    }

    /// Whether a configured node did not answer when this process looked (`pick_node`).
    fn nodes_down(&self) -> bool {
        self.down.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The active node's URL.
    fn url(&self) -> &str {
        self.cfg.nodes()[self.active.load(std::sync::atomic::Ordering::Relaxed)]
    }

    /// Makes the first node that answers, in the configured order, the one this process
    /// talks to (`migrate` and `status` start with it); the error names every node when
    /// none does. A node that fails later in the run fails that operation (an append is
    /// spooled) and the next process starts over from the first node.
    pub(super) async fn pick_node(&self) -> Result<(), StoreError> {
        // One node: nothing to choose, and its first request says if it is down.
        if self.nodes.len() < 2 {
            return Ok(());
        }
        let mut failures = Vec::new();
        for (i, node) in self.nodes.iter().enumerate() {
            self.active.store(i, std::sync::atomic::Ordering::Relaxed);
            match self
                .timed("connect", node.server.query("SELECT 1").fetch_one::<u8>())
                .await
            {
                Ok(_) => {
                    if i > 0 {
                        let each: Vec<String> = failures.iter().map(ToString::to_string).collect();
                        tracing::warn!("{}; using {}", each.join("; "), self.url());
                    }
                    // The others are asked too: `ON CLUSTER` DDL waits less for a node
                    // that is down (see `execute_ddl`).
                    let mut down = i > 0;
                    for other in &self.nodes[i + 1..] {
                        let ping = other.server.query("SELECT 1").fetch_one::<u8>();
                        let answered =
                            tokio::time::timeout(std::time::Duration::from_secs(2), ping)
                                .await
                                .is_ok_and(|r| r.is_ok());
                        down |= !answered;
                    }
                    self.down.store(down, std::sync::atomic::Ordering::Relaxed);
                    return Ok(());
                }
                Err(e) => failures.push(e),
            }
        }
        self.active.store(0, std::sync::atomic::Ordering::Relaxed);
        if failures.len() == 1 {
            return Err(failures.remove(0));
        }
        let each: Vec<String> = failures.iter().map(ToString::to_string).collect();
        Err(StoreError::ClickHouse {
            url: self.cfg.nodes().join(", "),
            what: "connect to any node".into(),
            message: each.join("; "),
        })
    }

    /// Node chosen, schema current and spool delivered; done once per process, retried
    /// after failure.
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

/// A client of the node at `url` with `cfg`'s user, password and settings.
fn node_client(cfg: &ClickHouseConfig, url: &str) -> Client {
    let mut client = http::client(url)
        .with_url(url)
        .with_user(&cfg.user)
        // Plain RowBinary: the validating default needs settings ClickHouse 18.16 lacks.
        .with_validation(false);
    if let Ok(password) = std::env::var(CLICKHOUSE_PASSWORD_ENV) {
        client = client.with_password(password);
    }
    if cfg.cluster.is_some() {
        // An insert into a Distributed table returns once every shard has stored its
        // rows, not when they are queued on the node that took it.
        client = client.with_setting("insert_distributed_sync", "1");
    }
    client
}
