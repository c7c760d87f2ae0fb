//! The `tagpulse` binary: parses the command line, sets up logging and progress bars, hands
//! each command to the pipeline ([`Pipeline::run_job`] for the jobs) and maps the outcome
//! to messages and exit codes. No pipeline policy and no metric logic live here.

#[macro_use]
mod out;
mod bars;
mod cli;
mod db;
mod logging;
mod printed;
mod show;
mod sources_cmd;
mod status;

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Parser;
use tagpulse_config::{Config, DEFAULT_CONFIG_FILE};
use tagpulse_ingest::shutdown::Shutdown;
use tagpulse_pipeline::runs::Trigger;
use tagpulse_pipeline::{
    BackfillRequest, CompareRequest, ImportRequest, Job, Pipeline, PipelineError, RenderRequest,
};
use tracing::info;

use cli::{Cli, Command, ReportArgs, SourcesCommand};

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(&cli);
    // A browser source closes Chromium on Ctrl-C / SIGTERM instead of orphaning it.
    let shutdown = Shutdown::new();
    shutdown.listen();
    // For the scheduler a signal is the normal way to stop: exit 0 once it stopped cleanly.
    let daemon = matches!(&cli.command, Command::Schedule(a) if !a.list);
    let result = run(cli, &shutdown).await;
    if let Err(e) = &result {
        eprintln!("error: {}", tagpulse_pipeline::chain_line(e.chain()));
    }
    // 128 + the signal, as a shell reports a process the signal ended.
    if let Some(code) = shutdown.exit_code().filter(|_| !daemon) {
        return ExitCode::from(code);
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A week that cannot be reported is a usage error, like a bad flag.
        Err(e)
            if e.chain().any(|c| {
                matches!(
                    c.downcast_ref::<PipelineError>(),
                    Some(PipelineError::WeekNotReportable { .. } | PipelineError::Usage(_))
                )
            }) =>
        {
            ExitCode::from(2)
        }
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
        allow_incomplete: args.allow_incomplete,
        language: args.language,
    }
}

async fn run(cli: Cli, shutdown: &Shutdown) -> Result<()> {
    let cfg = load_config(&cli)?;
    let job = match cli.command {
        Command::Config(args) => {
            // The sources' own sections are validated by their components.
            let sources = tagpulse_ingest::sources::build_all(&cfg)?;
            show::print_config(&cfg, &sources);
            if args.check {
                show::print_preflight(
                    &tagpulse_pipeline::preflight::preflight(&cfg, &sources).await,
                )?;
            }
            return Ok(());
        }
        Command::Db(db) => return db::run(&cfg, db).await,
        Command::Schedule(args) if args.list => {
            show::print_schedule(&cfg, args.after.unwrap_or_else(chrono::Utc::now));
            return Ok(());
        }
        Command::Schedule(_) => return schedule(cfg, shutdown).await,
        Command::Status(args) => return status::print(cfg, args.runs, args.check, args.json).await,
        // Reads the weekly tables and writes charts apart from the data: no lock, no record.
        Command::Compare(args) => {
            let files = open_pipeline(cfg, shutdown)?
                .compare(CompareRequest {
                    tags: args.tags,
                    platform: args.platform,
                    metric: args.metric,
                    weeks: args.weeks,
                    out_dir: args.out_dir,
                    language: args.language,
                })
                .await?;
            printed::compared(&files);
            return Ok(());
        }
        // Reads and stores nothing: no lock, no record.
        Command::Sources(SourcesCommand::Check(args)) => {
            return sources_cmd::check(&open_pipeline(cfg, shutdown)?, args).await
        }
        Command::Import(args) => Job::Import(ImportRequest {
            paths: args.paths,
            format: args.format,
            platform: args.platform,
            metric: args.metric,
            delimiter: args.delimiter,
        }),
        Command::Ingest(args) => Job::Ingest(args.sources),
        Command::Backfill(args) => Job::Backfill(BackfillRequest {
            source: args.source,
            from: args.from,
            to: args.to,
        }),
        Command::Transform => Job::Transform,
        Command::Compact => Job::Compact,
        Command::Report(args) => Job::Report {
            req: render_request(&args),
            recompute: false,
        },
        Command::Run(args) => Job::Run {
            req: render_request(&args.report),
            ingest: !args.no_ingest,
        },
    };
    let pipeline = open_pipeline(cfg, shutdown)?;
    let done = pipeline.run_job(job, Trigger::Cli, &bars::Bars).await?;
    printed::job_output(&done.output?, &done.record);
    match done.failure {
        Some(failure) => bail!(failure),
        None => Ok(()),
    }
}

/// `tagpulse schedule`: the daemon, until SIGINT or SIGTERM.
async fn schedule(cfg: Config, shutdown: &Shutdown) -> Result<()> {
    let grace = cfg.schedule.grace_period;
    let pipeline = std::sync::Arc::new(open_pipeline(cfg, shutdown)?);
    // Signals stop the scheduler instead of the process (a second one still does).
    let _hold = shutdown.hold();
    let stats =
        tagpulse_pipeline::schedule::jobs::serve(pipeline, Vec::new(), shutdown.requested())
            .await?;
    if stats.abandoned {
        bail!(
            "the running job did not finish within schedule.grace_period ({}); stopped it: its unfinished write is discarded and the store keeps its previous state",
            humantime::format_duration(grace)
        );
    }
    info!(
        "scheduler stopped: {} run(s) on time, {} caught up, {} skipped (still running)",
        stats.fired, stats.caught_up, stats.skipped
    );
    Ok(())
}

fn open_pipeline(cfg: Config, shutdown: &Shutdown) -> Result<Pipeline> {
    let data_dir = cfg.storage.data_dir.clone();
    Pipeline::open_with(cfg, shutdown.clone()).map_err(|e| match e {
        // A bad source section is a config error: it names its own file and line.
        PipelineError::Config(e) => anyhow::Error::new(e),
        e => anyhow::Error::new(e)
            .context(format!("cannot open the store in {}", data_dir.display())),
    })
}
