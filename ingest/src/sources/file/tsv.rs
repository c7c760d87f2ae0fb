//! TSV series, the fixtures' format: `YYYY-MM-DD HH:MM:SS<TAB>value`, the tag being the
//! file name.

use std::path::Path;

use chrono::NaiveDateTime;

use crate::{IngestError, ObservationBatch, Snapshot, Tag};

use super::rows::{check_time, line_err, parse_value, quote, Defaults};

/// `YYYY-MM-DD HH:MM:SS<TAB>value`, one series per file, the tag being the file name.
pub(super) fn parse_tsv(
    path: &Path,
    text: &str,
    d: &Defaults,
) -> Result<ObservationBatch, IngestError> {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let tag =
        Tag::parse(stem).map_err(|e| line_err(path, 0, format!("file name is not a tag: {e}")))?;
    let mut batch = ObservationBatch::default();
    let now = chrono::Utc::now();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let n = i + 1;
        let mut fields = line.split('\t');
        let (Some(ts), Some(value), None) = (fields.next(), fields.next(), fields.next()) else {
            return Err(line_err(
                path,
                n,
                format!(
                    "expected `YYYY-MM-DD HH:MM:SS<TAB>value`, got {}",
                    quote(line)
                ),
            ));
        };
        let observed_at = NaiveDateTime::parse_from_str(ts.trim(), "%Y-%m-%d %H:%M:%S")
            .map_err(|e| line_err(path, n, format!("bad time {}: {e}", quote(ts))))?
            .and_utc();
        let observed_at = check_time(observed_at, now).map_err(|m| line_err(path, n, m))?;
        let value = parse_value(value.trim()).map_err(|m| line_err(path, n, m))?;
        batch.snapshots.push(Snapshot {
            platform: d.platform.to_string(),
            tag: tag.clone(),
            metric: d.metric.to_string(),
            observed_at,
            value,
        });
    }
    Ok(batch)
}
