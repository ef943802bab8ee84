//! The flow runner: reads a source's changes, passes each document through the transforms,
//! writes it through a sink with retries, verifies and records it, runs the after-write hooks,
//! and moves the checkpoint only past documents that are finished.
//!
//! # Guarantees
//! - **Checkpoints follow acknowledgements.** Items are numbered as they arrive; they finish in
//!   any order under bounded concurrency; the checkpoint saved is that of the highest item such
//!   that it and every item before it are finished (written, unchanged, skipped, or recorded as
//!   a failure).
//! - **Nothing is lost.** A document that fails (after its in-run retries) is recorded in the
//!   state store's failures and fetched again from the source at the start of the next run,
//!   until it succeeds, is gone from the source, or its attempts reach
//!   [`FlowBuilder::dead_letter_after`]; then the [`DeadLetterHook`] gets it (it stays listed
//!   as dead in the failures).
//! - **Nothing is duplicated.** Before a write the runner records an intent; the write, its
//!   mapping and the audit entry are recorded together afterwards. A retried write, or one whose
//!   intent survived a crash, first asks the sink to find it ([`Sink::find_existing`]) and
//!   adopts it instead of writing again. The same source id is never processed by two tasks at
//!   once.
//! - **Deferred steps run once.** A governance step that cannot be repeated (a workflow start,
//!   [`Sink::has_deferred`]) is recorded as pending with the write and run after the record;
//!   a run stopped before it runs it on the next run, one stopped after it does not repeat it,
//!   and one stopped while it was under way asks the sink whether it happened
//!   ([`Sink::deferred_done`]).
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

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use futures::stream::{self, StreamExt};
use serde::Serialize;
use tokio::sync::OwnedMutexGuard;

use crate::error::{Error, Result};
use crate::model::{Checkpoint, DocRef, Document, Governance, Value};
use crate::sink::{
    AfterWrite, DeadLetter, DeadLetterHook, Receipt, Sink, WriteAction, WriteContext,
};
use crate::source::{Change, Source};
use crate::state::{
    AuditEntry, Mapping, NewFailure, StateStore, STEP_SINK_DEFERRED, STEP_SINK_DEFERRED_STARTED,
};
use crate::transform::{AsyncTransform, Blocking, Outcome, Transform};
use crate::verify;

/// How a document is retried within one run.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per run, the first included (1: no retry).
    pub max_attempts: u32,
    /// Delay after the first failure.
    pub initial_backoff: Duration,
    /// Longest delay.
    pub max_backoff: Duration,
    /// Factor between delays.
    pub multiplier: u32,
    /// Randomises each delay between half and all of it.
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            multiplier: 2,
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// No retries within a run.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The delay after failed attempt `attempt` (1-based): the server's hint when longer than
    /// the back-off, capped at `max_backoff`.
    pub fn delay(&self, attempt: u32, hint: Option<Duration>) -> Duration {
        let factor = self
            .multiplier
            .max(1)
            .saturating_pow(attempt.saturating_sub(1));
        let mut d = self
            .initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        if self.jitter && !d.is_zero() {
            let half = d / 2;
            d = half + half.mul_f64(fastrand::f64());
        }
        match hint {
            Some(h) if h > d => h.min(self.max_backoff),
            _ => d,
        }
    }
}

/// A point in a document's processing where a test can stop the run, as a crash would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failpoint {
    /// Before the intent is recorded.
    BeforeIntent,
    /// After the intent, before the sink writes.
    BeforeWrite,
    /// After the sink wrote, before the state records it.
    AfterWrite,
    /// After the record, before the after-write hooks.
    AfterRecord,
    /// After the sink's deferred step (a workflow start) ran, before it is recorded as done.
    AfterDeferred,
    /// After the sink's deferred step (if any) and the hooks, before they are recorded as done.
    AfterHooks,
    /// Before a checkpoint is saved.
    BeforeCheckpoint,
}

/// Decides, at each [`Failpoint`], whether the run stops there (returns
/// [`Error::Stopped`] at once, dropping the work in flight). For crash-safety tests.
pub type FailpointFn = Arc<dyn Fn(Failpoint) -> bool + Send + Sync>;

