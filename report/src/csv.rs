//! The spreadsheet files: `occupations.csv` and `tags.csv`, one row per series of the
//! week with every metric, grouped by platform and metric, largest gained first.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use tagpulse_config::iso_week_label;

use crate::ReportError;
use tagpulse_model::rows::{OccupationRow, Signals, TagRow};

/// A number as the CSV prints it: shortest round-trip form, empty for null.
fn csv_num(v: Option<f64>) -> String {
    v.map(|x| format!("{x}")).unwrap_or_default()
}

/// The signal columns of the CSV files, in order; each is a weekly-table column (tested).
/// `z_median` explains breakouts on the page and stays out of the spreadsheet layout.
pub(crate) const CSV_SIGNALS: [&str; 7] = [
    "resolution",
    "wow_growth",
    "total_growth",
    "avg4",
    "momentum",
    "z",
    "breakout",
];

/// Columns the CSV adds after the table's: `within_rounding` is true when the change
/// against the week before is no larger than `resolution` (not a rise or a fall).
pub(crate) const CSV_DERIVED: [&str; 1] = ["within_rounding"];

/// The [`CSV_SIGNALS`] and [`CSV_DERIVED`] of one row, in order.
fn signal_fields(s: &Signals) -> [String; 8] {
    [
        csv_num(s.resolution),
        csv_num(s.wow_growth),
        csv_num(s.total_growth),
        csv_num(s.avg4),
        csv_num(s.momentum),
        csv_num(s.z),
        s.breakout.to_string(),
        s.within_rounding.to_string(),
    ]
}

/// A CSV of the week's rows, grouped by platform and metric, largest gained first.
///
/// `fields` gives a row's (platform, metric, gained) for ordering and its record
/// between `week_start` and the signal columns.
fn week_csv<T>(
    file: &str,
    header: &[&str],
    rows: Vec<&T>,
    week: NaiveDate,
    key: impl Fn(&T) -> (&str, &str, Option<f64>),
    record: impl Fn(&T) -> (Vec<String>, Signals),
) -> Result<Vec<u8>, ReportError> {
    let err = |e: &dyn std::fmt::Display| ReportError::Input(format!("{file}: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    let full: Vec<&str> = ["week", "week_start"]
        .into_iter()
        .chain(header.iter().copied())
        .chain(CSV_SIGNALS)
        .chain(CSV_DERIVED)
        .collect();
    w.write_record(&full).map_err(|e| err(&e))?;
    let mut rows = rows;
    rows.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        (ka.0, ka.1).cmp(&(kb.0, kb.1)).then(
            kb.2.unwrap_or(f64::MIN)
                .total_cmp(&ka.2.unwrap_or(f64::MIN)),
        )
    });
    for r in rows {
        let (fields, signals) = record(r);
        let line: Vec<String> = [iso_week_label(week), week.to_string()]
            .into_iter()
            .chain(fields)
            .chain(signal_fields(&signals))
            .collect();
        w.write_record(&line).map_err(|e| err(&e))?;
    }
    w.into_inner().map_err(|e| err(&e))
}

pub(crate) fn occupations_csv(
    rows: &[OccupationRow],
    week: NaiveDate,
) -> Result<Vec<u8>, ReportError> {
    week_csv(
        "occupations.csv",
        &[
            "platform",
            "metric",
            "occupation",
            "gained",
            "total_end",
            "share",
            "tags_reporting",
            "tags_total",
        ],
        rows.iter().filter(|r| r.week_start == week).collect(),
        week,
        |r| (r.platform.as_str(), r.metric.as_str(), r.gained),
        |r| {
            let fields = vec![
                r.platform.clone(),
                r.metric.clone(),
                r.occupation.clone(),
                csv_num(r.gained),
                csv_num(r.total_end),
                csv_num(r.share),
                r.tags_reporting.to_string(),
                r.tags_total.to_string(),
            ];
            (fields, r.signals())
        },
    )
}

pub(crate) fn tags_csv(
    rows: &[TagRow],
    week: NaiveDate,
    by_tag: &BTreeMap<tagpulse_config::Tag, Vec<String>>,
) -> Result<Vec<u8>, ReportError> {
    week_csv(
        "tags.csv",
        &[
            "platform",
            "metric",
            "tag",
            "occupations",
            "gained",
            "total_end",
            "observations",
            "decreases",
            "coverage",
        ],
        rows.iter().filter(|r| r.week_start == week).collect(),
        week,
        |r| (r.platform.as_str(), r.metric.as_str(), r.gained),
        |r| {
            let occ = tagpulse_config::Tag::parse(&r.tag)
                .ok()
                .and_then(|t| by_tag.get(&t).cloned())
                .unwrap_or_default()
                .join("; ");
            let fields = vec![
                r.platform.clone(),
                r.metric.clone(),
                r.tag.clone(),
                occ,
                csv_num(r.gained),
                csv_num(r.total_end),
                r.observations.to_string(),
                r.decreases.to_string(),
                csv_num(r.coverage),
            ];
            (fields, r.signals())
        },
    )
}
