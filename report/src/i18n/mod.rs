//! The report's languages: every fixed text in one [`Texts`] per language (`en.rs`,
//! `nl.rs`, `de.rs`), and numbers and dates as each language writes them ([`Locale`],
//! in `locale.rs`).
//!
//! A text with values has `{name}` placeholders, filled by [`fill`]; a test checks that
//! every language has every text, none empty, with the same placeholders as English.
//! The struct makes a missing text a compile error; the test catches a translation that
//! lost or misspelt a placeholder.

mod de;
mod en;
mod locale;
mod nl;

pub use locale::Locale;

pub use tagpulse_config::Language;

/// Every fixed text of the report in one language. A field without a doc line is
/// documented by its English text in `en.rs`; those with values name their placeholders.
#[derive(Debug)]
#[allow(missing_docs)]
pub struct Texts {
    // The page.
    /// `<h1>`: `{week}` is the week's title.
    pub page_h1: &'static str,
    /// `<title>`.
    pub page_title: &'static str,
    /// Under the `<h1>`: `{label}` is the ISO week.
    pub page_sub: &'static str,
    /// Banner of a preview, bold part.
    pub incomplete_strong: &'static str,
    /// Banner of a preview, the rest.
    pub incomplete_text: &'static str,
    /// Banner of the synthetic sample, bold part.
    pub synthetic_strong: &'static str,
    /// Banner of the synthetic sample, the rest.
    pub synthetic_text: &'static str,
    /// Footer: `{from}`, `{to}`.
    pub footer_range: &'static str,
    /// Footer: `{sources}`.
    pub footer_sources: &'static str,
    /// Footer: `{version}`, `{at}`.
    pub footer_generated: &'static str,
    pub footer_never_added: &'static str,
    /// Navigation: the list of weeks.
    pub nav_all_weeks: &'static str,
    /// Navigation: the week before.
    pub nav_previous: &'static str,
    /// Navigation: the week after.
    pub nav_next: &'static str,
    /// Navigation: the downloads.
    pub nav_downloads: &'static str,
    /// `aria-label` of a chart: `{title}`.
    pub chart_label: &'static str,

    // A panel (one platform and metric).
    /// `{label}`, e.g. TikTok views.
    pub h_week: &'static str,
    /// KPI tile: `{unit}`.
    pub tile_gained: &'static str,
    pub tile_vs_before: &'static str,
    pub tile_reporting: &'static str,
    pub tile_breakouts: &'static str,
    pub h_occupations: &'static str,
    pub col_occupation: &'static str,
    /// Column: `{unit}`.
    pub col_unit_gained: &'static str,
    /// Column (week over week).
    pub col_wow: &'static str,
    /// Column (four-week average).
    pub col_avg4: &'static str,
    pub col_momentum: &'static str,
    pub col_share: &'static str,
    pub col_reporting: &'static str,
    /// Cell: `{n}` of `{total}` tags.
    pub reporting_of: &'static str,
    /// Under the occupations table: `{label}`.
    pub note_momentum: &'static str,
    pub h_trend: &'static str,
    pub no_occupation_data: &'static str,
    pub h_tags: &'static str,
    pub tags_rising: &'static str,
    pub tags_falling: &'static str,
    pub tags_most_gained: &'static str,
    pub no_tag_qualifies: &'static str,
    pub col_tag: &'static str,
    /// Column: `{weeks}`.
    pub col_last_weeks: &'static str,
    pub h_breakouts: &'static str,
    /// No breakout: `{z}`, `{window}`.
    pub nothing_broke_out: &'static str,
    /// Above the breakout tables: `{z}`, `{window}`.
    pub breakout_note: &'static str,
    pub breakout_tags: &'static str,
    pub breakout_occupations: &'static str,
    pub col_name: &'static str,
    pub col_gained: &'static str,
    /// Column: `{window}`.
    pub col_median: &'static str,
    pub h_brands: &'static str,
    /// No brand row: `{label}`.
    pub no_brand_data: &'static str,
    pub col_brand: &'static str,
    pub col_brand_gained: &'static str,
    pub col_occupation_gained: &'static str,
    pub col_brand_share: &'static str,
    pub col_last_week: &'static str,
    pub h_quality: &'static str,
    /// After a bold count: `{unit}`.
    pub q_no_data: &'static str,
    /// A list cut short: `{n}`.
    pub and_more: &'static str,
    /// After a bold count: `{weeks}`, `{max_gap}`.
    pub q_gaps: &'static str,
    /// One gap: `{tag}`, `{from}`, `{to}`, `{n}`, `{weeks_word}`.
    pub gap_item: &'static str,
    pub week_one: &'static str,
    pub week_many: &'static str,
    /// After a bold count: `{weeks}`.
    pub q_steps_down: &'static str,
    pub q_stale: &'static str,
    /// One stale series: `{tag}`, `{at}`.
    pub stale_item: &'static str,
    pub q_partial: &'static str,
    /// One partial series: `{tag}`, `{pct}`.
    pub partial_item: &'static str,
    /// `{tag}`, `{at}`.
    pub q_freshest: &'static str,
    pub q_how_gained: &'static str,
    /// `{n}` days.
    pub days: &'static str,
    /// `{n}` hours.
    pub hours: &'static str,
    /// `{n}` seconds.
    pub seconds: &'static str,
    /// Tooltip of a change within rounding.
    pub rounding_title: &'static str,
    /// A change within rounding, in a cell.
    pub within_rounding: &'static str,

