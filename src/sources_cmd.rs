//! `tagpulse sources check`: one tag per source fetched, each way's answer printed,
//! nothing stored.

use anyhow::{bail, Result};
use tagpulse_ingest::Fetched;
use tagpulse_pipeline::Pipeline;

use crate::cli::CheckArgs;

/// Fetches one tag per source and prints the observations each way would store.
pub(crate) async fn check(pipeline: &Pipeline, args: CheckArgs) -> Result<()> {
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
