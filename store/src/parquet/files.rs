//! Single Parquet files of one table, written through `tagpulse_io::write_atomic` and read
//! whole, in the layout the README documents: a column the table declares non-null is
//! `REQUIRED`, times are `timestamp[ms|us, tz=UTC]`, zstd (level 1), row groups of up to a
//! million rows, string columns dictionary-encoded and 64-bit numbers delta-encoded.
//! polars' own writer marks every column optional, so the lake writes through the
//! `polars-parquet` writer underneath it with its own schema.
//!
//! Reading takes any lake, this layout or the one before it (every column optional, times
//! without a zone): [`naive`] and [`naive_exprs`] give the frames the model's types.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use polars::prelude::*;
use polars_arrow::array::{Array, DictionaryArray, PrimitiveArray, Utf8ViewArray};
use polars_arrow::datatypes::{ArrowDataType, IntegerType};
use polars_arrow::record_batch::RecordBatchT;
use polars_parquet::write::{
    array_to_columns, compress, fallible_streaming_iterator, schema_to_metadata_key,
    to_parquet_schema, CompressedPage, CompressionOptions, DynIter, DynStreamingIterator, Encoding,
    FileWriter, ParquetType, StatisticsOptions, Version, WriteOptions, ZstdLevel,
};
use rayon::prelude::*;
use tagpulse_io::Access;
use tagpulse_model::tables::TableDef;

use crate::{polars_err, StoreError};

/// Rows per row group: the unit a reader decodes at a time.
pub(crate) const ROW_GROUP_ROWS: usize = 1 << 20;

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.display().to_string();
    move |source| StoreError::Io { what, path, source }
}

/// polars' writer with the lake's one setting, zstd: for temp files only (compaction's
/// buckets), which no reader outside tagpulse sees.
pub(crate) fn writer<W: std::io::Write>(w: W) -> ParquetWriter<W> {
    ParquetWriter::new(w).with_compression(ParquetCompression::Zstd(None))
}

/// A naive time type as stored: the same unit, in UTC.
fn on_disk(dtype: &DataType) -> DataType {
    match dtype {
        DataType::Datetime(unit, None) => DataType::Datetime(*unit, Some(TimeZone::UTC)),
        other => other.clone(),
    }
}

/// `df` (with `def`'s columns) as stored: its time columns marked UTC (the values are
/// UTC already), in `def`'s column order.
fn for_disk(def: &TableDef, df: &DataFrame) -> PolarsResult<DataFrame> {
    let mut cols = Vec::with_capacity(def.columns.len());
    for c in def.columns {
        let col = df.column(c.name)?;
        if !c.nullable && col.null_count() > 0 {
            polars_bail!(ComputeError: "{}.{} holds {} null(s) but is declared non-null", def.name, c.name, col.null_count());
        }
        cols.push(match col.dtype() {
            DataType::Datetime(_, None) => {
                let mut ca = col.datetime()?.clone();
                ca.set_time_zone(TimeZone::UTC)?;
                ca.into_series().into_column()
            }
            _ => col.clone(),
        });
    }
    DataFrame::new(df.height(), cols)
}

/// What a table file is written from, piece after piece.
pub(crate) enum Piece {
    /// Rows with the table's columns (in any order, times naive).
    Frame(DataFrame),
    /// Rows already in the disk schema ([`disk_schema`]'s types, its column order), of at
    /// most a row group: how an import's series arrive, never built as a frame.
    Batch(RecordBatchT<ArrayRef>),
}

/// The Arrow schema of `def`'s files: UTC times, non-null where `def` says so.
pub(crate) fn disk_schema(def: &TableDef) -> ArrowSchema {
    def.columns
        .iter()
        .map(|c| {
            let mut field =
                on_disk(&c.ty.polars()).to_arrow_field(c.name.into(), CompatLevel::newest());
            field.is_nullable = c.nullable;
            (field.name.clone(), field)
        })
        .collect()
}

