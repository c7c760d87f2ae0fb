//! `summary.md`: the headline sentences and the top occupations, to paste into e-mail
//! or chat, in the report's language.

use crate::i18n::fill;
use crate::view::Page;

/// The Markdown summary of the page.
pub(crate) fn summary(page: &Page) -> String {
    let loc = page.loc;
    let t = loc.texts();
    let mut s = format!("# {}\n\n", page.title);
    if page.synthetic {
        s.push_str(t.md_synthetic);
        s.push_str("\n\n");
    }
    for p in &page.views {
        s.push_str(&format!("## {}\n\n", p.label));
        for line in &p.headline {
            s.push_str(&format!("- {line}\n"));
        }
        s.push_str(&format!(
            "\n| {} |\n|---|---:|---:|---:|\n",
            t.md_columns.join(" | ")
        ));
        for o in p.occupations.iter().filter(|o| o.gained.is_some()).take(5) {
            s.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                o.occupation.replace('|', "\\|"),
                loc.human(o.gained),
                loc.wow(o.wow_growth, o.within_rounding),
                loc.share(o.share)
            ));
        }
        s.push('\n');
    }
    s.push_str(&fill(
        t.md_full_report,
        &[
            ("link", &format!("`{}/index.html`", page.week_label)),
            ("at", &loc.date_time(page.generated_at)),
            ("version", env!("CARGO_PKG_VERSION")),
        ],
    ));
    s.push('\n');
    s
}
