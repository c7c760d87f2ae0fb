//! A lean lake: a scheduled file source appends only the lines added since its last stored
//! fetch (a rewritten file is read whole again), its errors still name the file's own line
//! numbers, and the run records count only what was stored.

use std::fs;
use std::path::Path;

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
