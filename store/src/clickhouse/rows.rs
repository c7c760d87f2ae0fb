//! Row types of the observation tables and `schema_migrations`, and their conversion to
//! and from polars frames (the weekly tables need none: see `codec`).
//!
//! Rows travel as plain RowBinary (the only binary format ClickHouse 18.16 and the
//! `clickhouse` crate share with validation off), so each struct lists its columns in
//! the order its `SELECT ?fields`/`INSERT` names them; a test checks them against the
//! model's definitions. Frames are built with exactly the dtypes the Parquet backend
//! stores, so the two backends give equal tables.

use chrono::{DateTime, NaiveDate, Utc};
use clickhouse::Row;
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use tagpulse_model::{date_from_days, days_from_date};

use crate::parquet::frames::ObsColumns;

/// A row of `snapshots`.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub(super) struct SnapshotRow {
    pub platform: String,
    pub tag: String,
    pub metric: String,
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    pub observed_at: DateTime<Utc>,
    pub value: u64,
    pub source: String,
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    pub ingested_at: DateTime<Utc>,
    pub ingested_us: u64,
}

/// A row of `daily_counts`.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub(super) struct DailyRow {
    pub platform: String,
    pub tag: String,
    pub metric: String,
    #[serde(with = "clickhouse::serde::chrono::date")]
    pub day: NaiveDate,
    pub value: u64,
    pub source: String,
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    pub ingested_at: DateTime<Utc>,
    pub ingested_us: u64,
}

/// A row of `schema_migrations`.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub(super) struct MigrationRow {
    pub version: u32,
    pub name: String,
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    pub applied_at: DateTime<Utc>,
}

/// Typed access to a frame's columns, with errors that name the column.
struct Cols<'a>(&'a DataFrame);

impl<'a> Cols<'a> {
    fn series(&self, name: &str) -> PolarsResult<&'a Series> {
        Ok(self.0.column(name)?.as_materialized_series())
    }

    fn str(&self, name: &str) -> PolarsResult<Vec<String>> {
        self.series(name)?
            .str()?
            .iter()
            .map(|v| {
                v.map(str::to_string)
                    .ok_or_else(|| null_in(name, "a text column"))
            })
            .collect()
    }

    fn date(&self, name: &str) -> PolarsResult<Vec<NaiveDate>> {
        self.series(name)?
            .date()?
            .physical()
            .iter()
            .map(|d| {
                d.and_then(date_from_days)
                    .ok_or_else(|| null_in(name, "a date"))
            })
            .collect()
    }

    /// A datetime column as whole seconds since the epoch.
    fn datetime(&self, name: &str) -> PolarsResult<Vec<DateTime<Utc>>> {
        let s = self.series(name)?;
        let DataType::Datetime(unit, _) = s.dtype() else {
            polars_bail!(SchemaMismatch: "column {name} is {}, not a datetime", s.dtype());
        };
        let per_s = match unit {
            TimeUnit::Milliseconds => 1_000,
            TimeUnit::Microseconds => 1_000_000,
            TimeUnit::Nanoseconds => 1_000_000_000,
        };
        s.datetime()?
            .physical()
            .iter()
            .map(|v| {
                let v = v.ok_or_else(|| null_in(name, "a time"))?;
                in_datetime_range(name, v.div_euclid(per_s))
            })
            .collect()
    }

    fn micros(&self, name: &str) -> PolarsResult<Vec<u64>> {
        let s = self
            .series(name)?
            .cast(&DataType::Datetime(TimeUnit::Microseconds, None))?;
        s.datetime()?
            .physical()
            .iter()
            .map(|v| {
                v.and_then(|v| u64::try_from(v).ok())
                    .ok_or_else(|| null_in(name, "a time after 1970"))
            })
            .collect()
    }

    fn u64(&self, name: &str) -> PolarsResult<Vec<u64>> {
        self.series(name)?
            .u64()?
            .iter()
            .map(|v| v.ok_or_else(|| null_in(name, "a value")))
            .collect()
    }
}

fn null_in(name: &str, what: &str) -> PolarsError {
    polars_err!(ComputeError: "column {name} holds a null (or out-of-range) value where ClickHouse needs {what}")
}

/// ClickHouse's `DateTime` holds 1970-01-01 .. 2106-02-07 in whole seconds.
fn in_datetime_range(name: &str, secs: i64) -> PolarsResult<DateTime<Utc>> {
    if !(0..=i64::from(u32::MAX)).contains(&secs) {
        polars_bail!(ComputeError: "column {name}: {secs} s since 1970 is outside ClickHouse's DateTime range (1970..2106)");
    }
    DateTime::from_timestamp(secs, 0)
        .ok_or_else(|| polars_err!(ComputeError: "column {name}: bad time {secs}"))
}

/// Frame (stored schema) -> `snapshots` rows.
pub(super) fn snapshot_rows(df: &DataFrame) -> PolarsResult<Vec<SnapshotRow>> {
    let c = Cols(df);
    let (platform, tag, metric, source) = (
        c.str("platform")?,
        c.str("tag")?,
        c.str("metric")?,
        c.str("source")?,
    );
    let (observed, value, ingested) = (
        c.datetime("observed_at")?,
        c.u64("value")?,
        c.micros("ingested_at")?,
    );
    let mut rows = Vec::with_capacity(df.height());
    for (i, ((((platform, tag), metric), source), observed_at)) in platform
        .into_iter()
        .zip(tag)
        .zip(metric)
        .zip(source)
        .zip(observed)
        .enumerate()
    {
        rows.push(SnapshotRow {
            platform,
            tag,
            metric,
            observed_at,
            value: value[i],
            source,
            ingested_at: in_datetime_range("ingested_at", (ingested[i] / 1_000_000) as i64)?,
            ingested_us: ingested[i],
        });
    }
    Ok(rows)
}

