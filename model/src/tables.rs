//! The one definition of every stored table: column names, types, nullability, meaning.
//!
//! The transform's output is checked against these definitions before it is stored; the
//! Parquet store writes and checks them; the ClickHouse store derives its DDL and its
//! RowBinary encoding of the weekly tables from them; the README's schema tables are
//! generated from them (a test fails when the README drifts); the report reads columns
//! through them. A new weekly column is one entry here plus the transform code that
//! computes it.

use polars::prelude::*;

/// The logical type of a stored column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// UTF-8 text.
    Text,
    /// A UTC calendar day.
    Date,
    /// A UTC instant, stored to the millisecond in Parquet, to the second in ClickHouse.
    TimeMs,
    /// A UTC instant, stored to the microsecond in Parquet, to the second in ClickHouse.
    TimeUs,
    /// An unsigned 64-bit count.
    U64,
    /// An unsigned 32-bit count.
    U32,
    /// A 64-bit float.
    F64,
    /// A flag (`UInt8` 0/1 in ClickHouse).
    Bool,
}

impl ColumnType {
    /// The polars dtype a frame holds for this column.
    pub fn polars(self) -> DataType {
        match self {
            ColumnType::Text => DataType::String,
            ColumnType::Date => DataType::Date,
            ColumnType::TimeMs => DataType::Datetime(TimeUnit::Milliseconds, None),
            ColumnType::TimeUs => DataType::Datetime(TimeUnit::Microseconds, None),
            ColumnType::U64 => DataType::UInt64,
            ColumnType::U32 => DataType::UInt32,
            ColumnType::F64 => DataType::Float64,
            ColumnType::Bool => DataType::Boolean,
        }
    }

    /// The ClickHouse type (without `Nullable`); only types 18.16 and current servers share.
    pub fn clickhouse(self) -> &'static str {
        match self {
            ColumnType::Text => "String",
            ColumnType::Date => "Date",
            ColumnType::TimeMs | ColumnType::TimeUs => "DateTime('UTC')",
            ColumnType::U64 => "UInt64",
            ColumnType::U32 => "UInt32",
            ColumnType::F64 => "Float64",
            ColumnType::Bool => "UInt8",
        }
    }

    /// A short name for the README.
    pub fn doc_name(self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::Date => "date",
            ColumnType::TimeMs => "timestamp (ms, UTC)",
            ColumnType::TimeUs => "timestamp (µs, UTC)",
            ColumnType::U64 => "u64",
            ColumnType::U32 => "u32",
            ColumnType::F64 => "f64",
            ColumnType::Bool => "bool",
        }
    }
}

/// One column of a stored table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnDef {
    /// Column name, the same in Parquet, polars and ClickHouse.
    pub name: &'static str,
    /// Logical type.
    pub ty: ColumnType,
    /// Whether the column may hold nulls.
    pub nullable: bool,
    /// What it means, in one line.
    pub meaning: &'static str,
}

/// One stored table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDef {
    /// Table name (ClickHouse table, Parquet file stem).
    pub name: &'static str,
    /// What one row is.
    pub row: &'static str,
    /// Columns, in stored order.
    pub columns: &'static [ColumnDef],
    /// Sort key (ClickHouse `ORDER BY`, and the row order the transform produces).
    pub order_by: &'static [&'static str],
}

const fn c(name: &'static str, ty: ColumnType, meaning: &'static str) -> ColumnDef {
    ColumnDef {
        name,
        ty,
        nullable: false,
        meaning,
    }
}

const fn n(name: &'static str, ty: ColumnType, meaning: &'static str) -> ColumnDef {
    ColumnDef {
        name,
        ty,
        nullable: true,
        meaning,
    }
}

use ColumnType::*;

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
                "robust z-score of gained against the 8 weeks before (at least 6 present)",
            ),
            n(
                "z_median",
                F64,
                "median gained of the 8 weeks before, the centre of z",
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

/// The observation tables.
pub const OBSERVATION_TABLES: [&TableDef; 2] = [&SNAPSHOTS, &DAILY_COUNTS];

/// The tables one transform writes together (one generation).
pub const WEEKLY_TABLES: [&TableDef; 4] = [
    &WEEKLY_TAG_METRICS,
    &WEEKLY_OCCUPATION_METRICS,
    &WEEKLY_BRAND_METRICS,
    &OCCUPATION_TAGS,
];

impl TableDef {
    /// Column names, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.columns.iter().map(|c| c.name).collect()
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The polars schema of the table.
    pub fn schema(&self) -> Schema {
        self.columns
            .iter()
            .map(|c| Field::new(c.name.into(), c.ty.polars()))
            .collect()
    }

    /// An empty frame with the table's schema.
    pub fn empty_frame(&self) -> DataFrame {
        DataFrame::empty_with_schema(&self.schema())
    }

    /// Checks that `df` has exactly the table's columns, in order, with their dtypes, and
    /// no null where the table allows none.
    pub fn check(&self, df: &DataFrame) -> Result<(), SchemaError> {
        let err = |message: String| SchemaError {
            table: self.name,
            message,
        };
        let got: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
        if got != self.names() {
            return Err(err(format!(
                "columns are {got:?}, the table defines {:?}",
                self.names()
            )));
        }
        for (col, def) in df.columns().iter().zip(self.columns) {
            let want = def.ty.polars();
            if col.dtype() != &want {
                return Err(err(format!(
                    "column {} is {}, the table defines {want}",
                    def.name,
                    col.dtype()
                )));
            }
            if !def.nullable && col.null_count() > 0 {
                return Err(err(format!(
                    "column {} holds {} null(s) but is not nullable",
                    def.name,
                    col.null_count()
                )));
            }
        }
        Ok(())
    }

    /// `(name, ClickHouse type)` of each column, `Nullable(...)` where nullable.
    pub fn clickhouse_columns(&self) -> Vec<(&'static str, String)> {
        self.columns
            .iter()
            .map(|c| {
                let ty = c.ty.clickhouse();
                let ty = if c.nullable {
                    format!("Nullable({ty})")
                } else {
                    ty.to_string()
                };
                (c.name, ty)
            })
            .collect()
    }

    /// `CREATE TABLE IF NOT EXISTS {db}.<name><suffix> (...) ENGINE = MergeTree ...`
    /// for a table rewritten whole (the weekly tables); `{db}` is left for the store.
    pub fn clickhouse_create(&self, suffix: &str) -> String {
        let cols = self
            .clickhouse_columns()
            .iter()
            .map(|(n, t)| format!("    {n} {t}"))
            .collect::<Vec<_>>()
            .join(",\n");
        format!(
            "CREATE TABLE IF NOT EXISTS {{db}}.{}{suffix} (\n{cols}\n) ENGINE = MergeTree ORDER BY ({})",
            self.name,
            self.order_by.join(", ")
        )
    }

    /// The table as Markdown (column, type, null, meaning), for the README.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "`{}`: {}; ordered by {}.\n\n| column | type | null | meaning |\n|---|---|---|---|\n",
            self.name,
            self.row,
            self.order_by.join(", ")
        );
        for c in self.columns {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                c.name,
                c.ty.doc_name(),
                if c.nullable { "yes" } else { "no" },
                c.meaning
            ));
        }
        out
    }
}

