//! Adaptive against fixed concurrency under a real capacity limit: the small-file archive at
//! concurrency 32 on a sandbox whose Content Server refuses a write that arrives while
//! [`WRITE_LIMIT`] writes are in flight (429 with `Retry-After: 1`,
//! `SandboxConfig::write_limit`), once with the runner's adaptive load (README "Adaptive
//! load") and once with it off (`adaptive_concurrency(false)`). The clients keep their default
//! retry policies (server hints honoured), with the runner's retry hooks so that it hears of
//! the 429s the clients retry themselves; adaptive, once more with [`retry_sleep`] as their
//! sleeper (a write waiting out `Retry-After` gives its place back). Each run is rerun until nothing is pending (a write
//! refused past the clients' tries is left for the next run); the time is the whole.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ecm_bridge::flows::archive_on_approval::{Approval, ArchiveOnApproval, Marking};
use ecm_bridge::rules::Rules;
use ecm_bridge::runner::load::{cs_retry_hook, dropbox_retry_hook, retry_sleep, LimitSnapshot};
use ecm_bridge::state::{DocStatus, MemoryStore, Store};
use serde::Serialize;

use crate::archive::{RULES, SOURCE_ROOT};
use crate::env::{cs_client_with, dropbox_client_with, Bench};
use crate::{ctx, Result};

/// Content Server writes allowed in flight at once.
pub const WRITE_LIMIT: usize = 8;
/// The flow's concurrency.
pub const CONCURRENCY: usize = 32;
/// The `Retry-After` of the sandbox's refusals, seconds (the clients wait it out).
const RETRY_AFTER_SECS: f64 = 1.0;
/// Runs after which a run that still has work pending is an error.
const MAX_RUNS: u32 = 20;

/// One run's figures.
#[derive(Debug, Clone, Serialize)]
pub struct AdaptiveRun {
    /// Whether the runner's adaptive load was on.
    pub adaptive: bool,
    /// Whether the clients waited with [`retry_sleep`] (places given back during waits).
    pub retry_sleep: bool,
    /// Files archived.
    pub files: usize,
    /// Seconds, reruns included.
    pub secs: f64,
    /// Runs of the flow (1 + reruns).
    pub runs: u32,
    /// Writes the sandbox's write limit refused (429s).
    pub refused: u64,
    /// Retries the clients made (both servers, any cause).
    pub client_retries: u64,
    /// Requests on both servers.
    pub requests: u64,
    /// The runner's limits at the end (adaptive only: empty when off).
    pub limits: Vec<LimitSnapshot>,
    /// The runner's CS limit averaged over the run (sampled every 10 ms; the concurrency
    /// when adaptive load is off).
    pub mean_limit: f64,
    /// The CS writes under way in the runner, averaged the same way (adaptive only).
    pub mean_in_flight: f64,
    /// Places under the runner's limit (or the fixed concurrency) held by writes that wait out
    /// a refusal's `Retry-After` rather than send, on average: refusals × 1 s ÷ the run's time
    /// (0 with [`retry_sleep`], which gives the place back for the wait).
    pub mean_waiting: f64,
}

impl AdaptiveRun {
    /// Files per second.
    pub fn files_per_sec(&self) -> f64 {
        self.files as f64 / self.secs.max(1e-9)
    }
}

