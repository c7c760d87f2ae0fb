//! A tag's page (`tags/<tag>.html`), with the week page's styles and pieces.

use maud::{html, PreEscaped, DOCTYPE};

use super::{chart, glossary, rounded_growth, CSS};
use crate::i18n::fill;
use crate::view::TagPage;

/// A tag's page (`tags/<tag>.html`): its weeks per platform and metric.
pub(crate) fn tag_page(page: &TagPage) -> String {
    let loc = page.loc;
    let t = loc.texts();
    let week_title = loc.week_title(page.week);
    let title = fill(t.tag_h1, &[("tag", &page.tag), ("week", &week_title)]);
    html! {
        (DOCTYPE)
        html lang=(loc.0.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · tagpulse" }
                style { (PreEscaped(CSS)) }
            }
            body { main {
                h1 { (title) }
                p.sub { (page.week_label) }
                nav {
                    a href="../index.html" { (t.tag_back) }
                    a href="../../index.html" { (t.nav_all_weeks) }
                }
                @if page.synthetic {
                    div.banner { strong { (t.synthetic_strong) } (t.synthetic_text) }
                }
                p {
                    @if page.occupations.is_empty() { (t.tag_no_occupation) }
                    @else { (fill(t.tag_occupations, &[("list", &page.occupations.join(", "))])) }
                }
                @for p in &page.panels {
                    h2 { (p.label) }
                    (chart(t, &p.gained_chart, &p.gained_chart.title))
                    @if let Some(c) = &p.total_chart { (chart(t, c, &c.title)) }
                    p.note { (t.tag_band_note) }
                    div.scroll { table {
                        tr {
                            th.l { (t.csv.week) } th { (fill(t.col_unit_gained, &[("unit", &p.unit)])) } th { (t.col_wow) }
                            th { (t.csv.total) } th { (t.csv.resolution) } th { "z" } th.l { (t.csv.breakout) }
                        }
                        @for r in &p.rows {
                            tr {
                                td.l { (loc.week_title(r.week_start)) }
                                td { (loc.human(r.gained)) }
                                td { (rounded_growth(loc, r.wow_growth, r.within_rounding)) }
                                td { (loc.human(r.total_end)) }
                                td { (loc.human(r.resolution)) }
                                td { (r.z.map(|z| loc.decimal(z, 1)).unwrap_or_else(|| "–".into())) }
                                td.l { @if r.breakout { "⚡ " (t.tag_breakout) } }
                            }
                        }
                    } }
                    h3 { (t.h_quality) }
                    ul.q { @for n in &p.notes { li { (n) } } }
                }
                (glossary(t))
            } }
        }
    }
    .into_string()
}
