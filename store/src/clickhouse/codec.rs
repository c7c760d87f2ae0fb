//! RowBinary for any table `tagpulse-model` defines, straight from and to polars frames.
//!
//! The weekly tables travel this way (`INSERT ... FORMAT RowBinary`, `fetch_bytes`), so a
//! new weekly column needs no row struct: its definition is its encoding. RowBinary is
//! the binary format ClickHouse 18.16 and current servers share: little-endian numbers,
//! strings as LEB128 length + bytes, `Date` as u16 days, `DateTime` as u32 seconds,
//! `Array(T)` as LEB128 length + elements, `Nullable(T)` as one flag byte (1 = null)
//! before a present value. The per-week snapshot summary comes back the same way
//! ([`tagpulse_model::frames::SNAPSHOT_WEEKS`]).

use polars::prelude::*;
use tagpulse_model::{ColumnType, TableDef};

/// One column's values, decoded or about to be encoded.
enum Values {
    Text(Vec<Option<String>>),
    Int(Vec<Option<i64>>),
    U64(Vec<Option<u64>>),
    F64(Vec<Option<f64>>),
    Bool(Vec<Option<bool>>),
    /// Lists of counts, flat, with each row's end in `ends`.
    Lists {
        flat: Vec<u32>,
        ends: Vec<usize>,
    },
}

fn bad(table: &TableDef, message: String) -> PolarsError {
    polars_err!(ComputeError: "{}: {message}", table.name)
}

/// Seconds per unit of a time column's physical value.
fn per_second(ty: ColumnType) -> i64 {
    match ty {
        ColumnType::TimeMs => 1_000,
        _ => 1_000_000,
    }
}

/// Encodes `df` (checked against `table`) as RowBinary rows in the table's column order.
pub fn encode(table: &TableDef, df: &DataFrame) -> PolarsResult<Vec<u8>> {
    table
        .check(df)
        .map_err(|e| polars_err!(SchemaMismatch: "{e}"))?;
    let mut cols = Vec::with_capacity(table.columns.len());
    for def in table.columns {
        let s = df.column(def.name)?.as_materialized_series();
        cols.push(match def.ty {
            ColumnType::Text => {
                Values::Text(s.str()?.iter().map(|v| v.map(str::to_string)).collect())
            }
            ColumnType::Date => Values::Int(
                s.date()?
                    .physical()
                    .iter()
                    .map(|v| v.map(i64::from))
                    .collect(),
            ),
            ColumnType::TimeMs | ColumnType::TimeUs => {
                let per = per_second(def.ty);
                Values::Int(
                    s.datetime()?
                        .physical()
                        .iter()
                        .map(|v| v.map(|v| v.div_euclid(per)))
                        .collect(),
                )
            }
            ColumnType::U64 => Values::U64(s.u64()?.iter().collect()),
            ColumnType::U32 => Values::U64(s.u32()?.iter().map(|v| v.map(u64::from)).collect()),
            ColumnType::I64 => Values::Int(s.i64()?.iter().collect()),
            ColumnType::F64 => Values::F64(s.f64()?.iter().collect()),
            ColumnType::Bool => Values::Bool(s.bool()?.iter().collect()),
            ColumnType::U32List => {
                let (mut flat, mut ends) = (Vec::new(), Vec::new());
                for l in s.list()?.amortized_iter() {
                    if let Some(l) = l {
                        flat.extend(l.as_ref().u32()?.iter().map(Option::unwrap_or_default));
                    }
                    ends.push(flat.len());
                }
                Values::Lists { flat, ends }
            }
        });
    }
    let mut out = Vec::with_capacity(df.height() * table.columns.len() * 9);
    for row in 0..df.height() {
        for (def, values) in table.columns.iter().zip(&cols) {
            let present = match values {
                Values::Text(v) => v[row].is_some(),
                Values::Int(v) => v[row].is_some(),
                Values::U64(v) => v[row].is_some(),
                Values::F64(v) => v[row].is_some(),
                Values::Bool(v) => v[row].is_some(),
                Values::Lists { .. } => true,
            };
            if def.nullable {
                out.push(u8::from(!present));
                if !present {
                    continue;
                }
            }
            match (def.ty, values) {
                (_, Values::Text(v)) => {
                    let s = v[row].as_deref().unwrap_or_default();
                    leb128(&mut out, s.len() as u64);
                    out.extend_from_slice(s.as_bytes());
                }
                (ColumnType::Date, Values::Int(v)) => {
                    let d = v[row].unwrap_or_default();
                    let d = u16::try_from(d).map_err(|_| {
                        bad(
                            table,
                            format!("{}: day {d} is outside ClickHouse's Date", def.name),
                        )
                    })?;
                    out.extend_from_slice(&d.to_le_bytes());
                }
                (ColumnType::I64, Values::Int(v)) => {
                    out.extend_from_slice(&v[row].unwrap_or_default().to_le_bytes())
                }
                (_, Values::Int(v)) => {
                    let secs = v[row].unwrap_or_default();
                    let secs = u32::try_from(secs).map_err(|_| {
                        bad(table, format!("{}: {secs} s since 1970 is outside ClickHouse's DateTime range (1970..2106)", def.name))
                    })?;
                    out.extend_from_slice(&secs.to_le_bytes());
                }
                (ColumnType::U32, Values::U64(v)) => {
                    out.extend_from_slice(&(v[row].unwrap_or_default() as u32).to_le_bytes())
                }
                (_, Values::U64(v)) => {
                    out.extend_from_slice(&v[row].unwrap_or_default().to_le_bytes())
                }
                (_, Values::F64(v)) => {
                    out.extend_from_slice(&v[row].unwrap_or_default().to_le_bytes())
                }
                (_, Values::Bool(v)) => out.push(u8::from(v[row].unwrap_or_default())),
                (_, Values::Lists { flat, ends }) => {
                    let start = if row == 0 { 0 } else { ends[row - 1] };
                    let items = &flat[start..ends[row]];
                    leb128(&mut out, items.len() as u64);
                    for c in items {
                        out.extend_from_slice(&c.to_le_bytes());
                    }
                }
            }
        }
    }
    Ok(out)
}

