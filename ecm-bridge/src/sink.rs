//! Sinks: where documents are written, the receipts they return, and the hooks that run after
//! a write (marking the source) or after a document's attempts are exhausted (dead letters).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use std::sync::Arc;

use crate::error::Result;
use crate::model::{ContentHash, DocRef, Document};
use crate::runner::Step;

/// How a sink wrote a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WriteAction {
    /// A new document.
    Created,
    /// A new version of a document written before.
    AddedVersion,
    /// A write that had happened but was not recorded, found and adopted.
    Adopted,
}

impl WriteAction {
    /// `create`, `add_version`, `adopt` (the audit trail's words).
    pub fn as_str(self) -> &'static str {
        match self {
            WriteAction::Created => "create",
            WriteAction::AddedVersion => "add_version",
            WriteAction::Adopted => "adopt",
        }
    }
}

/// What a sink reports about a write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The target document and version.
    pub target: DocRef,
    /// Bytes at the target.
    pub bytes: u64,
    /// Hashes of the bytes that were sent (or read back), computed as they streamed.
    pub sent_hashes: Vec<ContentHash>,
    /// How it was written.
    pub action: WriteAction,
    /// Where, for people (`Enterprise/Archive/Marketing/…`).
    pub location: String,
}

/// What becomes of the target of a document removed at the source (deleted, or moved out of
/// the flow's tree), [`crate::runner::FlowBuilder::removal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RemovalPolicy {
    /// The target stays as it is; only the record says `removed` (a backup keeps it).
    #[default]
    RecordOnly,
    /// Access the sink gave is taken back (Dropbox: the shared links it made); the target
    /// stays.
    Revoke,
    /// The target is deleted (Content Server: to the recycle bin; Dropbox: `files/delete`).
    Delete,
}

impl RemovalPolicy {
    /// `record_only`, `revoke`, `delete` (the audit trail's words).
    pub fn as_str(self) -> &'static str {
        match self {
            RemovalPolicy::RecordOnly => "record_only",
            RemovalPolicy::Revoke => "revoke",
            RemovalPolicy::Delete => "delete",
        }
    }
}

/// What a rename or move at the source does at the target (the pairing is kept either way;
/// it never makes a second target document), [`crate::runner::FlowBuilder::rename`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RenamePolicy {
    /// Only the record takes the new path; the target stays where it is.
    #[default]
    RecordPath,
    /// The target is moved (and renamed) to where the document would now be written
    /// ([`Sink::relocate`]).
    MoveTarget,
}

/// What the runner tells a sink about the write at hand.
#[derive(Debug, Clone)]
pub struct WriteContext {
    /// The flow's name.
    pub flow: String,
    /// Where an earlier version of this source document went (from the state store), so a new
    /// source version becomes a new target version of the same document.
    pub previous: Option<DocRef>,
    /// 1 for the first attempt in this run.
    pub attempt: u32,
    /// Whether an earlier write of this source document (this version or one before it) may
    /// have landed without being recorded: a crash or a lost answer after the write began.
    /// [`Sink::find_existing`] has found nothing to adopt for this version; a sink that then
    /// finds its own target path taken may treat what is there as its own earlier write and
    /// replace it, instead of failing on the name.
    pub in_doubt: bool,
}

/// Where documents are written.
///
/// Contract: `write` writes the bytes and applies the governance, and fails rather than
/// report success for bytes that do not verify. `find_existing` finds a write of this exact
/// source version that happened without being recorded (the target carries the source marker,
/// [`DocRef::marker`]). `complete` re-applies what `write` does after the bytes (categories,
/// classification, permissions, …) for an adopted write; it must be idempotent. A step that is
/// not idempotent (starting a workflow) is one of the sink's steps: [`Sink::steps`].
#[async_trait]
pub trait Sink: Send + Sync {
    /// Writes `doc` (a new document, or a new version of `ctx.previous`) with its governance.
    async fn write(&self, doc: &Document, ctx: &WriteContext) -> Result<Receipt>;

    /// The receipt of an earlier write of this exact source version, if the target has one.
    async fn find_existing(&self, doc: &Document, ctx: &WriteContext) -> Result<Option<Receipt>>;

    /// Finishes an adopted write: applies the governance steps that follow the bytes.
    async fn complete(&self, doc: &Document, receipt: &Receipt, ctx: &WriteContext) -> Result<()> {
        let _ = (doc, receipt, ctx);
        Ok(())
    }

    /// Where `doc` would be written, for dry runs and reports.
    fn describe(&self, doc: &Document) -> String;

