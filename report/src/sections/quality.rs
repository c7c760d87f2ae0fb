//! Data quality in the report's window: tags without data this week, and, for the trend
//! weeks the page shows, the gaps (weeks without a figure), the steps down and the
//! series gone stale, each with its dates. A gap from April is no news in November.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate};

use super::Context;
use crate::view::{Gap, Quality};
use tagpulse_model::rows::{SeriesRow, TagRow};

/// The quality facts of the pair: `this_week` are its tag rows of the week (and
/// `reporting` those with a `gained`), `rows` every tag row of the report.
pub(crate) fn build(
    ctx: &Context,
    this_week: &[&TagRow],
    reporting: &BTreeSet<&str>,
    rows: &[TagRow],
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
    let (first, last) = (ctx.weeks[0], ctx.week);
    // Each tag's rows, in week order.
    let mut by_tag: BTreeMap<&str, Vec<&TagRow>> = BTreeMap::new();
    for r in rows.iter().filter(|r| ctx.in_pair(&r.platform, &r.metric)) {
        by_tag.entry(r.tag.as_str()).or_default().push(r);
    }
    let mut gaps = Vec::new();
    let mut steps_down = Vec::new();
    for (tag, mut rs) in by_tag {
        rs.sort_by_key(|r| r.week_start);
        // A series' first and last rows lack a boundary by nature (it starts; the next
        // snapshot is not in yet): no gap. Between them, a week without gained is one.
        let inner = rs.get(1..rs.len().saturating_sub(1)).unwrap_or_default();
        let mut run: Option<Gap> = None;
        for r in inner
            .iter()
            .filter(|r| (first..=last).contains(&r.week_start))
        {
            match (&mut run, r.gained.is_none()) {
                (Some(g), true) if g.to + Duration::days(1) == r.week_start => {
                    g.to = r.week_start + Duration::days(6);
                    g.weeks += 1;
                }
                (_, true) => {
                    gaps.extend(run.take());
                    run = Some(Gap {
                        tag: tag.to_string(),
                        from: r.week_start,
                        to: r.week_start + Duration::days(6),
                        weeks: 1,
                    });
                }
                (_, false) => gaps.extend(run.take()),
            }
        }
        gaps.extend(run);
        let downs: Vec<(NaiveDate, u32)> = rs
            .iter()
            .filter(|r| (first..=last).contains(&r.week_start) && r.decreases > 0)
            .map(|r| (r.week_start, r.decreases))
            .collect();
        if !downs.is_empty() {
            steps_down.push((tag.to_string(), downs));
        }
    }
    gaps.sort_by(|a, b| b.weeks.cmp(&a.weeks).then(a.tag.cmp(&b.tag)));
    let total = |d: &[(NaiveDate, u32)]| d.iter().map(|x| x.1).sum::<u32>();
    steps_down.sort_by(|a, b| total(&b.1).cmp(&total(&a.1)).then(a.0.cmp(&b.0)));
    let partial: Vec<(String, f64)> = this_week
        .iter()
        .filter_map(|r| r.coverage.filter(|c| *c < 1.0).map(|c| (r.tag.clone(), c)))
        .collect();
    let pair_series: Vec<&SeriesRow> = series
        .iter()
        .filter(|s| ctx.in_pair(&s.platform, &s.metric))
        .collect();
    // Stale: seen inside the window but not since the reported week began.
    let secs = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .map_or(0, |t| t.and_utc().timestamp())
    };
    let mut stale: Vec<SeriesRow> = pair_series
        .iter()
        .filter(|s| s.last_s >= secs(first) && s.last_s < secs(last))
        .map(|s| (*s).clone())
        .collect();
    stale.sort_by_key(|s| s.last_s);
    Quality {
        no_data,
        gaps,
        steps_down,
        partial,
        stale,
        freshest: pair_series
            .iter()
            .max_by_key(|s| s.last_s)
            .map(|s| (*s).clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(tag: &str, week: NaiveDate, gained: Option<f64>, decreases: u32) -> TagRow {
        TagRow {
            platform: "tiktok".into(),
            tag: tag.into(),
            metric: "views".into(),
            week_start: week,
            total_end: None,
            gained,
            observations: 1,
            decreases,
            ..Default::default()
        }
    }

    #[test]
    fn gaps_steps_and_stale_series_of_the_window_only() {
        let week = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
        let w = |k: i64| week - Duration::weeks(k);
        let mut rows = Vec::new();
        // "a": a gap in April (outside the 12 weeks), one of two weeks in October, steps
        // down in April and in the window; its first and last rows have no gained.
        for k in (0..=35).rev() {
            let gained = match k {
                35 | 0 => None,
                30 | 5 | 4 => None,
                _ => Some(10.0),
            };
            let dec = if k == 30 || k == 2 || k == 1 { 2 } else { 0 };
            rows.push(row("a", w(k), gained, dec));
        }
        let (tables, series) = crate::tests::input_tables();
        let occupations = [];
        let input = crate::ReportInput {
            csv_delimiter: None,
            base_url: None,
            neighbours: (None, None),
            language: crate::i18n::Language::En,
            tables: &tables,
            series: &series,
            occupations: &occupations,
            brands: &[],
            week,
            top_n: 5,
            max_gap_secs: 7 * 86_400,
            sources: vec![],
            synthetic: false,
            incomplete: false,
            generated_at: chrono::DateTime::from_timestamp(0, 0).unwrap(),
        };
        let ctx = Context::new(&input, "tiktok", "views", &[]);
        let secs = |d: NaiveDate| d.and_hms_opt(12, 0, 0).unwrap().and_utc().timestamp();
        let series_row = |tag: &str, last: NaiveDate| SeriesRow {
            platform: "tiktok".into(),
            tag: tag.into(),
            metric: "views".into(),
            kind: "snapshots".into(),
            first_s: 0,
            last_s: secs(last),
            observations: 10,
            longest_gap_s: 0,
            gaps_over_max: 0,
        };
        let series = [
            series_row("a", week),
            series_row("b", w(3)),  // gone quiet three weeks ago: stale
            series_row("c", w(20)), // gone long before the window: not listed
        ];
        let q = build(&ctx, &[], &BTreeSet::new(), &rows, &series);
        assert_eq!(
            q.gaps,
            [Gap {
                tag: "a".into(),
                from: w(5),
                to: w(4) + Duration::days(6),
                weeks: 2
            }]
        );
        assert_eq!(
            q.steps_down,
            [("a".to_string(), vec![(w(2), 2), (w(1), 2)])]
        );
        assert_eq!(
            q.stale.iter().map(|s| s.tag.as_str()).collect::<Vec<_>>(),
            ["b"]
        );
    }
}