/// A progress event, for a caller to render (progress bars, logs).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Progress {
    /// A run starts.
    RunStarted {
        /// The flow.
        flow: String,
    },
    /// A document was found at the source.
    Found {
        /// The document.
        source: DocRef,
        /// Its path.
        path: String,
        /// Its size.
        size: u64,
    },
    /// Its write starts.
    Started {
        /// The document.
        source: DocRef,
        /// Its path.
        path: String,
        /// Its size.
        size: u64,
    },
    /// Bytes of it were read from the source.
    Bytes {
        /// The document.
        source: DocRef,
        /// How many.
        n: u64,
    },
    /// It was written and recorded.
    Done {
        /// The document.
        source: DocRef,
        /// Its path.
        path: String,
        /// Where it went.
        target: DocRef,
        /// Where, for people.
        location: String,
        /// How.
        action: WriteAction,
    },
    /// It was written before; nothing to do.
    Unchanged {
        /// The document.
        source: DocRef,
        /// Its path.
        path: String,
    },
    /// It was skipped.
    Skipped {
        /// The document.
        source: DocRef,
        /// Its path.
        path: String,
        /// Why.
        reason: String,
    },
    /// An attempt failed and will be repeated.
    Retrying {
        /// The document.
        source: DocRef,
        /// Its path.
        path: String,
        /// The attempt that failed.
        attempt: u32,
        /// Why.
        error: String,
    },
    /// It failed (recorded; retried on the next run unless `dead`).
    Failed {
        /// The document.
        source: DocRef,
        /// Its path.
        path: String,
        /// Why.
        error: String,
        /// Whether its attempts are exhausted.
        dead: bool,
    },
    /// A run ended.
    RunFinished(Box<Report>),
    /// A scheduled run failed as a whole (the schedule goes on).
    RunFailed {
        /// Why.
        error: String,
    },
}

/// Receives progress events.
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// One document written (or, in a dry run, that would be written).
#[derive(Debug, Clone, Serialize)]
pub struct Written {
    /// The source document and version.
    pub source: DocRef,
    /// Its path.
    pub path: String,
    /// The target document and version (`None` in a dry run).
    pub target: Option<DocRef>,
    /// Where, for people.
    pub location: String,
    /// How (`None` in a dry run).
    pub action: Option<WriteAction>,
    /// Bytes.
    pub bytes: u64,
    /// The metadata it carried.
    pub metadata: BTreeMap<String, Value>,
    /// Its governance.
    pub governance: Governance,
}

/// One document skipped.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// The source document.
    pub source: DocRef,
    /// Its path.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// One document that failed in this run.
#[derive(Debug, Clone, Serialize)]
pub struct Failed {
    /// The source document.
    pub source: DocRef,
    /// Its path, when known.
    pub path: Option<String>,
    /// The error, with its sources.
    pub error: String,
    /// Attempts over all runs.
    pub attempts: u32,
    /// Whether the attempts are exhausted (dead-lettered).
    pub dead: bool,
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The flow.
    pub flow: String,
    /// Whether it was a dry run.
    pub dry_run: bool,
    /// How long it took.
    pub elapsed: Duration,
    /// Documents found (from the feed and from earlier failures).
    pub found: u64,
    /// Documents taken from earlier failures or interrupted writes.
    pub retried: u64,
    /// Bytes written (adopted writes not counted).
    pub bytes: u64,
    /// Documents written, adopted, or (dry run) to be written.
    pub written: Vec<Written>,
    /// Documents already written before, and documents whose marking was finished.
    pub unchanged: u64,
    /// Documents skipped, with reasons.
    pub skipped: Vec<Skipped>,
    /// Documents that failed in this run.
    pub failed: Vec<Failed>,
    /// Paths reported deleted at the source.
    pub deleted: Vec<String>,
    /// The checkpoint saved at the end (unchanged when `None`).
    pub checkpoint: Option<Checkpoint>,
}

impl Report {
    /// Documents newly written with `action`.
    pub fn count(&self, action: WriteAction) -> usize {
        self.written
            .iter()
            .filter(|w| w.action == Some(action))
            .count()
    }

    /// One line: counts, bytes and time.
    pub fn summary(&self) -> String {
        let verb = if self.dry_run {
            "would write"
        } else {
            "written"
        };
        format!(
            "{}: {} found, {} {verb} ({} new, {} new versions, {} adopted), {} unchanged, {} skipped, {} failed, {} bytes in {:.2?}",
            self.flow,
            self.found,
            self.written.len(),
            self.count(WriteAction::Created),
            self.count(WriteAction::AddedVersion),
            self.count(WriteAction::Adopted),
            self.unchanged,
            self.skipped.len(),
            self.failed.len(),
            self.bytes,
            self.elapsed,
        )
    }
}

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

