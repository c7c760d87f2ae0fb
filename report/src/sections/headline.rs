//! The opening sentences of a view: the week's news in three to five plain lines.
//!
//! News first: what broke out (by z, three named at most), the occupation that rose most
//! beyond the counters' rounding, the brand's share move; then the largest occupation.
//! The total over all tags is a KPI tile, not a sentence: a sum over unrelated tags is
//! not news. Generic groups (`general = true`) are never named the fastest-growing
//! or the largest occupation.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use super::metric_unit;
use crate::format::{human, pct, platform_name, share, week_title};
use crate::view::{Breakout, MetricView};

/// Breakouts named in the headline; the rest are counted.
const NAMED_BREAKOUTS: usize = 3;

/// "+660.0% week over week", or "within rounding of last week", or nothing.
fn change_words(wow: Option<f64>, within_rounding: bool) -> Option<String> {
    if within_rounding {
        return Some("within rounding of last week".into());
    }
    wow.map(|w| format!("{} week over week", pct(Some(w))))
}

fn breakout_words(b: &Breakout) -> String {
    let mut parts = vec![format!("z {:.1}", b.z.unwrap_or_default())];
    parts.extend(change_words(b.wow, b.within_rounding));
    format!("{} ({})", b.name, parts.join(", "))
}

/// Three to five plain sentences on the week; `general` names the generic groups.
pub(crate) fn sentences(p: &MetricView, week: NaiveDate, general: &BTreeSet<&str>) -> Vec<String> {
    let unit = metric_unit(&p.metric);
    let mut out = Vec::new();
    if p.total_gained.is_none() {
        out.push(format!(
            "No tracked {} tag has a complete {unit} figure for {}.",
            platform_name(&p.platform),
            week_title(week)
        ));
    }
    let mut breakouts: Vec<&Breakout> = p
        .tag_breakouts
        .iter()
        .chain(&p.occupation_breakouts)
        .collect();
    breakouts.sort_by(|a, b| b.z.unwrap_or(0.0).total_cmp(&a.z.unwrap_or(0.0)));
    let named: Vec<String> = breakouts
        .iter()
        .take(NAMED_BREAKOUTS)
        .map(|b| breakout_words(b))
        .collect();
    let rest = breakouts.len().saturating_sub(NAMED_BREAKOUTS);
    out.push(match (named.len(), rest) {
        (0, _) => "Nothing broke out this week.".into(),
        (_, 0) => format!("Broke out: {}.", named.join(", ")),
        _ => format!("Broke out: {}, and {rest} more.", named.join(", ")),
    });
    let occupations = || {
        p.occupations
            .iter()
            .filter(|o| !general.contains(o.occupation.as_str()))
    };
    let fastest = occupations()
        .filter(|o| o.gained.is_some_and(|g| g > 0.0) && !o.within_rounding)
        .filter(|o| o.wow_growth.is_some_and(|w| w > 0.0))
        .max_by(|a, b| {
            a.wow_growth
                .unwrap_or(0.0)
                .total_cmp(&b.wow_growth.unwrap_or(0.0))
        });
    match fastest {
        Some(f) => out.push(format!(
            "Fastest-growing occupation: {} ({} week over week).",
            f.occupation,
            pct(f.wow_growth)
        )),
        None if p.occupations.iter().any(|o| o.gained.is_some()) => {
            out.push("No occupation grew beyond the counters' rounding this week.".to_string())
        }
        None => {}
    }
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
    if let Some(top) = occupations().find(|o| o.gained.is_some()) {
        out.push(format!(
            "{} gained the most: {} {unit}{}.",
            top.occupation,
            human(top.gained),
            match top.share {
                Some(s) => format!(", {} of all tracked {unit}", share(Some(s))),
                None => String::new(),
            }
        ));
    }
    out
}
