//! Unit tests of the report: headline, ranking, brands, files, CSV layout, week errors.

use super::*;
use polars::prelude::*;
use tagpulse_config::Tag;

fn date_col(name: &str, days: &[i32]) -> Column {
    Column::new(name.into(), days)
        .cast(&DataType::Date)
        .unwrap()
}

/// Two weeks (Mondays 2026-11-09 = day 20766 and 2026-11-16) of two tags and
/// their occupations, plus one brand.
pub(crate) fn input_tables() -> (WeeklyTables, DataFrame) {
    let w = [20_766, 20_766, 20_773, 20_773];
    let n = 4;
    let nulls = || Column::new("x".into(), vec![None::<f64>; n]);
    let tags = DataFrame::new_infer_height(vec![
        Column::new("platform".into(), vec!["tiktok"; n]),
        Column::new("tag".into(), ["azubi", "koch", "azubi", "koch"]),
        Column::new("metric".into(), vec!["views"; n]),
        date_col("week_start", &w),
        nulls().with_name("total_end".into()),
        Column::new(
            "gained".into(),
            [Some(100.0), Some(50.0), Some(300.0), Some(40.0)],
        ),
        Column::new("observations".into(), [28u32, 28, 28, 27]),
        Column::new("decreases".into(), [0u32, 1, 2, 0]),
        nulls().with_name("coverage".into()),
        // koch's 50 -> 40 is one rounding step of 10: within rounding, no fall.
        Column::new("resolution".into(), [1.0, 10.0, 1.0, 10.0]),
        Column::new("wow_growth".into(), [None, None, Some(2.0), Some(-0.2)]),
        nulls().with_name("total_growth".into()),
        nulls().with_name("avg4".into()),
        nulls().with_name("momentum".into()),
        Column::new("z".into(), [None, None, Some(5.0), None]),
        // Not the median of the rows above (100): the page must show the transform's.
        Column::new("z_median".into(), [None, None, Some(120.0), None]),
        Column::new("breakout".into(), [false, false, true, false]),
    ])
    .unwrap();
    let occupations = DataFrame::new_infer_height(vec![
        Column::new("platform".into(), vec!["tiktok"; n]),
        Column::new(
            "occupation".into(),
            ["Apprentices", "Chefs", "Apprentices", "Chefs"],
        ),
        Column::new("metric".into(), vec!["views"; n]),
        date_col("week_start", &w),
        nulls().with_name("total_end".into()),
        Column::new(
            "gained".into(),
            [Some(100.0), Some(50.0), Some(300.0), Some(40.0)],
        ),
        Column::new("tags_reporting".into(), [1u32; 4]),
        Column::new("tags_total".into(), [2u32; 4]),
        Column::new(
            "share".into(),
            [
                Some(2.0 / 3.0),
                Some(1.0 / 3.0),
                Some(300.0 / 340.0),
                Some(40.0 / 340.0),
            ],
        ),
        Column::new("resolution".into(), [1.0, 10.0, 1.0, 10.0]),
        Column::new("wow_growth".into(), [None, None, Some(2.0), Some(-0.2)]),
        nulls().with_name("total_growth".into()),
        nulls().with_name("avg4".into()),
        nulls().with_name("momentum".into()),
        nulls().with_name("z".into()),
        nulls().with_name("z_median".into()),
        Column::new("breakout".into(), [false; 4]),
    ])
    .unwrap();
    let brands = DataFrame::new_infer_height(vec![
        Column::new("platform".into(), ["tiktok", "tiktok"]),
        Column::new("brand".into(), ["Acme", "Acme"]),
        Column::new("occupation".into(), ["Chefs", "Chefs"]),
        Column::new("metric".into(), ["views", "views"]),
        date_col("week_start", &[20_766, 20_773]),
        Column::new("gained".into(), [Some(5.0), Some(8.0)]),
        Column::new("brand_share".into(), [Some(0.1), Some(0.2)]),
    ])
    .unwrap();
    let series = df!(
        "platform" => ["tiktok", "tiktok"],
        "tag" => ["azubi", "koch"],
        "metric" => ["views", "views"],
        "kind" => ["snapshots", "snapshots"],
        "first_s" => [1_762_000_000i64, 1_762_000_000],
        "last_s" => [1_763_900_000i64, 1_763_800_000],
        "observations" => [100u32, 99],
        "longest_gap_s" => [20_000i64, 900_000],
        "gaps_over_max" => [0u32, 1],
    )
    .unwrap();
    (
        WeeklyTables {
            tags,
            occupations,
            brands,
            occupation_tags: DataFrame::empty(),
        },
        series,
    )
}

fn render_week(week: NaiveDate) -> Result<ReportFiles, ReportError> {
    render_with(week, false)
}