fn leb128(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A cursor over RowBinary bytes that names the table when the data runs short.
struct Reader<'a> {
    table: &'a TableDef,
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> PolarsResult<&[u8]> {
        let end = self.pos + n;
        if end > self.bytes.len() {
            return Err(bad(
                self.table,
                format!("RowBinary ends inside a row (at byte {})", self.pos),
            ));
        }
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> PolarsResult<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("length checked"))
    }

    fn leb128(&mut self) -> PolarsResult<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.take(1)?[0];
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(bad(self.table, "bad string length".into()))
    }
}

/// Decodes RowBinary rows of `table` (all its columns, in order) into a frame with the
/// table's polars schema.
pub fn decode(table: &TableDef, bytes: &[u8]) -> PolarsResult<DataFrame> {
    let mut cols: Vec<Values> = table
        .columns
        .iter()
        .map(|c| match c.ty {
            ColumnType::Text => Values::Text(Vec::new()),
            ColumnType::Date | ColumnType::TimeMs | ColumnType::TimeUs | ColumnType::I64 => {
                Values::Int(Vec::new())
            }
            ColumnType::U64 | ColumnType::U32 => Values::U64(Vec::new()),
            ColumnType::F64 => Values::F64(Vec::new()),
            ColumnType::Bool => Values::Bool(Vec::new()),
            ColumnType::U32List => Values::Lists {
                flat: Vec::new(),
                ends: Vec::new(),
            },
        })
        .collect();
    let mut r = Reader {
        table,
        bytes,
        pos: 0,
    };
    while r.pos < bytes.len() {
        for (def, values) in table.columns.iter().zip(cols.iter_mut()) {
            let null = def.nullable && r.take(1)?[0] != 0;
            match values {
                Values::Text(v) => v.push(if null {
                    None
                } else {
                    let n = r.leb128()? as usize;
                    let raw = r.take(n)?;
                    Some(
                        String::from_utf8(raw.to_vec())
                            .map_err(|_| bad(table, format!("{}: text is not UTF-8", def.name)))?,
                    )
                }),
                Values::Int(v) => v.push(if null {
                    None
                } else if def.ty == ColumnType::Date {
                    Some(i64::from(u16::from_le_bytes(r.array()?)))
                } else if def.ty == ColumnType::I64 {
                    Some(i64::from_le_bytes(r.array()?))
                } else {
                    Some(i64::from(u32::from_le_bytes(r.array()?)) * per_second(def.ty))
                }),
                Values::U64(v) => v.push(if null {
                    None
                } else if def.ty == ColumnType::U32 {
                    Some(u64::from(u32::from_le_bytes(r.array()?)))
                } else {
                    Some(u64::from_le_bytes(r.array()?))
                }),
                Values::F64(v) => v.push(if null {
                    None
                } else {
                    Some(f64::from_le_bytes(r.array()?))
                }),
                Values::Bool(v) => v.push(if null { None } else { Some(r.take(1)?[0] != 0) }),
                Values::Lists { flat, ends } => {
                    let n = r.leb128()? as usize;
                    flat.reserve(n);
                    for _ in 0..n {
                        flat.push(u32::from_le_bytes(r.array()?));
                    }
                    ends.push(flat.len());
                }
            }
        }
    }
    let columns = table
        .columns
        .iter()
        .zip(cols)
        .map(|(def, values)| {
            let name = def.name.into();
            let col = match values {
                Values::Text(v) => Column::new(name, v),
                Values::Int(v) => Column::new(name, v),
                Values::U64(v) => Column::new(name, v),
                Values::F64(v) => Column::new(name, v),
                Values::Bool(v) => Column::new(name, v),
                Values::Lists { flat, ends } => {
                    let rows = ends.iter().scan(0, |start, &end| {
                        let row = &flat[*start..end];
                        *start = end;
                        Some(row)
                    });
                    let rows: Vec<&[u32]> = rows.collect();
                    tagpulse_model::steps::steps_column(def.name, rows.into_iter())
                }
            };
            col.cast(&def.ty.polars())
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new_infer_height(columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tagpulse_model::tables::{WEEKLY_OCCUPATION_METRICS, WEEKLY_TAG_METRICS};

    fn occupation_frame() -> DataFrame {
        df!(
            "platform" => ["tiktok", "tiktok"],
            "occupation" => ["Nursing", "Care \"O'Brien\" ü ; DROP"],
            "metric" => ["views", "views"],
            "week_start" => [20_000i32, 20_007],
            "total_end" => [Some(1.5), None],
            "gained" => [Some(0.1 + 0.2), None],
            "tags_reporting" => [3u32, 0],
            "tags_total" => [5u32, u32::MAX],
            "share" => [Some(1.0 / 3.0), None],
            "resolution" => [Some(1e7), None],
            "wow_growth" => [None, Some(-0.25)],
            "total_growth" => [Some(f64::MIN_POSITIVE), None],
            "avg4" => [None::<f64>, None],
            "momentum" => [Some(2.0), None],
            "z" => [Some(3.5), None],
            "z_median" => [Some(11.5), None],
            "breakout" => [true, false],
        )
        .unwrap()
        .lazy()
        .with_column(col("week_start").cast(DataType::Date))
        .collect()
        .unwrap()
    }

    #[test]
    fn weekly_rows_round_trip_with_nulls() {
        let df = occupation_frame();
        let bytes = encode(&WEEKLY_OCCUPATION_METRICS, &df).unwrap();
        let back = decode(&WEEKLY_OCCUPATION_METRICS, &bytes).unwrap();
        assert!(back.equals_missing(&df), "{back}\n{df}");
    }

    #[test]
    fn encoding_is_the_rowbinary_layout() {
        let df = occupation_frame().head(Some(1));
        let bytes = encode(&WEEKLY_OCCUPATION_METRICS, &df).unwrap();
        // "tiktok": length 6 + bytes; then "Nursing" and "views".
        assert_eq!(&bytes[..7], b"\x06tiktok");
        let after_strings = 7 + 8 + 6;
        // Date 20000 as u16 LE, then Nullable(Float64) 1.5: flag 0 + 8 bytes.
        assert_eq!(
            &bytes[after_strings..after_strings + 2],
            &20_000u16.to_le_bytes()
        );
        assert_eq!(bytes[after_strings + 2], 0);
        assert_eq!(
            &bytes[after_strings + 3..after_strings + 11],
            &1.5f64.to_le_bytes()
        );
        // The row ends with breakout = 1 as UInt8.
        assert_eq!(*bytes.last().unwrap(), 1);
    }

    #[test]
    fn a_frame_off_its_schema_or_bytes_cut_short_are_errors() {
        let df = occupation_frame();
        let err = encode(&WEEKLY_TAG_METRICS, &df).unwrap_err().to_string();
        assert!(err.contains("weekly_tag_metrics: columns are"), "{err}");
        let bytes = encode(&WEEKLY_OCCUPATION_METRICS, &df).unwrap();
        let err = decode(&WEEKLY_OCCUPATION_METRICS, &bytes[..bytes.len() - 1])
            .unwrap_err()
            .to_string();
        assert!(err.contains("RowBinary ends inside a row"), "{err}");
        let long = "a".repeat(300);
        let mut out = Vec::new();
        leb128(&mut out, long.len() as u64);
        assert_eq!(out, [0xac, 0x02]);
    }
}
