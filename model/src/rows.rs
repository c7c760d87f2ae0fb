//! The weekly tables and the series summary as plain rows, pulled out of their frames
//! once, for every reader downstream of the store (the report, the alerts). A column
//! read here must be one its table defines ([`crate::tables`]), so a renamed or dropped
//! column fails loudly, naming the table.

use chrono::NaiveDate;
use polars::prelude::*;

use crate::date_from_days;
use crate::tables::{
    TableDef, WEEKLY_BRAND_METRICS, WEEKLY_OCCUPATION_METRICS, WEEKLY_TAG_METRICS,
};

/// A frame that does not hold the rows it should: which table, which column, why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RowError(String);

/// A row of `weekly_tag_metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct TagRow {
    /// Platform.
    pub platform: String,
    /// Tag.
    pub tag: String,
    /// Metric.
    pub metric: String,
    /// Monday of the week.
    pub week: NaiveDate,
    /// Counter value at the week's end.
    pub total_end: Option<f64>,
    /// Gained in the week.
    pub gained: Option<f64>,
    /// Observations in the week.
    pub observations: u32,
    /// Counter steps down in the week.
    pub decreases: u32,
    /// Daily coverage (daily counts only).
    pub coverage: Option<f64>,
    /// Growth and breakout signals.
    pub signals: Signals,
}

/// The growth and breakout columns shared by tag and occupation rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Signals {
    /// Week-over-week growth.
    pub wow_growth: Option<f64>,
    /// Growth of total_end.
    pub total_growth: Option<f64>,
    /// Four-week average of gained.
    pub avg4: Option<f64>,
    /// Momentum against the previous four weeks.
    pub momentum: Option<f64>,
    /// Robust z-score.
    pub z: Option<f64>,
    /// Median gained of the weeks before, the centre of `z` (the transform's).
    pub z_median: Option<f64>,
    /// Breakout flag.
    pub breakout: bool,
    /// The counter's rounding step in this week (`resolution`).
    pub resolution: Option<f64>,
    /// The change against the week before is no larger than `resolution`: neither a
    /// rise nor a fall (see [`crate::signal::within_rounding`]).
    pub within_rounding: bool,
}

/// A row of `weekly_occupation_metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct OccupationRow {
    /// Platform.
    pub platform: String,
    /// Occupation.
    pub occupation: String,
    /// Metric.
    pub metric: String,
    /// Monday of the week.
    pub week: NaiveDate,
    /// Sum of member total_end.
    pub total_end: Option<f64>,
    /// Sum of member gained.
    pub gained: Option<f64>,
    /// Member tags with a value.
    pub tags_reporting: u32,
    /// Member tags in the taxonomy.
    pub tags_total: u32,
    /// Share of voice.
    pub share: Option<f64>,
    /// Growth and breakout signals.
    pub signals: Signals,
}

/// A row of `weekly_brand_metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct BrandRow {
    /// Platform.
    pub platform: String,
    /// Brand.
    pub brand: String,
    /// Occupation compared with.
    pub occupation: String,
    /// Metric.
    pub metric: String,
    /// Monday of the week.
    pub week: NaiveDate,
    /// Brand gained.
    pub gained: Option<f64>,
    /// Brand gained / occupation gained.
    pub brand_share: Option<f64>,
}

/// A row of the series summary (data quality).
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRow {
    /// Platform.
    pub platform: String,
    /// Tag.
    pub tag: String,
    /// Metric.
    pub metric: String,
    /// "snapshots" or "daily".
    pub kind: String,
    /// First observation (epoch seconds).
    pub first_s: i64,
    /// Last observation (epoch seconds).
    pub last_s: i64,
    /// Observations stored.
    pub observations: u32,
    /// Longest gap between observations (seconds).
    pub longest_gap_s: i64,
    /// Gaps longer than max_gap.
    pub gaps_over_max: u32,
}

