//! Observations as sources produce them and as the store keeps them.
//!
//! Two kinds, never mixed (`docs/metrics.md`): counter snapshots and daily counts. A
//! source yields them in an [`ObservationBatch`]; the store adds the source id and the
//! ingestion time and keeps, per identity, the row ingested last ([`dedup_latest`]).

use chrono::{DateTime, NaiveDate, Utc};
use polars::prelude::*;

use crate::Tag;

/// A cumulative counter read at one moment (e.g. TikTok tag views).
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Platform, e.g. `tiktok`.
    pub platform: String,
    /// The tag.
    pub tag: Tag,
    /// Metric, e.g. `views`.
    pub metric: String,
    /// When it was read (UTC, whole seconds).
    pub observed_at: DateTime<Utc>,
    /// The counter's value.
    pub value: u64,
}

/// A count for one UTC day (e.g. Mastodon tag uses per day).
#[derive(Debug, Clone, PartialEq)]
pub struct DailyCount {
    /// Platform, e.g. `mastodon`.
    pub platform: String,
    /// The tag.
    pub tag: Tag,
    /// Metric, e.g. `uses`.
    pub metric: String,
    /// The UTC day counted.
    pub day: NaiveDate,
    /// The day's count.
    pub value: u64,
}

/// Counter snapshots of one series in columns: the shape file imports produce, where a
/// [`Snapshot`] per line (three owned strings, ~190 bytes) made a 10M-line import need
/// gigabytes; here a snapshot costs 16 bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotSeries {
    /// Platform, e.g. `tiktok`.
    pub platform: String,
    /// The tag.
    pub tag: Tag,
    /// Metric, e.g. `views`.
    pub metric: String,
    /// When each value was read: UTC epoch seconds.
    pub observed_at: Vec<i64>,
    /// The counter's values, one per time.
    pub value: Vec<u64>,
}

impl SnapshotSeries {
    /// An empty series.
    pub fn new(platform: &str, tag: Tag, metric: &str) -> Self {
        SnapshotSeries {
            platform: platform.to_string(),
            tag,
            metric: metric.to_string(),
            observed_at: Vec::new(),
            value: Vec::new(),
        }
    }

    /// Number of snapshots.
    pub fn len(&self) -> usize {
        self.value.len()
    }

    /// True when it holds no snapshot.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }

    /// Keeps the snapshots whose time (epoch seconds) passes `keep`.
    pub fn retain_times(&mut self, keep: impl Fn(i64) -> bool) {
        let mut kept = 0;
        for i in 0..self.len() {
            if keep(self.observed_at[i]) {
                self.observed_at[kept] = self.observed_at[i];
                self.value[kept] = self.value[i];
                kept += 1;
            }
        }
        self.observed_at.truncate(kept);
        self.value.truncate(kept);
    }

    /// The snapshots as rows.
    pub fn rows(&self) -> impl Iterator<Item = Snapshot> + '_ {
        self.observed_at
            .iter()
            .zip(&self.value)
            .map(|(t, v)| Snapshot {
                platform: self.platform.clone(),
                tag: self.tag.clone(),
                metric: self.metric.clone(),
                observed_at: DateTime::from_timestamp(*t, 0).unwrap_or_default(),
                value: *v,
            })
    }
}

/// Observations from one source, ready to append to a store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservationBatch {
    /// Id of the source that produced them (stored with each row).
    pub source: String,
    /// Counter snapshots, one row each (what HTTP sources yield).
    pub snapshots: Vec<Snapshot>,
    /// Counter snapshots by series, in columns (what file imports yield).
    pub series: Vec<SnapshotSeries>,
    /// Daily counts.
    pub daily: Vec<DailyCount>,
}

/// Why `t` cannot be an observation's time, as the end of a sentence: before 1970-01-01
/// (ClickHouse cannot hold it either) or more than 24 hours after `now` (a clock or a
/// typo, not data); `None` when it can.
pub fn implausible_time(t: DateTime<Utc>, now: DateTime<Utc>) -> Option<&'static str> {
    if t.timestamp() < 0 {
        Some("is before 1970-01-01")
    } else if t > now + chrono::Duration::hours(24) {
        Some("is more than 24 hours in the future")
    } else {
        None
    }
}

impl ObservationBatch {
    /// An empty batch for `source`.
    pub fn new(source: impl Into<String>) -> Self {
        ObservationBatch {
            source: source.into(),
            ..Default::default()
        }
    }