/// Items finished out of order → the highest checkpoint with a finished prefix.
#[derive(Debug, Default)]
pub(crate) struct Acks {
    next: u64,
    done: BTreeMap<u64, Option<Checkpoint>>,
}

impl Acks {
    /// Marks item `seq` finished; returns the checkpoint to save when the finished prefix grew
    /// over an item that carries one.
    pub(crate) fn finish(
        &mut self,
        seq: u64,
        checkpoint: Option<Checkpoint>,
    ) -> Option<Checkpoint> {
        self.done.insert(seq, checkpoint);
        let mut latest = None;
        while let Some(cp) = self.done.remove(&self.next) {
            if cp.is_some() {
                latest = cp;
            }
            self.next += 1;
        }
        latest
    }
}

struct Inner {
    name: String,
    source: Arc<dyn Source>,
    transforms: Vec<Arc<dyn AsyncTransform>>,
    sink: Option<Arc<dyn Sink>>,
    routes: HashMap<String, Arc<dyn Sink>>,
    state: Arc<dyn StateStore>,
    concurrency: usize,
    retry: RetryPolicy,
    dead_after: u32,
    dry_run: bool,
    after_write: Vec<Arc<dyn AfterWrite>>,
    dead_letter: Option<Arc<dyn DeadLetterHook>>,
    progress: Option<ProgressFn>,
    failpoint: Option<FailpointFn>,
    locks: KeyedLocks,
}

/// A flow: a source, transforms, a sink (or routed sinks) and a state store. Cheap to clone.
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

/// Builds a [`Flow`]; see [`Flow::builder`].
pub struct FlowBuilder {
    name: String,
    source: Option<Arc<dyn Source>>,
    transforms: Vec<Arc<dyn AsyncTransform>>,
    sink: Option<Arc<dyn Sink>>,
    routes: HashMap<String, Arc<dyn Sink>>,
    state: Option<Arc<dyn StateStore>>,
    concurrency: usize,
    retry: RetryPolicy,
    dead_after: u32,
    dry_run: bool,
    after_write: Vec<Arc<dyn AfterWrite>>,
    dead_letter: Option<Arc<dyn DeadLetterHook>>,
    progress: Option<ProgressFn>,
    failpoint: Option<FailpointFn>,
}

