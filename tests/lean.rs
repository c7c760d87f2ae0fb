//! A lean lake: a scheduled file source appends only the lines added since its last stored
//! fetch (a rewritten file is read whole again), its errors still name the file's own line
//! numbers, and the run records count only what was stored. `tagpulse compact` merges
//! the parts, and a kill at any moment of it loses nothing.

use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::Instant;

use polars::prelude::*;

use crate::util::*;

const CONFIG: &str = r#"
[taxonomy]
defaults = false

[[occupations]]
name = "Nursing"
tags = ["pflege", "nurse"]

[[sources]]
id = "series"
kind = "file"
paths = ["in/*.tsv"]

[[sources]]
id = "sheet"
kind = "file"
paths = ["in/counts.csv"]
"#;

/// Snapshot rows in the lake's parts (duplicates included: what was appended).
fn stored_rows(d: &Path) -> usize {
    read_dir_frames(&d.join("data/observations/snapshots")).height()
}

/// The rows the newest run record counts.
fn last_rows(d: &Path) -> u64 {
    let status = ok(d, &["status"]);
    let line = status
        .lines()
        .find(|l| l.contains(" ingest ") && l.contains(" rows"))
        .unwrap_or_else(|| panic!("no ingest line in {status}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "rows").unwrap();
    words[at - 1].parse().unwrap()
}

fn hours(from: u32, to: u32) -> String {
    (from..to)
        .map(|h| {
            format!(
                "2026-01-{:02} {:02}:00:00\t{}\n",
                5 + h / 24,
                h % 24,
                1000 + h
            )
        })
        .collect()
}

#[test]
fn a_scheduled_file_source_stores_only_what_was_appended() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("in")).unwrap();
    fs::write(d.join("tagpulse.toml"), CONFIG).unwrap();
    fs::write(d.join("in/pflege.tsv"), hours(0, 216)).unwrap();
    fs::write(d.join("in/nurse.tsv"), hours(0, 216)).unwrap();
    fs::write(
        d.join("in/counts.csv"),
        "tag,observed_at,value\r\npflege,2026-01-04T12:00:00Z,7\r\n",
    )
    .unwrap();

    ok(d, &["ingest"]);
    assert_eq!(stored_rows(d), 433);
    assert_eq!(last_rows(d), 433);
    // Nothing new: nothing appended, nothing counted.
    ok(d, &["ingest"]);
    assert_eq!(stored_rows(d), 433);
    assert_eq!(last_rows(d), 0);
    ok(d, &["run"]);
    assert_eq!(stored_rows(d), 433);

    // Lines appended to a series and to the CSV (read under its header).
    let mut more = fs::read_to_string(d.join("in/nurse.tsv")).unwrap();
    more.push_str(&hours(216, 222));
    fs::write(d.join("in/nurse.tsv"), more).unwrap();
    let mut sheet = fs::read_to_string(d.join("in/counts.csv")).unwrap();
    sheet.push_str("nurse,2026-01-05T00:00:00Z,9\r\n");
    fs::write(d.join("in/counts.csv"), sheet).unwrap();
    ok(d, &["ingest"]);
    assert_eq!(stored_rows(d), 440);
    assert_eq!(last_rows(d), 7);

    // A bad appended line is named by its line in the file, and nothing moves.
    let mut bad = fs::read_to_string(d.join("in/nurse.tsv")).unwrap();
    bad.push_str("2026-01-06 06:00:00\t12x\n");
    fs::write(d.join("in/nurse.tsv"), &bad).unwrap();
    let (code, err) = fails(d, &["ingest", "--source", "series"]);
    assert_eq!(code, 1);
    assert!(err.contains("nurse.tsv:223:"), "{err}");
    assert_eq!(stored_rows(d), 440);
    fs::write(d.join("in/nurse.tsv"), bad.replace("12x", "12")).unwrap();
    ok(d, &["ingest", "--source", "series"]);
    assert_eq!(stored_rows(d), 441);

    // A file rewritten (here shortened) is read whole again: what the store already
    // holds changes no metric, since reads deduplicate by identity.
    fs::write(d.join("in/pflege.tsv"), hours(0, 10)).unwrap();
    ok(d, &["ingest", "--source", "series"]);
    assert_eq!(stored_rows(d), 451);
    ok(d, &["transform"]);
    let tags = read(&d.join("data/weekly/weekly_tag_metrics.parquet"));
    let pflege_snapshots: f64 = col_str(&tags, "tag")
        .iter()
        .zip(col_f64(&tags, "observations"))
        .filter(|(t, _)| *t == "pflege")
        .map(|(_, n)| n.unwrap_or(0.0))
        .sum();
    assert_eq!(
        pflege_snapshots, 217.0,
        "216 series hours and the CSV's one, once each"
    );
}

