//! Hand-computed cases of the counter-resolution revision of `docs/metrics.md`: a
//! rounded counter's one-step week is no breakout, an exact counter's 10x week is, a
//! daily count has resolution 0, and an occupation sums its reporting members'.

use chrono::{DateTime, Duration, NaiveDate};
use polars::prelude::*;
use tagpulse_config::{Occupation, Tag};

use crate::testutil::*;
use crate::{weekly_tables, Params, WeeklyTables};
use tagpulse_model::tables::DAILY_COUNTS;

/// Monday 2026-08-03 00:00:00 UTC.
fn monday0() -> DateTime<chrono::Utc> {
    NaiveDate::from_ymd_opt(2026, 8, 3)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
}

/// `v` shown with 3 significant digits, as TikTok shows a counter.
fn three_digits(v: f64) -> u64 {
    let step = 10f64.powi(v.log10().floor() as i32 - 2);
    ((v / step).round() * step) as u64
}

/// Daily snapshots at 00:00 of a counter that gains `weekly[w]` in week w (linear inside
/// the week), starting at `start`, each value passed through `shown`.
fn daily_points(tag: &str, start: f64, weekly: &[f64], shown: fn(f64) -> u64) -> LazyFrame {
    let mut rows: Vec<(String, String, u64)> = Vec::new();
    let mut v = start;
    for (w, g) in weekly.iter().enumerate() {
        for d in 0..7 {
            let t = monday0() + Duration::days(7 * w as i64 + d);
            let at = v + g * d as f64 / 7.0;
            rows.push((
                tag.into(),
                t.format("%Y-%m-%d %H:%M:%S").to_string(),
                shown(at),
            ));
        }
        v += g;
    }
    let t = monday0() + Duration::days(7 * weekly.len() as i64);
    rows.push((
        tag.into(),
        t.format("%Y-%m-%d %H:%M:%S").to_string(),
        shown(v),
    ));
    let borrowed: Vec<(&str, &str, u64)> = rows
        .iter()
        .map(|r| (r.0.as_str(), r.1.as_str(), r.2))
        .collect();
    snaps(&borrowed)
}

fn tables(snapshots: LazyFrame, taxonomy: &[Occupation]) -> WeeklyTables {
    let daily = DAILY_COUNTS.empty_frame().lazy();
    weekly_tables(snapshots, daily, &Params::default(), taxonomy, &[]).unwrap()
}

fn bools(df: &DataFrame, name: &str) -> Vec<bool> {
    df.column(name)
        .unwrap()
        .bool()
        .unwrap()
        .iter()
        .map(|b| b.expect("breakout is never null"))
        .collect()
}

#[test]
fn a_rounded_counters_one_step_week_is_no_breakout() {
    // 1.2e9 views shown with 3 significant digits (steps of 10M), gaining 30M a week; one
    // earlier week 40M (one rounding step more), and the last scored week 40M: +33%.
    let weekly = [30e6, 30e6, 30e6, 30e6, 40e6, 30e6, 30e6, 30e6, 30e6, 40e6];
    let t = tables(daily_points("farming", 1.2e9, &weekly, three_digits), &[]);
    let df = &t.tags;
    // Weeks 0..9 plus the week of the closing Monday snapshot.
    assert_eq!(df.height(), 11);
    let gained = f64s(df, "gained");
    assert_close(&gained[9..10], &[Some(40e6)]);
    // Every value in the series is a multiple of 10M, most with 7 trailing zeros
    // (1.3e9 and 1.4e9 have 8): the lower median step is 1e7.
    assert_close(&f64s(df, "resolution")[9..10], &[Some(1e7)]);
    // Week 9: the 8 before gained 30M x7 and 40M once -> median 30M, MAD 0, mean |dev|
    // 1.25M, scale 1.2533 * 1.25M = 1.57M < 10M: raised to 10M, z = 10M / 10M = 1.
    assert_close(&f64s(df, "z")[9..10], &[Some(1.0)]);
    assert_close(&f64s(df, "z_median")[9..10], &[Some(30e6)]);
    assert!(!bools(df, "breakout")[9]);
    // Without the floor the same week scored 10M / 1.57M = 6.38, a breakout of rounding
    // (signals::tests::the_scale_is_raised_to_the_resolution checks that reading).
    assert!(!bools(df, "breakout").iter().any(|b| *b));
}

#[test]
fn an_exact_counters_tenfold_week_is_a_breakout() {
    // Exact values (no rounding: 1_000_003 + ...), about 70k a week, then 700k.
    let weekly = [
        70_001.0, 69_013.0, 71_007.0, 70_509.0, 68_777.0, 70_103.0, 71_911.0, 69_421.0, 700_013.0,
    ];
    let t = tables(
        daily_points("elektriker", 1_000_003.0, &weekly, |v| v.round() as u64),
        &[],
    );
    let df = &t.tags;
    let res = f64s(df, "resolution");
    // Mostly values without trailing zeros: the lower median step is 1.
    assert_close(&res[8..9], &[Some(1.0)]);
    let z = f64s(df, "z")[8].unwrap();
    assert!(z > 100.0, "z = {z}");
    assert!(bools(df, "breakout")[8]);
}

#[test]
fn occupation_resolution_sums_reporting_members() {
    let both = concat(
        [
            daily_points("koch", 1.2e9, &[30e6; 3], three_digits),
            daily_points("chef", 1_000_003.0, &[7_001.0; 3], |v| v.round() as u64),
        ],
        UnionArgs::default(),
    )
    .unwrap();
    let t = |s: &str| Tag::parse(s).unwrap();
    let taxonomy = [Occupation {
        name: "Kitchen".into(),
        tags: vec![t("koch"), t("chef")],
        ..Default::default()
    }];
    let tables = tables(both, &taxonomy);
    let occ = &tables.occupations;
    // Weeks 0..2 have both members' gained (week 0 starts on a snapshot), week 3 none.
    assert_close(
        &f64s(occ, "resolution"),
        &[Some(1e7 + 1.0), Some(1e7 + 1.0), Some(1e7 + 1.0), None],
    );
    assert_close(&f64s(occ, "tags_reporting")[3..], &[Some(0.0)]);
}
