//! The findings each rule yields: from the weekly tables (the latest complete week) and
//! from the run history. Each finding has a key that names it for good, so it is sent once.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use tagpulse_config::{iso_week_label, AlertConfig, Rule};
use tagpulse_model::rows::{brand_rows, occupation_rows, tag_rows, BrandRow};
use tagpulse_model::WeeklyTables;
use tagpulse_report::format::{human, pct, share};

use crate::runs::{Outcome, RunHistory, Trigger};
use crate::PipelineError;

/// Something an alert entry tells people about.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The rule that found it.
    pub rule: Rule,
    /// Names the finding for good (rule, subject, week or run).
    pub key: String,
    /// One line for people.
    pub text: String,
    /// The subject: a tag, an occupation, a brand/occupation pair, a source, a job.
    pub subject: String,
    /// The ISO week it concerns (weekly rules).
    pub week: Option<String>,
    /// The value that triggered it (growth, z, share change, hours), when there is one.
    pub value: Option<f64>,
}

/// What the rules look at.
pub struct Inputs<'a> {
    /// The weekly tables, when computed.
    pub tables: Option<&'a WeeklyTables>,
    /// The run history, for the run-failure and staleness rules.
    pub history: &'a RunHistory,
    /// The configured sources' ids.
    pub sources: &'a [String],
    /// Now.
    pub now: DateTime<Utc>,
    /// Failed runs before this are not alerted (the entry's first evaluation).
    pub since: DateTime<Utc>,
}

/// The findings of `alert`'s rules, in rule order.
pub fn evaluate(alert: &AlertConfig, input: &Inputs) -> Result<Vec<Finding>, PipelineError> {
    let mut out = Vec::new();
    let week = input.tables.and_then(|t| t.latest_complete_week());
    // No weekly tables or no complete week yet: nothing to say about the data.
    let data = input.tables.zip(week);
    for rule in &alert.on {
        // Every rule by name, no catch-all: a new rule does not compile until it is
        // handled here.
        match rule {
            Rule::Breakout => {
                if let Some((t, w)) = data {
                    breakouts(alert.min_gained, t, w, &mut out)?
                }
            }
            Rule::WowAbove | Rule::WowBelow => {
                if let Some((t, w)) = data {
                    wow(*rule, alert, t, w, &mut out)?
                }
            }
            Rule::BrandShareChange => {
                if let Some((t, w)) = data {
                    share_changes(alert, t, w, &mut out)?
                }
            }
            Rule::SourceSilent => silent(alert.silent_hours, input, &mut out),
            Rule::RunFailed => failed_runs(input, alert.on_cli, &mut out),
        }
    }
    Ok(out)
}

fn series(platform: &str, metric: &str) -> String {
    format!("{platform} {metric}")
}

/// True when `gained` reaches the entry's `min_gained` (always, when that is 0).
fn big_enough(gained: Option<f64>, min_gained: f64) -> bool {
    min_gained <= 0.0 || gained.is_some_and(|g| g >= min_gained)
}

/// "grew 12.0%" or "fell 44.0%": a change in words, never "grew -44%".
fn change_words(growth: f64) -> String {
    if growth < 0.0 {
        format!("fell {:.1}%", -growth * 100.0)
    } else {
        format!("grew {:.1}%", growth * 100.0)
    }
}

fn breakouts(
    min_gained: f64,
    t: &WeeklyTables,
    w: NaiveDate,
    out: &mut Vec<Finding>,
) -> Result<(), PipelineError> {
    let label = iso_week_label(w);
    for r in tag_rows(&t.tags)?
        .into_iter()
        .filter(|r| r.week_start == w && r.breakout && big_enough(r.gained, min_gained))
    {
        out.push(Finding {
            rule: Rule::Breakout,
            key: format!("breakout|tag|{}|{}|{}|{label}", r.platform, r.metric, r.tag),
            text: format!(
                "#{} broke out in {label} ({}): {} gained, z = {:.1}",
                r.tag,
                series(&r.platform, &r.metric),
                human(r.gained),
                r.z.unwrap_or(f64::NAN)
            ),
            subject: format!("#{}", r.tag),
            week: Some(label.clone()),
            value: r.z,
        });
    }
    for r in occupation_rows(&t.occupations)?
        .into_iter()
        .filter(|r| r.week_start == w && r.breakout && big_enough(r.gained, min_gained))
    {
        out.push(Finding {
            rule: Rule::Breakout,
            key: format!(
                "breakout|occupation|{}|{}|{}|{label}",
                r.platform, r.metric, r.occupation
            ),
            text: format!(
                "{} broke out in {label} ({}): {} gained, z = {:.1}",
                r.occupation,
                series(&r.platform, &r.metric),
                human(r.gained),
                r.z.unwrap_or(f64::NAN)
            ),
            subject: r.occupation,
            week: Some(label.clone()),
            value: r.z,
        });
    }
    Ok(())
}

