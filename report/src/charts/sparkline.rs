//! Sparklines: one tiny line of a series's last weeks, inline in a table cell.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Draw, DrawError, Tips, UP};

/// A small line of the last weeks, no axes (for table rows).
pub struct Sparkline {
    /// Values per week; missing ones leave a gap.
    pub values: Vec<Option<f64>>,
}

impl Draw for Sparkline {
    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        _tips: &mut Tips,
    ) -> Result<(), DrawError> {
        area.fill(&WHITE)?;
        let vals: Vec<f64> = self.values.iter().flatten().copied().collect();
        if vals.is_empty() {
            return Ok(());
        }
        let lo = vals.iter().copied().fold(f64::MAX, f64::min).min(0.0);
        let hi = vals.iter().copied().fold(f64::MIN, f64::max).max(lo + 1e-9);
        let n = self.values.len().max(2) as i32;
        let mut chart = ChartBuilder::on(area)
            .margin(3)
            .build_cartesian_2d(0..n - 1, lo..hi)?;
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
                chart.draw_series(LineSeries::new(s, ShapeStyle::from(&UP).stroke_width(2)))?;
                chart.draw_series(std::iter::once(Circle::new(last, 2, UP.filled())))?;
            }
        }
        Ok(())
    }
}
