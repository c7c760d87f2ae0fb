//! Brands against their occupations: this week's share and its 12-week line.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use super::{Context, TREND_LINES};
use crate::charts::{self, Chart, LineChart, Scale};
use crate::i18n::fill;
use crate::view::BrandLine;
use crate::{ReportError, TREND_WEEKS};
use tagpulse_model::rows::{BrandRow, OccupationRow};

/// One line per (brand, occupation) with a row this week, and the share chart.
pub(crate) fn build(
    ctx: &Context,
    rows: &[BrandRow],
    occupations_this_week: &[OccupationRow],
) -> Result<(Vec<BrandLine>, Option<Chart>), ReportError> {
    let pair_rows: Vec<&BrandRow> = rows
        .iter()
        .filter(|r| ctx.in_pair(&r.platform, &r.metric))
        .collect();
    let occupation_gained: BTreeMap<&str, Option<f64>> = occupations_this_week
        .iter()
        .map(|r| (r.occupation.as_str(), r.gained))
        .collect();
    let mut lines = Vec::new();
    let mut share_series = Vec::new();
    let pairs: BTreeSet<(&str, &str)> = pair_rows
        .iter()
        .map(|r| (r.brand.as_str(), r.occupation.as_str()))
        .collect();
    for (brand, occupation) in pairs {
        // (gained, brand_share) per week.
        let history: BTreeMap<NaiveDate, (Option<f64>, Option<f64>)> = pair_rows
            .iter()
            .filter(|r| r.brand == brand && r.occupation == occupation)
            .map(|r| (r.week_start, (r.gained, r.brand_share)))
            .collect();
        let Some(now) = history.get(&ctx.week) else {
            continue;
        };
        lines.push(BrandLine {
            brand: brand.to_string(),
            occupation: occupation.to_string(),
            gained: now.0,
            occupation_gained: occupation_gained.get(occupation).copied().flatten(),
            share: now.1,
            prev_share: history.get(&ctx.prev).and_then(|p| p.1),
        });
        share_series.push((
            fill(
                ctx.t.brand_in,
                &[("brand", brand), ("occupation", occupation)],
            ),
            ctx.weeks
                .iter()
                .map(|w| history.get(w).and_then(|p| p.1))
                .collect::<Vec<_>>(),
        ));
    }
    if share_series.is_empty() {
        return Ok((lines, None));
    }
    let chart = charts::render(
        &format!("brand-share-{}", ctx.slug),
        &LineChart {
            band: Vec::new(),
            marked: Default::default(),
            title: fill(
                ctx.t.chart_brand_title,
                &[("unit", &ctx.unit()), ("weeks", &TREND_WEEKS.to_string())],
            ),
            y_label: ctx.t.chart_brand_y.into(),
            loc: ctx.loc,
            source: ctx.source_line.clone(),
            weeks: ctx.weeks.clone(),
            series: share_series.into_iter().take(TREND_LINES).collect(),
            scale: Scale::Percent,
        },
        (960, 420),
    )?;
    Ok((lines, Some(chart)))
}
