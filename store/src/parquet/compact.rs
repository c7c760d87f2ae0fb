//! Compaction: a kind's parts merged into one deduplicated part in bounded memory, so
//! 100M snapshots compact in the memory of a few million.
//!
//! Identities never cross series, so rows are spread by tag over buckets of about
//! [`BUCKET_ROWS`] rows (temp files in a `.tmp-compact-…` folder, part order kept, so
//! the row ingested last still comes last), then each bucket is deduplicated on its own
//! and written as the next row groups of the merged part. The merged part is renamed into
//! place before any old part is removed, so a kill at any moment leaves either the old
//! parts, or the merged part beside some of them (duplicates that reading resolves);
//! the next writer's sweep removes the temp folder.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use tagpulse_model::observation::{DAILY_IDENTITY, SNAPSHOT_IDENTITY};
use tagpulse_model::tables::{TableDef, DAILY_COUNTS, SNAPSHOTS};
use tagpulse_model::{dedup_latest, RowSlices};

use super::files::{write_atomic_frames, writer};
use super::slices::PartSlices;
use super::ParquetStore;
use crate::{polars_err, StoreError};

/// Rows per bucket: what one dedup holds in memory at a time.
pub(crate) const BUCKET_ROWS: usize = 2_000_000;

/// What a compaction of one kind did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Compacted {
    /// Parts merged (0: there were too few to compact).
    pub parts: usize,
    /// Rows in those parts, duplicates included.
    pub rows_before: usize,
    /// Rows in the merged part: each identity once.
    pub rows_after: usize,
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.display().to_string();
    move |source| StoreError::Io { what, path, source }
}

/// A stable bucket for a tag (FNV-1a): the same tag lands in one bucket on every pass.
fn bucket_of(tag: &str, buckets: usize) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in tag.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h % buckets as u64) as u32
}

/// Rows in `path` by its footer.
pub(crate) fn rows_in(path: &Path) -> Result<usize, StoreError> {
    let file = File::open(path).map_err(io("cannot open", path))?;
    ParquetReader::new(file)
        .num_rows()
        .map_err(|e| StoreError::Corrupt {
            path: path.display().to_string(),
            message: e.to_string(),
        })
}

impl ParquetStore {
    /// Merges the part files of `kind` (`snapshots` or `daily`) into one when there are
    /// more than `above` (and at least two); see the module docs for how it stays bounded
    /// and safe to kill. Rows keep their `ingested_at`.
    pub fn compact(&self, kind: &str, above: usize) -> Result<Compacted, StoreError> {
        self.compact_in_buckets(kind, above, BUCKET_ROWS)
    }

    pub(crate) fn compact_in_buckets(
        &self,
        kind: &str,
        above: usize,
        bucket_rows: usize,
    ) -> Result<Compacted, StoreError> {
        let parts = self.parts(kind)?;
        if parts.len() <= above.max(1) {
            return Ok(Compacted::default());
        }
        let (def, identity): (&TableDef, &[&str]) = match kind {
            "snapshots" => (&SNAPSHOTS, &SNAPSHOT_IDENTITY),
            _ => (&DAILY_COUNTS, &DAILY_IDENTITY),
        };
        let schema = def.schema();
        let rows_before = parts.iter().map(|p| rows_in(p)).sum::<Result<usize, _>>()?;
        let buckets = rows_before.div_ceil(bucket_rows.max(1)).max(1);
        let dir = self.kind_dir(kind);
        let staging = dir.join(format!(
            ".tmp-compact-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_micros()
        ));
        // A small kind is one bucket: its parts, read as they are.
        let groups: Vec<Vec<PathBuf>> = if buckets == 1 {
            vec![parts.clone()]
        } else {
            let spread = spread(&parts, &staging, &schema, buckets);
            if spread.is_err() {
                let _ = std::fs::remove_dir_all(&staging);
            }
            spread?.into_iter().map(|b| vec![b]).collect()
        };
        // Named after the newest part it replaces, so it sorts where that part did.
        let newest = parts
            .last()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str());
        let name = newest
            .map(|n| n.replace(".parquet", "-compacted.parquet"))
            .expect("at least two parts");
        let names: Vec<&str> = schema.iter_names().map(|n| n.as_str()).collect();
        let frames = groups.into_iter().map(|group| -> PolarsResult<DataFrame> {
            let mut all = DataFrame::empty_with_schema(&schema);
            for slice in (PartSlices { parts: group }).slices(&names) {
                all.vstack_mut_owned(slice?)?;
            }
            dedup_latest(all.lazy(), identity).collect()
        });
        let written = write_atomic_frames(&dir, &name, def, frames);
        let _ = std::fs::remove_dir_all(&staging);
        let rows_after = written?;
        for p in &parts {
            if p.file_name().and_then(|n| n.to_str()) != Some(name.as_str()) {
                std::fs::remove_file(p).map_err(io("cannot remove compacted part", p))?;
            }
        }
        tracing::info!(
            kind,
            parts = parts.len(),
            rows_before,
            rows_after,
            "compacted the lake"
        );
        Ok(Compacted {
            parts: parts.len(),
            rows_before,
            rows_after,
        })
    }
}