impl FlowBuilder {
    /// The source.
    pub fn source(mut self, source: impl Source + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// The source, shared.
    pub fn source_arc(mut self, source: Arc<dyn Source>) -> Self {
        self.source = Some(source);
        self
    }

    /// Appends a synchronous transform.
    pub fn transform(mut self, t: impl Transform + 'static) -> Self {
        self.transforms.push(Arc::new(Blocking(t)));
        self
    }

    /// Appends an asynchronous transform (an enricher).
    pub fn async_transform(mut self, t: impl AsyncTransform + 'static) -> Self {
        self.transforms.push(Arc::new(t));
        self
    }

    /// The default sink.
    pub fn sink(mut self, sink: impl Sink + 'static) -> Self {
        self.sink = Some(Arc::new(sink));
        self
    }

    /// The default sink, shared.
    pub fn sink_arc(mut self, sink: Arc<dyn Sink>) -> Self {
        self.sink = Some(sink);
        self
    }

    /// A sink for documents that a transform routes to `name` ([`Outcome::Route`]).
    pub fn route(mut self, name: impl Into<String>, sink: Arc<dyn Sink>) -> Self {
        self.routes.insert(name.into(), sink);
        self
    }

    /// The state store.
    pub fn state(mut self, state: Arc<dyn StateStore>) -> Self {
        self.state = Some(state);
        self
    }

    /// Documents processed at once (default 4).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Retries within a run (default [`RetryPolicy::default`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Total attempts over all runs after which a document is dead-lettered (default 10;
    /// 0: never).
    pub fn dead_letter_after(mut self, attempts: u32) -> Self {
        self.dead_after = attempts;
        self
    }

    /// Reports what would be written and writes nothing.
    pub fn dry_run(mut self, yes: bool) -> Self {
        self.dry_run = yes;
        self
    }

    /// Appends a hook run after each write is recorded.
    pub fn after_write(mut self, hook: impl AfterWrite + 'static) -> Self {
        self.after_write.push(Arc::new(hook));
        self
    }

    /// The hook that receives documents whose attempts are exhausted.
    pub fn dead_letter(mut self, hook: impl DeadLetterHook + 'static) -> Self {
        self.dead_letter = Some(Arc::new(hook));
        self
    }

    /// Receives progress events.
    pub fn on_progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Stops runs at failpoints (crash-safety tests).
    pub fn failpoint(mut self, f: FailpointFn) -> Self {
        self.failpoint = Some(f);
        self
    }

    /// Builds the flow; a source, a state store and at least one sink are required.
    pub fn build(self) -> Result<Flow> {
        let source = self
            .source
            .ok_or_else(|| Error::Config(format!("flow {}: no source", self.name)))?;
        let state = self
            .state
            .ok_or_else(|| Error::Config(format!("flow {}: no state store", self.name)))?;
        if self.sink.is_none() && self.routes.is_empty() {
            return Err(Error::Config(format!("flow {}: no sink", self.name)));
        }
        Ok(Flow {
            inner: Arc::new(Inner {
                name: self.name,
                source,
                transforms: self.transforms,
                sink: self.sink,
                routes: self.routes,
                state,
                concurrency: self.concurrency,
                retry: self.retry,
                dead_after: self.dead_after,
                dry_run: self.dry_run,
                after_write: self.after_write,
                dead_letter: self.dead_letter,
                progress: self.progress,
                failpoint: self.failpoint,
                locks: KeyedLocks::default(),
            }),
        })
    }
}

/// What the transforms decided.
enum Decision {
    Write(Box<Document>, Arc<dyn Sink>),
    Skip(String),
}

type Shared = Arc<Mutex<Report>>;

impl Flow {
    /// A builder for a flow named `name` (the name keys its state: checkpoints, mappings).
    pub fn builder(name: impl Into<String>) -> FlowBuilder {
        FlowBuilder {
            name: name.into(),
            source: None,
            transforms: Vec::new(),
            sink: None,
            routes: HashMap::new(),
            state: None,
            concurrency: 4,
            retry: RetryPolicy::default(),
            dead_after: 10,
            dry_run: false,
            after_write: Vec::new(),
            dead_letter: None,
            progress: None,
            failpoint: None,
        }
    }

    /// The flow's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The state store.
    pub fn state(&self) -> &Arc<dyn StateStore> {
        &self.inner.state
    }

    /// One run: earlier failures and interrupted writes first, then the changes since the
    /// checkpoint. Returns an error when the source or the state store fails (what finished
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

        if !inner.dry_run {
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

    async fn scheduled_run(&self) -> Result<()> {
        match self.run_once().await {
            Ok(_) => Ok(()),
            Err(e @ Error::Stopped(_)) => Err(e),
            Err(e) => {
                self.emit(Progress::RunFailed { error: e.chain() });
                Ok(())
            }
        }
    }

    fn emit(&self, p: Progress) {
        if let Some(f) = &self.inner.progress {
            f(&p);
        }
    }

    fn failpoint(&self, at: Failpoint) -> Result<()> {
        match &self.inner.failpoint {
            Some(f) if f(at) => Err(Error::Stopped(format!("{at:?}"))),
            _ => Ok(()),
        }
    }

    fn audit(
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
        }
    }

    /// Fetches and processes the documents of earlier failures (not dead) and interrupted
    /// writes.
    async fn retry_earlier(&self, report: &Shared) -> Result<()> {
        let inner = &self.inner;
        let mut refs: BTreeMap<String, DocRef> = BTreeMap::new();
        let mut dead = std::collections::BTreeSet::new();
        for f in inner.state.failures(&inner.name).await? {
            if f.dead {
                dead.insert(f.source.key());
            } else {
                refs.insert(f.source.key(), f.source);
            }
        }
        // A failed write keeps its intent (it may have landed); a dead one is not retried.
        for i in inner.state.intents(&inner.name).await? {
            if !dead.contains(&i.source.key()) {
                refs.insert(i.source.key(), i.source);
            }
        }
        if refs.is_empty() {
            return Ok(());
        }
        tracing::info!(flow = %inner.name, n = refs.len(), "retrying earlier failures and interrupted writes");
        let mut tasks = stream::iter(refs.into_values())
            .map(|r| self.retry_one(r, report))
            .buffer_unordered(inner.concurrency);
        while let Some(res) = tasks.next().await {
            res?;
        }
        Ok(())
    }

