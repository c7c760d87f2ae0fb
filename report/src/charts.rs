//! The report's charts, drawn with plotters into SVG (inline in the page) and PNG (slides).
//!
//! Each chart is a struct implementing [`Draw`] once, generic over the backend, so the
//! SVG and the PNG always show the same thing. Text uses DejaVu Sans registered from
//! bytes: no system font is needed, on a server or in CI.

use std::sync::OnceLock;

use chrono::NaiveDate;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::format::{human, short_date};
use crate::ReportError;

/// Okabe-Ito: distinguishable with the common colour-vision deficiencies.
pub const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(0, 0, 0),
];
const UP: RGBColor = RGBColor(0, 114, 178);
const DOWN: RGBColor = RGBColor(213, 94, 0);
const UNKNOWN: RGBColor = RGBColor(153, 153, 153);
const FONT: &str = "sans-serif";

/// A chart rendered both ways.
#[derive(Debug, Clone)]
pub struct Chart {
    /// File stem, e.g. `occupations-tiktok-views`.
    pub name: String,
    /// Standalone SVG document.
    pub svg: String,
    /// PNG image.
    pub png: Vec<u8>,
}

/// Something plotters can draw on any backend.
pub trait Draw {
    /// Draws on `area`; errors are reported as text.
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

fn register_font() -> Result<(), ReportError> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold()).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(ReportError::Font)
    }
}

/// Renders `d` at `w`x`h` pixels to SVG, and to PNG at twice that size (for slides).
pub fn render(name: &str, d: &impl Draw, (w, h): (u32, u32)) -> Result<Chart, ReportError> {
    let svg = render_svg(d, (w, h)).map_err(|e| ReportError::Chart(format!("{name}: {e}")))?;
    let png = rasterise(&svg, 2.0).map_err(|e| ReportError::Chart(format!("{name}: {e}")))?;
    Ok(Chart {
        name: name.to_string(),
        svg,
        png,
    })
}

/// Renders `d` to SVG only (sparklines).
pub fn render_svg(d: &impl Draw, (w, h): (u32, u32)) -> Result<String, ReportError> {
    register_font()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        d.draw(&root).map_err(ReportError::Chart)?;
        root.present()
            .map_err(|e| ReportError::Chart(e.to_string()))?;
    }
    Ok(svg)
}

/// The embedded fonts as resvg's font database, built once.
fn font_db() -> std::sync::Arc<resvg::usvg::fontdb::Database> {
    static DB: OnceLock<std::sync::Arc<resvg::usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = resvg::usvg::fontdb::Database::new();
        db.load_font_data(dejavu::sans::regular().to_vec());
        db.load_font_data(dejavu::sans::bold().to_vec());
        db.set_sans_serif_family("DejaVu Sans");
        std::sync::Arc::new(db)
    })
    .clone()
}

/// Rasterises an SVG document to PNG, `scale` times its size, with the embedded fonts.
pub fn rasterise(svg: &str, scale: f32) -> Result<Vec<u8>, String> {
    use resvg::{tiny_skia, usvg};
    let opt = usvg::Options {
        font_family: "DejaVu Sans".into(),
        fontdb: font_db(),
        ..Default::default()
    };
    let tree = usvg::Tree::from_str(svg, &opt).map_err(|e| e.to_string())?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(scale)
        .ok_or("empty chart")?;
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height()).ok_or("empty chart")?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().map_err(|e| e.to_string())
}

/// A legend in its own column, so it never hides data.
fn side_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(String, RGBColor)],
) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    for (i, (name, colour)) in items.iter().enumerate() {
        let y = 56 + 22 * i as i32;
        area.draw(&PathElement::new(
            vec![(4, y), (24, y)],
            ShapeStyle::from(colour).stroke_width(3),
        ))
        .map_err(e)?;
        area.draw_text(
            name,
            &text_style(12).pos(Pos::new(HPos::Left, VPos::Center)),
            (30, y),
        )
        .map_err(e)?;
    }
    Ok(())
}

