//! How a Rust value is one cell of a column, and how a row struct declared with
//! [`table!`](super::table) becomes a frame and back: the generic half of every table's
//! one declaration.

use chrono::{DateTime, NaiveDate, Utc};
use polars::prelude::*;

use super::{ColumnType, TableDef};
use crate::days_from_date;
use crate::frame::Columns;
use crate::rows::RowError;

/// A Rust type that holds one cell of a column: how a column of them is built and read.
pub trait Cell: Sized + Clone {
    /// Whether the column may hold nulls: true exactly for `Option`s.
    const NULLABLE: bool;
    /// The column types this Rust type can hold without loss.
    const TYPES: &'static [ColumnType];
    /// `values` as a column called `name` of type `ty` (one of [`Cell::TYPES`]).
    fn column(name: &str, ty: ColumnType, values: Vec<Self>) -> PolarsResult<Column>;
    /// The column `name` of `cols`, of type `ty`, as values.
    fn read(cols: &Columns, name: &str, ty: ColumnType) -> Result<Vec<Self>, RowError>;
}

/// Whether `ty` is among `types`: checked at compile time for every declared column.
pub const fn holds(types: &[ColumnType], ty: ColumnType) -> bool {
    let mut i = 0;
    while i < types.len() {
        if types[i] as u8 == ty as u8 {
            return true;
        }
        i += 1;
    }
    false
}

/// A row struct declared with [`table!`](super::table): its table and both conversions.
pub trait TableRow: Sized {
    /// The table (or in-flight frame) the struct is a row of.
    const TABLE: &'static TableDef;
    /// The rows of `df`, a frame of [`TableRow::TABLE`]; a missing or mistyped column is
    /// an error naming the table and the column.
    fn from_frame(df: &DataFrame) -> Result<Vec<Self>, RowError>;
    /// `rows` as a frame with exactly the table's columns and dtypes.
    fn to_frame(rows: &[Self]) -> PolarsResult<DataFrame>;
}

/// Builds the column from values polars takes as they are, then casts to the declared
/// dtype (a no-op when they already match).
fn plain<T>(name: &str, ty: ColumnType, values: Vec<T>) -> PolarsResult<Column>
where
    Series: NamedFrom<Vec<T>, [T]>,
{
    Column::new(name.into(), values).cast(&ty.polars())
}

/// A `Cell` for a type polars builds columns of directly, read by the [`Columns`] method
/// named.
macro_rules! plain_cell {
    ($($ty:ty: $nullable:literal, $column:ident, $read:ident;)*) => {$(
        impl Cell for $ty {
            const NULLABLE: bool = $nullable;
            const TYPES: &'static [ColumnType] = &[ColumnType::$column];
            fn column(name: &str, ty: ColumnType, values: Vec<Self>) -> PolarsResult<Column> {
                plain(name, ty, values)
            }
            fn read(cols: &Columns, name: &str, _: ColumnType) -> Result<Vec<Self>, RowError> {
                cols.$read(name)
            }
        }
    )*};
}

plain_cell! {
    String: false, Text, str;
    u64: false, U64, u64;
    u32: false, U32, u32;
    i64: false, I64, i64;
    Option<f64>: true, F64, f64;
    bool: false, Bool, bool;
}

impl Cell for NaiveDate {
    const NULLABLE: bool = false;
    const TYPES: &'static [ColumnType] = &[ColumnType::Date];
    fn column(name: &str, ty: ColumnType, values: Vec<Self>) -> PolarsResult<Column> {
        let days: Vec<i32> = values.into_iter().map(days_from_date).collect();
        plain(name, ty, days)
    }
    fn read(cols: &Columns, name: &str, _: ColumnType) -> Result<Vec<Self>, RowError> {
        cols.date(name)
    }
}

impl Cell for DateTime<Utc> {
    const NULLABLE: bool = false;
    const TYPES: &'static [ColumnType] = &[ColumnType::TimeMs, ColumnType::TimeUs];
    fn column(name: &str, ty: ColumnType, values: Vec<Self>) -> PolarsResult<Column> {
        let physical: Vec<i64> = match ty {
            ColumnType::TimeUs => values.iter().map(DateTime::timestamp_micros).collect(),
            _ => values.iter().map(DateTime::timestamp_millis).collect(),
        };
        plain(name, ty, physical)
    }
    fn read(cols: &Columns, name: &str, ty: ColumnType) -> Result<Vec<Self>, RowError> {
        cols.time(name, ty)
    }
}

impl Cell for Vec<u32> {
    const NULLABLE: bool = false;
    const TYPES: &'static [ColumnType] = &[ColumnType::U32List];
    fn column(name: &str, _: ColumnType, values: Vec<Self>) -> PolarsResult<Column> {
        Ok(crate::steps::steps_column(
            name,
            values.iter().map(Vec::as_slice),
        ))
    }
    fn read(cols: &Columns, name: &str, _: ColumnType) -> Result<Vec<Self>, RowError> {
        cols.u32_lists(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_finds_a_type_in_its_list() {
        assert!(holds(<DateTime<Utc>>::TYPES, ColumnType::TimeUs));
        assert!(!holds(<u64>::TYPES, ColumnType::U32));
    }

    #[test]
    fn times_keep_their_unit_both_ways() {
        let t = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        let df = DataFrame::new_infer_height(vec![
            <DateTime<Utc>>::column("us", ColumnType::TimeUs, vec![t]).unwrap(),
            <DateTime<Utc>>::column("ms", ColumnType::TimeMs, vec![t]).unwrap(),
        ])
        .unwrap();
        let c = Columns::unchecked(&df);
        let us = <DateTime<Utc>>::read(&c, "us", ColumnType::TimeUs).unwrap();
        let ms = <DateTime<Utc>>::read(&c, "ms", ColumnType::TimeMs).unwrap();
        assert_eq!(us[0], t);
        assert_eq!(ms[0].timestamp_micros(), 1_700_000_000_123_000);
    }
}
