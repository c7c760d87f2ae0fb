//! Small JSON state files under `data_dir` (backfill progress, alert state), replaced
//! whole through `tagpulse_io::write_atomic`, so a crash keeps the old or the new
//! content.

use std::path::Path;

use serde::Serialize;
use tagpulse_io::{write_bytes, Access};

use crate::PipelineError;

/// Writes `value` to `path` as pretty JSON, atomically.
pub(crate) fn write<T: Serialize>(path: &Path, value: &T) -> Result<(), PipelineError> {
    let json = serde_json::to_vec_pretty(value).expect("serialisable");
    Ok(write_bytes(path, Access::Shared, &json)?)
}