    async fn retry_one(&self, source: DocRef, report: &Shared) -> Result<()> {
        let inner = &self.inner;
        let key = source.key();
        match inner.source.fetch(&source).await {
            Ok(Some(doc)) => {
                lock(report).retried += 1;
                self.process(doc, report).await
            }
            Ok(None) => {
                tracing::info!(flow = %inner.name, source = %source, "gone from the source; failure forgotten");
                inner.state.clear_failure(&inner.name, &key).await?;
                inner.state.clear_intent(&inner.name, &key).await?;
                inner
                    .state
                    .append_audit(&AuditEntry {
                        time: Utc::now(),
                        flow: inner.name.clone(),
                        source,
                        source_hash: None,
                        path: None,
                        target: None,
                        account: None,
                        action: "gone".into(),
                        outcome: "no longer at the source".into(),
                    })
                    .await
            }
            Err(e) => {
                // The source could not be read: count an attempt, keep it for the next run.
                let error = e.chain();
                let entry = AuditEntry {
                    time: Utc::now(),
                    flow: inner.name.clone(),
                    source: source.clone(),
                    source_hash: None,
                    path: None,
                    target: None,
                    account: None,
                    action: "fail".into(),
                    outcome: error.clone(),
                };
                let f = inner
                    .state
                    .record_failure(
                        &inner.name,
                        &NewFailure {
                            source: &source,
                            path: None,
                            error: &error,
                            attempts: 1,
                            dead_after: inner.dead_after,
                        },
                        &entry,
                    )
                    .await?;
                lock(report).failed.push(Failed {
                    source,
                    path: f.path,
                    error,
                    attempts: f.attempts,
                    dead: f.dead,
                });
                Ok(())
            }
        }
    }

    /// One feed item. `Err` only for what ends the run (state store, failpoint).
    async fn handle(&self, change: Change, report: &Shared) -> Result<()> {
        match change {
            Change::Upsert(doc) => self.process(*doc, report).await,
            Change::Deleted { path } => {
                tracing::debug!(flow = %self.inner.name, path, "deleted at the source");
                lock(report).deleted.push(path);
                Ok(())
            }
            Change::Nothing => Ok(()),
        }
    }

    async fn decide(&self, doc: Document) -> Result<Decision> {
        let mut doc = doc;
        let mut route: Option<String> = None;
        for t in &self.inner.transforms {
            match t.apply(doc).await? {
                Outcome::Pass(d) => doc = d,
                Outcome::Skip { reason } => return Ok(Decision::Skip(reason)),
                Outcome::Route { to, doc: d } => {
                    doc = d;
                    route = Some(to);
                    break;
                }
            }
        }
        let sink = match &route {
            Some(name) => self.inner.routes.get(name).cloned().ok_or_else(|| {
                Error::Config(format!(
                    "flow {}: no sink for route {name:?}",
                    self.inner.name
                ))
            })?,
            None => self.inner.sink.clone().ok_or_else(|| {
                Error::Config(format!("flow {}: no default sink", self.inner.name))
            })?,
        };
        Ok(Decision::Write(Box::new(doc), sink))
    }

