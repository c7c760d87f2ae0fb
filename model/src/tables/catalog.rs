//! The catalogue: every stored table's columns, written out once. A new weekly column
//! is one entry here plus the transform code that computes it.

use super::ColumnType::{self, *};
use super::{ColumnDef, TableDef};

/// A required column.
const fn c(name: &'static str, ty: ColumnType, meaning: &'static str) -> ColumnDef {
    ColumnDef {
        name,
        ty,
        nullable: false,
        meaning,
    }
}

/// A nullable column.
const fn n(name: &'static str, ty: ColumnType, meaning: &'static str) -> ColumnDef {
    ColumnDef {
        name,
        ty,
        nullable: true,
        meaning,
    }
}

/// Counter snapshots, one row per observation (identity: platform, tag, metric, observed_at).
pub const SNAPSHOTS: TableDef = TableDef {
    name: "snapshots",
    row: "a cumulative counter read at one moment",
    columns: &[
        c("platform", Text, "platform, e.g. tiktok"),
        c("tag", Text, "normalised tag, no #"),
        c("metric", Text, "counter, e.g. views"),
        c("observed_at", TimeMs, "when the counter was read"),
        c("value", U64, "the counter's value"),
        c("source", Text, "id of the source that stored it"),
        c(
            "ingested_at",
            TimeUs,
            "when it was stored; the last ingested row of an identity wins",
        ),
    ],
    order_by: &["platform", "metric", "tag", "observed_at"],
};

/// Daily counts, one row per series and day (identity: platform, tag, metric, day).
pub const DAILY_COUNTS: TableDef = TableDef {
    name: "daily_counts",
    row: "a count for one UTC day",
    columns: &[
        c("platform", Text, "platform, e.g. mastodon"),
        c("tag", Text, "normalised tag, no #"),
        c("metric", Text, "what was counted, e.g. uses"),
        c("day", Date, "the UTC day counted"),
        c("value", U64, "that day's count"),
        c("source", Text, "id of the source that stored it"),
        c(
            "ingested_at",
            TimeUs,
            "when it was stored; the last ingested row of an identity wins",
        ),
    ],
    order_by: &["platform", "metric", "tag", "day"],
};

/// The growth and breakout columns closing both metric tables, in order.
pub const SIGNAL_COLUMNS: [&str; 7] = [
    "wow_growth",
    "total_growth",
    "avg4",
    "momentum",
    "z",
    "z_median",
    "breakout",
];

macro_rules! signal_defs {
    () => {
        [
            n(
                "wow_growth",
                F64,
                "gained / previous week's gained - 1 (null if that is null or <= 0)",
            ),
            n(
                "total_growth",
                F64,
                "total_end / previous week's total_end - 1",
            ),
            n(
                "avg4",
                F64,
                "mean gained of this and the 3 weeks before (all 4 present)",
            ),
            n(
                "momentum",
                F64,
                "gained / mean gained of the 4 weeks before - 1",
            ),
            n(
                "z",
                F64,
                "robust z-score of gained against the 8 weeks before (at least 6 present; scale at least resolution)",
            ),
            n(
                "z_median",
                F64,
                "median gained of the 8 weeks before, the centre of z (null when z is)",
            ),
            c("breakout", Bool, "z >= 3.5 and gained > 0"),
        ]
    };
}

const TAG_SIGNALS: [ColumnDef; 7] = signal_defs!();

/// `weekly_tag_metrics`: one row per series and ISO week.
pub const WEEKLY_TAG_METRICS: TableDef = TableDef {
    name: "weekly_tag_metrics",
    row: "one series (platform, tag, metric) in one ISO week",
    columns: &[
        c("platform", Text, "platform"),
        c("tag", Text, "tag"),
        c("metric", Text, "metric"),
        c("week_start", Date, "Monday of the ISO week (UTC)"),
        n(
            "total_end",
            F64,
            "counter value at the week's end (snapshots only)",
        ),
        n(
            "gained",
            F64,
            "growth in the week: V(end) - V(start), or the sum of daily counts",
        ),
        c("observations", U32, "snapshots (or days) inside the week"),
        c("decreases", U32, "counter steps down inside the week"),
        n("coverage", F64, "days present / 7 (daily counts only)"),
        n(
            "resolution",
            F64,
            "the counter's rounding step around the week (lower median; 0 for daily counts)",
        ),
        TAG_SIGNALS[0],
        TAG_SIGNALS[1],
        TAG_SIGNALS[2],
        TAG_SIGNALS[3],
        TAG_SIGNALS[4],
        TAG_SIGNALS[5],
        TAG_SIGNALS[6],
    ],
    order_by: &["platform", "metric", "tag", "week_start"],
};

