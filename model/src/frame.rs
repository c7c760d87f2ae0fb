//! Reading a frame's columns as plain vectors, for the row structs every table declares
//! ([`crate::tables::TableRow`]): a column read must be one its table defines, its type
//! is cast to what the reader wants, and a missing or mistyped column is a [`RowError`]
//! naming the table and the column.

use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};
use polars::prelude::*;

use crate::date_from_days;
use crate::rows::RowError;
use crate::tables::{ColumnType, TableDef};

/// The columns of one frame, read by name.
pub struct Columns<'a> {
    df: &'a DataFrame,
    /// The table whose definition names every column a reader may read; `None` only in
    /// this crate's tests of single cells.
    def: Option<&'static TableDef>,
}

impl<'a> Columns<'a> {
    /// The columns of `df`, a frame of table `def`.
    pub fn table(df: &'a DataFrame, def: &'static TableDef) -> Self {
        Columns { df, def: Some(def) }
    }

    /// The columns of `df`, read without a definition (tests of one cell type).
    #[cfg(test)]
    pub(crate) fn unchecked(df: &'a DataFrame) -> Self {
        Columns { df, def: None }
    }

    /// Rows in the frame.
    pub fn height(&self) -> usize {
        self.df.height()
    }

    fn get(&self, name: &str, dtype: &DataType) -> Result<Series, RowError> {
        let table = match self.def {
            Some(def) => {
                if def.column(name).is_none() {
                    return Err(RowError(format!(
                        "{}: the reader reads `{name}`, which the table does not define",
                        def.name
                    )));
                }
                def.name
            }
            None => "frame",
        };
        let c = self
            .df
            .column(name)
            .map_err(|_| RowError(format!("{table}: column `{name}` is missing")))?;
        c.as_materialized_series()
            .cast(dtype)
            .map_err(|e| RowError(format!("{table}: column `{name}`: {e}")))
    }

    /// Text; null reads as "".
    pub fn str(&self, name: &str) -> Result<Vec<String>, RowError> {
        let s = self.get(name, &DataType::String)?;
        Ok(s.str()
            .expect("cast to string")
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect())
    }

    /// Floats; null and non-finite read as `None`.
    pub fn f64(&self, name: &str) -> Result<Vec<Option<f64>>, RowError> {
        let s = self.get(name, &DataType::Float64)?;
        Ok(s.f64()
            .expect("cast to f64")
            .iter()
            .map(|v| v.filter(|x| x.is_finite()))
            .collect())
    }

    /// Integers; null reads as 0.
    pub fn i64(&self, name: &str) -> Result<Vec<i64>, RowError> {
        let s = self.get(name, &DataType::Int64)?;
        Ok(s.i64()
            .expect("cast to i64")
            .iter()
            .map(|v| v.unwrap_or(0))
            .collect())
    }

    /// Counts; null reads as 0.
    pub fn u64(&self, name: &str) -> Result<Vec<u64>, RowError> {
        let s = self.get(name, &DataType::UInt64)?;
        Ok(s.u64()
            .expect("cast to u64")
            .iter()
            .map(|v| v.unwrap_or(0))
            .collect())
    }

    /// Small counts; null reads as 0.
    pub fn u32(&self, name: &str) -> Result<Vec<u32>, RowError> {
        Ok(self.i64(name)?.into_iter().map(|v| v as u32).collect())
    }

    /// Flags; null reads as false.
    pub fn bool(&self, name: &str) -> Result<Vec<bool>, RowError> {
        let s = self.get(name, &DataType::Boolean)?;
        Ok(s.bool()
            .expect("cast to bool")
            .iter()
            .map(|v| v.unwrap_or(false))
            .collect())
    }

    /// Dates; null reads as 1970-01-01.
    pub fn date(&self, name: &str) -> Result<Vec<NaiveDate>, RowError> {
        let s = self.get(name, &DataType::Date)?;
        let phys = s.to_physical_repr();
        Ok(phys
            .i32()
            .expect("date is i32")
            .iter()
            .map(|d| d.and_then(date_from_days).unwrap_or_default())
            .collect())
    }

    /// UTC timestamps of a column of type `ty` (milli- or microseconds); null reads as
    /// the epoch.
    pub fn time(&self, name: &str, ty: ColumnType) -> Result<Vec<DateTime<Utc>>, RowError> {
        // Physical units since the epoch, UTC (the model's timestamps carry no zone).
        let s = self.get(name, &ty.polars())?;
        let phys = s.to_physical_repr();
        let at = |v: i64| match ty {
            ColumnType::TimeUs => Utc.timestamp_micros(v).single(),
            _ => Utc.timestamp_millis_opt(v).single(),
        };
        Ok(phys
            .i64()
            .expect("datetime is i64")
            .iter()
            .map(|v| at(v.unwrap_or(0)).unwrap_or_default())
            .collect())
    }

    /// Lists of counts; a null list reads as empty.
    pub fn u32_lists(&self, name: &str) -> Result<Vec<Vec<u32>>, RowError> {
        let s = self.get(name, &DataType::List(Box::new(DataType::UInt32)))?;
        Ok(s.list()
            .expect("cast to list")
            .amortized_iter()
            .map(|l| {
                l.map(|l| {
                    l.as_ref()
                        .u32()
                        .expect("list of u32")
                        .iter()
                        .map(Option::unwrap_or_default)
                        .collect()
                })
                .unwrap_or_default()
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::RUNS;

    #[test]
    fn columns_read_by_their_definition_and_name_what_is_wrong() {
        let df = df!(
            "run_id" => ["a", "b"],
            "rows_written" => [Some(3u64), None],
        )
        .unwrap();
        let c = Columns::table(&df, &RUNS);
        assert_eq!(c.str("run_id").unwrap(), ["a", "b"]);
        assert_eq!(c.u64("rows_written").unwrap(), [3, 0]);
        assert_eq!(
            c.str("job").unwrap_err().to_string(),
            "runs: column `job` is missing"
        );
        assert_eq!(
            c.str("colour").unwrap_err().to_string(),
            "runs: the reader reads `colour`, which the table does not define"
        );
        let f = Columns::unchecked(&df);
        assert_eq!(f.i64("rows_written").unwrap(), [3, 0]);
    }
}
