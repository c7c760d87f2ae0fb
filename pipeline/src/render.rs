//! The render job: weekly tables and series summary in, one week's report folder out.
//!
//! The week folder is published as one generation (`<out_dir>/<YYYY-Www>` is a link to a
//! complete folder, switched atomically), and `<out_dir>/index.html` is replaced with
//! `tagpulse_io::write_atomic`, so a reader never sees half a report.

use std::path::Path;

use polars::prelude::*;
use tagpulse_config::{iso_week_label, parse_iso_week};
use tagpulse_store::{generation, Store};
use tagpulse_transform::series_summary;

use crate::{Pipeline, PipelineError, RenderOutcome, RenderRequest};

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> PipelineError {
    let path = path.display().to_string();
    move |source| PipelineError::Io { what, path, source }
}

pub(crate) async fn render(
    p: &Pipeline,
    req: &RenderRequest,
) -> Result<RenderOutcome, PipelineError> {
    let cfg = &p.cfg;
    let out_dir = req
        .out_dir
        .clone()
        .unwrap_or_else(|| cfg.report.out_dir.clone());
    // The config's pair is checked at load; --out-dir and --data-dir come later.
    if let Some(why) = tagpulse_config::out_dir_problem(&out_dir, &cfg.storage.data_dir) {
        return Err(PipelineError::OutDir(why));
    }
    let tables = p.store.read_weekly().await?;
    if tables.tags.height() == 0 {
        return Err(PipelineError::NoObservations(
            cfg.storage.data_dir.display().to_string(),
        ));
    }
    let complete = tables.complete_weeks();
    let latest = complete.last().copied();
    let week = match req.week.or(cfg.report.week) {
        None => latest.ok_or(PipelineError::NoCompleteWeek)?,
        Some(w) if complete.contains(&w) => w,
        Some(w) => {
            let has_rows = tables.has_week(w);
            if !(has_rows && req.allow_incomplete) {
                let why = if !has_rows {
                    "has no data".to_string()
                } else if tables.newest_week() == Some(w) {
                    "is not complete: no observation after its end yet, so its last \
                     boundary and every gained are missing (--allow-incomplete renders it \
                     anyway, marked as such)"
                        .to_string()
                } else {
                    "has no gained figure for any tag (--allow-incomplete renders it anyway)"
                        .to_string()
                };
                return Err(PipelineError::WeekNotReportable {
                    week: iso_week_label(w),
                    why,
                    latest: latest.map(iso_week_label),
                });
            }
            w
        }
    };
    let incomplete = !complete.contains(&week);
    let params = p.params();
    let series = match p.take_series() {
        // A recompute in this process just read every observation: reuse its summary.
        Some(series) => series,
        None => {
            let (snapshots, daily) = (p.snapshots().await?, p.store.scan_daily().await?);
            crate::blocking(move || {
                series_summary(snapshots, daily, &params).and_then(|lf| lf.collect())
            })
            .await?
        }
    };
    let sources = stored_sources(p.store.as_ref()).await?;
    let synthetic = p
        .sources
        .iter()
        .any(|s| s.synthetic() && sources.iter().any(|id| id == s.id()));
    let (occupations, brands, top_n) = (
        cfg.occupations.clone(),
        cfg.brands.clone(),
        cfg.report.top_n,
    );
    let language = req.language.unwrap_or(cfg.report.language);
    let csv_delimiter = cfg.report.csv_delimiter;
    let base_url = cfg.report.base_url.clone();
    let neighbours = neighbours(&out_dir, week);
    let around = neighbours.clone();
    // Charts are drawn and rasterised here: CPU work, off the async workers.
    let files = crate::blocking(move || {
        tagpulse_report::render(&tagpulse_report::ReportInput {
            tables: &tables,
            series: &series,
            occupations: &occupations,
            brands: &brands,
            week,
            top_n,
            max_gap_secs: params.max_gap_secs,
            sources,
            synthetic,
            incomplete,
            generated_at: chrono::Utc::now(),
            language,
            csv_delimiter,
            base_url,
            neighbours,
        })
    })
    .await?;
    std::fs::create_dir_all(&out_dir).map_err(io("create", &out_dir))?;
    migrate_plain_week_dir(&out_dir, &files.week_label)?;
    generation::publish(&out_dir, &files.week_label, |dir| {
        files.write_into(dir).map_err(PipelineError::from)
    })?;
    relink_neighbours(&out_dir, &files.week_label, around)?;
    write_index(&out_dir, latest, language)?;
    Ok(RenderOutcome {
        week,
        dir: out_dir.join(iso_week_label(week)),
    })
}

/// A week folder written before generations is a plain directory: move it aside so the
/// link can take its name (the new generation replaces its content anyway).
fn migrate_plain_week_dir(out_dir: &Path, label: &str) -> Result<(), PipelineError> {
    let dest = out_dir.join(label);
    match std::fs::symlink_metadata(&dest) {
        Ok(m) if m.is_dir() => {
            std::fs::remove_dir_all(&dest).map_err(io("remove the old report folder", &dest))
        }
        _ => Ok(()),
    }
}