/// `weekly_occupation_metrics`: member tags summed per occupation and ISO week.
pub const WEEKLY_OCCUPATION_METRICS: TableDef = TableDef {
    name: "weekly_occupation_metrics",
    row: "one occupation (platform, occupation, metric) in one ISO week",
    columns: &[
        c("platform", Text, "platform"),
        c("occupation", Text, "occupation name from the taxonomy"),
        c("metric", Text, "metric"),
        c("week_start", Date, "Monday of the ISO week (UTC)"),
        n("total_end", F64, "sum of the member tags' total_end"),
        n("gained", F64, "sum of the member tags' gained"),
        c("tags_reporting", U32, "member tags with a gained this week"),
        c("tags_total", U32, "member tags in the taxonomy"),
        n(
            "share",
            F64,
            "share of voice: gained / gained of all tracked tags",
        ),
        n(
            "resolution",
            F64,
            "sum of the member tags' resolution (those counted in gained)",
        ),
        TAG_SIGNALS[0],
        TAG_SIGNALS[1],
        TAG_SIGNALS[2],
        TAG_SIGNALS[3],
        TAG_SIGNALS[4],
        TAG_SIGNALS[5],
        TAG_SIGNALS[6],
    ],
    order_by: &["platform", "metric", "occupation", "week_start"],
};

/// `weekly_brand_metrics`: a brand's own tags against each occupation it recruits for.
pub const WEEKLY_BRAND_METRICS: TableDef = TableDef {
    name: "weekly_brand_metrics",
    row: "one brand against one of its occupations in one ISO week",
    columns: &[
        c("platform", Text, "platform"),
        c("brand", Text, "brand name"),
        c("occupation", Text, "occupation the brand recruits for"),
        c("metric", Text, "metric"),
        c("week_start", Date, "Monday of the ISO week (UTC)"),
        n("gained", F64, "sum of the brand's tags' gained"),
        n("brand_share", F64, "brand gained / occupation gained"),
    ],
    order_by: &["platform", "metric", "brand", "occupation", "week_start"],
};

/// `occupation_tags`: the taxonomy the weekly tables were computed with.
pub const OCCUPATION_TAGS: TableDef = TableDef {
    name: "occupation_tags",
    row: "one tag of one occupation",
    columns: &[
        c("occupation", Text, "occupation name"),
        c("tag", Text, "member tag"),
    ],
    order_by: &["occupation", "tag"],
};

/// `runs`: one row per job run, scheduled or one-shot (what `tagpulse status` reads).
pub const RUNS: TableDef = TableDef {
    name: "runs",
    row: "one run of one job",
    columns: &[
        c("run_id", Text, "unique id: start time and process id"),
        c(
            "job",
            Text,
            "ingest, import, transform, report, run or backfill",
        ),
        c("trigger", Text, "cli, schedule or catch-up"),
        c("started_at", TimeMs, "when the run started"),
        c("finished_at", TimeMs, "when it ended"),
        c(
            "outcome",
            Text,
            "ok, partial (stored, some tags failed), failed or interrupted",
        ),
        c("rows_written", U64, "observations plus weekly rows stored"),
        c(
            "message",
            Text,
            "why it failed or what was partial; empty when ok",
        ),
    ],
    order_by: &["started_at", "run_id"],
};

/// `run_sources`: one row per source a run asked (its freshness and its failures).
pub const RUN_SOURCES: TableDef = TableDef {
    name: "run_sources",
    row: "one source in one run",
    columns: &[
        c("run_id", Text, "the run (`runs.run_id`)"),
        c("source", Text, "the source's id"),
        c("started_at", TimeMs, "when the run started"),
        c(
            "status",
            Text,
            "stored, spooled (kept for the next delivery) or failed",
        ),
        c(
            "observations",
            U64,
            "snapshots plus daily counts stored or spooled",
        ),
        c("tags_ok", U32, "tags that yielded observations"),
        c("tags_failed", U32, "tags that yielded nothing"),
        c(
            "failed_by_kind",
            Text,
            "failed tags per kind, e.g. `not_found=1 soft_block=2`",
        ),
        c("message", Text, "why the source failed; empty otherwise"),
    ],
    order_by: &["started_at", "run_id", "source"],
};

/// The run records, appended after every job.
pub const RUN_TABLES: [&TableDef; 2] = [&RUNS, &RUN_SOURCES];

/// The observation tables.
pub const OBSERVATION_TABLES: [&TableDef; 2] = [&SNAPSHOTS, &DAILY_COUNTS];

/// The tables one transform writes together (one generation).
pub const WEEKLY_TABLES: [&TableDef; 4] = [
    &WEEKLY_TAG_METRICS,
    &WEEKLY_OCCUPATION_METRICS,
    &WEEKLY_BRAND_METRICS,
    &OCCUPATION_TAGS,
];
