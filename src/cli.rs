//! Command-line definitions (clap): global flags and one subcommand per pipeline stage.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use tagpulse_config::{parse_iso_week, Language, WeekError};
use tagpulse_ingest::sources::file::{Delimiter, FileFormat, UnknownFormat};

/// tagpulse: weekly growth of job and occupation hashtags, and the employer-branding report.
#[derive(Debug, Parser)]
#[command(name = "tagpulse", version, about, propagate_version = true)]
pub(crate) struct Cli {
    /// Config file (default: ./tagpulse.toml when present, else built-in defaults).
    #[arg(long, global = true, value_name = "PATH", env = "TAGPULSE_CONFIG")]
    pub config: Option<PathBuf>,

    /// Data directory; overrides `storage.data_dir`.
    #[arg(long, global = true, value_name = "DIR", env = "TAGPULSE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// Only warnings and errors on stderr.
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// Log lines as text, or as one JSON object per line (for log shippers).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "TAGPULSE_LOG_FORMAT")]
    pub log_format: LogFormat,

    /// What to do; see each subcommand's help.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// `2026-11-23T06:00:00Z  INFO message key=value`.
    Text,
    /// `{"timestamp":…,"level":"INFO","message":…,"key":…}`.
    Json,
}

/// The subcommands, one per job or inspection.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// The main job: every configured source -> store -> transform -> report.
    Run(RunArgs),
    /// Run the configured sources once and store what they yield (no transform, no report).
    Ingest(IngestArgs),
    /// Run every job at its cron times until SIGINT/SIGTERM; `--list` prints the times.
    Schedule(ScheduleArgs),
    /// The last runs, each source's freshness, the next fire times and failing alerts.
    Status(StatusArgs),
    /// Ask a source for a past date range, window by window; resumes an interrupted run.
    Backfill(BackfillArgs),
    /// Import observation files (TSV series, CSV or JSON lines) into the store.
    Import(ImportArgs),
    /// Recompute all weekly tables from the stored observations.
    Transform,
    /// Merge the stored observations so each is kept once (the lake's parts into one per
    /// kind, in bounded memory; ClickHouse: OPTIMIZE … FINAL). Safe to kill at any moment.
    Compact,
    /// Chart and tabulate up to five tags' weekly gained side by side (and indexed to
    /// 100) into `<out_dir>/compare/`; reads the weekly tables only.
    Compare(CompareArgs),
    /// Render the weekly report from the weekly tables.
    Report(ReportArgs),
    /// Check the configuration and print what it resolves to.
    Config(ConfigArgs),
    /// Inspect the configured sources.
    #[command(subcommand)]
    Sources(SourcesCommand),
    /// ClickHouse: schema migrations, status, and moving data to and from a Parquet lake.
    #[command(subcommand)]
    Db(DbCommand),
}

/// Arguments of `ingest`.
#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    /// Only this source (by id); repeat for several. Default: every configured source.
    #[arg(long = "source", value_name = "ID")]
    pub sources: Vec<String>,
}

/// `tagpulse schedule`.
#[derive(Debug, Args)]
pub(crate) struct ScheduleArgs {
    /// Print every job with its next 3 fire times and exit.
    #[arg(long)]
    pub list: bool,
    /// List the fire times after this instant (RFC 3339, e.g. 2026-03-28T00:00:00Z)
    /// instead of now.
    #[arg(long, value_name = "TIME", requires = "list")]
    pub after: Option<chrono::DateTime<chrono::Utc>>,
}

/// `tagpulse status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// How many of the last runs to show.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub runs: usize,
    /// For monitors: after the status, list what needs attention (the last run failed, a
    /// source is stale against its schedule, an alert target fails) and exit 1 if any.
    #[arg(long)]
    pub check: bool,
    /// The same as JSON (times RFC 3339 UTC), for monitors and scripts.
    #[arg(long)]
    pub json: bool,
}

/// `tagpulse backfill`.
#[derive(Debug, Args)]
pub(crate) struct BackfillArgs {
    /// The source (by id); it must be able to query the past (tiktok_research, file).
    #[arg(long, value_name = "ID")]
    pub source: String,
    /// First UTC day, e.g. 2026-01-01.
    #[arg(long, value_name = "DATE")]
    pub from: NaiveDate,
    /// Last UTC day (default: yesterday).
    #[arg(long, value_name = "DATE")]
    pub to: Option<NaiveDate>,
}

/// `tagpulse sources ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum SourcesCommand {
    /// Fetch one tag per source and print what would be stored and how each way answered;
    /// stores nothing.
    Check(CheckArgs),
}

/// Arguments of `sources check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Only this source (by id); repeat for several. Default: every configured source.
    #[arg(long = "source", value_name = "ID")]
    pub sources: Vec<String>,
    /// The tag to fetch (default: each source's first tag).
    #[arg(long, value_parser = parse_tag)]
    pub tag: Option<tagpulse_config::Tag>,
}

fn parse_tag(s: &str) -> Result<tagpulse_config::Tag, tagpulse_config::TagError> {
    tagpulse_config::Tag::parse(s)
}

