//! `summary.md`: the headline sentences and the top occupations, in the report's
//! language, as text that reads the same in Slack, Teams, e-mail and a Markdown viewer:
//! plain lines and `-` lists, no heading marks, emphasis or tables (Slack shows those
//! as typed), and the report's address in full when `[report] base_url` is set.

use crate::i18n::fill;
use crate::view::Page;

/// The summary of the page; `base_url` makes the link absolute.
pub(crate) fn summary(page: &Page, base_url: Option<&str>) -> String {
    let loc = page.loc;
    let t = loc.texts();
    let mut s = format!("{}\n\n", page.title);
    if page.synthetic {
        s.push_str(t.md_synthetic);
        s.push_str("\n\n");
    }
    for p in &page.views {
        s.push_str(&format!("{}\n", p.label));
        for line in &p.headline {
            s.push_str(&format!("- {line}\n"));
        }
        let top: Vec<_> = p
            .occupations
            .iter()
            .filter(|o| o.gained.is_some())
            .take(5)
            .collect();
        if !top.is_empty() {
            s.push_str(&format!("\n{}\n", t.md_top));
            let unit = t.metric(&p.metric);
            for o in top {
                let change = if o.within_rounding {
                    t.hl_within_rounding.to_string()
                } else {
                    fill(t.hl_wow, &[("pct", &loc.pct(o.wow_growth))])
                };
                let row = fill(
                    t.md_row,
                    &[
                        ("occupation", &o.occupation),
                        ("gained", &loc.human(o.gained)),
                        ("unit", &unit),
                        ("change", &change),
                        ("share", &loc.share(o.share)),
                    ],
                );
                s.push_str(&format!("- {row}\n"));
            }
        }
        s.push('\n');
    }
    let link = match base_url {
        Some(base) => format!(
            "{}/{}/index.html",
            base.trim_end_matches('/'),
            page.week_label
        ),
        None => format!("{}/index.html", page.week_label),
    };
    s.push_str(&fill(
        t.md_full_report,
        &[
            ("link", &link),
            ("at", &loc.date_time(page.generated_at)),
            ("version", env!("CARGO_PKG_VERSION")),
        ],
    ));
    s.push('\n');
    s
}
