//! CSV with a header naming `tag`, `observed_at` or `day`, `value` (and optionally
//! `platform`, `metric`).

use std::path::Path;

use crate::{IngestError, LineProblem, ObservationBatch};

use super::rows::{line_err, push_row, Defaults, Row};

pub(super) fn parse_csv(
    path: &Path,
    text: &str,
    d: &Defaults,
) -> Result<ObservationBatch, IngestError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| line_err(path, 1, LineProblem::CsvHeader(e)))?
        .clone();
    for need in ["tag", "value"] {
        if !headers.iter().any(|h| h == need) {
            return Err(line_err(path, 1, LineProblem::CsvColumn(need)));
        }
    }
    if !headers.iter().any(|h| h == "observed_at" || h == "day") {
        return Err(line_err(path, 1, LineProblem::CsvTimeColumn));
    }
    let mut batch = ObservationBatch::default();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
            line_err(path, line, LineProblem::Csv(e))
        })?;
        let line = record.position().map(|p| p.line() as usize).unwrap_or(0);
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
