//! Data quality: tags without data, gaps, step-downs, partial weeks, freshness.

use std::collections::BTreeSet;

use super::Context;
use crate::data::{SeriesRow, TagRow};
use crate::view::Quality;

/// The quality facts of the pair, from its tag rows of the week (and which of them
/// report a `gained`) and its series.
pub(crate) fn build(
    ctx: &Context,
    this_week: &[&TagRow],
    reporting: &BTreeSet<&str>,
    series: &[SeriesRow],
) -> Quality {
    let taxonomy_tags: BTreeSet<String> = ctx
        .input
        .occupations
        .iter()
        .flat_map(|o| o.tags.iter().map(|t| t.as_str().to_string()))
        .chain(
            ctx.input
                .brands
                .iter()
                .flat_map(|b| b.tags.iter().map(|t| t.as_str().to_string())),
        )
        .collect();
    let no_data: Vec<String> = taxonomy_tags
        .into_iter()
        .filter(|t| !reporting.contains(t.as_str()))
        .collect();
    let pair_series: Vec<&SeriesRow> = series
        .iter()
        .filter(|s| ctx.in_pair(&s.platform, &s.metric))
        .collect();
    let mut gapped_series: Vec<SeriesRow> = pair_series
        .iter()
        .filter(|s| s.gaps_over_max > 0)
        .map(|s| (*s).clone())
        .collect();
    gapped_series.sort_by_key(|s| std::cmp::Reverse(s.longest_gap_s));
    let mut steps_down: Vec<(String, u32)> = this_week
        .iter()
        .filter(|r| r.decreases > 0)
        .map(|r| (r.tag.clone(), r.decreases))
        .collect();
    steps_down.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let partial: Vec<(String, f64)> = this_week
        .iter()
        .filter_map(|r| r.coverage.filter(|c| *c < 1.0).map(|c| (r.tag.clone(), c)))
        .collect();
    Quality {
        no_data,
        gapped_series,
        steps_down,
        partial,
        freshest: pair_series
            .iter()
            .max_by_key(|s| s.last_s)
            .map(|s| (*s).clone()),
        stalest: pair_series
            .iter()
            .min_by_key(|s| s.last_s)
            .map(|s| (*s).clone()),
    }
}
