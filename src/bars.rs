//! indicatif progress bars for the pipeline's long steps (reading files, fetching a
//! source); hidden when stderr is no terminal, so cron mails stay clean.

use indicatif::{ProgressBar, ProgressStyle};
use tagpulse_ingest::Progress;
use tagpulse_pipeline::ProgressSink;

/// Draws one bar per step the pipeline starts.
pub(crate) struct Bars;

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
