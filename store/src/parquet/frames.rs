//! Observation batches as frames with the stored schema ([`SNAPSHOTS`], [`DAILY_COUNTS`]).
//!
//! Both backends build their rows from these frames, so a batch is converted once; the
//! lake writes a batch's series as Arrow record batches instead ([`snapshot_pieces`]).
//!
//! [`SNAPSHOTS`]: tagpulse_model::tables::SNAPSHOTS
//! [`DAILY_COUNTS`]: tagpulse_model::tables::DAILY_COUNTS

use polars::prelude::*;
use polars_arrow::array::PrimitiveArray;
use polars_arrow::record_batch::RecordBatchT;
use tagpulse_model::tables::SNAPSHOTS;
use tagpulse_model::{days_from_date, ObservationBatch, SnapshotSeries};

use super::files::{dictionary_from_runs, disk_schema, Piece, ROW_GROUP_ROWS};
use crate::{polars_err, StoreError};

/// The columns every stored observation has besides its time column.
pub(crate) struct ObsColumns<S> {
    pub platform: Vec<S>,
    pub tag: Vec<S>,
    pub metric: Vec<S>,
    pub value: Vec<u64>,
    pub source: Vec<S>,
    pub ingested_us: Vec<i64>,
}

impl<S> ObsColumns<S> {
    pub(crate) fn with_capacity(n: usize) -> Self {
        ObsColumns {
            platform: Vec::with_capacity(n),
            tag: Vec::with_capacity(n),
            metric: Vec::with_capacity(n),
            value: Vec::with_capacity(n),
            source: Vec::with_capacity(n),
            ingested_us: Vec::with_capacity(n),
        }
    }

    /// A frame with the stored observation schema: these columns around `time`.
    pub(crate) fn into_frame(self, time: Column) -> PolarsResult<DataFrame>
    where
        Series: NamedFrom<Vec<S>, [S]>,
    {
        DataFrame::new_infer_height(vec![
            Column::new("platform".into(), self.platform),
            Column::new("tag".into(), self.tag),
            Column::new("metric".into(), self.metric),
            time,
            UInt64Chunked::from_vec("value".into(), self.value).into_column(),
            Column::new("source".into(), self.source),
            Int64Chunked::from_vec("ingested_at".into(), self.ingested_us)
                .into_column()
                .cast(&DataType::Datetime(TimeUnit::Microseconds, None))?,
        ])
    }
}

/// A frame with the stored observation schema: the shared columns around `time`.
fn observation_frame<'a>(
    batch: &'a ObservationBatch,
    ingested_us: i64,
    rows: impl Iterator<Item = (&'a str, &'a str, &'a str, u64)>,
    time: Column,
) -> PolarsResult<DataFrame> {
    let mut c = ObsColumns::with_capacity(0);
    for (p, t, m, v) in rows {
        c.platform.push(p);
        c.tag.push(t);
        c.metric.push(m);
        c.value.push(v);
        c.source.push(batch.source.as_str());
        c.ingested_us.push(ingested_us);
    }
    c.into_frame(time)
}

/// The batch's snapshots as one frame with the stored schema (what ClickHouse inserts).
pub fn snapshots_frame(batch: &ObservationBatch, ingested_us: i64) -> PolarsResult<DataFrame> {
    let mut out = SNAPSHOTS.empty_frame();
    if !batch.snapshots.is_empty() {
        out.vstack_mut_owned(row_frame(batch, ingested_us)?)?;
    }
    if !batch.series.is_empty() {
        out.vstack_mut_owned(series_frame(&batch.series, &batch.source, ingested_us)?)?;
    }
    Ok(out)
}

/// The batch's snapshots as pieces of the snapshots table's file: its rows as one frame,
/// its series as record batches of about a row group each.
pub(crate) fn snapshot_pieces(
    batch: &ObservationBatch,
    ingested_us: i64,
) -> impl Iterator<Item = Result<Piece, StoreError>> + '_ {
    let rows = (!batch.snapshots.is_empty()).then(|| {
        row_frame(batch, ingested_us)
            .map(Piece::Frame)
            .map_err(polars_err("cannot build snapshots"))
    });
    let schema = Arc::new(disk_schema(&SNAPSHOTS));
    rows.into_iter().chain(
        series_groups(&batch.series, ROW_GROUP_ROWS)
            .into_iter()
            .map(move |g| series_batch(g, &batch.source, ingested_us, &schema)),
    )
}

/// `series` in consecutive groups of whole series of at most `rows` rows (a longer
/// series is a group of its own).
fn series_groups(series: &[SnapshotSeries], rows: usize) -> Vec<&[SnapshotSeries]> {
    let mut groups: Vec<&[SnapshotSeries]> = Vec::new();
    let (mut start, mut n) = (0, 0);
    for (i, s) in series.iter().enumerate() {
        if n > 0 && n + s.len() > rows {
            groups.push(&series[start..i]);
            (start, n) = (i, 0);
        }
        n += s.len();
    }
    if start < series.len() {
        groups.push(&series[start..]);
    }
    groups
}

