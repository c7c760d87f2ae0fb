//! Breakouts: tags and occupations whose week stands far above their recent weeks.

use super::occupations::OccupationSection;
use super::tags::TagSection;
use super::{Context, History};
use crate::view::Breakout;
use crate::ReportError;
use tagpulse_model::rows::Signals;

/// The week's breaking-out tags, in the order of the tag rows.
pub(crate) fn of_tags(ctx: &Context, tags: &TagSection) -> Result<Vec<Breakout>, ReportError> {
    tags.this_week
        .iter()
        .filter(|r| r.breakout)
        .map(|r| {
            breakout(
                ctx,
                ctx.has_page(&r.tag).then(|| r.tag.clone()),
                format!("#{}", r.tag),
                r.gained,
                &r.signals(),
                &tags.history[r.tag.as_str()],
            )
        })
        .collect()
}

/// The week's breaking-out occupations, largest gained first.
pub(crate) fn of_occupations(
    ctx: &Context,
    occupations: &OccupationSection,
) -> Result<Vec<Breakout>, ReportError> {
    occupations
        .this_week
        .iter()
        .filter(|r| r.breakout)
        .map(|r| {
            breakout(
                ctx,
                None,
                r.occupation.clone(),
                r.gained,
                &r.signals(),
                &occupations.history[r.occupation.as_str()],
            )
        })
        .collect()
}

fn breakout(
    ctx: &Context,
    tag: Option<String>,
    name: String,
    gained: Option<f64>,
    signals: &Signals,
    history: &History,
) -> Result<Breakout, ReportError> {
    Ok(Breakout {
        tag,
        name,
        gained,
        z: signals.z,
        z_median: signals.z_median,
        wow: signals.wow_growth,
        within_rounding: signals.within_rounding,
        spark: ctx.spark(history)?,
    })
}
