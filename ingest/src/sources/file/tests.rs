//! The file source: formats, bad lines, globs, backfill windows.

use super::*;
use crate::NoProgress;
use chrono::NaiveDate;

fn source(paths: Vec<String>, format: Option<FileFormat>) -> FileSource {
    FileSource::from_config(&FileSourceConfig {
        id: "t".into(),
        kind: "file".into(),
        paths,
        format,
        platform: "tiktok".into(),
        metric: "views".into(),
        tags: None,
        synthetic: false,
        delimiter: None,
    })
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn tsv_series_named_by_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "NurseLife.tsv",
        "2025-01-06 15:14:19\t598100000\n2025-01-06 18:00:00\t598200000\r\n\n",
    );
    let b = source(vec![p], None).read_all(&NoProgress).unwrap();
    // One file is one series, held in columns.
    assert_eq!(b.series.len(), 1);
    let snaps: Vec<_> = b.all_snapshots().collect();
    assert_eq!(snaps.len(), 2);
    assert_eq!(snaps[0].tag.as_str(), "nurselife");
    assert_eq!(snaps[0].value, 598_100_000);
    assert_eq!(snaps[0].observed_at.timestamp(), 1_736_176_459);
    assert_eq!(snaps[1].platform, "tiktok");
    assert_eq!(b.source, "t");
}

#[test]
fn chunks_group_files_in_order_and_stop_at_the_first_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let line = "2025-01-06 15:14:19\t5\n"; // 22 bytes
    for (name, lines) in [("a", 3), ("b", 1), ("c", 2), ("d", 1)] {
        write(dir.path(), &format!("{name}.tsv"), &line.repeat(lines));
    }
    let src = source(vec![format!("{}/*.tsv", dir.path().display())], None);
    // A group closes once it holds 60 bytes: a (66) | b, c (22 + 44) | d.
    let groups: Vec<Vec<(String, usize)>> = src
        .read_chunks(60, &NoProgress)
        .unwrap()
        .map(|b| {
            let b = b.unwrap();
            assert_eq!(b.source, "t");
            b.series
                .iter()
                .map(|s| (s.tag.to_string(), s.len()))
                .collect()
        })
        .collect();
    let want = [vec![("a", 3)], vec![("b", 1), ("c", 2)], vec![("d", 1)]];
    let want: Vec<Vec<(String, usize)>> = want
        .iter()
        .map(|g| g.iter().map(|(t, n)| (t.to_string(), *n)).collect())
        .collect();
    assert_eq!(groups, want);
    // c goes bad: the group holding it is the error (its caller stops there).
    let c = write(dir.path(), "c.tsv", "2025-01-06 15:14:19\tfive\n");
    let mut chunks = src.read_chunks(60, &NoProgress).unwrap();
    assert!(chunks.next().unwrap().is_ok());
    let e = chunks.next().unwrap().unwrap_err();
    assert!(
        e.to_string().starts_with(&format!("{c}:1: bad value")),
        "{e}"
    );
}

#[test]
fn tsv_bad_line_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "azubi.tsv",
        "2025-01-06 15:14:19\t5\n2025-01-06 16:14:19\t5.5\n",
    );
    let e = source(vec![p.clone()], None)
        .read_all(&NoProgress)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{p}:2: bad value \"5.5\": expected a whole number >= 0")
    );
    // Typed: the line and what is wrong with it, for callers that act on it.
    assert!(
        matches!(
            &e,
            crate::IngestError::Line { line: 2, problem: crate::LineProblem::Value(v), .. }
                if v == "\"5.5\""
        ),
        "{e:?}"
    );
    let p = write(dir.path(), "koch.tsv", "2025-13-06 15:14:19\t5\n");
    let e = source(vec![p.clone()], None)
        .read_all(&NoProgress)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with(&format!("{p}:1: bad time")), "{e}");
    let p = write(dir.path(), "bad name.tsv", "2025-01-06 15:14:19\t5\n");
    let e = source(vec![p], None)
        .read_all(&NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("file name is not a tag") && e.contains("\"bad name\""),
        "{e}"
    );
}

