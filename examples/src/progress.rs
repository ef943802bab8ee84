//! The one progress bar of the examples: a spinner with the bytes moved and the counts so
//! far, fed by a flow's [`Progress`] events.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ecm_bridge::runner::{Progress, ProgressFn};
use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar and the event handler that feeds it (give it to the flow's `on_progress`);
/// `done` names what finished documents are called in the message (`archived`, `filed`).
/// Finish it with [`ProgressBar::finish_and_clear`] before printing the report.
pub fn bar(done: &'static str) -> (ProgressBar, ProgressFn) {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed}] {bytes:>10} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    #[derive(Default)]
    struct Counts {
        found: u64,
        done: u64,
        skipped: u64,
        failed: u64,
    }
    let counts = Arc::new(Mutex::new(Counts::default()));
    let b = bar.clone();
    let f = move |p: &Progress| {
        let mut c = counts.lock().unwrap_or_else(|e| e.into_inner());
        match p {
            Progress::Found { .. } => c.found += 1,
            Progress::Bytes { n, .. } => b.inc(*n),
            Progress::Done { .. } | Progress::Unchanged { .. } => c.done += 1,
            Progress::Skipped { .. } => c.skipped += 1,
            Progress::Failed { .. } => c.failed += 1,
            _ => {}
        }
        let current = match p {
            Progress::Started { path, .. } => format!(" — {path}"),
            _ => String::new(),
        };
        b.set_message(format!(
            "{} found, {} {done}, {} skipped, {} failed{current}",
            c.found, c.done, c.skipped, c.failed
        ));
    };
    (bar, Arc::new(f))
}
