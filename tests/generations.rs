//! Atomic generations under SIGKILL: the real binary is killed at many points during
//! `transform` and `report`, and after every kill a reader finds one complete generation
//! of the weekly tables and of the week's report folder, at their stable paths.

use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tagpulse_model::tables::WEEKLY_TABLES;

use crate::util::*;

/// Kills per command; the delays spread evenly over one uninterrupted run.
const KILLS: u32 = 14;

fn spawn(dir: &Path, args: &[&str]) -> std::process::Child {
    command(dir, args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn tagpulse")
}

/// Runs `args` once to the end and returns how long it took.
fn timed(dir: &Path, args: &[&str]) -> Duration {
    let t = Instant::now();
    ok(dir, args);
    t.elapsed()
}

/// Runs `args` and SIGKILLs it after `delay` (if it is still running); true if killed.
fn kill_after(dir: &Path, args: &[&str], delay: Duration) -> bool {
    let mut child = spawn(dir, args);
    std::thread::sleep(delay);
    let killed = matches!(child.try_wait(), Ok(None));
    if killed {
        child.kill().expect("SIGKILL");
    }
    child.wait().expect("reap");
    killed
}

/// Every weekly table is readable at `data/weekly/`, matches its definition and holds the
/// row counts of a complete transform.
fn assert_complete_weekly(dir: &Path, heights: &[usize]) {
    for (def, want) in WEEKLY_TABLES.iter().zip(heights) {
        let path = dir
            .join("data/weekly")
            .join(format!("{}.parquet", def.name));
        let df = read(&path);
        def.check(&df)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(df.height(), *want, "{}", path.display());
    }
}

/// The week's folder holds exactly the files of a complete report, none empty, and the
/// top-level index is whole.
fn assert_complete_report(dir: &Path, files: &[String]) {
    let week = dir.join("reports/2026-W33");
    let mut got: Vec<String> = fs::read_dir(&week)
        .unwrap_or_else(|e| panic!("{}: {e}", week.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    got.sort();
    assert_eq!(got, files, "files of {}", week.display());
    for f in files {
        let len = fs::metadata(week.join(f)).unwrap().len();
        assert!(len > 0, "{f} is empty");
    }
    let html = fs::read_to_string(week.join("index.html")).unwrap();
    assert!(html.trim_end().ends_with("</html>"), "torn index.html");
    let index = fs::read_to_string(dir.join("reports/index.html")).unwrap();
    assert!(index.contains("2026-W33"), "{index}");
}

#[test]
fn readers_always_see_one_complete_generation_across_kills() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut args = vec!["import".to_string()];
    for e in fs::read_dir(fixtures()).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "tsv") {
            args.push(p.display().to_string());
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(d, &args);

    let full = timed(d, &["transform"]);
    let heights: Vec<usize> = WEEKLY_TABLES
        .iter()
        .map(|def| read(&d.join(format!("data/weekly/{}.parquet", def.name))).height())
        .collect();
    assert!(heights[0] > 2000, "{heights:?}");
    let mut killed = 0;
    for k in 0..KILLS {
        let delay = full.mul_f64(f64::from(k) / f64::from(KILLS));
        killed += u32::from(kill_after(d, &["transform"], delay));
        assert_complete_weekly(d, &heights);
    }
    assert!(
        killed >= KILLS / 2,
        "only {killed} transforms were killed mid-run"
    );

    let full = timed(d, &["report"]);
    let mut files: Vec<String> = fs::read_dir(d.join("reports/2026-W33"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert!(files.contains(&"tags.csv".to_string()), "{files:?}");
    let mut killed = 0;
    for k in 0..KILLS {
        let delay = full.mul_f64(f64::from(k) / f64::from(KILLS));
        killed += u32::from(kill_after(d, &["report"], delay));
        assert_complete_report(d, &files);
    }
    assert!(
        killed >= KILLS / 2,
        "only {killed} reports were killed mid-run"
    );

    // One clean run sweeps what the killed ones left: the current generation and the one
    // before it remain, and no staging.
    ok(d, &["transform"]);
    ok(d, &["report"]);
    for (parent, prefix) in [("data", "weekly-"), ("reports", "2026-W33-")] {
        let gens: Vec<String> = fs::read_dir(d.join(parent).join(".generations"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            gens.iter().all(|g| g.starts_with(prefix)),
            "leftover staging in {parent}: {gens:?}"
        );
        assert!(gens.len() <= 2, "{parent}: {gens:?}");
    }
    assert_complete_weekly(d, &heights);
    assert_complete_report(d, &files);
}
