//! `tagpulse db ...`: ClickHouse migrations, status, schema and Parquet transfers.

use std::time::Instant;

use anyhow::Result;
use tagpulse_config::Config;
use tagpulse_store::Store;

use crate::cli::DbCommand;

pub(crate) async fn run(cfg: &Config, command: DbCommand) -> Result<()> {
    if let DbCommand::Schema(args) = &command {
        let ch = cfg.storage.clickhouse.clone().unwrap_or_default();
        let database = &ch.database;
        let script = match (&ch.cluster, args.swap) {
            // The cluster script holds the schema and a weekly swap in one.
            (Some(cluster), _) => tagpulse_store::clickhouse::cluster::script(cluster, database),
            (None, true) => tagpulse_store::clickhouse::schema::weekly_script(database),
            (None, false) => tagpulse_store::clickhouse::schema::script(database),
        };
        out!("{script}");
        return Ok(());
    }
    let store = tagpulse_store::open_clickhouse(&cfg.storage)?;
    let started = Instant::now();
    match command {
        DbCommand::Schema(_) => unreachable!("handled above"),
        DbCommand::Migrate => {
            let done = store.migrate().await?;
            for (version, name) in &done.applied {
                outln!("applied migration {version}: {name}");
            }
            outln!(
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
            outln!("{}", store.describe());
            outln!("server version {}", st.server_version);
            for (version, name, at) in &st.applied {
                outln!(
                    "  applied  {version:>3}  {name}  ({})",
                    at.format("%Y-%m-%d %H:%M:%S UTC")
                );
            }
            for (version, name) in &st.pending {
                outln!("  pending  {version:>3}  {name}");
            }
            if !st.pending.is_empty() {
                outln!("run `tagpulse db migrate` (or any command that writes) to apply the pending migrations");
            }
            for (table, rows) in &st.tables {
                outln!("  {table:<26} {rows:>12} rows");
            }
            outln!(
                "spool: {} part(s) waiting for delivery in {}",
                st.spooled_parts,
                tagpulse_store::ClickHouseStore::spool_dir(&cfg.storage.data_dir, store.database())
                    .display()
            );
        }
        DbCommand::Export(args) => {
            let moved = store.export_parquet(&args.dir).await?;
            outln!(
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
            outln!(
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
