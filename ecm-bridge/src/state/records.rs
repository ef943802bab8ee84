//! The types of the document store ([`super::DocumentStore`]): one record per (flow, source
//! document), its history, steps with outputs, runs, claims, partitioned checkpoints and jobs.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Checkpoint, ContentHash, DocRef, HashKind};

/// A run's number: given by [`super::DocumentStore::begin_run`], growing over the life of a
/// store (never reused, even after a reopen). `0` marks what a store knew before runs were
/// recorded (records migrated from the first schema).
pub type RunId = u64;

/// The key of the lister lease: `claim(flow, LISTER_KEY, …)` makes one worker at a time the
/// one that reads a flow's change feed. No document has it: [`DocRef::key`] is always
/// `{system}:{id}`, and this starts with `@`.
pub const LISTER_KEY: &str = "@lister";

/// The step name of a job's finaliser ([`super::DocumentStore::begin_finalise`]).
pub const STEP_FINALISE: &str = "finalise";

/// The key under which a job's finaliser is kept in the step log: `@job:{job}` (never a
/// document key, see [`LISTER_KEY`]).
pub fn job_key(job: &str) -> String {
    format!("@job:{job}")
}

/// Where a document is in its life. The runner decides every transition; the stores only keep
/// what they are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocStatus {
    /// Seen; its write has not been recorded (a write may be under way: look at the target).
    Pending,
    /// The bytes are at the target; some steps after the write are not done.
    Written,
    /// A step waits on something outside (a workflow, an approval) until
    /// [`DocRecord::next_check`].
    Awaiting,
    /// Finished: written and every step done.
    Done,
    /// The target changed on its own side; recorded and reported, not retried.
    Conflict,
    /// Held back by a rule (e.g. a malware or policy check); recorded, not retried.
    Quarantined,
    /// Gone from the source, and handled under the flow's removal policy.
    Removed,
    /// Failed; retried on a later run.
    Failed,
    /// Failed too often; no longer retried automatically.
    Dead,
    /// A transform skipped this version after a write of it had begun (and none was found at
    /// the target): nothing of it is to be written. A later version is decided again.
    Skipped,
}

impl DocStatus {
    /// Every status, in the order of the enum.
    pub const ALL: [DocStatus; 10] = [
        DocStatus::Pending,
        DocStatus::Written,
        DocStatus::Awaiting,
        DocStatus::Done,
        DocStatus::Conflict,
        DocStatus::Quarantined,
        DocStatus::Removed,
        DocStatus::Failed,
        DocStatus::Dead,
        DocStatus::Skipped,
    ];

    /// The name stored and shown: `pending`, `written`, …
    pub fn as_str(self) -> &'static str {
        match self {
            DocStatus::Pending => "pending",
            DocStatus::Written => "written",
            DocStatus::Awaiting => "awaiting",
            DocStatus::Done => "done",
            DocStatus::Conflict => "conflict",
            DocStatus::Quarantined => "quarantined",
            DocStatus::Removed => "removed",
            DocStatus::Failed => "failed",
            DocStatus::Dead => "dead",
            DocStatus::Skipped => "skipped",
        }
    }

    /// Whether the target holds this document as the source had it at this point (written,
    /// awaiting, done) or the document was removed: the states the after-run view
    /// ([`super::DocumentStore::after_run`]) shows.
    pub fn is_settled_at_target(self) -> bool {
        matches!(
            self,
            DocStatus::Written | DocStatus::Awaiting | DocStatus::Done | DocStatus::Removed
        )
    }

    /// Whether a job must wait for this document before its finaliser may run: pending,
    /// written (steps left), awaiting, failed. Done, conflict, quarantined, removed and dead
    /// are outcomes; the finaliser reads them in [`JobBarrier::counts`].
    pub fn blocks_job(self) -> bool {
        matches!(
            self,
            DocStatus::Pending | DocStatus::Written | DocStatus::Awaiting | DocStatus::Failed
        )
    }
}

impl fmt::Display for DocStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DocStatus {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        DocStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| Error::State(format!("unknown document status {s:?}")))
    }
}

/// The lowercased form of a path used by the path index: Unicode lowercase
/// ([`str::to_lowercase`]), without a trailing `/`. Pass a source's own lowercased path (Dropbox's
/// `path_lower`) through it too, so both sides of a lookup are folded the same way.
pub fn fold_path(path: &str) -> String {
    let lower = path.to_lowercase();
    match lower.strip_suffix('/') {
        Some(s) => s.to_owned(),
        None => lower,
    }
}

/// Parses [`ContentHash`]'s display form (`dropbox:…`, `sha256:…`).
pub(crate) fn parse_hash(s: &str) -> Option<ContentHash> {
    let (kind, value) = s.split_once(':')?;
    let kind = match kind {
        "dropbox" => HashKind::DropboxContentHash,
        "sha256" => HashKind::Sha256,
        _ => return None,
    };
    Some(ContentHash {
        kind,
        value: value.to_owned(),
    })
}

