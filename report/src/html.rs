//! The HTML pages: one self-contained file per week (inline CSS and SVG, no JavaScript)
//! and the list of weeks, in the report's language. The week page is here; a tag's page
//! is in `html/tag.rs`, the links between weeks and their list in `html/weeks.rs`.

use maud::{html, Markup, PreEscaped, DOCTYPE};
use tagpulse_model::signal::{BREAKOUT_Z, Z_WINDOW};

use crate::i18n::{fill, Locale, Texts};
use crate::tag_pages::tag_href;
use crate::view::{Breakout, MetricView, Page, TagLine};
use crate::TREND_WEEKS;

mod tag;
mod weeks;

pub(crate) use tag::tag_page;
pub(crate) use weeks::index;
pub use weeks::relink;
use weeks::week_nav;

const CSS: &str = r#"
:root { --ink:#1d2330; --muted:#5b6475; --line:#e3e6ec; --up:#0072B2; --down:#D55E00; --bg:#f7f8fa; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink); margin: 0; background: var(--bg); }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 20px; margin: 36px 0 10px; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 16px; margin: 20px 0 8px; }
h1, h2, h3 { overflow-wrap: anywhere; }
.sub { color: var(--muted); margin: 0 0 18px; }
nav { display: flex; flex-wrap: wrap; gap: 6px 16px; font-size: 14px; margin: 4px 0 12px; }
nav a { color: var(--up); }
.banner { background: #fff4d6; border: 1px solid #e6c15a; padding: 8px 12px; border-radius: 6px; margin: 12px 0; }
.headline { font-size: 17px; margin: 8px 0 16px; padding-left: 18px; }
.tiles { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: 12px 0 8px; }
.tile { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 0; }
.tile .v { font-size: 26px; font-weight: 650; } .tile .k { color: var(--muted); font-size: 13px; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; margin: 8px 0 12px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: right; vertical-align: middle; }
th { color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
td.l, th.l { text-align: left; }
.up { color: var(--up); font-weight: 600; } .down { color: var(--down); font-weight: 600; } .flat { color: var(--muted); }
.chart svg { max-width: 100%; height: auto; display: block; margin: 6px 0; }
.chart .narrow { display: none; }
.spark svg { width: 120px; height: 28px; display: block; }
.note { color: var(--muted); font-size: 13px; }
ul.q li { margin: 3px 0; }
dl.glossary { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; }
dl.glossary dt { font-weight: 600; } dl.glossary dd { margin: 0; }
ul.weeks { padding-left: 18px; } ul.weeks li { margin: 6px 0; } ul.weeks .h { color: var(--muted); }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; border-top: 1px solid var(--line); padding-top: 10px; }
@media (max-width: 800px) { .tiles { grid-template-columns: 1fr 1fr; } }
@media (max-width: 520px) {
  main { padding: 14px 12px 32px; } h1 { font-size: 21px; } h2 { font-size: 18px; }
  .tile .v { font-size: 21px; } .headline { font-size: 16px; }
  dl.glossary { grid-template-columns: 1fr; } dl.glossary dd { margin-bottom: 6px; }
  th, td { padding: 4px 6px; }
  .chart .wide { display: none; } .chart .narrow { display: block; }
  .chart .narrow svg { width: 100%; height: auto; }
}
@media print { @page { size: A4 landscape; margin: 10mm; }
  body { background: #fff; font-size: 10px; line-height: 1.3; }
  main { max-width: none; padding: 0; } nav, .downloads-block { display: none; }
  h1 { font-size: 18px; } h2 { font-size: 14px; margin: 10px 0 4px; } h3 { font-size: 12px; margin: 6px 0 3px; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  .headline { font-size: 11px; margin: 4px 0 6px; } .banner { padding: 3px 8px; margin: 4px 0; }
  .tiles { margin: 4px 0; gap: 6px; } .tile { padding: 3px 8px; } .tile .v { font-size: 15px; }
  table { font-size: 9.5px; } th, td { padding: 1px 5px; } th { font-size: 8.5px; }
  .spark svg { width: 90px; height: 15px; }
  .chart svg { max-height: 78mm; width: auto; margin: 2px auto; }
  .tag-tables { display: grid; grid-template-columns: 1fr 1fr; gap: 0 14px; }
  .tag-tables > * { break-inside: avoid; }
  dl.glossary { grid-template-columns: max-content 1fr max-content 1fr; font-size: 9px; gap: 2px 10px; }
  .note, ul.q { font-size: 9px; } ul.q li { margin: 1px 0; }
  .chart, table, .tiles, dl.glossary, ul.headline { break-inside: avoid; page-break-inside: avoid; }
  .scroll { overflow: visible; margin: 2px 0 6px; } }
"#;

/// A week-over-week change, coloured as a rise or fall unless it is within rounding.
fn rounded_growth(loc: Locale, v: Option<f64>, within_rounding: bool) -> Markup {
    let class = match v {
        _ if within_rounding => "flat",
        Some(x) if x > 0.0 => "up",
        Some(x) if x < 0.0 => "down",
        _ => "",
    };
    let title = within_rounding.then_some(loc.texts().rounding_title);
    html! { span class=(class) title=[title] { (loc.wow(v, within_rounding)) } }
}

fn svg(s: &str) -> Markup {
    // Plotters' SVG starts with an XML declaration in some versions; inline SVG must not.
    let body = s.find("<svg").map(|i| &s[i..]).unwrap_or(s);
    PreEscaped(body.to_string())
}

/// A chart as a figure a screen reader can name: the chart's title is its label.
fn chart(t: &Texts, c: &crate::charts::Chart, title: &str) -> Markup {
    html! {
        div.chart role="img" aria-label=(fill(t.chart_label, &[("title", title)])) {
            div.wide { (svg(&c.svg)) }
            div.narrow { (svg(&c.svg_narrow)) }
        }
    }
}

fn tag_table(loc: Locale, title: &str, rows: &[TagLine], unit: &str) -> Markup {
    let t = loc.texts();
    html! {
        h3 { (title) }
        @if rows.is_empty() {
            p.note { (t.no_tag_qualifies) }
        } @else {
            div.scroll { table {
                tr {
                    th.l { (t.col_tag) } th.l { (t.col_occupation) }
                    th { (fill(t.col_unit_gained, &[("unit", unit)])) } th { (t.col_wow) } th { (t.col_avg4) }
                    th.l { (fill(t.col_last_weeks, &[("weeks", &TREND_WEEKS.to_string())])) }
                }
                @for l in rows {
                    tr {
                        td.l {
                            @if l.page { a href=(tag_href(&l.row.tag)) { "#" (l.row.tag) } }
                            @else { "#" (l.row.tag) }
                        }
                        td.l { (l.occupations) }
                        td { (loc.human(l.row.gained)) }
                        td { (rounded_growth(loc, l.row.wow_growth, l.row.within_rounding)) }
                        td { (loc.human(l.row.avg4)) }
                        td.l.spark { (svg(&l.spark)) }
                    }
                }
            } }
        }
    }
}

fn breakout_table(loc: Locale, title: &str, rows: &[Breakout]) -> Markup {
    let t = loc.texts();
    html! {
        @if !rows.is_empty() {
            h3 { (title) }
            div.scroll { table {
                tr {
                    th.l { (t.col_name) } th { (t.col_gained) }
                    th { (fill(t.col_median, &[("window", &Z_WINDOW.to_string())])) } th { "z" } th { (t.col_wow) }
                    th.l { (fill(t.col_last_weeks, &[("weeks", &TREND_WEEKS.to_string())])) }
                }
                @for b in rows {
                    tr {
                        td.l {
                            @match &b.tag {
                                Some(tag) => { a href=(tag_href(tag)) { (b.name) } }
                                None => { (b.name) }
                            }
                        }
                        td { (loc.human(b.gained)) }
                        td { (loc.human(b.z_median)) }
                        td { (b.z.map(|z| loc.decimal(z, 1)).unwrap_or_else(|| "–".into())) }
                        td { (rounded_growth(loc, b.wow, b.within_rounding)) }
                        td.l.spark { (svg(&b.spark)) }
                    }
                }
            } }
        }
    }
}

/// Up to `max` items joined with ", ", then "and N more".
fn listed(t: &Texts, items: Vec<String>, max: usize, sep: &str) -> String {
    let n = items.len();
    let mut out = items.into_iter().take(max).collect::<Vec<_>>().join(sep);
    if n > max {
        out.push_str(&fill(t.and_more, &[("n", &(n - max).to_string())]));
    }
    out
}

fn quality(loc: Locale, p: &MetricView, page: &Page, unit: &str) -> Markup {
    let t = loc.texts();
    let q = &p.quality;
    let weeks = TREND_WEEKS.to_string();
    html! {
        h2 { (t.h_quality) }
        ul.q {
            li {
                strong { (q.no_data.len()) } (fill(t.q_no_data, &[("unit", unit)]))
                @if !q.no_data.is_empty() {
                    ": " span.note { (listed(t, q.no_data.iter().map(|t| format!("#{t}")).collect(), 40, ", ")) }
                }
                "."
            }
            li {
                strong { (q.gaps.len()) } (fill(t.q_gaps, &[("weeks", &weeks), ("max_gap", &loc.duration(page.max_gap_secs))]))
                @if !q.gaps.is_empty() {
                    ": " span.note { (listed(t, q.gaps.iter().map(|g| fill(t.gap_item, &[
                        ("tag", &g.tag),
                        ("from", &loc.day_month(g.from)),
                        ("to", &loc.date(g.to)),
                        ("n", &g.weeks.to_string()),
                        ("weeks_word", if g.weeks == 1 { t.week_one } else { t.week_many }),
                    ])).collect(), 10, ", ")) }
                }
                "."
            }
            li {
                strong { (q.steps_down.iter().flat_map(|s| s.1.iter().map(|x| x.1)).sum::<u32>()) } (fill(t.q_steps_down, &[("weeks", &weeks)]))
                @if !q.steps_down.is_empty() {
                    ": " span.note { (q.steps_down.iter().take(10).map(|(tag, weeks)| format!("#{tag} ×{} ({})", weeks.iter().map(|w| w.1).sum::<u32>(), weeks.iter().map(|(w, n)| format!("{} ×{n}", w.format("%G-W%V"))).collect::<Vec<_>>().join(", "))).collect::<Vec<_>>().join("; ")) }
                }
                "."
            }
            @if !q.stale.is_empty() {
                li { strong { (q.stale.len()) } (t.q_stale)
                    span.note { (q.stale.iter().take(10).map(|s| fill(t.stale_item, &[("tag", &s.tag), ("at", &loc.date_time_secs(s.last_s))])).collect::<Vec<_>>().join(", ")) } "." }
            }
            @if !q.partial.is_empty() {
                li { strong { (q.partial.len()) } (t.q_partial)
                    span.note { (q.partial.iter().take(10).map(|(tag, c)| fill(t.partial_item, &[("tag", tag), ("pct", &loc.percent(c * 100.0, 0, false))])).collect::<Vec<_>>().join(", ")) } "." }
            }
            @if let Some(f) = &q.freshest {
                li { (fill(t.q_freshest, &[("tag", &f.tag), ("at", &loc.date_time_secs(f.last_s))])) }
            }
            li { (t.q_how_gained) }
        }
    }
}

fn panel(loc: Locale, p: &MetricView, page: &Page) -> Markup {
    let t = loc.texts();
    let unit = t.metric(&p.metric);
    let breakouts = p.tag_breakouts.len() + p.occupation_breakouts.len();
    let (z, window) = (loc.decimal(BREAKOUT_Z, 1), Z_WINDOW.to_string());
    let z = z
        .trim_end_matches(['0'])
        .trim_end_matches(['.', ','])
        .to_string();
    let zw = [("z", z.as_str()), ("window", window.as_str())];
    html! {
        section id=(p.slug) {
            h2 { (fill(t.h_week, &[("label", &p.label)])) }
            ul.headline { @for line in &p.headline { li { (line) } } }
            div.tiles {
                div.tile { div.v { (loc.human(p.total_gained)) } div.k { (fill(t.tile_gained, &[("unit", &unit)])) } }
                div.tile { div.v { (rounded_growth(loc, p.total_wow, p.total_within_rounding)) } div.k { (t.tile_vs_before) } }
                div.tile { div.v { (p.tags_reporting) " / " (p.tags_tracked) } div.k { (t.tile_reporting) } }
                div.tile { div.v { (breakouts) } div.k { (t.tile_breakouts) } }
            }

            h2 { (t.h_occupations) }
            @if let Some(c) = &p.occupation_chart { (chart(t, c, &c.title)) }
            div.scroll { table {
                tr {
                    th.l { (t.col_occupation) } th { (fill(t.col_unit_gained, &[("unit", &unit)])) } th { (t.col_wow) }
                    th { (t.col_avg4) } th { (t.col_momentum) } th { (t.col_share) } th { (t.col_reporting) }
                }
                @for o in &p.occupations {
                    tr {
                        td.l { (o.occupation) @if o.breakout { " ⚡" } }
                        td { (loc.human(o.gained)) }
                        td { (rounded_growth(loc, o.wow_growth, o.within_rounding)) }
                        td { (loc.human(o.avg4)) }
                        td { (rounded_growth(loc, o.momentum, false)) }
                        td { (loc.share(o.share)) }
                        td { (fill(t.reporting_of, &[("n", &o.tags_reporting.to_string()), ("total", &o.tags_total.to_string())])) }
                    }
                }
            } }
            p.note { (fill(t.note_momentum, &[("label", &p.label)])) }

            h2 { (t.h_trend) }
            @if let Some(c) = &p.trend_chart { (chart(t, c, &c.title)) } @else { p.note { (t.no_occupation_data) } }

            h2 { (t.h_tags) }
            div.tag-tables {
                div { (tag_table(loc, t.tags_rising, &p.rising, &unit)) }
                div { (tag_table(loc, t.tags_falling, &p.falling, &unit)) }
                div { (tag_table(loc, t.tags_most_gained, &p.top_gained, &unit)) }
            }

            h2 { (t.h_breakouts) }
            @if breakouts == 0 {
                p { (fill(t.nothing_broke_out, &zw)) }
            } @else {
                p.note { (fill(t.breakout_note, &zw)) }
                (breakout_table(loc, t.breakout_tags, &p.tag_breakouts))
                (breakout_table(loc, t.breakout_occupations, &p.occupation_breakouts))
            }

            @if page.has_brands {
                h2 { (t.h_brands) }
                @if p.brands.is_empty() {
                    p.note { (fill(t.no_brand_data, &[("label", &p.label)])) }
                } @else {
                    div.scroll { table {
                        tr {
                            th.l { (t.col_brand) } th.l { (t.col_occupation) } th { (t.col_brand_gained) }
                            th { (t.col_occupation_gained) } th { (t.col_brand_share) } th { (t.col_last_week) }
                        }
                        @for b in &p.brands {
                            tr {
                                td.l { (b.brand) } td.l { (b.occupation) }
                                td { (loc.human(b.gained)) } td { (loc.human(b.occupation_gained)) }
                                td { (loc.share(b.share)) } td { (loc.share(b.prev_share)) }
                            }
                        }
                    } }
                    @if let Some(c) = &p.brand_chart { (chart(t, c, &c.title)) }
                }
            }

            (quality(loc, p, page, &unit))
            p.note { (p.source_line) }
        }
    }
}

/// Links to the list of weeks and the weeks before and after.
fn nav(t: &Texts, page: &Page) -> Markup {
    week_nav(t, page.previous.as_deref(), page.next.as_deref())
}

fn downloads(t: &Texts, page: &Page) -> Markup {
    html! {
        div.downloads-block {
            h2 { (t.nav_downloads) }
            ul.downloads {
                @for f in &page.downloads { li { a href=(f) download { (f) } } }
            }
        }
    }
}

fn glossary(t: &Texts) -> Markup {
    html! {
        h2 id="glossary" { (t.h_glossary) }
        dl.glossary { @for (term, meaning) in &t.glossary { dt { (term) } dd { (meaning) } } }
    }
}

/// The week's `index.html`: headline, tables and charts in one self-contained page.
pub(crate) fn page(page: &Page) -> String {
    let loc = page.loc;
    let t = loc.texts();
    let week_title = loc.week_title(page.week);
    let markup = html! {
        (DOCTYPE)
        html lang=(loc.0.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (page.title) }
                style { (PreEscaped(CSS)) }
            }
            body { main {
                h1 { (fill(t.page_h1, &[("week", &week_title)])) }
                p.sub { (fill(t.page_sub, &[("label", &page.week_label)])) }
                (nav(t, page))
                @if page.incomplete {
                    div.banner.incomplete { strong { (t.incomplete_strong) } (t.incomplete_text) }
                }
                @if page.synthetic {
                    div.banner { strong { (t.synthetic_strong) } (t.synthetic_text) }
                }
                @for p in &page.views { (panel(loc, p, page)) }
                (glossary(t))
                (downloads(t, page))
                footer {
                    @if let Some((a, b)) = page.data_range { (fill(t.footer_range, &[("from", &loc.date_time_secs(a)), ("to", &loc.date_time_secs(b))])) }
                    (fill(t.footer_sources, &[("sources", &if page.sources.is_empty() { "–".to_string() } else { page.sources.join(", ") })]))
                    @if page.synthetic { strong { (t.synthetic_strong) " " } }
                    (fill(t.footer_generated, &[("version", env!("CARGO_PKG_VERSION")), ("at", &loc.date_time(page.generated_at))]))
                    (t.footer_never_added)
                }
            } }
        }
    };
    markup.into_string()
}
