//! The report's charts, drawn with plotters into SVG (inline in the page) and PNG (slides).
//!
//! Each chart is a struct implementing [`Draw`] once, generic over the backend, so the
//! SVG and the PNG always show the same thing. Text uses DejaVu Sans registered from
//! bytes: no system font is needed, on a server or in CI.

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::ReportError;

mod bar;
mod line;
mod sparkline;

pub use bar::BarChart;
pub use line::{LineChart, Scale};
pub use sparkline::Sparkline;

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
    /// The chart's title, also its accessible label on the page.
    pub title: String,
    /// Standalone SVG document.
    pub svg: String,
    /// PNG image.
    pub png: Vec<u8>,
}

/// Why a chart could not be drawn or rasterised.
#[derive(Debug, thiserror::Error)]
pub enum DrawError {
    /// plotters refused to draw (its error is generic over the backend, so it is kept as
    /// its message).
    #[error("{0}")]
    Plot(String),
    /// The SVG plotters wrote does not parse.
    #[error("the chart's SVG does not parse: {0}")]
    Svg(#[from] resvg::usvg::Error),
    /// The chart has no area to rasterise.
    #[error("empty chart")]
    Empty,
    /// The PNG encoder failed.
    #[error("cannot encode the PNG")]
    Png(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        DrawError::Plot(e.to_string())
    }
}

/// Something plotters can draw on any backend.
pub trait Draw {
    /// Draws on `area`.
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), DrawError>;

