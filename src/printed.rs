//! What a finished job prints on stdout: one summary per job, per source and per report,
//! from the pipeline's typed outputs (the pipeline decides, this only words it).

use tagpulse_config::iso_week_label;
use tagpulse_pipeline::runs::RunRecord;
use tagpulse_pipeline::{JobOutput, RecomputeOutcome, RenderOutcome, SourceOutcome};
use tracing::info;

/// Prints what `out` did; `rec` gives its duration.
pub(crate) fn job_output(out: &JobOutput, rec: &RunRecord) {
    let secs = (rec.finished_at - rec.started_at).as_seconds_f64();
    match out {
        JobOutput::Import(o) => outln!(
            "imported {} snapshots and {} daily counts from {} file(s) into {} in {secs:.1}s",
            o.snapshots,
            o.daily,
            o.files,
            o.store,
        ),
        JobOutput::Ingest(outs) => outs.iter().for_each(source),
        JobOutput::Backfill(o) => {
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
        }
        JobOutput::Transform(r) => {
            outln!("{} ({secs:.1}s)", weekly(r));
        }
        JobOutput::Compact(kinds) => {
            for k in kinds {
                let parts = match k.parts {
                    Some(0) => "nothing to merge, ".to_string(),
                    Some(n) => format!("{n} parts merged, "),
                    None => String::new(),
                };
                outln!(
                    "{}: {parts}{} rows -> {} rows",
                    k.table,
                    k.rows_before,
                    k.rows_after
                );
            }
            outln!("compacted in {secs:.1}s");
        }
        JobOutput::Report {
            recomputed,
            rendered,
        } => {
            if let Some(r) = recomputed {
                outln!("{}", weekly(r));
            }
            if let Some(r) = rendered {
                report(r);
            }
        }
        JobOutput::Run(o) => {
            if let Ok(r) = &o.recompute {
                outln!("{}", weekly(r));
            }
            if let Some(Ok(r)) = &o.render {
                report(r);
            }
            if o.failure().is_none() {
                info!("run finished in {secs:.1}s");
            }
        }
    }
}

fn source(o: &SourceOutcome) {
    outln!("{}", o.describe());
    for f in &o.failures {
        outln!("  {f}");
    }
}

fn weekly(r: &RecomputeOutcome) -> String {
    format!(
        "weekly tables: {} tag rows, {} occupation rows, {} brand rows",
        r.tag_rows, r.occupation_rows, r.brand_rows
    )
}

fn report(r: &RenderOutcome) {
    outln!(
        "report for {} written to {}",
        iso_week_label(r.week),
        r.dir.join("index.html").display()
    );
}

/// What `compare` wrote.
pub(crate) fn compared(files: &[std::path::PathBuf]) {
    println!("comparison written:");
    for f in files {
        println!("  {}", f.display());
    }
}
