//! [`FlowBuilder`]: what a flow is made of and how it behaves.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::step::HookStep;
use super::{
    ClockFn, FailpointFn, Flow, Inner, KeyedLocks, Progress, ProgressFn, RetryPolicy, Step,
};
use crate::error::{Error, Result};
use crate::sink::{AfterWrite, DeadLetterHook, Sink};
use crate::source::Source;
use crate::state::Store;
use crate::transform::{AsyncTransform, Blocking, Transform};

/// Builds a [`Flow`]; see [`Flow::builder`].
pub struct FlowBuilder {
    name: String,
    source: Option<Arc<dyn Source>>,
    transforms: Vec<Arc<dyn AsyncTransform>>,
    sink: Option<Arc<dyn Sink>>,
    routes: HashMap<String, Arc<dyn Sink>>,
    state: Option<Arc<dyn Store>>,
    concurrency: usize,
    retry: RetryPolicy,
    dead_after: u32,
    dry_run: bool,
    steps: Vec<Arc<dyn Step>>,
    hooks: usize,
    dead_letter: Option<Arc<dyn DeadLetterHook>>,
    progress: Option<ProgressFn>,
    failpoint: Option<FailpointFn>,
    recheck: Option<Duration>,
    removal: crate::sink::RemovalPolicy,
    rename: crate::sink::RenamePolicy,
    clock: Option<ClockFn>,
    adaptive: bool,
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

    /// Whether the concurrency of writes toward each server adapts to its throttles
    /// ([`super::load`]: halved on a 429, `too_many_write_operations` or 503, raised again as
    /// writes succeed, never above [`FlowBuilder::concurrency`]). Default: on; off keeps the
    /// concurrency fixed.
    pub fn adaptive_concurrency(mut self, yes: bool) -> Self {
        self.adaptive = yes;
        self
    }

    /// A sink for documents that a transform routes to `name` ([`crate::transform::Outcome::Route`]).
    pub fn route(mut self, name: impl Into<String>, sink: Arc<dyn Sink>) -> Self {
        self.routes.insert(name.into(), sink);
        self
    }

    /// The state store: checkpoints and the audit trail ([`crate::state::StateStore`]), and
    /// the document records, steps and runs ([`crate::state::DocumentStore`]).
    pub fn state(mut self, state: Arc<dyn Store>) -> Self {
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

    /// Appends a step run after each write is recorded, after the sink's own steps and the
    /// steps declared before it ([`Step`]; its name must be unique in the flow).
    pub fn step(self, step: impl Step + 'static) -> Self {
        self.step_arc(Arc::new(step))
    }

    /// Appends a shared step (see [`FlowBuilder::step`]).
    pub fn step_arc(mut self, step: Arc<dyn Step>) -> Self {
        self.steps.push(step);
        self
    }

    /// Appends a hook run after each write is recorded, as a repeatable step with output
    /// `null`, named `after_write` (the second `after_write_2`, …).
    pub fn after_write(mut self, hook: impl AfterWrite + 'static) -> Self {
        self.hooks += 1;
        let name = match self.hooks {
            1 => "after_write".to_owned(),
            n => format!("after_write_{n}"),
        };
        self.step(HookStep {
            name,
            hook: Arc::new(hook),
        })
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

    /// The state store, as [`FlowBuilder::state`] (kept for callers that name it so).
    pub fn store<S: Store + 'static>(self, store: Arc<S>) -> Self {
        self.state(store)
    }

    /// Keeps each skipped document `awaiting` in the document records and looks at it again
    /// (through [`crate::source::Source::recheck`], without reading its bytes) once `every` has
    /// passed, at the start of a run; a document that the transforms now pass is written. For
    /// decisions that can change without a change the feed reports (a Dropbox tag or property
    /// that approves a file after it was listed).
    pub fn recheck_skipped(mut self, every: Duration) -> Self {
        self.recheck = Some(every);
        self
    }

    /// The clock the runner decides by: which `awaiting` documents are due, the `now` a step
    /// is given. Default: the system's. For tests, and for a worker that must decide by a
    /// shared clock.
    pub fn clock(
        mut self,
        now: impl Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync + 'static,
    ) -> Self {
        self.clock = Some(Arc::new(now));
        self
    }

    /// What becomes of the target of a document removed at the source (a deleted file, or
    /// everything under a deleted folder, found through the records' path index): kept and
    /// recorded `removed` (the default), access revoked, or deleted
    /// ([`crate::sink::Sink::remove`]).
    pub fn removal(mut self, policy: crate::sink::RemovalPolicy) -> Self {
        self.removal = policy;
        self
    }

    /// What a rename or move at the source does at the target: the record takes the new
    /// path (the default), or the target is moved there too ([`crate::sink::Sink::relocate`]).
    /// Either way the pairing is kept and no second target document is made.
    pub fn rename(mut self, policy: crate::sink::RenamePolicy) -> Self {
        self.rename = policy;
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
        // A document's steps are its sink's, then the flow's: no two of one name.
        let mut names = std::collections::BTreeSet::new();
        let sink_steps: std::collections::BTreeSet<String> = self
            .sink
            .iter()
            .chain(self.routes.values())
            .flat_map(|s| s.steps())
            .map(|s| s.name().to_owned())
            .collect();
        for step in &self.steps {
            let name = step.name();
            if !names.insert(name.to_owned()) || sink_steps.contains(name) {
                return Err(Error::Config(format!(
                    "flow {}: two steps named {name:?}",
                    self.name
                )));
            }
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
                steps: self.steps,
                dead_letter: self.dead_letter,
                progress: self.progress,
                failpoint: self.failpoint,
                recheck: self.recheck,
                removal: self.removal,
                rename: self.rename,
                clock: self.clock,
                locks: KeyedLocks::default(),
                limits: self
                    .adaptive
                    .then(|| Arc::new(super::load::Limits::new(self.concurrency))),
            }),
        })
    }
}

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
            steps: Vec::new(),
            hooks: 0,
            dead_letter: None,
            progress: None,
            failpoint: None,
            recheck: None,
            removal: crate::sink::RemovalPolicy::RecordOnly,
            rename: crate::sink::RenamePolicy::RecordPath,
            clock: None,
            adaptive: true,
        }
    }
}