/// One Parquet file of a table in the lake's layout, written a row group at a time.
struct TableWriter<W: Write> {
    file: FileWriter<W>,
    def: &'static TableDef,
    schema: ArrowSchema,
    fields: Vec<ParquetType>,
    encodings: Vec<Vec<Encoding>>,
    options: WriteOptions,
    rows: usize,
}

impl<W: Write> TableWriter<W> {
    fn new(w: W, def: &'static TableDef) -> PolarsResult<Self> {
        let schema = disk_schema(def);
        let options = WriteOptions {
            statistics: StatisticsOptions::default(),
            version: Version::V1,
            // Level 1, not the default 3: at 10M snapshots an import 0.3 s faster, the
            // files a third larger (6 bytes a snapshot).
            compression: CompressionOptions::Zstd(Some(ZstdLevel::try_new(1)?)),
            data_page_size: None,
        };
        let encodings = get_encodings(&schema)
            .iter()
            .zip(schema.iter_values())
            .map(|(default, field)| encoding(field, default))
            .collect();
        let fields = to_parquet_schema(&schema)?.fields().to_vec();
        Ok(TableWriter {
            file: FileWriter::try_new(w, schema.clone(), options)?,
            def,
            schema,
            fields,
            encodings,
            options,
            rows: 0,
        })
    }

    fn write(&mut self, piece: Piece) -> PolarsResult<()> {
        match piece {
            Piece::Batch(batch) => {
                let height = batch.len();
                let (schema, arrays) = batch.into_schema_and_arrays();
                for (offset, n) in row_groups(height, ROW_GROUP_ROWS) {
                    let part = arrays.iter().map(|a| a.sliced(offset, n)).collect();
                    self.write_batch(RecordBatchT::new(n, schema.clone(), part))?;
                }
                Ok(())
            }
            Piece::Frame(df) => {
                let df = for_disk(self.def, &df)?;
                let mut offset = 0;
                while offset < df.height() {
                    let mut part = df.slice(offset as i64, ROW_GROUP_ROWS);
                    offset += part.height();
                    part.rechunk_mut_par();
                    for batch in part.iter_chunks(CompatLevel::newest(), false) {
                        self.write_batch(with_run_dictionaries(batch))?;
                    }
                }
                Ok(())
            }
        }
    }

    /// Writes `batch` as one row group, its columns encoded and compressed in parallel
    /// (the writer's own iterator does them one after another, on one core).
    fn write_batch(&mut self, batch: RecordBatchT<ArrayRef>) -> PolarsResult<()> {
        let height = batch.len();
        if height == 0 {
            return Ok(());
        }
        let options = self.options;
        let columns: Vec<Vec<Vec<CompressedPage>>> = batch
            .arrays()
            .par_iter()
            .zip(&self.fields)
            .zip(&self.encodings)
            .map(|((array, ty), enc)| {
                array_to_columns(array, ty.clone(), options, enc)?
                    .into_iter()
                    .map(|pages| {
                        pages
                            .map(|page| Ok(compress(page?, vec![], options.compression)?))
                            .collect::<PolarsResult<Vec<_>>>()
                    })
                    .collect::<PolarsResult<Vec<_>>>()
            })
            .collect::<PolarsResult<_>>()?;
        let group = DynIter::new(columns.iter().flatten().map(|pages| {
            Ok(DynStreamingIterator::new(
                fallible_streaming_iterator::convert(pages.iter().map(PolarsResult::Ok)),
            ))
        }));
        self.file.write(height as u64, group)?;
        self.rows += height;
        Ok(())
    }

    /// Writes the footer; returns the rows written.
    fn finish(mut self) -> PolarsResult<usize> {
        // The schema readers see: plain strings, whatever encoding the pages use.
        self.file
            .end(Some(vec![schema_to_metadata_key(&self.schema)]))?;
        Ok(self.rows)
    }
}

