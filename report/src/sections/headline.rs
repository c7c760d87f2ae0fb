//! The opening sentences of a view: the week's news in three to five plain lines.
//!
//! News first: what broke out (by z, three named at most), the occupation that rose most
//! beyond the counters' rounding, the brand's share move; then the largest occupation.
//! The total over all tags is a KPI tile, not a sentence: a sum over unrelated tags is
//! not news. Generic groups (`general = true`) are never named the fastest-growing
//! or the largest occupation.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use crate::format::platform_name;
use crate::i18n::{fill, Locale};
use crate::view::{Breakout, MetricView};

/// Breakouts named in the headline; the rest are counted.
const NAMED_BREAKOUTS: usize = 3;

/// "+660.0% week over week", or "within rounding of last week", or nothing.
fn change_words(loc: Locale, wow: Option<f64>, within_rounding: bool) -> Option<String> {
    let t = loc.texts();
    if within_rounding {
        return Some(t.hl_within_rounding.into());
    }
    wow.map(|w| fill(t.hl_wow, &[("pct", &loc.pct(Some(w)))]))
}

fn breakout_words(loc: Locale, b: &Breakout) -> String {
    let mut parts = vec![format!("z {}", loc.decimal(b.z.unwrap_or_default(), 1))];
    parts.extend(change_words(loc, b.wow, b.within_rounding));
    format!("{} ({})", b.name, parts.join(", "))
}

/// Three to five plain sentences on the week; `general` names the generic groups.
pub(crate) fn sentences(
    p: &MetricView,
    week: NaiveDate,
    general: &BTreeSet<&str>,
    loc: Locale,
) -> Vec<String> {
    let t = loc.texts();
    let unit = t.metric(&p.metric);
    let mut out = Vec::new();
    if p.total_gained.is_none() {
        out.push(fill(
            t.hl_no_complete,
            &[
                ("platform", &platform_name(&p.platform)),
                ("unit", &unit),
                ("week", &loc.week_title(week)),
            ],
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
        .map(|b| breakout_words(loc, b))
        .collect();
    let rest = breakouts.len().saturating_sub(NAMED_BREAKOUTS);
    let names = named.join(", ");
    out.push(match (named.len(), rest) {
        (0, _) => t.hl_nothing.into(),
        (_, 0) => fill(t.hl_broke_out, &[("names", &names)]),
        _ => fill(
            t.hl_broke_out_more,
            &[("names", &names), ("rest", &rest.to_string())],
        ),
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
        Some(f) => out.push(fill(
            t.hl_fastest,
            &[
                ("occupation", &f.occupation),
                ("pct", &loc.pct(f.wow_growth)),
            ],
        )),
        None if p.occupations.iter().any(|o| o.gained.is_some()) => {
            out.push(t.hl_none_grew.to_string())
        }
        None => {}
    }
    if let Some(b) = p.brands.iter().find(|b| b.share.is_some()) {
        let (now, before) = (loc.share(b.share), loc.share(b.prev_share));
        let template = match (b.share, b.prev_share) {
            (Some(s), Some(q)) if s > q => t.hl_share_rose,
            (Some(s), Some(q)) if s < q => t.hl_share_fell,
            _ => t.hl_share_was,
        };
        out.push(fill(
            template,
            &[
                ("brand", &b.brand),
                ("occupation", &b.occupation),
                ("now", &now),
                ("before", &before),
            ],
        ));
    }
    if let Some(top) = occupations().find(|o| o.gained.is_some()) {
        let gained = loc.human(top.gained);
        let share = loc.share(top.share);
        let values = [
            ("occupation", top.occupation.as_str()),
            ("gained", &gained),
            ("unit", &unit),
            ("share", &share),
        ];
        out.push(match top.share {
            Some(_) => fill(t.hl_top_share, &values),
            None => fill(t.hl_top, &values),
        });
    }
    out
}
