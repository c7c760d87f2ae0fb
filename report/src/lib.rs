//! The weekly employer-branding report.
//!
//! [`render`] turns the weekly tables of one week into files: a self-contained
//! `index.html` (inline CSS and SVG, no JavaScript), the charts as PNG and SVG for slides,
//! `occupations.csv` / `tags.csv` for spreadsheets and `summary.md` for e-mail or chat.
//! It reads nothing but its arguments; [`ReportFiles::write_into`] writes the files.
//! Values of different platforms or metrics are never added: each (platform, metric)
//! pair gets its own panel.

#![warn(missing_docs)]

pub mod charts;
pub mod data;
pub mod format;
mod html;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use tagpulse_config::{iso_week_label, Brand, Occupation};
use tagpulse_model::WeeklyTables;

use charts::{BarChart, Chart, LineChart, Scale, Sparkline};
use data::{BrandRow, OccRow, SeriesRow, TagRow};
use format::{human, pct, platform_name, share, week_title};

/// Weeks shown in trend charts and sparklines.
pub const TREND_WEEKS: i64 = 12;
/// Lines at most in the trend chart.
const TREND_LINES: usize = 7;

/// Rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The embedded font could not be registered.
    #[error("cannot register the embedded font")]
    Font,
    /// A chart could not be drawn.
    #[error("chart {0}")]
    Chart(String),
    /// The tables lack what the report needs.
    #[error("bad report input: {0}")]
    Input(String),
    /// The requested week has no data.
    #[error("no data for {week}: the tables cover {first} to {last}")]
    NoSuchWeek {
        /// The week asked for.
        week: String,
        /// First week in the data.
        first: String,
        /// Last week in the data.
        last: String,
    },
    /// The weekly tables are empty.
    #[error("the weekly tables are empty: import observations and run `tagpulse transform` first")]
    Empty,
    /// Writing a file failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Everything the report is made from.
pub struct ReportInput<'a> {
    /// The weekly tables.
    pub tables: &'a WeeklyTables,
    /// The series summary (data quality per series, computed by the transform).
    pub series: &'a polars::prelude::DataFrame,
    /// The taxonomy in force.
    pub occupations: &'a [Occupation],
    /// The brands in force.
    pub brands: &'a [Brand],
    /// The Monday of the week to report.
    pub week: NaiveDate,
    /// Rows in the "top" tables.
    pub top_n: usize,
    /// `max_gap` in seconds (for the data-quality text).
    pub max_gap_secs: i64,
    /// Ids of the sources whose data is in the store.
    pub sources: Vec<String>,
    /// True when (some of) the data is the bundled synthetic sample.
    pub synthetic: bool,
    /// When the report is generated.
    pub generated_at: DateTime<Utc>,
}

/// The files of one week's report, by relative path.
#[derive(Debug, Clone, Default)]
pub struct ReportFiles {
    /// The ISO week label, e.g. `2026-W47` (the folder name).
    pub week_label: String,
    /// (relative path, content).
    pub files: Vec<(PathBuf, Vec<u8>)>,
    /// The summary text (also in `summary.md`).
    pub summary: String,
}

impl ReportFiles {
    /// Writes the files into `dir` (the caller publishes it as one generation).
    pub fn write_into(&self, dir: &Path) -> Result<(), ReportError> {
        for (rel, bytes) in &self.files {
            let p = dir.join(rel);
            std::fs::write(&p, bytes).map_err(|source| ReportError::Io {
                path: p.display().to_string(),
                source,
            })?;
        }
        Ok(())
    }
}

/// One (platform, metric) pair's view of the week.
pub(crate) struct Panel {
    pub platform: String,
    pub metric: String,
    pub slug: String,
    pub label: String,
    pub source_line: String,
    pub total_gained: Option<f64>,
    pub total_wow: Option<f64>,
    pub tags_tracked: usize,
    pub tags_reporting: usize,
    pub occupations: Vec<OccRow>,
    pub occ_chart: Option<Chart>,
    pub trend_chart: Option<Chart>,
    pub rising: Vec<TagLine>,
    pub falling: Vec<TagLine>,
    pub top_gained: Vec<TagLine>,
    pub tag_breakouts: Vec<Breakout>,
    pub occ_breakouts: Vec<Breakout>,
    pub brands: Vec<BrandLine>,
    pub brand_chart: Option<Chart>,
    pub quality: Quality,
    pub headline: Vec<String>,
}

/// A tag in a "moved most" table.
pub(crate) struct TagLine {
    pub row: TagRow,
    pub occupations: String,
    pub spark: String,
}

/// A breakout with the context that explains it.
pub(crate) struct Breakout {
    pub name: String,
    pub gained: Option<f64>,
    pub z: Option<f64>,
    /// The median gained of the weeks before, as the transform computed it for `z`.
    pub z_median: Option<f64>,
    pub wow: Option<f64>,
    pub spark: String,
}