    /// One document, start to finish. `Err` only for what ends the run.
    async fn process(&self, doc: Document, report: &Shared) -> Result<()> {
        let inner = &self.inner;
        let key = doc.source.key();
        let _guard = inner.locks.lock(&key).await;
        lock(report).found += 1;
        self.emit(Progress::Found {
            source: doc.source.clone(),
            path: doc.path.clone(),
            size: doc.size,
        });

        let latest = inner.state.latest_mapping(&inner.name, &key).await?;
        if let Some(m) = latest.as_ref().filter(|m| m.source == doc.source) {
            if m.hooks_done || inner.dry_run {
                lock(report).unchanged += 1;
                self.emit(Progress::Unchanged {
                    source: doc.source.clone(),
                    path: doc.path.clone(),
                });
                // A failure or intent left for a version that is recorded is stale.
                if !inner.dry_run {
                    inner.state.clear_failure(&inner.name, &key).await?;
                    inner.state.clear_intent(&inner.name, &key).await?;
                }
                return Ok(());
            }
            // Written and recorded, but a post-record step (the sink's deferred step, the
            // marking of the source) is pending. The transforms say which sink and governance.
            let receipt = Receipt {
                target: m.target.clone(),
                bytes: doc.size,
                sent_hashes: Vec::new(),
                action: WriteAction::Adopted,
                location: m.location.clone(),
            };
            return match self.decide(doc.clone()).await {
                Ok(Decision::Write(d, sink)) => {
                    self.finish_hooks(&d, Some(&*sink), &receipt, report).await
                }
                Ok(Decision::Skip(reason)) => {
                    tracing::info!(flow = %inner.name, doc = %doc.path, reason, "now skipped; only the marking is finished");
                    self.finish_hooks(&doc, None, &receipt, report).await
                }
                Err(e) => self.fail(&doc, e, 1, report).await,
            };
        }

        let (doc, sink) = match self.decide(doc.clone()).await {
            Ok(Decision::Write(d, s)) => (*d, s),
            Ok(Decision::Skip(reason)) => {
                if !inner.dry_run {
                    inner.state.clear_failure(&inner.name, &key).await?;
                    inner.state.clear_intent(&inner.name, &key).await?;
                    inner
                        .state
                        .append_audit(&self.audit(&doc, "skip", &reason, None))
                        .await?;
                }
                self.emit(Progress::Skipped {
                    source: doc.source.clone(),
                    path: doc.path.clone(),
                    reason: reason.clone(),
                });
                lock(report).skipped.push(Skipped {
                    source: doc.source.clone(),
                    path: doc.path.clone(),
                    reason,
                });
                return Ok(());
            }
            Err(e) => return self.fail(&doc, e, 1, report).await,
        };

        if inner.dry_run {
            lock(report).written.push(Written {
                source: doc.source.clone(),
                path: doc.path.clone(),
                target: None,
                location: sink.describe(&doc),
                action: None,
                bytes: doc.size,
                metadata: doc.metadata.clone(),
                governance: doc.governance.clone(),
            });
            return Ok(());
        }

        let in_doubt = inner.state.intent(&inner.name, &key).await?.is_some();
        self.failpoint(Failpoint::BeforeIntent)?;
        inner.state.begin_intent(&inner.name, &doc.source).await?;
        self.emit(Progress::Started {
            source: doc.source.clone(),
            path: doc.path.clone(),
            size: doc.size,
        });
        let doc = self.counted(doc);
        let mut ctx = WriteContext {
            flow: inner.name.clone(),
            previous: latest.map(|m| m.target),
            attempt: 0,
        };
        let receipt = loop {
            ctx.attempt += 1;
            match self
                .write_once(&*sink, &doc, &ctx, in_doubt || ctx.attempt > 1)
                .await
            {
                Ok(r) => break r,
                Err(e @ Error::Stopped(_)) => return Err(e),
                Err(e) if e.is_retryable() && ctx.attempt < inner.retry.max_attempts => {
                    let delay = inner.retry.delay(ctx.attempt, e.retry_after());
                    tracing::warn!(flow = %inner.name, doc = %doc.path, attempt = ctx.attempt, ?delay, error = %e.chain(), "write failed; retrying");
                    self.emit(Progress::Retrying {
                        source: doc.source.clone(),
                        path: doc.path.clone(),
                        attempt: ctx.attempt,
                        error: e.chain(),
                    });
                    tokio::time::sleep(delay).await;
                }
                Err(e) => return self.fail(&doc, e, ctx.attempt, report).await,
            }
        };

        self.failpoint(Failpoint::AfterWrite)?;
        let mapping = Mapping {
            source: doc.source.clone(),
            target: receipt.target.clone(),
            location: receipt.location.clone(),
            hooks_done: inner.after_write.is_empty() && !sink.has_deferred(&doc),
            recorded: Utc::now(),
        };
        let entry = self.audit(&doc, receipt.action.as_str(), "ok", Some(&receipt.target));
        inner
            .state
            .record_write(&inner.name, &mapping, &entry)
            .await?;
        self.failpoint(Failpoint::AfterRecord)?;
        {
            let mut r = lock(report);
            if receipt.action != WriteAction::Adopted {
                r.bytes += receipt.bytes;
            }
            r.written.push(Written {
                source: doc.source.clone(),
                path: doc.path.clone(),
                target: Some(receipt.target.clone()),
                location: receipt.location.clone(),
                action: Some(receipt.action),
                bytes: receipt.bytes,
                metadata: doc.metadata.clone(),
                governance: doc.governance.clone(),
            });
        }
        self.emit(Progress::Done {
            source: doc.source.clone(),
            path: doc.path.clone(),
            target: receipt.target.clone(),
            location: receipt.location.clone(),
            action: receipt.action,
        });
        if mapping.hooks_done {
            return Ok(());
        }
        self.finish_hooks(&doc, Some(&*sink), &receipt, report)
            .await
    }

