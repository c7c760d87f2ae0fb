//! The lake's snapshot parts read row group by row group, as [`RowSlices`].
//!
//! A row group is the unit a Parquet reader decodes; reading by row group keeps a pass
//! over 100M snapshots within a slice's memory, where slicing a lazy scan decoded far
//! more than each slice (10 slices of a 10M-row part cost 10 full decodes).

use std::fs::File;
use std::path::PathBuf;

use polars::prelude::*;
use tagpulse_model::RowSlices;

/// Part files, oldest first (the order that decides which duplicate is newest).
pub(crate) struct PartSlices {
    pub parts: Vec<PathBuf>,
}

impl RowSlices for PartSlices {
    fn slices<'a>(
        &'a self,
        columns: &'a [&'a str],
    ) -> Box<dyn Iterator<Item = PolarsResult<DataFrame>> + 'a> {
        Box::new(self.parts.iter().flat_map(move |path| {
            let named = move |e: PolarsError| polars_err!(ComputeError: "{}: {e}", path.display());
            let open = move || File::open(path).map_err(|e| named(e.into()));
            let metadata = open().and_then(|f| {
                let mut reader = ParquetReader::new(f);
                reader.get_metadata().cloned().map_err(named)
            });
            let groups: Vec<PolarsResult<(usize, usize)>> = match metadata {
                Err(e) => vec![Err(e)],
                Ok(md) => {
                    let mut offset = 0;
                    md.row_groups
                        .iter()
                        .map(|g| {
                            let slice = (offset, g.num_rows());
                            offset += g.num_rows();
                            Ok(slice)
                        })
                        .collect()
                }
            };
            groups.into_iter().map(move |slice| {
                let cols = columns.iter().map(|c| c.to_string()).collect();
                ParquetReader::new(open()?)
                    .with_columns(Some(cols))
                    .with_slice(Some(slice?))
                    .finish()
                    .and_then(super::files::naive)
                    .map_err(named)
            })
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_read_in_order_row_group_by_row_group() {
        let dir = tempfile::tempdir().unwrap();
        let mut parts = Vec::new();
        for (i, values) in [(0u64..2500).collect::<Vec<_>>(), vec![7, 8]]
            .iter()
            .enumerate()
        {
            let path = dir.path().join(format!("part-{i}.parquet"));
            let mut df = df!("value" => values, "other" => values).unwrap();
            ParquetWriter::new(File::create(&path).unwrap())
                .with_row_group_size(Some(1000))
                .finish(&mut df)
                .unwrap();
            parts.push(path);
        }
        let slices = PartSlices { parts };
        let frames: Vec<DataFrame> = slices.slices(&["value"]).map(|d| d.unwrap()).collect();
        // The writer balances 2500 rows into two groups of 1250; then the second part.
        let heights: Vec<usize> = frames.iter().map(DataFrame::height).collect();
        assert_eq!(heights, [1250, 1250, 2]);
        assert!(frames.iter().all(|f| f.width() == 1));
        let all: Vec<u64> = frames
            .iter()
            .flat_map(|f| {
                f.column("value")
                    .unwrap()
                    .u64()
                    .unwrap()
                    .into_no_null_iter()
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut want: Vec<u64> = (0..2500).collect();
        want.extend([7, 8]);
        assert_eq!(all, want);
    }

    #[test]
    fn a_damaged_part_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("part-1.parquet");
        std::fs::write(&bad, b"not parquet").unwrap();
        let slices = PartSlices {
            parts: vec![bad.clone()],
        };
        let err = slices
            .slices(&["value"])
            .next()
            .unwrap()
            .unwrap_err()
            .to_string();
        assert!(err.contains(&bad.display().to_string()), "{err}");
    }
}
