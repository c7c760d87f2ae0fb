//! The report's charts, drawn with plotters into SVG (inline in the page) and PNG (slides).
//!
//! Each chart is a struct implementing [`Draw`] once, generic over the backend, so the
//! SVG and the PNG always show the same thing. Text uses DejaVu Sans registered from
//! bytes: no system font is needed, on a server or in CI.
//!
//! Every chart is drawn twice: wide (for laptops, slides and the PNG) and narrow (320 px,
//! for phones, where the page shows it instead), each laying itself out for its width, so
//! text is at least 11 px where it is shown. While drawing, a chart notes a [`Tip`] for
//! every bar, point and line; they become transparent shapes with a `<title>` (the exact
//! value and week) over the SVG, which a browser shows on hover.

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

/// Okabe-Ito, without its near pairs (sky blue next to blue, vermillion next to orange)
/// and its yellow (too faint on white): five colours told apart with the common
/// colour-vision deficiencies, so a chart draws at most five lines.
pub const PALETTE: [RGBColor; 5] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(0, 0, 0),
];

/// Width of the narrow (phone) variant of a chart, in pixels.
pub const NARROW: u32 = 320;

/// The smallest text size given to plotters: its SVG writes sizes at 0.806 of this
/// (plotters' points to pixels), so 14 is 11.3 px.
const MIN_TEXT: u32 = 14;

/// A hover target noted while drawing: a shape in pixels and what it shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Tip {
    /// Where it is.
    pub shape: TipShape,
    /// The text shown on hover (`<title>`).
    pub text: String,
}

/// The shape of a [`Tip`], in the SVG's pixels.
#[derive(Debug, Clone, PartialEq)]
pub enum TipShape {
    /// A bar: left, top, width, height.
    Rect(i32, i32, i32, i32),
    /// A point: centre and radius.
    Circle(i32, i32, i32),
    /// A line through its points.
    Line(Vec<(i32, i32)>),
}

/// The tips of one drawing, filled by [`Draw::draw`].
pub type Tips = Vec<Tip>;

/// `svg` with every tip as a transparent shape carrying a `<title>`, on top.
fn with_tips(svg: &str, tips: &[Tip]) -> String {
    if tips.is_empty() {
        return svg.to_string();
    }
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut g = String::from(r#"<g class="tips" fill="transparent">"#);
    for t in tips {
        let title = format!("<title>{}</title>", esc(&t.text));
        match &t.shape {
            TipShape::Rect(x, y, w, h) => g.push_str(&format!(
                r#"<rect x="{x}" y="{y}" width="{w}" height="{h}">{title}</rect>"#
            )),
            TipShape::Circle(x, y, r) => g.push_str(&format!(
                r#"<circle cx="{x}" cy="{y}" r="{r}">{title}</circle>"#
            )),
            TipShape::Line(points) => {
                let p: Vec<String> = points.iter().map(|(x, y)| format!("{x},{y}")).collect();
                g.push_str(&format!(
                    r#"<polyline points="{}" fill="none" stroke="transparent" stroke-width="8">{title}</polyline>"#,
                    p.join(" ")
                ));
            }
        }
    }
    g.push_str("</g>");
    match svg.rfind("</svg>") {
        Some(end) => format!("{}{g}{}", &svg[..end], &svg[end..]),
        None => svg.to_string(),
    }
}
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
    /// The same chart laid out for a phone ([`NARROW`] pixels wide), inline only.
    pub svg_narrow: String,
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
    /// Draws on `area` (laid out for its width), noting a tip per bar, point and line.
    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        tips: &mut Tips,
    ) -> Result<(), DrawError>;

    /// The height of the narrow variant, given the wide one's.
    fn narrow_height(&self, wide: u32) -> u32 {
        wide
    }

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

/// Renders `d` at `w`x`h` pixels to SVG, and to PNG at twice that size (for slides),
/// and its narrow variant for phones.
pub fn render(name: &str, d: &impl Draw, size: (u32, u32)) -> Result<Chart, ReportError> {
    let mut chart = render_inline(name, d, size)?;
    chart.png = rasterise(&chart.svg, 2.0).map_err(|source| ReportError::Chart {
        name: name.to_string(),
        source,
    })?;
    Ok(chart)
}

/// Renders `d` wide and narrow for a page, without a PNG (the tag pages' charts).
pub fn render_inline(name: &str, d: &impl Draw, (w, h): (u32, u32)) -> Result<Chart, ReportError> {
    let named = |e| match e {
        ReportError::Chart { source, .. } => ReportError::Chart {
            name: name.to_string(),
            source,
        },
        other => other,
    };
    Ok(Chart {
        name: name.to_string(),
        title: d.title().to_string(),
        svg: render_svg(d, (w, h)).map_err(named)?,
        svg_narrow: render_svg(d, (NARROW, d.narrow_height(h))).map_err(named)?,
        png: Vec::new(),
    })
}