fn text_style(size: u32) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font())
}

/// Splits off a bottom strip and writes the source line there.
fn with_source_line<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    source: &str,
) -> Result<DrawingArea<DB, Shift>, String> {
    area.fill(&WHITE).map_err(|e| e.to_string())?;
    let (_, h) = area.dim_in_pixel();
    let (upper, lower) = area.split_vertically(h.saturating_sub(22));
    lower
        .draw_text(
            source,
            &text_style(12).color(&RGBColor(90, 90, 90)),
            (12, 4),
        )
        .map_err(|e| e.to_string())?;
    Ok(upper)
}

/// Horizontal bars: value per category, coloured by the sign of its change.
pub struct BarChart {
    /// Chart title.
    pub title: String,
    /// Value-axis label with unit.
    pub x_label: String,
    /// Source line under the chart.
    pub source: String,
    /// (label, value, change) from the top bar down.
    pub bars: Vec<(String, f64, Option<f64>)>,
}

impl Draw for BarChart {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let area = with_source_line(area, &self.source)?;
        let n = self.bars.len().max(1) as i32;
        let max = self.bars.iter().map(|b| b.1).fold(0.0, f64::max).max(1.0);
        let labels: Vec<String> = self.bars.iter().rev().map(|b| b.0.clone()).collect();
        let mut chart = ChartBuilder::on(&area)
            .caption(&self.title, (FONT, 20))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(190)
            // plotters' integer ranges are inclusive: 0..n-1 holds n segments.
            .build_cartesian_2d(0.0..max * 1.18, (0..n - 1).into_segmented())
            .map_err(e)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(&self.x_label)
            .x_labels(6)
            .x_label_formatter(&|v| human(Some(*v)))
            .y_labels(n as usize)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .label_style(text_style(13))
            .axis_desc_style(text_style(14))
            .draw()
            .map_err(e)?;
        let colour = |c: Option<f64>| match c {
            Some(c) if c > 0.0 => UP,
            Some(c) if c < 0.0 => DOWN,
            _ => UNKNOWN,
        };
        for (rank, (_, v, change)) in self.bars.iter().enumerate() {
            let i = n - 1 - rank as i32;
            let mut bar = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(i)),
                    (*v, SegmentValue::Exact(i + 1)),
                ],
                colour(*change).filled(),
            );
            bar.set_margin(4, 4, 0, 0);
            chart.draw_series(std::iter::once(bar)).map_err(e)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    human(Some(*v)),
                    (*v + max * 0.01, SegmentValue::CenterOf(i)),
                    text_style(12).pos(Pos::new(HPos::Left, VPos::Center)),
                )))
                .map_err(e)?;
        }
        for (label, c) in [
            ("up vs last week", UP),
            ("down vs last week", DOWN),
            ("no comparison", UNKNOWN),
        ] {
            chart
                .draw_series(std::iter::empty::<Rectangle<(f64, SegmentValue<i32>)>>())
                .map_err(e)?
                .label(label)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font(text_style(12))
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(200, 200, 200))
            .draw()
            .map_err(e)?;
        Ok(())
    }
}

/// Weekly lines, one per series, with gaps where a week has no value.
pub struct LineChart {
    /// Chart title.
    pub title: String,
    /// Value-axis label with unit.
    pub y_label: String,
    /// Source line under the chart.
    pub source: String,
    /// The weeks on the x axis (Mondays).
    pub weeks: Vec<NaiveDate>,
    /// (name, value per week).
    pub series: Vec<(String, Vec<Option<f64>>)>,
    /// How values are shown on the axis.
    pub scale: Scale,
}

/// Value axis of a line chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Linear counts.
    Linear,
    /// Log10 counts (for series that differ by orders of magnitude).
    Log,
    /// Linear percentages (values are ratios).
    Percent,
}

