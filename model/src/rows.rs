//! The weekly tables and the series summary as plain rows, pulled out of their frames
//! once, for every reader downstream of the store (the report, the alerts). A column
//! read here must be one its table defines ([`crate::tables`]), so a renamed or dropped
//! column fails loudly, naming the table.

use chrono::NaiveDate;
use polars::prelude::*;

use crate::frame::Columns;
use crate::tables::{WEEKLY_BRAND_METRICS, WEEKLY_OCCUPATION_METRICS, WEEKLY_TAG_METRICS};

/// A frame that does not hold the rows it should: which table, which column, why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RowError(pub(crate) String);

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

/// The signal columns, and whether each row's change is within rounding; `series`
/// holds the three columns naming each row's series, so the week before is found
/// among the rows.
fn signals(
    c: &Columns,
    series: [&[String]; 3],
    week: &[NaiveDate],
) -> Result<Vec<Signals>, RowError> {
    let gained = c.f64("gained")?;
    let resolution = c.f64("resolution")?;
    let key = |i: usize| series.map(|c| c[i].as_str());
    let by_week: std::collections::HashMap<([&str; 3], NaiveDate), Option<f64>> = (0..gained.len())
        .map(|i| ((key(i), week[i]), gained[i]))
        .collect();
    let (wow, tg, avg4, mom, z, z_median, br) = (
        c.f64("wow_growth")?,
        c.f64("total_growth")?,
        c.f64("avg4")?,
        c.f64("momentum")?,
        c.f64("z")?,
        c.f64("z_median")?,
        c.bool("breakout")?,
    );
    Ok((0..c.height())
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

/// Rows of `weekly_tag_metrics`.
pub fn tag_rows(df: &DataFrame) -> Result<Vec<TagRow>, RowError> {
    let c = Columns::table(df, &WEEKLY_TAG_METRICS);
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
    let mut signals = signals(&c, [&platform, &tag, &metric], &week)?.into_iter();
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
    let c = Columns::table(df, &WEEKLY_OCCUPATION_METRICS);
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
    let mut signals = signals(&c, [&platform, &occ, &metric], &week)?.into_iter();
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
    let c = Columns::table(df, &WEEKLY_BRAND_METRICS);
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
    let c = Columns::frame(df, "series summary");
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
