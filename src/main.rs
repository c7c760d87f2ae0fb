//! The `tagpulse` binary: parses the command line, sets up logging and progress bars, runs
//! the pipeline's jobs and maps their outcomes to messages and exit codes. No pipeline
//! policy and no metric logic live here (see `tagpulse-pipeline`).

#[macro_use]
mod out;
mod cli;
mod db;
mod logging;
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
use tagpulse_pipeline::runs::{Outcome, RunRecord, Trigger};
use tagpulse_pipeline::{
    DataDirLock, ImportRequest, Pipeline, PipelineError, ProgressSink, RenderRequest,
};
use tracing::{info, warn};

use cli::{Cli, Command, ReportArgs};

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(&cli);
    // A browser source closes Chromium on Ctrl-C / SIGTERM instead of orphaning it.
    tagpulse_ingest::interrupt::listen();
    // For the scheduler a signal is the normal way to stop: exit 0 once it stopped cleanly.
    let daemon = matches!(&cli.command, Command::Schedule(a) if !a.list);
    let result = run(cli).await;
    if let Err(e) = &result {
        eprintln!("error: {}", out::error_line(e));
    }
    // 128 + the signal, as a shell reports a process the signal ended.
    if let Some(code) = tagpulse_ingest::interrupt::exit_code().filter(|_| !daemon) {
        return ExitCode::from(code);
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A week that cannot be reported is a usage error, like a bad flag.
        Err(e)
            if e.chain().any(|c| {
                matches!(
                    c.downcast_ref::<PipelineError>(),
                    Some(PipelineError::WeekNotReportable { .. })
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
        Command::Schedule(args) if args.list => {
            show::print_schedule(&cfg, args.after.unwrap_or_else(chrono::Utc::now));
            return Ok(());
        }
        Command::Schedule(_) => return schedule(cfg).await,
        Command::Status(args) => return show::print_status(cfg, args.runs).await,
        other => other,
    };
    let data_dir = cfg.storage.data_dir.clone();
    // Every command below but `sources check` writes: one tagpulse process at a time.
    let lock = match command {
        Command::Sources(_) => None,
        _ => Some(DataDirLock::acquire(&data_dir, cfg.storage.lock_timeout).await?),
    };
    let pipeline = open_pipeline(cfg)?;
    if lock.is_some() {
        pipeline.sweep_leftovers();
    }
    if let Command::Sources(cli::SourcesCommand::Check(args)) = command {
        return sources_cmd::check(&pipeline, args).await;
    }
    let rec = RunRecord::start(command.job(), Trigger::Cli);
    let result = execute(&pipeline, command, rec.clone()).await;
    // Recorded before the exit code is decided: `tagpulse status` sees failures too.
    let (record, report) = match &result {
        Ok(done) => (done.record.clone(), done.report.clone()),
        Err(e) => (rec.finish(Outcome::Failed, 0, out::error_line(e)), None),
    };
    if let Err(e) = pipeline.record(&record).await {
        warn!("this run was not recorded: {e}");
    }
    // Cron users get the same alerts as the scheduler (each is sent once), after the
    // data lock is released: a slow target keeps no other job out.
    drop(lock);
    pipeline.send_alerts(&record, report.as_ref()).await;
    match result?.failure {
        Some(failure) => bail!(failure),
        None => Ok(()),
    }
}

/// How a recorded job ended.
pub(crate) struct Finished {
    /// Its closed record.
    pub record: RunRecord,
    /// When it should exit 1, the message to print.
    pub failure: Option<String>,
    /// The report it rendered, if any.
    pub report: Option<tagpulse_pipeline::RenderOutcome>,
}

impl Finished {
    /// A finished job that rendered nothing.
    pub fn of(record: RunRecord, failure: Option<String>) -> Finished {
        Finished {
            record,
            failure,
            report: None,
        }
    }
}

/// Runs one recorded job and prints its summary.
async fn execute(pipeline: &Pipeline, command: Command, rec: RunRecord) -> Result<Finished> {
    let started = Instant::now();
    let ok = |rec: RunRecord, rows: usize| {
        Finished::of(rec.finish(Outcome::Ok, rows as u64, String::new()), None)
    };
    Ok(match command {
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
            outln!(
                "imported {} snapshots and {} daily counts from {} file(s) into {} in {:.1}s",
                out.snapshots,
                out.daily,
                out.files,
                out.store,
                started.elapsed().as_secs_f64()
            );
            ok(rec, out.snapshots + out.daily)
        }
        Command::Ingest(args) => sources_cmd::ingest(pipeline, args, rec).await?,
        Command::Backfill(args) => sources_cmd::backfill(pipeline, args, rec).await?,
        Command::Transform => {
            let out = pipeline.recompute().await?;
            outln!(
                "weekly tables: {} tag rows, {} occupation rows, {} brand rows ({:.1}s)",
                out.tag_rows,
                out.occupation_rows,
                out.brand_rows,
                started.elapsed().as_secs_f64()
            );
            ok(rec, out.tag_rows + out.occupation_rows + out.brand_rows)
        }
        Command::Report(args) => {
            let out = pipeline.render(&render_request(&args)).await?;
            print_report(&out);
            Finished {
                report: Some(out),
                ..ok(rec, 0)
            }
        }
        Command::Run(args) => {
            if pipeline.sources().is_empty() {
                warn!("no [[sources]] configured: computing from the stored observations only");
            }
            let out = pipeline.run(&render_request(&args), &Bars).await;
            if let Ok(r) = &out.recompute {
                outln!(
                    "weekly tables: {} tag rows, {} occupation rows, {} brand rows",
                    r.tag_rows,
                    r.occupation_rows,
                    r.brand_rows
                );
            }
            if let Some(Ok(r)) = &out.render {
                print_report(r);
            }
            let rec = rec.finish_run(&out, tagpulse_ingest::interrupt::is_requested());
            if out.failure().is_none() {
                info!("run finished in {:.1}s", started.elapsed().as_secs_f64());
            }
            Finished {
                record: rec,
                failure: out.failure(),
                report: out.render.and_then(Result::ok),
            }
        }
        Command::Config
        | Command::Db(_)
        | Command::Schedule(_)
        | Command::Status(_)
        | Command::Sources(_) => {
            unreachable!("handled before")
        }
    })
}

/// `tagpulse schedule`: the daemon, until SIGINT or SIGTERM.
async fn schedule(cfg: Config) -> Result<()> {
    let grace = cfg.schedule.grace_period;
    let pipeline = std::sync::Arc::new(open_pipeline(cfg)?);
    // Signals stop the scheduler instead of the process (a second one still does).
    let _hold = tagpulse_ingest::interrupt::Hold::new();
    let stats = tagpulse_pipeline::schedule::jobs::serve(
        pipeline,
        Vec::new(),
        tagpulse_ingest::interrupt::requested(),
    )
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

fn open_pipeline(cfg: Config) -> Result<Pipeline> {
    let data_dir = cfg.storage.data_dir.clone();
    Pipeline::open(cfg).map_err(|e| match e {
        // A bad source section is a config error: it names its own file and line.
        PipelineError::Config(e) => anyhow::Error::new(e),
        e => anyhow::Error::new(e)
            .context(format!("cannot open the store in {}", data_dir.display())),
    })
}

fn print_report(out: &tagpulse_pipeline::RenderOutcome) {
    outln!(
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
