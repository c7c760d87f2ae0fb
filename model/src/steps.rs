//! Rounding steps of counter values: a platform that shows 1,230,000,000 views moves in
//! steps of 10^7. The transform summarises a week's snapshots as a histogram of their
//! steps (the `steps` column of week summaries, made by the Parquet path and by
//! ClickHouse alike), from which `resolution` is a median.

use polars::prelude::*;

/// Buckets of [`Steps`]: k = 0..=19 (u64 has at most 19 trailing decimal zeros).
pub const STEP_BUCKETS: usize = 20;

/// Snapshots per rounding step 10^k: `steps[k]` counts the values v > 0 with exactly k
/// trailing decimal zeros.
pub type Steps = [u32; STEP_BUCKETS];

/// k of the rounding step 10^k of a raw counter value (its trailing decimal zeros);
/// None for 0, which has no step.
pub fn step_exponent(mut v: u64) -> Option<usize> {
    if v == 0 {
        return None;
    }
    let mut k = 0;
    while v.is_multiple_of(10) {
        v /= 10;
        k += 1;
    }
    Some(k)
}

/// A `steps` list column (`List(UInt32)`) from histograms, built as one flat vector of
/// counts: a Series per row cost 0.18 s at 282k week summaries.
pub fn steps_column<'a>(name: &str, rows: impl ExactSizeIterator<Item = &'a [u32]>) -> Column {
    let mut b = ListPrimitiveChunkedBuilder::<UInt32Type>::new(
        name.into(),
        rows.len(),
        rows.len() * STEP_BUCKETS,
        DataType::UInt32,
    );
    for r in rows {
        b.append_slice(r);
    }
    b.finish().into_series().into_column()
}
