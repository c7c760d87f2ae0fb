//! The one integration-test binary (every test binary links polars, so one builds
//! fastest): a module per topic, each driving the real `tagpulse` executable.
//!
//! - `e2e`: import, transform and report on the real fixture series and the sample;
//! - `generations`: SIGKILL during `transform` and `report`, readers see whole generations;
//! - `clickhouse`: the same jobs against a real ClickHouse server (see the README).

mod clickhouse;
mod e2e;
mod generations;
mod util;
