//! `tagpulse config`: what the configuration resolves to (never the password itself).

use tagpulse_config::Config;
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
