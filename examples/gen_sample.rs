//! Generates the synthetic sample in `examples/sample/`: a year of view-counter snapshots
//! for occupation tags, shaped like the real fixtures (3-6 h irregular sampling, counters
//! shown to 3 significant digits so they sometimes step down, a few gaps).
//!
//! `cargo run --example gen_sample` rewrites the files; the output is deterministic (its
//! own tiny PRNG, so a dependency upgrade cannot change the sample).

use std::f64::consts::PI;
use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, Utc};

/// SplitMix64: small, fast, and stable forever.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

/// (tag, views per day at the start, yearly growth factor, breakout multiplier in the last week)
const TAGS: &[(&str, f64, f64, f64)] = &[
    ("internship", 2.0e6, 1.3, 1.0),
    ("stagiair", 1.2e5, 1.6, 1.0),
    ("praktikum", 3.0e5, 1.2, 1.0),
    ("azubi", 9.0e5, 1.5, 1.0),
    ("ausbildung", 6.0e5, 1.4, 1.0),
    ("nurselife", 4.0e6, 1.2, 1.0),
    ("scrublife", 7.0e5, 1.1, 1.0),
    ("nursesoftiktok", 3.0e6, 1.25, 1.0),
    ("verpleegkundige", 6.0e4, 1.5, 6.0),
    ("pflegekraft", 1.5e5, 1.3, 1.0),
    ("cheflife", 3.5e6, 1.15, 1.0),
    ("koch", 2.0e5, 1.1, 1.0),
    ("kitchenlife", 8.0e5, 1.05, 1.0),
    ("farmlife", 5.0e6, 1.1, 1.0),
    ("boer", 4.0e4, 1.8, 1.0),
    ("forgelife", 2.5e5, 1.4, 1.0),
    ("welding", 1.8e6, 1.2, 1.0),
    ("teacherlife", 2.2e6, 0.9, 1.0),
    ("leraar", 5.0e4, 1.3, 1.0),
    ("lehrer", 1.1e5, 1.1, 1.0),
    ("lovemyjob", 1.6e6, 1.0, 1.0),
    ("worklife", 2.8e6, 1.1, 1.0),
    ("dayinthelife", 9.0e6, 1.2, 1.0),
    ("softwareengineer", 1.4e6, 0.95, 1.0),
    ("truckdriver", 1.9e6, 1.1, 1.0),
    ("lkwfahrer", 9.0e4, 1.2, 1.0),
    ("electrician", 1.3e6, 1.3, 1.0),
    ("elektriker", 7.0e4, 1.6, 5.0),
    ("hairstylist", 3.3e6, 1.0, 1.0),
    ("kapper", 3.0e4, 1.1, 1.0),
    ("firefighter", 2.4e6, 1.05, 1.0),
    ("feuerwehr", 4.0e5, 1.2, 1.0),
    ("caregiver", 1.0e6, 1.3, 1.0),
    ("altenpflege", 6.0e4, 1.4, 1.0),
    ("mechanic", 2.1e6, 1.1, 1.0),
    ("acmecare", 9.0e3, 2.2, 1.0),
    ("werkenbijacmecare", 2.0e3, 2.5, 1.0),
];

/// Tags with one scraper outage longer than the default max_gap (7 days).
const LONG_GAP: &[&str] = &["kapper", "lehrer"];

fn round3(v: f64) -> u64 {
    if v < 1000.0 {
        return v.round() as u64;
    }
    let digits = v.log10().floor() as i32;
    let unit = 10f64.powi(digits - 2);
    ((v / unit).round() * unit) as u64
}

fn main() {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sample");
    std::fs::create_dir_all(&out).expect("create examples/sample");
    let start: DateTime<Utc> = NaiveDate::from_ymd_opt(2025, 11, 17)
        .expect("date")
        .and_hms_opt(0, 0, 0)
        .expect("time")
        .and_utc();
    let end = NaiveDate::from_ymd_opt(2026, 11, 16)
        .expect("date")
        .and_hms_opt(9, 0, 0)
        .expect("time")
        .and_utc();
    // The breakout week: Monday 9 Nov 2026 to Monday 16 Nov 2026.
    let burst_from = end - Duration::days(7) - Duration::hours(9);
    let burst_to = burst_from + Duration::days(7);
    let mut total = 0;
    for (k, (tag, per_day, growth, burst)) in TAGS.iter().enumerate() {
        let mut rng = Rng(0x7A6_9015E ^ (k as u64).wrapping_mul(0x1000_0001));
        let phase = rng.range(0.0, 365.0);
        let mut cumulative = per_day * rng.range(10.0, 60.0);
        let mut t = start + Duration::seconds(rng.range(0.0, 18_000.0) as i64);
        let mut gaps: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
        for _ in 0..(rng.unit() * 3.0) as usize {
            let at = start + Duration::hours(rng.range(24.0, 8000.0) as i64);
            gaps.push((at, at + Duration::hours(rng.range(10.0, 72.0) as i64)));
        }
        if LONG_GAP.contains(tag) {
            let at = start + Duration::days(150);
            gaps.push((at, at + Duration::days(9)));
        }
        // Real tag activity swings from week to week (a video catches on, then fades).
        let weekly_mood: Vec<f64> = (0..60).map(|_| rng.range(0.75, 1.3)).collect();
        let mut text = String::new();
        while t < end {
            let step = Duration::seconds(rng.range(10_800.0, 21_600.0) as i64);
            let next = t + step;
            // Integrate the daily rate over the step (midpoint is plenty at 3-6 h).
            let mid = t + step / 2;
            let years = (mid - start).num_seconds() as f64 / (365.25 * 86_400.0);
            let doy = years * 365.25;
            let season = 1.0 + 0.25 * (2.0 * PI * (doy - phase) / 365.25).sin();
            let weekday = mid.format("%u").to_string();
            let weekly = if weekday == "6" || weekday == "7" {
                0.85
            } else {
                1.05
            };
            let b = if mid >= burst_from && mid < burst_to {
                *burst
            } else {
                1.0
            };
            let noise = rng.range(0.9, 1.1);
            let mood = weekly_mood[((mid - start).num_days() / 7) as usize % weekly_mood.len()];
            let rate = per_day * growth.powf(years) * season * weekly * mood * b * noise;
            cumulative += rate * step.num_seconds() as f64 / 86_400.0;
            t = next;
            if gaps.iter().any(|(a, z)| t >= *a && t < *z) {
                continue;
            }
            // The page shows a slightly noisy, rounded figure: the source of step-downs.
            let shown = round3(cumulative * rng.range(0.9997, 1.0003));
            writeln!(text, "{}\t{}", t.format("%Y-%m-%d %H:%M:%S"), shown)
                .expect("write to string");
            total += 1;
        }
        std::fs::write(out.join(format!("{tag}.tsv")), text).expect("write sample file");
    }
    println!(
        "wrote {} tags, {total} snapshots to {}",
        TAGS.len(),
        out.display()
    );
}
