//! End-to-end tests: they run the real `tagpulse` binary in temp directories, on the real
//! fixture series copied under `tests/fixtures/`, and check the Parquet outputs and the
//! report files by value.

use std::fs;
use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};
use polars::prelude::*;
use tagpulse_transform::reference;

use crate::util::*;

fn parts(dir: &Path) -> usize {
    let d = dir.join("data/observations/snapshots");
    fs::read_dir(d).map(|r| r.count()).unwrap_or(0)
}

/// The fixture file as (epoch seconds, value) points.
fn points(path: &Path) -> Vec<(i64, u64)> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let (t, v) = line.split_once('\t').unwrap();
            let t = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
                .unwrap()
                .and_utc()
                .timestamp();
            (t, v.parse().unwrap())
        })
        .collect()
}

fn col_f64(df: &DataFrame, name: &str) -> Vec<Option<f64>> {
    df.column(name)
        .unwrap()
        .cast(&DataType::Float64)
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .collect()
}

fn col_str(df: &DataFrame, name: &str) -> Vec<String> {
    df.column(name)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.unwrap().to_string())
        .collect()
}

fn col_date(df: &DataFrame, name: &str) -> Vec<NaiveDate> {
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

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => (a - b).abs() <= 1e-6 * b.abs().max(1.0),
        _ => false,
    }
}

#[test]
fn fixtures_import_transform_report_match_the_spec_and_reimport_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let glob = format!("{}/*.tsv", fixtures().display());
    let out = ok(d, &["import", &glob]);
    assert!(out.contains("imported 114043 snapshots"), "{out}");
    ok(d, &["transform"]);
    let tags = read(&d.join("data/weekly/weekly_tag_metrics.parquet"));
    let names: Vec<String> = tags
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        names,
        [
            "platform",
            "tag",
            "metric",
            "week_start",
            "total_end",
            "gained",
            "observations",
            "decreases",
            "coverage",
            "wow_growth",
            "total_growth",
            "avg4",
            "momentum",
            "z",
            "z_median",
            "breakout"
        ]
    );

    // Hand-computed from the raw file: V(Mon 2025-05-26 00:00) lies between
    // 2025-05-25 21:14:46 (789300) and 2025-05-26 01:17:28 (789400): 9914 s into a
    // 14562 s gap -> 789300 + 100 * 9914 / 14562; V(2025-05-19) likewise 787068.1479964503.
    let tag = col_str(&tags, "tag");
    let week = col_date(&tags, "week_start");
    let te = col_f64(&tags, "total_end");
    let gained = col_f64(&tags, "gained");
    let row = |t: &str, w: NaiveDate| {
        (0..tags.height())
            .find(|i| tag[*i] == t && week[*i] == w)
            .unwrap()
    };
    let i = row(
        "springguardiansandsongbirds",
        NaiveDate::from_ymd_opt(2025, 5, 19).unwrap(),
    );
    let v_end = 789_300.0 + 100.0 * 9914.0 / 14562.0;
    assert!(close(te[i], Some(v_end)), "{:?}", te[i]);
    assert!(
        close(gained[i], Some(v_end - 787_068.147_996_450_3)),
        "{:?}",
        gained[i]
    );
    // rachelhawkins has no snapshot from 2023-12-07 to 2024-01-12 (36 days > max_gap):
    // the boundaries inside that outage have no value.
    let i = row(
        "rachelhawkins",
        NaiveDate::from_ymd_opt(2023, 12, 11).unwrap(),
    );
    assert_eq!((te[i], gained[i]), (None, None));
    assert_eq!(col_f64(&tags, "observations")[i], Some(0.0));

    // Every row of every series against the loop-by-loop oracle.
    let obs = col_f64(&tags, "observations");
    let dec = col_f64(&tags, "decreases");
    let mut checked = 0;
    for entry in fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("tsv") {
            continue;
        }
        let name = path.file_stem().unwrap().to_str().unwrap().to_lowercase();
        // The loop-by-loop reading of the spec, sharing no code with the polars jobs.
        let want = reference::snapshot_weeks(&points(&path), 7 * 86_400);
        let rows: Vec<usize> = (0..tags.height()).filter(|i| tag[*i] == name).collect();
        assert_eq!(rows.len(), want.len(), "{name}: weeks");
        for i in rows {
            let r = want[&week[i]];
            let (w_te, w_g, w_obs, w_dec) = (r.total_end, r.gained, r.observations, r.decreases);
            assert!(
                close(te[i], w_te),
                "{name} {}: total_end {:?} vs {:?}",
                week[i],
                te[i],
                w_te
            );
            assert!(
                close(gained[i], w_g),
                "{name} {}: gained {:?} vs {:?}",
                week[i],
                gained[i],
                w_g
            );
            assert_eq!(obs[i], Some(w_obs as f64), "{name} {}", week[i]);
            assert_eq!(dec[i], Some(w_dec as f64), "{name} {}", week[i]);
            checked += 1;
        }
    }
    assert_eq!(checked, tags.height());
    // The fixtures' counters do step down (rounded display).
    assert!(dec.iter().flatten().sum::<f64>() > 100.0);

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

    // The report for a chosen week.
    let out = ok(d, &["report", "--week", "2026-W33"]);
    assert!(out.contains("reports/2026-W33/index.html"), "{out}");
    let rep = d.join("reports/2026-W33");
    let html = fs::read_to_string(rep.join("index.html")).unwrap();
    for needle in [
        "week 33, 10–16 Aug 2026",
        "What happened this week",
        "Which tags moved most?",
        "What broke out?",
        "Can I trust these numbers?",
        "<svg",
    ] {
        assert!(html.contains(needle), "index.html lacks {needle:?}");
    }
    assert!(!html.contains("<script"), "no JavaScript");
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "no external assets"
    );
    assert!(
        !html.contains("Synthetic sample data"),
        "fixture data is real"
    );
    let csv = fs::read_to_string(rep.join("tags.csv")).unwrap();
    let week33 = week
        .iter()
        .filter(|w| **w == NaiveDate::from_ymd_opt(2026, 8, 10).unwrap())
        .count();
    assert_eq!(csv.lines().count(), week33 + 1);
    assert!(csv.starts_with("week,week_start,platform,metric,tag,occupations,gained"));
    assert!(fs::read_to_string(d.join("reports/index.html"))
        .unwrap()
        .contains("2026-W33/index.html"));
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