#[test]
fn csv_snapshots_and_daily_counts() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "x.csv",
        "tag,observed_at,value,platform,metric\n#Azubi,2026-11-16T00:00:00Z,100,,\nkoch,2026-11-16 06:30:00,7,youtube,videos\n",
    );
    let b = source(vec![p], None).read_all(&NoProgress).unwrap();
    assert_eq!(b.snapshots.len(), 2);
    assert_eq!(b.snapshots[0].tag.as_str(), "azubi");
    assert_eq!(b.snapshots[0].platform, "tiktok");
    assert_eq!(b.snapshots[1].platform, "youtube");
    assert_eq!(b.snapshots[1].metric, "videos");
    let p = write(
        dir.path(),
        "d.csv",
        "tag,day,value,platform,metric\nnurselife,2026-11-20,42,mastodon,uses\n",
    );
    let b = source(vec![p], None).read_all(&NoProgress).unwrap();
    assert_eq!(b.daily.len(), 1);
    assert_eq!(
        b.daily[0].day,
        NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
    );
    assert_eq!(b.daily[0].value, 42);
}

#[test]
fn csv_with_a_byte_order_mark() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "excel.csv",
        "\u{feff}tag,observed_at,value\r\nazubi,2026-11-16 00:00:00,7\r\n",
    );
    let b = source(vec![p], None).read_all(&NoProgress).unwrap();
    assert_eq!(b.snapshots.len(), 1);
    assert_eq!(b.snapshots[0].value, 7);
}

#[test]
fn semicolon_and_tab_csv_are_detected_and_a_forced_delimiter_that_does_not_fit_says_so() {
    let dir = tempfile::tempdir().unwrap();
    // A Dutch or German spreadsheet's export: `;` between fields, and a field with a
    // comma in quotes that must not make it look comma-separated.
    let semi = write(
        dir.path(),
        "nl.csv",
        "tag;observed_at;value;platform\r\nstagiair;2026-11-16 00:00:00;1200;\"tik,tok\"\r\nazubi;2026-11-16 06:00:00;7;\r\n",
    );
    let err = source(vec![semi.clone()], None)
        .read_all(&NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("nl.csv:2: invalid platform \"tik,tok\""),
        "`;` detected, the quoted field read whole, the CRLF line counted right: {err}"
    );
    let ok = write(
        dir.path(),
        "ok.csv",
        "tag;observed_at;value\nstagiair;2026-11-16 00:00:00;1200\nazubi;2026-11-16 06:00:00;7\n",
    );
    let b = source(vec![ok.clone()], None)
        .read_all(&NoProgress)
        .unwrap();
    assert_eq!(b.snapshots.len(), 2);
    assert_eq!(
        (b.snapshots[0].tag.as_str(), b.snapshots[0].value),
        ("stagiair", 1200)
    );
    let tab = write(
        dir.path(),
        "t.csv",
        "tag\tday\tvalue\nazubi\t2026-11-20\t3\n",
    );
    let b = source(vec![tab], None).read_all(&NoProgress).unwrap();
    assert_eq!(b.daily[0].value, 3);
    // Forced to `,` (the config or --delimiter), a `;` file is named for what it is.
    let mut forced = source(vec![ok.clone()], None);
    forced.cfg.delimiter = Some(Delimiter(b','));
    let err = forced.read_all(&NoProgress).unwrap_err().to_string();
    assert_eq!(
        err,
        format!("{ok}:1: header lacks column `tag`: it looks `;`-separated, not `,`: give --delimiter ';' (or delimiter = \";\" in the source)")
    );
    assert_eq!(Delimiter::parse("\\t").unwrap(), Delimiter(b'\t'));
    assert!(Delimiter::parse("|")
        .unwrap_err()
        .to_string()
        .contains("not a CSV delimiter"));
}

#[test]
fn crlf_lines_are_counted_like_lf_lines() {
    let dir = tempfile::tempdir().unwrap();
    for (name, end) in [("lf.csv", "\n"), ("crlf.csv", "\r\n")] {
        let text = [
            "tag,observed_at,value",
            "ok,2026-01-01T00:00:00Z,1",
            "not ok,2026-01-01T00:00:00Z,1",
            "",
        ]
        .join(end);
        let p = write(dir.path(), name, &text);
        let e = source(vec![p.clone()], None)
            .read_all(&NoProgress)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with(&format!("{p}:3: invalid tag")), "{name}: {e}");
    }
}

