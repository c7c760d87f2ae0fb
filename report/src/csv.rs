//! The spreadsheet files: `occupations.csv`, `tags.csv` and `brands.csv`, one row per
//! series of the week, grouped by platform and metric, largest gained first.
//!
//! Written for the reader's spreadsheet: headers in the report's language, each measure
//! rounded (whole counts, percentages to one decimal) and raw (every digit), the
//! language's decimal mark, and a delimiter that does not clash with it (`;` where the
//! decimal mark is a comma, unless `[report] csv_delimiter` says otherwise).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use tagpulse_config::iso_week_label;
use tagpulse_model::rows::{BrandRow, OccupationRow, Signals, TagRow};

use crate::i18n::{fill, CsvTexts, Language, Locale};
use crate::ReportError;

/// How a cell is written.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    /// Text as it is.
    Text(String),
    /// A count: rounded to a whole number, and raw.
    Count(Option<f64>),
    /// A ratio: as a percentage with one decimal, and raw.
    Ratio(Option<f64>),
    /// A z-score: one decimal, and raw.
    Score(Option<f64>),
    /// yes / no in the language.
    Flag(bool),
}

/// What a column holds, which decides its header: a measure gets a rounded and a raw
/// column, a ratio's rounded one in percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Measure,
    Percent,
}

/// A column of a file: its header (before the rounded / raw suffixes), the
/// weekly-table column it shows if any (checked against the tables in a test), and
/// how a row's cell is read.
pub(crate) struct Col<R> {
    head: fn(&CsvTexts) -> &'static str,
    // Read only by the test that ties the files' columns to the tables'.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) column: Option<&'static str>,
    kind: Kind,
    cell: Box<dyn Fn(&R) -> Cell>,
}

type Head = fn(&CsvTexts) -> &'static str;

fn text<R>(head: Head, cell: impl Fn(&R) -> String + 'static) -> Col<R> {
    Col {
        head,
        column: None,
        kind: Kind::Text,
        cell: Box::new(move |r| Cell::Text(cell(r))),
    }
}

fn flag<R>(
    head: Head,
    column: Option<&'static str>,
    cell: impl Fn(&R) -> bool + 'static,
) -> Col<R> {
    Col {
        head,
        column,
        kind: Kind::Text,
        cell: Box::new(move |r| Cell::Flag(cell(r))),
    }
}

fn whole<R>(head: Head, column: &'static str, cell: impl Fn(&R) -> u32 + 'static) -> Col<R> {
    Col {
        head,
        column: Some(column),
        kind: Kind::Text,
        cell: Box::new(move |r| Cell::Text(cell(r).to_string())),
    }
}

/// A measure's column: `wrap` makes its cell (`Cell::Count`, `Cell::Ratio` or
/// `Cell::Score`), which decides how it is rounded and headed.
fn measure<R>(
    head: Head,
    column: &'static str,
    wrap: fn(Option<f64>) -> Cell,
    cell: impl Fn(&R) -> Option<f64> + 'static,
) -> Col<R> {
    let kind = match wrap(None) {
        Cell::Ratio(_) => Kind::Percent,
        _ => Kind::Measure,
    };
    Col {
        head,
        column: Some(column),
        kind,
        cell: Box::new(move |r| wrap(cell(r))),
    }
}

fn count<R>(
    head: Head,
    column: &'static str,
    cell: impl Fn(&R) -> Option<f64> + 'static,
) -> Col<R> {
    measure(head, column, Cell::Count, cell)
}

fn score<R>(
    head: Head,
    column: &'static str,
    cell: impl Fn(&R) -> Option<f64> + 'static,
) -> Col<R> {
    measure(head, column, Cell::Score, cell)
}

fn ratio<R>(
    head: Head,
    column: &'static str,
    cell: impl Fn(&R) -> Option<f64> + 'static,
) -> Col<R> {
    measure(head, column, Cell::Ratio, cell)
}

/// The CSV style of one report: language, decimal mark, delimiter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CsvStyle {
    /// Headers, yes/no and the decimal mark.
    pub loc: Locale,
    /// The field delimiter.
    pub delimiter: u8,
}

impl CsvStyle {
    /// The style of `language`, with `delimiter` if configured, else `,` where the
    /// decimal mark is a point and `;` where it is a comma.
    pub(crate) fn new(language: Language, delimiter: Option<char>) -> Self {
        let default = match language {
            Language::En => b',',
            _ => b';',
        };
        CsvStyle {
            loc: Locale(language),
            delimiter: delimiter.map(|c| c as u8).unwrap_or(default),
        }
    }

