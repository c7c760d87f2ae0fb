//! Row types of the ClickHouse tables and their conversion to and from polars frames.
//!
//! Rows travel as plain RowBinary (the only binary format ClickHouse 18.16 and the
//! `clickhouse` crate share with validation off), so each struct lists its columns in
//! the order its `SELECT ?fields`/`INSERT` names them, with the type of the DDL in
//! `schema.rs`. Frames are built with exactly the dtypes the Parquet backend stores, so
//! the two backends give equal tables.

use chrono::{DateTime, NaiveDate, Utc};
use clickhouse::Row;
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use tagpulse_transform::{date_from_days, days_from_date, SIGNAL_COLUMNS};

use crate::parquet::ObsColumns;

/// A row of `snapshots`.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct SnapshotRow {
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
pub struct DailyRow {
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

/// A row of `weekly_tag_metrics`.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct TagMetricsRow {
    pub platform: String,
    pub tag: String,
    pub metric: String,
    #[serde(with = "clickhouse::serde::chrono::date")]
    pub week_start: NaiveDate,
    pub total_end: Option<f64>,
    pub gained: Option<f64>,
    pub observations: u32,
    pub decreases: u32,
    pub coverage: Option<f64>,
    pub wow_growth: Option<f64>,
    pub total_growth: Option<f64>,
    pub avg4: Option<f64>,
    pub momentum: Option<f64>,
    pub z: Option<f64>,
    pub breakout: u8,
}

/// A row of `weekly_occupation_metrics`.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct OccupationMetricsRow {
    pub platform: String,
    pub occupation: String,
    pub metric: String,
    #[serde(with = "clickhouse::serde::chrono::date")]
    pub week_start: NaiveDate,
    pub total_end: Option<f64>,
    pub gained: Option<f64>,
    pub tags_reporting: u32,
    pub tags_total: u32,
    pub share: Option<f64>,
    pub wow_growth: Option<f64>,
    pub total_growth: Option<f64>,
    pub avg4: Option<f64>,
    pub momentum: Option<f64>,
    pub z: Option<f64>,
    pub breakout: u8,
}

/// A row of `weekly_brand_metrics`.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct BrandMetricsRow {
    pub platform: String,
    pub brand: String,
    pub occupation: String,
    pub metric: String,
    #[serde(with = "clickhouse::serde::chrono::date")]
    pub week_start: NaiveDate,
    pub gained: Option<f64>,
    pub brand_share: Option<f64>,
}

/// A row of `occupation_tags`.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct OccupationTagRow {
    pub occupation: String,
    pub tag: String,
}

