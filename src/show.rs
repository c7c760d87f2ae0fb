//! `tagpulse config` and `tagpulse schedule --list`: what the configuration resolves to
//! (never the password itself) and when its jobs fire.

use chrono::{DateTime, Utc};
use tagpulse_config::{Config, Cron};
use tagpulse_ingest::Source;

/// Prints the resolved configuration.
pub fn print_config(cfg: &Config, sources: &[Box<dyn Source>]) {
    match &cfg.storage.clickhouse {
        Some(ch) if cfg.storage.backend == tagpulse_config::Backend::Clickhouse => println!(
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
        _ => println!(
            "storage: {:?} at {}",
            cfg.storage.backend,
            cfg.storage.data_dir.display()
        ),
    }
    println!("sources: {}", cfg.sources.len());
    for s in sources {
        println!("  {}", s.describe());
    }
    println!(
        "occupations: {} ({} distinct tags)",
        cfg.occupations.len(),
        tagpulse_config::occupations_by_tag(&cfg.occupations).len()
    );
    for b in &cfg.brands {
        println!(
            "brand: {} ({} tags) vs {}",
            b.name,
            b.tags.len(),
            b.occupations.join(", ")
        );
    }
    println!(
        "max_gap: {}",
        humantime::format_duration(cfg.transform.max_gap)
    );
    println!(
        "report: {} (top {})",
        cfg.report.out_dir.display(),
        cfg.report.top_n
    );
}

/// `tagpulse schedule --list`: every job with its expression and next three fire times in
/// the configured zone, after `after`.
pub fn print_schedule(cfg: &Config, after: DateTime<Utc>) {
    let tz = cfg.schedule.tz();
    println!("jobs (times in {tz}):");
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
        println!(
            "  {name:<width$}  {:<expr_width$}  {}",
            cron.expr(),
            next.join(", ")
        );
    }
}