/// The report of `week`; `apprentices_general` marks Apprentices a generic group.
fn render_with(week: NaiveDate, apprentices_general: bool) -> Result<ReportFiles, ReportError> {
    let (tables, series) = input_tables();
    let t = |s: &str| Tag::parse(s).unwrap();
    let occupations = vec![
        Occupation {
            name: "Apprentices".into(),
            tags: vec![t("azubi"), t("ausbildung")],
            general: apprentices_general,
        },
        Occupation {
            name: "Chefs".into(),
            tags: vec![t("koch"), t("cheflife")],
            general: false,
        },
    ];
    let brands = vec![Brand {
        name: "Acme".into(),
        tags: vec![t("acme")],
        occupations: vec!["Chefs".into()],
    }];
    render(&ReportInput {
        language: crate::i18n::Language::En,
        csv_delimiter: None,
        base_url: None,
        neighbours: (Some("2026-W45".into()), None),
        tables: &tables,
        series: &series,
        occupations: &occupations,
        brands: &brands,
        week,
        top_n: 5,
        max_gap_secs: 7 * 86_400,
        sources: vec!["test".into()],
        synthetic: false,
        incomplete: false,
        generated_at: DateTime::from_timestamp(1_763_900_000, 0).unwrap(),
    })
}

#[test]
fn headline_ranking_brand_and_files() {
    let files = render_week(NaiveDate::from_ymd_opt(2026, 11, 16).unwrap()).unwrap();
    assert_eq!(files.week_label, "2026-W47");
    let names: Vec<String> = files
        .files
        .iter()
        .map(|f| f.0.display().to_string())
        .collect();
    for n in [
        "index.html",
        "occupations-tiktok-views.png",
        "occupations-tiktok-views.svg",
        "trend-tiktok-views.png",
        "brand-share-tiktok-views.png",
        "occupations.csv",
        "tags.csv",
        "summary.md",
    ] {
        assert!(names.contains(&n.to_string()), "missing {n}: {names:?}");
    }
    let s = &files.summary;
    // News first: the breakout, the fastest occupation, the brand; the largest last.
    let lines: Vec<&str> = s.lines().filter(|l| l.starts_with("- ")).take(4).collect();
    assert_eq!(
        lines,
        [
            "- Broke out: #azubi (z 5.0, +200.0% week over week).",
            "- Fastest-growing occupation: Apprentices (+200.0% week over week).",
            "- Acme's share of Chefs rose to 20.0% (from 10.0%).",
            "- Apprentices gained the most: 300 views, 88.2% of all tracked views.",
        ],
        "{s}"
    );
    // The sum over all tags is a tile, not a sentence.
    assert!(!s.contains("Tracked TikTok tags gained"), "{s}");
    // Chefs' 50 -> 40 is within its rounding step of 10.
    assert!(
        s.contains("- Chefs: 40 views, within rounding of last week, 11.8% share of voice"),
        "{s}"
    );
    // Occupations ranked by gained; text Slack shows as written: no heading marks,
    // no emphasis, no pipe table; the link relative without a base_url.
    let a = s.find("- Apprentices: 300 views").unwrap();
    let c = s.find("- Chefs: 40").unwrap();
    assert!(a < c);
    assert!(
        !s.contains('#') || s.lines().all(|l| !l.starts_with('#')),
        "{s}"
    );
    assert!(!s.contains("**") && !s.contains('|'), "{s}");
    assert!(s.contains("Full report: 2026-W47/index.html ("), "{s}");
    let html = String::from_utf8(files.files[0].1.clone()).unwrap();
    // Data quality: taxonomy tags without a figure, the series with long gaps, steps down.
    assert!(
        html.contains("#acme, #ausbildung, #cheflife"),
        "no-data list"
    );
    assert!(
        html.contains("#azubi ×2 (2026-W47 ×2); #koch ×1 (2026-W46 ×1)"),
        "{html}"
    );
    // The breakout table shows the transform's median of the previous weeks (120, not
    // the 100 a recomputation from these rows would give), then z.
    assert!(html.contains("<td>120</td><td>5.0</td>"), "{html}");
    // koch fell by one rounding step: shown as rounding, not listed as falling.
    assert!(html.contains("≈ within rounding"), "{html}");
    let falling = &html[html.find("Falling fastest").unwrap()..html.find("Most gained").unwrap()];
    assert!(falling.contains("No tag qualifies this week."), "{falling}");
    // The total's tile: 340 vs 150 is far beyond the summed steps (11).
    assert!(
        html.contains(r#"<span class="up">+126.7%</span>"#),
        "{html}"
    );
    let csv = files
        .files
        .iter()
        .find(|f| f.0.ends_with("tags.csv"))
        .unwrap();
    let csv = String::from_utf8(csv.1.clone()).unwrap();
    assert_eq!(
        csv.lines().next().unwrap(),
        "Week,Week start,Platform,Metric,Tag,Occupations,Gained,Gained (raw),Total,Total (raw),\
         Observations,Steps down,Days covered (%),Days covered (raw),Rounding step,Rounding step (raw),\
         WoW (%),WoW (raw),Total growth (%),Total growth (raw),4-wk avg,4-wk avg (raw),\
         Momentum (%),Momentum (raw),z,z (raw),Breakout,Within rounding"
    );
    assert_eq!(
        csv.lines().nth(1).unwrap(),
        "2026-W47,2026-11-16,tiktok,views,azubi,Apprentices,300,300,,,28,2,,,1,1,200.0,2,,,,,,,5.0,5,yes,no"
    );
    assert_eq!(
        csv.lines().nth(2).unwrap(),
        "2026-W47,2026-11-16,tiktok,views,koch,Chefs,40,40,,,27,0,,,10,10,-20.0,-0.2,,,,,,,,,no,yes"
    );
}

#[test]
fn a_generic_group_is_never_named_the_fastest_or_largest() {
    let files = render_with(NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(), true).unwrap();
    let s = &files.summary;
    // Apprentices is generic; Chefs moved within rounding: no occupation is named.
    assert!(!s.contains("Fastest-growing occupation"), "{s}");
    assert!(
        s.contains("- No occupation grew beyond the counters' rounding this week."),
        "{s}"
    );
    assert!(s.contains("- Chefs gained the most: 40 views"), "{s}");
    // It is still shown in the table.
    assert!(
        s.contains("- Apprentices: 300 views, +200.0% week over week,"),
        "{s}"
    );
}

#[test]
fn csv_columns_show_table_columns() {
    use tagpulse_model::tables::{
        WEEKLY_BRAND_METRICS, WEEKLY_OCCUPATION_METRICS, WEEKLY_TAG_METRICS,
    };
    let week = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
    let check = |def: &tagpulse_model::TableDef, columns: Vec<Option<&'static str>>| {
        let shown: Vec<&str> = columns.into_iter().flatten().collect();
        assert!(shown.len() >= 2, "{}", def.name);
        for c in shown {
            assert!(def.column(c).is_some(), "{}: {c}", def.name);
        }
    };
    check(
        &WEEKLY_TAG_METRICS,
        crate::csv::tag_cols(week, Default::default())
            .iter()
            .map(|c| c.column)
            .collect(),
    );
    check(
        &WEEKLY_OCCUPATION_METRICS,
        crate::csv::occupation_cols(week)
            .iter()
            .map(|c| c.column)
            .collect(),
    );
    check(
        &WEEKLY_BRAND_METRICS,
        crate::csv::brand_cols(week)
            .iter()
            .map(|c| c.column)
            .collect(),
    );
}

