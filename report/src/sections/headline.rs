//! The opening sentences of a view: the week in three to five plain lines.

use chrono::NaiveDate;

use super::metric_unit;
use crate::format::{human, pct, platform_name, share, week_title};
use crate::view::MetricView;

/// Three to five plain sentences on the week.
pub(crate) fn sentences(p: &MetricView, week: NaiveDate) -> Vec<String> {
    let unit = metric_unit(&p.metric);
    let mut out = Vec::new();
    match p.total_gained {
        Some(g) => out.push(format!(
            "Tracked {} tags gained {} {unit} in {}{}.",
            platform_name(&p.platform),
            human(Some(g)),
            week_title(week),
            match p.total_wow {
                Some(w) => format!(" ({} vs the week before)", pct(Some(w))),
                None => String::new(),
            }
        )),
        None => out.push(format!(
            "No tracked tag has a complete {unit} figure for {}.",
            week_title(week)
        )),
    }
    if let Some(top) = p.occupations.iter().find(|o| o.gained.is_some()) {
        out.push(format!(
            "{} gained the most: {} {unit}{}{}.",
            top.occupation,
            human(top.gained),
            match top.signals.wow_growth {
                Some(w) => format!(" ({})", pct(Some(w))),
                None => String::new(),
            },
            match top.share {
                Some(s) => format!(", {} of all tracked {unit}", share(Some(s))),
                None => String::new(),
            }
        ));
    }
    let fastest = p
        .occupations
        .iter()
        .filter(|o| o.signals.wow_growth.is_some() && o.gained.is_some_and(|g| g > 0.0))
        .max_by(|a, b| {
            a.signals
                .wow_growth
                .unwrap_or(0.0)
                .total_cmp(&b.signals.wow_growth.unwrap_or(0.0))
        });
    if let Some(f) = fastest.filter(|f| f.signals.wow_growth > Some(0.0)) {
        out.push(format!(
            "Fastest-growing occupation: {} ({} week over week).",
            f.occupation,
            pct(f.signals.wow_growth)
        ));
    }
    let names: Vec<String> = p
        .tag_breakouts
        .iter()
        .chain(&p.occupation_breakouts)
        .map(|b| b.name.clone())
        .collect();
    out.push(match names.len() {
        0 => "Nothing broke out this week.".into(),
        1 => format!("{} broke out.", names[0]),
        _ => format!("Breakouts: {}.", names.join(", ")),
    });
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
    out
}