/// Renders `d` to SVG only (sparklines).
pub fn render_svg(d: &impl Draw, (w, h): (u32, u32)) -> Result<String, ReportError> {
    register_font()?;
    let mut svg = String::new();
    let mut tips = Tips::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        let chart = |source| ReportError::Chart {
            name: "sparkline".into(),
            source,
        };
        d.draw(&root, &mut tips).map_err(chart)?;
        root.present().map_err(|e| chart(e.into()))?;
    }
    Ok(with_tips(&svg, &tips))
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

/// A legend in its own area (a column beside the plot, or rows under it on a phone),
/// from `top`, so it never hides data.
fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(String, RGBColor)],
    top: i32,
) -> Result<(), DrawError> {
    for (i, (name, colour)) in items.iter().enumerate() {
        let y = top + 22 * i as i32;
        area.draw(&PathElement::new(
            vec![(4, y), (24, y)],
            ShapeStyle::from(colour).stroke_width(3),
        ))?;
        area.draw_text(
            name,
            &text_style(MIN_TEXT).pos(Pos::new(HPos::Left, VPos::Center)),
            (30, y),
        )?;
    }
    Ok(())
}

/// Text of `size` (at least [`MIN_TEXT`]).
fn text_style(size: u32) -> TextStyle<'static> {
    TextStyle::from((FONT, size.max(MIN_TEXT)).into_font())
}

/// `s` cut to `max` characters, ending in `…` when cut (labels on a phone).
fn clip(s: &str, max: usize) -> String {
    tagpulse_model::text::clip(s, max.saturating_sub(1)).into_owned()
}

/// `text` in lines of at most `width` characters, broken at spaces (a longer word
/// stands alone).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// Writes the title, centred and wrapped to the width, and returns the area under it.
fn title_block<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>, DrawError> {
    let (w, _) = area.dim_in_pixel();
    // About 9 px per character at the title's 16 px.
    let lines = wrap(title, (w as usize).saturating_sub(24) / 9);
    let style = TextStyle::from((FONT, 20).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    for (i, line) in lines.iter().enumerate() {
        area.draw_text(line, &style, (w as i32 / 2, 10 + 24 * i as i32))?;
    }
    let (_, below) = area.split_vertically(16 + 24 * lines.len() as u32);
    Ok(below)
}

/// A chart's frame: the source line under it and the title over it. Returns whether
/// the area is a phone's ([`NARROW`] wide) and the area left for the plot.
fn framed<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    source: &str,
) -> Result<(bool, DrawingArea<DB, Shift>), DrawError> {
    let narrow = area.dim_in_pixel().0 <= NARROW;
    let area = with_source_line(area, source)?;
    Ok((narrow, title_block(&area, title)?))
}

