//! The observation tables as ClickHouse stores them: the model's columns plus
//! `ingested_us`, the version `ReplacingMergeTree` keeps the last of (`ingested_at` is a
//! whole-second `DateTime` there). Frames travel through the codec like the weekly
//! tables, so no row struct repeats the model's columns.

use std::sync::LazyLock;

use polars::prelude::*;
use tagpulse_model::tables::{DAILY_COUNTS, SNAPSHOTS};
use tagpulse_model::{ColumnDef, ColumnType, TableDef};

use super::codec;
use crate::{polars_err, StoreError};

/// The version column only ClickHouse keeps.
const VERSION: ColumnDef = ColumnDef {
    name: "ingested_us",
    ty: ColumnType::U64,
    nullable: false,
    meaning: "ingested_at in microseconds: the version ReplacingMergeTree keeps the last of",
};

/// `def`'s columns followed by [`VERSION`].
fn with_version(def: &'static TableDef) -> TableDef {
    let mut columns = def.columns.to_vec();
    columns.push(VERSION);
    TableDef {
        columns: Box::leak(columns.into_boxed_slice()),
        ..*def
    }
}

/// `snapshots` and `daily_counts` as stored in ClickHouse.
static STORED: LazyLock<[TableDef; 2]> =
    LazyLock::new(|| [with_version(&SNAPSHOTS), with_version(&DAILY_COUNTS)]);

/// The ClickHouse layout of `snapshots` (`daily = false`) or `daily_counts`.
pub(super) fn stored(daily: bool) -> &'static TableDef {
    &STORED[usize::from(daily)]
}

/// An observation frame (the model's schema) as RowBinary batches of at most `batch_rows`
/// rows each, one INSERT apiece. A row ClickHouse cannot hold (a time before 1970) is an
/// error naming its column, before anything is sent.
pub(super) fn encode(
    daily: bool,
    df: &DataFrame,
    batch_rows: usize,
) -> Result<Vec<bytes::Bytes>, StoreError> {
    let def = stored(daily);
    let what = format!("cannot store {}", def.name);
    if df.height() == 0 {
        return Ok(Vec::new());
    }
    // Eager, not lazy: this runs on the async workers, where a lazy collect may block.
    let version = df
        .column("ingested_at")
        .and_then(|c| c.cast(&DataType::Datetime(TimeUnit::Microseconds, None)))
        .and_then(|c| c.to_physical_repr().strict_cast(&DataType::UInt64))
        .map_err(|_| {
            polars_err(what.clone())(polars_err!(ComputeError:
                "column ingested_at holds a null or a time before 1970, which ClickHouse cannot version"))
        })?;
    let mut df = df.clone();
    df.with_column(version.with_name(VERSION.name.into()))
        .map_err(polars_err(what.clone()))?;
    let batch_rows = batch_rows.max(1);
    (0..df.height())
        .step_by(batch_rows)
        .map(|at| {
            let part = df.slice(at as i64, batch_rows);
            codec::encode(def, &part)
                .map(bytes::Bytes::from)
                .map_err(polars_err(what.clone()))
        })
        .collect()
}

/// `SELECT` of every column of the stored layout, deduplicated (`FINAL`).
pub(super) fn select_final(daily: bool) -> String {
    let def = stored(daily);
    format!(
        "SELECT {} FROM {{db}}.{} FINAL",
        def.names().join(", "),
        def.name
    )
}

/// A decoded frame of the stored layout back in the model's schema: `ingested_at`
/// regains its microseconds from the version column.
pub(super) fn to_model(mut df: DataFrame) -> PolarsResult<DataFrame> {
    let micros = df
        .drop_in_place(VERSION.name)?
        .strict_cast(&DataType::Int64)?
        .cast(&DataType::Datetime(TimeUnit::Microseconds, None))?;
    df.with_column(micros.with_name("ingested_at".into()))?;
    Ok(df)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshots() -> DataFrame {
        df!(
            "platform" => ["tiktok", "tiktok"],
            "tag" => ["azubi", "it's \"quoted\" \\ ; DROP TABLE x"],
            "metric" => ["views", "views"],
            "observed_at" => [1_700_000_000_000i64, 1_700_003_600_000],
            "value" => [5u64, u64::MAX],
            "source" => ["s", "s"],
            "ingested_at" => [1_700_100_000_123_456i64, 1_700_100_000_123_457],
        )
        .unwrap()
        .lazy()
        .with_columns([
            col("observed_at").cast(DataType::Datetime(TimeUnit::Milliseconds, None)),
            col("ingested_at").cast(DataType::Datetime(TimeUnit::Microseconds, None)),
        ])
        .collect()
        .unwrap()
    }

    #[test]
    fn observations_round_trip_with_their_microseconds() {
        let df = snapshots();
        let batches = encode(false, &df, 1).unwrap();
        assert_eq!(batches.len(), 2, "one batch per row at batch_rows = 1");
        let bytes: Vec<u8> = batches.iter().flat_map(|b| b.iter().copied()).collect();
        let stored = codec::decode(stored(false), &bytes).unwrap();
        let version = stored.column("ingested_us").unwrap().u64().unwrap().get(1);
        assert_eq!(version, Some(1_700_100_000_123_457));
        let back = to_model(stored).unwrap();
        assert_eq!(SNAPSHOTS.check(&back), Ok(()));
        assert!(back.equals_missing(&df), "{back}\n{df}");
    }

    #[test]
    fn times_outside_datetime_are_refused_with_the_column() {
        let df = snapshots()
            .lazy()
            .with_column(
                lit(-1_000i64)
                    .cast(DataType::Datetime(TimeUnit::Milliseconds, None))
                    .alias("observed_at"),
            )
            .collect()
            .unwrap();
        let err = encode(false, &df, 10).unwrap_err().to_string();
        assert!(
            err.contains("observed_at") && err.contains("outside ClickHouse's DateTime range"),
            "{err}"
        );
    }

    #[test]
    fn the_stored_layout_is_the_models_plus_the_version() {
        for (daily, def) in [(false, &SNAPSHOTS), (true, &DAILY_COUNTS)] {
            let mut want = def.names();
            want.push("ingested_us");
            assert_eq!(stored(daily).names(), want);
            assert_eq!(stored(daily).name, def.name);
        }
        // Both reads are also run on a modern engine by scripts/check-modern-clickhouse,
        // which executes every literal of this folder that is a whole select.
        assert_eq!(
            select_final(false),
            "SELECT platform, tag, metric, observed_at, value, source, ingested_at, ingested_us FROM {db}.snapshots FINAL"
        );
        assert_eq!(
            select_final(true),
            "SELECT platform, tag, metric, day, value, source, ingested_at, ingested_us FROM {db}.daily_counts FINAL"
        );
    }
}