    /// One attempt: adopt an earlier write when in doubt, else write; verify.
    async fn write_once(
        &self,
        sink: &dyn Sink,
        doc: &Document,
        ctx: &WriteContext,
        in_doubt: bool,
    ) -> Result<Receipt> {
        if in_doubt {
            if let Some(found) = sink.find_existing(doc, ctx).await? {
                tracing::info!(flow = %self.inner.name, doc = %doc.path, target = %found.target, "adopting an earlier write");
                sink.complete(doc, &found, ctx).await?;
                let adopted = Receipt {
                    action: WriteAction::Adopted,
                    ..found
                };
                verify::check_receipt(doc, &adopted)?;
                return Ok(adopted);
            }
        }
        self.failpoint(Failpoint::BeforeWrite)?;
        let receipt = sink.write(doc, ctx).await?;
        verify::check_receipt(doc, &receipt)?;
        Ok(receipt)
    }

    /// Runs the sink's deferred step unless it is recorded as done (then records it), and the
    /// after-write hooks (with retries), and records them as done.
    async fn finish_hooks(
        &self,
        doc: &Document,
        sink: Option<&dyn Sink>,
        receipt: &Receipt,
        report: &Shared,
    ) -> Result<()> {
        let inner = &self.inner;
        let mut deferred = match sink.filter(|s| s.has_deferred(doc)) {
            Some(s)
                if !inner
                    .state
                    .step_done(&inner.name, &doc.source, STEP_SINK_DEFERRED)
                    .await? =>
            {
                Some(s)
            }
            _ => None,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut result = Ok(());
            if let Some(s) = deferred {
                result = self.deferred_step(s, doc, receipt).await;
                if result.is_ok() {
                    deferred = None;
                }
            }
            if result.is_ok() {
                for hook in &inner.after_write {
                    result = hook.after_write(doc, receipt).await;
                    if result.is_err() {
                        break;
                    }
                }
            }
            match result {
                Ok(()) => break,
                Err(e @ Error::Stopped(_)) => return Err(e),
                Err(e) if e.is_retryable() && attempt < inner.retry.max_attempts => {
                    tokio::time::sleep(inner.retry.delay(attempt, e.retry_after())).await;
                }
                Err(e) => return self.fail(doc, e, attempt, report).await,
            }
        }
        self.failpoint(Failpoint::AfterHooks)?;
        inner
            .state
            .mark_hooks_done(&inner.name, &doc.source)
            .await?;
        // A failure left by an earlier attempt at these steps is settled.
        inner
            .state
            .clear_failure(&inner.name, &doc.source.key())
            .await?;
        if receipt.action == WriteAction::Adopted
            && !lock(report).written.iter().any(|w| w.source == doc.source)
        {
            // Only the marking was left to do from an earlier run.
            lock(report).unchanged += 1;
        }
        inner
            .state
            .append_audit(&self.audit(doc, "mark", "ok", Some(&receipt.target)))
            .await
    }

    /// The sink's deferred step: found done at the target when an earlier run stopped while it
    /// was under way, else run; then recorded as done.
    async fn deferred_step(
        &self,
        sink: &dyn Sink,
        doc: &Document,
        receipt: &Receipt,
    ) -> Result<()> {
        let inner = &self.inner;
        let state = &inner.state;
        let in_doubt = state
            .step_done(&inner.name, &doc.source, STEP_SINK_DEFERRED_STARTED)
            .await?;
        let outcome = if in_doubt && sink.deferred_done(doc, receipt).await? {
            tracing::info!(flow = %inner.name, doc = %doc.path, "deferred step found done at the target");
            "found done"
        } else {
            state
                .mark_step_done(&inner.name, &doc.source, STEP_SINK_DEFERRED_STARTED)
                .await?;
            sink.run_deferred(doc, receipt).await?;
            self.failpoint(Failpoint::AfterDeferred)?;
            "ok"
        };
        state
            .mark_step_done(&inner.name, &doc.source, STEP_SINK_DEFERRED)
            .await?;
        state
            .append_audit(&self.audit(doc, "deferred", outcome, Some(&receipt.target)))
            .await
    }