/// The schema section of the README: every table, generated from these definitions.
pub fn markdown_reference() -> String {
    OBSERVATION_TABLES
        .iter()
        .chain(WEEKLY_TABLES.iter())
        .map(|t| t.markdown())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A frame does not match its table's definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{table}: {message}")]
pub struct SchemaError {
    /// The table.
    pub table: &'static str,
    /// What differs.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekly_metric_tables_close_with_the_signal_columns() {
        for t in [&WEEKLY_TAG_METRICS, &WEEKLY_OCCUPATION_METRICS] {
            let names = t.names();
            assert_eq!(names[names.len() - SIGNAL_COLUMNS.len()..], SIGNAL_COLUMNS);
        }
    }

    #[test]
    fn order_keys_are_columns_and_names_are_unique() {
        for t in OBSERVATION_TABLES.iter().chain(WEEKLY_TABLES.iter()) {
            for k in t.order_by {
                assert!(t.column(k).is_some(), "{}: {k}", t.name);
            }
            let mut names = t.names();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), t.columns.len(), "{}", t.name);
        }
    }

    #[test]
    fn check_names_the_difference() {
        let df = WEEKLY_BRAND_METRICS.empty_frame();
        assert_eq!(WEEKLY_BRAND_METRICS.check(&df), Ok(()));
        let bad = df.drop("brand_share").unwrap();
        let e = WEEKLY_BRAND_METRICS.check(&bad).unwrap_err().to_string();
        assert!(e.starts_with("weekly_brand_metrics: columns are"), "{e}");
        let df = df!("occupation" => ["a"], "tag" => [Some("x")]).unwrap();
        assert_eq!(OCCUPATION_TAGS.check(&df), Ok(()));
        let df = df!("occupation" => ["a"], "tag" => [None::<&str>]).unwrap();
        let e = OCCUPATION_TAGS.check(&df).unwrap_err().to_string();
        assert_eq!(
            e,
            "occupation_tags: column tag holds 1 null(s) but is not nullable"
        );
        let df = df!("occupation" => ["a"], "tag" => [1u32]).unwrap();
        let e = OCCUPATION_TAGS.check(&df).unwrap_err().to_string();
        assert_eq!(
            e,
            "occupation_tags: column tag is u32, the table defines str"
        );
    }

    /// The README's `## Tables` section is this module's Markdown, verbatim. To refresh it
    /// after changing a definition: `TAGPULSE_WRITE_README=1 cargo test -p tagpulse-model`.
    #[test]
    fn the_readme_shows_these_tables() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
        let readme = std::fs::read_to_string(path).unwrap();
        let (begin, end) = ("<!-- tables:begin -->\n", "<!-- tables:end -->");
        let a = readme.find(begin).expect("README has the tables markers") + begin.len();
        let b = readme.find(end).expect("README has the tables markers");
        let want = markdown_reference();
        if std::env::var_os("TAGPULSE_WRITE_README").is_some() {
            let updated = format!("{}{want}{}", &readme[..a], &readme[b..]);
            std::fs::write(path, updated).unwrap();
            return;
        }
        assert_eq!(
            &readme[a..b],
            want,
            "README.md's table reference drifted from model/src/tables.rs: run \
             TAGPULSE_WRITE_README=1 cargo test -p tagpulse-model"
        );
    }

    #[test]
    fn clickhouse_ddl_follows_the_columns() {
        let ddl = WEEKLY_BRAND_METRICS.clickhouse_create("__next");
        assert_eq!(
            ddl,
            "CREATE TABLE IF NOT EXISTS {db}.weekly_brand_metrics__next (\n    platform String,\n    brand String,\n    occupation String,\n    metric String,\n    week_start Date,\n    gained Nullable(Float64),\n    brand_share Nullable(Float64)\n) ENGINE = MergeTree ORDER BY (platform, metric, brand, occupation, week_start)"
        );
        let tag = WEEKLY_TAG_METRICS.clickhouse_columns();
        assert!(tag.contains(&("breakout", "UInt8".to_string())));
        assert!(tag.contains(&("z_median", "Nullable(Float64)".to_string())));
    }
}
