//! The frames that cross crates without being stored: their columns, in order, each with
//! what it holds. The store that computes the per-week snapshot summary (ClickHouse's
//! SQL), the transform that reads it and produces the series summary, and the report
//! that reads that, all name their columns from here.

/// A column of an in-flight frame: its name and what it holds.
pub type FrameColumn = (&'static str, &'static str);

/// The per-week snapshot summary (`Store::snapshot_weeks`): one row per series and week,
/// identity already resolved.
pub const SNAPSHOT_WEEKS: [FrameColumn; 14] = [
    ("platform", "platform of the series"),
    ("tag", "tag of the series"),
    ("metric", "metric of the series"),
    (
        "week",
        "week number (crate::week): day 7 week - 3 since 1970 is its Monday",
    ),
    ("n", "snapshots in the week"),
    ("first_t", "epoch second of the week's first snapshot"),
    ("first_v", "raw value of the week's first snapshot"),
    ("last_t", "epoch second of the week's last snapshot"),
    ("last_v", "raw value of the week's last snapshot"),
    ("max_v", "largest raw value in the week"),
    ("decreases", "step-downs inside the week"),
    ("longest_gap", "longest gap inside the week, seconds"),
    ("gaps_over", "gaps inside the week longer than max_gap"),
    (
        "steps",
        "20 counts: the week's values v > 0 with k trailing decimal zeros, k = 0..19",
    ),
];

/// The series summary the transform hands to the report's data-quality section: one row
/// per series and kind.
pub const SERIES_SUMMARY: [FrameColumn; 9] = [
    ("platform", "platform of the series"),
    ("tag", "tag of the series"),
    ("metric", "metric of the series"),
    ("kind", "\"snapshots\" or \"daily\""),
    ("first_s", "first observation, epoch seconds"),
    ("last_s", "last observation, epoch seconds"),
    ("observations", "observations stored"),
    (
        "longest_gap_s",
        "longest gap between consecutive observations, seconds",
    ),
    (
        "gaps_over_max",
        "gaps between consecutive observations longer than max_gap",
    ),
];

/// The names of `columns`, in order.
pub fn names(columns: &[FrameColumn]) -> Vec<&'static str> {
    columns.iter().map(|c| c.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;

    #[test]
    fn the_report_reads_the_series_summary_by_its_definition() {
        let text = ["platform", "tag", "metric", "kind"];
        let columns: Vec<Column> = SERIES_SUMMARY
            .iter()
            .map(|(name, _)| {
                if text.contains(name) {
                    Column::new((*name).into(), ["x"])
                } else {
                    Column::new((*name).into(), [7i64])
                }
            })
            .collect();
        let df = DataFrame::new_infer_height(columns).unwrap();
        let rows = crate::rows::series_rows(&df).unwrap();
        assert_eq!((rows.len(), rows[0].longest_gap_s), (1, 7));
        // A column the definition does not have is what the reader would miss.
        let short = df.drop("gaps_over_max").unwrap();
        let err = crate::rows::series_rows(&short).unwrap_err().to_string();
        assert_eq!(err, "series summary: column `gaps_over_max` is missing");
    }

    #[test]
    fn names_keep_the_order() {
        assert_eq!(
            names(&SNAPSHOT_WEEKS)[..4],
            ["platform", "tag", "metric", "week"]
        );
        assert_eq!(names(&SNAPSHOT_WEEKS).last(), Some(&"steps"));
    }
}
