//! The sections of one (platform, metric) view, one module each: which tags moved
//! (`tags`), occupations and their bar chart (`occupations`), the 12-week trend
//! (`trend`), breakouts (`breakouts`), brands against their occupations (`brands`),
//! data quality (`quality`) and the opening sentences (`headline`).

mod brands;
mod breakouts;
mod headline;
mod occupations;
mod quality;
mod tags;
mod trend;

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};

use crate::charts::{self, Sparkline};
use crate::format::platform_name;
use crate::i18n::{fill, Locale, Texts};
use crate::view::MetricView;
use crate::{ReportError, ReportInput, TREND_WEEKS};
use tagpulse_model::rows::{BrandRow, OccupationRow, SeriesRow, TagRow};

/// Lines at most in the trend and brand-share charts: more are unreadable.
const TREND_LINES: usize = charts::PALETTE.len();

/// `gained` per week of one series (a tag, an occupation).
pub(crate) type History = BTreeMap<NaiveDate, Option<f64>>;

/// The weekly rows of every pair, as the report reads them.
pub(crate) struct WeekRows<'a> {
    pub tags: &'a [TagRow],
    pub occupations: &'a [OccupationRow],
    pub brands: &'a [BrandRow],
    pub series: &'a [SeriesRow],
}

/// What every section of one (platform, metric) view needs to know.
pub(crate) struct Context<'a> {
    pub input: &'a ReportInput<'a>,
    pub platform: &'a str,
    pub metric: &'a str,
    /// The reported week's Monday, and the week before.
    pub week: NaiveDate,
    pub prev: NaiveDate,
    /// The trend weeks, oldest first, ending with `week`.
    pub weeks: Vec<NaiveDate>,
    pub slug: String,
    pub label: String,
    pub source_line: String,
    /// The tags the config tracks, which have a page to link.
    pub tracked: std::collections::BTreeSet<tagpulse_config::Tag>,
    /// The report's language: numbers, dates and texts.
    pub loc: Locale,
    pub t: &'static Texts,
}

impl<'a> Context<'a> {
    pub(crate) fn new(
        input: &'a ReportInput<'a>,
        platform: &'a str,
        metric: &'a str,
        series: &[SeriesRow],
    ) -> Self {
        let week = input.week;
        let loc = Locale(input.language);
        let t = loc.texts();
        let label = format!("{} {}", platform_name(platform), t.metric(metric));
        let source_line = source_line(
            t,
            &label,
            series
                .iter()
                .filter(|s| s.platform == platform && s.metric == metric),
        );
        Context {
            input,
            platform,
            metric,
            week,
            prev: week - Duration::weeks(1),
            weeks: (0..TREND_WEEKS)
                .rev()
                .map(|k| week - Duration::weeks(k))
                .collect(),
            slug: format!("{platform}-{metric}"),
            label,
            source_line,
            tracked: tagpulse_config::tracked_tags(input.occupations, input.brands),
            loc,
            t,
        }
    }

    /// Whether `tag` has a page to link.
    fn has_page(&self, tag: &str) -> bool {
        tagpulse_config::Tag::parse(tag).is_ok_and(|t| self.tracked.contains(&t))
    }

    /// True for a row of this view's (platform, metric) pair.
    fn in_pair(&self, platform: &str, metric: &str) -> bool {
        platform == self.platform && metric == self.metric
    }

    /// The metric in words, e.g. "video views".
    fn unit(&self) -> String {
        self.t.metric(self.metric)
    }

    /// `gained` per trend week of one series.
    fn trend(&self, history: &History) -> Vec<Option<f64>> {
        self.weeks
            .iter()
            .map(|w| history.get(w).copied().flatten())
            .collect()
    }

    /// A sparkline of one series over the trend weeks, as inline SVG.
    fn spark(&self, history: &History) -> Result<String, ReportError> {
        charts::render_svg(
            &Sparkline {
                values: self.trend(history),
            },
            (120, 28),
        )
    }
}

/// The attribution under a chart of `label` (e.g. "TikTok views"): daily counts summed
/// when `series` are all daily, counter snapshots interpolated otherwise.
pub(crate) fn source_line<'s>(
    t: &Texts,
    label: &str,
    series: impl Iterator<Item = &'s SeriesRow>,
) -> String {
    let kinds: std::collections::BTreeSet<&str> = series.map(|s| s.kind.as_str()).collect();
    let template = if kinds.contains("daily") && !kinds.contains("snapshots") {
        t.source_daily
    } else {
        t.source_snapshots
    };
    fill(template, &[("label", label)])
}

/// Builds the view of one (platform, metric) pair for `input.week`.
pub(crate) fn build_view(
    input: &ReportInput,
    platform: &str,
    metric: &str,
    rows: &WeekRows,
) -> Result<MetricView, ReportError> {
    let ctx = Context::new(input, platform, metric, rows.series);
    let ctx_loc = ctx.loc;
    let tags = tags::TagSection::build(&ctx, rows.tags)?;
    let occupations = occupations::OccupationSection::build(&ctx, rows.occupations)?;
    let trend_chart = trend::chart(&ctx, &occupations)?;
    let tag_breakouts = breakouts::of_tags(&ctx, &tags)?;
    let occupation_breakouts = breakouts::of_occupations(&ctx, &occupations)?;
    let (brands, brand_chart) = brands::build(&ctx, rows.brands, &occupations.this_week)?;
    let reporting = tags.reporting();
    let quality = quality::build(&ctx, &tags.this_week, &reporting, rows.tags, rows.series);
    let mut view = MetricView {
        platform: platform.to_string(),
        metric: metric.to_string(),
        total_gained: tags.total_gained,
        total_wow: tags.total_wow,
        total_within_rounding: tags.total_within_rounding,
        tags_tracked: tags.this_week.len(),
        tags_reporting: reporting.len(),
        occupations: occupations.this_week,
        occupation_chart: occupations.chart,
        trend_chart,
        rising: tags.rising,
        falling: tags.falling,
        top_gained: tags.top_gained,
        tag_breakouts,
        occupation_breakouts,
        brands,
        brand_chart,
        quality,
        headline: Vec::new(),
        slug: ctx.slug,
        label: ctx.label,
        source_line: ctx.source_line,
    };
    let general: std::collections::BTreeSet<&str> = input
        .occupations
        .iter()
        .filter(|o| o.general)
        .map(|o| o.name.as_str())
        .collect();
    view.headline = headline::sentences(&view, input.week, &general, ctx_loc);
    Ok(view)
}

/// Each series' `gained` per week, keyed by the series' name.
fn histories<'r, R>(
    rows: &[&'r R],
    name: impl Fn(&'r R) -> &'r str,
    point: impl Fn(&R) -> (NaiveDate, Option<f64>),
) -> BTreeMap<&'r str, History> {
    let mut out: BTreeMap<&str, History> = BTreeMap::new();
    for r in rows {
        let (week, gained) = point(r);
        out.entry(name(r)).or_default().insert(week, gained);
    }
    out
}

/// Sorts largest first; a missing key sorts last.
pub(crate) fn sort_desc<T>(v: &mut [T], key: impl Fn(&T) -> Option<f64>) {
    v.sort_by(|a, b| {
        let (a, b) = (
            key(a).unwrap_or(f64::NEG_INFINITY),
            key(b).unwrap_or(f64::NEG_INFINITY),
        );
        b.total_cmp(&a)
    });
}
