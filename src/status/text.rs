//! `tagpulse status` as text: every time in UTC (`…Z`), the schedule's zone in brackets
//! on the next fire times, and after `--check` the problems found.

use chrono::{DateTime, Utc};

use super::Status;

/// A UTC time as status prints it.
fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%MZ").to_string()
}

/// `s` as the text an operator reads.
pub(super) fn print(s: &Status, check: bool) {
    let now = s.checked_at;
    outln!("data: {}", s.store);
    match s.scheduler_pid {
        Some(pid) => outln!("scheduler: running (PID {pid})"),
        None => outln!("scheduler: not running (jobs run from cron or by hand)"),
    }
    match &s.last_report {
        Some(r) => outln!(
            "last report: {} at {}, written {} ({} ago)",
            r.week,
            r.page,
            utc(r.written_at),
            ago(now - r.written_at)
        ),
        None => outln!("last report: none written yet"),
    }
    outln!();
    if s.runs.is_empty() {
        outln!("last runs: none recorded yet");
    } else {
        outln!("last runs (newest first, times in UTC):");
        for r in &s.runs {
            let secs = (r.finished_at - r.started_at).as_seconds_f64();
            let mut line = format!(
                "  {}  {:<9} {:<8} {:<11} {:>7.1}s  {:>9} rows",
                r.started_at.format("%Y-%m-%d %H:%M:%SZ"),
                r.job,
                r.trigger,
                r.outcome,
                secs,
                r.rows_written
            );
            if !r.message.is_empty() {
                line.push_str(&format!("  {}", clip(&r.message, 100)));
            }
            outln!("{line}");
        }
    }
    outln!();
    if s.sources.is_empty() {
        outln!("sources: none configured, nothing stored");
    } else {
        outln!("sources:");
    }
    for f in &s.sources {
        let newest = match f.newest_observation {
            Some(t) => format!("newest observation {} ({} ago)", utc(t), ago(now - t)),
            None => "nothing stored".into(),
        };
        let last = match &f.last_run {
            Some(r) if r.job == "import" && f.id == "import" => format!(
                "last import {}: {}, {}",
                utc(r.started_at),
                r.status,
                r.message
            ),
            Some(r) => {
                let mut tags = format!("{} ok", r.tags_ok);
                if r.tags_failed > 0 {
                    tags.push_str(&format!(
                        ", {} failed ({})",
                        r.tags_failed, r.failed_by_kind
                    ));
                }
                // A file source with nothing appended asks no tag.
                let what = if r.observations == 0 && r.tags_failed == 0 && r.status == "stored" {
                    "nothing new".to_string()
                } else {
                    format!("tags {tags}")
                };
                let mut line = format!(
                    "last run {} {}: {}, {what}",
                    utc(r.started_at),
                    r.job,
                    r.status
                );
                if !r.message.is_empty() {
                    line.push_str(&format!(": {}", clip(&r.message, 100)));
                }
                line
            }
            None => "no run recorded".into(),
        };
        outln!("  {}: {newest}; {last}", f.id);
        if let (Some(r), Some(ok)) = (&f.last_run, f.last_success) {
            if ok < r.started_at {
                outln!(
                    "    last successful run {} ({} ago)",
                    utc(ok),
                    ago(now - ok)
                );
            }
        }
        if f.stale {
            let every = f
                .interval_secs
                .map(|s| humantime::format_duration(std::time::Duration::from_secs(s as u64)));
            outln!(
                "    STALE: scheduled every {}, no successful run for two of those",
                every.map(|e| e.to_string()).unwrap_or_default()
            );
        }
    }
    if !s.alerts.is_empty() {
        outln!();
        outln!("alerts:");
        for a in &s.alerts {
            let line = if a.failures > 0 {
                format!(
                    "FAILING: {} delivery(ies) in a row, last at {}: {}",
                    a.failures,
                    a.last_failure.map(utc).unwrap_or_default(),
                    clip(a.last_error.as_deref().unwrap_or(""), 120)
                )
            } else if a.last_ok.is_none() && a.findings_sent == 0 {
                "nothing sent yet".to_string()
            } else {
                format!(
                    "ok, {} finding(s) sent{}",
                    a.findings_sent,
                    a.last_ok
                        .map(|t| format!(", last at {}", utc(t)))
                        .unwrap_or_default()
                )
            };
            outln!("  {} {}: {line}", a.alert, a.target);
        }
    }
    outln!();
    let zone = &s.schedule_timezone;
    if zone == "UTC" {
        outln!("jobs (times in UTC):");
    } else {
        outln!("jobs (times in UTC; schedules read in {zone}, local time in brackets):");
    }
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
    let width = s.jobs.iter().map(|j| j.name.len()).max().unwrap_or(0);
    let expr_width = s.jobs.iter().map(|j| j.schedule.len()).max().unwrap_or(0);
    for j in &s.jobs {
        let next = match j.next_fire {
            Some(t) if zone == "UTC" => format!("next {}", utc(t)),
            Some(t) => format!(
                "next {} ({})",
                utc(t),
                t.with_timezone(&tz).format("%H:%M %Z")
            ),
            None => "never fires again".into(),
        };
        let last = match j.last_run {
            Some((t, outcome)) => format!("last {} {outcome}", utc(t)),
            None => "never ran".into(),
        };
        outln!(
            "  {:<width$}  {:<expr_width$}  {next}; {last}",
            j.name,
            j.schedule
        );
    }
    if check {
        outln!();
        if s.problems.is_empty() {
            outln!("check: ok");
        } else {
            outln!("check: {} problem(s)", s.problems.len());
            for p in &s.problems {
                outln!("  - {p}");
            }
        }
    }
}

/// `3d 4h`, `5h 12m`, `42s`: how long ago, to two units.
fn ago(d: chrono::TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m {}s", s / 60, s % 60),
        3_600..86_400 => format!("{}h {}m", s / 3_600, s % 3_600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3_600),
    }
}

/// At most `n` characters of `s` on one line, then `…`.
fn clip(s: &str, n: usize) -> String {
    tagpulse_config::clip(&s.replace('\n', " "), n).into_owned()
}
