//! Steps with outputs: what happens to a document after its bytes are written (a workflow
//! start, a share link, the marking of the source, a manifest entry), each named, with a state
//! in the document store and a JSON output.
//!
//! A flow declares its steps in order ([`super::FlowBuilder::step`]); a sink may bring its own,
//! which run first ([`crate::sink::Sink::steps`]). For each written version the runner begins
//! each step through [`crate::state::DocumentStore::begin_step`] (one conditional write: begin
//! if not begun) and finishes it with its output, so a step is done once per version:
//!
//! - **done** (`StepOutcome::Done`): the output is kept; later steps see it in
//!   [`StepInput::outputs`].
//! - **awaiting** (`StepOutcome::Awaiting`): the step waits on something outside until a time;
//!   its output so far is kept ([`crate::state::DocumentStore::await_step`]), the document
//!   becomes `awaiting` with that `next_check`, and the first run at or after it polls the
//!   step again (with [`StepInput::so_far`]). Later steps wait.
//! - **an error**: retried within the run under the flow's retry policy, then the document is
//!   failed and taken up again on a later run. A repeatable step is marked failed; one that is
//!   not stays `started`, so the next run asks the target whether it happened.
//!
//! A step found `started` (a run stopped while it was under way) runs again when it is
//! [repeatable](Step::repeatable); otherwise the runner first asks [`Step::check`] whether it
//! happened at the target, and takes the output it answers instead of running it twice.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::model::Document;
use crate::sink::{AfterWrite, Receipt};
use crate::state::DocRecord;

/// What a step answers when it runs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StepOutcome {
    /// It happened; this is what it produced (a process id, a link URL; `null` for nothing).
    Done(serde_json::Value),
    /// It waits on something outside (a workflow's outcome, an approval): look again at or
    /// after `until`. `output` is what it knows so far, handed back as [`StepInput::so_far`].
    Awaiting {
        /// When the document is next checked.
        until: DateTime<Utc>,
        /// The step's output so far.
        output: serde_json::Value,
    },
}

/// What a step is given.
#[derive(Debug, Clone, Copy)]
pub struct StepInput<'a> {
    /// The flow's name.
    pub flow: &'a str,
    /// The document as the transforms left it (its metadata and governance).
    pub doc: &'a Document,
    /// Its record as the store holds it (status `written` or `awaiting`, target, sink).
    pub record: &'a DocRecord,
    /// What the sink reported about the write (for a write recorded in an earlier run: the
    /// target and location from the record, with `action` [`crate::sink::WriteAction::Adopted`]).
    pub receipt: &'a Receipt,
    /// The outputs of the steps before this one, by name.
    pub outputs: &'a BTreeMap<String, serde_json::Value>,
    /// This step's own output so far, when it answered [`StepOutcome::Awaiting`] before.
    pub so_far: Option<&'a serde_json::Value>,
    /// For a step that is not repeatable, its records for the document's other versions,
    /// oldest first (empty for a repeatable step): what its [`Step::check`] must not take for
    /// this version's doing (a node keeps the workflow processes of its earlier versions).
    pub earlier: &'a [crate::state::StepRecord],
    /// The time the runner decides by (when it polls, when an awaiting step is next due).
    pub now: DateTime<Utc>,
}

/// A named step after the write.
///
/// Names key the step log per (flow, document, version): keep them stable across releases,
/// and unique within a flow (the sink's steps included).
#[async_trait]
pub trait Step: Send + Sync {
    /// The step's name (`workflow`, `mark`, `share`).
    fn name(&self) -> &str;

    /// Whether running it twice is harmless (a tag, a property, a status poll). A step that is
    /// not (starting a workflow, a one-way move) is checked at the target ([`Step::check`])
    /// when a run finds it begun and not finished. Default: repeatable.
    fn repeatable(&self) -> bool {
        true
    }

    /// Whether the step applies to `doc` (e.g. only documents whose governance names a
    /// workflow). A step that does not apply is not begun. Default: every document.
    fn applies(&self, doc: &Document) -> bool {
        let _ = doc;
        true
    }

    /// Runs the step.
    async fn run(&self, input: &StepInput<'_>) -> Result<StepOutcome>;

    /// For a step that is not repeatable, found `started` (a run stopped while it was under
    /// way): whether it happened at the target, with the output it then has (the process
    /// with the node attached). `None` runs it. The default, `None`, repeats it.
    async fn check(&self, input: &StepInput<'_>) -> Result<Option<serde_json::Value>> {
        let _ = input;
        Ok(None)
    }
}

/// A shared step is a step.
#[async_trait]
impl<T: Step + ?Sized> Step for Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn repeatable(&self) -> bool {
        (**self).repeatable()
    }

    fn applies(&self, doc: &Document) -> bool {
        (**self).applies(doc)
    }

    async fn run(&self, input: &StepInput<'_>) -> Result<StepOutcome> {
        (**self).run(input).await
    }

    async fn check(&self, input: &StepInput<'_>) -> Result<Option<serde_json::Value>> {
        (**self).check(input).await
    }
}

/// An [`AfterWrite`] hook as a repeatable step whose output is `null`
/// ([`super::FlowBuilder::after_write`]).
pub(super) struct HookStep {
    pub name: String,
    pub hook: Arc<dyn AfterWrite>,
}

#[async_trait]
impl Step for HookStep {
    fn name(&self) -> &str {
        &self.name
    }

    async fn run(&self, input: &StepInput<'_>) -> Result<StepOutcome> {
        self.hook.after_write(input.doc, input.receipt).await?;
        Ok(StepOutcome::Done(serde_json::Value::Null))
    }
}
