//! `tagpulse ingest`, `tagpulse backfill` and `tagpulse sources check`: the sources run
//! once, with a summary per source (tags ok / failed by kind) and an exit code for batch
//! jobs.

use anyhow::{bail, Result};
use tagpulse_ingest::{interrupt, Fetched};
use tagpulse_pipeline::runs::{Outcome, RunRecord};
use tagpulse_pipeline::{BackfillRequest, Pipeline};

use crate::cli::{BackfillArgs, CheckArgs, IngestArgs};
use crate::{Bars, Finished};

/// Runs the chosen sources; exits 1 when any tag or source failed.
pub async fn ingest(pipeline: &Pipeline, args: IngestArgs, rec: RunRecord) -> Result<Finished> {
    if pipeline.sources().is_empty() {
        bail!("no [[sources]] configured: see the README's Sources section (or use `tagpulse import` for files)");
    }
    let outcomes = pipeline.ingest_sources(&args.sources, &Bars).await?;
    let mut failed = 0;
    for o in &outcomes {
        outln!("{}", o.describe());
        for f in &o.failures {
            outln!("  {f}");
        }
        if !o.is_ok() {
            failed += 1;
        }
    }
    let rec = rec.finish_ingest(&outcomes, interrupt::is_requested());
    let failure = (failed > 0).then(|| {
        format!(
            "{failed} of {} source(s) did not store everything (what succeeded is stored)",
            outcomes.len()
        )
    });
    Ok(Finished::of(rec, failure))
}

/// Backfills a past range; exits 1 when it stopped early (run it again to resume) or
/// some tag failed for good.
pub async fn backfill(pipeline: &Pipeline, args: BackfillArgs, rec: RunRecord) -> Result<Finished> {
    let req = BackfillRequest {
        source: args.source,
        from: args.from,
        to: args.to,
    };
    let o = pipeline.backfill(&req, &Bars).await?;
    if let Some(day) = o.resumed_after {
        outln!("{}: resumed after {day}", o.source);
    }
    outln!(
        "{}: {} to {}: {} of {} window(s) done; stored {} snapshots and {} daily counts",
        o.source,
        o.from,
        o.to,
        o.windows_done,
        o.windows,
        o.snapshots,
        o.daily
    );
    for f in &o.failures {
        outln!("  {f}");
    }
    let failure = if let Some(why) = &o.stopped {
        Some(format!(
            "backfill {} stopped: {why}; run the same command again to resume",
            o.source
        ))
    } else if !o.failures.is_empty() {
        Some(format!(
            "backfill {}: {} tag(s) failed and were skipped",
            o.source,
            o.failures.len()
        ))
    } else {
        None
    };
    let outcome = match (&failure, o.snapshots + o.daily) {
        (None, _) => Outcome::Ok,
        (Some(_), 0) => Outcome::Failed,
        (Some(_), _) => Outcome::Partial,
    };
    let rows = (o.snapshots + o.daily) as u64;
    let rec = rec.finish(outcome, rows, failure.clone().unwrap_or_default());
    Ok(Finished::of(rec, failure))
}

/// Fetches one tag per source and prints the observations each way would store.
pub async fn check(pipeline: &Pipeline, args: CheckArgs) -> Result<()> {
    let sources = pipeline.select_sources(&args.sources)?;
    if sources.is_empty() {
        bail!("no [[sources]] configured: see the README's Sources section");
    }
    let mut any_ok = false;
    for source in sources {
        let tag = match &args.tag {
            Some(t) => t.clone(),
            None => match pipeline.tags_of(source).into_iter().next() {
                Some(t) => t,
                None => {
                    outln!("{}: no tags to check", source.id());
                    continue;
                }
            },
        };
        outln!("{} — #{}", source.describe(), tag.as_str());
        match source.check(&tag).await {
            Ok(ways) => {
                for (way, fetched) in ways {
                    any_ok |= fetched.failures.is_empty();
                    print_way(&way, &fetched);
                }
            }
            Err(e) => outln!("  error: {e}"),
        }
    }
    outln!("(nothing was stored)");
    if !any_ok {
        bail!("no source answered with data");
    }
    Ok(())
}

fn print_way(way: &str, fetched: &Fetched) {
    for f in &fetched.failures {
        outln!("  {way}: failed: {}: {}", f.kind, f.detail);
    }
    if fetched.failures.is_empty() && fetched.batch.is_empty() {
        outln!("  {way}: answered, nothing to store");
    }
    for s in fetched.batch.all_snapshots() {
        outln!(
            "  {way}: would store snapshot {}/{} #{} = {} at {}",
            s.platform,
            s.metric,
            s.tag.as_str(),
            s.value,
            s.observed_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
    }
    for d in &fetched.batch.daily {
        outln!(
            "  {way}: would store daily count {}/{} #{} {} = {}",
            d.platform,
            d.metric,
            d.tag.as_str(),
            d.day,
            d.value
        );
    }
}
