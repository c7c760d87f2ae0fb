//! The catalogue: every stored table, declared once with [`table!`]. Each declaration
//! gives the table's definition (`SNAPSHOTS`, ...), its row struct (`SnapshotRow`, ...)
//! and the struct's conversions from and to frames. A new weekly column is one line
//! here plus the transform code that computes it.

use super::table;

table! {
    /// Counter snapshots, one row per observation (identity: platform, tag, metric, observed_at).
    pub const SNAPSHOTS = "snapshots", row SnapshotRow: "a cumulative counter read at one moment",
        ordered by [platform, metric, tag, observed_at];
    columns {
        platform: String = Text, "platform, e.g. tiktok";
        tag: String = Text, "normalised tag, no #";
        metric: String = Text, "counter, e.g. views";
        observed_at: chrono::DateTime<chrono::Utc> = TimeMs, "when the counter was read";
        value: u64 = U64, "the counter's value";
        source: String = Text, "id of the source that stored it";
        ingested_at: chrono::DateTime<chrono::Utc> = TimeUs,
            "when it was stored; the last ingested row of an identity wins";
    }
}

table! {
    /// Daily counts, one row per series and day (identity: platform, tag, metric, day).
    pub const DAILY_COUNTS = "daily_counts", row DailyCountRow: "a count for one UTC day",
        ordered by [platform, metric, tag, day];
    columns {
        platform: String = Text, "platform, e.g. mastodon";
        tag: String = Text, "normalised tag, no #";
        metric: String = Text, "what was counted, e.g. uses";
        day: chrono::NaiveDate = Date, "the UTC day counted";
        value: u64 = U64, "that day's count";
        source: String = Text, "id of the source that stored it";
        ingested_at: chrono::DateTime<chrono::Utc> = TimeUs,
            "when it was stored; the last ingested row of an identity wins";
    }
}

/// The growth and breakout columns closing both metric tables, in order (the `signals;`
/// of their declarations).
pub const SIGNAL_COLUMNS: [&str; 7] = [
    "wow_growth",
    "total_growth",
    "avg4",
    "momentum",
    "z",
    "z_median",
    "breakout",
];

table! {
    /// `weekly_tag_metrics`: one row per series and ISO week.
    pub const WEEKLY_TAG_METRICS = "weekly_tag_metrics",
        row TagRow: "one series (platform, tag, metric) in one ISO week",
        ordered by [platform, metric, tag, week_start];
    columns {
        platform: String = Text, "platform";
        tag: String = Text, "tag";
        metric: String = Text, "metric";
        week_start: chrono::NaiveDate = Date, "Monday of the ISO week (UTC)";
        total_end: Option<f64> = F64, "counter value at the week's end (snapshots only)";
        gained: Option<f64> = F64,
            "growth in the week: V(end) - V(start), or the sum of daily counts";
        observations: u32 = U32, "snapshots (or days) inside the week";
        decreases: u32 = U32, "counter steps down inside the week";
        coverage: Option<f64> = F64, "days present / 7 (daily counts only)";
        resolution: Option<f64> = F64,
            "the counter's rounding step around the week (lower median; 0 for daily counts)";
    }
    signals;
    derived {
        within_rounding: bool = "the change against the week before is no larger than \
            `resolution`: neither a rise nor a fall (not stored; see `rows::tag_rows`)",
    }
}

table! {
    /// `weekly_occupation_metrics`: member tags summed per occupation and ISO week.
    pub const WEEKLY_OCCUPATION_METRICS = "weekly_occupation_metrics",
        row OccupationRow: "one occupation (platform, occupation, metric) in one ISO week",
        ordered by [platform, metric, occupation, week_start];
    columns {
        platform: String = Text, "platform";
        occupation: String = Text, "occupation name from the taxonomy";
        metric: String = Text, "metric";
        week_start: chrono::NaiveDate = Date, "Monday of the ISO week (UTC)";
        total_end: Option<f64> = F64, "sum of the member tags' total_end";
        gained: Option<f64> = F64, "sum of the member tags' gained";
        tags_reporting: u32 = U32, "member tags with a gained this week";
        tags_total: u32 = U32, "member tags in the taxonomy";
        share: Option<f64> = F64, "share of voice: gained / gained of all tracked tags";
        resolution: Option<f64> = F64,
            "sum of the member tags' resolution (those counted in gained)";
    }
    signals;
    derived {
        within_rounding: bool = "the change against the week before is no larger than \
            `resolution` (not stored; see `rows::occupation_rows`)",
    }
}