impl LineChart {
    /// Log scale when positive values span more than a factor of 50.
    pub fn pick_scale(series: &[(String, Vec<Option<f64>>)]) -> Scale {
        let pos: Vec<f64> = series
            .iter()
            .flat_map(|s| s.1.iter().flatten().copied())
            .filter(|v| *v > 0.0)
            .collect();
        let max = pos.iter().copied().fold(f64::MIN, f64::max);
        let min = pos.iter().copied().fold(f64::MAX, f64::min);
        if pos.len() > 1 && max / min > 50.0 {
            Scale::Log
        } else {
            Scale::Linear
        }
    }

    fn y(&self, v: f64) -> Option<f64> {
        match self.scale {
            Scale::Log if v > 0.0 => Some(v.log10()),
            Scale::Log => None,
            _ => Some(v),
        }
    }
}

impl Draw for LineChart {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let area = with_source_line(area, &self.source)?;
        let (w, _) = area.dim_in_pixel();
        let (area, side) = area.split_horizontally(w.saturating_sub(200));
        let legend: Vec<(String, RGBColor)> = self
            .series
            .iter()
            .enumerate()
            .map(|(k, s)| (s.0.clone(), PALETTE[k % PALETTE.len()]))
            .collect();
        side_legend(&side, &legend)?;
        let ys: Vec<f64> = self
            .series
            .iter()
            .flat_map(|s| s.1.iter().flatten().filter_map(|v| self.y(*v)))
            .collect();
        let (mut lo, mut hi) = ys
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
        if ys.is_empty() {
            (lo, hi) = (0.0, 1.0);
        }
        if self.scale != Scale::Log {
            lo = lo.min(0.0);
        }
        let pad = ((hi - lo) * 0.08).max(if self.scale == Scale::Log { 0.1 } else { 1e-9 });
        let n = self.weeks.len().max(2) as i32;
        let mut chart = ChartBuilder::on(&area)
            .caption(&self.title, (FONT, 20))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(0..n - 1, (lo - if lo < 0.0 { pad } else { 0.0 })..hi + pad)
            .map_err(e)?;
        let scale = self.scale;
        let weeks = self.weeks.clone();
        chart
            .configure_mesh()
            .x_desc("Week starting (Monday, UTC)")
            .y_desc(&self.y_label)
            .x_labels(self.weeks.len().min(12))
            .x_label_formatter(&|i| {
                weeks
                    .get(*i as usize)
                    .map(|d| short_date(*d))
                    .unwrap_or_default()
            })
            .y_label_formatter(&|v| match scale {
                Scale::Log => human(Some(10f64.powf(*v))),
                Scale::Linear => human(Some(*v)),
                Scale::Percent => format!("{:.1}%", v * 100.0),
            })
            .label_style(text_style(12))
            .axis_desc_style(text_style(14))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(e)?;
        for (k, (_, values)) in self.series.iter().enumerate() {
            let colour = PALETTE[k % PALETTE.len()];
            let style = ShapeStyle::from(&colour).stroke_width(2);
            // Break the line where a week has no value rather than bridging it.
            let mut segments: Vec<Vec<(i32, f64)>> = vec![Vec::new()];
            for (i, v) in values.iter().enumerate() {
                match v.and_then(|v| self.y(v)) {
                    Some(y) => segments.last_mut().expect("non-empty").push((i as i32, y)),
                    None if !segments.last().expect("non-empty").is_empty() => {
                        segments.push(Vec::new())
                    }
                    None => {}
                }
            }
            let points: Vec<(i32, f64)> = segments.iter().flatten().copied().collect();
            chart
                .draw_series(points.iter().map(|p| Circle::new(*p, 3, colour.filled())))
                .map_err(e)?;
            for seg in segments.into_iter().filter(|s| s.len() > 1) {
                chart.draw_series(LineSeries::new(seg, style)).map_err(e)?;
            }
        }
        Ok(())
    }
}

/// A small line of the last weeks, no axes (for table rows).
pub struct Sparkline {
    /// Values per week; missing ones leave a gap.
    pub values: Vec<Option<f64>>,
}

