//! JSON lines: one object per line with the CSV's field names.

use std::path::Path;

use crate::{IngestError, LineProblem, ObservationBatch};

use super::rows::{line_err, push_row, Defaults, Row};

pub(super) fn parse_jsonl(
    path: &Path,
    text: &str,
    d: &Defaults,
) -> Result<ObservationBatch, IngestError> {
    let mut batch = ObservationBatch::default();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row: Row =
            serde_json::from_str(line).map_err(|e| line_err(path, i + 1, LineProblem::Json(e)))?;
        push_row(&mut batch, row, d).map_err(|m| line_err(path, i + 1, m))?;
    }
    Ok(batch)
}
