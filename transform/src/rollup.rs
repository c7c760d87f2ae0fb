//! Occupation and brand roll-ups of the weekly tag rows.

use polars::prelude::*;
use tagpulse_config::{occupation_pairs, Brand, Occupation};

use crate::{cols_of, null_of, signals};

fn string_frame(a: (&str, Vec<String>), b: (&str, Vec<String>)) -> PolarsResult<LazyFrame> {
    Ok(DataFrame::new_infer_height(vec![
        Column::new(a.0.into(), a.1),
        Column::new(b.0.into(), b.1),
    ])?
    .lazy())
}

/// The `occupation_tags` table: one row per (occupation, tag) of the taxonomy, sorted.
pub fn occupation_tags(taxonomy: &[Occupation]) -> PolarsResult<DataFrame> {
    let (occ, tag): (Vec<String>, Vec<String>) = occupation_pairs(taxonomy)
        .into_iter()
        .map(|(o, t)| (o, t.as_str().to_string()))
        .unzip();
    string_frame(("occupation", occ), ("tag", tag))?.collect()
}

/// Sum of the non-null values, or null when there is none.
fn sum_present(name: &str) -> Expr {
    when(col(name).count().gt(lit(0)))
        .then(col(name).sum())
        .otherwise(null_of(DataType::Float64))
}

/// `weekly_occupation_metrics` (with the integer `week`) from weekly tag rows.
///
/// `gained`/`total_end` sum the member tags with a value; `tags_total` counts the
/// taxonomy's members, `tags_reporting` those with a non-null `gained`; `share` divides
/// by the `gained` of every tracked tag of the platform and metric that week;
/// `resolution` sums the members counted in `gained`.
pub fn occupations(tags: LazyFrame, taxonomy: &[Occupation]) -> PolarsResult<LazyFrame> {
    let members = occupation_tags(taxonomy)?.lazy();
    let totals = members
        .clone()
        .group_by([col("occupation")])
        .agg([col("tag")
            .count()
            .cast(DataType::UInt32)
            .alias("tags_total")]);
    let pmw = cols_of(&["platform", "metric", "week"]);
    let denominators = tags
        .clone()
        .group_by(pmw.clone())
        .agg([col("gained").sum().alias("all_gained")]);
    let rolled = tags
        .select(cols_of(&[
            "platform",
            "tag",
            "metric",
            "week",
            "gained",
            "total_end",
            "resolution",
        ]))
        .join(
            members,
            [col("tag")],
            [col("tag")],
            JoinArgs::new(JoinType::Inner),
        )
        .group_by(cols_of(&["platform", "occupation", "metric", "week"]))
        .agg([
            sum_present("gained").alias("gained"),
            sum_present("total_end").alias("total_end"),
            col("gained")
                .count()
                .cast(DataType::UInt32)
                .alias("tags_reporting"),
            // The rounding of the members counted in `gained` (a null counts 0).
            when(col("gained").count().gt(lit(0)))
                .then(
                    col("resolution")
                        .filter(col("gained").is_not_null())
                        .fill_null(lit(0.0))
                        .sum(),
                )
                .otherwise(null_of(DataType::Float64))
                .alias("resolution"),
        ])
        .join(
            totals,
            [col("occupation")],
            [col("occupation")],
            JoinArgs::new(JoinType::Left),
        )
        .join(
            denominators,
            pmw.clone(),
            pmw,
            JoinArgs::new(JoinType::Left),
        )
        .with_column(
            when(col("all_gained").gt(lit(0.0)))
                .then(col("gained") / col("all_gained"))
                .otherwise(null_of(DataType::Float64))
                .alias("share"),
        );
    Ok(
        signals(rolled, &["platform", "occupation", "metric"])?.sort(
            ["platform", "metric", "occupation", "week"],
            Default::default(),
        ),
    )
}

