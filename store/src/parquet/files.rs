//! Single Parquet files written atomically (temp name, sync, rename) and read whole.

use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use crate::{polars_err, StoreError};

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.display().to_string();
    move |source| StoreError::Io { what, path, source }
}

/// The lake's one writer setting: zstd.
fn writer<W: std::io::Write>(w: W) -> ParquetWriter<W> {
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
    publish_file(dir, name, |tmp| write_parquet(tmp, df))
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
    publish_file(dir, name, |tmp| {
        let mut file = File::create(tmp).map_err(io("cannot create", tmp))?;
        let failed = polars_err(format!("cannot write {}", tmp.display()));
        let written = (|| {
            let mut batched = writer(&mut file).batched(schema)?;
            for df in frames {
                let mut df = df?;
                df.align_chunks_par();
                rows += df.height();
                batched.write_batch(&df)?;
            }
            batched.finish()
        })();
        written.map_err(failed)?;
        Ok(file)
    })?;
    Ok(rows)
}

/// Runs `write` on a temp name in `dir`, then syncs it and renames it to `name`; a
/// failure removes the temp file.
fn publish_file(
    dir: &Path,
    name: &str,
    write: impl FnOnce(&Path) -> Result<File, StoreError>,
) -> Result<(), StoreError> {
    let tmp = dir.join(format!(".tmp-{name}"));
    let dest = dir.join(name);
    let written = write(&tmp).and_then(|file| {
        file.sync_all().map_err(io("cannot sync", &tmp))?;
        drop(file);
        std::fs::rename(&tmp, &dest).map_err(io("cannot rename into", &dest))
    });
    if let Err(e) = written {
        // A full disk must not stay full because of our half-written file.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename itself must survive a power cut too.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("cannot sync", dir))?;
    Ok(())
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
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["part.parquet"]);
    }
}
