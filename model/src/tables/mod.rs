//! The one definition of every stored table: column names, types, nullability, meaning.
//!
//! The transform's output is checked against these definitions before it is stored; the
//! Parquet store writes and checks them; the ClickHouse store derives its DDL and its
//! RowBinary encoding of the weekly tables from them; the README's schema tables are
//! generated from them (a test fails when the README drifts); the report reads columns
//! through them. A new weekly column is one entry here plus the transform code that
//! computes it.

mod catalog;
mod cell;
mod declare;

use polars::prelude::*;

pub use catalog::*;
pub use cell::{holds, Cell, TableRow};
pub(crate) use declare::table;

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
    /// A signed 64-bit integer (epoch seconds, week numbers; in-flight frames only).
    I64,
    /// A list of unsigned 32-bit counts (a histogram; in-flight frames only).
    U32List,
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
            ColumnType::I64 => DataType::Int64,
            ColumnType::U32List => DataType::List(Box::new(DataType::UInt32)),
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
            ColumnType::I64 => "Int64",
            ColumnType::U32List => "Array(UInt32)",
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
            ColumnType::I64 => "i64",
            ColumnType::U32List => "list of u32",
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
        .chain(RUN_TABLES.iter())
        .map(|t| t.markdown())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A frame does not match its table's definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{table}: {message}")]
#[allow(missing_docs)] // its fields are the values its messages show
pub struct SchemaError {
    pub table: &'static str,
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
            "README.md's table reference drifted from model/src/tables/catalog.rs: run \
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