    /// Records a failure; dead-letters it when its attempts are exhausted.
    async fn fail(
        &self,
        doc: &Document,
        error: Error,
        attempts: u32,
        report: &Shared,
    ) -> Result<()> {
        let inner = &self.inner;
        let text = error.chain();
        tracing::warn!(flow = %inner.name, doc = %doc.path, attempts, error = %text, "document failed");
        let entry = self.audit(doc, "fail", &text, None);
        let f = inner
            .state
            .record_failure(
                &inner.name,
                &NewFailure {
                    source: &doc.source,
                    path: Some(&doc.path),
                    error: &text,
                    attempts,
                    dead_after: inner.dead_after,
                },
                &entry,
            )
            .await?;
        lock(report).failed.push(Failed {
            source: doc.source.clone(),
            path: Some(doc.path.clone()),
            error: text.clone(),
            attempts: f.attempts,
            dead: f.dead,
        });
        self.emit(Progress::Failed {
            source: doc.source.clone(),
            path: doc.path.clone(),
            error: text.clone(),
            dead: f.dead,
        });
        if f.dead {
            if let Some(hook) = &inner.dead_letter {
                hook.dead_letter(&DeadLetter {
                    flow: inner.name.clone(),
                    source: doc.source.clone(),
                    path: Some(doc.path.clone()),
                    error: text.clone(),
                    attempts: f.attempts,
                })
                .await;
            }
            inner
                .state
                .append_audit(&self.audit(doc, "dead_letter", &text, None))
                .await?;
        }
        Ok(())
    }

    /// The document with a body that reports the bytes it hands out.
    fn counted(&self, doc: Document) -> Document {
        let Some(progress) = self.inner.progress.clone() else {
            return doc;
        };
        let source = doc.source.clone();
        let body = doc.body.map_stream(move |s| {
            let progress = progress.clone();
            let source = source.clone();
            s.inspect(move |chunk| {
                if let Ok(b) = chunk {
                    progress(&Progress::Bytes {
                        source: source.clone(),
                        n: b.len() as u64,
                    });
                }
            })
            .boxed()
        });
        Document { body, ..doc }
    }
}

/// The next wake-up of a source's wake stream (`None` when it ended, or there is none).
async fn next_wake(wake: &mut Option<futures::stream::BoxStream<'static, ()>>) -> Option<()> {
    match wake.as_mut() {
        Some(w) => w.next().await,
        None => None,
    }
}

fn lock(report: &Shared) -> std::sync::MutexGuard<'_, Report> {
    report.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp(s: &str) -> Option<Checkpoint> {
        Some(Checkpoint(s.into()))
    }

    #[test]
    fn acks_advance_over_finished_prefixes_only() {
        let mut a = Acks::default();
        // Page 1 = items 0..=2 (cursor c1 on item 2), page 2 = items 3..=4 (c2 on item 4).
        assert_eq!(a.finish(1, None), None);
        assert_eq!(a.finish(2, cp("c1")), None, "item 0 is not finished");
        assert_eq!(a.finish(4, cp("c2")), None);
        assert_eq!(a.finish(0, None), cp("c1"));
        assert_eq!(a.finish(3, None), cp("c2"));
        assert_eq!(a.finish(5, None), None);
    }

    #[test]
    fn delays_grow_and_honour_hints() {
        let p = RetryPolicy {
            jitter: false,
            ..RetryPolicy::default()
        };
        assert_eq!(p.delay(1, None), Duration::from_millis(500));
        assert_eq!(p.delay(2, None), Duration::from_secs(1));
        assert_eq!(p.delay(20, None), Duration::from_secs(30));
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(300))),
            Duration::from_secs(30)
        );
        let j = RetryPolicy::default();
        for _ in 0..50 {
            let d = j.delay(1, None);
            assert!(d >= Duration::from_millis(250) && d <= Duration::from_millis(500));
        }
    }
}
