//! The `tagpulse` binary: parses the command line, loads the config, opens the store and
//! wires the stages (ingest -> store -> transform -> store -> report). No metric logic
//! lives here.

mod cli;

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use polars::prelude::*;
use tagpulse_config::{
    iso_week_label, ClickHouseConfig, Config, FileSourceConfig, SourceConfig, DEFAULT_CONFIG_FILE,
};
use tagpulse_ingest::{build_source, sources::file::FileSource, Progress, Source};
use tagpulse_store::{Store, StoreError};
use tagpulse_transform::{series_summary, weekly_tables, Params};
use tracing::{error, info, warn};

use cli::{Cli, Command, DbCommand, ImportArgs, ReportArgs};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = if cli.quiet { "warn" } else { "info" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TAGPULSE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        // Colour only for people: cron and systemd logs get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The loaded config and the store it names.
struct Ctx {
    cfg: Config,
    store: Box<dyn Store>,
}

fn load_config(cli: &Cli) -> Result<Config> {
    let mut cfg = match &cli.config {
        Some(path) => Config::load(path)?,
        None if Path::new(DEFAULT_CONFIG_FILE).is_file() => {
            Config::load(Path::new(DEFAULT_CONFIG_FILE))?
        }
        None => Config::builtin(),
    };
    if let Some(dir) = &cli.data_dir {
        cfg.storage.data_dir = dir.clone();
    }
    Ok(cfg)
}

async fn run(cli: Cli) -> Result<()> {
    let cfg = load_config(&cli)?;
    let command = match cli.command {
        Command::Config => {
            print_config(&cfg);
            return Ok(());
        }
        Command::Db(db) => return run_db(&cfg, db).await,
        other => other,
    };
    let store = tagpulse_store::open(&cfg.storage).with_context(|| {
        format!(
            "cannot open the store in {}",
            cfg.storage.data_dir.display()
        )
    })?;
    let ctx = Ctx { cfg, store };
    match command {
        Command::Import(args) => import(&ctx, args).await,
        Command::Transform => transform(&ctx).await,
        Command::Report(args) => report(&ctx, &args).await,
        Command::Run(args) => run_all(&ctx, &args).await,
        Command::Config | Command::Db(_) => unreachable!("handled above"),
    }
}

async fn run_db(cfg: &Config, command: DbCommand) -> Result<()> {
    if let DbCommand::Schema = command {
        let database = cfg.storage.clickhouse.as_ref().map_or_else(
            || ClickHouseConfig::default().database,
            |c| c.database.clone(),
        );
        print!("{}", tagpulse_store::clickhouse::schema::script(&database));
        return Ok(());
    }
    let store = tagpulse_store::open_clickhouse(&cfg.storage)?;
    let started = Instant::now();
    match command {
        DbCommand::Schema => unreachable!("handled above"),
        DbCommand::Migrate => {
            let done = store.migrate().await?;
            for (version, name) in &done.applied {
                println!("applied migration {version}: {name}");
            }
            println!(
                "{}: schema version {} ({})",
                store.describe(),
                done.version,
                if done.applied.is_empty() {
                    "already current"
                } else {
                    "migrated"
                }
            );
        }
        DbCommand::Status => {
            let st = store.status().await?;
            println!("{}", store.describe());
            println!("server version {}", st.server_version);
            for (version, name, at) in &st.applied {
                println!(
                    "  applied  {version:>3}  {name}  ({})",
                    at.format("%Y-%m-%d %H:%M:%S UTC")
                );
            }
            for (version, name) in &st.pending {
                println!("  pending  {version:>3}  {name}");
            }
            if !st.pending.is_empty() {
                println!("run `tagpulse db migrate` (or any command that writes) to apply the pending migrations");
            }
            for (table, rows) in &st.tables {
                println!("  {table:<26} {rows:>12} rows");
            }
            println!(
                "spool: {} part(s) waiting for delivery in {}",
                st.spooled_parts,
                tagpulse_store::ClickHouseStore::spool_dir(&cfg.storage.data_dir, store.database())
                    .display()
            );
        }
        DbCommand::Export(args) => {
            let moved = store.export_parquet(&args.dir).await?;
            println!(
                "exported {} snapshots, {} daily counts and {} weekly tag rows to the Parquet lake at {} ({:.1}s)",
                moved.snapshots,
                moved.daily,
                moved.weekly_tag_rows,
                args.dir.display(),
                started.elapsed().as_secs_f64()
            );
        }
        DbCommand::ImportParquet(args) => {
            let moved = store.import_parquet(&args.dir).await?;
            println!(
                "imported {} snapshots, {} daily counts and {} weekly tag rows from {} into {} ({:.1}s)",
                moved.snapshots,
                moved.daily,
                moved.weekly_tag_rows,
                args.dir.display(),
                store.describe(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

/// indicatif behind the ingest crate's progress trait; hidden when stderr is no terminal.
struct Bar(ProgressBar);

impl Bar {
    fn new(what: &str) -> Bar {
        let pb = ProgressBar::new(0);
        pb.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")
                .expect("static template")
                .progress_chars("=> "),
        );
        pb.set_message(what.to_string());
        Bar(pb)
    }
}

impl Progress for Bar {
    fn set_total(&self, total: u64) {
        self.0.set_length(total);
    }
    fn advance(&self, delta: u64) {
        self.0.inc(delta);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

async fn import(ctx: &Ctx, args: ImportArgs) -> Result<()> {
    let started = Instant::now();
    let source = FileSource::from_config(&FileSourceConfig {
        id: "import".into(),
        paths: args.paths,
        format: args.format,
        platform: args.platform,
        metric: args.metric,
        tags: None,
        synthetic: false,
    });
    let files = source.resolve_paths()?.len();
    let batch = {
        let bar = Bar::new("reading");
        source.fetch(&[], &bar).await?
    };
    let stats = ctx.store.append(&batch).await?;
    println!(
        "imported {} snapshots and {} daily counts from {files} file(s) into {} in {:.1}s",
        stats.snapshots,
        stats.daily,
        ctx.store.describe(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn params(cfg: &Config) -> Params {
    Params {
        max_gap_secs: cfg.transform.max_gap.as_secs() as i64,
    }
}

async fn transform(ctx: &Ctx) -> Result<()> {
    let started = Instant::now();
    let snaps = ctx.store.scan_snapshots().await?;
    let daily = ctx.store.scan_daily().await?;
    let tables = weekly_tables(
        snaps,
        daily,
        &params(&ctx.cfg),
        &ctx.cfg.occupations,
        &ctx.cfg.brands,
    )?;
    ctx.store.write_weekly(&tables).await?;
    println!(
        "weekly tables: {} tag rows, {} occupation rows, {} brand rows ({:.1}s)",
        tables.tags.height(),
        tables.occupations.height(),
        tables.brands.height(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Distinct source ids among the stored observations.
async fn stored_sources(store: &dyn Store) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for lf in [store.scan_snapshots().await?, store.scan_daily().await?] {
        let df = lf
            .select([col("source")])
            .unique(None, UniqueKeepStrategy::Any)
            .collect()?;
        ids.extend(
            df.column("source")?
                .str()?
                .iter()
                .flatten()
                .map(str::to_string),
        );
    }
    ids.sort();
    ids.dedup();
    Ok(ids)
}

async fn report(ctx: &Ctx, args: &ReportArgs) -> Result<()> {
    let tables = ctx.store.read_weekly().await?;
    if tables.tags.height() == 0 {
        bail!(
            "no observations stored in {} yet: import files with `tagpulse import` or configure [[sources]] (see README)",
            ctx.cfg.storage.data_dir.display()
        );
    }
    let week = match args.week.or(ctx.cfg.report.week) {
        Some(w) => w,
        None => tables
            .latest_complete_week()
            .context("no complete week in the data yet: a week is complete once an observation after its end exists")?,
    };
    let p = params(&ctx.cfg);
    let series = series_summary(
        ctx.store.scan_snapshots().await?,
        ctx.store.scan_daily().await?,
        &p,
    )?
    .collect()?;
    let sources = stored_sources(ctx.store.as_ref()).await?;
    let synthetic = ctx.cfg.sources.iter().any(|s| match s {
        SourceConfig::File(f) => f.synthetic && sources.contains(&f.id),
    });
    let files = tagpulse_report::render(&tagpulse_report::ReportInput {
        tables: &tables,
        series: &series,
        occupations: &ctx.cfg.occupations,
        brands: &ctx.cfg.brands,
        week,
        top_n: ctx.cfg.report.top_n,
        max_gap_secs: p.max_gap_secs,
        sources,
        synthetic,
        generated_at: chrono::Utc::now(),
    })?;
    let out_dir = args
        .out_dir
        .clone()
        .unwrap_or_else(|| ctx.cfg.report.out_dir.clone());
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let dir = files.write_to(&out_dir)?;
    write_index(&out_dir)?;
    println!(
        "report for {} written to {}",
        iso_week_label(week),
        dir.join("index.html").display()
    );
    Ok(())
}

/// Rewrites `<out_dir>/index.html` from the week folders present.
fn write_index(out_dir: &Path) -> Result<()> {
    let mut weeks: Vec<String> = std::fs::read_dir(out_dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("index.html").is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| tagpulse_config::parse_iso_week(n).is_ok())
        .collect();
    weeks.sort_by(|a, b| b.cmp(a));
    let path = out_dir.join("index.html");
    std::fs::write(&path, tagpulse_report::index_page(&weeks))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

async fn run_all(ctx: &Ctx, args: &ReportArgs) -> Result<()> {
    let started = Instant::now();
    if ctx.cfg.sources.is_empty() {
        warn!("no [[sources]] configured: computing from the stored observations only");
    }
    let tracked = ctx.cfg.tracked_tags();
    let mut failed: Vec<String> = Vec::new();
    for cfg in &ctx.cfg.sources {
        let source = build_source(cfg);
        let tags = cfg
            .tags()
            .map(<[_]>::to_vec)
            .unwrap_or_else(|| tracked.clone());
        let bar = Bar::new(source.id());
        let fetched = source.fetch(&tags, &bar).await;
        drop(bar);
        match fetched {
            Ok(batch) => match ctx.store.append(&batch).await {
                Ok(stats) => info!(
                    source = source.id(),
                    snapshots = stats.snapshots,
                    daily = stats.daily,
                    "stored"
                ),
                // Safe on disk, not in the store yet: the other sources still run.
                Err(e @ StoreError::Spooled { .. }) => {
                    error!(source = source.id(), "{e}");
                    failed.push(format!("{}: {e}", source.id()));
                }
                Err(e) => return Err(e.into()),
            },
            Err(e) => {
                // One broken source must not hold back the report from the others; the
                // job still exits non-zero so the scheduler sees it.
                error!(source = source.id(), "source failed: {e}");
                failed.push(format!("{}: {e}", source.id()));
            }
        }
    }
    let outcome = async {
        transform(ctx).await?;
        report(ctx, args).await
    }
    .await;
    if let Err(e) = outcome {
        if failed.is_empty() {
            return Err(e);
        }
        return Err(e.context(format!(
            "{} source(s) failed and then the weekly tables could not be computed:\n  {}",
            failed.len(),
            failed.join("\n  ")
        )));
    }
    if !failed.is_empty() {
        bail!(
            "{} source(s) failed (the report uses the data stored so far):\n  {}",
            failed.len(),
            failed.join("\n  ")
        );
    }
    info!("run finished in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}

fn print_config(cfg: &Config) {
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
    for s in &cfg.sources {
        match s {
            SourceConfig::File(f) => println!(
                "  {} (file): {} [{}/{}]{}",
                f.id,
                f.paths.join(", "),
                f.platform,
                f.metric,
                if f.synthetic { " synthetic" } else { "" }
            ),
        }
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
