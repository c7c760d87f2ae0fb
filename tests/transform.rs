//! `tagpulse transform`: the weekly tables of the real fixture series against the spec,
//! hand-computed values and a loop-by-loop oracle that shares no code with the jobs.

use std::fs;
use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};
use tagpulse_transform::reference;

use crate::util::*;

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

#[test]
fn fixture_weekly_tags_match_the_spec_cell_for_cell() {
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
            "resolution",
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
    let res = col_f64(&tags, "resolution");
    let z = col_f64(&tags, "z");
    let z_median = col_f64(&tags, "z_median");
    let breakout = col_f64(&tags, "breakout");
    let (mut breakouts_before, mut breakouts_after, mut scored) = (0, 0, 0);
    let mut checked = 0;
    for entry in fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("tsv") {
            continue;
        }
        let name = path.file_stem().unwrap().to_str().unwrap().to_lowercase();
        // The loop-by-loop reading of the spec, sharing no code with the polars jobs.
        let want = reference::snapshot_weeks(&points(&path), 7 * 86_400);
        let want_z = reference::robust_z(&want, true);
        let before = reference::robust_z(&want, false);
        let rows: Vec<usize> = (0..tags.height()).filter(|i| tag[*i] == name).collect();
        assert_eq!(rows.len(), want.len(), "{name}: weeks");
        for i in rows {
            let r = want[&week[i]];
            let (w_te, w_g, w_obs, w_dec) = (r.total_end, r.gained, r.observations, r.decreases);
            let rz = want_z[&week[i]];
            for (what, got, want) in [
                ("total_end", te[i], w_te),
                ("gained", gained[i], w_g),
                ("z", z[i], rz.z),
                ("z_median", z_median[i], rz.z_median),
            ] {
                assert!(
                    close(got, want),
                    "{name} {}: {what} {got:?} vs {want:?}",
                    week[i]
                );
            }
            assert_eq!(obs[i], Some(w_obs as f64), "{name} {}", week[i]);
            assert_eq!(dec[i], Some(w_dec as f64), "{name} {}", week[i]);
            assert_eq!(res[i], r.resolution, "{name} {}: resolution", week[i]);
            assert_eq!(breakout[i], Some(f64::from(u8::from(rz.breakout))));
            scored += usize::from(rz.z.is_some());
            breakouts_after += usize::from(rz.breakout);
            breakouts_before += usize::from(before[&week[i]].breakout);
            checked += 1;
        }
    }
    assert_eq!(checked, tags.height());
    // The resolution floor removes rounding breakouts (the README quotes these figures).
    eprintln!("fixture breakouts: {breakouts_before} before the resolution floor, {breakouts_after} after, of {scored} scored tag-weeks");
    assert!(
        breakouts_after < breakouts_before,
        "{breakouts_after} vs {breakouts_before}"
    );
    // The fixtures' counters do step down (rounded display).
    assert!(dec.iter().flatten().sum::<f64>() > 100.0);
}
