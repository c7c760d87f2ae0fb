//! A plain-loop reading of the snapshot rules of `docs/metrics.md`, one series at a time.
//!
//! It shares no code with the polars jobs, which makes it the oracle the end-to-end
//! tests check every weekly row against, and the peer the benchmark compares speed with.

use std::collections::BTreeMap;

use chrono::NaiveDate;

/// One weekly row of a snapshot series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefWeek {
    /// V(end of week).
    pub total_end: Option<f64>,
    /// V(end) - V(start).
    pub gained: Option<f64>,
    /// Snapshots inside the week.
    pub observations: u32,
    /// Raw step-downs inside the week.
    pub decreases: u32,
    /// Lower median rounding step of the raw snapshots from a week before the week's
    /// start to a week after its end.
    pub resolution: Option<f64>,
}

/// The rounding step of a raw value: 10 to the number of its trailing decimal zeros.
fn step(v: u64) -> Option<u64> {
    if v == 0 {
        return None;
    }
    let s = v.to_string();
    let zeros = s.len() - s.trim_end_matches('0').len();
    Some(10u64.pow(zeros as u32))
}

/// Weekly rows of one series from `(epoch seconds, value)` snapshots (any order; for a
/// repeated time the last one given wins).
pub fn snapshot_weeks(points: &[(i64, u64)], max_gap_secs: i64) -> BTreeMap<NaiveDate, RefWeek> {
    let mut by_t: BTreeMap<i64, u64> = BTreeMap::new();
    for (t, v) in points {
        by_t.insert(*t, *v);
    }
    let obs: Vec<(i64, u64)> = by_t.into_iter().collect();
    let mut out = BTreeMap::new();
    let (Some(first), Some(last)) = (obs.first(), obs.last()) else {
        return out;
    };
    let mut env = Vec::with_capacity(obs.len());
    let mut max = 0u64;
    for (t, v) in &obs {
        max = max.max(*v);
        env.push((*t, max as f64));
    }
    let value_at = |big_t: i64| -> Option<f64> {
        let after = env.partition_point(|(t, _)| *t < big_t);
        if after < env.len() && env[after].0 == big_t {
            return Some(env[after].1);
        }
        if after == 0 || after == env.len() {
            return None;
        }
        let (ta, va) = env[after - 1];
        let (tb, vb) = env[after];
        if tb - ta > max_gap_secs {
            return None;
        }
        Some(va + (vb - va) * (big_t - ta) as f64 / (tb - ta) as f64)
    };
    let monday = |t: i64| {
        let day = t.div_euclid(86_400);
        (day - (day + 3).rem_euclid(7)) * 86_400
    };
    let mut start = monday(first.0);
    let mut i = 0;
    while start <= monday(last.0) {
        let end = start + 7 * 86_400;
        let (mut n, mut down) = (0, 0);
        while i < obs.len() && obs[i].0 < end {
            n += 1;
            if i > 0 && obs[i].1 < obs[i - 1].1 {
                down += 1;
            }
            i += 1;
        }
        let (v0, v1) = (value_at(start), value_at(end));
        let lo = start - 7 * 86_400;
        let hi = end + 7 * 86_400;
        let mut steps: Vec<u64> = obs
            .iter()
            .filter(|(t, _)| lo <= *t && *t < hi)
            .filter_map(|(_, v)| step(*v))
            .collect();
        steps.sort_unstable();
        let resolution = (!steps.is_empty()).then(|| steps[(steps.len() - 1) / 2] as f64);
        let date = chrono::DateTime::from_timestamp(start, 0)
            .expect("in range")
            .date_naive();
        out.insert(
            date,
            RefWeek {
                total_end: v1,
                gained: v0.zip(v1).map(|(a, b)| b - a),
                observations: n,
                decreases: down,
                resolution,
            },
        );
        start = end;
    }
    out
}

/// The robust z-score of one weekly row, as the spec defines it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefZ {
    /// (g_w - median) / scale.
    pub z: Option<f64>,
    /// The median of the 8 weeks before (null when z is).
    pub z_median: Option<f64>,
    /// z >= 3.5 and g_w > 0.
    pub breakout: bool,
}

fn plain_median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// z, z_median and breakout of every week of `weeks` (consecutive calendar weeks; a week
/// missing from the map counts as null), with the scale raised to each week's resolution
/// when `use_resolution` (false reads the spec before the resolution revision).
pub fn robust_z(
    weeks: &BTreeMap<NaiveDate, RefWeek>,
    use_resolution: bool,
) -> BTreeMap<NaiveDate, RefZ> {
    let mut out = BTreeMap::new();
    for (date, week) in weeks {
        let mut window = Vec::new();
        for back in 1..=8 {
            let d = *date - chrono::Duration::days(7 * back);
            if let Some(g) = weeks.get(&d).and_then(|w| w.gained) {
                window.push(g);
            }
        }
        let mut z = None;
        let mut centre = None;
        if let (Some(g), true) = (week.gained, window.len() >= 6) {
            let med = plain_median(window.clone());
            let devs: Vec<f64> = window.iter().map(|v| (v - med).abs()).collect();
            let mad = plain_median(devs.clone());
            let mut scale = if mad > 0.0 {
                1.4826 * mad
            } else {
                1.2533 * devs.iter().sum::<f64>() / devs.len() as f64
            };
            if use_resolution {
                scale = scale.max(week.resolution.unwrap_or(0.0));
            }
            if scale > 0.0 {
                z = Some((g - med) / scale);
                centre = Some(med);
            }
        }
        out.insert(
            *date,
            RefZ {
                z,
                z_median: centre,
                breakout: z.is_some_and(|z| z >= 3.5) && week.gained.is_some_and(|g| g > 0.0),
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_a_hand_computed_series() {
        // Monday 2026-11-09 00:00 UTC = 1_794_182_400.
        let mon = 1_794_182_400;
        let weeks = snapshot_weeks(
            &[
                (mon + 86_400, 100),
                (mon + 8 * 86_400, 800),
                (mon + 3 * 86_400, 250),
                (mon + 4 * 86_400, 240),
            ],
            7 * 86_400,
        );
        let w = |d| weeks[&NaiveDate::from_ymd_opt(2026, 11, d).unwrap()];
        // V(11-16) between 11-13 (env 250) and 11-17 (800): 250 + 550 * 3/4.
        assert_eq!(w(9).total_end, Some(662.5));
        assert_eq!(w(9).gained, None);
        assert_eq!((w(9).observations, w(9).decreases), (3, 1));
        assert_eq!(w(16).total_end, None);
        // Steps 100, 10, 10, 100 around both weeks: the lower median is 10.
        assert_eq!(
            (w(9).resolution, w(16).resolution),
            (Some(10.0), Some(10.0))
        );
    }
}