/// `(offset, rows)` of the row groups `height` rows are cut into: as few as hold at most
/// `max` rows each, of even size (a long series is not left with a small tail group).
fn row_groups(height: usize, max: usize) -> impl Iterator<Item = (usize, usize)> {
    let size = height.div_ceil(height.div_ceil(max).max(1)).max(1);
    (0..height)
        .step_by(size)
        .map(move |offset| (offset, size.min(height - offset)))
}

/// Writes `pieces` of a table of `def` to `w` as one Parquet file in the lake's layout;
/// returns the rows written. The first error stops it.
fn write_table<W: Write>(
    w: W,
    def: &'static TableDef,
    pieces: impl Iterator<Item = Result<Piece, StoreError>>,
) -> Result<usize, StoreError> {
    let polars = |e| polars_err(format!("cannot write {}", def.name))(e);
    let mut writer =
        TableWriter::new(std::io::BufWriter::with_capacity(1 << 20, w), def).map_err(polars)?;
    for piece in pieces {
        writer.write(piece?).map_err(polars)?;
    }
    writer.finish().map_err(polars)
}

/// Each column's encoding: polars' choice, except `DELTA_BINARY_PACKED` for 64-bit
/// integers and times. Counters and sampling times grow in small steps, so deltas pack
/// tightly, and the writer's default tried a dictionary first, hashing every value of a
/// column of mostly distinct numbers (a tenth of an import's CPU at 10M snapshots).
fn encoding(field: &ArrowField, default: &[Encoding]) -> Vec<Encoding> {
    match field.dtype {
        ArrowDataType::Int64 | ArrowDataType::UInt64 | ArrowDataType::Timestamp(..) => {
            vec![Encoding::DeltaBinaryPacked]
        }
        _ => default.to_vec(),
    }
}

/// `batch` with each string column that repeats its values in runs (platform, tag, metric
/// and source hold one value per series) as a dictionary of those values. The writer
/// dictionary-encodes strings anyway, but by hashing every value: for 10M snapshots that
/// was a quarter of an import. Here a value equal to the one before costs one comparison,
/// and the file is the same (`RLE_DICTIONARY` pages of a string column). A column with
/// nulls or without long runs is left to the writer.
fn with_run_dictionaries(batch: RecordBatchT<ArrayRef>) -> RecordBatchT<ArrayRef> {
    let (schema, arrays) = batch.into_schema_and_arrays();
    let height = arrays.first().map_or(0, |a| a.len());
    let arrays = arrays
        .into_iter()
        .map(
            |array| match array.as_any().downcast_ref::<Utf8ViewArray>() {
                Some(strings) => run_dictionary(strings).map_or(array, |d| d.boxed()),
                None => array,
            },
        )
        .collect();
    RecordBatchT::new(height, schema, arrays)
}

/// `strings` as a dictionary array, when it has no nulls and at most one distinct value
/// per 16 rows.
fn run_dictionary(strings: &Utf8ViewArray) -> Option<DictionaryArray<u32>> {
    if strings.null_count() > 0 || strings.is_empty() {
        return None;
    }
    let mut runs: Vec<(&str, usize)> = Vec::new();
    let limit = strings.len() / 16;
    for value in strings.values_iter() {
        match runs.last_mut() {
            Some((last, n)) if *last == value => *n += 1,
            _ => {
                if runs.len() > limit {
                    return None;
                }
                runs.push((value, 1));
            }
        }
    }
    Some(dictionary_from_runs(runs, strings.len()))
}

/// A string column of `rows` rows given as runs of one value (`(value, length)`), as a
/// dictionary of its distinct values: no string is built per row.
pub(crate) fn dictionary_from_runs<'a>(
    runs: impl IntoIterator<Item = (&'a str, usize)>,
    rows: usize,
) -> DictionaryArray<u32> {
    let mut index: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
    let mut values: Vec<&str> = Vec::new();
    let mut keys = Vec::with_capacity(rows);
    for (value, n) in runs {
        let key = *index.entry(value).or_insert_with(|| {
            values.push(value);
            (values.len() - 1) as u32
        });
        keys.extend(std::iter::repeat_n(key, n));
    }
    let dtype = ArrowDataType::Dictionary(
        IntegerType::UInt32,
        Box::new(ArrowDataType::Utf8View),
        false,
    );
    let values = Utf8ViewArray::from_slice_values(values).boxed();
    DictionaryArray::try_new(dtype, PrimitiveArray::from_vec(keys), values)
        .expect("every key indexes the values")
}

