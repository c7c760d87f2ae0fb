//! Occupations ranked by what they gained this week, as a table and a bar chart.

use std::collections::BTreeMap;

use super::{histories, sort_desc, Context, History};
use crate::charts::{self, BarChart, Chart};
use crate::i18n::fill;
use crate::ReportError;
use tagpulse_model::rows::OccupationRow;

/// The pair's occupation rows and the bar chart of the week.
pub(crate) struct OccupationSection<'r> {
    /// `gained` per week, per occupation.
    pub history: BTreeMap<&'r str, History>,
    /// The week's rows, largest gained first.
    pub this_week: Vec<OccupationRow>,
    pub chart: Option<Chart>,
}

impl<'r> OccupationSection<'r> {
    /// Builds the section from every occupation row of the report.
    pub(super) fn build(ctx: &Context, rows: &'r [OccupationRow]) -> Result<Self, ReportError> {
        let pair_rows: Vec<&OccupationRow> = rows
            .iter()
            .filter(|r| ctx.in_pair(&r.platform, &r.metric))
            .collect();
        let history = histories(
            &pair_rows,
            |r| r.occupation.as_str(),
            |r| (r.week_start, r.gained),
        );
        let mut this_week: Vec<OccupationRow> = pair_rows
            .iter()
            .filter(|r| r.week_start == ctx.week)
            .map(|r| (*r).clone())
            .collect();
        sort_desc(&mut this_week, |r| r.gained);
        let chart = bar_chart(ctx, &this_week)?;
        Ok(OccupationSection {
            history,
            this_week,
            chart,
        })
    }
}

/// The week's occupations as horizontal bars, coloured by week-over-week direction (grey
/// for a change within rounding: no direction to show).
fn bar_chart(ctx: &Context, this_week: &[OccupationRow]) -> Result<Option<Chart>, ReportError> {
    let bars: Vec<(String, f64, Option<f64>)> = this_week
        .iter()
        .filter_map(|r| {
            let change = r.wow_growth.filter(|_| !r.within_rounding);
            r.gained.map(|g| (r.occupation.clone(), g, change))
        })
        .collect();
    if bars.is_empty() {
        return Ok(None);
    }
    let height = 120 + 30 * bars.len() as u32;
    let unit = ctx.unit();
    Ok(Some(charts::render(
        &format!("occupations-{}", ctx.slug),
        &BarChart {
            title: fill(
                ctx.t.chart_occupations_title,
                &[("unit", &unit), ("week", &ctx.loc.week_title(ctx.week))],
            ),
            x_label: fill(ctx.t.chart_occupations_x, &[("unit", &unit)]),
            loc: ctx.loc,
            source: ctx.source_line.clone(),
            bars,
        },
        (960, height.max(300)),
    )?))
}
