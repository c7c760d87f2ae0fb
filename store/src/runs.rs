//! The run records under `data_dir/runs/`: `runs.parquet` and `run_sources.parquet`, one
//! row per job run and per source it asked (tables `runs` and `run_sources` of the model).
//!
//! They are kept for every backend, because the scheduler's catch-up and `tagpulse status`
//! must work while a server is down; the ClickHouse store copies them into its own tables
//! for SQL users ([`crate::Store::record_run`]). Each append rewrites both files through a
//! temp file and a rename (a few thousand rows a year), so a crash keeps the old history
//! or the new one.

use std::path::{Path, PathBuf};

use polars::prelude::*;
use tagpulse_model::tables::{TableDef, RUNS, RUN_SOURCES};

use crate::parquet::{read_parquet, write_atomic};
use crate::{polars_err, StoreError};

/// The folder under `data_dir` holding the run records.
pub const RUNS_DIR: &str = "runs";

/// The run records' folder under `data_dir`.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join(RUNS_DIR)
}

fn file(def: &TableDef) -> String {
    format!("{}.parquet", def.name)
}

/// Appends one run's rows (`runs`, `run_sources`) to the records under `data_dir`.
pub fn append(data_dir: &Path, runs: &DataFrame, sources: &DataFrame) -> Result<(), StoreError> {
    RUNS.check(runs).map_err(StoreError::Schema)?;
    RUN_SOURCES.check(sources).map_err(StoreError::Schema)?;
    let dir = dir(data_dir);
    std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
        what: "cannot create",
        path: dir.display().to_string(),
        source,
    })?;
    // Sources first: a run row never points at missing source rows.
    for (def, new) in [(&RUN_SOURCES, sources), (&RUNS, runs)] {
        let mut all = read_table(&dir, def)?;
        all.vstack_mut(new)
            .map_err(polars_err(format!("cannot append to {}", def.name)))?;
        write_atomic(&dir, &file(def), def, &all)?;
    }
    Ok(())
}

/// Every recorded run and source row (empty frames when nothing was recorded yet).
pub fn read(data_dir: &Path) -> Result<(DataFrame, DataFrame), StoreError> {
    let dir = dir(data_dir);
    Ok((read_table(&dir, &RUNS)?, read_table(&dir, &RUN_SOURCES)?))
}

fn read_table(dir: &Path, def: &TableDef) -> Result<DataFrame, StoreError> {
    let path = dir.join(file(def));
    if !path.exists() {
        return Ok(def.empty_frame());
    }
    let df = read_parquet(&path)?;
    def.check(&df).map_err(|e| StoreError::Corrupt {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    Ok(df)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, ms: i64) -> DataFrame {
        let t = || {
            Series::new("t".into(), [ms])
                .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
                .unwrap()
        };
        df!(
            "run_id" => [id], "job" => ["ingest"], "trigger" => ["cli"],
            "started_at" => t(), "finished_at" => t(), "outcome" => ["ok"],
            "rows_written" => [3u64], "message" => [""]
        )
        .unwrap()
    }

    #[test]
    fn runs_append_and_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (runs, sources) = read(dir.path()).unwrap();
        assert_eq!((runs.height(), sources.height()), (0, 0));
        append(dir.path(), &run("a", 1_000), &RUN_SOURCES.empty_frame()).unwrap();
        append(dir.path(), &run("b", 2_000), &RUN_SOURCES.empty_frame()).unwrap();
        let (runs, _) = read(dir.path()).unwrap();
        let ids: Vec<_> = runs
            .column("run_id")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(ids, [Some("a"), Some("b")]);
        // A frame off the schema is refused and the history stays as it was.
        let bad = run("c", 3).drop("message").unwrap();
        assert!(append(dir.path(), &bad, &RUN_SOURCES.empty_frame()).is_err());
        assert_eq!(read(dir.path()).unwrap().0.height(), 2);
    }
}