/// Writes `df` (a table of `def`) to `path`, unsynced: for files inside a staging folder
/// that is synced and published whole (see `generation::publish`).
pub(crate) fn write_parquet(
    path: &Path,
    def: &'static TableDef,
    df: &DataFrame,
) -> Result<File, StoreError> {
    let mut file = File::create(path).map_err(io("cannot create", path))?;
    write_table(
        &mut file,
        def,
        std::iter::once(Ok(Piece::Frame(df.clone()))),
    )?;
    Ok(file)
}

/// Writes `df` (a table of `def`) to `dir/name` through a synced temp file and a rename.
pub(crate) fn write_atomic(
    dir: &Path,
    name: &str,
    def: &'static TableDef,
    df: &DataFrame,
) -> Result<(), StoreError> {
    write_atomic_frames(dir, name, def, std::iter::once(Ok(df.clone()))).map(drop)
}

/// Writes `frames` (each a part of a table of `def`) as one file `dir/name`, frame after
/// frame, the same way as [`write_atomic`]; returns the rows written.
pub(crate) fn write_atomic_frames(
    dir: &Path,
    name: &str,
    def: &'static TableDef,
    frames: impl Iterator<Item = PolarsResult<DataFrame>>,
) -> Result<usize, StoreError> {
    let what = format!("cannot write {}", def.name);
    let pieces = frames.map(|f| f.map(Piece::Frame).map_err(polars_err(what.clone())));
    write_atomic_pieces(dir, name, def, pieces)
}

/// Writes `pieces` of a table of `def` as one file `dir/name`, the same way as
/// [`write_atomic`]: when one is an error, no file, and that error.
pub(crate) fn write_atomic_pieces(
    dir: &Path,
    name: &str,
    def: &'static TableDef,
    pieces: impl Iterator<Item = Result<Piece, StoreError>>,
) -> Result<usize, StoreError> {
    let mut rows = 0;
    // The write callback can only fail with an io::Error: the StoreError waits here.
    let mut failed = None;
    let written = tagpulse_io::write_atomic(&dir.join(name), Access::Shared, |file| {
        match write_table(file, def, pieces) {
            Ok(n) => rows = n,
            Err(e) => {
                let message = e.to_string();
                failed = Some(e);
                return Err(std::io::Error::other(message));
            }
        }
        Ok(())
    });
    match (written, failed) {
        (Ok(()), _) => Ok(rows),
        (Err(_), Some(e)) => Err(e),
        (Err(e), None) => Err(e.into()),
    }
}

/// `df` with every time column naive (UTC by convention), as the model types them: files
/// written with a zone (this layout) or without (lakes before it) read the same.
pub(crate) fn naive(mut df: DataFrame) -> PolarsResult<DataFrame> {
    let zoned: Vec<(PlSmallStr, TimeUnit)> = df
        .columns()
        .iter()
        .filter_map(|c| match c.dtype() {
            DataType::Datetime(unit, Some(_)) => Some((c.name().clone(), *unit)),
            _ => None,
        })
        .collect();
    for (name, unit) in zoned {
        let physical = df.column(&name)?.to_physical_repr();
        df.with_column(physical.cast(&DataType::Datetime(unit, None))?)?;
    }
    Ok(df)
}

/// The expressions that make a scan of `def`'s table naive in time, as [`naive`] does.
pub(crate) fn naive_exprs(def: &TableDef) -> Vec<Expr> {
    def.columns
        .iter()
        .filter_map(|c| match c.ty.polars() {
            dtype @ DataType::Datetime(_, None) => {
                Some(col(c.name).cast(DataType::Int64).cast(dtype).alias(c.name))
            }
            _ => None,
        })
        .collect()
}

