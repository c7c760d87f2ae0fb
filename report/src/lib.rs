//! The weekly employer-branding report.
//!
//! [`render`] turns the weekly tables of one week into files: a self-contained
//! `index.html` (inline CSS and SVG, no JavaScript), the charts as PNG and SVG for slides,
//! `occupations.csv` / `tags.csv` for spreadsheets and `summary.md` for e-mail or chat.
//! It reads nothing but its arguments; [`ReportFiles::write_into`] writes the files.
//!
//! The rows are read through the table definitions (`data`), each (platform, metric)
//! pair becomes a page model built section by section (`sections/`, into `view`), and
//! the writers (`html`, `csv`, `markdown`) print that one model.
//! Values of different platforms or metrics are never added: each (platform, metric)
//! pair gets its own panel.

pub mod charts;
pub mod compare;
mod csv;
pub mod format;
mod html;
pub mod i18n;
mod markdown;
mod sections;
pub mod tag_pages;
mod view;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use tagpulse_config::{iso_week_label, Brand, Occupation};
use tagpulse_model::{rows, WeeklyTables};

use i18n::{fill, Language, Locale};
use view::Page;

/// Weeks shown in trend charts and sparklines.
pub const TREND_WEEKS: i64 = 12;

/// Rendering failed.
#[derive(Debug, thiserror::Error)]
#[allow(missing_docs)] // its fields are the values its messages show
pub enum ReportError {
    /// The embedded font could not be registered.
    #[error("cannot register the embedded font")]
    Font,
    /// A chart could not be drawn.
    #[error("chart {name}")]
    Chart {
        name: String,
        /// Why.
        source: charts::DrawError,
    },
    /// The tables lack what the report needs.
    #[error("bad report input: {0}")]
    Input(String),
    /// A table's frame does not hold its rows.
    #[error("bad report input: {0}")]
    Rows(#[from] tagpulse_model::rows::RowError),
    /// The requested week has no data.
    #[error("no data for {week}: the tables cover {first} to {last}")]
    NoSuchWeek {
        week: String,
        /// First week in the data.
        first: String,
        /// Last week in the data.
        last: String,
    },
    /// A comparison that cannot be made.
    #[error(transparent)]
    Compare(#[from] compare::CompareError),
    /// The weekly tables are empty.
    #[error("the weekly tables are empty: import observations and run `tagpulse transform` first")]
    Empty,
    /// Writing a file failed.
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Everything the report is made from.
pub struct ReportInput<'a> {
    /// The weekly tables the report reads (one generation).
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
    /// True when the week is not complete yet (rendered on request, with a banner).
    pub incomplete: bool,
    /// When the report is generated.
    pub generated_at: DateTime<Utc>,
    /// The language the report is written in.
    pub language: Language,
    /// The CSV delimiter; `None`: `,` in English, `;` in Dutch and German.
    pub csv_delimiter: Option<char>,
    /// Where the reports are published (`[report] base_url`): the summary's link is
    /// absolute when set.
    pub base_url: Option<String>,
    /// The published weeks just before and after this one (folder names), linked from
    /// the page; `None` when there is none yet.
    pub neighbours: (Option<String>, Option<String>),
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
            if let Some(parent) = p.parent().filter(|d| !d.is_dir()) {
                std::fs::create_dir_all(parent).map_err(|source| ReportError::Io {
                    path: parent.display().to_string(),
                    source,
                })?;
            }
            std::fs::write(&p, bytes).map_err(|source| ReportError::Io {
                path: p.display().to_string(),
                source,
            })?;
        }
        Ok(())
    }
}

