//! What a writing job does before it writes: give back the disk space crashed runs left
//! behind (temp files and staging folders more than an hour old, see
//! [`tagpulse_store::sweep`]), with one log line saying so.

use crate::Pipeline;

impl Pipeline {
    /// Sweeps leftovers of crashed runs under the data directory and the report folder;
    /// call it holding the data directory's lock. Returns how many entries went.
    pub fn sweep_leftovers(&self) -> usize {
        let cfg = &self.cfg;
        let removed = tagpulse_store::sweep::sweep(
            &[&cfg.storage.data_dir, &cfg.report.out_dir],
            tagpulse_store::sweep::SWEEP_AFTER,
        );
        if !removed.is_empty() {
            let names: Vec<String> = removed.iter().map(|p| p.display().to_string()).collect();
            tracing::info!(
                "removed {} temp file(s) left by crashed runs: {}",
                removed.len(),
                names.join(", ")
            );
        }
        removed.len()
    }
}