/// A row of `schema_migrations`.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct MigrationRow {
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

    fn f64(&self, name: &str) -> PolarsResult<Vec<Option<f64>>> {
        let s = self.series(name)?.cast(&DataType::Float64)?;
        Ok(s.f64()?.iter().collect())
    }

    fn u32(&self, name: &str) -> PolarsResult<Vec<u32>> {
        let s = self.series(name)?.cast(&DataType::UInt32)?;
        s.u32()?
            .iter()
            .map(|v| v.ok_or_else(|| null_in(name, "a count")))
            .collect()
    }

    fn flag(&self, name: &str) -> PolarsResult<Vec<u8>> {
        Ok(self
            .series(name)?
            .bool()?
            .iter()
            .map(|v| u8::from(v.unwrap_or(false)))
            .collect())
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
pub fn snapshot_rows(df: &DataFrame) -> PolarsResult<Vec<SnapshotRow>> {
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
pub fn daily_rows(df: &DataFrame) -> PolarsResult<Vec<DailyRow>> {
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
pub fn snapshots_frame(rows: &[SnapshotRow]) -> PolarsResult<DataFrame> {
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
pub fn daily_frame(rows: &[DailyRow]) -> PolarsResult<DataFrame> {
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

fn str_col<R>(name: &str, rows: &[R], f: impl Fn(&R) -> &str) -> Column {
    Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
}

fn f64_col<R>(name: &str, rows: &[R], f: impl Fn(&R) -> Option<f64>) -> Column {
    Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
}

fn u32_col<R>(name: &str, rows: &[R], f: impl Fn(&R) -> u32) -> Column {
    Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
}

fn flag_col<R>(name: &str, rows: &[R], f: impl Fn(&R) -> u8) -> Column {
    Column::new(
        name.into(),
        rows.iter().map(|r| f(r) != 0).collect::<Vec<_>>(),
    )
}

fn date_col<R>(name: &str, rows: &[R], f: impl Fn(&R) -> NaiveDate) -> PolarsResult<Column> {
    Column::new(
        name.into(),
        rows.iter()
            .map(|r| days_from_date(f(r)))
            .collect::<Vec<_>>(),
    )
    .cast(&DataType::Date)
}

/// The signal columns shared by the tag and occupation tables ([`SIGNAL_COLUMNS`]).
struct Signals {
    /// wow_growth, total_growth, avg4, momentum, z.
    values: [Vec<Option<f64>>; 5],
    breakout: Vec<u8>,
}

impl Signals {
    fn read(c: &Cols) -> PolarsResult<Signals> {
        let [a, b, c2, d, e, flag] = SIGNAL_COLUMNS;
        Ok(Signals {
            values: [c.f64(a)?, c.f64(b)?, c.f64(c2)?, c.f64(d)?, c.f64(e)?],
            breakout: c.flag(flag)?,
        })
    }

    fn at(&self, i: usize) -> ([Option<f64>; 5], u8) {
        (self.values.each_ref().map(|v| v[i]), self.breakout[i])
    }
}

/// The signal columns of `rows`, named and typed as the transform makes them.
fn signal_columns<R>(rows: &[R], get: impl Fn(&R) -> ([Option<f64>; 5], u8)) -> Vec<Column> {
    let mut out: Vec<Column> = (0..5)
        .map(|k| f64_col(SIGNAL_COLUMNS[k], rows, |r| get(r).0[k]))
        .collect();
    out.push(flag_col(SIGNAL_COLUMNS[5], rows, |r| get(r).1));
    out
}

/// Frame -> `weekly_tag_metrics` rows.
pub fn tag_metrics_rows(df: &DataFrame) -> PolarsResult<Vec<TagMetricsRow>> {
    let c = Cols(df);
    let (platform, tag, metric) = (c.str("platform")?, c.str("tag")?, c.str("metric")?);
    let week = c.date("week_start")?;
    let (total_end, gained, coverage) = (c.f64("total_end")?, c.f64("gained")?, c.f64("coverage")?);
    let (observations, decreases) = (c.u32("observations")?, c.u32("decreases")?);
    let signals = Signals::read(&c)?;
    Ok(platform
        .into_iter()
        .zip(tag)
        .zip(metric)
        .enumerate()
        .map(|(i, ((platform, tag), metric))| {
            let ([wow_growth, total_growth, avg4, momentum, z], breakout) = signals.at(i);
            TagMetricsRow {
                platform,
                tag,
                metric,
                week_start: week[i],
                total_end: total_end[i],
                gained: gained[i],
                observations: observations[i],
                decreases: decreases[i],
                coverage: coverage[i],
                wow_growth,
                total_growth,
                avg4,
                momentum,
                z,
                breakout,
            }
        })
        .collect())
}

/// `weekly_tag_metrics` rows -> frame, as the transform builds it.
pub fn tag_metrics_frame(rows: &[TagMetricsRow]) -> PolarsResult<DataFrame> {
    let mut columns = vec![
        str_col("platform", rows, |r| &r.platform),
        str_col("tag", rows, |r| &r.tag),
        str_col("metric", rows, |r| &r.metric),
        date_col("week_start", rows, |r| r.week_start)?,
        f64_col("total_end", rows, |r| r.total_end),
        f64_col("gained", rows, |r| r.gained),
        u32_col("observations", rows, |r| r.observations),
        u32_col("decreases", rows, |r| r.decreases),
        f64_col("coverage", rows, |r| r.coverage),
    ];
    columns.extend(signal_columns(rows, |r| {
        (
            [r.wow_growth, r.total_growth, r.avg4, r.momentum, r.z],
            r.breakout,
        )
    }));
    DataFrame::new_infer_height(columns)
}

/// Frame -> `weekly_occupation_metrics` rows.
pub fn occupation_metrics_rows(df: &DataFrame) -> PolarsResult<Vec<OccupationMetricsRow>> {
    let c = Cols(df);
    let (platform, occupation, metric) =
        (c.str("platform")?, c.str("occupation")?, c.str("metric")?);
    let week = c.date("week_start")?;
    let (total_end, gained, share) = (c.f64("total_end")?, c.f64("gained")?, c.f64("share")?);
    let (reporting, total) = (c.u32("tags_reporting")?, c.u32("tags_total")?);
    let (wow, tg, avg4, momentum, z) = (
        c.f64("wow_growth")?,
        c.f64("total_growth")?,
        c.f64("avg4")?,
        c.f64("momentum")?,
        c.f64("z")?,
    );
    let breakout = c.flag("breakout")?;
    Ok(platform
        .into_iter()
        .zip(occupation)
        .zip(metric)
        .enumerate()
        .map(
            |(i, ((platform, occupation), metric))| OccupationMetricsRow {
                platform,
                occupation,
                metric,
                week_start: week[i],
                total_end: total_end[i],
                gained: gained[i],
                tags_reporting: reporting[i],
                tags_total: total[i],
                share: share[i],
                wow_growth: wow[i],
                total_growth: tg[i],
                avg4: avg4[i],
                momentum: momentum[i],
                z: z[i],
                breakout: breakout[i],
            },
        )
        .collect())
}

/// `weekly_occupation_metrics` rows -> frame, as the transform builds it.
pub fn occupation_metrics_frame(rows: &[OccupationMetricsRow]) -> PolarsResult<DataFrame> {
    let mut columns = vec![
        str_col("platform", rows, |r| &r.platform),
        str_col("occupation", rows, |r| &r.occupation),
        str_col("metric", rows, |r| &r.metric),
        date_col("week_start", rows, |r| r.week_start)?,
        f64_col("total_end", rows, |r| r.total_end),
        f64_col("gained", rows, |r| r.gained),
        u32_col("tags_reporting", rows, |r| r.tags_reporting),
        u32_col("tags_total", rows, |r| r.tags_total),
        f64_col("share", rows, |r| r.share),
    ];
    columns.extend(signal_columns(rows, |r| {
        (
            [r.wow_growth, r.total_growth, r.avg4, r.momentum, r.z],
            r.breakout,
        )
    }));
    DataFrame::new_infer_height(columns)
}

/// Frame -> `weekly_brand_metrics` rows.
pub fn brand_metrics_rows(df: &DataFrame) -> PolarsResult<Vec<BrandMetricsRow>> {
    let c = Cols(df);
    let (platform, brand, occupation, metric) = (
        c.str("platform")?,
        c.str("brand")?,
        c.str("occupation")?,
        c.str("metric")?,
    );
    let week = c.date("week_start")?;
    let (gained, share) = (c.f64("gained")?, c.f64("brand_share")?);
    Ok(platform
        .into_iter()
        .zip(brand)
        .zip(occupation)
        .zip(metric)
        .enumerate()
        .map(
            |(i, (((platform, brand), occupation), metric))| BrandMetricsRow {
                platform,
                brand,
                occupation,
                metric,
                week_start: week[i],
                gained: gained[i],
                brand_share: share[i],
            },
        )
        .collect())
}

/// `weekly_brand_metrics` rows -> frame, as the transform builds it.
pub fn brand_metrics_frame(rows: &[BrandMetricsRow]) -> PolarsResult<DataFrame> {
    DataFrame::new_infer_height(vec![
        str_col("platform", rows, |r| &r.platform),
        str_col("brand", rows, |r| &r.brand),
        str_col("occupation", rows, |r| &r.occupation),
        str_col("metric", rows, |r| &r.metric),
        date_col("week_start", rows, |r| r.week_start)?,
        f64_col("gained", rows, |r| r.gained),
        f64_col("brand_share", rows, |r| r.brand_share),
    ])
}

/// Frame -> `occupation_tags` rows.
pub fn occupation_tag_rows(df: &DataFrame) -> PolarsResult<Vec<OccupationTagRow>> {
    if df.width() == 0 {
        return Ok(Vec::new());
    }
    let c = Cols(df);
    Ok(c.str("occupation")?
        .into_iter()
        .zip(c.str("tag")?)
        .map(|(occupation, tag)| OccupationTagRow { occupation, tag })
        .collect())
}

/// `occupation_tags` rows -> frame.
pub fn occupation_tags_frame(rows: &[OccupationTagRow]) -> PolarsResult<DataFrame> {
    DataFrame::new_infer_height(vec![
        str_col("occupation", rows, |r| &r.occupation),
        str_col("tag", rows, |r| &r.tag),
    ])
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
    fn weekly_rows_round_trip_with_nulls() {
        let df = df!(
            "platform" => ["tiktok", "tiktok"],
            "occupation" => ["Nursing", "Care \"O'Brien\""],
            "metric" => ["views", "views"],
            "week_start" => [20_000i32, 20_007],
            "total_end" => [Some(1.5), None],
            "gained" => [Some(0.1 + 0.2), None],
            "tags_reporting" => [3u32, 0],
            "tags_total" => [5u32, 5],
            "share" => [Some(1.0 / 3.0), None],
            "wow_growth" => [None, Some(-0.25)],
            "total_growth" => [Some(f64::MIN_POSITIVE), None],
            "avg4" => [None::<f64>, None],
            "momentum" => [Some(2.0), None],
            "z" => [Some(3.5), None],
            "breakout" => [true, false],
        )
        .unwrap()
        .lazy()
        .with_column(col("week_start").cast(DataType::Date))
        .collect()
        .unwrap();
        let rows = occupation_metrics_rows(&df).unwrap();
        assert_eq!(rows[0].breakout, 1);
        assert_eq!(rows[0].gained, Some(0.1 + 0.2));
        let back = occupation_metrics_frame(&rows).unwrap();
        assert!(back.equals_missing(&df), "{back}\n{df}");
    }
}