    // The glossary.
    pub h_glossary: &'static str,
    /// (term, one plain sentence), in the order shown.
    pub glossary: [(&'static str, &'static str); 8],

    // The list of weeks.
    /// `<h1>` and `<title>`.
    pub index_title: &'static str,
    pub index_none: &'static str,
    pub index_previews: &'static str,
    pub index_previews_note: &'static str,
    pub index_incomplete: &'static str,

    // The headline sentences.
    pub hl_within_rounding: &'static str,
    /// `{pct}` week over week.
    pub hl_wow: &'static str,
    /// `{platform}`, `{unit}`, `{week}`.
    pub hl_no_complete: &'static str,
    pub hl_nothing: &'static str,
    /// `{names}`.
    pub hl_broke_out: &'static str,
    /// `{names}`, `{rest}`.
    pub hl_broke_out_more: &'static str,
    /// `{occupation}`, `{pct}`.
    pub hl_fastest: &'static str,
    pub hl_none_grew: &'static str,
    /// `{brand}`, `{occupation}`, `{now}`, `{before}`.
    pub hl_share_rose: &'static str,
    /// `{brand}`, `{occupation}`, `{now}`, `{before}`.
    pub hl_share_fell: &'static str,
    /// `{brand}`, `{occupation}`, `{now}`.
    pub hl_share_was: &'static str,
    /// `{occupation}`, `{gained}`, `{unit}`.
    pub hl_top: &'static str,
    /// `{occupation}`, `{gained}`, `{unit}`, `{share}`.
    pub hl_top_share: &'static str,

    // Sections and charts.
    /// `{label}`.
    pub source_daily: &'static str,
    /// `{label}`.
    pub source_snapshots: &'static str,
    /// `{brand}`, `{occupation}`.
    pub brand_in: &'static str,
    /// A brand tag's "occupation": `{brand}`.
    pub brand_tag: &'static str,
    /// `{unit}`, `{weeks}`.
    pub chart_brand_title: &'static str,
    pub chart_brand_y: &'static str,
    /// `{unit}`, `{week}`.
    pub chart_occupations_title: &'static str,
    /// Axis: `{unit}`.
    pub chart_occupations_x: &'static str,
    /// `{unit}`, `{weeks}`.
    pub chart_trend_title: &'static str,
    /// Axis: `{unit}`.
    pub chart_trend_y: &'static str,
    pub log_scale: &'static str,
    pub legend_up: &'static str,
    pub legend_down: &'static str,
    pub legend_unknown: &'static str,
    pub axis_week: &'static str,