/// A brand vs one of its occupations this week.
pub(crate) struct BrandLine {
    pub brand: String,
    pub occupation: String,
    pub gained: Option<f64>,
    pub occ_gained: Option<f64>,
    pub share: Option<f64>,
    pub prev_share: Option<f64>,
}

/// The data-quality facts of a panel.
pub(crate) struct Quality {
    pub no_data: Vec<String>,
    pub gappy: Vec<SeriesRow>,
    pub steps_down: Vec<(String, u32)>,
    pub partial: Vec<(String, f64)>,
    pub freshest: Option<SeriesRow>,
    pub stalest: Option<SeriesRow>,
}

/// The whole page's model.
pub(crate) struct Page {
    pub week: NaiveDate,
    pub week_label: String,
    pub title: String,
    pub panels: Vec<Panel>,
    pub data_range: Option<(i64, i64)>,
    pub sources: Vec<String>,
    pub synthetic: bool,
    pub generated_at: DateTime<Utc>,
    pub max_gap_secs: i64,
    pub has_brands: bool,
}

fn trend_weeks(week: NaiveDate) -> Vec<NaiveDate> {
    (0..TREND_WEEKS)
        .rev()
        .map(|k| week - Duration::weeks(k))
        .collect()
}

/// `gained` per trend week of one series, given its rows keyed by week.
fn history(by_week: &BTreeMap<NaiveDate, Option<f64>>, weeks: &[NaiveDate]) -> Vec<Option<f64>> {
    weeks
        .iter()
        .map(|w| by_week.get(w).copied().flatten())
        .collect()
}

fn sort_desc<T>(v: &mut [T], key: impl Fn(&T) -> Option<f64>) {
    v.sort_by(|a, b| {
        let (a, b) = (
            key(a).unwrap_or(f64::NEG_INFINITY),
            key(b).unwrap_or(f64::NEG_INFINITY),
        );
        b.total_cmp(&a)
    });
}

fn metric_unit(metric: &str) -> String {
    metric.replace('_', " ")
}

/// Renders the report for `input.week`.
pub fn render(input: &ReportInput) -> Result<ReportFiles, ReportError> {
    let tags = data::tag_rows(&input.tables.tags)?;
    let occs = data::occ_rows(&input.tables.occupations)?;
    let brands = data::brand_rows(&input.tables.brands)?;
    let series = data::series_rows(input.series)?;
    if tags.is_empty() {
        return Err(ReportError::Empty);
    }
    let first = tags.iter().map(|r| r.week).min().expect("non-empty");
    let last = tags.iter().map(|r| r.week).max().expect("non-empty");
    if !tags.iter().any(|r| r.week == input.week) {
        return Err(ReportError::NoSuchWeek {
            week: iso_week_label(input.week),
            first: iso_week_label(first),
            last: iso_week_label(last),
        });
    }
    let pairs: BTreeSet<(String, String)> = tags
        .iter()
        .filter(|r| r.week == input.week)
        .map(|r| (r.platform.clone(), r.metric.clone()))
        .collect();
    let mut panels = Vec::new();
    for (platform, metric) in pairs {
        panels.push(build_panel(
            input, &platform, &metric, &tags, &occs, &brands, &series,
        )?);
    }
    // The pair with the most activity leads the page.
    sort_desc(&mut panels, |p| p.total_gained);
    let week_label = iso_week_label(input.week);
    let page = Page {
        week: input.week,
        title: format!("tagpulse weekly report — {}", week_title(input.week)),
        week_label: week_label.clone(),
        panels,
        data_range: series
            .iter()
            .map(|s| (s.first_s, s.last_s))
            .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1))),
        sources: input.sources.clone(),
        synthetic: input.synthetic,
        generated_at: input.generated_at,
        max_gap_secs: input.max_gap_secs,
        has_brands: !input.brands.is_empty(),
    };
    let mut files = vec![(PathBuf::from("index.html"), html::page(&page).into_bytes())];
    for p in &page.panels {
        for c in [&p.occ_chart, &p.trend_chart, &p.brand_chart]
            .into_iter()
            .flatten()
        {
            files.push((PathBuf::from(format!("{}.png", c.name)), c.png.clone()));
            files.push((
                PathBuf::from(format!("{}.svg", c.name)),
                c.svg.clone().into_bytes(),
            ));
        }
    }
    let by_tag = tagpulse_config::occupations_by_tag(input.occupations);
    files.push((
        PathBuf::from("occupations.csv"),
        occupations_csv(&occs, input.week)?,
    ));
    files.push((
        PathBuf::from("tags.csv"),
        tags_csv(&tags, input.week, &by_tag)?,
    ));
    let summary = summary_md(&page);
    files.push((PathBuf::from("summary.md"), summary.clone().into_bytes()));
    Ok(ReportFiles {
        week_label,
        files,
        summary,
    })
}

