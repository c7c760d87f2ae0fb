//! The frames that cross crates without being stored, declared like the stored tables
//! (a definition, a row struct, both conversions): the per-week snapshot summary that a
//! store computes (ClickHouse's SQL) and the transform reads, and the series summary
//! the transform hands to the report.

use crate::tables::table;

table! {
    /// The per-week snapshot summary (`Store::snapshot_weeks`): one row per series and
    /// week, identity already resolved.
    pub const SNAPSHOT_WEEKS = "snapshot weeks",
        row SnapshotWeekRow: "one series' snapshots in one week, summarised",
        ordered by [platform, tag, metric, week];
    columns {
        platform: String = Text, "platform of the series";
        tag: String = Text, "tag of the series";
        metric: String = Text, "metric of the series";
        week: i64 = I64, "week number (crate::week): day 7 week - 3 since 1970 is its Monday";
        n: u32 = U32, "snapshots in the week";
        first_t: i64 = I64, "epoch second of the week's first snapshot";
        first_v: u64 = U64, "raw value of the week's first snapshot";
        last_t: i64 = I64, "epoch second of the week's last snapshot";
        last_v: u64 = U64, "raw value of the week's last snapshot";
        max_v: u64 = U64, "largest raw value in the week";
        decreases: u32 = U32, "step-downs inside the week";
        longest_gap: i64 = I64, "longest gap inside the week, seconds";
        gaps_over: u32 = U32, "gaps inside the week longer than max_gap";
        steps: Vec<u32> = U32List,
            "20 counts: the week's values v > 0 with k trailing decimal zeros, k = 0..19";
    }
}

table! {
    /// The series summary the transform hands to the report's data-quality section: one
    /// row per series and kind.
    pub const SERIES_SUMMARY = "series summary",
        row SeriesRow: "one series' observations of one kind",
        ordered by [platform, metric, tag, kind];
    columns {
        platform: String = Text, "platform of the series";
        tag: String = Text, "tag of the series";
        metric: String = Text, "metric of the series";
        kind: String = Text, "\"snapshots\" or \"daily\"";
        first_s: i64 = I64, "first observation, epoch seconds";
        last_s: i64 = I64, "last observation, epoch seconds";
        observations: u32 = U32, "observations stored";
        longest_gap_s: i64 = I64, "longest gap between consecutive observations, seconds";
        gaps_over_max: u32 = U32, "gaps between consecutive observations longer than max_gap";
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::TableRow;
    use polars::prelude::*;

    #[test]
    fn the_report_reads_the_series_summary_by_its_definition() {
        let text = ["platform", "tag", "metric", "kind"];
        let columns: Vec<Column> = SERIES_SUMMARY
            .names()
            .into_iter()
            .map(|name| {
                if text.contains(&name) {
                    Column::new(name.into(), ["x"])
                } else {
                    Column::new(name.into(), [7i64])
                }
            })
            .collect();
        let df = DataFrame::new_infer_height(columns).unwrap();
        let rows = SeriesRow::from_frame(&df).unwrap();
        assert_eq!((rows.len(), rows[0].longest_gap_s), (1, 7));
        // A column the definition does not have is what the reader would miss.
        let short = df.drop("gaps_over_max").unwrap();
        let err = SeriesRow::from_frame(&short).unwrap_err().to_string();
        assert_eq!(err, "series summary: column `gaps_over_max` is missing");
    }

    #[test]
    fn week_summaries_round_trip_with_their_step_lists() {
        let row = SnapshotWeekRow {
            platform: "tiktok".into(),
            tag: "azubi".into(),
            metric: "views".into(),
            week: 2_968,
            n: 2,
            first_t: -1,
            first_v: 10,
            last_t: 2,
            last_v: u64::MAX,
            max_v: u64::MAX,
            decreases: 0,
            longest_gap: 1,
            gaps_over: 0,
            steps: (0..20).collect(),
        };
        let df = SnapshotWeekRow::to_frame(std::slice::from_ref(&row)).unwrap();
        assert_eq!(SNAPSHOT_WEEKS.check(&df), Ok(()));
        assert_eq!(SnapshotWeekRow::from_frame(&df).unwrap(), [row]);
    }
}
