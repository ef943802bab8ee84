//! The flow runner: reads a source's changes, decides each document from its record
//! ([`crate::state::DocRecord`]), passes a new version through the transforms, writes it
//! through a sink with retries, verifies and records it, runs its steps after the write, and
//! moves the checkpoint only past documents that are finished.
//!
//! # Guarantees
//! - **Checkpoints follow acknowledgements.** Items are numbered as they arrive; they finish in
//!   any order under bounded concurrency; the checkpoint saved is that of the highest item such
//!   that it and every item before it are finished (written, unchanged, skipped, or recorded as
//!   a failure).
//! - **Nothing is lost.** A document that fails (after its in-run retries), or that the source
//!   listed but could not read ([`crate::source::Change::Unreadable`]), is recorded `failed`
//!   and fetched again from the source at the start of the next run, until it succeeds, is
//!   gone from the source, or its attempts reach [`FlowBuilder::dead_letter_after`]; then the
//!   runner records it `dead` and the [`DeadLetterHook`] gets it. A `written` document whose
//!   steps did not finish resumes at its first unfinished step at the start of each run, from
//!   its record (no transform, no source call).
//! - **A server's wait is honoured.** A `Retry-After` longer than the retry policy's
//!   `max_backoff` is not cut short: the document is left for a later run
//!   ([`RetryPolicy::delay`] returns `None`), and the refused attempt is not counted.
//! - **Nothing is duplicated.** Before a write the runner saves the record `pending`, with the
//!   route and the document as the transforms left it; after it, `written` with the target. A
//!   retried write, or a `pending` one found after a crash, first asks the sink its record
//!   names to find it ([`Sink::find_existing`]) and adopts it instead of writing again; when it
//!   finds none, the sink is told the write is in doubt
//!   ([`crate::sink::WriteContext::in_doubt`]). A document skipped now whose earlier
//!   write may have landed has that write recorded, not orphaned. The same source id is never
//!   processed by two tasks at once.
//! - **Steps run once per version.** What follows the bytes is a named [`Step`] with an
//!   output (the sink's own first, [`Sink::steps`], then the flow's, [`FlowBuilder::step`]),
//!   begun through [`crate::state::DocumentStore::begin_step`] ("begin if not begun") and
//!   finished with its output; a run stopped before a step runs it on the next run, one
//!   stopped after it does not repeat it, and one stopped while a step that is not
//!   repeatable was under way asks the target whether it happened ([`Step::check`]). A step
//!   may answer that it waits ([`StepOutcome::Awaiting`]): the document is `awaiting` with a
//!   next check, and every run first polls the documents whose check is due.
//! - **One path settles every outcome** (`settle`): report, progress, tracing, audit, and with
//!   document records ([`FlowBuilder::store`]) the document's [`crate::state::DocRecord`].
//!   A new version whose content hash equals its finished record's is unchanged (a copy or
//!   move-back), or, at another path, a rename whose new path is recorded ([`Report::moved`]);
//!   nothing is written either way. A quarantine ([`crate::transform::Outcome::Quarantine`])
//!   or a conflict at the target ([`Error::Conflict`] from a sink) is recorded and reported
//!   ([`Report::quarantined`], [`Report::conflicts`]) and never retried.
//! - **Dry runs write nothing**: no sink write, no hook, no state change (state is only read).
//!
//! ```no_run
//! # async fn demo(source: impl ecm_bridge::source::Source + 'static,
//! #               sink: impl ecm_bridge::sink::Sink + 'static) -> ecm_bridge::Result<()> {
//! use std::sync::Arc;
//! use ecm_bridge::runner::Flow;
//! use ecm_bridge::state::SqliteStore;
//!
//! let flow = Flow::builder("archive")
//!     .source(source)
//!     .sink(sink)
//!     .state(Arc::new(SqliteStore::open("bridge.db")?))
//!     .concurrency(4)
//!     .build()?;
//! let report = flow.run_once().await?;
//! println!("{}", report.summary());
//! # Ok(()) }
//! ```

//! # Layout
//! [`builder`](FlowBuilder) (configuration), `schedule` (`run_once`, `run_every`, `watch`),
//! `document` (the steps of one document), `report` ([`Report`] and [`Progress`]), `acks`
//! (the checkpoint tracker), `retry` ([`RetryPolicy`] within a run, earlier failures across
//! runs), `settle` (the one path of every outcome: report, progress, audit, record), `step`
//! (the [`Step`] API) and `steps` (running them), `recheck` (due checks of `awaiting`
//! documents), `load` (adaptive concurrency per server).

mod acks;
mod builder;
mod document;
pub mod load;
mod recheck;
mod remove;
mod report;
mod retry;
mod sampled;
mod schedule;
mod settle;
mod step;
mod steps;
mod worker;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use tokio::sync::OwnedMutexGuard;

use crate::error::{Error, Result};
use crate::model::{DocRef, Document};
use crate::sink::{DeadLetterHook, Sink};
use crate::source::Source;
use crate::state::{AuditEntry, Store};
use crate::transform::AsyncTransform;

pub(crate) use acks::Acks;
pub use builder::FlowBuilder;
pub use report::{
    Awaiting, Failed, Held, Moved, Progress, ProgressFn, Removed, Report, Skipped, Written,
};
pub use retry::RetryPolicy;
pub use sampled::Sampled;
pub use settle::DEFAULT_SINK;
pub use step::{Step, StepInput, StepOutcome};
pub use worker::{WorkReport, Worker, DONE as WORKERS_DONE, LISTED as WORKERS_LISTED};