#[test]
fn bad_config_is_one_clear_error_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("tagpulse.toml"),
        "[storage]\ndata_dir = \"lake\"\n\n[report]\ntop = 5\n",
    )
    .unwrap();
    let (code, err) = fails(d, &["transform"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("tagpulse.toml:5: report.top: unknown field `top`"),
        "{err}"
    );
    assert!(!d.join("lake").exists());
    fs::write(
        d.join("other.toml"),
        "[[occupations]]\nname = \"Nursing\"\ntags = [\"zorg\", \"zorg helden\"]\n",
    )
    .unwrap();
    let (_, err) = fails(d, &["--config", "other.toml", "config"]);
    assert!(
        err.contains("other.toml:3: occupations[0].tags[1]: invalid tag \"zorg helden\""),
        "{err}"
    );
    // Bad CLI values are rejected by the argument parser (exit 2) with the flag named.
    let out = tagpulse(
        d,
        &["--config", "other.toml", "report", "--week", "2026-47"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--week"));
    let out = tagpulse(d, &["import", "--platform", "Tik Tok", "x.tsv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid platform"));
}

/// A copy of the repository's config and sample in a temp dir.
fn sample_checkout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(
        repo().join("tagpulse.toml"),
        dir.path().join("tagpulse.toml"),
    )
    .unwrap();
    let sample = dir.path().join("examples/sample");
    fs::create_dir_all(&sample).unwrap();
    for e in fs::read_dir(repo().join("examples/sample")).unwrap() {
        let p = e.unwrap().path();
        fs::copy(&p, sample.join(p.file_name().unwrap())).unwrap();
    }
    dir
}

#[test]
fn main_job_on_the_bundled_sample_writes_the_report_and_reruns_do_not_double_count() {
    let dir = sample_checkout();
    let d = dir.path();
    let out = ok(d, &["run"]);
    assert!(
        out.contains("report for 2026-W46 written to reports/2026-W46/index.html"),
        "{out}"
    );
    let occ = read(&d.join("data/weekly/weekly_occupation_metrics.parquet"));
    let brands = read(&d.join("data/weekly/weekly_brand_metrics.parquet"));
    assert_eq!(
        brands
            .get_column_names()
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>(),
        [
            "platform",
            "brand",
            "occupation",
            "metric",
            "week_start",
            "gained",
            "brand_share"
        ]
    );
    // Occupation gained equals the sum of its member tags' gained (spec roll-up).
    let tags = read(&d.join("data/weekly/weekly_tag_metrics.parquet"));
    let w46 = NaiveDate::from_ymd_opt(2026, 11, 9).unwrap();
    let tw = col_date(&tags, "week_start");
    let tn = col_str(&tags, "tag");
    let tg = col_f64(&tags, "gained");
    let nursing: f64 = (0..tags.height())
        .filter(|i| tw[*i] == w46)
        .filter(|i| {
            [
                "nurselife",
                "scrublife",
                "nursesoftiktok",
                "verpleegkundige",
                "pflegekraft",
            ]
            .contains(&tn[*i].as_str())
        })
        .map(|i| tg[i].unwrap())
        .sum();
    let all: f64 = (0..tags.height())
        .filter(|i| tw[*i] == w46)
        .filter_map(|i| tg[i])
        .sum();
    let ow = col_date(&occ, "week_start");
    let on = col_str(&occ, "occupation");
    let i = (0..occ.height())
        .find(|i| ow[*i] == w46 && on[*i] == "Nursing")
        .unwrap();
    assert!(close(col_f64(&occ, "gained")[i], Some(nursing)));
    assert!(close(col_f64(&occ, "share")[i], Some(nursing / all)));
    assert_eq!(col_f64(&occ, "tags_reporting")[i], Some(5.0));
    assert_eq!(col_f64(&occ, "tags_total")[i], Some(8.0));

    let rep = d.join("reports/2026-W46");
    let html = fs::read_to_string(rep.join("index.html")).unwrap();
    for needle in [
        "Synthetic sample data",
        "How is my brand doing?",
        "Acme Care",
        "#verpleegkundige",
        "Nursing",
    ] {
        assert!(html.contains(needle), "index.html lacks {needle:?}");
    }
    let summary = fs::read_to_string(rep.join("summary.md")).unwrap();
    assert!(summary.contains("synthetic sample data"), "{summary}");
    assert!(
        summary.contains("#verpleegkundige"),
        "the planted burst is a breakout: {summary}"
    );
    for png in [
        "occupations-tiktok-views.png",
        "trend-tiktok-views.png",
        "brand-share-tiktok-views.png",
    ] {
        let bytes = fs::read(rep.join(png)).unwrap();
        assert_eq!(&bytes[1..4], b"PNG", "{png}");
        assert!(bytes.len() > 10_000, "{png} is a real picture");
        assert!(rep.join(png.replace(".png", ".svg")).is_file());
    }
    let occ_csv = fs::read_to_string(rep.join("occupations.csv")).unwrap();
    let nursing_line = occ_csv.lines().find(|l| l.contains(",Nursing,")).unwrap();
    assert!(
        nursing_line.starts_with("2026-W46,2026-11-09,tiktok,views,Nursing,"),
        "{nursing_line}"
    );

    // A second run re-reads the same files: nothing double-counts.
    ok(d, &["run"]);
    assert!(tags.equals_missing(&read(&d.join("data/weekly/weekly_tag_metrics.parquet"))));
    assert!(occ.equals_missing(&read(
        &d.join("data/weekly/weekly_occupation_metrics.parquet")
    )));
}

#[test]
fn data_dir_flag_works_after_the_subcommand_and_reports_need_data() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("nurselife.tsv"),
        "2026-11-02 00:00:00\t100\n2026-11-10 00:00:00\t900\n2026-11-18 00:00:00\t1700\n",
    )
    .unwrap();
    let (_, err) = fails(d, &["report"]);
    assert!(err.contains("run `tagpulse transform`"), "{err}");
    // The main job on an empty store: one plain sentence, no colour codes in logs.
    let (code, err) = fails(d, &["run"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no observations stored in data yet: import files with `tagpulse import`"),
        "{err}"
    );
    assert!(
        !err.contains('\u{1b}'),
        "no ANSI escapes when stderr is not a terminal: {err}"
    );
    ok(d, &["import", "nurselife.tsv", "--data-dir", "elsewhere"]);
    ok(d, &["--data-dir", "elsewhere", "transform"]);
    assert!(d
        .join("elsewhere/weekly/weekly_tag_metrics.parquet")
        .is_file());
    let (_, err) = fails(
        d,
        &["report", "--data-dir", "elsewhere", "--week", "2025-W01"],
    );
    assert!(err.contains("no data for 2025-W01"), "{err}");
    // Latest complete week: the last observation is in W47, so W46 is reported. With
    // 8-day gaps over the default max_gap nothing interpolates, so gained is unknown.
    let out = ok(d, &["report", "--data-dir", "elsewhere"]);
    assert!(out.contains("2026-W46"), "{out}");
    // With max_gap = 8d the boundaries interpolate: V(11-02) = 100 (a snapshot sits exactly
    // on that Monday), V(11-09) = 800, V(11-16) = 1500; V(11-23) is after the last one.
    fs::write(
        d.join("tagpulse.toml"),
        "[storage]\ndata_dir = \"elsewhere\"\n[transform]\nmax_gap = \"8d\"\n",
    )
    .unwrap();
    ok(d, &["transform"]);
    let tags = read(&d.join("elsewhere/weekly/weekly_tag_metrics.parquet"));
    assert_eq!(col_f64(&tags, "gained"), [Some(700.0), Some(700.0), None]);
    assert_eq!(
        col_f64(&tags, "total_end"),
        [Some(800.0), Some(1500.0), None]
    );
}