pub(crate) fn read_parquet(path: &Path) -> Result<DataFrame, StoreError> {
    let file = File::open(path).map_err(|source| StoreError::Io {
        what: "cannot open",
        path: path.display().to_string(),
        source,
    })?;
    ParquetReader::new(file)
        .finish()
        .and_then(naive)
        .map_err(polars_err(format!("cannot read {}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tagpulse_model::tables::{RUN_SOURCES, SNAPSHOTS};
    use tagpulse_model::{ObservationBatch, SnapshotSeries, Tag};

    /// `tags` series of `rows` snapshots each, as the stored snapshot frame.
    fn snapshots(tags: usize, rows: usize) -> DataFrame {
        let mut batch = ObservationBatch::new("import");
        for i in 0..tags {
            let tag = Tag::parse(&format!("tag{i:03}longer_than_twelve")).unwrap();
            let mut s = SnapshotSeries::new("tiktok", tag, "views");
            s.observed_at = (0..rows as i64).map(|t| 1_700_000_000 + t * 3600).collect();
            s.value = (0..rows as u64).map(|v| v * 1000).collect();
            batch.series.push(s);
        }
        crate::parquet::frames::snapshots_frame(&batch, 1_700_000_000_000_000).unwrap()
    }

    #[test]
    fn string_runs_are_written_as_dictionaries_and_read_back_as_strings() {
        let dir = tempfile::tempdir().unwrap();
        // Runs of 50 (dictionaries built here) and one row per tag (left to the writer).
        for (tags, rows) in [(40, 50), (200, 1)] {
            let df = snapshots(tags, rows);
            write_atomic(dir.path(), "p.parquet", &SNAPSHOTS, &df).unwrap();
            let back = read_parquet(&dir.path().join("p.parquet")).unwrap();
            assert_eq!(back.column("tag").unwrap().dtype(), &DataType::String);
            assert!(back.equals(&df), "{tags} x {rows}:\n{back}\n{df}");
            let mut file = File::open(dir.path().join("p.parquet")).unwrap();
            let meta = polars_parquet::read::read_metadata(&mut file).unwrap();
            let tag = &meta.row_groups[0].parquet_columns()[1];
            assert_eq!(tag.descriptor().path_in_schema[0].as_str(), "tag");
            if rows > 1 {
                assert!(tag.dictionary_page_offset().is_some(), "a dictionary page");
            }
        }
        assert!(run_dictionary(&Utf8ViewArray::from_slice_values(["a", "b", "c"])).is_none());
        let runs: Vec<&str> = ["a"; 40].into_iter().chain(["b"; 40]).collect();
        let runs = Utf8ViewArray::from_slice_values(runs);
        let dict = run_dictionary(&runs).unwrap();
        assert_eq!(dict.values().len(), 2);
        assert_eq!(dict.keys().value(39), 0);
        assert_eq!(dict.keys().value(40), 1);
    }

    #[test]
    fn row_groups_are_even_and_at_most_the_limit() {
        let groups = |h| row_groups(h, 10).collect::<Vec<_>>();
        assert_eq!(groups(0), []);
        assert_eq!(groups(7), [(0, 7)]);
        assert_eq!(groups(10), [(0, 10)]);
        assert_eq!(groups(11), [(0, 6), (6, 5)]);
        assert_eq!(groups(25), [(0, 9), (9, 9), (18, 7)]);
    }

    #[test]
    fn a_failed_write_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        // The destination is a non-empty directory: the final rename fails.
        std::fs::create_dir_all(dir.path().join("part.parquet/x")).unwrap();
        let df = RUN_SOURCES.empty_frame();
        let e = write_atomic(dir.path(), "part.parquet", &RUN_SOURCES, &df).unwrap_err();
        assert!(e.to_string().starts_with("cannot rename into"), "{e}");
        assert!(e.to_string().contains("part.parquet"), "{e}");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["part.parquet"]);
    }
}