/// Pass 1: every row of `parts`, row group by row group, into the bucket file of its
/// tag under `staging`; returns the bucket files.
fn spread(
    parts: &[PathBuf],
    staging: &Path,
    schema: &Schema,
    buckets: usize,
) -> Result<Vec<PathBuf>, StoreError> {
    std::fs::create_dir_all(staging).map_err(io("cannot create", staging))?;
    let paths: Vec<PathBuf> = (0..buckets)
        .map(|b| staging.join(format!("bucket-{b:05}.parquet")))
        .collect();
    let mut writers = paths
        .iter()
        .map(|p| {
            let file = File::create(p).map_err(io("cannot create", p))?;
            writer(file)
                .batched(schema)
                .map_err(polars_err(format!("cannot write {}", p.display())))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let names: Vec<&str> = schema.iter_names().map(|n| n.as_str()).collect();
    let slices = PartSlices {
        parts: parts.to_vec(),
    };
    for slice in slices.slices(&names) {
        let slice = slice.map_err(polars_err("cannot read a part to compact"))?;
        let tags = slice
            .column("tag")
            .and_then(|c| c.str().cloned())
            .map_err(polars_err("cannot read tags to compact"))?;
        let of: Vec<u32> = tags
            .iter()
            .map(|t| bucket_of(t.unwrap_or(""), buckets))
            .collect();
        for (b, w) in writers.iter_mut().enumerate() {
            let mask: BooleanChunked = of.iter().map(|x| *x == b as u32).collect();
            let mut part = slice
                .filter(&mask)
                .map_err(polars_err("cannot split a part to compact"))?;
            if part.height() > 0 {
                part.align_chunks_par();
                w.write_batch(&part)
                    .map_err(polars_err("cannot write a compaction bucket"))?;
            }
        }
    }
    for (w, p) in writers.into_iter().zip(&paths) {
        w.finish()
            .map_err(polars_err(format!("cannot write {}", p.display())))?;
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use tagpulse_model::{ObservationBatch, Snapshot, Tag};

    use super::*;
    use crate::Store;

    /// Rows of `tags` at hours `hours`, each value `base + hour`.
    fn batch(tags: &[&str], hours: std::ops::Range<i64>, base: u64) -> ObservationBatch {
        let mut b = ObservationBatch::new("test");
        for tag in tags {
            for h in hours.clone() {
                b.snapshots.push(Snapshot {
                    platform: "tiktok".into(),
                    tag: Tag::parse(tag).unwrap(),
                    metric: "views".into(),
                    observed_at: DateTime::from_timestamp(1_767_571_200 + h * 3600, 0).unwrap(),
                    value: base + h as u64,
                });
            }
        }
        b
    }

    /// The deduplicated snapshots as sorted (tag, observed_at, value) triples.
    async fn contents(store: &ParquetStore) -> Vec<(String, i64, u64)> {
        let df = store.scan_snapshots().await.unwrap().collect().unwrap();
        let tags = df.column("tag").unwrap().str().unwrap().clone();
        let at = df
            .column("observed_at")
            .unwrap()
            .cast(&DataType::Int64)
            .unwrap();
        let at = at.i64().unwrap();
        let value = df.column("value").unwrap().u64().unwrap();
        let mut out: Vec<(String, i64, u64)> = (0..df.height())
            .map(|i| {
                (
                    tags.get(i).unwrap().to_string(),
                    at.get(i).unwrap(),
                    value.get(i).unwrap(),
                )
            })
            .collect();
        out.sort();
        out
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn buckets_merge_what_one_pass_merges_and_the_latest_row_wins() {
        let tags = ["azubi", "pflege", "nurse", "koch", "stagiair", "lovemyjob"];
        let mut lakes = Vec::new();
        for bucket_rows in [usize::MAX, 50] {
            let dir = tempfile::tempdir().unwrap();
            let store = ParquetStore::open(dir.path()).unwrap();
            // Three appends overlapping by 10 hours; each re-sends with new values.
            for (i, start) in [0i64, 30, 60].into_iter().enumerate() {
                store
                    .append(&batch(&tags, start..start + 40, 1000 * i as u64))
                    .await
                    .unwrap();
            }
            let before = contents(&store).await;
            let done = store
                .compact_in_buckets("snapshots", 1, bucket_rows)
                .unwrap();
            assert_eq!(done.parts, 3);
            assert_eq!(done.rows_before, 6 * 120);
            assert_eq!(done.rows_after, 6 * 100);
            assert_eq!(store.parts("snapshots").unwrap().len(), 1);
            let after = contents(&store).await;
            assert_eq!(after, before, "compaction changes no identity or value");
            // Hour 35 was sent by the first and the second append: the second wins.
            let h35 = after
                .iter()
                .find(|(t, at, _)| t == "azubi" && *at == (1_767_571_200 + 35 * 3600) * 1000)
                .unwrap();
            assert_eq!(h35.2, 1000 + 35);
            let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("observations/snapshots"))
                .unwrap()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
                .collect();
            assert!(leftovers.is_empty(), "the buckets are gone");
            lakes.push(after);
            // One part: nothing to do.
            assert_eq!(store.compact("snapshots", 1).unwrap().parts, 0);
        }
        assert_eq!(lakes[0], lakes[1]);
    }
}