/// Renders the report for `input.week`.
pub fn render(input: &ReportInput) -> Result<ReportFiles, ReportError> {
    let tags = rows::tag_rows(&input.tables.tags)?;
    let occupations = rows::occupation_rows(&input.tables.occupations)?;
    let brands = rows::brand_rows(&input.tables.brands)?;
    let series = rows::series_rows(input.series)?;
    if tags.is_empty() {
        return Err(ReportError::Empty);
    }
    let first = tags.iter().map(|r| r.week_start).min().expect("non-empty");
    let last = tags.iter().map(|r| r.week_start).max().expect("non-empty");
    if !tags.iter().any(|r| r.week_start == input.week) {
        return Err(ReportError::NoSuchWeek {
            week: iso_week_label(input.week),
            first: iso_week_label(first),
            last: iso_week_label(last),
        });
    }
    let rows = sections::WeekRows {
        tags: &tags,
        occupations: &occupations,
        brands: &brands,
        series: &series,
    };
    let pairs: BTreeSet<(String, String)> = tags
        .iter()
        .filter(|r| r.week_start == input.week)
        .map(|r| (r.platform.clone(), r.metric.clone()))
        .collect();
    let mut views = Vec::new();
    for (platform, metric) in pairs {
        views.push(sections::build_view(input, &platform, &metric, &rows)?);
    }
    // The pair with the most activity leads the page.
    sections::sort_desc(&mut views, |v| v.total_gained);
    let week_label = iso_week_label(input.week);
    let loc = Locale(input.language);
    let downloads = ["occupations.csv", "tags.csv", "brands.csv", "summary.md"]
        .into_iter()
        .filter(|f| *f != "brands.csv" || !input.brands.is_empty())
        .map(String::from)
        .chain(
            views
                .iter()
                .flat_map(|v| v.charts().map(|c| format!("{}.png", c.name))),
        )
        .collect();
    let page = Page {
        week: input.week,
        title: fill(
            loc.texts().page_title,
            &[("week", &loc.week_title(input.week))],
        ),
        loc,
        week_label: week_label.clone(),
        views,
        data_range: series
            .iter()
            .map(|s| (s.first_s, s.last_s))
            .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1))),
        sources: input.sources.clone(),
        synthetic: input.synthetic,
        incomplete: input.incomplete,
        generated_at: input.generated_at,
        max_gap_secs: input.max_gap_secs,
        has_brands: !input.brands.is_empty(),
        previous: input.neighbours.0.clone(),
        next: input.neighbours.1.clone(),
        downloads,
    };
    let mut files = vec![(PathBuf::from("index.html"), html::page(&page).into_bytes())];
    for v in &page.views {
        for c in v.charts() {
            files.push((PathBuf::from(format!("{}.png", c.name)), c.png.clone()));
            files.push((
                PathBuf::from(format!("{}.svg", c.name)),
                c.svg.clone().into_bytes(),
            ));
        }
    }
    let by_tag = tagpulse_config::occupations_by_tag(input.occupations);
    let style = csv::CsvStyle::new(input.language, input.csv_delimiter);
    files.push((
        PathBuf::from("occupations.csv"),
        csv::occupations_csv(style, &occupations, input.week)?,
    ));
    files.push((
        PathBuf::from("tags.csv"),
        csv::tags_csv(style, &tags, input.week, by_tag)?,
    ));
    if !input.brands.is_empty() {
        files.push((
            PathBuf::from("brands.csv"),
            csv::brands_csv(style, &brands, input.week)?,
        ));
    }
    files.extend(tag_pages::pages(input, loc, &tags, &series)?);
    let summary = markdown::summary(&page, input.base_url.as_deref());
    files.push((PathBuf::from("summary.md"), summary.clone().into_bytes()));
    let entry = WeekEntry {
        week: week_label.clone(),
        title: loc.week_title(input.week),
        headline: page
            .views
            .first()
            .and_then(|v| v.headline.first())
            .cloned()
            .unwrap_or_default(),
    };
    files.push((PathBuf::from(WEEK_ENTRY), entry.to_json().into_bytes()));
    Ok(ReportFiles {
        week_label,
        files,
        summary,
    })
}

/// The file in each week folder that the list of weeks reads.
pub const WEEK_ENTRY: &str = "week.json";

/// What the list of weeks shows of one week, kept in its folder as [`WEEK_ENTRY`].
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct WeekEntry {
    /// The folder name, e.g. `2026-W46`.
    pub week: String,
    /// The week's dates in the report's language.
    pub title: String,
    /// The first headline sentence of the leading panel.
    pub headline: String,
}

impl WeekEntry {
    /// The entry as the JSON stored in the week folder.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plain strings serialise")
    }

    /// The entry of a week folder's [`WEEK_ENTRY`] text; `None` when it does not parse.
    pub fn from_json(text: &str) -> Option<WeekEntry> {
        serde_json::from_str(text).ok()
    }
}

pub use html::relink;

/// `reports/index.html`: the weekly reports, newest first, and apart from them the
/// previews of weeks that were not complete when rendered, each with its dates and
/// first headline sentence where its folder has them.
pub fn index_page(language: Language, reports: &[WeekEntry], previews: &[WeekEntry]) -> String {
    html::index(Locale(language), reports, previews)
}

#[cfg(test)]
mod tests;
