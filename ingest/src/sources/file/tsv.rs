//! TSV series, the fixtures' format: `YYYY-MM-DD HH:MM:SS<TAB>value`, the tag being the
//! file name. A file becomes one [`SnapshotSeries`] (columns, not rows), and well-formed
//! lines are parsed at byte level: chrono's format parser and three strings per line were
//! most of a 10M-line import.

use std::path::Path;

use chrono::NaiveDateTime;

use crate::{IngestError, LineProblem, ObservationBatch, SnapshotSeries, Tag};

use super::rows::{check_time, line_err, parse_value, quote, Defaults};

/// `YYYY-MM-DD HH:MM:SS<TAB>value`, one series per file, the tag being the file name.
pub(super) fn parse_tsv(
    path: &Path,
    text: &str,
    d: &Defaults,
) -> Result<ObservationBatch, IngestError> {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let tag = Tag::parse(stem).map_err(|e| line_err(path, 0, LineProblem::FileName(e)))?;
    let mut series = SnapshotSeries::new(d.platform, tag, d.metric);
    let now = chrono::Utc::now();
    let latest = (now + chrono::Duration::hours(24)).timestamp();
    for (i, raw) in text.lines().enumerate() {
        // Well-formed lines (nearly all) take the byte-level path; anything it does not
        // accept goes through the checks below, which name what is wrong.
        if let Some((secs, value)) = fast_line(raw.as_bytes()).filter(|(t, _)| *t <= latest) {
            series.observed_at.push(secs);
            series.value.push(value);
            continue;
        }
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let n = i + 1;
        let mut fields = line.split('\t');
        let (Some(ts), Some(value), None) = (fields.next(), fields.next(), fields.next()) else {
            return Err(line_err(path, n, LineProblem::TsvShape(quote(line))));
        };
        let observed_at = NaiveDateTime::parse_from_str(ts.trim(), "%Y-%m-%d %H:%M:%S")
            .map_err(|source| {
                let quoted = quote(ts);
                line_err(path, n, LineProblem::TsvTime { quoted, source })
            })?
            .and_utc();
        let observed_at = check_time(observed_at, now).map_err(|m| line_err(path, n, m))?;
        let value = parse_value(value.trim()).map_err(|m| line_err(path, n, m))?;
        series.observed_at.push(observed_at.timestamp());
        series.value.push(value);
    }
    let mut batch = ObservationBatch::default();
    if !series.is_empty() {
        batch.series.push(series);
    }
    Ok(batch)
}

/// `YYYY-MM-DD HH:MM:SS<TAB>digits` exactly, from 1970 on: (epoch seconds, value).
fn fast_line(b: &[u8]) -> Option<(i64, u64)> {
    let b = b.strip_suffix(b"\r").unwrap_or(b);
    if b.len() < 21 || b.len() > 40 || b[19] != b'\t' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    if [4, 7, 10, 13, 16].map(|i| b[i]) != *b"-- ::" {
        return None;
    }
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let days = civil_days(i64::from(num(0..4)?), num(5..7)?, num(8..10)?)?;
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + s);
    let digits = &b[20..];
    if secs < 0 || digits.len() > 19 {
        return None;
    }
    let value = digits.iter().try_fold(0u64, |n, c| {
        c.is_ascii_digit().then(|| n * 10 + u64::from(c - b'0'))
    })?;
    Some((secs, value))
}

/// Days since 1970-01-01 of year `y`, month `m`, day `d`; `None` unless that day exists.
/// chrono's date constructor and difference were a tenth of a 10M-line import.
fn civil_days(y: i64, m: u32, d: u32) -> Option<i64> {
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_len = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if d == 0 || d > month_len {
        return None;
    }
    // Years counted from March, so a leap day ends its year (H. Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * i64::from((m + 9) % 12) + 2) / 5 + i64::from(d) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some(era * 146_097 + day_of_era - 719_468)
}

#[cfg(test)]
mod fast_tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn civil_days_agree_with_chrono_from_1970_to_2200() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let mut checked = 0;
        for y in 1970..2200 {
            for m in 0..=13 {
                for d in 0..=32 {
                    let want = NaiveDate::from_ymd_opt(y, m, d)
                        .map(|date| date.signed_duration_since(epoch).num_days());
                    assert_eq!(civil_days(i64::from(y), m, d), want, "{y}-{m}-{d}");
                    checked += usize::from(want.is_some());
                }
            }
        }
        assert_eq!(checked, 84_006, "every day of 230 years");
    }

    #[test]
    fn the_byte_path_agrees_with_chrono_or_declines() {
        let t = |s: &str| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
                .unwrap()
                .and_utc()
                .timestamp()
        };
        assert_eq!(
            fast_line(b"2025-01-06 15:14:19\t598100000"),
            Some((t("2025-01-06 15:14:19"), 598_100_000))
        );
        assert_eq!(
            fast_line(b"2024-02-29 23:59:59\t0\r"),
            Some((t("2024-02-29 23:59:59"), 0))
        );
        for bad in [
            &b"2025-02-29 00:00:00\t1"[..],
            b"2025-01-06 24:00:00\t1",
            b"2025-01-06T15:14:19\t1",
            b"2025-01-06 15:14:19\t-1",
            b"2025-01-06 15:14:19\t1 ",
            b"2025-01-06 15:14:19\t",
            b"2025-01-06 15:14:19\t99999999999999999999",
            b"1969-12-31 23:59:59\t1",
            b"2025-01-06 15:14:19 1",
        ] {
            assert_eq!(fast_line(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