#[allow(clippy::too_many_arguments)]
fn build_panel(
    input: &ReportInput,
    platform: &str,
    metric: &str,
    tags: &[TagRow],
    occs: &[OccRow],
    brands: &[BrandRow],
    series: &[SeriesRow],
) -> Result<Panel, ReportError> {
    let week = input.week;
    let prev = week - Duration::weeks(1);
    let weeks = trend_weeks(week);
    let slug = format!("{platform}-{metric}");
    let label = format!("{} {}", platform_name(platform), metric_unit(metric));
    let in_panel = |p: &str, m: &str| p == platform && m == metric;
    let tag_rows: Vec<&TagRow> = tags
        .iter()
        .filter(|r| in_panel(&r.platform, &r.metric))
        .collect();
    let kinds: BTreeSet<&str> = series
        .iter()
        .filter(|s| in_panel(&s.platform, &s.metric))
        .map(|s| s.kind.as_str())
        .collect();
    let source_line = if kinds.contains("daily") && !kinds.contains("snapshots") {
        format!("Source: {label}, daily counts summed per ISO week (UTC). tagpulse.")
    } else {
        format!("Source: {label}, counter snapshots interpolated to Monday 00:00 UTC. tagpulse.")
    };

    let mut tag_hist: BTreeMap<&str, BTreeMap<NaiveDate, Option<f64>>> = BTreeMap::new();
    for r in &tag_rows {
        tag_hist
            .entry(r.tag.as_str())
            .or_default()
            .insert(r.week, r.gained);
    }
    let this: Vec<&TagRow> = tag_rows
        .iter()
        .copied()
        .filter(|r| r.week == week)
        .collect();
    let sum = |rows: &mut dyn Iterator<Item = Option<f64>>| {
        let v: Vec<f64> = rows.flatten().collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>())
    };
    let total_gained = sum(&mut this.iter().map(|r| r.gained));
    let prev_total = sum(&mut tag_rows.iter().filter(|r| r.week == prev).map(|r| r.gained));
    let total_wow = match (total_gained, prev_total) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b - 1.0),
        _ => None,
    };

    let mut by_tag = tagpulse_config::occupations_by_tag(input.occupations);
    // A brand tag with no occupation is labelled with its brand.
    for b in input.brands {
        for t in &b.tags {
            by_tag
                .entry(t.clone())
                .or_insert_with(|| vec![format!("brand: {}", b.name)]);
        }
    }
    let spark = |h: &BTreeMap<NaiveDate, Option<f64>>| {
        charts::render_svg(
            &Sparkline {
                values: history(h, &weeks),
            },
            (120, 28),
        )
    };
    let tag_line = |r: &TagRow| -> Result<TagLine, ReportError> {
        let occ = tagpulse_config::Tag::parse(&r.tag)
            .ok()
            .and_then(|t| by_tag.get(&t).cloned())
            .unwrap_or_default()
            .join(", ");
        Ok(TagLine {
            row: r.clone(),
            occupations: occ,
            spark: spark(&tag_hist[r.tag.as_str()])?,
        })
    };
    let n = input.top_n;
    let mut by_wow: Vec<&TagRow> = this
        .iter()
        .copied()
        .filter(|r| r.sig.wow_growth.is_some() && r.gained.is_some_and(|g| g > 0.0))
        .collect();
    sort_desc(&mut by_wow, |r| r.sig.wow_growth);
    let rising = by_wow
        .iter()
        .filter(|r| r.sig.wow_growth > Some(0.0))
        .take(n)
        .map(|r| tag_line(r))
        .collect::<Result<Vec<_>, _>>()?;
    let falling = by_wow
        .iter()
        .rev()
        .filter(|r| r.sig.wow_growth < Some(0.0))
        .take(n)
        .map(|r| tag_line(r))
        .collect::<Result<Vec<_>, _>>()?;
    let mut by_gained: Vec<&TagRow> = this
        .iter()
        .copied()
        .filter(|r| r.gained.is_some())
        .collect();
    sort_desc(&mut by_gained, |r| r.gained);
    let top_gained = by_gained
        .iter()
        .take(n)
        .map(|r| tag_line(r))
        .collect::<Result<Vec<_>, _>>()?;
    let breakout = |name: String, gained: Option<f64>, sig: &data::Signals, h| {
        Ok::<_, ReportError>(Breakout {
            name,
            gained,
            z: sig.z,
            z_median: sig.z_median,
            wow: sig.wow_growth,
            spark: spark(h)?,
        })
    };
    let tag_breakouts = this
        .iter()
        .filter(|r| r.sig.breakout)
        .map(|r| {
            breakout(
                format!("#{}", r.tag),
                r.gained,
                &r.sig,
                &tag_hist[r.tag.as_str()],
            )
        })
        .collect::<Result<Vec<_>, ReportError>>()?;

    // Occupations.
    let occ_rows: Vec<&OccRow> = occs
        .iter()
        .filter(|r| in_panel(&r.platform, &r.metric))
        .collect();
    let mut occ_hist: BTreeMap<&str, BTreeMap<NaiveDate, Option<f64>>> = BTreeMap::new();
    for r in &occ_rows {
        occ_hist
            .entry(r.occupation.as_str())
            .or_default()
            .insert(r.week, r.gained);
    }
    let mut occ_this: Vec<OccRow> = occ_rows
        .iter()
        .filter(|r| r.week == week)
        .map(|r| (*r).clone())
        .collect();
    sort_desc(&mut occ_this, |r| r.gained);
    let occ_breakouts = occ_this
        .iter()
        .filter(|r| r.sig.breakout)
        .map(|r| {
            breakout(
                r.occupation.clone(),
                r.gained,
                &r.sig,
                &occ_hist[r.occupation.as_str()],
            )
        })
        .collect::<Result<Vec<_>, ReportError>>()?;
    let bars: Vec<(String, f64, Option<f64>)> = occ_this
        .iter()
        .filter_map(|r| {
            r.gained
                .map(|g| (r.occupation.clone(), g, r.sig.wow_growth))
        })
        .collect();
    let occ_chart = if bars.is_empty() {
        None
    } else {
        let height = 120 + 30 * bars.len() as u32;
        Some(charts::render(
            &format!("occupations-{slug}"),
            &BarChart {
                title: format!(
                    "Occupations by {} gained, {}",
                    metric_unit(metric),
                    week_title(week)
                ),
                x_label: format!("{} gained in the week", metric_unit(metric)),
                source: source_line.clone(),
                bars,
            },
            (960, height.max(300)),
        )?)
    };
    let top_occ: Vec<&OccRow> = occ_this
        .iter()
        .filter(|r| r.gained.is_some())
        .take(input.top_n.min(TREND_LINES))
        .collect();
    let trend_series: Vec<(String, Vec<Option<f64>>)> = top_occ
        .iter()
        .map(|r| {
            (
                r.occupation.clone(),
                history(&occ_hist[r.occupation.as_str()], &weeks),
            )
        })
        .collect();
    let trend_chart = if trend_series.is_empty() {
        None
    } else {
        let scale = LineChart::pick_scale(&trend_series);
        Some(charts::render(
            &format!("trend-{slug}"),
            &LineChart {
                title: format!(
                    "Top occupations, {} gained per week (last {TREND_WEEKS} weeks)",
                    metric_unit(metric)
                ),
                y_label: format!(
                    "{} gained per week{}",
                    metric_unit(metric),
                    if scale == Scale::Log {
                        " (log scale)"
                    } else {
                        ""
                    }
                ),
                source: source_line.clone(),
                weeks: weeks.clone(),
                series: trend_series,
                scale,
            },
            (960, 460),
        )?)
    };

    // Brands.
    let brand_rows: Vec<&BrandRow> = brands
        .iter()
        .filter(|r| in_panel(&r.platform, &r.metric))
        .collect();
    let occ_gained_this: BTreeMap<&str, Option<f64>> = occ_this
        .iter()
        .map(|r| (r.occupation.as_str(), r.gained))
        .collect();
    let mut brand_lines = Vec::new();
    let mut brand_series = Vec::new();
    let pairs: BTreeSet<(&str, &str)> = brand_rows
        .iter()
        .map(|r| (r.brand.as_str(), r.occupation.as_str()))
        .collect();
    for (b, o) in pairs {
        let hist: BTreeMap<NaiveDate, (Option<f64>, Option<f64>)> = brand_rows
            .iter()
            .filter(|r| r.brand == b && r.occupation == o)
            .map(|r| (r.week, (r.gained, r.brand_share)))
            .collect();
        let Some(now) = hist.get(&week) else { continue };
        brand_lines.push(BrandLine {
            brand: b.to_string(),
            occupation: o.to_string(),
            gained: now.0,
            occ_gained: occ_gained_this.get(o).copied().flatten(),
            share: now.1,
            prev_share: hist.get(&prev).and_then(|p| p.1),
        });
        brand_series.push((
            format!("{b} in {o}"),
            weeks
                .iter()
                .map(|w| hist.get(w).and_then(|p| p.1))
                .collect::<Vec<_>>(),
        ));
    }
    let brand_chart = if brand_series.is_empty() {
        None
    } else {
        Some(charts::render(
            &format!("brand-share-{slug}"),
            &LineChart {
                title: format!(
                    "Brand share of occupation {} gained (last {TREND_WEEKS} weeks)",
                    metric_unit(metric)
                ),
                y_label: "brand share of the occupation (%)".into(),
                source: source_line.clone(),
                weeks: weeks.clone(),
                series: brand_series.into_iter().take(TREND_LINES).collect(),
                scale: Scale::Percent,
            },
            (960, 420),
        )?)
    };

    // Data quality.
    let reporting: BTreeSet<&str> = this
        .iter()
        .filter(|r| r.gained.is_some())
        .map(|r| r.tag.as_str())
        .collect();
    let taxonomy_tags: BTreeSet<String> = input
        .occupations
        .iter()
        .flat_map(|o| o.tags.iter().map(|t| t.as_str().to_string()))
        .chain(
            input
                .brands
                .iter()
                .flat_map(|b| b.tags.iter().map(|t| t.as_str().to_string())),
        )
        .collect();
    let no_data: Vec<String> = taxonomy_tags
        .into_iter()
        .filter(|t| !reporting.contains(t.as_str()))
        .collect();
    let panel_series: Vec<&SeriesRow> = series
        .iter()
        .filter(|s| in_panel(&s.platform, &s.metric))
        .collect();
    let mut gappy: Vec<SeriesRow> = panel_series
        .iter()
        .filter(|s| s.gaps_over_max > 0)
        .map(|s| (*s).clone())
        .collect();
    gappy.sort_by_key(|s| std::cmp::Reverse(s.longest_gap_s));
    let mut steps_down: Vec<(String, u32)> = this
        .iter()
        .filter(|r| r.decreases > 0)
        .map(|r| (r.tag.clone(), r.decreases))
        .collect();
    steps_down.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let partial: Vec<(String, f64)> = this
        .iter()
        .filter_map(|r| r.coverage.filter(|c| *c < 1.0).map(|c| (r.tag.clone(), c)))
        .collect();
    let quality = Quality {
        no_data,
        gappy,
        steps_down,
        partial,
        freshest: panel_series
            .iter()
            .max_by_key(|s| s.last_s)
            .map(|s| (*s).clone()),
        stalest: panel_series
            .iter()
            .min_by_key(|s| s.last_s)
            .map(|s| (*s).clone()),
    };

    let mut panel = Panel {
        platform: platform.to_string(),
        metric: metric.to_string(),
        slug,
        label,
        source_line,
        total_gained,
        total_wow,
        tags_tracked: this.len(),
        tags_reporting: reporting.len(),
        occupations: occ_this,
        occ_chart,
        trend_chart,
        rising,
        falling,
        top_gained,
        tag_breakouts,
        occ_breakouts,
        brands: brand_lines,
        brand_chart,
        quality,
        headline: Vec::new(),
    };
    panel.headline = headline(&panel, week);
    Ok(panel)
}

