//! The page model: what the HTML, Markdown and CSV writers print, built once by
//! [`crate::sections`] from the weekly rows.

use chrono::{DateTime, NaiveDate, Utc};

use crate::charts::Chart;
use tagpulse_model::rows::{OccupationRow, SeriesRow, TagRow};

/// Everything the page shows for one (platform, metric) pair, e.g. TikTok views.
///
/// Values of different platforms or metrics are never added, so each pair is its own
/// part of the page with its own totals, tables and charts.
pub(crate) struct MetricView {
    pub platform: String,
    pub metric: String,
    /// `<platform>-<metric>`, used in chart file names and HTML anchors.
    pub slug: String,
    /// Human name, e.g. "TikTok views".
    pub label: String,
    /// The attribution line printed under every chart.
    pub source_line: String,
    pub total_gained: Option<f64>,
    pub total_wow: Option<f64>,
    /// The total's change is no larger than the summed rounding steps of its tags.
    pub total_within_rounding: bool,
    pub tags_tracked: usize,
    pub tags_reporting: usize,
    /// The week's occupation rows, largest gained first.
    pub occupations: Vec<OccupationRow>,
    pub occupation_chart: Option<Chart>,
    pub trend_chart: Option<Chart>,
    pub rising: Vec<TagLine>,
    pub falling: Vec<TagLine>,
    pub top_gained: Vec<TagLine>,
    pub tag_breakouts: Vec<Breakout>,
    pub occupation_breakouts: Vec<Breakout>,
    pub brands: Vec<BrandLine>,
    pub brand_chart: Option<Chart>,
    pub quality: Quality,
    /// Plain sentences that open the section.
    pub headline: Vec<String>,
}

impl MetricView {
    /// The view's charts that were drawn (each is a PNG and an SVG file of the week).
    pub(crate) fn charts(&self) -> impl Iterator<Item = &Chart> {
        [&self.occupation_chart, &self.trend_chart, &self.brand_chart]
            .into_iter()
            .flatten()
    }
}

/// A tag in a "moved most" table.
pub(crate) struct TagLine {
    pub row: TagRow,
    /// The tag is tracked, so it has a page to link.
    pub page: bool,
    /// The tag's occupations (or its brand), comma-separated.
    pub occupations: String,
    /// Inline SVG of the tag's gained over the trend weeks.
    pub spark: String,
}

/// A breakout with the context that explains it.
pub(crate) struct Breakout {
    pub name: String,
    /// The tag, for a tag's breakout (its page is linked).
    pub tag: Option<String>,
    pub gained: Option<f64>,
    pub z: Option<f64>,
    /// The median gained of the weeks before, as the transform computed it for `z`.
    pub z_median: Option<f64>,
    pub wow: Option<f64>,
    /// `wow` is no larger than the counter's rounding step.
    pub within_rounding: bool,
    pub spark: String,
}

/// A brand vs one of its occupations this week.
pub(crate) struct BrandLine {
    pub brand: String,
    pub occupation: String,
    pub gained: Option<f64>,
    pub occupation_gained: Option<f64>,
    pub share: Option<f64>,
    pub prev_share: Option<f64>,
}

/// The data-quality facts of one (platform, metric) pair, within the trend weeks.
pub(crate) struct Quality {
    /// Taxonomy and brand tags with no `gained` this week.
    pub no_data: Vec<String>,
    /// Runs of weeks inside a series without a figure, longest first.
    pub gaps: Vec<Gap>,
    /// (tag, [(week, step-downs)]), most first.
    pub steps_down: Vec<(String, Vec<(NaiveDate, u32)>)>,
    /// (tag, coverage) of daily series with missing days this week.
    pub partial: Vec<(String, f64)>,
    /// Series seen in the trend weeks but not since the reported week began, stalest first.
    pub stale: Vec<SeriesRow>,
    pub freshest: Option<SeriesRow>,
}

/// Consecutive weeks of one series without a `gained` (a gap over max_gap, or no day).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Gap {
    pub tag: String,
    /// The first week's Monday and the last week's Sunday.
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub weeks: u32,
}

/// The whole page's model.
pub(crate) struct Page {
    /// The language and its number and date formats.
    pub loc: crate::i18n::Locale,
    pub week: NaiveDate,
    pub week_label: String,
    pub title: String,
    /// One view per (platform, metric) pair, most active first.
    pub views: Vec<MetricView>,
    /// (first, last) observation time over all series, UNIX seconds.
    pub data_range: Option<(i64, i64)>,
    pub sources: Vec<String>,
    pub synthetic: bool,
    /// The week is not complete: its figures will change.
    pub incomplete: bool,
    pub generated_at: DateTime<Utc>,
    pub max_gap_secs: i64,
    pub has_brands: bool,
    /// The published weeks before and after this one (folder names), for the links.
    pub previous: Option<String>,
    pub next: Option<String>,
    /// The week folder's files a reader may download (CSV, Markdown, PNG charts).
    pub downloads: Vec<String>,
}

/// A tag's page: one panel per platform and metric it has in the window.
pub(crate) struct TagPage {
    pub loc: crate::i18n::Locale,
    pub tag: String,
    pub week: NaiveDate,
    pub week_label: String,
    /// The taxonomy's occupations of the tag.
    pub occupations: Vec<String>,
    pub panels: Vec<TagPanel>,
    pub synthetic: bool,
}

/// One platform and metric of a tag's page.
pub(crate) struct TagPanel {
    /// e.g. "TikTok views".
    pub label: String,
    /// The metric in words.
    pub unit: String,
    /// The window's rows, newest first.
    pub rows: Vec<TagRow>,
    pub gained_chart: Chart,
    pub total_chart: Option<Chart>,
    /// Data-quality sentences.
    pub notes: Vec<String>,
}