    fn number(&self, x: f64, digits: Option<usize>) -> String {
        match digits {
            Some(d) => self.loc.decimal(x, d),
            None => self.loc.decimal_raw(x),
        }
    }

    /// A number with every digit and the language's decimal mark.
    pub(crate) fn raw(&self, x: f64) -> String {
        self.number(x, None)
    }

    /// The cell rounded (`raw = false`) or raw.
    fn write(&self, c: &Cell, raw: bool) -> String {
        let t = &self.loc.texts().csv;
        let num = |v: &Option<f64>, rounded: &dyn Fn(f64) -> String| {
            v.map(|x| {
                if raw {
                    self.number(x, None)
                } else {
                    rounded(x)
                }
            })
            .unwrap_or_default()
        };
        match c {
            Cell::Text(s) => s.clone(),
            Cell::Flag(b) => (if *b { t.yes } else { t.no }).to_string(),
            Cell::Count(v) => num(v, &|x| self.number(x, Some(0))),
            Cell::Ratio(v) => num(v, &|x| self.number(x * 100.0, Some(1))),
            Cell::Score(v) => num(v, &|x| self.number(x, Some(1))),
        }
    }

    /// The header cells of `cols`: a measure gets its rounded and its raw column.
    fn header<R>(&self, cols: &[Col<R>]) -> Vec<String> {
        let t = &self.loc.texts().csv;
        let mut out = Vec::new();
        for c in cols {
            let name = (c.head)(t);
            match c.kind {
                Kind::Text => out.push(name.to_string()),
                Kind::Measure => out.push(name.to_string()),
                Kind::Percent => out.push(fill(t.percent, &[("name", name)])),
            }
            if c.kind != Kind::Text {
                out.push(fill(t.raw, &[("name", name)]));
            }
        }
        out
    }

    /// One record of `r`.
    fn record<R>(&self, cols: &[Col<R>], r: &R) -> Vec<String> {
        let mut out = Vec::new();
        for c in cols {
            let cell = (c.cell)(r);
            out.push(self.write(&cell, false));
            if c.kind != Kind::Text {
                out.push(self.write(&cell, true));
            }
        }
        out
    }

    /// The file: header and one record per row, sorted by platform and metric, then
    /// largest gained first.
    fn file<R>(
        &self,
        name: &str,
        cols: &[Col<R>],
        rows: Vec<&R>,
        key: impl Fn(&R) -> (&str, &str, Option<f64>),
    ) -> Result<Vec<u8>, ReportError> {
        let err = |e: &dyn std::fmt::Display| ReportError::Input(format!("{name}: {e}"));
        let mut w = csv::WriterBuilder::new()
            .delimiter(self.delimiter)
            .from_writer(Vec::new());
        w.write_record(self.header(cols)).map_err(|e| err(&e))?;
        let mut rows = rows;
        rows.sort_by(|a, b| {
            let (ka, kb) = (key(a), key(b));
            (ka.0, ka.1).cmp(&(kb.0, kb.1)).then(
                kb.2.unwrap_or(f64::MIN)
                    .total_cmp(&ka.2.unwrap_or(f64::MIN)),
            )
        });
        for r in rows {
            w.write_record(self.record(cols, r)).map_err(|e| err(&e))?;
        }
        w.into_inner().map_err(|e| err(&e))
    }
}

/// The week, platform and metric columns every file opens with.
fn opening<R: 'static>(week: NaiveDate, series: fn(&R) -> (&str, &str)) -> Vec<Col<R>> {
    let label = iso_week_label(week);
    vec![
        text(|t| t.week, move |_| label.clone()),
        text(|t| t.week_start, move |_| week.to_string()),
        text(|t| t.platform, move |r| series(r).0.into()),
        text(|t| t.metric, move |r| series(r).1.into()),
    ]
}

/// The signal columns shared by tags and occupations, closing their files.
fn signal_cols<R: 'static>(s: fn(&R) -> Signals) -> Vec<Col<R>> {
    vec![
        count(|t| t.resolution, "resolution", move |r| s(r).resolution),
        ratio(|t| t.wow, "wow_growth", move |r| s(r).wow_growth),
        ratio(
            |t| t.total_growth,
            "total_growth",
            move |r| s(r).total_growth,
        ),
        count(|t| t.avg4, "avg4", move |r| s(r).avg4),
        ratio(|t| t.momentum, "momentum", move |r| s(r).momentum),
        score(|t| t.z, "z", move |r| s(r).z),
        flag(|t| t.breakout, Some("breakout"), move |r| s(r).breakout),
        flag(|t| t.within_rounding, None, move |r| s(r).within_rounding),
    ]
}

