//! [`FlowBuilder`]: what a flow is made of and how it behaves.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::{FailpointFn, Flow, Inner, KeyedLocks, Progress, ProgressFn, RetryPolicy};
use crate::error::{Error, Result};
use crate::sink::{AfterWrite, DeadLetterHook, Sink};
use crate::source::Source;
use crate::state::{DocumentStore, StateStore, Store};
use crate::transform::{AsyncTransform, Blocking, Transform};

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
    documents: Option<Arc<dyn DocumentStore>>,
    recheck: Option<Duration>,
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

    /// A sink for documents that a transform routes to `name` ([`crate::transform::Outcome::Route`]).
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

    /// The state store, holding both contracts: what [`FlowBuilder::state`] sets, and the
    /// document records that [`FlowBuilder::recheck_skipped`] keeps.
    pub fn store<S: Store + 'static>(mut self, store: Arc<S>) -> Self {
        self.state = Some(store.clone());
        self.documents = Some(store);
        self
    }

    /// The document records alone (the same store as [`FlowBuilder::state`]'s, seen through
    /// its other contract), for a caller that holds the two as separate handles.
    pub fn documents(mut self, documents: Arc<dyn DocumentStore>) -> Self {
        self.documents = Some(documents);
        self
    }

    /// Keeps each skipped document `awaiting` in the document records and looks at it again
    /// (through [`crate::source::Source::recheck`], without reading its bytes) once `every` has
    /// passed, at the start of a run; a document that the transforms now pass is written. For
    /// decisions that can change without a change the feed reports (a Dropbox tag or property
    /// that approves a file after it was listed). Needs [`FlowBuilder::store`].
    pub fn recheck_skipped(mut self, every: Duration) -> Self {
        self.recheck = Some(every);
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
        if self.recheck.is_some() && self.documents.is_none() {
            return Err(Error::Config(format!(
                "flow {}: recheck_skipped needs a store with document records (FlowBuilder::store)",
                self.name
            )));
        }
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
                documents: self.documents,
                recheck: self.recheck,
                locks: KeyedLocks::default(),
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
            after_write: Vec::new(),
            dead_letter: None,
            progress: None,
            failpoint: None,
            documents: None,
            recheck: None,
        }
    }
}
