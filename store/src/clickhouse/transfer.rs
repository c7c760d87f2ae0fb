//! Moving data between ClickHouse and a Parquet lake (`db export`, `db import-parquet`).

use std::path::Path;

use polars::prelude::*;

use super::ClickHouseStore;
use crate::parquet::ParquetStore;
use crate::{polars_err, AppendStats, Store, StoreError};

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

impl ClickHouseStore {
    /// Inserts frames with the stored observation schema (keeping their `ingested_at`).
    pub async fn insert_frames(
        &self,
        snapshots: &DataFrame,
        daily: &DataFrame,
    ) -> Result<AppendStats, StoreError> {
        let encoded = self.encode_observations(snapshots, daily)?;
        self.insert_encoded(&encoded).await
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
}