    /// Drops observations before 1970 or more than 24 hours after `now` (a platform's
    /// clock or a parse gone wrong, never data) and returns how many went.
    pub fn retain_plausible(&mut self, now: DateTime<Utc>) -> usize {
        let before = self.len();
        let ok = |t: DateTime<Utc>| implausible_time(t, now).is_none();
        self.retain_snapshot_times(ok);
        self.daily
            .retain(|d| ok(d.day.and_time(Default::default()).and_utc()));
        before - self.len()
    }

    /// Keeps the counter snapshots, rows and series alike, whose time passes `keep`;
    /// a series left empty is dropped.
    pub fn retain_snapshot_times(&mut self, keep: impl Fn(DateTime<Utc>) -> bool) {
        self.snapshots.retain(|s| keep(s.observed_at));
        for s in &mut self.series {
            s.retain_times(|t| DateTime::from_timestamp(t, 0).is_some_and(&keep));
        }
        self.series.retain(|s| !s.is_empty());
    }

    /// Number of observations of both kinds.
    pub fn len(&self) -> usize {
        self.snapshot_count() + self.daily.len()
    }

    /// True when there is nothing to store.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of counter snapshots, rows and series together.
    pub fn snapshot_count(&self) -> usize {
        self.snapshots.len() + self.series.iter().map(SnapshotSeries::len).sum::<usize>()
    }

    /// Every counter snapshot as a row, series included (for display; stores read the
    /// series in columns).
    pub fn all_snapshots(&self) -> impl Iterator<Item = Snapshot> + '_ {
        self.snapshots
            .iter()
            .cloned()
            .chain(self.series.iter().flat_map(SnapshotSeries::rows))
    }

    /// Appends `other`'s rows.
    pub fn extend(&mut self, other: ObservationBatch) {
        self.snapshots.extend(other.snapshots);
        self.series.extend(other.series);
        self.daily.extend(other.daily);
    }
}

/// Identity of a counter snapshot.
pub const SNAPSHOT_IDENTITY: [&str; 4] = ["platform", "tag", "metric", "observed_at"];
/// Identity of a daily count.
pub const DAILY_IDENTITY: [&str; 4] = ["platform", "tag", "metric", "day"];

/// Keeps, per identity, the row ingested last (the spec's "last ingested wins").
pub fn dedup_latest(lf: LazyFrame, identity: &[&str]) -> LazyFrame {
    lf.sort(
        ["ingested_at"],
        SortMultipleOptions::default().with_maintain_order(true),
    )
    .unique_stable(
        Some(by_name(identity.iter().copied(), true, false)),
        UniqueKeepStrategy::Last,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implausible_times_are_dropped_and_counted() {
        let now: chrono::DateTime<chrono::Utc> = "2026-11-22T12:00:00Z".parse().unwrap();
        let snap = |t: &str| Snapshot {
            platform: "tiktok".into(),
            tag: Tag::parse("azubi").unwrap(),
            metric: "views".into(),
            observed_at: t.parse().unwrap(),
            value: 1,
        };
        let mut b = ObservationBatch::new("x");
        b.snapshots = vec![
            snap("2026-11-22T11:00:00Z"),
            snap("2026-11-23T11:59:59Z"),
            snap("2026-11-23T12:00:01Z"),
            snap("2099-06-01T00:00:00Z"),
            snap("1969-12-31T23:59:59Z"),
        ];
        b.daily = vec![DailyCount {
            platform: "mastodon".into(),
            tag: Tag::parse("azubi").unwrap(),
            metric: "uses".into(),
            day: chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
            value: 1,
        }];
        let series = |times: &[&str]| {
            let mut s = SnapshotSeries::new("tiktok", Tag::parse("koch").unwrap(), "views");
            for t in times {
                s.observed_at
                    .push(t.parse::<DateTime<Utc>>().unwrap().timestamp());
                s.value.push(s.value.len() as u64);
            }
            s
        };
        b.series = vec![
            series(&[
                "2026-11-20T00:00:00Z",
                "2099-01-01T00:00:00Z",
                "2026-11-21T00:00:00Z",
            ]),
            series(&["2099-01-01T00:00:00Z"]),
        ];
        assert_eq!(b.retain_plausible(now), 6);
        assert_eq!(b.snapshots.len(), 2);
        assert!(b.daily.is_empty());
        // The implausible middle snapshot goes with its value; an emptied series goes.
        assert_eq!(b.series.len(), 1);
        assert_eq!(b.series[0].value, [0, 2]);
    }
}
