//! The embedded Parquet lake (the default store: no server).
//!
//! Layout under `data_dir`:
//! ```text
//! observations/snapshots/part-<µs>-<pid>-<n>.parquet   one file per append, never rewritten
//! observations/daily/part-<µs>-<pid>-<n>.parquet
//! weekly -> .generations/weekly-<id>                   one generation of the weekly tables:
//!   weekly_tag_metrics.parquet                         all four replaced together by each
//!   weekly_occupation_metrics.parquet                  transform (see `generation`)
//!   weekly_brand_metrics.parquet
//!   occupation_tags.parquet                            the taxonomy the weekly tables used
//! ```
//! Every part file is written under a `.tmp-` name, synced and renamed into place, so a
//! crash leaves either the old state or the new one, never a torn file; readers skip
//! `.tmp-`. The weekly tables are one generation published by one symlink switch. Parts
//! are merged by `compact` (after an append past [`COMPACT_ABOVE`] parts, and by
//! `tagpulse compact`), in bounded memory.

mod compact;
mod files;
pub(crate) mod frames;
mod slices;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use chrono::Utc;
use polars::prelude::*;
use slices::PartSlices;
use tagpulse_model::observation::{DAILY_IDENTITY, SNAPSHOT_IDENTITY};
use tagpulse_model::tables::{TableDef, DAILY_COUNTS, SNAPSHOTS, WEEKLY_TABLES};
use tagpulse_model::{dedup_latest, ObservationBatch, RowSlices, WeeklyTables};

use crate::generation;
use crate::{polars_err, AppendStats, Store, StoreError};
pub use compact::Compacted;
use files::write_atomic_pieces;
pub(crate) use files::{read_parquet, write_atomic, write_parquet};
use frames::snapshot_pieces;
pub use frames::{daily_frame, snapshots_frame};

/// Runs `f` over `items` produced on a thread of their own, one item ahead: the producer
/// (an import parsing its next files) works while `f` (the writer) does.
fn read_ahead<T: Send, R>(
    items: impl Iterator<Item = T> + Send,
    f: impl FnOnce(&mut dyn Iterator<Item = T>) -> R,
) -> R {
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        scope.spawn(move || {
            for item in items {
                // The consumer stopped (an error): so does the producer.
                if tx.send(item).is_err() {
                    break;
                }
            }
        });
        f(&mut rx.into_iter())
    })
}

/// The link (under `data_dir`) to the current generation of the weekly tables.
pub const WEEKLY_DIR: &str = "weekly";

