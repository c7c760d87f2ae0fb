//! The HTML page: one self-contained file, inline CSS and SVG, no JavaScript.

use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use tagpulse_model::signal::{BREAKOUT_Z, Z_WINDOW};

use crate::format::{human, share, week_title, wow};
use crate::view::{Breakout, MetricView, Page, TagLine};
use crate::TREND_WEEKS;

const CSS: &str = r#"
:root { --ink:#1d2330; --muted:#5b6475; --line:#e3e6ec; --up:#0072B2; --down:#D55E00; --bg:#f7f8fa; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink); margin: 0; background: var(--bg); }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 20px; margin: 36px 0 10px; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 16px; margin: 20px 0 8px; }
.sub { color: var(--muted); margin: 0 0 18px; }
.banner { background: #fff4d6; border: 1px solid #e6c15a; padding: 8px 12px; border-radius: 6px; margin: 12px 0; }
.headline { font-size: 17px; margin: 8px 0 16px; padding-left: 18px; }
.tiles { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: 12px 0 8px; }
.tile { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.tile .v { font-size: 26px; font-weight: 650; } .tile .k { color: var(--muted); font-size: 13px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 12px; font-size: 14px; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: right; vertical-align: middle; }
th { color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
td.l, th.l { text-align: left; }
.up { color: var(--up); font-weight: 600; } .down { color: var(--down); font-weight: 600; } .flat { color: var(--muted); }
.chart svg { max-width: 100%; height: auto; display: block; margin: 6px 0; }
.spark svg { width: 120px; height: 28px; display: block; }
.note { color: var(--muted); font-size: 13px; }
ul.q li { margin: 3px 0; }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; border-top: 1px solid var(--line); padding-top: 10px; }
@media (max-width: 800px) { .tiles { grid-template-columns: 1fr 1fr; } }
@media print { @page { size: A4 landscape; margin: 12mm; } body { background: #fff; } main { max-width: none; padding: 0; }
  h2 { break-before: auto; } .chart, table { break-inside: avoid; } }
"#;

fn growth(v: Option<f64>) -> Markup {
    rounded_growth(v, false)
}

/// A week-over-week change, coloured as a rise or fall unless it is within rounding.
fn rounded_growth(v: Option<f64>, within_rounding: bool) -> Markup {
    let class = match v {
        _ if within_rounding => "flat",
        Some(x) if x > 0.0 => "up",
        Some(x) if x < 0.0 => "down",
        _ => "",
    };
    html! { span class=(class) title=[within_rounding.then_some(ROUNDING_TITLE)] { (wow(v, within_rounding)) } }
}

/// The tooltip of a change within rounding.
const ROUNDING_TITLE: &str =
    "The change is no larger than the counter's rounding step: the platform shows rounded figures, so it may be no change at all.";

fn svg(s: &str) -> Markup {
    // Plotters' SVG starts with an XML declaration in some versions; inline SVG must not.
    let body = s.find("<svg").map(|i| &s[i..]).unwrap_or(s);
    PreEscaped(body.to_string())
}

fn date_time(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0)
        .map(|t| t.format("%-d %b %Y %H:%M UTC").to_string())
        .unwrap_or_default()
}

fn duration(secs: i64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{} days", s / 86_400),
        s if s % 3600 == 0 => format!("{} hours", s / 3600),
        s => format!("{s} seconds"),
    }
}

fn tag_table(title: &str, rows: &[TagLine], unit: &str) -> Markup {
    html! {
        h3 { (title) }
        @if rows.is_empty() {
            p.note { "No tag qualifies this week." }
        } @else {
            table {
                tr { th.l { "Tag" } th.l { "Occupation" } th { (unit) " gained" } th { "WoW" } th { "4-wk avg" } th.l { "Last 12 weeks" } }
                @for t in rows {
                    tr {
                        td.l { "#" (t.row.tag) }
                        td.l { (t.occupations) }
                        td { (human(t.row.gained)) }
                        td { (rounded_growth(t.row.wow_growth, t.row.within_rounding)) }
                        td { (human(t.row.avg4)) }
                        td.l.spark { (svg(&t.spark)) }
                    }
                }
            }
        }
    }
}

fn breakout_table(title: &str, rows: &[Breakout]) -> Markup {
    html! {
        @if !rows.is_empty() {
            h3 { (title) }
            table {
                tr { th.l { "Name" } th { "Gained" } th { (format!("Median of previous {Z_WINDOW} weeks")) } th { "z" } th { "WoW" } th.l { "Last 12 weeks" } }
                @for b in rows {
                    tr {
                        td.l { (b.name) }
                        td { (human(b.gained)) }
                        td { (human(b.z_median)) }
                        td { (b.z.map(|z| format!("{z:.1}")).unwrap_or_else(|| "–".into())) }
                        td { (rounded_growth(b.wow, b.within_rounding)) }
                        td.l.spark { (svg(&b.spark)) }
                    }
                }
            }
        }
    }
}

fn panel(p: &MetricView, page: &Page) -> Markup {
    let unit = p.metric.replace('_', " ");
    let breakouts = p.tag_breakouts.len() + p.occupation_breakouts.len();
    html! {
        section id=(p.slug) {
            h2 { "What happened this week — " (p.label) }
            ul.headline { @for line in &p.headline { li { (line) } } }
            div.tiles {
                div.tile { div.v { (human(p.total_gained)) } div.k { (unit) " gained by tracked tags" } }
                div.tile { div.v { (rounded_growth(p.total_wow, p.total_within_rounding)) } div.k { "vs the week before" } }
                div.tile { div.v { (p.tags_reporting) " / " (p.tags_tracked) } div.k { "tags reporting / tracked" } }
                div.tile { div.v { (breakouts) } div.k { "breakouts (tags and occupations)" } }
            }

            h2 { "Which occupations are growing?" }
            @if let Some(c) = &p.occupation_chart { div.chart { (svg(&c.svg)) } }
            table {
                tr { th.l { "Occupation" } th { (unit) " gained" } th { "WoW" } th { "4-wk avg" } th { "Momentum" } th { "Share of voice" } th { "Tags reporting" } }
                @for o in &p.occupations {
                    tr {
                        td.l { (o.occupation) @if o.breakout { " ⚡" } }
                        td { (human(o.gained)) }
                        td { (rounded_growth(o.wow_growth, o.within_rounding)) }
                        td { (human(o.avg4)) }
                        td { (growth(o.momentum)) }
                        td { (share(o.share)) }
                        td { (o.tags_reporting) " of " (o.tags_total) }
                    }
                }
            }
            p.note { "Momentum compares this week with the mean of the four weeks before it. Share of voice is the occupation's gained over that of all tracked " (p.label) " tags." }

            h2 { "How has that moved over time?" }
            @if let Some(c) = &p.trend_chart { div.chart { (svg(&c.svg)) } } @else { p.note { "No occupation has data yet." } }

            h2 { "Which tags moved most?" }
            (tag_table("Rising fastest (WoW)", &p.rising, &unit))
            (tag_table("Falling fastest (WoW)", &p.falling, &unit))
            (tag_table("Most gained", &p.top_gained, &unit))

            h2 { "What broke out?" }
            @if breakouts == 0 {
                p { (format!("Nothing broke out this week: no tag or occupation gained {BREAKOUT_Z} robust standard deviations above its previous {Z_WINDOW} weeks.")) }
            } @else {
                p.note { (format!("A breakout gains far more than usual: z ≥ {BREAKOUT_Z}, where z compares this week with the median of the previous {Z_WINDOW} weeks, scaled by their median absolute deviation but never by less than the counter's rounding step (a tag shown as 1.23B moves in steps of 10M), so one extra rounding step is no breakout. The median column shows what a usual week gained.")) }
                (breakout_table("Tags", &p.tag_breakouts))
                (breakout_table("Occupations", &p.occupation_breakouts))
            }

            @if page.has_brands {
                h2 { "How is my brand doing?" }
                @if p.brands.is_empty() {
                    p.note { "No brand tag has data on " (p.label) " this week." }
                } @else {
                    table {
                        tr { th.l { "Brand" } th.l { "Occupation" } th { "Brand gained" } th { "Occupation gained" } th { "Brand share" } th { "Last week" } }
                        @for b in &p.brands {
                            tr {
                                td.l { (b.brand) } td.l { (b.occupation) }
                                td { (human(b.gained)) } td { (human(b.occupation_gained)) }
                                td { (share(b.share)) } td { (share(b.prev_share)) }
                            }
                        }
                    }
                    @if let Some(c) = &p.brand_chart { div.chart { (svg(&c.svg)) } }
                }
            }

            h2 { "Can I trust these numbers?" }
            ul.q {
                li {
                    strong { (p.quality.no_data.len()) } " taxonomy or brand tags have no " (unit) " figure this week"
                    @if !p.quality.no_data.is_empty() {
                        ": " span.note { (p.quality.no_data.iter().take(40).map(|t| format!("#{t}")).collect::<Vec<_>>().join(", "))
                        @if p.quality.no_data.len() > 40 { " and " (p.quality.no_data.len() - 40) " more" } }
                    }
                    "."
                }
                li {
                    strong { (p.quality.gaps.len()) } " gaps in the last " (TREND_WEEKS) " weeks: weeks without a figure inside a series (observations further apart than max_gap, " (duration(page.max_gap_secs)) ", or no day counted)"
                    @if !p.quality.gaps.is_empty() {
                        ": " span.note { (p.quality.gaps.iter().take(10).map(|g| format!("#{} {} – {} ({} week{})", g.tag, g.from.format("%-d %b"), g.to.format("%-d %b %Y"), g.weeks, if g.weeks == 1 { "" } else { "s" })).collect::<Vec<_>>().join(", "))
                        @if p.quality.gaps.len() > 10 { " and " (p.quality.gaps.len() - 10) " more" } }
                    }
                    "."
                }
                li {
                    strong { (p.quality.steps_down.iter().flat_map(|s| s.1.iter().map(|x| x.1)).sum::<u32>()) } " counter steps down in the last " (TREND_WEEKS) " weeks (rounded counters; removed by the running maximum)"
                    @if !p.quality.steps_down.is_empty() {
                        ": " span.note { (p.quality.steps_down.iter().take(10).map(|(t, weeks)| format!("#{t} ×{} ({})", weeks.iter().map(|w| w.1).sum::<u32>(), weeks.iter().map(|(w, n)| format!("{} ×{n}", w.format("%G-W%V"))).collect::<Vec<_>>().join(", "))).collect::<Vec<_>>().join("; ")) }
                    }
                    "."
                }
                @if !p.quality.stale.is_empty() {
                    li { strong { (p.quality.stale.len()) } " series have no observation since the week began: "
                        span.note { (p.quality.stale.iter().take(10).map(|s| format!("#{} (last seen {})", s.tag, date_time(s.last_s))).collect::<Vec<_>>().join(", ")) } "." }
                }
                @if !p.quality.partial.is_empty() {
                    li { strong { (p.quality.partial.len()) } " daily-count series are partial this week: "
                        span.note { (p.quality.partial.iter().take(10).map(|(t, c)| format!("#{t} ({:.0}% of days)", c * 100.0)).collect::<Vec<_>>().join(", ")) } "." }
                }
                @if let Some(f) = &p.quality.freshest {
                    li { "Freshest observation: #" (f.tag) ", " (date_time(f.last_s)) "." }
                }
                li { "How “gained” is computed: counters are made monotone (running maximum), read at Monday 00:00 UTC by linear interpolation between the nearest observations (never across a gap over max_gap), and differenced; daily counts are summed per ISO week. See docs/metrics.md." }
            }
            p.note { (p.source_line) }
        }
    }
}

/// The week's `index.html`: headline, tables and charts in one self-contained page.
pub(crate) fn page(page: &Page) -> String {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (page.title) }
                style { (PreEscaped(CSS)) }
            }
            body { main {
                h1 { "Occupation hashtags — " (week_title(page.week)) }
                p.sub { "Weekly employer-branding report by tagpulse · " (page.week_label) }
                @if page.incomplete {
                    div.banner.incomplete { strong { "Incomplete week." } " This week has no observation after its end yet, so its figures are missing or will change: a preview, not a report. The weekly report covers complete weeks only." }
                }
                @if page.synthetic {
                    div.banner { strong { "Synthetic sample data." } " These figures come from the bundled, generated sample (examples/sample), not from a platform." }
                }
                @for p in &page.views { (panel(p, page)) }
                footer {
                    @if let Some((a, b)) = page.data_range { "Data from " (date_time(a)) " to " (date_time(b)) ". " }
                    "Sources: " (if page.sources.is_empty() { "–".to_string() } else { page.sources.join(", ") }) ". "
                    @if page.synthetic { strong { "Synthetic sample data. " } }
                    "tagpulse " (env!("CARGO_PKG_VERSION")) ", generated " (page.generated_at.format("%Y-%m-%d %H:%M UTC")) ". "
                    "Values of different platforms or metrics are never added together."
                }
            } }
        }
    };
    markup.into_string()
}

/// The list of weeks: reports, then previews of incomplete weeks.
pub(crate) fn index(reports: &[String], previews: &[String]) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; meta name="viewport" content="width=device-width, initial-scale=1"; title { "tagpulse reports" } style { (PreEscaped(CSS)) } }
            body { main {
                h1 { "tagpulse weekly reports" }
                @if reports.is_empty() { p { "No report yet." } }
                ul.reports { @for w in reports { li { a href=(format!("{w}/index.html")) { (w) } } } }
                @if !previews.is_empty() {
                    h2 { "Previews of incomplete weeks" }
                    p.note { "Rendered with --allow-incomplete before the week had an observation after its end: their figures are missing or will change." }
                    ul.previews { @for w in previews { li { a href=(format!("{w}/index.html")) { (w) " (incomplete)" } } } }
                }
            } }
        }
    }
    .into_string()
}