#[test]
fn daily_counts_and_a_second_platform_get_their_own_panel_and_a_broken_source_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Mastodon daily uses: week of Mon 2026-11-09 complete (7 days), week of 11-16 has
    // three days, and one day of 11-23 makes week 47 complete.
    let mut csv = String::from("tag,day,value,platform,metric\n");
    for (day, v) in [
        (9, 1),
        (10, 2),
        (11, 3),
        (12, 4),
        (13, 5),
        (14, 6),
        (15, 7),
        (16, 10),
        (18, 20),
        (20, 30),
        (23, 1),
    ] {
        csv.push_str(&format!("#NurseLife,2026-11-{day:02},{v},mastodon,uses\n"));
    }
    fs::write(d.join("uses.csv"), csv).unwrap();
    fs::write(
        d.join("nurselife.tsv"),
        "2026-11-15 00:00:00\t1000\n2026-11-17 00:00:00\t3000\n2026-11-23 12:00:00\t9000\n",
    )
    .unwrap();
    fs::write(
        d.join("tagpulse.toml"),
        r#"
[[sources]]
id = "views"
kind = "file"
paths = ["nurselife.tsv"]

[[sources]]
id = "mastodon"
kind = "file"
paths = ["uses.csv"]

[[sources]]
id = "broken"
kind = "file"
paths = ["missing/*.csv"]
"#,
    )
    .unwrap();
    let out = tagpulse(d, &["run", "--week", "2026-W47"]);
    assert_eq!(out.status.code(), Some(1), "a failed source fails the job");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("1 source(s) failed")
            && err.contains("broken: missing/*.csv: matches no file"),
        "{err}"
    );
    // The other sources landed and the report was written all the same.
    let tags = read(&d.join("data/weekly/weekly_tag_metrics.parquet"));
    let platform = col_str(&tags, "platform");
    let gained = col_f64(&tags, "gained");
    let coverage = col_f64(&tags, "coverage");
    let m: Vec<usize> = (0..tags.height())
        .filter(|i| platform[*i] == "mastodon")
        .collect();
    assert_eq!(m.len(), 3);
    assert_eq!(gained[m[0]], Some(28.0));
    assert_eq!(coverage[m[0]], Some(1.0));
    assert_eq!(gained[m[1]], Some(60.0));
    assert_eq!(coverage[m[1]], Some(3.0 / 7.0));
    assert_eq!(col_f64(&tags, "total_end")[m[1]], None);
    assert_eq!(col_f64(&tags, "wow_growth")[m[1]], Some(60.0 / 28.0 - 1.0));
    let html = fs::read_to_string(d.join("reports/2026-W47/index.html")).unwrap();
    assert!(html.contains("What happened this week — TikTok views"));
    assert!(html.contains("What happened this week — Mastodon uses"));
    assert!(
        html.contains("daily-count series are partial this week"),
        "coverage 3/7 is flagged"
    );
    assert!(d
        .join("reports/2026-W47/occupations-mastodon-uses.png")
        .is_file());
    assert!(d
        .join("reports/2026-W47/occupations-tiktok-views.png")
        .is_file());
    // Platforms are never added: the headline of each panel has its own total.
    let summary = fs::read_to_string(d.join("reports/2026-W47/summary.md")).unwrap();
    assert!(
        summary.contains("Tracked Mastodon tags gained 60 uses"),
        "{summary}"
    );
}