#[test]
fn csv_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "h.csv", "tag,when,value\na,2026-01-01,1\n");
    let e = source(vec![p.clone()], None)
        .read_all(&NoProgress)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!("{p}:1: header lacks column `observed_at` (or `day`)")
    );
    let p = write(
        dir.path(),
        "t.csv",
        "tag,observed_at,value\nok,2026-01-01T00:00:00Z,1\nnot ok,2026-01-01T00:00:00Z,1\n",
    );
    let e = source(vec![p.clone()], None)
        .read_all(&NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!("{p}:3: invalid tag \"not ok\"")),
        "{e}"
    );
    let p = write(
        dir.path(),
        "v.csv",
        "tag,observed_at,value\nok,2026-01-01T00:00:00Z,-4\n",
    );
    let e = source(vec![p.clone()], None)
        .read_all(&NoProgress)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with(&format!("{p}:2: bad value \"-4\"")), "{e}");
}

#[test]
fn jsonl_rows_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "x.jsonl",
        "{\"tag\":\"cheflife\",\"observed_at\":\"2026-11-16T01:00:00+01:00\",\"value\":12}\n\n{\"tag\":\"koch\",\"day\":\"2026-11-17\",\"value\":\"3\",\"platform\":\"mastodon\",\"metric\":\"uses\"}\n",
    );
    let b = source(vec![p], None).read_all(&NoProgress).unwrap();
    assert_eq!(
        b.snapshots[0].observed_at.to_rfc3339(),
        "2026-11-16T00:00:00+00:00"
    );
    assert_eq!(b.daily[0].value, 3);
    let p = write(
        dir.path(),
        "y.jsonl",
        "{\"tag\":\"a\",\"observed_at\":\"2026-11-16 00:00:00\",\"value\":1}\n{\"tag\":\n",
    );
    let e = source(vec![p.clone()], None)
        .read_all(&NoProgress)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with(&format!("{p}:2: malformed JSON")), "{e}");
    let p = write(dir.path(), "z.jsonl", "{\"tag\":\"a\",\"value\":1}\n");
    let e = source(vec![p.clone()], None)
        .read_all(&NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!("{p}:1: missing field `observed_at`")),
        "{e}"
    );
    let p = write(
        dir.path(),
        "f.jsonl",
        "{\"tag\":\"a\",\"observed_at\":\"2026-11-16 00:00:00\",\"value\":1.5}\n",
    );
    let e = source(vec![p.clone()], None)
        .read_all(&NoProgress)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with(&format!("{p}:1: bad value 1.5")), "{e}");
}

#[test]
fn patterns_and_formats() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.tsv", "2025-01-06 15:14:19\t1\n");
    write(dir.path(), "b.tsv", "2025-01-06 15:14:19\t2\n");
    let glob = format!("{}/*.tsv", dir.path().display());
    let b = source(vec![glob], None).read_all(&NoProgress).unwrap();
    assert_eq!(
        b.all_snapshots()
            .map(|s| s.tag.as_str().to_string())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    let none = format!("{}/*.csv", dir.path().display());
    let e = source(vec![none], None)
        .read_all(&NoProgress)
        .unwrap_err()
        .to_string();
    assert!(e.ends_with("matches no file"), "{e}");
    let p = write(dir.path(), "c.txt", "x");
    let e = source(vec![p], None)
        .read_all(&NoProgress)
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot tell the format"), "{e}");
    let p = write(dir.path(), "c.data", "2025-01-06 15:14:19\t3\n");
    let b = source(vec![p], Some(FileFormat::Tsv))
        .read_all(&NoProgress)
        .unwrap();
    assert_eq!(b.series[0].tag.as_str(), "c");
}

#[test]
fn tag_filter_limits_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "x.csv",
        "tag,observed_at,value\nazubi,2026-01-01T00:00:00Z,1\nkoch,2026-01-01T00:00:00Z,2\n",
    );
    let mut s = source(vec![p], None);
    s.cfg.tags = Some(vec![Tag::parse("koch").unwrap()]);
    let b = s.read_all(&NoProgress).unwrap();
    assert_eq!(b.snapshots.len(), 1);
    assert_eq!(b.snapshots[0].tag.as_str(), "koch");
}

fn err_of(paths: Vec<String>) -> String {
    source(paths, None)
        .read_all(&NoProgress)
        .unwrap_err()
        .to_string()
}

