//! Single Parquet files, written through `tagpulse_io::write_atomic` and read whole.

use std::fs::File;
use std::path::Path;

use polars::prelude::*;
use tagpulse_io::Access;

use crate::{polars_err, StoreError};

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.display().to_string();
    move |source| StoreError::Io { what, path, source }
}

/// The lake's one writer setting: zstd.
pub(crate) fn writer<W: std::io::Write>(w: W) -> ParquetWriter<W> {
    ParquetWriter::new(w).with_compression(ParquetCompression::Zstd(None))
}

/// Writes `df` to `path` (zstd), unsynced: for files inside a staging folder that is
/// synced and published whole (see `generation::publish`).
pub(crate) fn write_parquet(path: &Path, df: &mut DataFrame) -> Result<File, StoreError> {
    let mut file = File::create(path).map_err(io("cannot create", path))?;
    writer(&mut file)
        .finish(df)
        .map_err(polars_err(format!("cannot write {}", path.display())))?;
    Ok(file)
}

/// Writes `df` to `dir/name` through a synced temp file and a rename.
pub(crate) fn write_atomic(dir: &Path, name: &str, df: &mut DataFrame) -> Result<(), StoreError> {
    Ok(tagpulse_io::write_atomic(
        &dir.join(name),
        Access::Shared,
        |file| {
            writer(file)
                .finish(df)
                .map(drop)
                .map_err(std::io::Error::other)
        },
    )?)
}

/// Writes `frames` (each with `schema`) as one file `dir/name`, frame after frame, the
/// same way as [`write_atomic`]; returns the rows written.
pub(crate) fn write_atomic_frames(
    dir: &Path,
    name: &str,
    schema: &Schema,
    frames: impl Iterator<Item = PolarsResult<DataFrame>>,
) -> Result<usize, StoreError> {
    let mut rows = 0;
    tagpulse_io::write_atomic(&dir.join(name), Access::Shared, |file| {
        let written = (|| {
            let mut batched = writer(file).batched(schema)?;
            for df in frames {
                let mut df = df?;
                df.align_chunks_par();
                rows += df.height();
                batched.write_batch(&df)?;
            }
            batched.finish()
        })();
        written.map(drop).map_err(std::io::Error::other)
    })?;
    Ok(rows)
}

pub(crate) fn read_parquet(path: &Path) -> Result<DataFrame, StoreError> {
    let file = File::open(path).map_err(|source| StoreError::Io {
        what: "cannot open",
        path: path.display().to_string(),
        source,
    })?;
    ParquetReader::new(file)
        .finish()
        .map_err(polars_err(format!("cannot read {}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        // The destination is a non-empty directory: the final rename fails.
        std::fs::create_dir_all(dir.path().join("part.parquet/x")).unwrap();
        let mut df = df!("a" => [1u64, 2]).unwrap();
        let e = write_atomic(dir.path(), "part.parquet", &mut df).unwrap_err();
        assert!(e.to_string().starts_with("cannot rename into"), "{e}");
        assert!(e.to_string().contains("part.parquet"), "{e}");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["part.parquet"]);
    }
}