/// A point in a document's processing where a test can stop the run, as a crash would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failpoint {
    /// Before the document's record is saved `pending` (its write about to begin).
    BeforePending,
    /// After the `pending` record, before the sink writes.
    BeforeWrite,
    /// After the sink wrote, before the record says `written`.
    AfterWrite,
    /// After the record, before the steps after the write.
    AfterRecord,
    /// After a step ran (a workflow start, the marking, a poll), before its outcome is
    /// recorded.
    AfterStep,
    /// After every step is done, before the document is recorded as finished.
    AfterSteps,
    /// Before a checkpoint is saved.
    BeforeCheckpoint,
}

/// Decides, at each [`Failpoint`], whether the run stops there (returns
/// [`Error::Stopped`] at once, dropping the work in flight). For crash-safety tests.
pub type FailpointFn = Arc<dyn Fn(Failpoint) -> bool + Send + Sync>;

/// The clock the runner decides by (due checks, when an awaiting step is next looked at).
pub type ClockFn = Arc<dyn Fn() -> chrono::DateTime<Utc> + Send + Sync>;

/// Locks per source id, so one document is never processed by two tasks at once.
#[derive(Default)]
struct KeyedLocks(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl KeyedLocks {
    async fn lock(&self, key: &str) -> OwnedMutexGuard<()> {
        let m = {
            let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
            map.retain(|_, v| Arc::strong_count(v) > 1);
            map.entry(key.to_owned()).or_default().clone()
        };
        m.lock_owned().await
    }
}

struct Inner {
    name: String,
    source: Arc<dyn Source>,
    transforms: Vec<Arc<dyn AsyncTransform>>,
    sink: Option<Arc<dyn Sink>>,
    routes: HashMap<String, Arc<dyn Sink>>,
    state: Arc<dyn Store>,
    concurrency: usize,
    retry: RetryPolicy,
    dead_after: u32,
    dry_run: bool,
    steps: Vec<Arc<dyn Step>>,
    dead_letter: Option<Arc<dyn DeadLetterHook>>,
    progress: Option<ProgressFn>,
    failpoint: Option<FailpointFn>,
    recheck: Option<std::time::Duration>,
    removal: crate::sink::RemovalPolicy,
    rename: crate::sink::RenamePolicy,
    clock: Option<ClockFn>,
    locks: KeyedLocks,
    /// The adaptive limits per server (`None`: fixed concurrency).
    limits: Option<Arc<load::Limits>>,
}

/// A flow: a source, transforms, a sink (or routed sinks), steps after the write and a state
/// store. Cheap to clone.
#[derive(Clone)]
pub struct Flow {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Flow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flow")
            .field("name", &self.inner.name)
            .field("concurrency", &self.inner.concurrency)
            .field("dry_run", &self.inner.dry_run)
            .finish_non_exhaustive()
    }
}

/// What the transforms decided.
pub(super) enum Decision {
    /// The document, its sink, and the route's name (`None`: the default sink).
    Write(Box<Document>, Arc<dyn Sink>, Option<String>),
    Skip(String),
    Quarantine(String),
}

pub(super) type Shared = Arc<Mutex<Report>>;

impl Flow {
    /// The flow's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The state store (both contracts: [`crate::state::StateStore`] and
    /// [`crate::state::DocumentStore`]).
    pub fn state(&self) -> &Arc<dyn Store> {
        &self.inner.state
    }

    /// The adaptive concurrency toward each server written to so far ([`load`]); empty when
    /// the concurrency is fixed ([`FlowBuilder::adaptive_concurrency`]).
    pub fn limits(&self) -> Vec<load::LimitSnapshot> {
        self.inner
            .limits
            .as_ref()
            .map(|l| l.snapshot())
            .unwrap_or_default()
    }

    /// The time the runner decides by: [`FlowBuilder::clock`], or the system's.
    pub(super) fn now(&self) -> chrono::DateTime<Utc> {
        self.inner.clock.as_ref().map_or_else(Utc::now, |c| c())
    }

    pub(super) fn emit(&self, p: Progress) {
        if let Some(f) = &self.inner.progress {
            f(&p);
        }
    }

    pub(super) fn failpoint(&self, at: Failpoint) -> Result<()> {
        match &self.inner.failpoint {
            Some(f) if f(at) => Err(Error::Stopped(format!("{at:?}"))),
            _ => Ok(()),
        }
    }

    pub(super) fn audit(
        &self,
        doc: &Document,
        action: &str,
        outcome: &str,
        target: Option<&DocRef>,
    ) -> AuditEntry {
        AuditEntry {
            time: Utc::now(),
            flow: self.inner.name.clone(),
            source: doc.source.clone(),
            source_hash: doc.hash.as_ref().map(ToString::to_string),
            path: Some(doc.path.clone()),
            target: target.cloned(),
            account: doc.context.account.clone(),
            action: action.to_owned(),
            outcome: outcome.to_owned(),
            run: None,
        }
    }
}

pub(super) fn lock(report: &Shared) -> std::sync::MutexGuard<'_, Report> {
    report.lock().unwrap_or_else(|e| e.into_inner())
}