/// Three or four plain sentences on the week.
fn headline(p: &Panel, week: NaiveDate) -> Vec<String> {
    let unit = metric_unit(&p.metric);
    let mut out = Vec::new();
    match p.total_gained {
        Some(g) => out.push(format!(
            "Tracked {} tags gained {} {unit} in {}{}.",
            platform_name(&p.platform),
            human(Some(g)),
            week_title(week),
            match p.total_wow {
                Some(w) => format!(" ({} vs the week before)", pct(Some(w))),
                None => String::new(),
            }
        )),
        None => out.push(format!(
            "No tracked tag has a complete {unit} figure for {}.",
            week_title(week)
        )),
    }
    if let Some(top) = p.occupations.iter().find(|o| o.gained.is_some()) {
        out.push(format!(
            "{} gained the most: {} {unit}{}{}.",
            top.occupation,
            human(top.gained),
            match top.sig.wow_growth {
                Some(w) => format!(" ({})", pct(Some(w))),
                None => String::new(),
            },
            match top.share {
                Some(s) => format!(", {} of all tracked {unit}", share(Some(s))),
                None => String::new(),
            }
        ));
    }
    let fastest = p
        .occupations
        .iter()
        .filter(|o| o.sig.wow_growth.is_some() && o.gained.is_some_and(|g| g > 0.0))
        .max_by(|a, b| {
            a.sig
                .wow_growth
                .unwrap_or(0.0)
                .total_cmp(&b.sig.wow_growth.unwrap_or(0.0))
        });
    if let Some(f) = fastest.filter(|f| f.sig.wow_growth > Some(0.0)) {
        out.push(format!(
            "Fastest-growing occupation: {} ({} week over week).",
            f.occupation,
            pct(f.sig.wow_growth)
        ));
    }
    let names: Vec<String> = p
        .tag_breakouts
        .iter()
        .chain(&p.occ_breakouts)
        .map(|b| b.name.clone())
        .collect();
    out.push(match names.len() {
        0 => "Nothing broke out this week.".into(),
        1 => format!("{} broke out.", names[0]),
        _ => format!("Breakouts: {}.", names.join(", ")),
    });
    if let Some(b) = p.brands.iter().find(|b| b.share.is_some()) {
        let verb = match (b.share, b.prev_share) {
            (Some(s), Some(q)) if s > q => {
                format!("rose to {} (from {})", share(Some(s)), share(Some(q)))
            }
            (Some(s), Some(q)) if s < q => {
                format!("fell to {} (from {})", share(Some(s)), share(Some(q)))
            }
            (Some(s), _) => format!("was {}", share(Some(s))),
            _ => unreachable!("filtered on share"),
        };
        out.push(format!("{}'s share of {} {verb}.", b.brand, b.occupation));
    }
    out
}