#[test]
fn an_import_still_reads_its_files_whole_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("pflege.tsv"), hours(0, 5)).unwrap();
    ok(d, &["import", "pflege.tsv"]);
    ok(d, &["import", "pflege.tsv"]);
    assert_eq!(
        stored_rows(d),
        10,
        "an explicit import stores what it is given"
    );
    assert!(!d.join("data/files").exists(), "an import keeps no marks");
}

/// Every `part-` file of the snapshots, read as a reader would: per observed_at the row
/// ingested last; returns (observed_at ms, value) sorted, and the part count.
fn deduplicated(d: &Path) -> (Vec<(i64, u64)>, usize) {
    let dir = d.join("data/observations/snapshots");
    let mut latest = std::collections::BTreeMap::new();
    let mut parts = 0;
    for entry in fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("part-") {
            continue;
        }
        parts += 1;
        let df = read(&entry.path());
        let at = col_f64(&df, "observed_at");
        let ingested = col_f64(&df, "ingested_at");
        let value = col_f64(&df, "value");
        for i in 0..df.height() {
            let (t, v, ing) = (
                at[i].unwrap() as i64,
                value[i].unwrap() as u64,
                ingested[i].unwrap(),
            );
            let keep = latest.get(&t).is_none_or(|(_, old)| ing >= *old);
            if keep {
                latest.insert(t, (v, ing));
            }
        }
    }
    (
        latest.into_iter().map(|(t, (v, _))| (t, v)).collect(),
        parts,
    )
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn compact_merges_the_parts_and_can_be_killed_at_any_moment() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Eight imports of one series, each re-sending every hour with new values.
    const HOURS: u32 = 20_000;
    for round in 0..8u32 {
        let lines: String = (0..HOURS)
            .map(|h| {
                let at = chrono::NaiveDate::from_ymd_opt(2024, 1, 1)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
                    + chrono::Duration::hours(i64::from(h));
                format!("{}\t{}\n", at.format("%Y-%m-%d %H:%M:%S"), h * 10 + round)
            })
            .collect();
        fs::write(d.join("pflege.tsv"), lines).unwrap();
        ok(d, &["import", "pflege.tsv"]);
    }
    let (want, parts) = deduplicated(d);
    assert_eq!((want.len(), parts), (HOURS as usize, 8));
    assert!(
        want.iter().all(|(_, v)| v % 10 == 7),
        "the last import wins"
    );
    let lake = d.join("data/observations");
    let pristine = d.join("pristine");
    copy_tree(&lake, &pristine);
    let restore = || {
        fs::remove_dir_all(&lake).unwrap();
        copy_tree(&pristine, &lake);
    };

    let started = Instant::now();
    let out = ok(d, &["compact"]);
    let full = started.elapsed();
    assert!(
        out.contains("snapshots: 8 parts merged, 160000 rows -> 20000 rows"),
        "{out}"
    );
    assert_eq!(deduplicated(d), (want.clone(), 1));
    for k in 1..=8u32 {
        restore();
        let mut child = command(d, &["compact"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full * k / 9);
        child.kill().ok();
        child.wait().unwrap();
        let (seen, _) = deduplicated(d);
        assert_eq!(seen, want, "after a kill at {k}/9 of a compaction");
    }
    // A compaction after the kill finishes the job.
    ok(d, &["compact"]);
    assert_eq!(deduplicated(d), (want, 1));
}