/// Where a frame's columns come from: a stored table (whose definition names every
/// column the report may read) or another frame the report is handed.
enum Source {
    Table(&'static TableDef),
    Frame(&'static str),
}

struct Cols<'a> {
    df: &'a DataFrame,
    source: Source,
}

impl<'a> Cols<'a> {
    fn table(df: &'a DataFrame, def: &'static TableDef) -> Self {
        Cols {
            df,
            source: Source::Table(def),
        }
    }

    fn get(&self, name: &str, dtype: &DataType) -> Result<Series, RowError> {
        let table = match self.source {
            Source::Table(def) => {
                if def.column(name).is_none() {
                    return Err(RowError(format!(
                        "{}: the report reads `{name}`, which the table does not define",
                        def.name
                    )));
                }
                def.name
            }
            Source::Frame(name) => name,
        };
        let c = self
            .df
            .column(name)
            .map_err(|_| RowError(format!("{table}: column `{name}` is missing")))?;
        c.as_materialized_series()
            .cast(dtype)
            .map_err(|e| RowError(format!("{table}: column `{name}`: {e}")))
    }

    fn str(&self, name: &str) -> Result<Vec<String>, RowError> {
        let s = self.get(name, &DataType::String)?;
        Ok(s.str()
            .expect("cast to string")
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect())
    }

    fn f64(&self, name: &str) -> Result<Vec<Option<f64>>, RowError> {
        let s = self.get(name, &DataType::Float64)?;
        Ok(s.f64()
            .expect("cast to f64")
            .iter()
            .map(|v| v.filter(|x| x.is_finite()))
            .collect())
    }

    fn i64(&self, name: &str) -> Result<Vec<i64>, RowError> {
        let s = self.get(name, &DataType::Int64)?;
        Ok(s.i64()
            .expect("cast to i64")
            .iter()
            .map(|v| v.unwrap_or(0))
            .collect())
    }

    fn u32(&self, name: &str) -> Result<Vec<u32>, RowError> {
        Ok(self.i64(name)?.into_iter().map(|v| v as u32).collect())
    }

    fn bool(&self, name: &str) -> Result<Vec<bool>, RowError> {
        let s = self.get(name, &DataType::Boolean)?;
        Ok(s.bool()
            .expect("cast to bool")
            .iter()
            .map(|v| v.unwrap_or(false))
            .collect())
    }

    /// The signal columns, and whether each row's change is within rounding; `series`
    /// holds the three columns naming each row's series, so the week before is found
    /// among the rows.
    fn signals(
        &self,
        series: [&[String]; 3],
        week: &[NaiveDate],
    ) -> Result<Vec<Signals>, RowError> {
        let gained = self.f64("gained")?;
        let resolution = self.f64("resolution")?;
        let key = |i: usize| series.map(|c| c[i].as_str());
        let by_week: std::collections::HashMap<([&str; 3], NaiveDate), Option<f64>> = (0..gained
            .len())
            .map(|i| ((key(i), week[i]), gained[i]))
            .collect();
        let (wow, tg, avg4, mom, z, z_median, br) = (
            self.f64("wow_growth")?,
            self.f64("total_growth")?,
            self.f64("avg4")?,
            self.f64("momentum")?,
            self.f64("z")?,
            self.f64("z_median")?,
            self.bool("breakout")?,
        );
        Ok((0..self.df.height())
            .map(|i| Signals {
                wow_growth: wow[i],
                total_growth: tg[i],
                avg4: avg4[i],
                momentum: mom[i],
                z: z[i],
                z_median: z_median[i],
                breakout: br[i],
                resolution: resolution[i],
                within_rounding: crate::signal::within_rounding(
                    gained[i],
                    by_week
                        .get(&(key(i), week[i] - chrono::Duration::weeks(1)))
                        .copied()
                        .flatten(),
                    resolution[i],
                ),
            })
            .collect())
    }

