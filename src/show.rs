//! `tagpulse config`, `tagpulse schedule --list` and `tagpulse status`: what the
//! configuration resolves to (never the password itself), when its jobs fire, and what
//! the recorded runs did.

use chrono::{DateTime, Utc};
use tagpulse_config::{Config, Cron};
use tagpulse_ingest::Source;

/// Prints the resolved configuration.
pub(crate) fn print_config(cfg: &Config, sources: &[Box<dyn Source>]) {
    match &cfg.storage.clickhouse {
        Some(ch) if cfg.storage.backend == tagpulse_config::Backend::Clickhouse => outln!(
            "storage: ClickHouse database {} at {} (user {}, password {}), spool in {}",
            ch.database,
            ch.url,
            ch.user,
            if std::env::var_os(tagpulse_config::CLICKHOUSE_PASSWORD_ENV).is_some() {
                "from TAGPULSE_CLICKHOUSE_PASSWORD"
            } else {
                "none"
            },
            cfg.storage.data_dir.display()
        ),
        _ => outln!(
            "storage: {:?} at {}",
            cfg.storage.backend,
            cfg.storage.data_dir.display()
        ),
    }
    outln!("sources: {}", cfg.sources.len());
    for s in sources {
        outln!("  {}", s.describe());
    }
    outln!(
        "occupations: {} ({} distinct tags)",
        cfg.occupations.len(),
        tagpulse_config::occupations_by_tag(&cfg.occupations).len()
    );
    for b in &cfg.brands {
        outln!(
            "brand: {} ({} tags) vs {}",
            b.name,
            b.tags.len(),
            b.occupations.join(", ")
        );
    }
    outln!(
        "max_gap: {}",
        humantime::format_duration(cfg.transform.max_gap)
    );
    outln!(
        "report: {} (top {})",
        cfg.report.out_dir.display(),
        cfg.report.top_n
    );
}

/// `tagpulse schedule --list`: every job with its expression and next three fire times in
/// the configured zone, after `after`.
pub(crate) fn print_schedule(cfg: &Config, after: DateTime<Utc>) {
    let tz = cfg.schedule.tz();
    outln!("jobs (times in {tz}):");
    let mut jobs: Vec<(String, &Cron)> = cfg
        .sources
        .iter()
        .map(|s| (format!("ingest {}", s.id), &s.schedule))
        .collect();
    jobs.push(("report".into(), &cfg.report.schedule));
    let width = jobs.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let expr_width = jobs.iter().map(|(_, c)| c.expr().len()).max().unwrap_or(0);
    for (name, cron) in jobs {
        let next: Vec<String> = cron
            .after(tz, after)
            .take(3)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S %Z").to_string())
            .collect();
        outln!(
            "  {name:<width$}  {:<expr_width$}  {}",
            cron.expr(),
            next.join(", ")
        );
    }
}