#[test]
fn times_before_1970_or_a_day_ahead_are_bad_lines_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases = [
        (
            "a.tsv",
            "2026-01-05 12:00:00\t1\n2099-06-01 00:00:00\t2\n",
            2,
            "observed_at 2099-06-01 00:00:00 is more than 24 hours in the future",
        ),
        (
            "b.tsv",
            "1969-12-31 23:59:59\t1\n",
            1,
            "observed_at 1969-12-31 23:59:59 is before 1970-01-01",
        ),
        (
            "c.csv",
            "tag,observed_at,value\nx,0001-01-01T00:00:00Z,1\n",
            2,
            "observed_at 0001-01-01 00:00:00 is before 1970-01-01",
        ),
        (
            "d.jsonl",
            "{\"tag\":\"x\",\"observed_at\":\"9999-12-31T23:59:59-23:59\",\"value\":1}\n",
            1,
            "is more than 24 hours in the future",
        ),
        (
            "e.csv",
            "tag,day,value\nx,1969-07-20,1\n",
            2,
            "day 1969-07-20 is before 1970-01-01",
        ),
    ];
    for (name, text, line, want) in cases {
        let p = write(d, name, text);
        let e = err_of(vec![p.clone()]);
        assert!(
            e.starts_with(&format!("{p}:{line}: ")) && e.contains(want),
            "{name}: {e}"
        );
    }
    // Today and tomorrow morning are fine (a clock a few hours ahead).
    let soon = (chrono::Utc::now() + chrono::Duration::hours(12)).format("%Y-%m-%d %H:%M:%S");
    let p = write(d, "ok.tsv", &format!("{soon}\t3\n"));
    assert_eq!(
        source(vec![p], None)
            .read_all(&NoProgress)
            .unwrap()
            .snapshot_count(),
        1
    );
}

#[test]
fn a_long_bad_line_is_quoted_short_and_bad_bytes_name_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let long = "x".repeat(50_000);
    let p = write(d, "long.tsv", &format!("2026-01-05 12:00:00\t1\n{long}\n"));
    let e = err_of(vec![p.clone()]);
    assert_eq!(
        e,
        format!(
            "{p}:2: expected `YYYY-MM-DD HH:MM:SS<TAB>value`, got \"{}\"…",
            "x".repeat(100)
        )
    );
    let p = write(
        d,
        "tags.csv",
        &format!("tag,observed_at,value\n{long},2026-01-05T12:00:00Z,1\n"),
    );
    assert!(err_of(vec![p]).len() < 400);
    let bytes = d.join("bytes.tsv");
    std::fs::write(
        &bytes,
        b"2026-01-05 12:00:00\t1\n2026-01-05 13:00:00\t2\xff\n",
    )
    .unwrap();
    assert_eq!(
        err_of(vec![bytes.display().to_string()]),
        format!("{}:2: not valid UTF-8", bytes.display())
    );
}

#[test]
fn a_directory_or_a_symlink_loop_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    assert_eq!(
        err_of(vec![d.clone()]),
        format!("{d} is a directory: give files or a glob such as {d}/*.tsv")
    );
    let a = dir.path().join("a.tsv");
    let b = dir.path().join("b.tsv");
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    let e = err_of(vec![a.display().to_string()]);
    assert!(e.contains("symbolic links"), "{e}");
}

mod arbitrary {
    //! Arbitrary bytes as TSV, CSV and JSON lines: an answer (rows or a `file:line` error),
    //! never a panic, and never a partial batch next to an error.

    use super::*;
    use proptest::prelude::*;

    fn lines() -> impl Strategy<Value = Vec<u8>> {
        // Mostly plausible lines with damage, plus raw bytes.
        let plausible = prop::collection::vec(
            prop_oneof![
                Just("2026-01-05 12:00:00\t1\n".to_string()),
                Just("tag,observed_at,value\n".to_string()),
                Just("x,2026-01-05T12:00:00Z,5\n".to_string()),
                Just("{\"tag\":\"x\",\"day\":\"2026-01-05\",\"value\":\"7\"}\n".to_string()),
                "[ -~\t]{0,40}\n",
            ],
            0..12,
        )
        .prop_map(|v| v.concat().into_bytes());
        prop_oneof![plausible, prop::collection::vec(any::<u8>(), 0..300)]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
        #[test]
        fn any_bytes_parse_or_fail_cleanly(bytes in lines(), ext in prop_oneof![Just("tsv"), Just("csv"), Just("jsonl")]) {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join(format!("azubi.{ext}"));
            std::fs::write(&p, &bytes).unwrap();
            match source(vec![p.display().to_string()], None).read_all(&NoProgress) {
                Ok(b) => prop_assert!(b.len() <= bytes.len()),
                Err(e) => {
                    let e = e.to_string();
                    prop_assert!(e.starts_with(&p.display().to_string()), "{}", e);
                    // Quoted input is capped: the error stays short whatever the line.
                    prop_assert!(e.len() < p.display().to_string().len() + 600, "{}", e);
                }
            }
        }
    }
}