    // summary.md.
    pub md_synthetic: &'static str,
    pub md_top: &'static str,
    /// One top occupation: `{occupation}`, `{gained}`, `{unit}`, `{change}`, `{share}`.
    pub md_row: &'static str,
    /// `{link}`, `{at}`, `{version}`.
    pub md_full_report: &'static str,

    /// Known metrics in words (`views` -> views); others are shown with `_` as spaces.
    pub metrics: [(&'static str, &'static str); 5],

    pub csv: CsvTexts,

    // A tag's page.
    /// `<h1>`: `{tag}`, `{week}`.
    pub tag_h1: &'static str,
    pub tag_back: &'static str,
    /// `{list}` of the tag's occupations.
    pub tag_occupations: &'static str,
    pub tag_no_occupation: &'static str,
    /// Chart: `{tag}`, `{unit}`, `{weeks}`.
    pub tag_chart_gained: &'static str,
    /// Chart: `{tag}`, `{unit}`, `{weeks}`.
    pub tag_chart_total: &'static str,
    pub tag_band_note: &'static str,
    pub tag_breakout: &'static str,
    /// `{n}` of the last `{weeks}` weeks without a figure.
    pub tag_q_missing: &'static str,
    /// `{n}` steps down in the last `{weeks}` weeks.
    pub tag_q_steps: &'static str,
    /// `{at}`: the last observation.
    pub tag_q_last: &'static str,

    // `tagpulse compare`.
    /// Chart: `{tags}`, `{unit}`.
    pub compare_title: &'static str,
    /// Chart: `{tags}`, `{unit}`, `{week}` (the base week).
    pub compare_indexed_title: &'static str,
    /// The index's axis and CSV column.
    pub compare_index: &'static str,
}

/// The headers and words of the CSV files (documented by their English text in `en.rs`).
#[derive(Debug)]
#[allow(missing_docs)]
pub struct CsvTexts {
    pub week: &'static str,
    pub week_start: &'static str,
    pub platform: &'static str,
    pub metric: &'static str,
    pub occupation: &'static str,
    pub tag: &'static str,
    pub occupations: &'static str,
    pub brand: &'static str,
    pub gained: &'static str,
    pub total: &'static str,
    pub share: &'static str,
    pub tags_reporting: &'static str,
    pub tags_total: &'static str,
    pub observations: &'static str,
    pub decreases: &'static str,
    /// Days present (daily counts).
    pub coverage: &'static str,
    pub resolution: &'static str,
    pub wow: &'static str,
    pub total_growth: &'static str,
    pub avg4: &'static str,
    pub momentum: &'static str,
    /// z.
    pub z: &'static str,
    pub breakout: &'static str,
    pub within_rounding: &'static str,
    pub brand_share: &'static str,
    /// The raw column of a measure: `{name}`.
    pub raw: &'static str,
    /// A ratio's rounded column, in percent: `{name}`.
    pub percent: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
}

impl Texts {
    /// The texts of `lang`.
    pub fn of(lang: Language) -> &'static Texts {
        match lang {
            Language::En => &en::TEXTS,
            Language::Nl => &nl::TEXTS,
            Language::De => &de::TEXTS,
        }
    }

    /// A metric in words.
    pub fn metric(&self, metric: &str) -> String {
        self.metrics
            .iter()
            .find(|(m, _)| *m == metric)
            .map(|(_, w)| w.to_string())
            .unwrap_or_else(|| metric.replace('_', " "))
    }
}

/// `template` with each `{name}` replaced by its value.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match values.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => out.push_str(v),
                    None => out.push_str(&rest[open..open + close + 2]),
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
