//! The 12-week trend of the occupations that gained most this week.

use super::occupations::OccupationSection;
use super::{Context, TREND_LINES};
use crate::charts::{self, Chart, LineChart, Scale};
use crate::i18n::fill;
use crate::{ReportError, TREND_WEEKS};

/// One line per leading occupation; log scale when their sizes differ widely.
pub(crate) fn chart(
    ctx: &Context,
    occupations: &OccupationSection,
) -> Result<Option<Chart>, ReportError> {
    let series: Vec<(String, Vec<Option<f64>>)> = occupations
        .this_week
        .iter()
        .filter(|r| r.gained.is_some())
        .take(ctx.input.top_n.min(TREND_LINES))
        .map(|r| {
            (
                r.occupation.clone(),
                ctx.trend(&occupations.history[r.occupation.as_str()]),
            )
        })
        .collect();
    if series.is_empty() {
        return Ok(None);
    }
    let scale = LineChart::pick_scale(&series);
    let unit = ctx.unit();
    Ok(Some(charts::render(
        &format!("trend-{}", ctx.slug),
        &LineChart {
            band: Vec::new(),
            marked: Default::default(),
            title: fill(
                ctx.t.chart_trend_title,
                &[("unit", &unit), ("weeks", &TREND_WEEKS.to_string())],
            ),
            y_label: format!(
                "{}{}",
                fill(ctx.t.chart_trend_y, &[("unit", &unit)]),
                if scale == Scale::Log {
                    ctx.t.log_scale
                } else {
                    ""
                }
            ),
            loc: ctx.loc,
            source: ctx.source_line.clone(),
            weeks: ctx.weeks.clone(),
            series,
            scale,
        },
        (960, 460),
    )?))
}