impl Draw for Sparkline {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        area.fill(&WHITE).map_err(e)?;
        let vals: Vec<f64> = self.values.iter().flatten().copied().collect();
        if vals.is_empty() {
            return Ok(());
        }
        let lo = vals.iter().copied().fold(f64::MAX, f64::min).min(0.0);
        let hi = vals.iter().copied().fold(f64::MIN, f64::max).max(lo + 1e-9);
        let n = self.values.len().max(2) as i32;
        let mut chart = ChartBuilder::on(area)
            .margin(3)
            .build_cartesian_2d(0..n - 1, lo..hi)
            .map_err(e)?;
        let mut seg: Vec<(i32, f64)> = Vec::new();
        let mut segs = Vec::new();
        for (i, v) in self.values.iter().enumerate() {
            match v {
                Some(v) => seg.push((i as i32, *v)),
                None => segs.push(std::mem::take(&mut seg)),
            }
        }
        segs.push(seg);
        for s in segs {
            if let Some(last) = s.last().copied() {
                chart
                    .draw_series(LineSeries::new(s, ShapeStyle::from(&UP).stroke_width(2)))
                    .map_err(e)?;
                chart
                    .draw_series(std::iter::once(Circle::new(last, 2, UP.filled())))
                    .map_err(e)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_chart_renders_svg_with_labels_and_a_png() {
        let c = render(
            "bars",
            &BarChart {
                title: "Views gained".into(),
                x_label: "views gained in the week".into(),
                source: "TikTok tag views".into(),
                bars: vec![
                    ("Nursing".into(), 41_200_000.0, Some(0.08)),
                    ("Chefs & kitchen".into(), 3_000_000.0, Some(-0.1)),
                    ("Farming".into(), 1_000.0, None),
                ],
            },
            (900, 420),
        )
        .unwrap();
        assert!(c.svg.starts_with("<svg"), "{}", &c.svg[..60]);
        for text in [
            "Views gained",
            "Nursing",
            "Chefs &amp; kitchen",
            "41.2M",
            "TikTok tag views",
            "up vs last week",
        ] {
            assert!(c.svg.contains(text), "missing {text}");
        }
        assert_eq!(&c.png[1..4], b"PNG");
        let img = resvg::tiny_skia::Pixmap::decode_png(&c.png).unwrap();
        assert_eq!((img.width(), img.height()), (1800, 840));
        // Text is rasterised with the embedded font: the title band has dark pixels.
        let dark = (0..1800u32)
            .filter(|x| (20..80u32).any(|y| img.pixel(*x, y).unwrap().red() < 100))
            .count();
        assert!(dark > 100, "title pixels: {dark}");
    }

    #[test]
    fn line_chart_scale_and_gaps() {
        let s = vec![
            ("a".to_string(), vec![Some(1.0e6), None, Some(3.0e6)]),
            ("b".to_string(), vec![Some(1.0e3), Some(2.0e3), Some(3.0e3)]),
        ];
        assert_eq!(LineChart::pick_scale(&s), Scale::Log);
        assert_eq!(LineChart::pick_scale(&s[1..]), Scale::Linear);
        let weeks: Vec<NaiveDate> = (0..3)
            .map(|i| NaiveDate::from_ymd_opt(2026, 11, 2).unwrap() + chrono::Duration::weeks(i))
            .collect();
        let c = render(
            "lines",
            &LineChart {
                title: "Trend".into(),
                y_label: "views gained per week".into(),
                source: "src".into(),
                weeks,
                series: s,
                scale: Scale::Log,
            },
            (800, 400),
        )
        .unwrap();
        assert!(c.svg.contains("2 Nov") && c.svg.contains("16 Nov"));
        assert!(c.svg.contains("1.0M"), "log axis labels in counts");
        let spark = render_svg(
            &Sparkline {
                values: vec![Some(1.0), None, Some(2.0), Some(4.0)],
            },
            (120, 28),
        )
        .unwrap();
        assert!(
            spark.contains("<polyline") || spark.contains("<path"),
            "{spark}"
        );
    }
}
