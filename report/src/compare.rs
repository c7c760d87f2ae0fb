//! `tagpulse compare`: up to five tags of one platform and metric side by side, as
//! Google Trends compares terms: their weekly gained, and the same indexed to 100 at
//! the first week all of them have, in two charts (SVG and PNG) and one CSV.

use std::path::PathBuf;

use chrono::{Duration, NaiveDate};

use crate::charts::{self, LineChart, PALETTE};
use crate::format::platform_name;
use crate::i18n::{fill, Language, Locale};
use crate::ReportError;
use tagpulse_model::rows::tag_rows;
use tagpulse_model::WeeklyTables;

/// Tags at most in one comparison: as many as the palette tells apart.
pub const MAX_TAGS: usize = PALETTE.len();

/// What to compare.
#[derive(Debug, Clone)]
pub struct CompareInput<'a> {
    /// The weekly tables.
    pub tables: &'a WeeklyTables,
    /// The tags, normalised, one to [`MAX_TAGS`].
    pub tags: Vec<String>,
    /// Their platform and metric (never mixed).
    pub platform: String,
    /// The metric.
    pub metric: String,
    /// Weeks back from the newest week with data.
    pub weeks: i64,
    /// Language of the labels and numbers.
    pub language: Language,
}

/// A comparison that cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompareError {
    /// No tag, or more than the charts tell apart.
    #[error("compare takes 1 to {MAX_TAGS} tags, not {0}")]
    Count(usize),
    /// A tag has no weekly row of this platform and metric.
    #[error("#{tag} has no weekly figures for {platform} {metric}: check the tag, or give --platform and --metric")]
    NoData {
        /// The tag.
        tag: String,
        /// The platform asked.
        platform: String,
        /// The metric asked.
        metric: String,
    },
}

/// The comparison's files: `compare-<tags>.svg/.png`, `compare-<tags>-indexed.svg/.png`
/// and `compare-<tags>.csv`, by name.
pub fn compare(input: &CompareInput) -> Result<Vec<(PathBuf, Vec<u8>)>, ReportError> {
    let n = input.tags.len();
    if n == 0 || n > MAX_TAGS {
        return Err(ReportError::Compare(CompareError::Count(n)));
    }
    let loc = Locale(input.language);
    let t = loc.texts();
    let rows = tag_rows(&input.tables.tags)?;
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|r| r.platform == input.platform && r.metric == input.metric)
        .collect();
    for tag in &input.tags {
        if !rows.iter().any(|r| &r.tag == tag) {
            return Err(ReportError::Compare(CompareError::NoData {
                tag: tag.clone(),
                platform: input.platform.clone(),
                metric: input.metric.clone(),
            }));
        }
    }
    let last = rows
        .iter()
        .filter(|r| input.tags.contains(&r.tag) && r.gained.is_some())
        .map(|r| r.week_start)
        .max()
        .expect("every tag has rows");
    let weeks: Vec<NaiveDate> = (0..input.weeks.max(2))
        .rev()
        .map(|k| last - Duration::weeks(k))
        .collect();
    let gained = |tag: &str| -> Vec<Option<f64>> {
        weeks
            .iter()
            .map(|w| {
                rows.iter()
                    .find(|r| r.tag == tag && r.week_start == *w)
                    .and_then(|r| r.gained)
            })
            .collect()
    };
    let series: Vec<(String, Vec<Option<f64>>)> = input
        .tags
        .iter()
        .map(|tag| (format!("#{tag}"), gained(tag)))
        .collect();
    // Indexed to 100 at the first week every tag has a positive gained.
    let base = (0..weeks.len()).find(|i| series.iter().all(|s| s.1[*i].is_some_and(|v| v > 0.0)));
    let indexed: Vec<(String, Vec<Option<f64>>)> = series
        .iter()
        .map(|(name, values)| {
            let b = base.and_then(|i| values[i]);
            let idx = values
                .iter()
                .map(|v| Some(v.zip(b)?).map(|(v, b)| v / b * 100.0))
                .collect();
            (name.clone(), idx)
        })
        .collect();
    let unit = t.metric(&input.metric);
    let label = format!("{} {unit}", platform_name(&input.platform));
    let names = input.tags.join("-");
    let stem = format!("compare-{names}");
    let title_tags = series
        .iter()
        .map(|s| s.0.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let chart = |name: &str, title: String, y: String, series: Vec<(String, Vec<Option<f64>>)>| {
        let scale = LineChart::pick_scale(&series);
        charts::render(
            name,
            &LineChart {
                title,
                y_label: y,
                source: fill(t.source_snapshots, &[("label", &label)]),
                weeks: weeks.clone(),
                series,
                scale,
                loc,
                band: Vec::new(),
                marked: Default::default(),
            },
            (960, 460),
        )
    };
    let values = [("tags", title_tags.as_str()), ("unit", unit.as_str())];
    let plain = chart(
        &stem,
        fill(t.compare_title, &values),
        fill(t.chart_trend_y, &[("unit", &unit)]),
        series.clone(),
    )?;
    let base_week = base.map(|i| loc.week_title(weeks[i])).unwrap_or_default();
    let idx = chart(
        &format!("{stem}-indexed"),
        fill(
            t.compare_indexed_title,
            &[("tags", &title_tags), ("unit", &unit), ("week", &base_week)],
        ),
        t.compare_index.to_string(),
        indexed.clone(),
    )?;
    let mut files = Vec::new();
    for c in [plain, idx] {
        files.push((PathBuf::from(format!("{}.svg", c.name)), c.svg.into_bytes()));
        files.push((PathBuf::from(format!("{}.png", c.name)), c.png));
    }
    // The CSV: a row per week, gained and index per tag.
    let style = crate::csv::CsvStyle::new(input.language, None);
    let mut w = ::csv::WriterBuilder::new()
        .delimiter(style.delimiter)
        .from_writer(Vec::new());
    let mut header = vec![t.csv.week.to_string(), t.csv.week_start.to_string()];
    for s in &series {
        header.push(format!("{} {}", s.0, t.csv.gained));
        header.push(format!("{} {}", s.0, t.compare_index));
    }
    let err = |e: &dyn std::fmt::Display| ReportError::Input(format!("{stem}.csv: {e}"));
    w.write_record(&header).map_err(|e| err(&e))?;
    for (i, week) in weeks.iter().enumerate() {
        let mut rec = vec![tagpulse_config::iso_week_label(*week), week.to_string()];
        for (s, x) in series.iter().zip(&indexed) {
            rec.push(s.1[i].map(|v| style.raw(v)).unwrap_or_default());
            rec.push(x.1[i].map(|v| style.raw(v)).unwrap_or_default());
        }
        w.write_record(&rec).map_err(|e| err(&e))?;
    }
    files.push((
        PathBuf::from(format!("{stem}.csv")),
        w.into_inner().map_err(|e| err(&e))?,
    ));
    Ok(files)
}