/// Archives the `files` files seeded under [`SOURCE_ROOT`] (by [`crate::archive::seed`]) at
/// [`CONCURRENCY`] with the adaptive load on or off, the clients waiting with
/// [`retry_sleep`] or a plain sleep, into a CS folder of its own.
pub async fn run(bench: &Bench, files: usize, adaptive: bool, sleep: bool) -> Result<AdaptiveRun> {
    let label = match (adaptive, sleep) {
        (false, _) => "fixed",
        (true, false) => "adaptive",
        (true, true) => "adaptive_sleep",
    };
    let (db_policy, cs_policy) = if sleep {
        (
            dropbox_client::RetryPolicy::default().sleep_with(retry_sleep),
            contentserver_client::RetryPolicy::default().sleep_with(retry_sleep),
        )
    } else {
        Default::default()
    };
    let retries = Arc::new(AtomicU64::new(0));
    let (r1, r2) = (retries.clone(), retries.clone());
    let dropbox = dropbox_client_with(
        &bench.dropbox_url(),
        db_policy.on_retry(move |e| {
            r1.fetch_add(1, Ordering::Relaxed);
            dropbox_retry_hook(e);
        }),
    )?;
    let cs = cs_client_with(
        &bench.cs_url(),
        cs_policy.on_retry(move |e| {
            r2.fetch_add(1, Ordering::Relaxed);
            cs_retry_hook(e);
        }),
    )?;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let flow = ctx(
        ArchiveOnApproval::new(dropbox, cs, store.clone())
            .source_root(SOURCE_ROOT)
            .approval(Approval::default().folder("**/Approved"))
            .cs_folder(None, format!("Bench-{label}"))
            .rules(ctx(Rules::from_toml(RULES), "the bench rules")?)
            .marking(Marking::default().tag(format!("archived_{label}")))
            .concurrency(CONCURRENCY)
            .adaptive_concurrency(adaptive)
            .build(),
        "building the flow",
    )?;
    bench.reset_stats().await?;
    // (sum of limits, sum of writes under way, samples) of the runner's CS limit.
    let samples = Arc::new(std::sync::Mutex::new((0.0, 0.0, 0u64)));
    let sampler = {
        let (flow, samples) = (flow.clone(), samples.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                if let Some(l) = flow.limits().iter().find(|l| l.server == "contentserver") {
                    let mut s = samples.lock().unwrap_or_else(|e| e.into_inner());
                    s.0 += l.limit as f64;
                    s.1 += l.in_flight as f64;
                    s.2 += 1;
                }
            }
        })
    };
    let started = Instant::now();
    let mut runs = 0;
    loop {
        runs += 1;
        if runs > MAX_RUNS {
            return Err(format!("{label}: still pending after {MAX_RUNS} runs").into());
        }
        let report = ctx(flow.run_once().await, format!("{label} run"))?;
        let mut pending = 0;
        for status in DocStatus::ALL {
            if status != DocStatus::Done {
                pending += ctx(
                    store.records_by_status("archive_on_approval", status).await,
                    "records",
                )?
                .len();
            }
        }
        if report.failed.is_empty() && pending == 0 {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    sampler.abort();
    let (sum_limit, sum_in_flight, n) = *samples.lock().unwrap_or_else(|e| e.into_inner());
    let (mean_limit, mean_in_flight) = if n > 0 {
        (sum_limit / n as f64, sum_in_flight / n as f64)
    } else {
        (CONCURRENCY as f64, 0.0)
    };
    let done = ctx(
        store
            .records_by_status("archive_on_approval", DocStatus::Done)
            .await,
        "records",
    )?
    .len();
    if done != files {
        return Err(format!("{label}: {done} of {files} files done").into());
    }
    let counts = bench.stats().await?;
    let refused = bench.sandbox().contentserver_stats().limited();
    Ok(AdaptiveRun {
        adaptive,
        retry_sleep: sleep,
        files,
        secs,
        runs,
        refused,
        client_retries: retries.load(Ordering::Relaxed),
        requests: counts.total(),
        limits: flow.limits(),
        mean_limit,
        mean_in_flight,
        // With `retry_sleep` a waiting write holds no place.
        mean_waiting: if adaptive && sleep {
            0.0
        } else {
            refused as f64 * RETRY_AFTER_SECS / secs.max(1e-9)
        },
    })
}

/// The latency the comparison runs at per request (a write is in flight that long at least,
/// so that concurrency meets the limit).
pub fn latency(quick: bool) -> Duration {
    Duration::from_millis(if quick { 2 } else { 20 })
}
