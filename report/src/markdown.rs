//! `summary.md`: the headline sentences and the top occupations, to paste into e-mail
//! or chat.

use crate::format::{human, share, wow};
use crate::view::Page;

/// The Markdown summary of the page.
pub(crate) fn summary(page: &Page) -> String {
    let mut s = format!("# {}\n\n", page.title);
    if page.synthetic {
        s.push_str(
            "> Built from the bundled **synthetic sample data**, not real platform figures.\n\n",
        );
    }
    for p in &page.views {
        s.push_str(&format!("## {}\n\n", p.label));
        for line in &p.headline {
            s.push_str(&format!("- {line}\n"));
        }
        s.push_str("\n| Occupation | Gained | WoW | Share of voice |\n|---|---:|---:|---:|\n");
        for o in p.occupations.iter().filter(|o| o.gained.is_some()).take(5) {
            s.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                o.occupation.replace('|', "\\|"),
                human(o.gained),
                wow(o.wow_growth, o.within_rounding),
                share(o.share)
            ));
        }
        s.push('\n');
    }
    s.push_str(&format!(
        "Full report: `{}/index.html` (generated {} by tagpulse {}).\n",
        page.week_label,
        page.generated_at.format("%Y-%m-%d %H:%M UTC"),
        env!("CARGO_PKG_VERSION")
    ));
    s
}
