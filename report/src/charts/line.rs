//! Lines over weeks: occupation trends (linear or log) and brand shares (percent).

use chrono::{Datelike, NaiveDate};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{framed, legend, text_style, Draw, DrawError, Tip, TipShape, Tips, PALETTE};
use crate::i18n::Locale;

/// The band's fill: light grey, under everything.
const BAND: RGBColor = RGBColor(225, 228, 234);
/// A marked week's ring: Okabe-Ito vermillion, apart from the lines' colours.
const MARK: RGBColor = RGBColor(213, 94, 0);

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
    /// Numbers, dates and the axis words in the report's language.
    pub loc: Locale,
    /// A shaded band per week (low, high) around the first series, e.g. its value plus
    /// and minus the counter's rounding step; empty for none.
    pub band: Vec<Option<(f64, f64)>>,
    /// Weeks (indices into `weeks`) marked on the first series, with what the mark
    /// means (e.g. breakouts).
    pub marked: (Vec<usize>, String),
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
    fn title(&self) -> &str {
        &self.title
    }

    fn narrow_height(&self, _wide: u32) -> u32 {
        // The plot, the legend rows under it, a two-line title and source.
        330 + 22 * self.series.len() as u32 + 50
    }

    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        tips: &mut Tips,
    ) -> Result<(), DrawError> {
        let (narrow, area) = framed(area, &self.title, &self.source)?;
        let items: Vec<(String, RGBColor)> = self
            .series
            .iter()
            .enumerate()
            .map(|(k, s)| (s.0.clone(), PALETTE[k % PALETTE.len()]))
            .collect();
        let (w, h) = area.dim_in_pixel();
        let area = if narrow {
            let (plot, below) =
                area.split_vertically(h.saturating_sub(22 * items.len() as u32 + 8));
            legend(&below, &items, 12)?;
            plot
        } else {
            let (plot, side) = area.split_horizontally(w.saturating_sub(200));
            legend(&side, &items, 24)?;
            plot
        };
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
            .margin(if narrow { 8 } else { 12 })
            .x_label_area_size(48)
            .y_label_area_size(if narrow { 58 } else { 74 })
            .build_cartesian_2d(0..n - 1, (lo - if lo < 0.0 { pad } else { 0.0 })..hi + pad)?;
        let scale = self.scale;
        let weeks = self.weeks.clone();
        let loc = self.loc;
        // A week's label carries its year where the year is new (and on the first).
        let label = |i: usize| -> String {
            let Some(d) = weeks.get(i) else {
                return String::new();
            };
            let year_changed = i == 0 || weeks.get(i - 1).is_some_and(|p| p.year() != d.year());
            if year_changed {
                loc.date(*d)
            } else {
                loc.day_month(*d)
            }
        };
        let years = match (self.weeks.first(), self.weeks.last()) {
            (Some(a), Some(b)) if a.year() != b.year() => format!("{}–{}", a.year(), b.year()),
            (Some(a), _) => a.year().to_string(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .x_desc(format!("{}, {years}", self.loc.texts().axis_week))
            .y_desc(&self.y_label)
            .x_labels(self.weeks.len().min(if narrow { 3 } else { 6 }))
            .x_label_formatter(&|i| label(*i as usize))
            .y_labels(if narrow { 4 } else { 6 })
            .y_label_formatter(&|v| match scale {
                Scale::Log => loc.human(Some(10f64.powf(*v))),
                Scale::Linear => loc.human(Some(*v)),
                Scale::Percent => loc.percent(v * 100.0, 1, false),
            })
            .label_style(text_style(14))
            .axis_desc_style(text_style(15))
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(228, 228, 228))
            .draw()?;
        // The band first, under the lines: runs of weeks that have one.
        let mut run: Vec<(i32, f64, f64)> = Vec::new();
        let band = |run: &[(i32, f64, f64)]| {
            let upper = run.iter().map(|(i, _, hi)| (*i, *hi));
            let lower = run.iter().rev().map(|(i, lo, _)| (*i, *lo));
            Polygon::new(upper.chain(lower).collect::<Vec<_>>(), BAND.filled())
        };
        for (i, b) in self.band.iter().enumerate() {
            match b.and_then(|(lo, hi)| Some((self.y(lo.max(1e-9))?, self.y(hi)?))) {
                Some((lo, hi)) => run.push((i as i32, lo, hi)),
                None if !run.is_empty() => {
                    chart.draw_series(std::iter::once(band(&run)))?;
                    run.clear();
                }
                None => {}
            }
        }
        if !run.is_empty() {
            chart.draw_series(std::iter::once(band(&run)))?;
        }
        for (k, (name, values)) in self.series.iter().enumerate() {
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
            chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, colour.filled())))?;
            for seg in segments.into_iter().filter(|s| s.len() > 1) {
                tips.push(Tip {
                    shape: TipShape::Line(seg.iter().map(|p| chart.backend_coord(p)).collect()),
                    text: name.clone(),
                });
                chart.draw_series(LineSeries::new(seg, style))?;
            }
            for p in &points {
                let (x, y) = chart.backend_coord(p);
                let v = values[p.0 as usize].unwrap_or_default();
                let value = match scale {
                    Scale::Percent => loc.percent(v * 100.0, 2, false),
                    _ => loc.exact(v),
                };
                let week = weeks
                    .get(p.0 as usize)
                    .map(|d| loc.week_title(*d))
                    .unwrap_or_default();
                tips.push(Tip {
                    shape: TipShape::Circle(x, y, 7),
                    text: format!("{name}, {week}: {value}"),
                });
            }
        }
        if let Some((_, first)) = self.series.first() {
            let (marked, meaning) = &self.marked;
            for i in marked {
                let Some(y) = first.get(*i).copied().flatten().and_then(|v| self.y(v)) else {
                    continue;
                };
                let p = (*i as i32, y);
                chart.draw_series(std::iter::once(Circle::new(p, 6, MARK.stroke_width(3))))?;
                let (x, y) = chart.backend_coord(&p);
                let week = weeks
                    .get(*i)
                    .map(|d| loc.week_title(*d))
                    .unwrap_or_default();
                tips.push(Tip {
                    shape: TipShape::Circle(x, y, 9),
                    text: format!("{meaning}, {week}"),
                });
            }
        }
        Ok(())
    }
}
