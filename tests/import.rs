//! `tagpulse import`: what lands in the observation store, re-imports that change
//! nothing, and bad lines that store nothing.

use std::fs;
use std::path::Path;

use crate::util::*;

fn parts(dir: &Path) -> usize {
    let d = dir.join("data/observations/snapshots");
    fs::read_dir(d).map(|r| r.count()).unwrap_or(0)
}

#[test]
fn reimporting_the_same_files_changes_no_weekly_value() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let glob = fixture_glob();
    let tags = import_and_transform(d, &glob);
    assert_eq!(parts(d), 1);
    // Importing the same files twice more changes no output value.
    ok(d, &["import", &glob]);
    ok(d, &["import", "--format", "tsv", &glob]);
    ok(d, &["transform"]);
    let again = read(&d.join("data/weekly/weekly_tag_metrics.parquet"));
    assert!(
        tags.equals_missing(&again),
        "re-import changed the weekly tags"
    );
    assert_eq!(parts(d), 3);
}

#[test]
fn malformed_line_stores_nothing_and_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("azubi.tsv"),
        "2026-11-16 00:00:00\t100\n2026-11-17 00:00:00\t200\n",
    )
    .unwrap();
    fs::write(
        d.join("koch.tsv"),
        "2026-11-16 00:00:00\t100\n2026-11-17 00:00:00\t2x0\n",
    )
    .unwrap();
    let (code, err) = fails(d, &["import", "azubi.tsv", "koch.tsv"]);
    assert_eq!(code, 1);
    assert!(err.contains("koch.tsv:2: bad value \"2x0\""), "{err}");
    assert_eq!(parts(d), 0, "nothing stored");
    // An invalid tag in a CSV: named with its line, nothing stored.
    fs::write(
        d.join("x.csv"),
        "tag,observed_at,value\nazubi,2026-11-16T00:00:00Z,1\n\"love my job\",2026-11-16T00:00:00Z,2\n",
    )
    .unwrap();
    let (_, err) = fails(d, &["import", "x.csv"]);
    assert!(
        err.contains("x.csv:3: invalid tag \"love my job\""),
        "{err}"
    );
    assert_eq!(parts(d), 0);
    // Malformed JSON lines, likewise.
    fs::write(
        d.join("y.jsonl"),
        "{\"tag\":\"azubi\",\"observed_at\":\"2026-11-16 00:00:00\",\"value\":1}\n{oops\n",
    )
    .unwrap();
    let (_, err) = fails(d, &["import", "y.jsonl"]);
    assert!(err.contains("y.jsonl:2: malformed JSON"), "{err}");
    assert_eq!(parts(d), 0);
    // The good file alone imports.
    let out = ok(d, &["import", "azubi.tsv"]);
    assert!(out.contains("imported 2 snapshots"), "{out}");
    assert_eq!(parts(d), 1);
}
