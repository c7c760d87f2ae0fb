//! Observation batches as frames with the stored schema ([`SNAPSHOTS`], [`DAILY_COUNTS`]).
//!
//! Both backends build their rows from these frames, so a batch is converted once.
//!
//! [`SNAPSHOTS`]: tagpulse_model::tables::SNAPSHOTS
//! [`DAILY_COUNTS`]: tagpulse_model::tables::DAILY_COUNTS

use polars::prelude::*;
use tagpulse_model::tables::SNAPSHOTS;
use tagpulse_model::{days_from_date, ObservationBatch, SnapshotSeries};

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

/// The batch's snapshots as one frame with the stored schema.
pub fn snapshots_frame(batch: &ObservationBatch, ingested_us: i64) -> PolarsResult<DataFrame> {
    let mut out = SNAPSHOTS.empty_frame();
    for df in snapshot_frames(batch, ingested_us, usize::MAX) {
        out.vstack_mut_owned(df?)?;
    }
    Ok(out)
}

/// The batch's snapshots as frames with the stored schema, each of about `rows` rows
/// (whole series, so one may be longer): built one at a time, a big import never holds
/// its rows twice.
pub fn snapshot_frames(
    batch: &ObservationBatch,
    ingested_us: i64,
    rows: usize,
) -> impl Iterator<Item = PolarsResult<DataFrame>> + '_ {
    let mut groups: Vec<&[SnapshotSeries]> = Vec::new();
    let (mut start, mut n) = (0, 0);
    for (i, s) in batch.series.iter().enumerate() {
        n += s.len();
        if n >= rows {
            groups.push(&batch.series[start..=i]);
            (start, n) = (i + 1, 0);
        }
    }
    if start < batch.series.len() {
        groups.push(&batch.series[start..]);
    }
    let rows_frame = (!batch.snapshots.is_empty()).then(|| row_frame(batch, ingested_us));
    rows_frame.into_iter().chain(
        groups
            .into_iter()
            .map(move |g| series_frame(g, &batch.source, ingested_us)),
    )
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