    /// The server this sink writes to, by the name metrics and the runner's adaptive
    /// concurrency use ([`crate::runner::load`]): `contentserver`, `dropbox`. Writes toward
    /// one server share one limit. Default: `target`.
    fn server(&self) -> &str {
        "target"
    }

    /// The steps this sink brings, run after each write is recorded and before the flow's
    /// own ([`crate::runner::FlowBuilder::step`]): what must follow the bytes but cannot go
    /// in `write`, because it cannot be repeated safely (Content Server: starting a workflow,
    /// whose process id is the step's output). See [`crate::runner::Step`]. Default: none.
    fn steps(&self) -> Vec<Arc<dyn Step>> {
        Vec::new()
    }

    /// Moves (and renames) `target`, which this sink wrote, to where `doc` would be written
    /// now (its source was renamed or moved; `doc` is as the transforms left it), and answers
    /// the new location for people. Must be idempotent: a target already there is not moved.
    /// By default refused with [`crate::Error::Config`] (the document is then failed).
    async fn relocate(&self, doc: &Document, target: &DocRef) -> Result<String> {
        let _ = doc;
        Err(crate::Error::Config(format!(
            "this sink cannot move its targets (asked to move {target})"
        )))
    }

    /// Applies `policy` to `target`, which this sink wrote, now that its source document is
    /// gone. Must be idempotent: a target already deleted is not an error. The runner never
    /// calls it for [`RemovalPolicy::RecordOnly`]. By default every other policy is refused
    /// with [`crate::Error::Config`] (the record is then failed, and the removal retried on a
    /// later run).
    async fn remove(&self, target: &DocRef, policy: RemovalPolicy) -> Result<()> {
        Err(crate::Error::Config(format!(
            "this sink cannot apply the removal policy {} (to {target})",
            policy.as_str()
        )))
    }
}

/// A hook run after a document is written and recorded (mark the source with a tag, a
/// property, or move it). It must be idempotent: after a crash it may run again. The runner
/// runs it as a repeatable [`Step`] whose output is `null`
/// ([`crate::runner::FlowBuilder::after_write`]); a hook with an output is a [`Step`].
#[async_trait]
pub trait AfterWrite: Send + Sync {
    /// Runs the hook.
    async fn after_write(&self, doc: &Document, receipt: &Receipt) -> Result<()>;
}

/// A document whose attempts are exhausted.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// The flow.
    pub flow: String,
    /// The source document and version.
    pub source: DocRef,
    /// Its path, when known.
    pub path: Option<String>,
    /// The last error, with its sources.
    pub error: String,
    /// Attempts made, over all runs.
    pub attempts: u32,
}

/// Receives documents whose attempts are exhausted. It never fails the flow: errors are the
/// hook's own to log.
#[async_trait]
pub trait DeadLetterHook: Send + Sync {
    /// Receives one dead letter.
    async fn dead_letter(&self, letter: &DeadLetter);
}

/// A shared sink is a sink (one limit and one cache for several flows).
#[async_trait]
impl<T: Sink + ?Sized> Sink for std::sync::Arc<T> {
    async fn write(&self, doc: &Document, ctx: &WriteContext) -> Result<Receipt> {
        (**self).write(doc, ctx).await
    }

    async fn find_existing(&self, doc: &Document, ctx: &WriteContext) -> Result<Option<Receipt>> {
        (**self).find_existing(doc, ctx).await
    }

    async fn complete(&self, doc: &Document, receipt: &Receipt, ctx: &WriteContext) -> Result<()> {
        (**self).complete(doc, receipt, ctx).await
    }

    fn describe(&self, doc: &Document) -> String {
        (**self).describe(doc)
    }

    fn steps(&self) -> Vec<Arc<dyn Step>> {
        (**self).steps()
    }

    async fn remove(&self, target: &DocRef, policy: RemovalPolicy) -> Result<()> {
        (**self).remove(target, policy).await
    }

    async fn relocate(&self, doc: &Document, target: &DocRef) -> Result<String> {
        (**self).relocate(doc, target).await
    }
}

/// A shared hook is a hook.
#[async_trait]
impl<T: AfterWrite + ?Sized> AfterWrite for std::sync::Arc<T> {
    async fn after_write(&self, doc: &Document, receipt: &Receipt) -> Result<()> {
        (**self).after_write(doc, receipt).await
    }
}

/// A shared dead-letter hook is a dead-letter hook.
#[async_trait]
impl<T: DeadLetterHook + ?Sized> DeadLetterHook for std::sync::Arc<T> {
    async fn dead_letter(&self, letter: &DeadLetter) {
        (**self).dead_letter(letter).await
    }
}