/// File name of a weekly table inside a generation.
pub fn weekly_file(table: &TableDef) -> String {
    format!("{}.parquet", table.name)
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// Part files of one kind above which an append compacts them into one.
pub const COMPACT_ABOVE: usize = 32;

/// The Parquet lake rooted at a data directory.
#[derive(Debug, Clone)]
pub struct ParquetStore {
    root: PathBuf,
}

impl ParquetStore {
    /// Opens the lake at `root`.
    ///
    /// Creates nothing: a lake that was never written reads as empty, and its folders
    /// appear with its first write (a read-only command such as `status` leaves no trace).
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        Ok(ParquetStore {
            root: root.to_path_buf(),
        })
    }

    /// The lake's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of `kind`'s part files (`snapshots` or `daily`).
    pub(crate) fn kind_dir(&self, kind: &str) -> PathBuf {
        self.root.join("observations").join(kind)
    }

    /// Part files of `kind` (`snapshots` or `daily`), oldest first.
    pub(crate) fn parts(&self, kind: &str) -> Result<Vec<PathBuf>, StoreError> {
        let dir = self.kind_dir(kind);
        let io = |source| StoreError::Io {
            what: "cannot list",
            path: dir.display().to_string(),
            source,
        };
        let mut parts = Vec::new();
        let entries = match std::fs::read_dir(&dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(parts),
            other => other.map_err(io)?,
        };
        for entry in entries {
            let path = entry.map_err(io)?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with("part-") && name.ends_with(".parquet") {
                parts.push(path);
            }
        }
        parts.sort();
        Ok(parts)
    }

    fn scan(&self, kind: &str, def: &TableDef, identity: &[&str]) -> Result<LazyFrame, StoreError> {
        let parts = self.parts(kind)?;
        if parts.is_empty() {
            return Ok(def.empty_frame().lazy());
        }
        let scans = parts
            .iter()
            .map(|p| {
                // Read the footer now, so a damaged part is named here rather than
                // failing anonymously deep inside a later query.
                let mut reader =
                    ParquetReader::new(File::open(p).map_err(|source| StoreError::Io {
                        what: "cannot open",
                        path: p.display().to_string(),
                        source,
                    })?);
                reader.schema().map_err(|e| StoreError::Corrupt {
                    path: p.display().to_string(),
                    message: e.to_string(),
                })?;
                LazyFrame::scan_parquet(
                    PlRefPath::new(p.display().to_string()),
                    ScanArgsParquet::default(),
                )
                .map(|lf| lf.with_columns(files::naive_exprs(def)))
                .map_err(polars_err(format!("cannot scan {}", p.display())))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let all =
            concat(scans, UnionArgs::default()).map_err(polars_err("cannot combine parts"))?;
        Ok(dedup_latest(all, identity))
    }

    /// Stores frames that already have the stored schema (keeping their `ingested_at`),
    /// one part per non-empty frame; used by `append` and to move data between stores.
    pub fn append_frames(
        &self,
        snapshots: &mut DataFrame,
        daily: &mut DataFrame,
    ) -> Result<AppendStats, StoreError> {
        let now = Utc::now().timestamp_micros();
        for (kind, def, df) in [
            ("snapshots", &SNAPSHOTS, &*snapshots),
            ("daily", &DAILY_COUNTS, &*daily),
        ] {
            if df.height() > 0 {
                write_atomic(
                    &self.root.join("observations").join(kind),
                    &Self::new_part_name(now),
                    def,
                    df,
                )?;
            }
        }
        for kind in ["snapshots", "daily"] {
            self.compact(kind, COMPACT_ABOVE)?;
        }
        Ok(AppendStats {
            snapshots: snapshots.height(),
            daily: daily.height(),
        })
    }

    /// `batch`'s daily counts that the lake does not hold yet with the same value. Sources
    /// re-send the last days at every fetch (Mastodon a week, X and Bluesky theirs); storing
    /// only what is new or changed keeps the lake lean and `rows written` honest. The lake
    /// is read for the batch's days only.
    fn new_daily(&self, batch: &ObservationBatch) -> Result<ObservationBatch, StoreError> {
        let mut fresh = ObservationBatch::new(batch.source.clone());
        let (Some(first), Some(last)) = (
            batch.daily.iter().map(|d| d.day).min(),
            batch.daily.iter().map(|d| d.day).max(),
        ) else {
            return Ok(fresh);
        };
        let stored = self
            .scan("daily", &DAILY_COUNTS, &DAILY_IDENTITY)?
            .filter(
                col("day")
                    .gt_eq(lit(first))
                    .and(col("day").lt_eq(lit(last))),
            )
            .select([
                col("platform"),
                col("tag"),
                col("metric"),
                col("day"),
                col("value"),
            ])
            .collect()
            .map_err(polars_err("cannot read the stored daily counts"))?;
        let text = |name: &str| -> Result<StringChunked, StoreError> {
            stored
                .column(name)
                .and_then(|c| c.str().cloned())
                .map_err(polars_err("cannot read the stored daily counts"))
        };
        let (platform, tag, metric) = (text("platform")?, text("tag")?, text("metric")?);
        let day = stored
            .column("day")
            .and_then(|c| c.cast(&DataType::Int32))
            .map_err(polars_err("cannot read the stored daily counts"))?;
        let day = day
            .i32()
            .map_err(polars_err("cannot read the stored daily counts"))?;
        let value = stored
            .column("value")
            .and_then(|c| c.u64().cloned())
            .map_err(polars_err("cannot read the stored daily counts"))?;
        let mut held = std::collections::HashMap::with_capacity(stored.height());
        for i in 0..stored.height() {
            if let (Some(p), Some(t), Some(m), Some(d), Some(v)) = (
                platform.get(i),
                tag.get(i),
                metric.get(i),
                day.get(i),
                value.get(i),
            ) {
                held.insert((p, t, m, d), v);
            }
        }
        fresh.daily = batch
            .daily
            .iter()
            .filter(|d| {
                let key = (
                    d.platform.as_str(),
                    d.tag.as_str(),
                    d.metric.as_str(),
                    tagpulse_model::days_from_date(d.day),
                );
                held.get(&key) != Some(&d.value)
            })
            .cloned()
            .collect();
        Ok(fresh)
    }

    /// Stores `batch`'s new daily counts after `snapshots` snapshots were stored.
    fn append_daily(
        &self,
        batch: &ObservationBatch,
        now: i64,
        snapshots: usize,
    ) -> Result<AppendStats, StoreError> {
        let fresh = self.new_daily(batch)?;
        let mut daily =
            daily_frame(&fresh, now).map_err(polars_err("cannot build daily counts"))?;
        let stats = self.append_frames(&mut SNAPSHOTS.empty_frame(), &mut daily)?;
        Ok(AppendStats { snapshots, ..stats })
    }

    fn new_part_name(now_us: i64) -> String {
        format!(
            "part-{now_us:017}-{}-{}.parquet",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        )
    }
}

#[async_trait]
impl Store for ParquetStore {
    fn describe(&self) -> String {
        format!("parquet lake at {}", self.root.display())
    }

    async fn append(&self, batch: &ObservationBatch) -> Result<AppendStats, StoreError> {
        let now = Utc::now().timestamp_micros();
        // Snapshots go to their part a row group at a time, so a big batch is never held
        // a second time in another shape.
        let mut snapshots = 0;
        if batch.snapshot_count() > 0 {
            snapshots = write_atomic_pieces(
                &self.root.join("observations/snapshots"),
                &Self::new_part_name(now),
                &SNAPSHOTS,
                snapshot_pieces(batch, now),
            )?;
        }
        self.append_daily(batch, now, snapshots)
    }

    async fn append_all(&self, batches: crate::Batches<'_>) -> Result<AppendStats, StoreError> {
        let now = Utc::now().timestamp_micros();
        // Daily counts are few: they wait here and are stored after the snapshots.
        let mut daily = ObservationBatch::default();
        let mut keep_daily = |b: &mut ObservationBatch| {
            daily.source.clone_from(&b.source);
            daily.daily.append(&mut b.daily);
        };
        // The next batch is parsed while this one is encoded: both cores stay busy.
        let snapshots = read_ahead(batches, |batches| {
            let mut first = None;
            for b in &mut *batches {
                let mut b = b?;
                keep_daily(&mut b);
                if b.snapshot_count() > 0 {
                    first = Some(b);
                    break;
                }
            }
            let Some(first) = first else {
                return Ok(0);
            };
            let pieces = std::iter::once(Ok(first))
                .chain(batches)
                .flat_map(|b| match b {
                    Ok(mut b) => {
                        keep_daily(&mut b);
                        snapshot_pieces(&b, now).collect::<Vec<_>>()
                    }
                    Err(e) => vec![Err(e)],
                });
            write_atomic_pieces(
                &self.root.join("observations/snapshots"),
                &Self::new_part_name(now),
                &SNAPSHOTS,
                pieces,
            )
        })?;
        self.append_daily(&daily, now, snapshots)
    }

    async fn compact(&self) -> Result<Vec<crate::Compaction>, StoreError> {
        let mut out = Vec::new();
        for (kind, table) in [("snapshots", SNAPSHOTS.name), ("daily", DAILY_COUNTS.name)] {
            let done = self.compact(kind, 1)?;
            let rows = if done.parts > 0 {
                (done.rows_before as u64, done.rows_after as u64)
            } else {
                let parts = self.parts(kind)?;
                let n = parts
                    .iter()
                    .map(|p| compact::rows_in(p))
                    .sum::<Result<usize, _>>()? as u64;
                (n, n)
            };
            out.push(crate::Compaction {
                table,
                parts: Some(done.parts),
                rows_before: rows.0,
                rows_after: rows.1,
            });
        }
        Ok(out)
    }

    async fn scan_snapshots(&self) -> Result<LazyFrame, StoreError> {
        self.scan("snapshots", &SNAPSHOTS, &SNAPSHOT_IDENTITY)
    }

    async fn snapshot_slices(&self) -> Result<Box<dyn RowSlices>, StoreError> {
        Ok(Box::new(PartSlices {
            parts: self.parts("snapshots")?,
        }))
    }

    async fn scan_daily(&self) -> Result<LazyFrame, StoreError> {
        self.scan("daily", &DAILY_COUNTS, &DAILY_IDENTITY)
    }

    async fn write_weekly(&self, tables: &WeeklyTables) -> Result<(), StoreError> {
        tables.check().map_err(StoreError::Schema)?;
        // Plain writes: `publish` syncs the staged files and switches them in as one.
        generation::publish(&self.root, WEEKLY_DIR, |dir| {
            for (def, df) in tables.frames() {
                write_parquet(&dir.join(weekly_file(def)), def, df)?;
            }
            Ok::<(), StoreError>(())
        })?;
        // Lakes written before generations kept the tables at the root: drop them now
        // that the link answers, so no reader finds two versions.
        for def in WEEKLY_TABLES {
            let legacy = self.root.join(weekly_file(def));
            if legacy.exists() {
                std::fs::remove_file(&legacy).map_err(|source| StoreError::Io {
                    what: "cannot remove the pre-generation table",
                    path: legacy.display().to_string(),
                    source,
                })?;
            }
        }
        Ok(())
    }

    async fn read_weekly(&self) -> Result<WeeklyTables, StoreError> {
        // Resolved once: the four files come from one generation even if a transform
        // publishes the next one meanwhile.
        let dir = match generation::resolve(&self.root, WEEKLY_DIR)? {
            Some(dir) => dir,
            // A lake from before generations: the tables sit at its root.
            None if self.root.join(weekly_file(WEEKLY_TABLES[0])).exists() => self.root.clone(),
            None => return Err(StoreError::NoWeeklyTables(self.root.display().to_string())),
        };
        let mut frames = Vec::with_capacity(WEEKLY_TABLES.len());
        for def in WEEKLY_TABLES {
            let path = dir.join(weekly_file(def));
            frames.push(if path.exists() {
                read_parquet(&path)?
            } else {
                // Lakes written before the taxonomy was stored have no file for it.
                def.empty_frame()
            });
        }
        let frames: [DataFrame; 4] = frames.try_into().expect("four weekly tables");
        Ok(WeeklyTables::from_frames(frames))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, NaiveDate};
    use tagpulse_model::{DailyCount, Snapshot, Tag};

    fn batch(values: &[(i64, u64)]) -> ObservationBatch {
        let mut b = ObservationBatch::new("test");
        for (t, v) in values {
            b.snapshots.push(Snapshot {
                platform: "tiktok".into(),
                tag: Tag::parse("azubi").unwrap(),
                metric: "views".into(),
                observed_at: DateTime::from_timestamp(*t, 0).unwrap(),
                value: *v,
            });
        }
        b
    }

    /// `rows` rows of `def`'s schema, every float column `v`, everything else zero-like.
    pub(crate) fn filled(def: &TableDef, rows: usize, v: f64) -> DataFrame {
        let cols = def
            .columns
            .iter()
            .map(|c| {
                let dtype = c.ty.polars();
                let col = match dtype {
                    DataType::Float64 => Column::new(c.name.into(), vec![v; rows]),
                    DataType::String => Column::new(c.name.into(), vec!["x"; rows]),
                    DataType::Boolean => Column::new(c.name.into(), vec![false; rows]),
                    DataType::Date => Column::new(c.name.into(), vec![20_000i32; rows]),
                    _ => Column::new(c.name.into(), vec![0i64; rows]),
                };
                col.cast(&dtype).unwrap()
            })
            .collect();
        DataFrame::new_infer_height(cols).unwrap()
    }

    fn values(df: &DataFrame) -> Vec<u64> {
        df.column("value")
            .unwrap()
            .u64()
            .unwrap()
            .iter()
            .map(|v| v.unwrap())
            .collect()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn appends_and_reads_back_deduplicated_last_wins() {
        let dir = tempfile::tempdir().unwrap();
        let store = ParquetStore::open(dir.path()).unwrap();
        assert_eq!(
            store
                .scan_snapshots()
                .await
                .unwrap()
                .collect()
                .unwrap()
                .height(),
            0
        );
        store.append(&batch(&[(1000, 5), (2000, 6)])).await.unwrap();
        store.append(&batch(&[(1000, 5), (2000, 6)])).await.unwrap();
        // A corrected value for t=2000 ingested later wins.
        store.append(&batch(&[(2000, 7), (3000, 8)])).await.unwrap();
        let df = store
            .scan_snapshots()
            .await
            .unwrap()
            .sort(["observed_at"], Default::default())
            .collect()
            .unwrap();
        assert_eq!(values(&df), [5, 7, 8]);
        assert_eq!(store.parts("snapshots").unwrap().len(), 3);
    }

    /// #koch's uses on Mastodon on 2026-11-`day`.
    fn koch_day(day: u32, value: u64) -> DailyCount {
        DailyCount {
            platform: "mastodon".into(),
            tag: Tag::parse("koch").unwrap(),
            metric: "uses".into(),
            day: NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
            value,
        }
    }

    /// One series of `tag`, a value per hour of `hours`.
    fn series(tag: &str, hours: std::ops::Range<i64>) -> ObservationBatch {
        let mut b = ObservationBatch::new("test");
        let mut s =
            tagpulse_model::SnapshotSeries::new("tiktok", Tag::parse(tag).unwrap(), "views");
        s.observed_at = hours.clone().map(|h| 1_700_000_000 + h * 3600).collect();
        s.value = hours.map(|h| 100 + h as u64).collect();
        b.series.push(s);
        b
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn append_all_stores_its_batches_as_one_part_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = ParquetStore::open(dir.path()).unwrap();
        // A failing batch after a good one: nothing stored, and that batch's error.
        let failing: crate::Batches = Box::new(
            vec![
                Ok(series("azubi", 0..3)),
                Err(StoreError::Source("bad.tsv:7: not a number".into())),
                Ok(series("koch", 0..3)),
            ]
            .into_iter(),
        );
        let e = store.append_all(failing).await.unwrap_err();
        assert!(matches!(e, StoreError::Source(_)), "{e:?}");
        assert_eq!(e.to_string(), "bad.tsv:7: not a number");
        assert!(store.parts("snapshots").unwrap().is_empty());
        let snapshots_dir = dir.path().join("observations/snapshots");
        let left = std::fs::read_dir(&snapshots_dir).map_or(0, |d| d.count());
        assert_eq!(left, 0, "no temp file left in {}", snapshots_dir.display());

        // Rows, series and a daily count over four batches (the first empty): one part.
        let mut rows = batch(&[(1_700_000_000, 5)]);
        rows.daily.push(koch_day(20, 42));
        let parts = [
            ObservationBatch::new("test"),
            rows,
            series("stagiair", 0..5),
            series("azubi", 10..12),
        ];
        let mut all = ObservationBatch::new("test");
        for p in parts.iter().cloned() {
            all.extend(p);
        }
        let stats = store
            .append_all(Box::new(parts.into_iter().map(Ok)))
            .await
            .unwrap();
        assert_eq!(
            stats,
            AppendStats {
                snapshots: 8,
                daily: 1
            }
        );
        assert_eq!(store.parts("snapshots").unwrap().len(), 1);
        let key = ["tag", "observed_at"];
        let got = store
            .scan_snapshots()
            .await
            .unwrap()
            .drop(by_name(["ingested_at"], true, false))
            .sort(key, Default::default())
            .collect()
            .unwrap();
        let want = snapshots_frame(&all, 0)
            .unwrap()
            .lazy()
            .drop(by_name(["ingested_at"], true, false))
            .sort(key, Default::default())
            .collect()
            .unwrap();
        assert!(got.equals(&want), "{got}\n{want}");
        let daily = store.scan_daily().await.unwrap().collect().unwrap();
        assert_eq!(values(&daily), [42]);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn compaction_keeps_every_identity_and_the_latest_value() {
        let dir = tempfile::tempdir().unwrap();
        let store = ParquetStore::open(dir.path()).unwrap();
        store.append(&batch(&[(1000, 5), (2000, 6)])).await.unwrap();
        for k in 0..COMPACT_ABOVE as u64 {
            // Each run re-sends t=2000 with a newer value and adds one new point.
            store
                .append(&batch(&[(2000, 10 + k), (3000 + k as i64, k)]))
                .await
                .unwrap();
        }
        // 33 appends: the last one pushed the count over the threshold.
        assert_eq!(store.parts("snapshots").unwrap().len(), 1);
        let df = store
            .scan_snapshots()
            .await
            .unwrap()
            .sort(["observed_at"], Default::default())
            .collect()
            .unwrap();
        let v = values(&df);
        assert_eq!(df.height(), 2 + COMPACT_ABOVE);
        assert_eq!(v[0], 5);
        assert_eq!(
            v[1],
            10 + COMPACT_ABOVE as u64 - 1,
            "latest value of t=2000 wins"
        );
        // Later appends still win over compacted rows.
        store.append(&batch(&[(1000, 99)])).await.unwrap();
        let df = store
            .scan_snapshots()
            .await
            .unwrap()
            .sort(["observed_at"], Default::default())
            .collect()
            .unwrap();
        assert_eq!(values(&df)[0], 99);
        assert_eq!(store.compact("snapshots", COMPACT_ABOVE).unwrap().parts, 0);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_damaged_part_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let store = ParquetStore::open(dir.path()).unwrap();
        store.append(&batch(&[(1000, 5)])).await.unwrap();
        let bad = dir.path().join("observations/snapshots/part-9-9-9.parquet");
        std::fs::write(&bad, b"not parquet").unwrap();
        let Err(err) = store.scan_snapshots().await else {
            panic!("a damaged part must fail the scan");
        };
        let err = err.to_string();
        assert!(
            err.starts_with(&format!("{} is not a readable Parquet file", bad.display())),
            "{err}"
        );
        assert!(err.contains("move it out of the data directory"), "{err}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn leftover_temp_files_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let store = ParquetStore::open(dir.path()).unwrap();
        store.append(&batch(&[(1000, 5)])).await.unwrap();
        // A crash mid-write leaves a half file under a .tmp- name.
        std::fs::write(
            dir.path()
                .join("observations/snapshots/.tmp-part-1.parquet"),
            b"PAR1 torn",
        )
        .unwrap();
        let df = store.scan_snapshots().await.unwrap().collect().unwrap();
        assert_eq!(values(&df), [5]);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn daily_counts_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = ParquetStore::open(dir.path()).unwrap();
        let mut b = ObservationBatch::new("m");
        b.daily.push(koch_day(20, 42));
        let stats = store.append(&b).await.unwrap();
        assert_eq!(
            stats,
            AppendStats {
                snapshots: 0,
                daily: 1
            }
        );
        let df = store.scan_daily().await.unwrap().collect().unwrap();
        assert_eq!(values(&df), [42]);
        let day = df
            .column("day")
            .unwrap()
            .date()
            .unwrap()
            .physical()
            .get(0)
            .unwrap();
        assert_eq!(
            tagpulse_model::date_from_days(day),
            NaiveDate::from_ymd_opt(2026, 11, 20)
        );
        assert_eq!(
            df.column("source").unwrap().str().unwrap().get(0),
            Some("m")
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_resent_day_with_its_stored_value_is_not_stored_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = ParquetStore::open(dir.path()).unwrap();
        let week = |values: &[(u32, u64)]| {
            let mut b = ObservationBatch::new("m");
            for (day, value) in values {
                b.daily.push(koch_day(*day, *value));
            }
            b
        };
        let first: Vec<(u32, u64)> = (16..23).map(|d| (d, u64::from(d))).collect();
        assert_eq!(store.append(&week(&first)).await.unwrap().daily, 7);
        // A week later by one day: six days re-sent (one of them revised), one new.
        let mut next: Vec<(u32, u64)> = (17..24).map(|d| (d, u64::from(d))).collect();
        next[5].1 = 99;
        assert_eq!(store.append(&week(&next)).await.unwrap().daily, 2);
        assert_eq!(store.append(&week(&next)).await.unwrap().daily, 0);
        assert_eq!(
            store.parts("daily").unwrap().len(),
            2,
            "nothing new, no part"
        );
        let df = store
            .scan_daily()
            .await
            .unwrap()
            .sort(["day"], Default::default())
            .collect()
            .unwrap();
        assert_eq!(values(&df), [16, 17, 18, 19, 20, 21, 99, 23]);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn weekly_tables_replace_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let store = ParquetStore::open(dir.path()).unwrap();
        let err = store.read_weekly().await.unwrap_err().to_string();
        assert!(err.contains("run `tagpulse transform`"), "{err}");
        let t = |v: f64| {
            WeeklyTables::from_frames([
                filled(&tagpulse_model::tables::WEEKLY_TAG_METRICS, 1, v),
                filled(&tagpulse_model::tables::WEEKLY_OCCUPATION_METRICS, 2, v),
                filled(&tagpulse_model::tables::WEEKLY_BRAND_METRICS, 3, v),
                filled(&tagpulse_model::tables::OCCUPATION_TAGS, 1, v),
            ])
        };
        store.write_weekly(&t(1.0)).await.unwrap();
        store.write_weekly(&t(2.0)).await.unwrap();
        let back = store.read_weekly().await.unwrap();
        assert_eq!(
            back.tags.column("gained").unwrap().f64().unwrap().get(0),
            Some(2.0)
        );
        assert_eq!(back.occupations.height(), 2);
        assert_eq!(back.brands.height(), 3);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            .collect();
        assert!(leftovers.is_empty());
        // Stable paths any Parquet reader opens with no glue.
        let direct = read_parquet(&dir.path().join("weekly/weekly_brand_metrics.parquet")).unwrap();
        assert_eq!(direct.height(), 3);
        // A frame that does not match its definition is refused before anything is written.
        let mut bad = t(3.0);
        bad.tags = bad.tags.drop("z_median").unwrap();
        let err = store.write_weekly(&bad).await.unwrap_err().to_string();
        assert!(err.contains("weekly_tag_metrics: columns are"), "{err}");
        let back = store.read_weekly().await.unwrap();
        assert_eq!(
            back.tags.column("gained").unwrap().f64().unwrap().get(0),
            Some(2.0)
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_lake_from_before_generations_is_read_then_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let store = ParquetStore::open(dir.path()).unwrap();
        for (def, rows) in [
            (&tagpulse_model::tables::WEEKLY_TAG_METRICS, 4),
            (&tagpulse_model::tables::WEEKLY_OCCUPATION_METRICS, 1),
            (&tagpulse_model::tables::WEEKLY_BRAND_METRICS, 1),
        ] {
            write_atomic(dir.path(), &weekly_file(def), def, &filled(def, rows, 1.0)).unwrap();
        }
        let old = store.read_weekly().await.unwrap();
        assert_eq!(old.tags.height(), 4);
        assert_eq!(old.occupation_tags.height(), 0);
        store.write_weekly(&old).await.unwrap();
        assert!(!dir.path().join("weekly_tag_metrics.parquet").exists());
        assert_eq!(store.read_weekly().await.unwrap().tags.height(), 4);
    }
}