/// `tagpulse status`: the last runs, each source's freshness, the next fire times.
pub(crate) async fn print_status(cfg: Config, runs: usize, check: bool) -> anyhow::Result<()> {
    let now = Utc::now();
    // Status only reads: nothing in it waits on a shutdown.
    let pipeline = crate::open_pipeline(cfg, &tagpulse_ingest::shutdown::Shutdown::new())?;
    let history = pipeline.history()?;
    let cfg = pipeline.config();
    outln!("data: {}", pipeline.describe_store());
    match tagpulse_pipeline::DataDirLock::scheduler_pid(&cfg.storage.data_dir) {
        Some(pid) => outln!("scheduler: running (PID {pid})"),
        None => outln!("scheduler: not running (jobs run from cron or by hand)"),
    }
    outln!();
    if history.runs.is_empty() {
        outln!("last runs: none recorded yet");
    } else {
        outln!("last runs (newest first):");
        for r in history.latest(runs) {
            let secs = (r.finished_at - r.started_at).as_seconds_f64();
            let mut line = format!(
                "  {}  {:<9} {:<8} {:<11} {:>7.1}s  {:>9} rows",
                r.started_at.format("%Y-%m-%d %H:%M:%SZ"),
                r.job,
                r.trigger.as_str(),
                r.outcome.as_str(),
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
    let fresh = pipeline.freshness(&history).await?;
    let problems = tagpulse_pipeline::problems(
        cfg,
        &history,
        &fresh,
        &tagpulse_pipeline::alerts::state::AlertState::all(&cfg.storage.data_dir),
        now,
    );
    if fresh.is_empty() {
        outln!("sources: none configured, nothing stored");
    } else {
        outln!("sources:");
    }
    for f in fresh {
        let newest = match f.newest {
            Some(t) => format!(
                "newest observation {} ({} ago)",
                t.format("%Y-%m-%d %H:%MZ"),
                ago(now - t)
            ),
            None => "nothing stored".into(),
        };
        let last = match &f.last_run {
            Some((r, s)) => {
                let mut tags = format!("{} ok", s.tags_ok);
                if s.tags_failed > 0 {
                    tags.push_str(&format!(
                        ", {} failed ({})",
                        s.tags_failed, s.failed_by_kind
                    ));
                }
                let mut line = format!(
                    "last run {} {}: {}, tags {tags}",
                    r.started_at.format("%Y-%m-%d %H:%MZ"),
                    r.job,
                    s.status
                );
                if !s.message.is_empty() {
                    line.push_str(&format!(": {}", clip(&s.message, 100)));
                }
                line
            }
            // `tagpulse import` stores as source `import` without per-tag results.
            None => match history
                .runs
                .iter()
                .rev()
                .find(|r| r.job == "import" && f.source == "import")
            {
                Some(r) => format!(
                    "last import {}: {}, {} rows",
                    r.started_at.format("%Y-%m-%d %H:%MZ"),
                    r.outcome,
                    r.rows_written
                ),
                None => "no run recorded".into(),
            },
        };
        outln!("  {}: {newest}; {last}", f.source);
        if let (Some((r, _)), Some(ok)) = (&f.last_run, f.last_success) {
            if ok < r.started_at {
                outln!(
                    "    last successful run {} ({} ago)",
                    ok.format("%Y-%m-%d %H:%MZ"),
                    ago(now - ok)
                );
            }
        }
    }
    if !cfg.alerts.is_empty() {
        outln!();
        outln!("alerts:");
        let states = tagpulse_pipeline::alerts::state::AlertState::all(&cfg.storage.data_dir);
        for a in &cfg.alerts {
            let state = states.iter().find(|(id, _)| *id == a.id).map(|(_, s)| s);
            let targets = [
                ("webhook", a.webhook.is_some()),
                ("email", a.email.is_some()),
            ];
            for (name, _) in targets.iter().filter(|(_, on)| *on) {
                let t = state.and_then(|s| s.targets.get(*name));
                let line = match t {
                    None => "nothing sent yet".to_string(),
                    Some(t) if t.failures > 0 => format!(
                        "FAILING: {} delivery(ies) in a row, last at {}: {}",
                        t.failures,
                        t.last_failure
                            .map(|f| f.format("%Y-%m-%d %H:%MZ").to_string())
                            .unwrap_or_default(),
                        clip(t.last_error.as_deref().unwrap_or(""), 120)
                    ),
                    Some(t) => format!(
                        "ok, {} finding(s) sent{}",
                        t.sent.len(),
                        t.last_ok
                            .map(|f| format!(", last at {}", f.format("%Y-%m-%d %H:%MZ")))
                            .unwrap_or_default()
                    ),
                };
                outln!("  {} {name}: {line}", a.id);
            }
        }
    }
    outln!();
    print_schedule(cfg, now);
    if check {
        outln!();
        if problems.is_empty() {
            outln!("check: ok");
        } else {
            outln!("check: {} problem(s)", problems.len());
            for p in &problems {
                outln!("  - {p}");
            }
            anyhow::bail!(
                "status check: {} problem(s), the first: {}",
                problems.len(),
                problems[0]
            );
        }
    }
    Ok(())
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

/// `config --check`: each probe on a line; an error naming the first problem if any.
pub(crate) fn print_preflight(
    probes: &[tagpulse_pipeline::preflight::Probe],
) -> anyhow::Result<()> {
    outln!();
    outln!("check:");
    for p in probes {
        match &p.problem {
            None => outln!("  {}: ok", p.what),
            Some(problem) => outln!("  {}: MISSING: {problem}", p.what),
        }
    }
    let failing: Vec<_> = probes.iter().filter(|p| p.problem.is_some()).collect();
    if let Some(first) = failing.first() {
        anyhow::bail!(
            "config check: {} problem(s), the first: {}: {}",
            failing.len(),
            first.what,
            first.problem.as_deref().unwrap_or_default()
        );
    }
    outln!("  all ready");
    Ok(())
}
