//! The parameters of the robust z-score and the breakout rule (`docs/metrics.md`).
//!
//! Public so that the report prints the values the transform used, never a copy.

/// Weeks before week w that the robust z-score looks at.
pub const Z_WINDOW: i64 = 8;
/// Non-null weeks the z window needs, at least.
pub const Z_MIN: u32 = 6;
/// z at or above this (with positive `gained`) is a breakout.
pub const BREAKOUT_Z: f64 = 3.5;

/// True when a week-over-week change is no larger than the counter's rounding step:
/// `|g_w - g_w-1| <= resolution_w` (a null resolution counts as 0). Such a change is
/// "within rounding", neither a rise nor a fall. False when either week has no `gained`.
pub fn within_rounding(gained: Option<f64>, prev: Option<f64>, resolution: Option<f64>) -> bool {
    match (gained, prev) {
        (Some(g), Some(p)) => (g - p).abs() <= resolution.unwrap_or(0.0),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_up_to_the_step_is_rounding() {
        assert!(within_rounding(Some(40e6), Some(30e6), Some(1e7)));
        assert!(!within_rounding(Some(40e6 + 1.0), Some(30e6), Some(1e7)));
        assert!(within_rounding(Some(20e6), Some(30e6), Some(1e7)));
        assert!(!within_rounding(Some(5.0), Some(4.0), None));
        assert!(within_rounding(Some(5.0), Some(5.0), None));
        assert!(!within_rounding(None, Some(5.0), Some(10.0)));
        assert!(!within_rounding(Some(5.0), None, Some(10.0)));
    }
}