/// `weekly_brand_metrics` (with `week_start`) from weekly tag and occupation rows.
///
/// A brand's `gained` sums its own tags (null when none reports); `brand_share` is that
/// over the occupation's `gained`, for each occupation the brand recruits for.
pub fn brands(
    tags: LazyFrame,
    occupation_rows: LazyFrame,
    brand_cfg: &[Brand],
) -> PolarsResult<LazyFrame> {
    let mut bt = (Vec::new(), Vec::new());
    let mut bo = (Vec::new(), Vec::new());
    for b in brand_cfg {
        for t in &b.tags {
            bt.0.push(b.name.clone());
            bt.1.push(t.as_str().to_string());
        }
        for o in &b.occupations {
            bo.0.push(b.name.clone());
            bo.1.push(o.clone());
        }
    }
    let brand_tags = string_frame(("brand", bt.0), ("tag", bt.1))?
        .unique_stable(None, UniqueKeepStrategy::First);
    let brand_occ = string_frame(("brand", bo.0), ("occupation", bo.1))?
        .unique_stable(None, UniqueKeepStrategy::First);
    let occ_keys = cols_of(&["platform", "occupation", "metric", "week"]);
    let occ_gained = occupation_rows.select([
        col("platform"),
        col("occupation"),
        col("metric"),
        col("week"),
        col("gained").alias("occ_gained"),
    ]);
    Ok(tags
        .select(cols_of(&["platform", "tag", "metric", "week", "gained"]))
        .join(
            brand_tags,
            [col("tag")],
            [col("tag")],
            JoinArgs::new(JoinType::Inner),
        )
        .group_by(cols_of(&["platform", "brand", "metric", "week"]))
        .agg([sum_present("gained").alias("gained")])
        .join(
            brand_occ,
            [col("brand")],
            [col("brand")],
            JoinArgs::new(JoinType::Inner),
        )
        .join(
            occ_gained,
            occ_keys.clone(),
            occ_keys,
            JoinArgs::new(JoinType::Left),
        )
        .with_columns([
            when(col("occ_gained").gt(lit(0.0)))
                .then(col("gained") / col("occ_gained"))
                .otherwise(null_of(DataType::Float64))
                .alias("brand_share"),
            crate::week_start_date(col("week")),
        ])
        .sort(
            ["platform", "metric", "brand", "occupation", "week"],
            Default::default(),
        ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use tagpulse_config::Tag;

    fn tag_rows() -> LazyFrame {
        // Week 10 and 11 for tags a, b (occupation X) and c (occupation Y), plus d
        // (tracked, in no occupation). b has no value in week 10.
        DataFrame::new_infer_height(vec![
            Column::new("platform".into(), vec!["tiktok"; 8]),
            Column::new("tag".into(), ["a", "b", "c", "d", "a", "b", "c", "d"]),
            Column::new("metric".into(), vec!["views"; 8]),
            Column::new("week".into(), [10i64, 10, 10, 10, 11, 11, 11, 11]),
            Column::new(
                "gained".into(),
                [
                    Some(10.0),
                    None,
                    Some(30.0),
                    Some(60.0),
                    Some(20.0),
                    Some(5.0),
                    Some(0.0),
                    Some(75.0),
                ],
            ),
            Column::new(
                "total_end".into(),
                [
                    Some(100.0),
                    None,
                    Some(300.0),
                    Some(1.0),
                    Some(120.0),
                    Some(50.0),
                    Some(300.0),
                    Some(1.0),
                ],
            ),
            Column::new(
                "resolution".into(),
                [
                    Some(1.0),
                    Some(100.0),
                    Some(10.0),
                    Some(0.0),
                    Some(1.0),
                    None,
                    Some(10.0),
                    Some(0.0),
                ],
            ),
        ])
        .unwrap()
        .lazy()
    }

    fn taxonomy() -> Vec<Occupation> {
        let t = |s: &str| Tag::parse(s).unwrap();
        vec![
            Occupation {
                name: "X".into(),
                tags: vec![t("a"), t("b"), t("zz")],
                general: false,
            },
            Occupation {
                name: "Y".into(),
                tags: vec![t("c"), t("a")],
                general: false,
            },
        ]
    }

    #[test]
    fn occupation_sums_counts_and_share() {
        let df = occupations(tag_rows(), &taxonomy())
            .unwrap()
            .collect()
            .unwrap();
        // Rows: X/10, X/11, Y/10, Y/11.
        assert_close(
            &f64s(&df, "gained"),
            &[Some(10.0), Some(25.0), Some(40.0), Some(20.0)],
        );
        assert_close(
            &f64s(&df, "total_end"),
            &[Some(100.0), Some(170.0), Some(400.0), Some(420.0)],
        );
        assert_close(
            &f64s(&df, "tags_reporting"),
            &[Some(1.0), Some(2.0), Some(2.0), Some(2.0)],
        );
        // X lists a, b, zz (zz never seen): tags_total 3.
        assert_close(
            &f64s(&df, "tags_total"),
            &[Some(3.0), Some(3.0), Some(2.0), Some(2.0)],
        );
        // Share denominators: week 10 = 10+30+60 = 100; week 11 = 20+5+0+75 = 100.
        assert_close(
            &f64s(&df, "share"),
            &[Some(0.1), Some(0.25), Some(0.4), Some(0.2)],
        );
        // Resolution sums the members counted in gained: X/10 = a (b's 100 has no gained),
        // X/11 = a + b (b's null counts 0), Y/10 = c + a, Y/11 = c + a.
        assert_close(
            &f64s(&df, "resolution"),
            &[Some(1.0), Some(1.0), Some(11.0), Some(11.0)],
        );
        // Growth on the roll-up series: X 10 -> 25 is +150 %.
        assert_close(
            &f64s(&df, "wow_growth"),
            &[None, Some(1.5), None, Some(-0.5)],
        );
    }

    #[test]
    fn brand_share_of_each_occupation() {
        let t = |s: &str| Tag::parse(s).unwrap();
        let occ = occupations(tag_rows(), &taxonomy())
            .unwrap()
            .collect()
            .unwrap();
        let cfg = vec![Brand {
            name: "Acme".into(),
            tags: vec![t("b"), t("d")],
            occupations: vec!["X".into(), "Y".into()],
        }];
        let df = brands(tag_rows(), occ.lazy(), &cfg)
            .unwrap()
            .collect()
            .unwrap();
        // Brand gained: week 10 = 60 (b null), week 11 = 80.
        // Rows: X/10, X/11, Y/10, Y/11 -> shares 60/10, 80/25, 60/40, 80/20.
        assert_close(
            &f64s(&df, "gained"),
            &[Some(60.0), Some(80.0), Some(60.0), Some(80.0)],
        );
        assert_close(
            &f64s(&df, "brand_share"),
            &[Some(6.0), Some(3.2), Some(1.5), Some(4.0)],
        );
    }
}
