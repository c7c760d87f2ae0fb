//! The `tagpulse` binary: parses the command line, sets up logging and progress bars, runs
//! the pipeline's jobs and maps their outcomes to messages and exit codes. No pipeline
//! policy and no metric logic live here (see `tagpulse-pipeline`).

mod cli;
mod db;
mod show;
mod sources_cmd;

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use tagpulse_config::{iso_week_label, Config, DEFAULT_CONFIG_FILE};
use tagpulse_ingest::Progress;
use tagpulse_pipeline::{
    DataDirLock, ImportRequest, Pipeline, PipelineError, ProgressSink, RenderRequest,
};
use tracing::{info, warn};

use cli::{Cli, Command, ReportArgs};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = if cli.quiet { "warn" } else { "info" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TAGPULSE_LOG")
                // chromiumoxide warns about DevTools events newer than its bindings.
                .unwrap_or_else(|_| {
                    tracing_subscriber::EnvFilter::new(format!("{level},chromiumoxide=error"))
                }),
        )
        .with_writer(std::io::stderr)
        // Colour only for people: cron and systemd logs get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    // A browser source closes Chromium on Ctrl-C / SIGTERM instead of orphaning it.
    tagpulse_ingest::interrupt::listen();
    let result = run(cli).await;
    if let Err(e) = &result {
        eprintln!("error: {e:#}");
    }
    if tagpulse_ingest::interrupt::is_requested() {
        return ExitCode::from(130);
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
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

fn render_request(args: &ReportArgs) -> RenderRequest {
    RenderRequest {
        week: args.week,
        out_dir: args.out_dir.clone(),
    }
}

async fn run(cli: Cli) -> Result<()> {
    let cfg = load_config(&cli)?;
    let command = match cli.command {
        Command::Config => {
            // The sources' own sections are validated by their components.
            let sources = tagpulse_ingest::sources::build_all(&cfg)?;
            show::print_config(&cfg, &sources);
            return Ok(());
        }
        Command::Db(db) => return db::run(&cfg, db).await,
        Command::Schedule(args) => {
            if !args.list {
                bail!("the long-running scheduler is not in this version yet: run the one-shot commands from cron or a systemd timer (README: Scheduling); `tagpulse schedule --list` shows the configured fire times");
            }
            show::print_schedule(&cfg, args.after.unwrap_or_else(chrono::Utc::now));
            return Ok(());
        }
        other => other,
    };
    let data_dir = cfg.storage.data_dir.clone();
    // Every command below but `sources check` writes: one tagpulse process at a time.
    let _lock = match command {
        Command::Sources(_) => None,
        _ => Some(DataDirLock::acquire(&data_dir, cfg.storage.lock_timeout).await?),
    };
    let pipeline = Pipeline::open(cfg).map_err(|e| match e {
        // A bad source section is a config error: it names its own file and line.
        PipelineError::Config(e) => anyhow::Error::new(e),
        e => anyhow::Error::new(e)
            .context(format!("cannot open the store in {}", data_dir.display())),
    })?;
    let started = Instant::now();
    match command {
        Command::Import(args) => {
            let out = pipeline
                .import(
                    ImportRequest {
                        paths: args.paths,
                        format: args.format,
                        platform: args.platform,
                        metric: args.metric,
                    },
                    &Bars,
                )
                .await?;
            println!(
                "imported {} snapshots and {} daily counts from {} file(s) into {} in {:.1}s",
                out.snapshots,
                out.daily,
                out.files,
                out.store,
                started.elapsed().as_secs_f64()
            );
        }
        Command::Ingest(args) => sources_cmd::ingest(&pipeline, args).await?,
        Command::Backfill(args) => sources_cmd::backfill(&pipeline, args).await?,
        Command::Sources(cli::SourcesCommand::Check(args)) => {
            sources_cmd::check(&pipeline, args).await?
        }
        Command::Transform => {
            let out = pipeline.recompute().await?;
            println!(
                "weekly tables: {} tag rows, {} occupation rows, {} brand rows ({:.1}s)",
                out.tag_rows,
                out.occupation_rows,
                out.brand_rows,
                started.elapsed().as_secs_f64()
            );
        }
        Command::Report(args) => {
            let out = pipeline.render(&render_request(&args)).await?;
            print_report(&out);
        }
        Command::Run(args) => {
            if pipeline.sources().is_empty() {
                warn!("no [[sources]] configured: computing from the stored observations only");
            }
            let out = pipeline.run(&render_request(&args), &Bars).await;
            if let Ok(r) = &out.recompute {
                println!(
                    "weekly tables: {} tag rows, {} occupation rows, {} brand rows",
                    r.tag_rows, r.occupation_rows, r.brand_rows
                );
            }
            if let Some(Ok(r)) = &out.render {
                print_report(r);
            }
            if let Some(failure) = out.failure() {
                bail!(failure);
            }
            info!("run finished in {:.1}s", started.elapsed().as_secs_f64());
        }
        Command::Config | Command::Db(_) | Command::Schedule(_) => {
            unreachable!("handled above")
        }
    }
    Ok(())
}

fn print_report(out: &tagpulse_pipeline::RenderOutcome) {
    println!(
        "report for {} written to {}",
        iso_week_label(out.week),
        out.dir.join("index.html").display()
    );
}

/// indicatif bars for the pipeline's progress; hidden when stderr is no terminal.
struct Bars;

impl ProgressSink for Bars {
    fn start(&self, what: &str) -> Box<dyn Progress> {
        let pb = ProgressBar::new(0);
        pb.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {percent}% ({eta})")
                .expect("static template")
                .progress_chars("=> "),
        );
        pb.set_message(what.to_string());
        Box::new(Bar(pb))
    }
}

struct Bar(ProgressBar);

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