/// The columns of `occupations.csv`.
pub(crate) fn occupation_cols(week: NaiveDate) -> Vec<Col<OccupationRow>> {
    let mut cols = opening(week, |r: &OccupationRow| (&r.platform, &r.metric));
    cols.extend([
        text(|t| t.occupation, |r: &OccupationRow| r.occupation.clone()),
        count(|t| t.gained, "gained", |r: &OccupationRow| r.gained),
        count(|t| t.total, "total_end", |r: &OccupationRow| r.total_end),
        ratio(|t| t.share, "share", |r: &OccupationRow| r.share),
        whole(
            |t| t.tags_reporting,
            "tags_reporting",
            |r: &OccupationRow| r.tags_reporting,
        ),
        whole(
            |t| t.tags_total,
            "tags_total",
            |r: &OccupationRow| r.tags_total,
        ),
    ]);
    cols.extend(signal_cols(OccupationRow::signals));
    cols
}

/// The columns of `tags.csv`; `by_tag` names each tag's occupations.
pub(crate) fn tag_cols(
    week: NaiveDate,
    by_tag: BTreeMap<tagpulse_config::Tag, Vec<String>>,
) -> Vec<Col<TagRow>> {
    let mut cols = opening(week, |r: &TagRow| (&r.platform, &r.metric));
    cols.extend([
        text(|t| t.tag, |r: &TagRow| r.tag.clone()),
        text(
            |t| t.occupations,
            move |r: &TagRow| {
                tagpulse_config::Tag::parse(&r.tag)
                    .ok()
                    .and_then(|t| by_tag.get(&t).cloned())
                    .unwrap_or_default()
                    .join("; ")
            },
        ),
        count(|t| t.gained, "gained", |r: &TagRow| r.gained),
        count(|t| t.total, "total_end", |r: &TagRow| r.total_end),
        whole(
            |t| t.observations,
            "observations",
            |r: &TagRow| r.observations,
        ),
        whole(|t| t.decreases, "decreases", |r: &TagRow| r.decreases),
        ratio(|t| t.coverage, "coverage", |r: &TagRow| r.coverage),
    ]);
    cols.extend(signal_cols(TagRow::signals));
    cols
}

/// The columns of `brands.csv`.
pub(crate) fn brand_cols(week: NaiveDate) -> Vec<Col<BrandRow>> {
    let mut cols = opening(week, |r: &BrandRow| (&r.platform, &r.metric));
    cols.extend([
        text(|t| t.brand, |r: &BrandRow| r.brand.clone()),
        text(|t| t.occupation, |r: &BrandRow| r.occupation.clone()),
        count(|t| t.gained, "gained", |r: &BrandRow| r.gained),
        ratio(
            |t| t.brand_share,
            "brand_share",
            |r: &BrandRow| r.brand_share,
        ),
    ]);
    cols
}

/// `occupations.csv` of `week`.
pub(crate) fn occupations_csv(
    style: CsvStyle,
    rows: &[OccupationRow],
    week: NaiveDate,
) -> Result<Vec<u8>, ReportError> {
    style.file(
        "occupations.csv",
        &occupation_cols(week),
        rows.iter().filter(|r| r.week_start == week).collect(),
        |r| (&r.platform, &r.metric, r.gained),
    )
}

/// `tags.csv` of `week`.
pub(crate) fn tags_csv(
    style: CsvStyle,
    rows: &[TagRow],
    week: NaiveDate,
    by_tag: BTreeMap<tagpulse_config::Tag, Vec<String>>,
) -> Result<Vec<u8>, ReportError> {
    style.file(
        "tags.csv",
        &tag_cols(week, by_tag),
        rows.iter().filter(|r| r.week_start == week).collect(),
        |r| (&r.platform, &r.metric, r.gained),
    )
}

/// `brands.csv` of `week`.
pub(crate) fn brands_csv(
    style: CsvStyle,
    rows: &[BrandRow],
    week: NaiveDate,
) -> Result<Vec<u8>, ReportError> {
    style.file(
        "brands.csv",
        &brand_cols(week),
        rows.iter().filter(|r| r.week_start == week).collect(),
        |r| (&r.platform, &r.metric, r.gained),
    )
}