/// Distinct source ids among the stored observations (superseded rows included: a source
/// that stored anything is named, and the scan reads one column instead of resolving
/// every identity).
async fn stored_sources(store: &dyn Store) -> Result<Vec<String>, PipelineError> {
    let mut ids = std::collections::BTreeSet::new();
    let snapshots = store.snapshot_slices().await?;
    let daily = store
        .scan_daily()
        .await?
        .select([col("source")])
        .unique(None, UniqueKeepStrategy::Any)
        .collect();
    for df in snapshots.slices(&["source"]).chain([daily]) {
        let df = df?;
        // Rows of one source come in long runs: only a change of value is looked up. A
        // set insert (and a `String`) per row took a second of a report at 10M snapshots.
        let mut last: Option<&str> = None;
        for id in df.column("source")?.str()?.iter().flatten() {
            if last != Some(id) {
                if !ids.contains(id) {
                    ids.insert(id.to_string());
                }
                last = Some(id);
            }
        }
    }
    Ok(ids.into_iter().collect())
}

/// The week folders under `out_dir` that hold a report, newest first.
pub(crate) fn published_weeks(out_dir: &Path) -> std::io::Result<Vec<String>> {
    let mut weeks: Vec<String> = std::fs::read_dir(out_dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("index.html").is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| parse_iso_week(n).is_ok())
        .collect();
    weeks.sort_by(|a, b| b.cmp(a));
    Ok(weeks)
}

/// The published weeks just before and after `week`, for the page's links (a page
/// rendered before its next week exists links it only when rendered again).
fn neighbours(out_dir: &Path, week: chrono::NaiveDate) -> (Option<String>, Option<String>) {
    let label = iso_week_label(week);
    let weeks = published_weeks(out_dir).unwrap_or_default();
    // Folder names sort as weeks do (`2026-W09` < `2026-W10`).
    let previous = weeks.iter().find(|w| **w < label).cloned();
    let next = weeks.iter().rev().find(|w| **w > label).cloned();
    (previous, next)
}

/// Points the published weeks around `label` at it: the week before gains its "next"
/// link, the week after its "previous" one. Each is published anew as a copy of its
/// folder with only the page's navigation changed; its figures stay as rendered.
fn relink_neighbours(
    out_dir: &Path,
    label: &str,
    (before, after): (Option<String>, Option<String>),
) -> Result<(), PipelineError> {
    for (week, previous, next) in [(before, None, Some(label)), (after, Some(label), None)] {
        let Some(week) = week else { continue };
        let Some(dir) = generation::resolve(out_dir, &week)? else {
            continue;
        };
        let Ok(html) = std::fs::read_to_string(dir.join("index.html")) else {
            continue;
        };
        let Some(page) = tagpulse_report::relink(&html, previous, next) else {
            continue;
        };
        generation::publish(out_dir, &week, |staging| {
            generation::copy_tree(&dir, staging)?;
            tagpulse_io::write_bytes(
                &staging.join("index.html"),
                tagpulse_io::Access::Shared,
                page.as_bytes(),
            )?;
            Ok::<(), PipelineError>(())
        })?;
    }
    Ok(())
}

/// Rewrites `<out_dir>/index.html` from the week folders present, atomically: weeks up
/// to `latest` (the latest complete week) as reports, later ones as previews, each with
/// its dates and first headline sentence from its `week.json`.
fn write_index(
    out_dir: &Path,
    latest: Option<chrono::NaiveDate>,
    language: tagpulse_config::Language,
) -> Result<(), PipelineError> {
    let weeks = published_weeks(out_dir).map_err(io("list", out_dir))?;
    // A folder from before `week.json` is listed by its name alone.
    let entry = |week: String| {
        std::fs::read_to_string(out_dir.join(&week).join(tagpulse_report::WEEK_ENTRY))
            .ok()
            .and_then(|text| tagpulse_report::WeekEntry::from_json(&text))
            .unwrap_or(tagpulse_report::WeekEntry {
                week,
                ..Default::default()
            })
    };
    let (reports, previews): (Vec<String>, Vec<String>) = weeks.into_iter().partition(|w| {
        parse_iso_week(w)
            .ok()
            .zip(latest)
            .is_some_and(|(w, l)| w <= l)
    });
    let reports: Vec<_> = reports.into_iter().map(entry).collect();
    let previews: Vec<_> = previews.into_iter().map(entry).collect();
    let page = tagpulse_report::index_page(language, &reports, &previews);
    Ok(tagpulse_io::write_bytes(
        &out_dir.join("index.html"),
        tagpulse_io::Access::Shared,
        page.as_bytes(),
    )?)
}
