//! Stored rows read a slice at a time, so a job can pass over millions of rows without
//! holding every column of them at once.

use polars::prelude::*;

/// Rows a store holds, readable in slices: every call to [`RowSlices::slices`] reads them
/// all again, in the same order and the same slices.
pub trait RowSlices: Send + Sync {
    /// The rows' `columns`, one frame per slice.
    fn slices<'a>(
        &'a self,
        columns: &'a [&'a str],
    ) -> Box<dyn Iterator<Item = PolarsResult<DataFrame>> + 'a>;
}

/// A lazy frame is one slice: fine for what fits in memory (tests, ClickHouse reads).
impl RowSlices for LazyFrame {
    fn slices<'a>(
        &'a self,
        columns: &'a [&'a str],
    ) -> Box<dyn Iterator<Item = PolarsResult<DataFrame>> + 'a> {
        let cols: Vec<Expr> = columns.iter().map(|c| col(*c)).collect();
        Box::new(std::iter::once(self.clone().select(cols).collect()))
    }
}