    fn date(&self, name: &str) -> Result<Vec<NaiveDate>, RowError> {
        let s = self.get(name, &DataType::Date)?;
        let phys = s.to_physical_repr();
        Ok(phys
            .i32()
            .expect("date is i32")
            .iter()
            .map(|d| d.and_then(date_from_days).unwrap_or_default())
            .collect())
    }
}

/// Rows of `weekly_tag_metrics`.
pub fn tag_rows(df: &DataFrame) -> Result<Vec<TagRow>, RowError> {
    let c = Cols::table(df, &WEEKLY_TAG_METRICS);
    let (platform, tag, metric, week) = (
        c.str("platform")?,
        c.str("tag")?,
        c.str("metric")?,
        c.date("week_start")?,
    );
    let (total_end, gained, observations, decreases) = (
        c.f64("total_end")?,
        c.f64("gained")?,
        c.u32("observations")?,
        c.u32("decreases")?,
    );
    let coverage = c.f64("coverage")?;
    let mut signals = c.signals([&platform, &tag, &metric], &week)?.into_iter();
    Ok((0..df.height())
        .map(|i| TagRow {
            platform: platform[i].clone(),
            tag: tag[i].clone(),
            metric: metric[i].clone(),
            week: week[i],
            total_end: total_end[i],
            gained: gained[i],
            observations: observations[i],
            decreases: decreases[i],
            coverage: coverage[i],
            signals: signals.next().expect("one per row"),
        })
        .collect())
}

/// Rows of `weekly_occupation_metrics`.
pub fn occupation_rows(df: &DataFrame) -> Result<Vec<OccupationRow>, RowError> {
    let c = Cols::table(df, &WEEKLY_OCCUPATION_METRICS);
    let (platform, occ, metric, week) = (
        c.str("platform")?,
        c.str("occupation")?,
        c.str("metric")?,
        c.date("week_start")?,
    );
    let (total_end, gained, rep, tot, share) = (
        c.f64("total_end")?,
        c.f64("gained")?,
        c.u32("tags_reporting")?,
        c.u32("tags_total")?,
        c.f64("share")?,
    );
    let mut signals = c.signals([&platform, &occ, &metric], &week)?.into_iter();
    Ok((0..df.height())
        .map(|i| OccupationRow {
            platform: platform[i].clone(),
            occupation: occ[i].clone(),
            metric: metric[i].clone(),
            week: week[i],
            total_end: total_end[i],
            gained: gained[i],
            tags_reporting: rep[i],
            tags_total: tot[i],
            share: share[i],
            signals: signals.next().expect("one per row"),
        })
        .collect())
}

/// Rows of `weekly_brand_metrics`.
pub fn brand_rows(df: &DataFrame) -> Result<Vec<BrandRow>, RowError> {
    if df.height() == 0 {
        return Ok(Vec::new());
    }
    let c = Cols::table(df, &WEEKLY_BRAND_METRICS);
    let (platform, brand, occ, metric, week, gained, share) = (
        c.str("platform")?,
        c.str("brand")?,
        c.str("occupation")?,
        c.str("metric")?,
        c.date("week_start")?,
        c.f64("gained")?,
        c.f64("brand_share")?,
    );
    Ok((0..df.height())
        .map(|i| BrandRow {
            platform: platform[i].clone(),
            brand: brand[i].clone(),
            occupation: occ[i].clone(),
            metric: metric[i].clone(),
            week: week[i],
            gained: gained[i],
            brand_share: share[i],
        })
        .collect())
}

/// Rows of the series summary.
pub fn series_rows(df: &DataFrame) -> Result<Vec<SeriesRow>, RowError> {
    let c = Cols {
        df,
        source: Source::Frame("series summary"),
    };
    let (platform, tag, metric, kind) = (
        c.str("platform")?,
        c.str("tag")?,
        c.str("metric")?,
        c.str("kind")?,
    );
    let (first, last, obs, longest, over) = (
        c.i64("first_s")?,
        c.i64("last_s")?,
        c.u32("observations")?,
        c.i64("longest_gap_s")?,
        c.u32("gaps_over_max")?,
    );
    Ok((0..df.height())
        .map(|i| SeriesRow {
            platform: platform[i].clone(),
            tag: tag[i].clone(),
            metric: metric[i].clone(),
            kind: kind[i].clone(),
            first_s: first[i],
            last_s: last[i],
            observations: obs[i],
            longest_gap_s: longest[i],
            gaps_over_max: over[i],
        })
        .collect())
}
