//! Horizontal bars: occupations ranked by gained, coloured by week-over-week direction.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{
    clip, framed, legend, text_style, Draw, DrawError, Tip, TipShape, Tips, DOWN, UNKNOWN, UP,
};
use crate::i18n::Locale;

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
    /// Numbers and the legend in the report's language.
    pub loc: Locale,
}

/// Rows of the legend under a narrow chart.
const LEGEND_ROWS: u32 = 3;

impl Draw for BarChart {
    fn title(&self) -> &str {
        &self.title
    }

    fn narrow_height(&self, wide: u32) -> u32 {
        // The legend moves under the plot and the title takes two lines.
        wide + 22 * LEGEND_ROWS + 30
    }

    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        tips: &mut Tips,
    ) -> Result<(), DrawError> {
        let (narrow, area) = framed(area, &self.title, &self.source)?;
        let t = self.loc.texts();
        let keys = [
            (t.legend_up.to_string(), UP),
            (t.legend_down.to_string(), DOWN),
            (t.legend_unknown.to_string(), UNKNOWN),
        ];
        let area = if narrow {
            let (_, h) = area.dim_in_pixel();
            let (plot, below) = area.split_vertically(h.saturating_sub(22 * LEGEND_ROWS + 8));
            legend(&below, &keys, 12)?;
            plot
        } else {
            area
        };
        // At least two lanes: plotters collapses a one-segment range to zero height.
        let lanes = self.bars.len().max(2) as i32;
        let max = self.bars.iter().map(|b| b.1).fold(0.0, f64::max).max(1.0);
        // A counter that fell (deleted videos) gains less than nothing: its bar goes left.
        let min = self.bars.iter().map(|b| b.1).fold(0.0, f64::min);
        let span = max - min;
        // Lane i from the bottom; the top bar sits in the top lane.
        let lane = |rank: usize| lanes - 1 - rank as i32;
        let mut labels = vec![String::new(); lanes as usize];
        for (rank, b) in self.bars.iter().enumerate() {
            labels[lane(rank) as usize] = if narrow { clip(&b.0, 15) } else { b.0.clone() };
        }
        let left = if min < 0.0 { min - span * 0.18 } else { 0.0 };
        // Room right of the longest bar for its value label.
        let right = max + span * if narrow { 0.34 } else { 0.18 };
        let mut chart = ChartBuilder::on(&area)
            .margin(if narrow { 6 } else { 12 })
            .x_label_area_size(44)
            .y_label_area_size(if narrow { 112 } else { 190 })
            // plotters' integer ranges are inclusive: 0..lanes-1 holds `lanes` segments.
            .build_cartesian_2d(left..right, (0..lanes - 1).into_segmented())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(228, 228, 228))
            .x_desc(&self.x_label)
            .x_labels(if narrow { 3 } else { 6 })
            .x_label_formatter(&|v| self.loc.human(Some(*v)))
            .y_labels(lanes as usize)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .label_style(text_style(14))
            .axis_desc_style(text_style(15))
            .draw()?;
        let colour = |c: Option<f64>| match c {
            Some(c) if c > 0.0 => UP,
            Some(c) if c < 0.0 => DOWN,
            _ => UNKNOWN,
        };
        for (rank, (name, v, change)) in self.bars.iter().enumerate() {
            let i = lane(rank);
            let (from, to) = (
                (v.min(0.0), SegmentValue::Exact(i)),
                (v.max(0.0), SegmentValue::Exact(i + 1)),
            );
            // A zero is its label alone: a rectangle without width is no bar.
            if *v != 0.0 {
                let mut bar = Rectangle::new([from.clone(), to.clone()], colour(*change).filled());
                bar.set_margin(4, 4, 0, 0);
                chart.draw_series(std::iter::once(bar))?;
            }
            // The hover target spans the lane, so a short bar is easy to point at.
            let (a, b) = (
                chart.backend_coord(&(left, SegmentValue::Exact(i))),
                chart.backend_coord(&(right, SegmentValue::Exact(i + 1))),
            );
            let change = match change {
                Some(_) => format!(" ({})", self.loc.pct(*change)),
                None => String::new(),
            };
            tips.push(Tip {
                shape: TipShape::Rect(a.0, b.1.min(a.1), b.0 - a.0, (a.1 - b.1).abs()),
                text: format!("{name}: {}{change}", self.loc.exact(*v)),
            });
            let (x, anchor) = if *v < 0.0 {
                (*v - span * 0.01, HPos::Right)
            } else {
                (*v + span * 0.01, HPos::Left)
            };
            chart.draw_series(std::iter::once(Text::new(
                self.loc.human(Some(*v)),
                (x, SegmentValue::CenterOf(i)),
                text_style(14).pos(Pos::new(anchor, VPos::Center)),
            )))?;
        }
        if !narrow {
            for (label, c) in keys {
                chart
                    .draw_series(std::iter::empty::<Rectangle<(f64, SegmentValue<i32>)>>())?
                    .label(label)
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled())
                    });
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .label_font(text_style(14))
                .background_style(WHITE.mix(0.9))
                .border_style(RGBColor(200, 200, 200))
                .draw()?;
        }
        Ok(())
    }
}
