//! Small JSON state files under `data_dir` (backfill progress, alert state), replaced
//! whole through a temp file and a rename so a crash keeps the old or the new content.

use std::path::Path;

use serde::Serialize;

use crate::PipelineError;

/// Writes `value` to `path` as pretty JSON, atomically; `what` names it in errors.
pub(crate) fn write<T: Serialize>(
    path: &Path,
    value: &T,
    what: &'static str,
) -> Result<(), PipelineError> {
    let io = |source| PipelineError::Io {
        what,
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(value).expect("serialisable"),
    )
    .map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}
