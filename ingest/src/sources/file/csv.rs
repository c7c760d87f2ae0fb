//! CSV with a header naming `tag`, `observed_at` or `day`, `value` (and optionally
//! `platform`, `metric`), separated by `,`, `;` or tabs: the one configured, else the
//! one the header line uses most.

use std::path::Path;

use crate::{IngestError, LineProblem, ObservationBatch};

use super::rows::{line_err, push_row, Defaults, Row};
use super::Delimiter;

pub(super) fn parse_csv(
    path: &Path,
    text: &str,
    d: &Defaults,
) -> Result<ObservationBatch, IngestError> {
    let header_line = text.lines().next().unwrap_or("");
    let delimiter = d.delimiter.unwrap_or_else(|| detect(header_line));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter.0)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| line_err(path, 1, LineProblem::CsvHeader(e)))?
        .clone();
    for need in ["tag", "value"] {
        if !headers.iter().any(|h| h == need) {
            let looks = detect(header_line);
            let problem = if looks != delimiter && header_line.contains(looks.0 as char) {
                LineProblem::CsvOtherDelimiter {
                    need,
                    used: delimiter.shown(),
                    looks: looks.shown(),
                }
            } else {
                LineProblem::CsvColumn(need)
            };
            return Err(line_err(path, 1, problem));
        }
    }
    if !headers.iter().any(|h| h == "observed_at" || h == "day") {
        return Err(line_err(path, 1, LineProblem::CsvTimeColumn));
    }
    let mut batch = ObservationBatch::default();
    // Lines counted from the byte offset: with CRLF line ends, as spreadsheets write
    // them, the csv crate starts a record at the `\n` of the line before (and counts it
    // a line short), so line breaks at the start are skipped first.
    let bytes = text.as_bytes();
    let line_at = |p: &csv::Position| {
        let mut at = (p.byte() as usize).min(bytes.len());
        while at < bytes.len() && matches!(bytes[at], b'\r' | b'\n') {
            at += 1;
        }
        bytes[..at].iter().filter(|b| **b == b'\n').count() + 1
    };
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(line_at).unwrap_or(0);
            line_err(path, line, LineProblem::Csv(e))
        })?;
        let line = record.position().map(line_at).unwrap_or(0);
        let get = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .and_then(|i| record.get(i))
                .map(str::to_string)
        };
        let row = Row {
            tag: get("tag"),
            observed_at: get("observed_at"),
            day: get("day"),
            value: get("value").map(serde_json::Value::String),
            platform: get("platform"),
            metric: get("metric"),
        };
        push_row(&mut batch, row, d).map_err(|m| line_err(path, line, m))?;
    }
    Ok(batch)
}

/// The delimiter a header line uses: the most frequent of `;`, tab and `,` outside
/// quotes (a comma when none appears).
fn detect(header: &str) -> Delimiter {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for b in header.bytes() {
        match b {
            b'"' => quoted = !quoted,
            b';' if !quoted => counts[0] += 1,
            b'\t' if !quoted => counts[1] += 1,
            b',' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).max_by_key(|i| (counts[*i], *i)).unwrap_or(2);
    match (best, counts[best]) {
        (_, 0) | (2, _) => Delimiter(b','),
        (0, _) => Delimiter(b';'),
        _ => Delimiter(b'\t'),
    }
}
