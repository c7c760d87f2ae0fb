//! One page per tracked tag of the week (`tags/<tag>.html`: the config's occupation and
//! brand tags), linked from every table that names the tag: its last 52 weeks per platform and metric (gained with the rounding band and
//! breakouts marked, the total), every week in a table, its occupations and its data
//! quality. Charts are inline SVG only: no PNG per tag.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{Duration, NaiveDate};

use crate::charts::{self, LineChart, Scale};
use crate::format::platform_name;
use crate::i18n::{fill, Locale};
use crate::view::{TagPage, TagPanel};
use crate::{ReportError, ReportInput};
use tagpulse_model::rows::{SeriesRow, TagRow};

/// Weeks a tag's page shows.
pub const TAG_WEEKS: i64 = 52;

/// The folder of the tag pages inside a week's folder.
pub const TAG_DIR: &str = "tags";

/// The page of `tag` relative to the week's folder.
pub fn tag_href(tag: &str) -> String {
    format!("{TAG_DIR}/{tag}.html")
}

/// The pages of every tracked tag with a row in the reported week. Only tracked tags:
/// data holding thousands of other tags (a Research API dump) would write thousands of
/// pages nobody asked for.
pub(crate) fn pages(
    input: &ReportInput,
    loc: Locale,
    rows: &[TagRow],
    series: &[SeriesRow],
) -> Result<Vec<(PathBuf, Vec<u8>)>, ReportError> {
    let week = input.week;
    let first = week - Duration::weeks(TAG_WEEKS - 1);
    let weeks: Vec<NaiveDate> = (0..TAG_WEEKS).map(|k| first + Duration::weeks(k)).collect();
    // Each tag's rows of the window, per (platform, metric).
    let mut by_tag: BTreeMap<&str, BTreeMap<(&str, &str), Vec<&TagRow>>> = BTreeMap::new();
    for r in rows
        .iter()
        .filter(|r| (first..=week).contains(&r.week_start))
    {
        by_tag
            .entry(r.tag.as_str())
            .or_default()
            .entry((r.platform.as_str(), r.metric.as_str()))
            .or_default()
            .push(r);
    }
    let by_occupation = tagpulse_config::occupations_by_tag(input.occupations);
    let tracked = tagpulse_config::tracked_tags(input.occupations, input.brands);
    let mut out = Vec::new();
    for (tag, pairs) in by_tag {
        // A page for the tracked tags of this week only.
        let Ok(parsed) = tagpulse_config::Tag::parse(tag) else {
            continue;
        };
        if !tracked.contains(&parsed) || !pairs.values().flatten().any(|r| r.week_start == week) {
            continue;
        }
        let occupations = by_occupation.get(&parsed).cloned().unwrap_or_default();
        let mut panels = Vec::new();
        for ((platform, metric), mut rs) in pairs {
            rs.sort_by_key(|r| r.week_start);
            panels.push(panel(loc, tag, platform, metric, &weeks, &rs, series)?);
        }
        let page = TagPage {
            loc,
            tag: tag.to_string(),
            week,
            week_label: tagpulse_config::iso_week_label(week),
            occupations,
            panels,
            synthetic: input.synthetic,
        };
        out.push((
            PathBuf::from(tag_href(tag)),
            crate::html::tag_page(&page).into_bytes(),
        ));
    }
    Ok(out)
}

/// One platform and metric of a tag: charts, weeks, quality.
fn panel(
    loc: Locale,
    tag: &str,
    platform: &str,
    metric: &str,
    weeks: &[NaiveDate],
    rows: &[&TagRow],
    series: &[SeriesRow],
) -> Result<TagPanel, ReportError> {
    let t = loc.texts();
    let unit = t.metric(metric);
    let label = format!("{} {unit}", platform_name(platform));
    let at = |w: &NaiveDate| rows.iter().find(|r| r.week_start == *w);
    let gained: Vec<Option<f64>> = weeks.iter().map(|w| at(w).and_then(|r| r.gained)).collect();
    let total: Vec<Option<f64>> = weeks
        .iter()
        .map(|w| at(w).and_then(|r| r.total_end))
        .collect();
    let band = weeks
        .iter()
        .map(|w| {
            let r = at(w)?;
            let (g, res) = (r.gained?, r.resolution.filter(|s| *s > 0.0)?);
            Some((g - res, g + res))
        })
        .collect();
    let marked: Vec<usize> = weeks
        .iter()
        .enumerate()
        .filter(|(_, w)| at(w).is_some_and(|r| r.breakout))
        .map(|(i, _)| i)
        .collect();
    let n = TAG_WEEKS.to_string();
    let values = [("tag", tag), ("unit", unit.as_str()), ("weeks", n.as_str())];
    let slug = format!("{tag}-{platform}-{metric}");
    let source = crate::sections::source_line(
        t,
        &label,
        series
            .iter()
            .filter(|s| s.tag == tag && s.platform == platform && s.metric == metric),
    );
    let gained_chart = charts::render_inline(
        &format!("tag-{slug}"),
        &LineChart {
            title: fill(t.tag_chart_gained, &values),
            y_label: fill(t.chart_trend_y, &[("unit", &unit)]),
            source: source.clone(),
            weeks: weeks.to_vec(),
            series: vec![(format!("#{tag}"), gained.clone())],
            scale: Scale::Linear,
            loc,
            band,
            marked: (marked, t.tag_breakout.to_string()),
        },
        (960, 420),
    )?;
    let total_chart = if total.iter().any(Option::is_some) {
        Some(charts::render_inline(
            &format!("tag-total-{slug}"),
            &LineChart {
                title: fill(t.tag_chart_total, &values),
                y_label: unit.clone(),
                source,
                weeks: weeks.to_vec(),
                series: vec![(format!("#{tag}"), total)],
                scale: Scale::Linear,
                loc,
                band: Vec::new(),
                marked: Default::default(),
            },
            (960, 380),
        )?)
    } else {
        None
    };
    // Quality: weeks without a figure between the first and the last row, steps down,
    // the newest observation.
    let inner = rows
        .get(1..rows.len().saturating_sub(1))
        .unwrap_or_default();
    let missing = inner.iter().filter(|r| r.gained.is_none()).count();
    let steps: u32 = rows.iter().map(|r| r.decreases).sum();
    let last_seen = series
        .iter()
        .filter(|s| s.tag == tag && s.platform == platform && s.metric == metric)
        .map(|s| s.last_s)
        .max();
    let mut notes = vec![
        fill(
            t.tag_q_missing,
            &[("n", &missing.to_string()), ("weeks", &n)],
        ),
        fill(t.tag_q_steps, &[("n", &steps.to_string()), ("weeks", &n)]),
    ];
    if let Some(s) = last_seen {
        notes.push(fill(t.tag_q_last, &[("at", &loc.date_time_secs(s))]));
    }
    Ok(TagPanel {
        label,
        unit,
        rows: rows.iter().rev().map(|r| (*r).clone()).collect(),
        gained_chart,
        total_chart,
        notes,
    })
}
