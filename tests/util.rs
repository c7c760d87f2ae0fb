//! Helpers shared by the integration tests: run the real `tagpulse` executable in
//! a directory and read what it wrote.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::NaiveDate;
use polars::prelude::*;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_tagpulse");

/// Whether this is CI (`CI=true`), where every test runs or fails.
pub(crate) fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The one policy for a test that needs something from outside (a ClickHouse server,
/// Chromium, root for a tmpfs): when `what` is missing, CI fails the test saying `how` to
/// provide it; elsewhere the test prints SKIPPED with the same words and returns (use
/// [`require!`]).
pub(crate) fn needs(what: &str, present: bool, how: &str) -> bool {
    if present {
        return true;
    }
    assert!(!in_ci(), "CI=true but {what} is missing: {how}");
    eprintln!("SKIPPED: {what} is missing: {how}");
    false
}

/// Returns from the test (after [`needs`] said why) unless `present`.
macro_rules! require {
    ($what:expr, $present:expr, $how:expr) => {
        if !$crate::util::needs($what, $present, $how) {
            return;
        }
    };
}
pub(crate) use require;

/// The Chromium on PATH, if any.
pub(crate) fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| dirs.iter().map(move |d| d.join(name)))
        .find(|p| p.is_file())
}

pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn fixtures() -> PathBuf {
    repo().join("tests/fixtures/tiktok-tag-views")
}

/// The glob of every fixture series.
pub(crate) fn fixture_glob() -> String {
    format!("{}/*.tsv", fixtures().display())
}

/// Imports `glob` into `dir`'s lake, transforms, and returns `weekly_tag_metrics`.
pub(crate) fn import_and_transform(dir: &Path, glob: &str) -> DataFrame {
    ok(dir, &["import", glob]);
    ok(dir, &["transform"]);
    read(&dir.join("data/weekly/weekly_tag_metrics.parquet"))
}

/// `tagpulse ARGS` in `dir`, free of the caller's config and data-dir overrides, without
/// colour; add env vars or pipes, then run it.
pub(crate) fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env_remove("TAGPULSE_CONFIG")
        .env_remove("TAGPULSE_DATA_DIR")
        .env("NO_COLOR", "1");
    cmd
}

pub(crate) fn tagpulse(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().expect("run tagpulse")
}

pub(crate) fn ok(dir: &Path, args: &[&str]) -> String {
    let out = tagpulse(dir, args);
    assert!(
        out.status.success(),
        "tagpulse {args:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn fails(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = tagpulse(dir, args);
    assert!(!out.status.success(), "tagpulse {args:?} should fail");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub(crate) fn read(path: &Path) -> DataFrame {
    ParquetReader::new(fs::File::open(path).unwrap())
        .finish()
        .unwrap()
}

pub(crate) fn col_f64(df: &DataFrame, name: &str) -> Vec<Option<f64>> {
    df.column(name)
        .unwrap()
        .cast(&DataType::Float64)
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .collect()
}

pub(crate) fn col_str(df: &DataFrame, name: &str) -> Vec<String> {
    df.column(name)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.unwrap().to_string())
        .collect()
}

pub(crate) fn col_date(df: &DataFrame, name: &str) -> Vec<NaiveDate> {
    df.column(name)
        .unwrap()
        .cast(&DataType::Int32)
        .unwrap()
        .i32()
        .unwrap()
        .iter()
        .map(|d| NaiveDate::from_num_days_from_ce_opt(d.unwrap() + 719_163).unwrap())
        .collect()
}

pub(crate) fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => (a - b).abs() <= 1e-6 * b.abs().max(1.0),
        _ => false,
    }
}

/// Every Parquet part under `dir`, stacked.
pub(crate) fn read_dir_frames(dir: &Path) -> DataFrame {
    let mut frames = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "parquet"))
        .map(|e| read(&e.path()));
    let mut all = frames.next().expect("a part");
    for f in frames {
        all.vstack_mut(&f).unwrap();
    }
    all
}

/// Occupations and a brand over fixture tags, so every weekly table has rows.
pub(crate) const TAXONOMY: &str = r#"
[[occupations]]
name = "Romantasy authors"
tags = ["gracereilly", "katdelacorte", "christyannejones", "erinacraig", "mazeyeddings"]

[[occupations]]
name = "Fantasy series"
tags = ["dungeoncrawlercarl", "kindredscursesaga", "heiracademy", "boundbyfate", "firepower"]

[[brands]]
name = "Acme Books"
tags = ["gracereilly", "heiracademy"]
occupations = ["Romantasy authors", "Fantasy series"]
"#;