fn wow(
    rule: Rule,
    alert: &AlertConfig,
    t: &WeeklyTables,
    w: NaiveDate,
    out: &mut Vec<Finding>,
) -> Result<(), PipelineError> {
    let label = iso_week_label(w);
    // A change within the counter's rounding is no rise or fall to alert on.
    for r in occupation_rows(&t.occupations)?.into_iter().filter(|r| {
        r.week_start == w && !r.within_rounding && big_enough(r.gained, alert.min_gained)
    }) {
        let Some(g) = r.wow_growth else {
            continue;
        };
        let (hit, bound) = match rule {
            Rule::WowAbove => (
                g > alert.wow_above,
                format!("above {}", pct(Some(alert.wow_above))),
            ),
            _ => (
                g < alert.wow_below,
                format!("below {}", pct(Some(alert.wow_below))),
            ),
        };
        if hit {
            out.push(Finding {
                rule,
                key: format!(
                    "{rule}|{}|{}|{}|{label}",
                    r.platform, r.metric, r.occupation
                ),
                text: format!(
                    "{} {} week over week in {label} ({}; {bound}): {} gained",
                    r.occupation,
                    change_words(g),
                    series(&r.platform, &r.metric),
                    human(r.gained)
                ),
                subject: r.occupation,
                week: Some(label.clone()),
                value: Some(g),
            });
        }
    }
    Ok(())
}

fn share_changes(
    alert: &AlertConfig,
    t: &WeeklyTables,
    w: NaiveDate,
    out: &mut Vec<Finding>,
) -> Result<(), PipelineError> {
    let threshold = alert.brand_share_change;
    let label = iso_week_label(w);
    let rows = brand_rows(&t.brands)?;
    // The share of an occupation that gained too little to matter is noise.
    let occupation_gained: std::collections::HashMap<(String, String, String), Option<f64>> =
        occupation_rows(&t.occupations)?
            .into_iter()
            .filter(|r| r.week_start == w)
            .map(|r| ((r.platform, r.metric, r.occupation), r.gained))
            .collect();
    let before = w - Duration::days(7);
    let same = |a: &BrandRow, b: &BrandRow| {
        (&a.platform, &a.metric, &a.brand, &a.occupation)
            == (&b.platform, &b.metric, &b.brand, &b.occupation)
    };
    for now in rows.iter().filter(|r| r.week_start == w) {
        let key = (
            now.platform.clone(),
            now.metric.clone(),
            now.occupation.clone(),
        );
        if !big_enough(
            occupation_gained.get(&key).copied().flatten(),
            alert.min_gained,
        ) {
            continue;
        }
        let Some(prev) = rows.iter().find(|r| r.week_start == before && same(r, now)) else {
            continue;
        };
        let (Some(a), Some(b)) = (prev.brand_share, now.brand_share) else {
            continue;
        };
        let change = b - a;
        if change.abs() >= threshold {
            out.push(Finding {
                rule: Rule::BrandShareChange,
                key: format!(
                    "brand_share_change|{}|{}|{}|{}|{label}",
                    now.platform, now.metric, now.brand, now.occupation
                ),
                text: format!(
                    "{}'s share of {} went from {} to {} in {label} ({:+.1} points; {})",
                    now.brand,
                    now.occupation,
                    share(Some(a)),
                    share(Some(b)),
                    change * 100.0,
                    series(&now.platform, &now.metric)
                ),
                subject: format!("{} / {}", now.brand, now.occupation),
                week: Some(label.clone()),
                value: Some(change),
            });
        }
    }
    Ok(())
}

fn silent(hours: u32, input: &Inputs, out: &mut Vec<Finding>) {
    for id in input.sources {
        // Silent since its last success, or since it was first asked if it never delivered.
        let since = input.history.source_success(id).or_else(|| {
            input
                .history
                .runs
                .iter()
                .find(|r| r.sources.iter().any(|s| &s.source == id))
                .map(|r| r.started_at)
        });
        let Some(since) = since else {
            continue;
        };
        let silent = input.now - since;
        if silent > Duration::hours(hours as i64) {
            let h = silent.num_minutes() as f64 / 60.0;
            out.push(Finding {
                rule: Rule::SourceSilent,
                key: format!("source_silent|{id}|{}", since.to_rfc3339()),
                text: format!(
                    "source {id} has not delivered for {h:.0} hours (since {}; threshold {hours} h)",
                    since.format("%Y-%m-%d %H:%M UTC")
                ),
                subject: id.clone(),
                week: None,
                value: Some(h),
            });
        }
    }
}

