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
    outln!(
        "lock_timeout: {}",
        humantime::format_duration(cfg.storage.lock_timeout)
    );
    outln!("sources: {}", cfg.sources.len());
    for (s, entry) in sources.iter().zip(&cfg.sources) {
        outln!("  {}", s.describe());
        let min = entry
            .min_interval
            .map(|d| format!(", min_interval {}", humantime::format_duration(d)))
            .unwrap_or_default();
        outln!("    schedule {}{min}", entry.schedule.expr());
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
    let r = &cfg.report;
    outln!(
        "report: {} (top {}, language {}, schedule {}, week {}{}{})",
        r.out_dir.display(),
        r.top_n,
        r.language.code(),
        r.schedule.expr(),
        r.week
            .map(tagpulse_config::iso_week_label)
            .unwrap_or_else(|| "latest complete".into()),
        r.base_url
            .as_ref()
            .map(|u| format!(", base_url {u}"))
            .unwrap_or_default(),
        r.csv_delimiter
            .map(|c| format!(", csv_delimiter {c:?}"))
            .unwrap_or_default(),
    );
    let sched = &cfg.schedule;
    outln!(
        "schedule: timezone {}, grace_period {}, metrics {}",
        sched.tz(),
        humantime::format_duration(sched.grace_period),
        sched
            .metrics_addr
            .map(|a| format!("on {a}"))
            .unwrap_or_else(|| "off".into())
    );
    // Targets are named by the variable that holds them: a webhook URL is a secret.
    for a in &cfg.alerts {
        let rules: Vec<&str> = a.on.iter().map(|r| r.as_str()).collect();
        let mut targets = Vec::new();
        if let Some(w) = &a.webhook {
            targets.push(match (&w.url_env, &w.url) {
                (Some(env), _) => format!("webhook from ${env}"),
                (None, Some(_)) => "webhook (url in the config, not shown)".to_string(),
                (None, None) => "webhook".to_string(),
            });
        }
        if let Some(e) = &a.email {
            targets.push(format!("e-mail to {}", e.to.join(", ")));
        }
        outln!(
            "alert {}: on {}; {}{}",
            a.id,
            rules.join(", "),
            targets.join(" and "),
            if a.on_cli { "; on_cli" } else { "" }
        );
    }
    if let Some(m) = &cfg.smtp {
        outln!(
            "smtp: {}{} ({:?}), user {}, password from ${}, from {}",
            m.host,
            m.port.map(|p| format!(":{p}")).unwrap_or_default(),
            m.security,
            m.user.as_deref().unwrap_or("none"),
            m.password_env,
            m.from
        );
    }
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