/// `tagpulse db ...`: needs `[storage] backend = "clickhouse"`.
#[derive(Debug, Subcommand)]
pub(crate) enum DbCommand {
    /// Create the database and apply pending schema migrations (safe to repeat).
    Migrate,
    /// Show the server, the schema version, table sizes and undelivered spool parts.
    Status,
    /// Print the SQL of every migration (what `migrate` runs), without connecting.
    Schema(SchemaArgs),
    /// Copy all observations and weekly tables from ClickHouse into a Parquet lake.
    Export(ExportArgs),
    /// Copy a Parquet lake (observations and weekly tables) into ClickHouse.
    ImportParquet(ImportParquetArgs),
}

/// Arguments of `db schema`.
#[derive(Debug, Args)]
pub(crate) struct SchemaArgs {
    /// Print instead the SQL that reads and swaps the weekly tables (what `transform` runs).
    #[arg(long)]
    pub swap: bool,
}

/// Arguments of `db export`.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Output format.
    #[arg(long = "to", value_enum, default_value = "parquet")]
    pub to: ExportFormat,
    /// Directory of the lake to write (created when missing; existing data is merged by identity).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Formats `db export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ExportFormat {
    /// A tagpulse Parquet lake (the layout of `storage.data_dir`).
    Parquet,
}

/// Arguments of `db import-parquet`.
#[derive(Debug, Args)]
pub(crate) struct ImportParquetArgs {
    /// The Parquet lake to read, e.g. the `data` directory of a laptop install.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Arguments of `import`.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// Platform of rows that do not name one (TSV files never do).
    #[arg(long, default_value = "tiktok", value_parser = parse_platform)]
    pub platform: String,
    /// Metric of rows that do not name one.
    #[arg(long, default_value = "views", value_parser = parse_metric)]
    pub metric: String,
    /// File format; inferred from each file's extension when absent.
    #[arg(long, value_parser = parse_format)]
    pub format: Option<FileFormat>,
    /// CSV delimiter: `,`, `;` or `\t`; detected from each file's header when absent.
    #[arg(long, value_parser = parse_delimiter, value_name = "CHAR")]
    pub delimiter: Option<Delimiter>,
    /// Files or glob patterns.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
}

/// Arguments of `config`.
#[derive(Debug, Args)]
pub(crate) struct ConfigArgs {
    /// Also probe what the jobs will need: each source's env vars, the ClickHouse
    /// server, the SMTP server, each webhook's env var and host; exit 1 naming what is
    /// missing.
    #[arg(long)]
    pub check: bool,
}

/// Arguments of `compare`.
#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    /// Platform of the tags.
    #[arg(long, default_value = "tiktok", value_parser = parse_platform)]
    pub platform: String,
    /// Metric of the tags.
    #[arg(long, default_value = "views", value_parser = parse_metric)]
    pub metric: String,
    /// Weeks back from the newest week with data.
    #[arg(long, default_value_t = 26, value_parser = clap::value_parser!(i64).range(2..=520))]
    pub weeks: i64,
    /// Output directory; overrides `report.out_dir` (files go to its `compare/`).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Language: en, nl or de; overrides `report.language`.
    #[arg(long, value_parser = parse_language, value_name = "LANG")]
    pub language: Option<Language>,
    /// One to five tags (`#` optional).
    #[arg(required = true, num_args = 1..=5, value_parser = parse_tag, value_name = "TAG")]
    pub tags: Vec<tagpulse_config::Tag>,
}

/// Arguments of `run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Which week, where, in which language.
    #[command(flatten)]
    pub report: ReportArgs,
    /// Do not fetch the sources: recompute and report from what is stored (what the
    /// scheduled ingests stored). Without it, a source stored less than its
    /// `min_interval` ago is not fetched again either.
    #[arg(long)]
    pub no_ingest: bool,
}

/// Arguments of `report` (and `run`, besides its own flags).
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// ISO week to report, e.g. 2026-W47 (default: the latest complete week).
    #[arg(long, value_parser = parse_week)]
    pub week: Option<NaiveDate>,
    /// Output directory; overrides `report.out_dir`.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Render a --week that is not complete yet (no observation after its end), with a
    /// banner saying so; it is listed as a preview, not a report, in the index.
    #[arg(long)]
    pub allow_incomplete: bool,
    /// Language of the report: en, nl or de; overrides `report.language`.
    #[arg(long, value_parser = parse_language, value_name = "LANG")]
    pub language: Option<Language>,
}

fn parse_week(s: &str) -> Result<NaiveDate, WeekError> {
    parse_iso_week(s)
}

fn parse_language(s: &str) -> Result<Language, tagpulse_config::Invalid> {
    Language::parse(s)
}

fn parse_delimiter(s: &str) -> Result<Delimiter, tagpulse_config::Invalid> {
    Delimiter::parse(s)
}

fn parse_format(s: &str) -> Result<FileFormat, UnknownFormat> {
    FileFormat::from_name(s).ok_or_else(|| UnknownFormat(s.to_string()))
}

fn parse_platform(s: &str) -> Result<String, tagpulse_config::TagError> {
    tagpulse_config::parse_ident("platform", s)
}

fn parse_metric(s: &str) -> Result<String, tagpulse_config::TagError> {
    tagpulse_config::parse_ident("metric", s)
}