/// The one durable record of a source document in a flow, keyed by (flow,
/// [`DocRef::key`] of [`DocRecord::source`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocRecord {
    /// The flow.
    pub flow: String,
    /// The source document at the version this record is about.
    pub source: DocRef,
    /// The source path, as the source spells it.
    pub path: Option<String>,
    /// The path as the path index holds it ([`fold_path`]); [`DocRecord::new`] fills it, and
    /// the stores fill it from [`DocRecord::path`] when it is `None`.
    pub path_lower: Option<String>,
    /// The size in bytes.
    pub size: Option<u64>,
    /// The source's content hash.
    pub hash: Option<ContentHash>,
    /// The target document and version, once something is written.
    pub target: Option<DocRef>,
    /// Where at the target, for people.
    pub location: Option<String>,
    /// The sink or route that wrote it (its name in the flow).
    pub sink: Option<String>,
    /// Where it is in its life.
    pub status: DocStatus,
    /// Attempts over all runs, as the runner counts them.
    pub attempts: u32,
    /// The last error, with its sources.
    pub last_error: Option<String>,
    /// The run that last saved the record.
    pub run: RunId,
    /// When an `awaiting` document is next looked at ([`super::DocumentStore::due_checks`]).
    pub next_check: Option<DateTime<Utc>>,
    /// When the record was first saved (kept by the stores on later saves).
    pub created: DateTime<Utc>,
    /// When it was last saved.
    pub updated: DateTime<Utc>,
    /// What the runner keeps to resume the document without running the transforms again
    /// (the document's metadata and governance after them, and how far it got). Opaque to the
    /// stores, which keep it as they were given it.
    pub context: Option<serde_json::Value>,
}

impl DocRecord {
    /// A `pending` record of `source` at `path`, first seen in `run`, with nothing else known.
    pub fn new(flow: impl Into<String>, source: DocRef, path: Option<String>, run: RunId) -> Self {
        let now = Utc::now();
        DocRecord {
            flow: flow.into(),
            source,
            path_lower: path.as_deref().map(fold_path),
            path,
            size: None,
            hash: None,
            target: None,
            location: None,
            sink: None,
            status: DocStatus::Pending,
            attempts: 0,
            last_error: None,
            run,
            next_check: None,
            created: now,
            updated: now,
            context: None,
        }
    }

    /// The source document's key ([`DocRef::key`]).
    pub fn key(&self) -> String {
        self.source.key()
    }

    /// [`DocRecord::path_lower`], or the folded [`DocRecord::path`].
    pub(crate) fn index_path(&self) -> Option<String> {
        self.path_lower
            .as_deref()
            .map(fold_path)
            .or_else(|| self.path.as_deref().map(fold_path))
    }
}

/// One line of a document's history: what a run left of one source version. A save of the
/// record adds a line, or replaces the line of the same version from the same run (so a
/// version written and finished in one run has one line); lines are never otherwise changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The flow.
    pub flow: String,
    /// The source document at that version.
    pub source: DocRef,
    /// The target document and version, when something was written.
    pub target: Option<DocRef>,
    /// The status the run left it in.
    pub status: DocStatus,
    /// The run.
    pub run: RunId,
    /// When the line was written.
    pub time: DateTime<Utc>,
}

/// The state of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// Begun and not finished: under way, or stopped by a crash (in doubt).
    Started,
    /// Finished, with its output.
    Done,
    /// Failed; [`super::DocumentStore::begin_step`] may begin it again.
    Failed,
    /// Ran and answered that it waits on something outside (a workflow's outcome, an
    /// approval), with its output so far ([`super::DocumentStore::await_step`]);
    /// [`super::DocumentStore::begin_step`] begins it again (keeping that output) when the
    /// document's check is due.
    Awaiting,
}

impl StepState {
    /// The name stored: `started`, `done`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Started => "started",
            StepState::Done => "done",
            StepState::Failed => "failed",
            StepState::Awaiting => "awaiting",
        }
    }
}

impl FromStr for StepState {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        [
            StepState::Started,
            StepState::Done,
            StepState::Failed,
            StepState::Awaiting,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
        .ok_or_else(|| Error::State(format!("unknown step state {s:?}")))
    }
}

