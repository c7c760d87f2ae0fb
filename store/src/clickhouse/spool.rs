//! The local spool: batches the server did not take wait here as Parquet parts.

use polars::prelude::*;

use super::ClickHouseStore;
use crate::parquet::read_parquet;
use crate::{AppendStats, StoreError};

impl ClickHouseStore {
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
}
