//! The tags that moved: rising and falling week over week, and the largest gains.

use std::collections::{BTreeMap, BTreeSet};

use super::{histories, sort_desc, Context, History};
use crate::view::TagLine;
use crate::ReportError;
use tagpulse_model::rows::TagRow;

/// The pair's tag rows and the tables built from them.
pub(crate) struct TagSection<'r> {
    /// The pair's tag rows of the reported week.
    pub this_week: Vec<&'r TagRow>,
    /// `gained` per week, per tag.
    pub history: BTreeMap<&'r str, History>,
    pub total_gained: Option<f64>,
    /// The change of the summed `gained` against the week before.
    pub total_wow: Option<f64>,
    /// That change is no larger than the summed rounding steps of the week's tags.
    pub total_within_rounding: bool,
    pub rising: Vec<TagLine>,
    pub falling: Vec<TagLine>,
    pub top_gained: Vec<TagLine>,
}

impl<'r> TagSection<'r> {
    /// Builds the section from every tag row of the report.
    pub(super) fn build(ctx: &Context, rows: &'r [TagRow]) -> Result<Self, ReportError> {
        let pair_rows: Vec<&TagRow> = rows
            .iter()
            .filter(|r| ctx.in_pair(&r.platform, &r.metric))
            .collect();
        let history = histories(&pair_rows, |r| r.tag.as_str(), |r| (r.week_start, r.gained));
        let this_week: Vec<&TagRow> = pair_rows
            .iter()
            .copied()
            .filter(|r| r.week_start == ctx.week)
            .collect();
        let total_gained = sum_known(this_week.iter().map(|r| r.gained));
        let prev_total = sum_known(
            pair_rows
                .iter()
                .filter(|r| r.week_start == ctx.prev)
                .map(|r| r.gained),
        );
        let total_wow = match (total_gained, prev_total) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b - 1.0),
            _ => None,
        };
        let total_resolution = this_week
            .iter()
            .filter(|r| r.gained.is_some())
            .map(|r| r.resolution.unwrap_or(0.0))
            .sum::<f64>();
        let total_within_rounding = tagpulse_model::signal::within_rounding(
            total_gained,
            prev_total,
            Some(total_resolution),
        );

        let labels = occupation_labels(ctx);
        let line = |r: &TagRow| -> Result<TagLine, ReportError> {
            let occupations = tagpulse_config::Tag::parse(&r.tag)
                .ok()
                .and_then(|t| labels.get(&t).cloned())
                .unwrap_or_default()
                .join(", ");
            Ok(TagLine {
                page: ctx.has_page(&r.tag),
                row: r.clone(),
                occupations,
                spark: ctx.spark(&history[r.tag.as_str()])?,
            })
        };
        let n = ctx.input.top_n;
        // Growth is only meaningful for tags that gained this week, and a change within
        // the counter's rounding is neither a rise nor a fall.
        let mut by_wow: Vec<&TagRow> = this_week
            .iter()
            .copied()
            .filter(|r| r.wow_growth.is_some() && r.gained.is_some_and(|g| g > 0.0))
            .filter(|r| !r.within_rounding)
            .collect();
        sort_desc(&mut by_wow, |r| r.wow_growth);
        let rising = by_wow
            .iter()
            .filter(|r| r.wow_growth > Some(0.0))
            .take(n)
            .map(|r| line(r))
            .collect::<Result<Vec<_>, _>>()?;
        let falling = by_wow
            .iter()
            .rev()
            .filter(|r| r.wow_growth < Some(0.0))
            .take(n)
            .map(|r| line(r))
            .collect::<Result<Vec<_>, _>>()?;
        let mut by_gained: Vec<&TagRow> = this_week
            .iter()
            .copied()
            .filter(|r| r.gained.is_some())
            .collect();
        sort_desc(&mut by_gained, |r| r.gained);
        let top_gained = by_gained
            .iter()
            .take(n)
            .map(|r| line(r))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TagSection {
            this_week,
            history,
            total_gained,
            total_wow,
            total_within_rounding,
            rising,
            falling,
            top_gained,
        })
    }

    /// The tags with a `gained` this week.
    pub(super) fn reporting(&self) -> BTreeSet<&'r str> {
        self.this_week
            .iter()
            .filter(|r| r.gained.is_some())
            .map(|r| r.tag.as_str())
            .collect()
    }
}

/// The sum of the known values, or `None` when none is known.
fn sum_known(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let v: Vec<f64> = values.flatten().collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>())
}

/// Each tag's occupations; a brand tag with no occupation is labelled with its brand.
fn occupation_labels(ctx: &Context) -> BTreeMap<tagpulse_config::Tag, Vec<String>> {
    let mut labels = tagpulse_config::occupations_by_tag(ctx.input.occupations);
    for b in ctx.input.brands {
        for t in &b.tags {
            labels
                .entry(t.clone())
                .or_insert_with(|| vec![crate::i18n::fill(ctx.t.brand_tag, &[("brand", &b.name)])]);
        }
    }
    labels
}