/// A named step of one source version (after the bytes: a workflow start, a share link, a
/// manifest entry), keyed by (flow, key, version, name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The flow.
    pub flow: String,
    /// The source document's key ([`DocRef::key`]), or a job's ([`job_key`]).
    pub key: String,
    /// The source version (`""` for an unversioned key such as a job's).
    pub version: String,
    /// The step's name.
    pub name: String,
    /// Its state.
    pub state: StepState,
    /// What it produced (a process id, a link URL, a manifest node): once done, or so far
    /// while it is awaiting (kept when it is begun again).
    pub output: Option<serde_json::Value>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// Times it was begun.
    pub attempts: u32,
    /// When it was (last) begun.
    pub started: DateTime<Utc>,
    /// When it finished or failed.
    pub finished: Option<DateTime<Utc>>,
}

/// What [`super::DocumentStore::begin_step`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum BeginStep {
    /// The step was absent (or had failed, or was awaiting) and is now `started` by this
    /// caller, who must finish, fail or await it.
    Began(StepRecord),
    /// The step is already `started` (by someone else, or by a run that stopped: in doubt) or
    /// `done` (with its output); nothing changed.
    Exists(StepRecord),
}

impl BeginStep {
    /// Whether this caller began the step.
    pub fn began(&self) -> bool {
        matches!(self, BeginStep::Began(_))
    }

    /// The step as it is now.
    pub fn step(&self) -> &StepRecord {
        match self {
            BeginStep::Began(s) | BeginStep::Exists(s) => s,
        }
    }
}

/// Counts of a run's outcomes by name (`written`, `unchanged`, `failed`, …).
pub type RunCounts = BTreeMap<String, u64>;

/// One run of a flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Its number.
    pub id: RunId,
    /// The flow.
    pub flow: String,
    /// When it began.
    pub started: DateTime<Utc>,
    /// When it finished; `None` while under way, or when the process stopped during it.
    pub finished: Option<DateTime<Utc>>,
    /// Its counts, once finished.
    pub counts: RunCounts,
    /// Its report, once finished.
    pub report: Option<serde_json::Value>,
}

/// A claim on (flow, key): one worker at a time works on the document (or, on
/// [`LISTER_KEY`], reads the flow's feed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The flow.
    pub flow: String,
    /// The key claimed.
    pub key: String,
    /// Who holds it: a name unique to one worker process (a restarted worker takes a new one,
    /// so its earlier life's writes are fenced off).
    pub owner: String,
    /// The fencing token: greater with every new claim of this key, never reused; guarded
    /// writes carry it ([`super::DocumentStore::save_record`]).
    pub token: u64,
    /// When the lease ends unless renewed; after it anyone may claim the key.
    pub lease_until: DateTime<Utc>,
}

/// What [`super::DocumentStore::claim`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The key was free (never claimed, released, or its lease ended): it is now this
    /// caller's, with a new token.
    Claimed(Claim),
    /// Someone holds an unexpired lease (possibly this same owner: a claim is not renewed by
    /// claiming again, see [`super::DocumentStore::renew_claim`]).
    Held(Claim),
}

impl ClaimOutcome {
    /// The claim, when this caller got it.
    pub fn claimed(&self) -> Option<&Claim> {
        match self {
            ClaimOutcome::Claimed(c) => Some(c),
            ClaimOutcome::Held(_) => None,
        }
    }
}

/// A checkpoint of one partition of a flow's feed, with the version that compare-and-set
/// writes check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionCheckpoint {
    /// The position.
    pub checkpoint: Checkpoint,
    /// 1 for the first write, one more with each accepted write.
    pub version: u64,
    /// When it was written.
    pub updated: DateTime<Utc>,
}

/// What [`super::DocumentStore::swap_checkpoint`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CasOutcome {
    /// Written; this is the checkpoint's new version.
    Stored(u64),
    /// Refused: the stored version is not the one expected (`None`: there is none). Nothing
    /// changed; re-read it.
    Stale(Option<u64>),
}

/// A job: a set of documents with one end (one project folder's closeout, one backup run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// The flow.
    pub flow: String,
    /// The job's id within the flow.
    pub job: String,
    /// When its listing was declared finished (no member will be added).
    pub listing_finished: Option<DateTime<Utc>>,
    /// When it was first seen.
    pub created: DateTime<Utc>,
}

/// The answer of [`super::DocumentStore::job_barrier`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobBarrier {
    /// Whether the job's listing is finished.
    pub listing_finished: bool,
    /// Members.
    pub members: u64,
    /// Members with no record yet (as good as pending).
    pub unrecorded: u64,
    /// Members by their record's status (only statuses that occur).
    pub counts: BTreeMap<DocStatus, u64>,
}

impl JobBarrier {
    /// Whether the finaliser may run: the listing is finished and no member is unrecorded or
    /// in a status that [blocks a job](DocStatus::blocks_job).
    pub fn ready(&self) -> bool {
        self.listing_finished
            && self.unrecorded == 0
            && self
                .counts
                .iter()
                .all(|(status, n)| *n == 0 || !status.blocks_job())
    }
}
