//! Numbers and dates as each language writes them: decimal marks, thousands units,
//! percentages, month names and week titles.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};

use super::{fill, Language, Texts};

/// How one language writes numbers and dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locale(pub Language);

/// Short month names, January first.
const MONTHS: [[&str; 12]; 3] = [
    [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ],
    [
        "jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec",
    ],
    [
        "Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.",
        "Dez.",
    ],
];

impl Locale {
    fn index(self) -> usize {
        match self.0 {
            Language::En => 0,
            Language::Nl => 1,
            Language::De => 2,
        }
    }

    /// The texts of this locale's language.
    pub fn texts(self) -> &'static Texts {
        Texts::of(self.0)
    }

    /// `x` with `digits` decimals and this language's decimal mark.
    pub fn decimal(self, x: f64, digits: usize) -> String {
        self.marked(format!("{x:.digits$}"))
    }

    /// `x` with every digit (its shortest exact form) and this language's decimal mark.
    pub fn decimal_raw(self, x: f64) -> String {
        self.marked(format!("{x}"))
    }

    /// A number written with a point, in this language's decimal mark.
    fn marked(self, s: String) -> String {
        match self.0 {
            Language::En => s,
            _ => s.replace('.', ","),
        }
    }

    /// A count in short form: 259, 12.3K, 1.2M (en); 1,2 mln (nl); 1,2 Mio. (de); "–"
    /// when missing.
    pub fn human(self, v: Option<f64>) -> String {
        let Some(v) = v else {
            return "–".into();
        };
        let a = v.abs();
        let sign = if v < 0.0 { "-" } else { "" };
        const UNITS: [[&str; 4]; 3] = [
            ["K", "M", "B", "T"],
            ["K", " mln", " mld", " bln"],
            [" Tsd.", " Mio.", " Mrd.", " Bio."],
        ];
        let units = UNITS[self.index()];
        let (x, unit) = if a >= 1e12 {
            (a / 1e12, units[3])
        } else if a >= 1e9 {
            (a / 1e9, units[2])
        } else if a >= 1e6 {
            (a / 1e6, units[1])
        } else if a >= 1e4 {
            (a / 1e3, units[0])
        } else {
            return format!("{sign}{}", a.round() as i64);
        };
        let digits = if x >= 100.0 { 0 } else { 1 };
        format!("{sign}{}{unit}", self.decimal(x, digits))
    }

    /// `p` percent with `digits` decimals: `+3.4%` (en, nl with a decimal comma) or
    /// `+3,4 %` (de); the sign only when `signed`.
    pub fn percent(self, p: f64, digits: usize, signed: bool) -> String {
        let sign = if signed && p >= 0.0 { "+" } else { "" };
        let space = if self.0 == Language::De { "\u{a0}" } else { "" };
        format!("{sign}{}{space}%", self.decimal(p, digits))
    }

    /// A value in full, thousands grouped: 70,912,345 (en), 70.912.345 (nl, de); two
    /// decimals when it is not whole.
    pub fn exact(self, v: f64) -> String {
        let (group, mark) = match self.0 {
            Language::En => (',', '.'),
            _ => ('.', ','),
        };
        let sign = if v < 0.0 { "-" } else { "" };
        let a = v.abs();
        let whole = a.trunc() as u128;
        let digits = whole.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(group);
            }
            out.push(c);
        }
        let frac = ((a - a.trunc()) * 100.0).round() as u32;
        if frac > 0 && frac < 100 {
            out.push(mark);
            out.push_str(&format!("{frac:02}"));
        }
        format!("{sign}{out}")
    }

    /// A ratio as a signed percentage: +3.4%; "–" when missing.
    pub fn pct(self, v: Option<f64>) -> String {
        match v {
            Some(v) if v.is_finite() => self.percent(v * 100.0, 1, true),
            _ => "–".into(),
        }
    }

    /// A share as an unsigned percentage: 2.1%, 0.04%; "–" when missing.
    pub fn share(self, v: Option<f64>) -> String {
        match v {
            Some(v) if v.is_finite() => {
                let p = v * 100.0;
                let digits = if p != 0.0 && p.abs() < 0.1 { 2 } else { 1 };
                self.percent(p, digits, false)
            }
            _ => "–".into(),
        }
    }

    /// A week-over-week change: the within-rounding words, or [`Locale::pct`].
    pub fn wow(self, v: Option<f64>, within_rounding: bool) -> String {
        if within_rounding {
            self.texts().within_rounding.into()
        } else {
            self.pct(v)
        }
    }

    /// A signed change of a count: +1.2M / -3400.
    pub fn signed(self, v: Option<f64>) -> String {
        match v {
            Some(v) if v > 0.0 => format!("+{}", self.human(Some(v))),
            other => self.human(other),
        }
    }

    fn month(self, d: NaiveDate) -> &'static str {
        MONTHS[self.index()][d.month0() as usize]
    }

    /// Day and month: `16 Nov` / `16 nov` / `16. Nov.`.
    pub fn day_month(self, d: NaiveDate) -> String {
        match self.0 {
            Language::De => format!("{}. {}", d.day(), self.month(d)),
            _ => format!("{} {}", d.day(), self.month(d)),
        }
    }

    /// A date: `16 Nov 2026` / `16 nov 2026` / `16. Nov. 2026`.
    pub fn date(self, d: NaiveDate) -> String {
        format!("{} {}", self.day_month(d), d.year())
    }

    /// A time in UTC: `16 Nov 2026 14:05 UTC` (`16. Nov. 2026, 14:05 UTC` in German).
    pub fn date_time(self, t: DateTime<Utc>) -> String {
        let comma = if self.0 == Language::De { "," } else { "" };
        format!(
            "{}{comma} {:02}:{:02} UTC",
            self.date(t.date_naive()),
            t.hour(),
            t.minute()
        )
    }

    /// A time in UTC from epoch seconds; empty when out of range.
    pub fn date_time_secs(self, secs: i64) -> String {
        DateTime::<Utc>::from_timestamp(secs, 0)
            .map(|t| self.date_time(t))
            .unwrap_or_default()
    }

    /// The week starting on `monday`: `week 47, 16–22 Nov 2026` / `week 47, 16–22 nov
    /// 2026` / `KW 47, 16.–22. Nov. 2026`; across months and years both ends are written.
    pub fn week_title(self, monday: NaiveDate) -> String {
        let sunday = monday + Duration::days(6);
        let w = monday.iso_week().week();
        let prefix = match self.0 {
            Language::De => format!("KW {w}"),
            _ => format!("week {w}"),
        };
        let range = if monday.month() == sunday.month() {
            let day = match self.0 {
                Language::De => format!("{}.", monday.day()),
                _ => monday.day().to_string(),
            };
            format!("{day}–{}", self.date(sunday))
        } else if monday.year() == sunday.year() {
            format!("{} – {}", self.day_month(monday), self.date(sunday))
        } else {
            format!("{} – {}", self.date(monday), self.date(sunday))
        };
        format!("{prefix}, {range}")
    }

    /// A duration given in seconds, in whole days, hours or seconds.
    pub fn duration(self, secs: i64) -> String {
        let t = self.texts();
        let (n, template) = match secs {
            s if s % 86_400 == 0 => (s / 86_400, t.days),
            s if s % 3600 == 0 => (s / 3600, t.hours),
            s => (s, t.seconds),
        };
        fill(template, &[("n", &n.to_string())])
    }
}
