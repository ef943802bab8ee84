//! The one progress bar of the examples: a spinner with the bytes moved and the counts so
//! far, fed by a flow's [`Progress`] events. Drawn on standard error when it is a terminal,
//! hidden otherwise (so tests and pipes see only the reports).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ecm_bridge::runner::{Progress, ProgressFn};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Default)]
struct Counts {
    found: u64,
    done: u64,
    skipped: u64,
    failed: u64,
}

/// A progress bar for a flow's runs. Give [`RunBar::events`] to the flow's `on_progress`;
/// call [`RunBar::start`] before each run and [`RunBar::finish`] after it, before printing its
/// report (the counts start again at each run).
pub struct RunBar {
    bar: ProgressBar,
    counts: Arc<Mutex<Counts>>,
    done: &'static str,
}

impl RunBar {
    /// A bar that calls finished documents `done` in its message (`archived`, `filed`).
    pub fn new(done: &'static str) -> RunBar {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed}] {bytes:>10} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.finish_and_clear();
        RunBar {
            bar,
            counts: Arc::default(),
            done,
        }
    }

    /// The handler of the flow's progress events that feeds this bar.
    pub fn events(&self) -> ProgressFn {
        let (b, counts, done) = (self.bar.clone(), self.counts.clone(), self.done);
        Arc::new(move |p: &Progress| {
            let mut c = counts.lock().unwrap_or_else(|e| e.into_inner());
            match p {
                Progress::Found { .. } => c.found += 1,
                Progress::Bytes { n, .. } => b.inc(*n),
                Progress::Done { .. } | Progress::Unchanged { .. } => c.done += 1,
                Progress::Skipped { .. } => c.skipped += 1,
                Progress::Failed { .. } => c.failed += 1,
                Progress::Synced { action, .. } if action == "failed" => c.failed += 1,
                Progress::Synced { .. } => c.done += 1,
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
        })
    }

    /// Shows the bar from zero for a new run.
    pub fn start(&self) {
        *self.counts.lock().unwrap_or_else(|e| e.into_inner()) = Counts::default();
        self.bar.reset();
        self.bar.set_message("");
        self.bar.enable_steady_tick(Duration::from_millis(100));
    }

    /// Clears the bar (the run is over; its report can be printed).
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// Awaits one run with the bar shown, and clears it after.
    pub async fn run<T>(&self, run: impl std::future::Future<Output = T>) -> T {
        self.start();
        let out = run.await;
        self.finish();
        out
    }
}
