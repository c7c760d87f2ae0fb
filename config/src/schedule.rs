//! When jobs fire: cron expressions checked when the config loads (6 or 7 fields, seconds
//! first: `sec min hour day-of-month month day-of-week [year]`, the `cron` crate's form),
//! evaluated in the `[schedule] timezone` (an IANA name, default UTC), so `0 0 6 * * Mon`
//! stays 06:00 on the wall clock across daylight-saving changes.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;
use tagpulse_model::text::Invalid;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer};

/// A validated cron expression.
#[derive(Debug, Clone)]
pub struct Cron {
    expr: String,
    schedule: cron::Schedule,
}

impl PartialEq for Cron {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr
    }
}

impl Cron {
    /// Parses `expr`; the error says what form is expected.
    pub fn parse(expr: &str) -> Result<Cron, Invalid> {
        let fields = expr.split_whitespace().count();
        if fields == 5 {
            return Err(format!(
                "{expr:?} has 5 fields: tagpulse's cron form has seconds first, e.g. \"0 {expr}\" (sec min hour day month weekday)"
            ).into());
        }
        let schedule = cron::Schedule::from_str(expr).map_err(|e| {
            // The crate's message draws a caret under the expression: keep its last line.
            let e = e.to_string();
            let why = e.lines().map(str::trim).rfind(|l| !l.is_empty()).unwrap_or("");
            Invalid(format!("invalid cron expression {expr:?}: {why} (6 or 7 fields, seconds first, e.g. \"0 0 6 * * Mon\")"))
        })?;
        // "0 0 0 31 2 *" parses but never fires: a job that silently never runs.
        if schedule.upcoming(Utc).next().is_none() {
            return Err(format!(
                "cron expression {expr:?} never fires (no such date): check the day and month"
            )
            .into());
        }
        Ok(Cron {
            expr: expr.to_string(),
            schedule,
        })
    }

    /// The expression as written.
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// The fire times after `after`, on the wall clock of `tz`.
    pub fn after(&self, tz: Tz, after: DateTime<Utc>) -> impl Iterator<Item = DateTime<Tz>> + '_ {
        self.schedule.after(&after.with_timezone(&tz))
    }
}

impl<'de> Deserialize<'de> for Cron {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Cron::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The sources' default: every six hours, on the hour.
pub fn default_source_schedule() -> Cron {
    Cron::parse("0 0 */6 * * *").expect("valid")
}

/// The report's default: Mondays at 06:00.
pub fn default_report_schedule() -> Cron {
    Cron::parse("0 0 6 * * Mon").expect("valid")
}

/// `[schedule]`: settings of `tagpulse schedule`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// The zone cron expressions are read in (default UTC).
    #[serde(default, deserialize_with = "de_tz")]
    pub timezone: Option<Tz>,
    /// How long a running job may finish after SIGTERM before the scheduler exits anyway.
    #[serde(
        default = "default_grace_period",
        deserialize_with = "crate::de_duration"
    )]
    pub grace_period: Duration,
    /// Where Prometheus metrics are served (`127.0.0.1:9464`); none when absent.
    #[serde(default)]
    pub metrics_addr: Option<SocketAddr>,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            timezone: None,
            grace_period: default_grace_period(),
            metrics_addr: None,
        }
    }
}

fn default_grace_period() -> Duration {
    Duration::from_secs(120)
}

impl ScheduleConfig {
    /// The zone in force.
    pub fn tz(&self) -> Tz {
        self.timezone.unwrap_or(Tz::UTC)
    }
}

fn de_tz<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Tz>, D::Error> {
    let s = String::deserialize(d)?;
    s.parse::<Tz>().map(Some).map_err(|_| {
        serde::de::Error::custom(format!(
            "unknown time zone {s:?}: give an IANA name such as \"Europe/Amsterdam\" or \"UTC\""
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn wall_clock_times_hold_across_daylight_saving_changes() {
        let tz: Tz = "Europe/Amsterdam".parse().unwrap();
        let daily = Cron::parse("0 0 6 * * *").unwrap();
        // Summer time starts on 2026-03-29: 06:00 is 05:00 UTC before, 04:00 UTC after.
        let fires: Vec<String> = daily
            .after(tz, utc("2026-03-28T00:00:00Z"))
            .take(3)
            .map(|t| t.with_timezone(&Utc).to_rfc3339())
            .collect();
        assert_eq!(
            fires,
            [
                "2026-03-28T05:00:00+00:00",
                "2026-03-29T04:00:00+00:00",
                "2026-03-30T04:00:00+00:00"
            ]
        );
        // And back on 2026-10-25.
        let fires: Vec<String> = daily
            .after(tz, utc("2026-10-24T12:00:00Z"))
            .take(2)
            .map(|t| t.with_timezone(&Utc).to_rfc3339())
            .collect();
        assert_eq!(
            fires,
            ["2026-10-25T05:00:00+00:00", "2026-10-26T05:00:00+00:00"]
        );
        let weekly = default_report_schedule();
        let next = weekly.after(Tz::UTC, utc("2026-11-22T12:00:00Z")).next();
        assert_eq!(next.unwrap().to_rfc3339(), "2026-11-23T06:00:00+00:00");
    }

    #[test]
    fn bad_expressions_say_the_expected_form() {
        let err = Cron::parse("0 6 * * Mon").unwrap_err();
        assert!(err.contains("has 5 fields"), "{err}");
        assert!(err.contains("\"0 0 6 * * Mon\""), "{err}");
        let err = Cron::parse("0 0 25 * * *").unwrap_err();
        assert!(err.contains("invalid cron expression"), "{err}");
        let err = Cron::parse("0 0 0 31 2 *").unwrap_err();
        assert!(err.contains("never fires"), "{err}");
        // A leap day fires, once every four years.
        assert!(Cron::parse("0 0 0 29 2 *").is_ok());
    }
}
