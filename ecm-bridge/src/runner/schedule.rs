//! Scheduling: one run ([`Flow::run_once`]), runs on an interval ([`Flow::run_every`]), and
//! runs on the source's wake-ups ([`Flow::watch`]).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::StreamExt;

use super::{lock, Acks, Failpoint, Flow, Progress, Report, Shared};
use crate::error::{Error, Result};

impl Flow {
    /// One run: due checks of awaiting documents first, then earlier failures and interrupted
    /// writes, then the changes since the checkpoint. Returns an error when the source or the state store fails (what finished
    /// before stays recorded) or a failpoint stops the run.
    pub async fn run_once(&self) -> Result<Report> {
        let started = tokio::time::Instant::now();
        let inner = &self.inner;
        let report: Shared = Arc::new(Mutex::new(Report {
            flow: inner.name.clone(),
            dry_run: inner.dry_run,
            ..Report::default()
        }));
        self.emit(Progress::RunStarted {
            flow: inner.name.clone(),
        });
        tracing::info!(flow = %inner.name, dry_run = inner.dry_run, "run starts");

        // A run stopped before its end stays unfinished in the records.
        if !inner.dry_run {
            lock(&report).run = Some(inner.state.begin_run(&inner.name).await?);
        }
        if !inner.dry_run {
            self.recheck_due(&report).await?;
            self.retry_earlier(&report).await?;
        }

        let since = inner.state.checkpoint(&inner.name).await?;
        let feed = inner.source.changes(since).await?;
        let mut results = feed
            .enumerate()
            .map(|(seq, item)| {
                let report = report.clone();
                async move {
                    match item {
                        Ok(item) => {
                            let outcome = self.handle(item.change, &report).await;
                            (seq as u64, item.checkpoint, outcome)
                        }
                        Err(e) => (seq as u64, None, Err(e)),
                    }
                }
            })
            .buffer_unordered(inner.concurrency);

        let mut acks = Acks::default();
        let mut first_error: Option<Error> = None;
        while let Some((seq, checkpoint, outcome)) = results.next().await {
            match outcome {
                Ok(()) => {
                    if let Some(cp) = acks.finish(seq, checkpoint) {
                        if !inner.dry_run && first_error.is_none() {
                            self.failpoint(Failpoint::BeforeCheckpoint)?;
                            inner.state.set_checkpoint(&inner.name, &cp).await?;
                            lock(&report).checkpoint = Some(cp);
                        }
                    }
                }
                Err(e @ Error::Stopped(_)) => return Err(e),
                Err(e) => {
                    tracing::error!(flow = %inner.name, error = %e.chain(), "run fails");
                    // Let the items in flight finish; the checkpoint stays before this one.
                    first_error.get_or_insert(e);
                }
            }
        }
        drop(results);
        if let Some(e) = first_error {
            return Err(e);
        }
        let mut out = lock(&report).clone();
        out.elapsed = started.elapsed();
        if let Some(run) = out.run {
            let docs = &inner.state;
            let json = serde_json::to_value(&out)
                .map_err(|e| Error::State(format!("run {run}: report as JSON: {e}")))?;
            docs.finish_run(run, &out.counts(), &json).await?;
        }
        tracing::info!(flow = %inner.name, "{}", out.summary());
        self.emit(Progress::RunFinished(Box::new(out.clone())));
        Ok(out)
    }

    /// Runs every `interval` until `stop` completes (checked between runs; a run in progress
    /// finishes). A failing run is reported as [`Progress::RunFailed`] and the schedule goes
    /// on. Returns the number of runs.
    pub async fn run_every(
        &self,
        interval: Duration,
        stop: impl Future<Output = ()>,
    ) -> Result<u64> {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        futures::pin_mut!(stop);
        let mut runs = 0;
        loop {
            tokio::select! {
                _ = &mut stop => return Ok(runs),
                _ = ticker.tick() => {}
            }
            self.scheduled_run().await?;
            runs += 1;
        }
    }

    /// Runs once, then again whenever the source wakes up (Dropbox longpoll), or every
    /// `fallback` when the source cannot tell, until `stop` completes (checked between runs; a
    /// run in progress finishes). The wake-up is armed while each run goes on, so a change
    /// made during a run wakes the next one. Returns the number of runs.
    pub async fn watch(&self, fallback: Duration, stop: impl Future<Output = ()>) -> Result<u64> {
        // Armed before the first run lists anything (see `Source::wake`).
        let mut wake = self.inner.source.wake().await;
        futures::pin_mut!(stop);
        let mut runs = 0;
        loop {
            let mut woken = false;
            {
                let run = self.scheduled_run();
                futures::pin_mut!(run);
                loop {
                    tokio::select! {
                        r = &mut run => {
                            r?;
                            break;
                        }
                        w = next_wake(&mut wake), if !woken && wake.is_some() => match w {
                            Some(()) => woken = true,
                            None => wake = None,
                        },
                    }
                }
            }
            runs += 1;
            if woken {
                tokio::select! {
                    biased;
                    _ = &mut stop => return Ok(runs),
                    _ = std::future::ready(()) => {}
                }
                continue;
            }
            loop {
                tokio::select! {
                    _ = &mut stop => return Ok(runs),
                    w = next_wake(&mut wake), if wake.is_some() => match w {
                        Some(()) => break,
                        None => wake = None,
                    },
                    _ = tokio::time::sleep(fallback), if wake.is_none() => break,
                }
            }
        }
    }

    pub(super) async fn scheduled_run(&self) -> Result<()> {
        match self.run_once().await {
            Ok(_) => Ok(()),
            Err(e @ Error::Stopped(_)) => Err(e),
            Err(e) => {
                self.emit(Progress::RunFailed { error: e.chain() });
                Ok(())
            }
        }
    }
}

/// The next wake-up of a source's wake stream (`None` when it ended, or there is none).
async fn next_wake(wake: &mut Option<futures::stream::BoxStream<'static, ()>>) -> Option<()> {
    match wake.as_mut() {
        Some(w) => w.next().await,
        None => None,
    }
}
