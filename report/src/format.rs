//! Numbers and dates for people in English (1.2M, +3.4%, "week 47, 16-22 Nov 2026"), for
//! the alerts and other English text; the report itself writes through [`crate::i18n`].

use chrono::NaiveDate;

use crate::i18n::{Language, Locale};

/// English numbers and dates (the alerts' language).
const EN: Locale = Locale(Language::En);

/// A count in short form: 259, 12.3K, 1.2M, 43.6B; "–" when missing.
pub fn human(v: Option<f64>) -> String {
    EN.human(v)
}

/// A ratio as a signed percentage: +3.4%, -12.0%; "–" when missing.
pub fn pct(v: Option<f64>) -> String {
    EN.pct(v)
}

/// What a week-over-week change reads as: "≈ within rounding" when the change is no
/// larger than the counter's rounding step, else [`pct`].
pub fn wow(v: Option<f64>, within_rounding: bool) -> String {
    EN.wow(v, within_rounding)
}

/// A share as an unsigned percentage: 2.1%; "–" when missing.
pub fn share(v: Option<f64>) -> String {
    EN.share(v)
}

/// A signed change of a count: +1.2M / -3.4K.
pub fn signed(v: Option<f64>) -> String {
    EN.signed(v)
}

/// "week 47, 16-22 Nov 2026" for the week starting on `monday`.
pub fn week_title(monday: NaiveDate) -> String {
    EN.week_title(monday)
}

/// Display name of a platform ("tiktok" -> "TikTok").
pub fn platform_name(p: &str) -> String {
    match p {
        "tiktok" => "TikTok".into(),
        "youtube" => "YouTube".into(),
        "x" => "X".into(),
        "instagram" => "Instagram".into(),
        "mastodon" => "Mastodon".into(),
        other => {
            let mut c = other.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        assert_eq!(human(Some(259.0)), "259");
        assert_eq!(human(Some(9_999.0)), "9999");
        assert_eq!(human(Some(12_345.0)), "12.3K");
        assert_eq!(human(Some(1_234_567.0)), "1.2M");
        assert_eq!(human(Some(43_600_000_000.0)), "43.6B");
        assert_eq!(human(Some(598_100_000.0)), "598M");
        assert_eq!(human(Some(-1_500_000.0)), "-1.5M");
        assert_eq!(human(Some(0.4)), "0");
        assert_eq!(human(None), "–");
        assert_eq!(signed(Some(1_200_000.0)), "+1.2M");
        assert_eq!(signed(Some(-3_400.0)), "-3400");
    }

    #[test]
    fn percentages() {
        assert_eq!(pct(Some(0.034)), "+3.4%");
        assert_eq!(pct(Some(-0.12)), "-12.0%");
        assert_eq!(pct(Some(0.0)), "+0.0%");
        assert_eq!(pct(None), "–");
        assert_eq!(pct(Some(f64::INFINITY)), "–");
        assert_eq!(share(Some(0.021)), "2.1%");
        assert_eq!(share(Some(0.0004)), "0.04%");
    }

    #[test]
    fn weeks() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
        assert_eq!(week_title(d), "week 47, 16–22 Nov 2026");
        let d = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        assert_eq!(week_title(d), "week 49, 30 Nov – 6 Dec 2026");
        let d = NaiveDate::from_ymd_opt(2025, 12, 29).unwrap();
        assert_eq!(week_title(d), "week 1, 29 Dec 2025 – 4 Jan 2026");
        assert_eq!(platform_name("tiktok"), "TikTok");
        assert_eq!(platform_name("bluesky"), "Bluesky");
    }
}
