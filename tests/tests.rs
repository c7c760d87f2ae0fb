//! The one integration-test binary (every test binary links polars, so one builds
//! fastest): a module per topic, each driving the real `tagpulse` executable.
//!
//! - `backfill`: past ranges from the Research API and files, stopped and resumed;
//! - `browser`: TikTok through the system's headless Chromium against a local server;
//! - `cli`: config errors, flags, what a command needs before it runs;
//! - `lock`: one writer per data directory between two real processes;
//! - `privacy`: no handle, user id or post text kept anywhere after a run;
//! - `recipes`: the README's crontab, systemd unit and Kubernetes CronJob, run as written;
//! - `import`: observations stored once, bad lines store nothing;
//! - `lean`: a scheduled file source stores only what was appended to its files;
//! - `transform`: the fixtures' weekly tables against the spec, cell for cell;
//! - `report`: report files of the fixtures and the sample, the main job, reruns;
//! - `sources`: live sources (TikTok, Mastodon, X) against a local server, end to end;
//! - `generations`: SIGKILL during `transform` and `report`, readers see whole generations;
//! - `clickhouse`: the same jobs against a real ClickHouse server (see the README);
//! - `cluster`: cluster mode on a real 2-shard x 2-replica ClickHouse cluster;
//! - `structure`: which source files name a weekly column (what adding one costs).
//!
//! A test that needs something from outside (a ClickHouse server, Chromium, root for a
//! tmpfs) follows one policy, `util::needs`: under `CI=true` its absence fails the test;
//! elsewhere the test prints `SKIPPED: … is missing: <how to provide it>` and passes.

mod alerts;
mod backfill;
mod browser;
mod cli;
mod clickhouse;
mod cluster;
mod diskfull;
mod generations;
mod import;
mod lean;
mod lock;
mod privacy;
mod recipes;
mod report;
mod schedule;
mod smtp;
mod sources;
mod structure;
mod transform;
mod util;
