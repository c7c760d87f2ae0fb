//! Per-series facts for the report's data-quality section: span, counts, gaps.

use polars::prelude::*;

use tagpulse_model::frames::SERIES_SUMMARY;

use crate::series::Grouped;
use crate::{cols_of, dedup_latest, Params, Snapshots, SERIES};

/// One row per series and kind, with the columns of
/// [`tagpulse_model::frames::SERIES_SUMMARY`].
///
/// `snapshots` may hold stored rows as they are: identity is resolved here.
pub fn series_summary(
    snapshots: Snapshots,
    daily: LazyFrame,
    params: &Params,
) -> PolarsResult<LazyFrame> {
    summary_of(&Grouped::of(snapshots, params)?, daily, params)
}

/// [`series_summary`] of snapshot series already grouped.
pub(crate) fn summary_of(
    g: &Grouped,
    daily: LazyFrame,
    params: &Params,
) -> PolarsResult<LazyFrame> {
    let (mut first, mut last, mut count, mut longest, mut over) =
        (vec![], vec![], vec![], vec![], vec![]);
    let max_gap = params.max_gap_secs;
    let facts = g.map(|ws| {
        // Gaps inside weeks are summarised; those between weeks are first - last.
        let between = || ws.windows(2).map(|w| w[1].first_t - w[0].last_t);
        (
            ws.first().map(|w| w.first_t),
            ws.last().map(|w| w.last_t),
            ws.iter().map(|w| w.n).sum::<u32>(),
            between()
                .chain(ws.iter().map(|w| w.longest_gap))
                .max()
                .unwrap_or(0),
            ws.iter().map(|w| w.gaps_over).sum::<u32>()
                + between().filter(|g| *g > max_gap).count() as u32,
        )
    });
    for (f, l, c, lg, o) in facts {
        first.push(f);
        last.push(l);
        count.push(c);
        longest.push(lg);
        over.push(o);
    }
    let mut columns = g.names.clone().into_columns();
    columns.extend([
        Column::new("kind".into(), vec!["snapshots"; first.len()]),
        Column::new("first_s".into(), first),
        Column::new("last_s".into(), last),
        Column::new("observations".into(), count),
        Column::new("longest_gap_s".into(), longest),
        Column::new("gaps_over_max".into(), over),
    ]);
    let snap = DataFrame::new_infer_height(columns)?.lazy();
    let spans = |lf: LazyFrame, keys: Vec<Expr>| -> PolarsResult<LazyFrame> {
        let gap = (col("t") - col("t").shift(lit(1i64))).over(keys.clone())?;
        Ok(lf.with_column(gap.alias("gap")).group_by(keys).agg([
            col("t").min().alias("first_s"),
            col("t").max().alias("last_s"),
            col("t")
                .count()
                .cast(DataType::UInt32)
                .alias("observations"),
            col("gap").max().fill_null(lit(0i64)).alias("longest_gap_s"),
            col("gap")
                .gt(lit(params.max_gap_secs))
                .sum()
                .cast(DataType::UInt32)
                .alias("gaps_over_max"),
        ]))
    };
    let days = dedup_latest(daily, &["platform", "tag", "metric", "day"])
        .select([
            col("platform"),
            col("tag"),
            col("metric"),
            (col("day").cast(DataType::Int32).cast(DataType::Int64) * lit(86_400i64)).alias("t"),
        ])
        .sort(["platform", "tag", "metric", "t"], Default::default());
    let days = spans(days, cols_of(&SERIES))?.with_column(lit("daily").alias("kind"));
    let columns = cols_of(&SERIES_SUMMARY.names());
    Ok(concat(
        [snap.select(columns.clone()), days.select(columns)],
        UnionArgs::default(),
    )?
    .sort(["platform", "metric", "tag", "kind"], Default::default()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use tagpulse_model::tables::DAILY_COUNTS;

    #[test]
    fn spans_and_gaps() {
        let lf = snaps(&[
            ("a", "2026-11-01 00:00:00", 1),
            ("a", "2026-11-02 00:00:00", 2),
            ("a", "2026-11-12 00:00:00", 3),
            ("a", "2026-11-12 00:00:00", 3),
            ("b", "2026-11-05 00:00:00", 1),
        ]);
        let daily = DAILY_COUNTS.empty_frame().lazy();
        let df = series_summary(Snapshots::Stored(Box::new(lf)), daily, &Params::default())
            .unwrap()
            .collect()
            .unwrap();
        assert_eq!(df.height(), 2);
        assert_close(&f64s(&df, "observations"), &[Some(3.0), Some(1.0)]);
        assert_close(
            &f64s(&df, "longest_gap_s"),
            &[Some(10.0 * 86_400.0), Some(0.0)],
        );
        assert_close(&f64s(&df, "gaps_over_max"), &[Some(1.0), Some(0.0)]);
    }

    #[test]
    fn one_pass_gives_the_same_summary_and_tables() {
        let lf = || {
            snaps(&[
                ("a", "2026-11-01 00:00:00", 1),
                ("a", "2026-11-12 00:00:00", 3),
                ("b", "2026-11-05 00:00:00", 1),
                ("b", "2026-11-09 00:00:00", 4),
            ])
        };
        let daily = || DAILY_COUNTS.empty_frame().lazy();
        let p = Params::default();
        let alone = series_summary(Snapshots::Stored(Box::new(lf())), daily(), &p)
            .unwrap()
            .collect()
            .unwrap();
        let (tables, summary) = crate::weekly_tables_and_summary(
            crate::Snapshots::Stored(Box::new(lf())),
            daily(),
            &p,
            &[],
            &[],
        )
        .unwrap();
        assert!(summary.equals_missing(&alone), "{summary} vs {alone}");
        let tags = crate::weekly_tables(lf(), daily(), &p, &[], &[])
            .unwrap()
            .tags;
        assert!(tables.tags.equals_missing(&tags));
        // a: weeks of Oct 26, Nov 2 and Nov 9; b: weeks of Nov 2 and Nov 9.
        assert_eq!(tags.height(), 5);
    }
}