/// Each column's (polars type, nullable) as a Parquet file declares them.
fn declared(path: &Path) -> Vec<(String, String, bool)> {
    let mut reader = ParquetReader::new(fs::File::open(path).unwrap());
    let schema = reader.schema().unwrap();
    schema
        .iter_values()
        .map(|f| {
            let dtype = DataType::from_arrow_field(f);
            (f.name.to_string(), format!("{dtype}"), f.is_nullable)
        })
        .collect()
}

#[test]
fn the_lake_is_written_as_documented_and_an_older_lake_reads_and_migrates() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("pflege.tsv"), hours(0, 216)).unwrap();
    ok(d, &["import", "pflege.tsv"]);
    let parts = d.join("data/observations/snapshots");
    let part = fs::read_dir(&parts)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let want: Vec<(String, String, bool)> = [
        ("platform", "str"),
        ("tag", "str"),
        ("metric", "str"),
        ("observed_at", "datetime[ms, UTC]"),
        ("value", "u64"),
        ("source", "str"),
        ("ingested_at", "datetime[μs, UTC]"),
    ]
    .iter()
    .map(|(n, t)| (n.to_string(), t.to_string(), false))
    .collect();
    assert_eq!(declared(&part), want, "non-null, times in UTC");
    ok(d, &["transform"]);
    let weekly = declared(&d.join("data/weekly/weekly_tag_metrics.parquet"));
    let nullable = |name: &str| weekly.iter().find(|c| c.0 == name).unwrap().2;
    assert!(!nullable("tag") && !nullable("observations") && nullable("gained"));
    let runs = declared(&d.join("data/runs/runs.parquet"));
    assert!(runs.contains(&("started_at".into(), "datetime[ms, UTC]".into(), false)));
    let before = read(&d.join("data/weekly/weekly_tag_metrics.parquet"));

    // A part in the layout before this one (every column nullable, times without a
    // zone), holding later hours, as an older tagpulse wrote it.
    let mut old = read(&part);
    let shifted = (old
        .column("observed_at")
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap()
        .i64()
        .unwrap()
        + 216 * 3_600_000i64)
        .into_series()
        .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
        .unwrap();
    old.with_column(shifted.with_name("observed_at".into()).into_column())
        .unwrap();
    for name in ["observed_at", "ingested_at"] {
        let c = old.column(name).unwrap().to_physical_repr();
        let unit = match old.column(name).unwrap().dtype() {
            DataType::Datetime(u, _) => *u,
            _ => unreachable!(),
        };
        old.with_column(c.cast(&DataType::Datetime(unit, None)).unwrap())
            .unwrap();
    }
    let old_part = parts.join("part-00000000000000001-1-0.parquet");
    ParquetWriter::new(fs::File::create(&old_part).unwrap())
        .finish(&mut old)
        .unwrap();
    assert!(
        declared(&old_part).iter().all(|c| c.2),
        "the old layout is nullable"
    );

    ok(d, &["transform"]);
    let mixed = read(&d.join("data/weekly/weekly_tag_metrics.parquet"));
    assert!(
        mixed.height() > before.height(),
        "the old part's weeks count"
    );
    let out = ok(d, &["compact"]);
    assert!(
        out.contains("snapshots: 2 parts merged, 432 rows -> 432 rows"),
        "{out}"
    );
    let merged = fs::read_dir(&parts)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(
        declared(&merged),
        want,
        "compact rewrites the lake in this layout"
    );
    ok(d, &["transform"]);
    let after = read(&d.join("data/weekly/weekly_tag_metrics.parquet"));
    assert!(
        after.equals_missing(&mixed),
        "migrating kept every observation"
    );
}
