//! The links between weeks: a week page's navigation, set again when a neighbour is
//! published ([`relink`]), and the list of weeks (`reports/index.html`).

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::CSS;
use crate::i18n::{Locale, Texts};
use crate::WeekEntry;

pub(super) fn week_nav(t: &Texts, previous: Option<&str>, next: Option<&str>) -> Markup {
    html! {
        nav aria-label=(t.nav_all_weeks) {
            a href="../index.html" { (t.nav_all_weeks) }
            @if let Some(w) = previous { a href=(format!("../{w}/index.html")) rel="prev" { (t.nav_previous) " (" (w) ")" } }
            @if let Some(w) = next { a href=(format!("../{w}/index.html")) rel="next" { (t.nav_next) " (" (w) ")" } }
        }
    }
}

/// The week's link (`rel` "prev" or "next") in a week page's navigation, as written.
fn linked(html: &str, rel: &str) -> Option<String> {
    let nav = &html[html.find("<nav ")?..];
    let nav = &nav[..nav.find("</nav>")?];
    let at = nav.find(&format!("rel=\"{rel}\""))?;
    let href = nav[..at].rfind("href=\"../")? + "href=\"../".len();
    Some(nav[href..href + nav[href..].find('/')?].to_string())
}

/// A week page (as rendered) with its navigation linking `previous` and `next`
/// (`None` keeps the link it has); `None` when nothing changes or it is no week page.
/// A page rendered while its next week did not exist gains that link this way when the
/// next week is published, without being rendered again.
pub fn relink(html: &str, previous: Option<&str>, next: Option<&str>) -> Option<String> {
    let code = html.split("<html lang=\"").nth(1)?.split('"').next()?;
    let t = crate::i18n::Texts::of(crate::i18n::Language::parse(code).ok()?);
    let (start, end) = (html.find("<nav ")?, html.find("</nav>")? + "</nav>".len());
    let (old_prev, old_next) = (linked(html, "prev"), linked(html, "next"));
    let previous = previous.map(str::to_string).or(old_prev.clone());
    let next = next.map(str::to_string).or(old_next.clone());
    if (previous.clone(), next.clone()) == (old_prev, old_next) {
        return None;
    }
    let nav = week_nav(t, previous.as_deref(), next.as_deref()).into_string();
    Some(format!("{}{nav}{}", &html[..start], &html[end..]))
}

/// The list of weeks: reports, then previews of incomplete weeks; an entry without a
/// title or headline (a folder from before `week.json`) shows its name only.
pub(crate) fn index(loc: Locale, reports: &[WeekEntry], previews: &[WeekEntry]) -> String {
    let t = loc.texts();
    let item = |e: &WeekEntry, suffix: &str| {
        html! {
            li {
                a href=(format!("{}/index.html", e.week)) { (e.week) (suffix) }
                @if !e.title.is_empty() { " · " (e.title) }
                @if !e.headline.is_empty() { br; span.h { (e.headline) } }
            }
        }
    };
    html! {
        (DOCTYPE)
        html lang=(loc.0.code()) {
            head { meta charset="utf-8"; meta name="viewport" content="width=device-width, initial-scale=1"; title { (t.index_title) } style { (PreEscaped(CSS)) } }
            body { main {
                h1 { (t.index_title) }
                @if reports.is_empty() { p { (t.index_none) } }
                ul.weeks.reports { @for e in reports { (item(e, "")) } }
                @if !previews.is_empty() {
                    h2 { (t.index_previews) }
                    p.note { (t.index_previews_note) }
                    ul.weeks.previews { @for e in previews { (item(e, t.index_incomplete)) } }
                }
            } }
        }
    }
    .into_string()
}