table! {
    /// `weekly_brand_metrics`: a brand's own tags against each occupation it recruits for.
    pub const WEEKLY_BRAND_METRICS = "weekly_brand_metrics",
        row BrandRow: "one brand against one of its occupations in one ISO week",
        ordered by [platform, metric, brand, occupation, week_start];
    columns {
        platform: String = Text, "platform";
        brand: String = Text, "brand name";
        occupation: String = Text, "occupation the brand recruits for";
        metric: String = Text, "metric";
        week_start: chrono::NaiveDate = Date, "Monday of the ISO week (UTC)";
        gained: Option<f64> = F64, "sum of the brand's tags' gained";
        brand_share: Option<f64> = F64, "brand gained / occupation gained";
    }
}

table! {
    /// `occupation_tags`: the taxonomy the weekly tables were computed with.
    pub const OCCUPATION_TAGS = "occupation_tags", row OccupationTagRow: "one tag of one occupation",
        ordered by [occupation, tag];
    columns {
        occupation: String = Text, "occupation name";
        tag: String = Text, "member tag";
    }
}

table! {
    /// `runs`: one row per job run, scheduled or one-shot (what `tagpulse status` reads).
    pub const RUNS = "runs", row RunRow: "one run of one job", ordered by [started_at, run_id];
    columns {
        run_id: String = Text, "unique id: start time and process id";
        job: String = Text, "ingest, import, transform, report, run or backfill";
        trigger: String = Text, "cli, schedule or catch-up";
        started_at: chrono::DateTime<chrono::Utc> = TimeMs, "when the run started";
        finished_at: chrono::DateTime<chrono::Utc> = TimeMs, "when it ended";
        outcome: String = Text,
            "ok, partial (stored, some tags failed), failed or interrupted";
        rows_written: u64 = U64, "observations plus weekly rows stored";
        message: String = Text, "why it failed or what was partial; empty when ok";
    }
}

table! {
    /// `run_sources`: one row per source a run asked (its freshness and its failures).
    pub const RUN_SOURCES = "run_sources", row RunSourceRow: "one source in one run",
        ordered by [started_at, run_id, source];
    columns {
        run_id: String = Text, "the run (`runs.run_id`)";
        source: String = Text, "the source's id";
        started_at: chrono::DateTime<chrono::Utc> = TimeMs, "when the run started";
        status: String = Text, "stored, spooled (kept for the next delivery) or failed";
        observations: u64 = U64, "snapshots plus daily counts stored or spooled";
        tags_ok: u32 = U32, "tags that yielded observations";
        tags_failed: u32 = U32, "tags that yielded nothing";
        failed_by_kind: String = Text, "failed tags per kind, e.g. `not_found=1 soft_block=2`";
        message: String = Text, "why the source failed; empty otherwise";
    }
}

/// The run records, appended after every job.
pub const RUN_TABLES: [&TableDef; 2] = [&RUNS, &RUN_SOURCES];

/// The observation tables, which every source and import appends to.
pub const OBSERVATION_TABLES: [&TableDef; 2] = [&SNAPSHOTS, &DAILY_COUNTS];

/// The tables one transform writes together (one generation).
pub const WEEKLY_TABLES: [&TableDef; 4] = [
    &WEEKLY_TAG_METRICS,
    &WEEKLY_OCCUPATION_METRICS,
    &WEEKLY_BRAND_METRICS,
    &OCCUPATION_TAGS,
];

use super::TableDef;