fn csv_num(v: Option<f64>) -> String {
    v.map(|x| format!("{x}")).unwrap_or_default()
}

/// The signal columns of the CSV files, in order; each is a weekly-table column (tested).
/// `z_median` explains breakouts on the page and stays out of the spreadsheet layout.
const CSV_SIGNALS: [&str; 6] = [
    "wow_growth",
    "total_growth",
    "avg4",
    "momentum",
    "z",
    "breakout",
];

fn signal_fields(s: &data::Signals) -> [String; 6] {
    [
        csv_num(s.wow_growth),
        csv_num(s.total_growth),
        csv_num(s.avg4),
        csv_num(s.momentum),
        csv_num(s.z),
        s.breakout.to_string(),
    ]
}

/// A CSV of the week's rows, grouped by platform and metric, largest gained first.
///
/// `fields` gives a row's (platform, metric, gained) for ordering and its record
/// between `week_start` and the signal columns.
fn week_csv<T>(
    file: &str,
    header: &[&str],
    rows: Vec<&T>,
    week: NaiveDate,
    key: impl Fn(&T) -> (&str, &str, Option<f64>),
    record: impl Fn(&T) -> (Vec<String>, &data::Signals),
) -> Result<Vec<u8>, ReportError> {
    let err = |e: &dyn std::fmt::Display| ReportError::Input(format!("{file}: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    let full: Vec<&str> = ["week", "week_start"]
        .into_iter()
        .chain(header.iter().copied())
        .chain(CSV_SIGNALS)
        .collect();
    w.write_record(&full).map_err(|e| err(&e))?;
    let mut rows = rows;
    rows.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        (ka.0, ka.1).cmp(&(kb.0, kb.1)).then(
            kb.2.unwrap_or(f64::MIN)
                .total_cmp(&ka.2.unwrap_or(f64::MIN)),
        )
    });
    for r in rows {
        let (fields, sig) = record(r);
        let line: Vec<String> = [iso_week_label(week), week.to_string()]
            .into_iter()
            .chain(fields)
            .chain(signal_fields(sig))
            .collect();
        w.write_record(&line).map_err(|e| err(&e))?;
    }
    w.into_inner().map_err(|e| err(&e))
}