    /// The chart's title (none for a sparkline).
    fn title(&self) -> &str {
        ""
    }
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
    let svg = render_svg(d, (w, h)).map_err(|e| match e {
        ReportError::Chart { source, .. } => ReportError::Chart {
            name: name.to_string(),
            source,
        },
        other => other,
    })?;
    let png = rasterise(&svg, 2.0).map_err(|source| ReportError::Chart {
        name: name.to_string(),
        source,
    })?;
    Ok(Chart {
        name: name.to_string(),
        title: d.title().to_string(),
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
        let chart = |source| ReportError::Chart {
            name: "sparkline".into(),
            source,
        };
        d.draw(&root).map_err(chart)?;
        root.present().map_err(|e| chart(e.into()))?;
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
pub fn rasterise(svg: &str, scale: f32) -> Result<Vec<u8>, DrawError> {
    use resvg::{tiny_skia, usvg};
    let opt = usvg::Options {
        font_family: "DejaVu Sans".into(),
        fontdb: font_db(),
        ..Default::default()
    };
    let tree = usvg::Tree::from_str(svg, &opt)?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(scale)
        .ok_or(DrawError::Empty)?;
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height()).ok_or(DrawError::Empty)?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().map_err(|e| DrawError::Png(e.into()))
}

/// A legend in its own column, so it never hides data.
fn side_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(String, RGBColor)],
) -> Result<(), DrawError> {
    for (i, (name, colour)) in items.iter().enumerate() {
        let y = 56 + 22 * i as i32;
        area.draw(&PathElement::new(
            vec![(4, y), (24, y)],
            ShapeStyle::from(colour).stroke_width(3),
        ))?;
        area.draw_text(
            name,
            &text_style(12).pos(Pos::new(HPos::Left, VPos::Center)),
            (30, y),
        )?;
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
) -> Result<DrawingArea<DB, Shift>, DrawError> {
    area.fill(&WHITE)?;
    let (_, h) = area.dim_in_pixel();
    let (upper, lower) = area.split_vertically(h.saturating_sub(22));
    lower.draw_text(
        source,
        &text_style(12).color(&RGBColor(90, 90, 90)),
        (12, 4),
    )?;
    Ok(upper)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn bar_chart_renders_svg_with_labels_and_a_png() {
        let c = render(
            "bars",
            &BarChart {
                loc: crate::i18n::Locale(crate::i18n::Language::En),
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
                loc: crate::i18n::Locale(crate::i18n::Language::En),
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

#[cfg(test)]
mod degenerate {
    use super::*;
    use chrono::NaiveDate;

    /// Every `<rect>` of `svg` with a width or height that is not positive (resvg skips
    /// them, warning "Rect '' has an invalid 'height' value" on every report).
    fn empty_rects(svg: &str) -> Vec<String> {
        rects(svg)
            .into_iter()
            .filter(|r| attr(r, "width") <= 0.0 || attr(r, "height") <= 0.0)
            .collect()
    }

    fn rects(svg: &str) -> Vec<String> {
        svg.split("<rect")
            .skip(1)
            .map(|r| r[..r.find('>').unwrap_or(r.len())].to_string())
            .collect()
    }

    fn attr(rect: &str, key: &str) -> f64 {
        rect.split(&format!(" {key}=\""))
            .nth(1)
            .and_then(|v| v.split('"').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    }

    fn bars_svg(bars: Vec<(String, f64, Option<f64>)>) -> String {
        render_svg(
            &BarChart {
                loc: crate::i18n::Locale(crate::i18n::Language::En),
                title: "t".into(),
                x_label: "x".into(),
                source: "s".into(),
                bars,
            },
            (960, 300),
        )
        .unwrap()
    }

    #[test]
    fn one_bar_a_zero_and_a_fall_draw_no_empty_rectangle() {
        let one = bars_svg(vec![("Nursing".into(), 5.0e6, Some(0.1))]);
        assert_eq!(empty_rects(&one), Vec::<String>::new());
        let up = format!("fill=\"#{:02X}{:02X}{:02X}\"", UP.0, UP.1, UP.2);
        let bar: Vec<_> = rects(&one)
            .into_iter()
            .filter(|r| r.contains(&up))
            .collect();
        // The bar and its legend swatch.
        assert_eq!(bar.len(), 2, "{one}");
        assert!(bar.iter().any(|r| attr(r, "height") > 20.0), "{bar:?}");

        let zero = bars_svg(vec![
            ("Nursing".into(), 5.0e6, Some(0.1)),
            ("Farming".into(), 0.0, None),
        ]);
        assert_eq!(empty_rects(&zero), Vec::<String>::new());
        assert!(
            zero.contains("\nFarming\n") && zero.contains("\n0\n"),
            "a zero keeps its label: {zero}"
        );

        let fell = bars_svg(vec![
            ("Nursing".into(), 5.0e6, Some(0.1)),
            ("Chefs".into(), -2.0e6, Some(-0.3)),
        ]);
        assert_eq!(empty_rects(&fell), Vec::<String>::new());
        let down = format!("fill=\"#{:02X}{:02X}{:02X}\"", DOWN.0, DOWN.1, DOWN.2);
        let shown: Vec<_> = rects(&fell)
            .into_iter()
            .filter(|r| r.contains(&down) && attr(r, "width") > 50.0)
            .collect();
        assert_eq!(shown.len(), 1, "the fall is drawn: {fell}");
        assert!(fell.contains("-2.0M"), "{fell}");
    }

    #[test]
    fn line_charts_without_values_draw_no_empty_rectangle() {
        let weeks: Vec<NaiveDate> = (0..3)
            .map(|i| NaiveDate::from_ymd_opt(2026, 11, 2).unwrap() + chrono::Duration::weeks(i))
            .collect();
        for series in [
            vec![],
            vec![("a".to_string(), vec![None, None, None])],
            vec![("a".to_string(), vec![Some(1.0), Some(1.0), Some(1.0)])],
        ] {
            for scale in [Scale::Linear, Scale::Log, Scale::Percent] {
                let svg = render_svg(
                    &LineChart {
                        loc: crate::i18n::Locale(crate::i18n::Language::En),
                        title: "t".into(),
                        y_label: "y".into(),
                        source: "s".into(),
                        weeks: weeks.clone(),
                        series: series.clone(),
                        scale,
                    },
                    (960, 420),
                )
                .unwrap();
                assert_eq!(empty_rects(&svg), Vec::<String>::new(), "{scale:?}");
            }
        }
    }
}
