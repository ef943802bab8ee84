//! What a run did ([`Report`]) and what it is doing ([`Progress`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::model::{Checkpoint, DocRef, Governance, Value};
use crate::sink::WriteAction;

use super::sampled::Sampled;

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
    /// It was held back: quarantined by a transform, or in conflict at the target (recorded,
    /// not retried).
    Held {
        /// The document.
        source: DocRef,
        /// Its path.
        path: String,
        /// Why.
        reason: String,
        /// Whether it is a conflict at the target (else a quarantine).
        conflict: bool,
    },
    /// A step after the write waits on something outside (see [`super::StepOutcome::Awaiting`]).
    Awaiting {
        /// The document.
        source: DocRef,
        /// Its path.
        path: String,
        /// The step.
        step: String,
        /// When it is looked at again.
        until: chrono::DateTime<chrono::Utc>,
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
    /// A pair of a two-way flow (`version_sync`) was decided: `action` is its report's
    /// (`sent out`, `pending`, `accepted`, `conflict`, `failed`, …; `unchanged` when nothing
    /// was done).
    Synced {
        /// The CS document.
        source: DocRef,
        /// Its path.
        path: String,
        /// What was done.
        action: String,
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

/// One document held back: quarantined by a transform ([`crate::transform::Outcome::Quarantine`])
/// or in conflict at the target ([`crate::Error::Conflict`]). Neither is retried.
#[derive(Debug, Clone, Serialize)]
pub struct Held {
    /// The source document and version.
    pub source: DocRef,
    /// Its path.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// One document renamed or moved at the source with its bytes unchanged: the pairing is kept
/// and the new path recorded; under [`crate::sink::RenamePolicy::MoveTarget`] the target was
/// moved too.
#[derive(Debug, Clone, Serialize)]
pub struct Moved {
    /// The source document and version.
    pub source: DocRef,
    /// The recorded path before.
    pub from: String,
    /// The path now.
    pub to: String,
}

/// One document whose step waits on something outside (recorded `awaiting` with the time of
/// its next check; polled by the first run at or after it).
#[derive(Debug, Clone, Serialize)]
pub struct Awaiting {
    /// The source document and version.
    pub source: DocRef,
    /// Its path.
    pub path: String,
    /// The step that waits.
    pub step: String,
    /// When it is looked at again.
    pub until: chrono::DateTime<chrono::Utc>,
    /// The step's output so far.
    pub output: serde_json::Value,
}

/// One document removed at the source, handled under the flow's removal policy.
#[derive(Debug, Clone, Serialize)]
pub struct Removed {
    /// The source document (the version last recorded).
    pub source: DocRef,
    /// Its recorded path.
    pub path: Option<String>,
    /// Its target, when something was written.
    pub target: Option<DocRef>,
    /// What was done to the target.
    pub policy: crate::sink::RemovalPolicy,
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
    /// `awaiting` documents whose check was due, looked at again at the start of the run.
    pub rechecked: u64,
    /// Bytes written (adopted writes not counted).
    pub bytes: u64,
    /// Documents written, adopted, or (dry run) to be written: all counted, the first
    /// [`Sampled::KEPT`] kept (so are the other lists of documents).
    pub written: Sampled<Written>,
    /// How many of `written` were created, added as versions, adopted (in that order; all of
    /// them, not only the kept ones).
    #[serde(skip)]
    pub(crate) by_action: [u64; 3],
    /// Documents already written before, and documents whose marking was finished.
    pub unchanged: u64,
    /// Documents skipped, with reasons.
    pub skipped: Sampled<Skipped>,
    /// Documents that failed in this run.
    pub failed: Sampled<Failed>,
    /// Documents in conflict at the target (recorded `conflict`, not retried).
    pub conflicts: Sampled<Held>,
    /// Documents quarantined by a transform (recorded `quarantined`, not retried).
    pub quarantined: Sampled<Held>,
    /// Documents renamed or moved at the source whose new path was recorded (also counted in
    /// `unchanged`).
    pub moved: Sampled<Moved>,
    /// Documents whose step answered that it waits (recorded `awaiting`); not failed, not
    /// done.
    pub awaiting: Sampled<Awaiting>,
    /// Paths reported deleted at the source.
    pub deleted: Sampled<String>,
    /// Documents removed at the source (found through the path index under a deleted path)
    /// and handled under the removal policy; recorded `removed`.
    pub removed: Sampled<Removed>,
    /// The checkpoint saved at the end (unchanged when `None`).
    pub checkpoint: Option<Checkpoint>,
    /// The run's id in the document records ([`crate::state::DocumentStore::begin_run`]);
    /// `None` in a dry run.
    pub run: Option<crate::state::RunId>,
}

impl Report {
    /// The counts recorded with the run ([`crate::state::DocumentStore::finish_run`]).
    pub fn counts(&self) -> crate::state::RunCounts {
        let n = |v: usize| v as u64;
        [
            ("found", self.found),
            ("retried", self.retried),
            ("rechecked", self.rechecked),
            ("written", n(self.written.len())),
            ("unchanged", self.unchanged),
            ("skipped", n(self.skipped.len())),
            ("failed", n(self.failed.len())),
            ("conflict", n(self.conflicts.len())),
            ("quarantined", n(self.quarantined.len())),
            ("moved", n(self.moved.len())),
            ("awaiting", n(self.awaiting.len())),
            ("deleted", n(self.deleted.len())),
            ("removed", n(self.removed.len())),
            ("bytes", self.bytes),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Documents newly written with `action` (every one, kept in `written` or not).
    pub fn count(&self, action: WriteAction) -> usize {
        self.by_action[Self::slot(action)] as usize
    }

    /// Adds a written document to `written`, counted by its action.
    pub(crate) fn push_written(&mut self, w: Written) {
        if let Some(action) = w.action {
            self.by_action[Self::slot(action)] += 1;
        }
        self.written.push(w);
    }

    /// `action`'s place in `by_action`.
    fn slot(action: WriteAction) -> usize {
        match action {
            WriteAction::Created => 0,
            WriteAction::AddedVersion => 1,
            WriteAction::Adopted => 2,
        }
    }

    /// One line: counts, bytes and time. Quarantines, conflicts and moves are named only when
    /// there are some, so the line of a run without them keeps its earlier form.
    pub fn summary(&self) -> String {
        let verb = if self.dry_run {
            "would write"
        } else {
            "written"
        };
        let mut held = String::new();
        for (n, what) in [
            (self.quarantined.len(), "quarantined"),
            (self.conflicts.len(), "conflicts"),
            (self.moved.len(), "moved"),
            (self.awaiting.len(), "awaiting"),
            (self.removed.len(), "removed"),
        ] {
            if n > 0 {
                held.push_str(&format!(", {n} {what}"));
            }
        }
        format!(
            "{}: {} found, {} {verb} ({} new, {} new versions, {} adopted), {} unchanged, {} skipped{held}, {} failed, {} bytes in {:.2?}",
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