/// Splits off a bottom strip and writes the source line there.
fn with_source_line<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    source: &str,
) -> Result<DrawingArea<DB, Shift>, DrawError> {
    area.fill(&WHITE)?;
    let (w, h) = area.dim_in_pixel();
    // On a phone the line wraps, at spaces, into a higher strip.
    let lines = wrap(source, (w as usize).saturating_sub(24) / 7);
    let strip = 22 * lines.len() as u32;
    let (upper, lower) = area.split_vertically(h.saturating_sub(strip));
    for (i, line) in lines.iter().enumerate() {
        lower.draw_text(
            line,
            &text_style(MIN_TEXT).color(&RGBColor(90, 90, 90)),
            (12, 4 + 20 * i as i32),
        )?;
    }
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
                band: Vec::new(),
                marked: Default::default(),
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
                        band: Vec::new(),
                        marked: Default::default(),
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

    /// Every text size in an SVG, in pixels.
    fn font_sizes(svg: &str) -> Vec<f64> {
        svg.split("font-size=\"")
            .skip(1)
            .map(|rest| rest[..rest.find('"').unwrap()].parse().unwrap())
            .collect()
    }

    fn trend(loc: crate::i18n::Locale) -> LineChart {
        let weeks: Vec<NaiveDate> = (0..12)
            .map(|i| NaiveDate::from_ymd_opt(2026, 10, 12).unwrap() + chrono::Duration::weeks(i))
            .collect();
        LineChart {
            band: Vec::new(),
            marked: Default::default(),
            loc,
            title: "Top occupations, views gained per week (last 12 weeks)".into(),
            y_label: "views gained per week".into(),
            source: "Source: TikTok views, counter snapshots interpolated to Monday 00:00 UTC. tagpulse.".into(),
            weeks,
            series: (0..5)
                .map(|k| {
                    let name = format!("Occupation {k} with a long name");
                    (name, (0..12).map(|w| Some(1e6 * (k + 1) as f64 + w as f64)).collect())
                })
                .collect(),
            scale: Scale::Linear,
        }
    }

    #[test]
    fn text_is_at_least_11_px_wide_and_narrow_and_the_narrow_chart_fits_a_phone() {
        let loc = crate::i18n::Locale(crate::i18n::Language::En);
        let bars = BarChart {
            loc,
            title: "Occupations by views gained, week 46, 9–15 Nov 2026".into(),
            x_label: "views gained in the week".into(),
            source: "Source: TikTok views, counter snapshots interpolated to Monday 00:00 UTC. tagpulse.".into(),
            bars: vec![
                ("Nursing and care in hospitals".into(), 70_912_345.0, Some(0.12)),
                ("Chefs & kitchen".into(), 3_000_000.0, Some(-0.1)),
            ],
        };
        let b = render("bars", &bars, (960, 300)).unwrap();
        let l = render("lines", &trend(loc), (960, 460)).unwrap();
        for (what, svg) in [
            ("bar", &b.svg),
            ("bar narrow", &b.svg_narrow),
            ("line", &l.svg),
            ("line narrow", &l.svg_narrow),
        ] {
            let sizes = font_sizes(svg);
            assert!(!sizes.is_empty(), "{what}");
            let min = sizes.iter().copied().fold(f64::MAX, f64::min);
            assert!(min >= 11.0, "{what}: text of {min} px");
        }
        assert!(
            b.svg_narrow
                .starts_with(&format!("<svg width=\"{NARROW}\"")),
            "{}",
            &b.svg_narrow[..60]
        );
        // The long name is clipped on the phone, whole on the wide chart.
        assert!(b.svg.contains("Nursing and care in hospitals"));
        assert!(b.svg_narrow.contains("Nursing and ca…"), "{}", b.svg_narrow);
        // The narrow legend lists every line under the plot, not beside it.
        for k in 0..5 {
            assert!(l
                .svg_narrow
                .contains(&format!("Occupation {k} with a long name")));
        }
    }

    #[test]
    fn every_bar_point_and_line_has_a_title_with_its_exact_value_and_week() {
        let loc = crate::i18n::Locale(crate::i18n::Language::De);
        let l = render("lines", &trend(loc), (960, 460)).unwrap();
        let titles = l.svg.matches("<title>").count();
        assert_eq!(titles, 5 * 12 + 5, "a title per point and per line");
        assert!(
            l.svg.contains(
                "<title>Occupation 0 with a long name, KW 42, 12.–18. Okt. 2026: 1.000.000</title>"
            ),
            "{}",
            l.svg
        );
        let bars = bars_svg(vec![
            ("A".into(), 70_912_345.0, Some(0.5)),
            ("B".into(), 10.0, None),
        ]);
        assert!(
            bars.contains("<title>A: 70,912,345 (+50.0%)</title>"),
            "{bars}"
        );
        assert!(bars.contains("<title>B: 10</title>"), "{bars}");
    }

    #[test]
    fn time_axes_carry_the_year_and_the_palette_has_no_near_pair() {
        let l = render(
            "lines",
            &trend(crate::i18n::Locale(crate::i18n::Language::En)),
            (960, 460),
        )
        .unwrap();
        assert!(l.svg.contains("12 Oct 2026"), "the first week has its year");
        assert!(l.svg.contains("Week starting (Monday, UTC), 2026"));
        // CIE76 colour difference in L*a*b* (sRGB, D65).
        let lab = |c: RGBColor| {
            let lin = |u: u8| {
                let u = f64::from(u) / 255.0;
                if u <= 0.04045 {
                    u / 12.92
                } else {
                    ((u + 0.055) / 1.055).powf(2.4)
                }
            };
            let (r, g, b) = (lin(c.0), lin(c.1), lin(c.2));
            let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
            let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
            let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
            let f = |t: f64| {
                if t > 0.008856 {
                    t.cbrt()
                } else {
                    7.787 * t + 16.0 / 116.0
                }
            };
            (
                116.0 * f(y) - 16.0,
                500.0 * (f(x) - f(y)),
                200.0 * (f(y) - f(z)),
            )
        };
        let dist = |a: RGBColor, b: RGBColor| {
            let (p, q) = (lab(a), lab(b));
            ((p.0 - q.0).powi(2) + (p.1 - q.1).powi(2) + (p.2 - q.2).powi(2)).sqrt()
        };
        // Okabe-Ito's near pairs, which the palette leaves out, are closer than 45.
        let (blue, sky) = (RGBColor(0, 114, 178), RGBColor(86, 180, 233));
        let (orange, vermillion) = (RGBColor(230, 159, 0), RGBColor(213, 94, 0));
        assert!(dist(blue, sky) < 45.0 && dist(orange, vermillion) < 45.0);
        for (i, a) in PALETTE.iter().enumerate() {
            for b in &PALETTE[i + 1..] {
                assert!(dist(*a, *b) > 45.0, "{a:?} and {b:?} are too close");
            }
        }
    }
}