fn occupations_csv(rows: &[OccRow], week: NaiveDate) -> Result<Vec<u8>, ReportError> {
    week_csv(
        "occupations.csv",
        &[
            "platform",
            "metric",
            "occupation",
            "gained",
            "total_end",
            "share",
            "tags_reporting",
            "tags_total",
        ],
        rows.iter().filter(|r| r.week == week).collect(),
        week,
        |r| (r.platform.as_str(), r.metric.as_str(), r.gained),
        |r| {
            let fields = vec![
                r.platform.clone(),
                r.metric.clone(),
                r.occupation.clone(),
                csv_num(r.gained),
                csv_num(r.total_end),
                csv_num(r.share),
                r.tags_reporting.to_string(),
                r.tags_total.to_string(),
            ];
            (fields, &r.sig)
        },
    )
}

fn tags_csv(
    rows: &[TagRow],
    week: NaiveDate,
    by_tag: &BTreeMap<tagpulse_config::Tag, Vec<String>>,
) -> Result<Vec<u8>, ReportError> {
    week_csv(
        "tags.csv",
        &[
            "platform",
            "metric",
            "tag",
            "occupations",
            "gained",
            "total_end",
            "observations",
            "decreases",
            "coverage",
        ],
        rows.iter().filter(|r| r.week == week).collect(),
        week,
        |r| (r.platform.as_str(), r.metric.as_str(), r.gained),
        |r| {
            let occ = tagpulse_config::Tag::parse(&r.tag)
                .ok()
                .and_then(|t| by_tag.get(&t).cloned())
                .unwrap_or_default()
                .join("; ");
            let fields = vec![
                r.platform.clone(),
                r.metric.clone(),
                r.tag.clone(),
                occ,
                csv_num(r.gained),
                csv_num(r.total_end),
                r.observations.to_string(),
                r.decreases.to_string(),
                csv_num(r.coverage),
            ];
            (fields, &r.sig)
        },
    )
}

