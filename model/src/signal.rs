//! The parameters of the robust z-score and the breakout rule (`design/metrics.md`).
//!
//! Public so that the report prints the values the transform used, never a copy.

/// Weeks before week w that the robust z-score looks at.
pub const Z_WINDOW: i64 = 8;
/// Non-null weeks the z window needs, at least.
pub const Z_MIN: u32 = 6;
/// z at or above this (with positive `gained`) is a breakout.
pub const BREAKOUT_Z: f64 = 3.5;