/// Series as one record batch in the disk schema: each string column a dictionary of the
/// values its series hold, so no string is built per row (building them was a fifth of
/// an import of 10M snapshots, and their views 64 bytes a row).
fn series_batch(
    series: &[SnapshotSeries],
    source: &str,
    ingested_us: i64,
    schema: &Arc<ArrowSchema>,
) -> Result<Piece, StoreError> {
    let n: usize = series.iter().map(SnapshotSeries::len).sum();
    let runs = |f: fn(&SnapshotSeries) -> &str| {
        dictionary_from_runs(series.iter().map(|s| (f(s), s.len())), n).boxed()
    };
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(schema.len());
    for field in schema.iter_values() {
        arrays.push(match field.name.as_str() {
            "platform" => runs(|s| &s.platform),
            "tag" => runs(|s| s.tag.as_str()),
            "metric" => runs(|s| &s.metric),
            "source" => dictionary_from_runs([(source, n)], n).boxed(),
            "observed_at" => {
                let mut ms = Vec::with_capacity(n);
                for s in series {
                    ms.extend(s.observed_at.iter().map(|t| t * 1000));
                }
                PrimitiveArray::<i64>::new(field.dtype.clone(), ms.into(), None).boxed()
            }
            "value" => {
                let mut value = Vec::with_capacity(n);
                for s in series {
                    value.extend_from_slice(&s.value);
                }
                PrimitiveArray::<u64>::from_vec(value).boxed()
            }
            "ingested_at" => {
                let at = vec![ingested_us; n];
                PrimitiveArray::<i64>::new(field.dtype.clone(), at.into(), None).boxed()
            }
            other => {
                let message = format!("no series column for snapshots.{other}");
                return Err(polars_err("cannot build snapshots")(
                    PolarsError::ComputeError(message.into()),
                ));
            }
        });
    }
    Ok(Piece::Batch(RecordBatchT::new(n, schema.clone(), arrays)))
}

/// Series in columns as one frame: each string column repeats one value per series.
fn series_frame(
    series: &[SnapshotSeries],
    source: &str,
    ingested_us: i64,
) -> PolarsResult<DataFrame> {
    let n: usize = series.iter().map(SnapshotSeries::len).sum();
    let repeated = |name: &str, f: fn(&SnapshotSeries) -> &str| {
        StringChunked::from_iter_values(
            name.into(),
            series
                .iter()
                .flat_map(|s| std::iter::repeat_n(f(s), s.len())),
        )
        .into_column()
    };
    // Sized up front: a growing 8 MB vector is copied at each doubling.
    let (mut ms, mut value) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for s in series {
        ms.extend(s.observed_at.iter().map(|t| t * 1000));
        value.extend_from_slice(&s.value);
    }
    DataFrame::new(
        n,
        vec![
            repeated("platform", |s| &s.platform),
            repeated("tag", |s| s.tag.as_str()),
            repeated("metric", |s| &s.metric),
            Int64Chunked::from_vec("observed_at".into(), ms)
                .into_column()
                .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))?,
            UInt64Chunked::from_vec("value".into(), value).into_column(),
            StringChunked::full("source".into(), source, n).into_column(),
            Int64Chunked::full("ingested_at".into(), ingested_us, n)
                .into_column()
                .cast(&DataType::Datetime(TimeUnit::Microseconds, None))?,
        ],
    )
}

/// The batch's snapshot rows (not its series) as a frame with the stored schema.
fn row_frame(batch: &ObservationBatch, ingested_us: i64) -> PolarsResult<DataFrame> {
    let s = &batch.snapshots;
    let time = Column::new(
        "observed_at".into(),
        s.iter()
            .map(|o| o.observed_at.timestamp_millis())
            .collect::<Vec<_>>(),
    )
    .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))?;
    let rows = s.iter().map(|o| {
        (
            o.platform.as_str(),
            o.tag.as_str(),
            o.metric.as_str(),
            o.value,
        )
    });
    observation_frame(batch, ingested_us, rows, time)
}

/// The batch's daily counts as a frame with the stored schema.
pub fn daily_frame(batch: &ObservationBatch, ingested_us: i64) -> PolarsResult<DataFrame> {
    let d = &batch.daily;
    let time = Column::new(
        "day".into(),
        d.iter().map(|o| days_from_date(o.day)).collect::<Vec<_>>(),
    )
    .cast(&DataType::Date)?;
    let rows = d.iter().map(|o| {
        (
            o.platform.as_str(),
            o.tag.as_str(),
            o.metric.as_str(),
            o.value,
        )
    });
    observation_frame(batch, ingested_us, rows, time)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tagpulse_model::Tag;

    #[test]
    fn series_are_grouped_whole_up_to_the_row_limit() {
        let series: Vec<SnapshotSeries> = [3, 4, 2, 9, 1, 1]
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let tag = Tag::parse(&format!("t{i}")).unwrap();
                let mut s = SnapshotSeries::new("tiktok", tag, "views");
                s.observed_at = (0..n).collect();
                s.value = vec![1; n as usize];
                s
            })
            .collect();
        let lens: Vec<Vec<usize>> = series_groups(&series, 7)
            .iter()
            .map(|g| g.iter().map(SnapshotSeries::len).collect())
            .collect();
        // 3+4 fills a group; 2 then 9 would pass 7, so 9 (longer than 7) stands alone.
        assert_eq!(lens, [vec![3, 4], vec![2], vec![9], vec![1, 1]]);
        assert_eq!(series_groups(&series, usize::MAX).len(), 1);
    }
}