/// Failed runs since the last evaluation: the scheduler's, and with `on_cli` those
/// started by hand or by cron too.
fn failed_runs(input: &Inputs, on_cli: bool, out: &mut Vec<Finding>) {
    for r in input
        .history
        .runs
        .iter()
        .filter(|r| r.outcome == Outcome::Failed && r.started_at >= input.since)
        .filter(|r| on_cli || r.trigger != Trigger::Cli)
    {
        out.push(Finding {
            rule: Rule::RunFailed,
            key: format!("run_failed|{}", r.run_id),
            text: format!(
                "{} ({}) failed at {}: {}",
                r.job,
                r.trigger.as_str(),
                r.started_at.format("%Y-%m-%d %H:%M UTC"),
                r.message
            ),
            subject: r.job.clone(),
            week: None,
            value: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::{RunRecord, SourceRecord, Trigger};

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn run(at: &str, outcome: Outcome, source: &str, status: &str) -> RunRecord {
        let mut r = RunRecord::start("ingest", Trigger::Schedule).finish(outcome, 0, "boom".into());
        r.started_at = t(at);
        r.run_id = format!("r-{at}");
        r.sources = vec![SourceRecord {
            source: source.into(),
            status: status.into(),
            observations: 0,
            tags_ok: 0,
            tags_failed: 0,
            failed_by_kind: String::new(),
            message: String::new(),
        }];
        r
    }

    fn alert(on: Vec<Rule>, silent_hours: u32) -> AlertConfig {
        let text = format!(
            "[[alerts]]\nid = \"a\"\non = {:?}\nsilent_hours = {silent_hours}\nwebhook = {{ url = \"http://x\" }}\n",
            on.iter().map(|r| r.as_str()).collect::<Vec<_>>()
        );
        tagpulse_config::Config::from_toml(&text, "t.toml")
            .unwrap()
            .alerts
            .remove(0)
    }

    #[test]
    fn a_source_without_success_for_n_hours_is_silent_once_per_silence() {
        let history = RunHistory {
            runs: vec![
                run("2026-11-20T00:00:00Z", Outcome::Ok, "tt", "stored"),
                run("2026-11-20T06:00:00Z", Outcome::Failed, "tt", "failed"),
                run("2026-11-20T12:00:00Z", Outcome::Failed, "tt", "failed"),
                run("2026-11-20T06:00:00Z", Outcome::Failed, "never", "failed"),
                run("2026-11-20T11:00:00Z", Outcome::Ok, "fresh", "stored"),
            ],
        };
        let sources = [
            "tt".to_string(),
            "never".into(),
            "fresh".into(),
            "unrun".into(),
        ];
        let input = |now: &str| Inputs {
            tables: None,
            history: &history,
            sources: &sources,
            now: t(now),
            since: t("2026-11-20T05:00:00Z"),
        };
        let a = alert(vec![Rule::SourceSilent], 12);
        let found = evaluate(&a, &input("2026-11-20T13:00:00Z")).unwrap();
        let keys: Vec<&str> = found.iter().map(|f| f.key.as_str()).collect();
        // tt: 13 h since its last success; never: 7 h since it was first asked.
        assert_eq!(keys, ["source_silent|tt|2026-11-20T00:00:00+00:00"]);
        assert_eq!(found[0].value, Some(13.0));
        let later = evaluate(&a, &input("2026-11-20T20:00:00Z")).unwrap();
        let keys: Vec<&str> = later.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "source_silent|tt|2026-11-20T00:00:00+00:00",
                "source_silent|never|2026-11-20T06:00:00+00:00"
            ]
        );
    }

    #[test]
    fn a_failed_run_started_by_hand_pages_only_entries_with_on_cli() {
        let mut by_hand = run("2026-11-20T06:00:00Z", Outcome::Failed, "tt", "failed");
        by_hand.trigger = Trigger::Cli;
        let scheduled = run("2026-11-20T07:00:00Z", Outcome::Failed, "tt", "failed");
        let history = RunHistory {
            runs: vec![by_hand, scheduled],
        };
        let inputs = Inputs {
            tables: None,
            history: &history,
            sources: &[],
            now: t("2026-11-20T08:00:00Z"),
            since: t("2026-11-20T05:00:00Z"),
        };
        let mut entry = alert(vec![Rule::RunFailed], 24);
        let keys = |e: &AlertConfig| -> Vec<String> {
            evaluate(e, &inputs)
                .unwrap()
                .into_iter()
                .map(|f| f.key)
                .collect()
        };
        assert_eq!(keys(&entry), ["run_failed|r-2026-11-20T07:00:00Z"]);
        entry.on_cli = true;
        assert_eq!(
            keys(&entry),
            [
                "run_failed|r-2026-11-20T06:00:00Z",
                "run_failed|r-2026-11-20T07:00:00Z"
            ]
        );
    }

    #[test]
    fn failed_runs_since_the_first_evaluation_are_alerted_by_run() {
        let history = RunHistory {
            runs: vec![
                run("2026-11-20T00:00:00Z", Outcome::Failed, "tt", "failed"),
                run("2026-11-20T06:00:00Z", Outcome::Failed, "tt", "failed"),
                run("2026-11-20T07:00:00Z", Outcome::Partial, "tt", "stored"),
            ],
        };
        let found = evaluate(
            &alert(vec![Rule::RunFailed, Rule::Breakout], 24),
            &Inputs {
                tables: None,
                history: &history,
                sources: &[],
                now: t("2026-11-20T08:00:00Z"),
                since: t("2026-11-20T05:00:00Z"),
            },
        )
        .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].key, "run_failed|r-2026-11-20T06:00:00Z");
        assert_eq!(
            found[0].text,
            "ingest (schedule) failed at 2026-11-20 06:00 UTC: boom"
        );
    }

    #[test]
    fn wow_alerts_say_fell_skip_rounding_and_respect_min_gained() {
        use polars::prelude::*;
        use tagpulse_model::tables::{OccupationRow, TableRow};
        // Weeks from 2026-11-02 (W45); W47 holds the newest rows, so W46 is reported.
        let (w45, w46, w47) = (20_759i32, 20_766, 20_773);
        let date = |v: Vec<i32>| {
            Column::new("week_start".into(), v)
                .cast(&DataType::Date)
                .unwrap()
        };
        let tags = DataFrame::new_infer_height(vec![
            date(vec![w45, w46, w47]),
            Column::new("gained".into(), [Some(1.0), Some(1.0), None]),
        ])
        .unwrap();
        // A: 100 -> 56 (fell 44%); B: 30M -> 40M, one 10M rounding step (+33%, within
        // rounding); C: 10 -> 30 (+200%) but below min_gained.
        let names = ["A", "B", "C", "A", "B", "C"];
        let weeks = [w45, w45, w45, w46, w46, w46];
        let gained = [100.0, 30e6, 10.0, 56.0, 40e6, 30.0];
        let res = [1.0, 1e7, 1.0, 1.0, 1e7, 1.0];
        let wow = [None, None, None, Some(-0.44), Some(1.0 / 3.0), Some(2.0)];
        let rows: Vec<OccupationRow> = (0..6)
            .map(|i| OccupationRow {
                platform: "tiktok".into(),
                occupation: names[i].into(),
                metric: "views".into(),
                week_start: tagpulse_model::date_from_days(weeks[i]).unwrap(),
                gained: Some(gained[i]),
                tags_reporting: 1,
                tags_total: 1,
                resolution: Some(res[i]),
                wow_growth: wow[i],
                ..Default::default()
            })
            .collect();
        let occ = OccupationRow::to_frame(&rows).unwrap();
        let tables = WeeklyTables {
            tags,
            occupations: occ,
            brands: DataFrame::empty(),
            occupation_tags: DataFrame::empty(),
        };
        let text = "[[alerts]]\nid = \"a\"\non = [\"wow_above\", \"wow_below\"]\nwow_above = 0.1\nwow_below = -0.1\nmin_gained = 50\nwebhook = { url = \"http://x\" }\n";
        let history = RunHistory { runs: vec![] };
        let findings = |text: &str| {
            let a = tagpulse_config::Config::from_toml(text, "t.toml")
                .unwrap()
                .alerts
                .remove(0);
            let input = Inputs {
                tables: Some(&tables),
                history: &history,
                sources: &[],
                now: t("2026-11-25T00:00:00Z"),
                since: t("2026-11-25T00:00:00Z"),
            };
            evaluate(&a, &input).unwrap()
        };
        let found = findings(text);
        let texts: Vec<&str> = found.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(
            texts,
            ["A fell 44.0% week over week in 2026-W46 (tiktok views; below -10.0%): 56 gained"]
        );
        // Without the floor C (+200%, 30 gained) alerts too; B never does (rounding).
        let loose = text.replace("min_gained = 50\n", "");
        let found = findings(&loose);
        let subjects: Vec<&str> = found.iter().map(|f| f.subject.as_str()).collect();
        assert_eq!(subjects, ["C", "A"]);
    }
}