/// Frame (stored schema) -> `daily_counts` rows.
pub(super) fn daily_rows(df: &DataFrame) -> PolarsResult<Vec<DailyRow>> {
    let c = Cols(df);
    let (platform, tag, metric, source) = (
        c.str("platform")?,
        c.str("tag")?,
        c.str("metric")?,
        c.str("source")?,
    );
    let (day, value, ingested) = (c.date("day")?, c.u64("value")?, c.micros("ingested_at")?);
    let mut rows = Vec::with_capacity(df.height());
    for (i, (((platform, tag), metric), source)) in platform
        .into_iter()
        .zip(tag)
        .zip(metric)
        .zip(source)
        .enumerate()
    {
        rows.push(DailyRow {
            platform,
            tag,
            metric,
            day: day[i],
            value: value[i],
            source,
            ingested_at: in_datetime_range("ingested_at", (ingested[i] / 1_000_000) as i64)?,
            ingested_us: ingested[i],
        });
    }
    Ok(rows)
}

fn obs_columns<'r, R: 'r>(
    rows: &'r [R],
    get: impl Fn(&'r R) -> (&'r str, &'r str, &'r str, u64, &'r str, u64),
) -> ObsColumns<&'r str> {
    let mut c = ObsColumns::with_capacity(rows.len());
    for r in rows {
        let (platform, tag, metric, value, source, ingested_us) = get(r);
        c.platform.push(platform);
        c.tag.push(tag);
        c.metric.push(metric);
        c.value.push(value);
        c.source.push(source);
        c.ingested_us.push(ingested_us as i64);
    }
    c
}

/// `snapshots` rows -> frame with the stored schema.
pub(super) fn snapshots_frame(rows: &[SnapshotRow]) -> PolarsResult<DataFrame> {
    let time = Column::new(
        "observed_at".into(),
        rows.iter()
            .map(|r| r.observed_at.timestamp_millis())
            .collect::<Vec<_>>(),
    )
    .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))?;
    obs_columns(rows, |r| {
        (
            &r.platform,
            &r.tag,
            &r.metric,
            r.value,
            &r.source,
            r.ingested_us,
        )
    })
    .into_frame(time)
}

/// `daily_counts` rows -> frame with the stored schema.
pub(super) fn daily_frame(rows: &[DailyRow]) -> PolarsResult<DataFrame> {
    let time = Column::new(
        "day".into(),
        rows.iter()
            .map(|r| days_from_date(r.day))
            .collect::<Vec<_>>(),
    )
    .cast(&DataType::Date)?;
    obs_columns(rows, |r| {
        (
            &r.platform,
            &r.tag,
            &r.metric,
            r.value,
            &r.source,
            r.ingested_us,
        )
    })
    .into_frame(time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_round_trip_through_rows() {
        let df = df!(
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
        .unwrap();
        let rows = snapshot_rows(&df).unwrap();
        assert_eq!(rows[1].ingested_us, 1_700_100_000_123_457);
        assert_eq!(rows[1].ingested_at.timestamp(), 1_700_100_000);
        assert_eq!(rows[1].value, u64::MAX);
        let back = snapshots_frame(&rows).unwrap();
        assert!(back.equals_missing(&df), "{back}\n{df}");
    }

    #[test]
    fn times_outside_datetime_are_refused_with_the_column() {
        let df = df!(
            "platform" => ["tiktok"],
            "tag" => ["azubi"],
            "metric" => ["views"],
            "observed_at" => [-1_000i64],
            "value" => [5u64],
            "source" => ["s"],
            "ingested_at" => [1i64],
        )
        .unwrap()
        .lazy()
        .with_columns([
            col("observed_at").cast(DataType::Datetime(TimeUnit::Milliseconds, None)),
            col("ingested_at").cast(DataType::Datetime(TimeUnit::Microseconds, None)),
        ])
        .collect()
        .unwrap();
        let err = snapshot_rows(&df).unwrap_err().to_string();
        assert!(
            err.contains("observed_at") && err.contains("outside ClickHouse's DateTime range"),
            "{err}"
        );
    }

    #[test]
    fn observation_rows_match_the_table_definitions() {
        use clickhouse::Row;
        use tagpulse_model::tables::{DAILY_COUNTS, SNAPSHOTS};
        // The model's columns, plus the version column only ClickHouse keeps.
        for (def, names) in [
            (&SNAPSHOTS, SnapshotRow::COLUMN_NAMES),
            (&DAILY_COUNTS, DailyRow::COLUMN_NAMES),
        ] {
            let mut want = def.names();
            want.push("ingested_us");
            assert_eq!(names, want.as_slice(), "{}", def.name);
        }
        assert_eq!(
            MigrationRow::COLUMN_NAMES,
            ["version", "name", "applied_at"]
        );
    }
}