#[test]
fn the_index_keeps_previews_of_incomplete_weeks_apart() {
    let entry = |w: &str| WeekEntry {
        week: w.into(),
        ..Default::default()
    };
    let page = index_page(
        Language::En,
        &[entry("2026-W46"), entry("2026-W45")],
        &[entry("2026-W47")],
    );
    let reports =
        &page[page.find("<ul class=\"weeks reports\">").unwrap()..page.find("Previews").unwrap()];
    assert!(reports.contains("2026-W46/index.html") && reports.contains("2026-W45"));
    assert!(!reports.contains("2026-W47"), "{page}");
    assert!(
        page.contains(r#"<a href="2026-W47/index.html">2026-W47 (incomplete)</a>"#),
        "{page}"
    );
    let empty = index_page(Language::En, &[entry("2026-W46")], &[]);
    assert!(!empty.contains("Previews"));
}

#[test]
fn a_week_outside_the_data_is_a_clear_error() {
    let err = render_week(NaiveDate::from_ymd_opt(2025, 1, 6).unwrap()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no data for 2025-W02: the tables cover 2026-W46 to 2026-W47"
    );
}

#[test]
fn relink_sets_a_week_pages_neighbours_in_its_language() {
    let page = |lang: &str, nav: &str| {
        format!("<!DOCTYPE html><html lang=\"{lang}\"><body><h1>x</h1>{nav}<p>figures</p></body></html>")
    };
    let bare = page(
        "nl",
        "<nav aria-label=\"Alle weken\"><a href=\"../index.html\">Alle weken</a></nav>",
    );
    let next = relink(&bare, None, Some("2026-W47")).unwrap();
    assert!(
        next.contains(
            r#"<a href="../2026-W47/index.html" rel="next">Volgende week → (2026-W47)</a>"#
        ),
        "{next}"
    );
    assert!(next.ends_with("<p>figures</p></body></html>"));
    // The previous link is kept when only the next one is set; nothing to do is None.
    let both = relink(&next, Some("2026-W45"), None).unwrap();
    assert!(
        both.contains("rel=\"prev\"") && both.contains("rel=\"next\""),
        "{both}"
    );
    assert_eq!(relink(&both, Some("2026-W45"), Some("2026-W47")), None);
    assert_eq!(
        relink("<html><body>not a week page</body></html>", None, Some("x")),
        None
    );
}
