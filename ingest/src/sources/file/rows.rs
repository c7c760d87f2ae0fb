//! What every file format shares: defaults for rows that name no platform or metric,
//! `file:line` errors, value and time parsing, and turning one parsed row into an
//! observation.

use std::path::Path;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Deserialize;

use tagpulse_model::implausible_time;

use crate::{parse_ident, DailyCount, IngestError, LineProblem, ObservationBatch, Snapshot, Tag};

pub(super) struct Defaults<'a> {
    pub platform: &'a str,
    pub metric: &'a str,
    /// The CSV delimiter; detected from the header when `None`.
    pub delimiter: Option<super::Delimiter>,
}

pub(super) fn line_err(path: &Path, line: usize, problem: LineProblem) -> IngestError {
    IngestError::Line {
        path: path.to_path_buf(),
        line,
        problem,
    }
}

/// Characters of offending input an error quotes: a 50 MB line must not flood stderr.
const QUOTE_CHARS: usize = 100;

/// `s` quoted as Rust debug text, cut after [`QUOTE_CHARS`] characters with `…`.
pub(super) fn quote(s: &str) -> String {
    match tagpulse_model::text::char_prefix(s, QUOTE_CHARS) {
        Some(head) => format!("{head:?}…"),
        None => format!("{s:?}"),
    }
}

/// Refuses times the model calls implausible (before 1970, more than a day ahead).
pub(super) fn check_time(
    t: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, LineProblem> {
    match implausible_time(t, now) {
        Some(why) => Err(LineProblem::Implausible {
            what: "observed_at",
            at: t.format("%Y-%m-%d %H:%M:%S").to_string(),
            why,
        }),
        None => Ok(t),
    }
}

/// The same bounds for a counted day.
pub(super) fn check_day(d: NaiveDate, now: DateTime<Utc>) -> Result<NaiveDate, LineProblem> {
    match implausible_time(d.and_time(Default::default()).and_utc(), now) {
        Some(why) => Err(LineProblem::Implausible {
            what: "day",
            at: d.to_string(),
            why,
        }),
        None => Ok(d),
    }
}

pub(super) fn parse_value(s: &str) -> Result<u64, LineProblem> {
    s.parse::<u64>().map_err(|_| LineProblem::Value(quote(s)))
}

/// Accepts RFC 3339 or `YYYY-MM-DD HH:MM:SS` (UTC); fractions of a second are dropped.
pub(super) fn parse_time(s: &str) -> Result<DateTime<Utc>, LineProblem> {
    let t = DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").map(|t| t.and_utc()))
        .map_err(|_| LineProblem::Time(quote(s)))?;
    let t = DateTime::from_timestamp(t.timestamp(), 0)
        .ok_or_else(|| LineProblem::TimeRange(quote(s)))?;
    check_time(t, Utc::now())
}

pub(super) fn parse_day(s: &str) -> Result<NaiveDate, LineProblem> {
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| LineProblem::Day(quote(s)))?;
    check_day(d, Utc::now())
}

/// One CSV record or JSON object, before validation.
#[derive(Debug, Deserialize)]
pub(super) struct Row {
    pub(super) tag: Option<String>,
    pub(super) observed_at: Option<String>,
    pub(super) day: Option<String>,
    pub(super) value: Option<serde_json::Value>,
    pub(super) platform: Option<String>,
    pub(super) metric: Option<String>,
}

pub(super) fn push_row(
    batch: &mut ObservationBatch,
    row: Row,
    d: &Defaults,
) -> Result<(), LineProblem> {
    let tag = row.tag.ok_or(LineProblem::Missing("tag"))?;
    let tag = Tag::parse(&tag)?;
    let platform = match row.platform.filter(|p| !p.is_empty()) {
        Some(p) => parse_ident("platform", &p)?,
        None => d.platform.to_string(),
    };
    let metric = match row.metric.filter(|m| !m.is_empty()) {
        Some(m) => parse_ident("metric", &m)?,
        None => d.metric.to_string(),
    };
    let value = match row.value {
        None => return Err(LineProblem::Missing("value")),
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| LineProblem::Value(n.to_string()))?,
        Some(serde_json::Value::String(s)) => parse_value(s.trim())?,
        Some(other) => return Err(LineProblem::Value(other.to_string())),
    };
    let observed_at = row.observed_at.filter(|s| !s.is_empty());
    let day = row.day.filter(|s| !s.is_empty());
    match (observed_at, day) {
        (Some(t), None) => batch.snapshots.push(Snapshot {
            platform,
            tag,
            metric,
            observed_at: parse_time(t.trim())?,
            value,
        }),
        (None, Some(day)) => batch.daily.push(DailyCount {
            platform,
            tag,
            metric,
            day: parse_day(day.trim())?,
            value,
        }),
        (Some(_), Some(_)) => return Err(LineProblem::BothTimes),
        (None, None) => return Err(LineProblem::NoTime),
    }
    Ok(())
}