fn summary_md(page: &Page) -> String {
    let mut s = format!("# {}\n\n", page.title);
    if page.synthetic {
        s.push_str(
            "> Built from the bundled **synthetic sample data**, not real platform figures.\n\n",
        );
    }
    for p in &page.panels {
        s.push_str(&format!("## {}\n\n", p.label));
        for line in &p.headline {
            s.push_str(&format!("- {line}\n"));
        }
        s.push_str("\n| Occupation | Gained | WoW | Share of voice |\n|---|---:|---:|---:|\n");
        for o in p.occupations.iter().filter(|o| o.gained.is_some()).take(5) {
            s.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                o.occupation.replace('|', "\\|"),
                human(o.gained),
                pct(o.sig.wow_growth),
                share(o.share)
            ));
        }
        s.push('\n');
    }
    s.push_str(&format!(
        "Full report: `{}/index.html` (generated {} by tagpulse {}).\n",
        page.week_label,
        page.generated_at.format("%Y-%m-%d %H:%M UTC"),
        env!("CARGO_PKG_VERSION")
    ));
    s
}

/// `reports/index.html`: a list of every week produced, newest first.
pub fn index_page(weeks: &[String]) -> String {
    html::index(weeks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;
    use tagpulse_config::Tag;

    fn date_col(name: &str, days: &[i32]) -> Column {
        Column::new(name.into(), days)
            .cast(&DataType::Date)
            .unwrap()
    }

    /// Two weeks (Mondays 2026-11-09 = day 20766 and 2026-11-16) of two tags and
    /// their occupations, plus one brand.
    fn input_tables() -> (WeeklyTables, DataFrame) {
        let w = [20_766, 20_766, 20_773, 20_773];
        let n = 4;
        let nulls = || Column::new("x".into(), vec![None::<f64>; n]);
        let tags = DataFrame::new_infer_height(vec![
            Column::new("platform".into(), vec!["tiktok"; n]),
            Column::new("tag".into(), ["azubi", "koch", "azubi", "koch"]),
            Column::new("metric".into(), vec!["views"; n]),
            date_col("week_start", &w),
            nulls().with_name("total_end".into()),
            Column::new(
                "gained".into(),
                [Some(100.0), Some(50.0), Some(300.0), Some(40.0)],
            ),
            Column::new("observations".into(), [28u32, 28, 28, 27]),
            Column::new("decreases".into(), [0u32, 1, 2, 0]),
            nulls().with_name("coverage".into()),
            Column::new("wow_growth".into(), [None, None, Some(2.0), Some(-0.2)]),
            nulls().with_name("total_growth".into()),
            nulls().with_name("avg4".into()),
            nulls().with_name("momentum".into()),
            Column::new("z".into(), [None, None, Some(5.0), None]),
            // Not the median of the rows above (100): the page must show the transform's.
            Column::new("z_median".into(), [None, None, Some(120.0), None]),
            Column::new("breakout".into(), [false, false, true, false]),
        ])
        .unwrap();
        let occupations = DataFrame::new_infer_height(vec![
            Column::new("platform".into(), vec!["tiktok"; n]),
            Column::new(
                "occupation".into(),
                ["Apprentices", "Chefs", "Apprentices", "Chefs"],
            ),
            Column::new("metric".into(), vec!["views"; n]),
            date_col("week_start", &w),
            nulls().with_name("total_end".into()),
            Column::new(
                "gained".into(),
                [Some(100.0), Some(50.0), Some(300.0), Some(40.0)],
            ),
            Column::new("tags_reporting".into(), [1u32; 4]),
            Column::new("tags_total".into(), [2u32; 4]),
            Column::new(
                "share".into(),
                [
                    Some(2.0 / 3.0),
                    Some(1.0 / 3.0),
                    Some(300.0 / 340.0),
                    Some(40.0 / 340.0),
                ],
            ),
            Column::new("wow_growth".into(), [None, None, Some(2.0), Some(-0.2)]),
            nulls().with_name("total_growth".into()),
            nulls().with_name("avg4".into()),
            nulls().with_name("momentum".into()),
            nulls().with_name("z".into()),
            nulls().with_name("z_median".into()),
            Column::new("breakout".into(), [false; 4]),
        ])
        .unwrap();
        let brands = DataFrame::new_infer_height(vec![
            Column::new("platform".into(), ["tiktok", "tiktok"]),
            Column::new("brand".into(), ["Acme", "Acme"]),
            Column::new("occupation".into(), ["Chefs", "Chefs"]),
            Column::new("metric".into(), ["views", "views"]),
            date_col("week_start", &[20_766, 20_773]),
            Column::new("gained".into(), [Some(5.0), Some(8.0)]),
            Column::new("brand_share".into(), [Some(0.1), Some(0.2)]),
        ])
        .unwrap();
        let series = df!(
            "platform" => ["tiktok", "tiktok"],
            "tag" => ["azubi", "koch"],
            "metric" => ["views", "views"],
            "kind" => ["snapshots", "snapshots"],
            "first_s" => [1_762_000_000i64, 1_762_000_000],
            "last_s" => [1_763_900_000i64, 1_763_800_000],
            "observations" => [100u32, 99],
            "longest_gap_s" => [20_000i64, 900_000],
            "gaps_over_max" => [0u32, 1],
        )
        .unwrap();
        (
            WeeklyTables {
                tags,
                occupations,
                brands,
                occupation_tags: DataFrame::empty(),
            },
            series,
        )
    }

    fn render_week(week: NaiveDate) -> Result<ReportFiles, ReportError> {
        let (tables, series) = input_tables();
        let t = |s: &str| Tag::parse(s).unwrap();
        let occupations = vec![
            Occupation {
                name: "Apprentices".into(),
                tags: vec![t("azubi"), t("ausbildung")],
            },
            Occupation {
                name: "Chefs".into(),
                tags: vec![t("koch"), t("cheflife")],
            },
        ];
        let brands = vec![Brand {
            name: "Acme".into(),
            tags: vec![t("acme")],
            occupations: vec!["Chefs".into()],
        }];
        render(&ReportInput {
            tables: &tables,
            series: &series,
            occupations: &occupations,
            brands: &brands,
            week,
            top_n: 5,
            max_gap_secs: 7 * 86_400,
            sources: vec!["test".into()],
            synthetic: false,
            generated_at: DateTime::from_timestamp(1_763_900_000, 0).unwrap(),
        })
    }

    #[test]
    fn headline_ranking_brand_and_files() {
        let files = render_week(NaiveDate::from_ymd_opt(2026, 11, 16).unwrap()).unwrap();
        assert_eq!(files.week_label, "2026-W47");
        let names: Vec<String> = files
            .files
            .iter()
            .map(|f| f.0.display().to_string())
            .collect();
        for n in [
            "index.html",
            "occupations-tiktok-views.png",
            "occupations-tiktok-views.svg",
            "trend-tiktok-views.png",
            "brand-share-tiktok-views.png",
            "occupations.csv",
            "tags.csv",
            "summary.md",
        ] {
            assert!(names.contains(&n.to_string()), "missing {n}: {names:?}");
        }
        let s = &files.summary;
        assert!(s.contains("Tracked TikTok tags gained 340 views in week 47, 16–22 Nov 2026 (+126.7% vs the week before)."), "{s}");
        assert!(
            s.contains(
                "Apprentices gained the most: 300 views (+200.0%), 88.2% of all tracked views."
            ),
            "{s}"
        );
        assert!(
            s.contains("Fastest-growing occupation: Apprentices (+200.0% week over week)."),
            "{s}"
        );
        assert!(s.contains("#azubi broke out."), "{s}");
        assert!(
            s.contains("Acme's share of Chefs rose to 20.0% (from 10.0%)."),
            "{s}"
        );
        // Occupations ranked by gained.
        let a = s.find("| Apprentices |").unwrap();
        let c = s.find("| Chefs |").unwrap();
        assert!(a < c);
        let html = String::from_utf8(files.files[0].1.clone()).unwrap();
        // Data quality: taxonomy tags without a figure, the gappy series, steps down.
        assert!(
            html.contains("#acme, #ausbildung, #cheflife"),
            "no-data list"
        );
        assert!(html.contains("#koch (1 gaps, longest 10.4 days)"));
        assert!(html.contains("#azubi ×2"));
        // The breakout table shows the transform's median of the previous weeks (120, not
        // the 100 a recomputation from these rows would give), then z.
        assert!(html.contains("<td>120</td><td>5.0</td>"), "{html}");
        let csv = files
            .files
            .iter()
            .find(|f| f.0.ends_with("tags.csv"))
            .unwrap();
        let csv = String::from_utf8(csv.1.clone()).unwrap();
        assert_eq!(
            csv.lines().nth(1).unwrap(),
            "2026-W47,2026-11-16,tiktok,views,azubi,Apprentices,300,,28,2,,2,,,,5,true"
        );
    }

    #[test]
    fn csv_signal_columns_are_table_columns() {
        for c in CSV_SIGNALS {
            assert!(tagpulse_model::SIGNAL_COLUMNS.contains(&c), "{c}");
        }
    }

    #[test]
    fn a_week_outside_the_data_is_a_clear_error() {
        let err = render_week(NaiveDate::from_ymd_opt(2025, 1, 6).unwrap()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no data for 2025-W02: the tables cover 2026-W46 to 2026-W47"
        );
    }
}
