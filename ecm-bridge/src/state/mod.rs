//! The state of flows: checkpoints, the map of source versions to target versions, pending
//! intents, failures, and an append-only audit trail exportable as JSON lines; and, for the
//! core's second shape, one durable record per document with its steps, runs, claims and jobs.
//!
//! Three stores implement both contracts: [`SqliteStore`] (one file, WAL, migrated at open; the
//! default), [`MemoryStore`] (tests, dry experiments) and, with the `postgres` feature,
//! `PostgresStore` (a shared database several workers can use; migrated at connect). They keep
//! the same semantics; the conformance tests in this module run against each.
//!
//! # [`StateStore`]: what the runner uses today
//!
//! How the runner uses it, per document: it looks up the latest [`Mapping`] of the source id
//! (same version → nothing to do); writes an [`Intent`] before the write; then
//! [`StateStore::record_write`] stores the mapping, clears the intent and any failure and
//! appends the audit entry in one transaction. An intent that survives a crash tells the next
//! run to look for the write at the target ([`crate::sink::Sink::find_existing`]) before
//! writing again.
//!
//! # [`DocumentStore`]: the second shape
//!
//! - **One [`DocRecord`] per (flow, source key)** with an explicit [`DocStatus`], and a
//!   [`HistoryEntry`] per source version and run; [`DocumentStore::after_run`] answers "what
//!   each document looked like after run N". A path index ([`fold_path`]) finds everything
//!   under a deleted folder, case-insensitively.
//! - **Steps with outputs** ([`StepRecord`]): [`DocumentStore::begin_step`] is one conditional
//!   write ("begin if not begun"), so a step that cannot be repeated runs once; resumption
//!   reads [`DocumentStore::steps`] and continues at the first one not done.
//! - **Runs** ([`RunRecord`]) with ids that only grow.
//! - **Claims with fencing tokens** ([`Claim`]): a worker claims a document, holds a lease,
//!   and guards its saves with the claim's token ([`DocumentStore::save_record`] with
//!   `fence`), so a worker whose lease was taken over cannot write late. The lister lease (one
//!   worker per flow reads the change feed) is a claim on the reserved key [`LISTER_KEY`],
//!   with the same lease, renew and token rules. Checkpoints per (flow, partition) are written
//!   by compare-and-set on a version ([`DocumentStore::swap_checkpoint`]).
//! - **Jobs** ([`Job`]): members, a finished listing, a barrier ([`JobBarrier::ready`]) and a
//!   finaliser begun once ([`DocumentStore::begin_finalise`], a step on [`job_key`]).
//!
//! It is a second trait, not new methods on [`StateStore`], because [`StateStore`] has
//! implementations outside this crate (wrappers such as a logging store in the runner tests):
//! new required methods would break them, and default bodies could only be stubs. [`Store`]
//! names both, and is what the runner will hold (`Arc<dyn Store>`) once it moves over; the
//! intents, failures, `hooks_done` and string-named steps of [`StateStore`] then retire.
//! [`SqliteStore`] migrates them into records when it opens an older file.
//!
//! The stores never decide a transition: the runner says what a document's status, attempts
//! and next check are, and when it is dead.

#[cfg(test)]
mod conformance_docs;
mod document;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod records;
mod sqlite;

use std::io::Write;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Checkpoint, DocRef};

pub use document::{DocumentStore, Store};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresOptions, PostgresStore, PG_URL_VAR};
pub use records::{
    fold_path, job_key, BeginStep, CasOutcome, Claim, ClaimOutcome, DocRecord, DocStatus,
    HistoryEntry, Job, JobBarrier, PartitionCheckpoint, RunCounts, RunId, RunRecord, StepRecord,
    StepState, LISTER_KEY, STEP_FINALISE,
};
pub use sqlite::{SqliteOptions, SqliteStore, Synchronous};

/// The post-record step of a sink ([`crate::sink::Sink::run_deferred`], e.g. starting a
/// workflow), as [`StateStore::step_done`] names it.
pub const STEP_SINK_DEFERRED: &str = "sink_deferred";

/// Recorded just before the sink's post-record step is attempted: when it is there and
/// [`STEP_SINK_DEFERRED`] is not, a run stopped while the step was under way.
pub const STEP_SINK_DEFERRED_STARTED: &str = "sink_deferred_started";

/// Where one source version was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    /// The source document and version.
    pub source: DocRef,
    /// The target document and version.
    pub target: DocRef,
    /// Where, for people.
    pub location: String,
    /// Whether the after-write hooks (marking the source) have run.
    pub hooks_done: bool,
    /// When it was recorded.
    pub recorded: DateTime<Utc>,
}

/// A write that was started and not yet recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// The source document and version being written.
    pub source: DocRef,
    /// When the write started.
    pub started: DateTime<Utc>,
}

/// A document that failed, to be retried on the next run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The source document and the version that failed.
    pub source: DocRef,
    /// Its path, when known.
    pub path: Option<String>,
    /// The last error, with its sources.
    pub error: String,
    /// Attempts over all runs.
    pub attempts: u32,
    /// Whether the attempts are exhausted (handed to the dead-letter hook; not retried
    /// automatically any more, but kept here).
    pub dead: bool,
    /// When it last failed.
    pub updated: DateTime<Utc>,
}

/// A failure to record ([`StateStore::record_failure`]).
#[derive(Debug, Clone, Copy)]
pub struct NewFailure<'a> {
    /// The source document and the version that failed.
    pub source: &'a DocRef,
    /// Its path, when known.
    pub path: Option<&'a str>,
    /// The error, with its sources.
    pub error: &'a str,
    /// Attempts made now.
    pub attempts: u32,
    /// Total attempts at which it is dead (0: never).
    pub dead_after: u32,
}

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When.
    pub time: DateTime<Utc>,
    /// The flow.
    pub flow: String,
    /// The source document and version.
    pub source: DocRef,
    /// The source's content hash (`dropbox:…`), when known.
    pub source_hash: Option<String>,
    /// The source path, when known.
    pub path: Option<String>,
    /// The target document and version, when something was written.
    pub target: Option<DocRef>,
    /// The account the source was read as.
    pub account: Option<String>,
    /// `create`, `add_version`, `adopt`, `deferred` (the sink's post-record step, e.g. a
    /// workflow start), `mark`, `skip`, `fail`, `dead_letter`, `gone`.
    pub action: String,
    /// `ok`, or the reason or error.
    pub outcome: String,
}

/// The state of flows. Implementations must be safe to share between tasks.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// The saved checkpoint of `flow`.
    async fn checkpoint(&self, flow: &str) -> Result<Option<Checkpoint>>;

    /// Saves the checkpoint of `flow`.
    async fn set_checkpoint(&self, flow: &str, checkpoint: &Checkpoint) -> Result<()>;

    /// The latest mapping of the source document `key` ([`DocRef::key`]).
    async fn latest_mapping(&self, flow: &str, key: &str) -> Result<Option<Mapping>>;

    /// The latest mapping of every source document of `flow`.
    async fn mappings(&self, flow: &str) -> Result<Vec<Mapping>>;

    /// Notes that a write of `source` starts.
    async fn begin_intent(&self, flow: &str, source: &DocRef) -> Result<()>;

    /// The pending intent of the source document `key`.
    async fn intent(&self, flow: &str, key: &str) -> Result<Option<Intent>>;

    /// Every pending intent of `flow`.
    async fn intents(&self, flow: &str) -> Result<Vec<Intent>>;

    /// Forgets the intent of `key` (the write was abandoned: skipped, or the source is gone).
    async fn clear_intent(&self, flow: &str, key: &str) -> Result<()>;

    /// In one transaction: stores `mapping`, clears the intent and the failure of its source,
    /// appends `audit`.
    async fn record_write(&self, flow: &str, mapping: &Mapping, audit: &AuditEntry) -> Result<()>;

    /// Notes that the after-write hooks of this source version have run.
    async fn mark_hooks_done(&self, flow: &str, source: &DocRef) -> Result<()>;

    /// Whether the post-record step `step` (e.g. [`STEP_SINK_DEFERRED`]: the sink's workflow
    /// start) of this source version is recorded as done. A step stays pending while the
    /// version's mapping has `hooks_done == false` and this answers `false`.
    async fn step_done(&self, flow: &str, source: &DocRef, step: &str) -> Result<bool>;

    /// Records the post-record step `step` of this source version as done (idempotent).
    async fn mark_step_done(&self, flow: &str, source: &DocRef, step: &str) -> Result<()>;

    /// Records a failure (adding its attempts), marks it dead when the total reaches
    /// `dead_after`, appends `audit`, and returns the updated failure.
    async fn record_failure(
        &self,
        flow: &str,
        failure: &NewFailure<'_>,
        audit: &AuditEntry,
    ) -> Result<Failure>;

    /// Forgets the failure of `key`.
    async fn clear_failure(&self, flow: &str, key: &str) -> Result<()>;

    /// The failures of `flow` (dead ones included).
    async fn failures(&self, flow: &str) -> Result<Vec<Failure>>;

    /// Appends one audit entry.
    async fn append_audit(&self, entry: &AuditEntry) -> Result<()>;

    /// The audit trail, oldest first, of one flow or of all.
    async fn audit(&self, flow: Option<&str>) -> Result<Vec<AuditEntry>>;

    /// Writes the audit trail as JSON lines (one entry per line).
    async fn export_audit_jsonl(
        &self,
        flow: Option<&str>,
        out: &mut (dyn Write + Send),
    ) -> Result<u64> {
        let entries = self.audit(flow).await?;
        for e in &entries {
            let line = serde_json::to_string(e).map_err(|e| Error::State(e.to_string()))?;
            writeln!(out, "{line}").map_err(|e| Error::State(e.to_string()))?;
        }
        Ok(entries.len() as u64)
    }
}

#[cfg(test)]
pub(crate) mod conformance {
    use super::*;

    fn audit(flow: &str, source: &DocRef, action: &str) -> AuditEntry {
        AuditEntry {
            time: Utc::now(),
            flow: flow.into(),
            source: source.clone(),
            source_hash: Some("dropbox:ab".into()),
            path: Some("a/b.pdf".into()),
            target: None,
            account: Some("dana@example.com".into()),
            action: action.into(),
            outcome: "ok".into(),
        }
    }

    fn nf<'a>(
        source: &'a DocRef,
        path: Option<&'a str>,
        error: &'a str,
        attempts: u32,
        dead_after: u32,
    ) -> NewFailure<'a> {
        NewFailure {
            source,
            path,
            error,
            attempts,
            dead_after,
        }
    }

    /// The behaviour every store must have.
    pub(crate) async fn run(store: &dyn StateStore) {
        let flow = "f";
        assert_eq!(store.checkpoint(flow).await.unwrap(), None);
        store
            .set_checkpoint(flow, &Checkpoint("c1".into()))
            .await
            .unwrap();
        store
            .set_checkpoint(flow, &Checkpoint("c2".into()))
            .await
            .unwrap();
        assert_eq!(
            store.checkpoint(flow).await.unwrap(),
            Some(Checkpoint("c2".into()))
        );
        assert_eq!(store.checkpoint("other").await.unwrap(), None);

        let v1 = DocRef::dropbox("id:a", "r1");
        let v2 = DocRef::dropbox("id:a", "r2");
        let key = v1.key();
        assert_eq!(store.latest_mapping(flow, &key).await.unwrap(), None);

        store.begin_intent(flow, &v1).await.unwrap();
        assert_eq!(store.intent(flow, &key).await.unwrap().unwrap().source, v1);
        assert_eq!(store.intents(flow).await.unwrap().len(), 1);
        assert!(store.intents("other").await.unwrap().is_empty());

        let f = store
            .record_failure(
                flow,
                &nf(&v1, Some("a/b.pdf"), "boom", 2, 3),
                &audit(flow, &v1, "fail"),
            )
            .await
            .unwrap();
        assert_eq!((f.attempts, f.dead), (2, false));
        let f = store
            .record_failure(
                flow,
                &nf(&v1, None, "boom again", 1, 3),
                &audit(flow, &v1, "fail"),
            )
            .await
            .unwrap();
        assert_eq!((f.attempts, f.dead), (3, true));
        assert_eq!(f.error, "boom again");
        assert_eq!(f.path.as_deref(), Some("a/b.pdf"));
        assert_eq!(store.failures(flow).await.unwrap().len(), 1);

        let m1 = Mapping {
            source: v1.clone(),
            target: DocRef::cs(100, 1),
            location: "Enterprise/Archive/b.pdf".into(),
            hooks_done: false,
            recorded: Utc::now(),
        };
        let mut a = audit(flow, &v1, "create");
        a.target = Some(m1.target.clone());
        store.record_write(flow, &m1, &a).await.unwrap();
        assert_eq!(store.intent(flow, &key).await.unwrap(), None);
        assert!(store.failures(flow).await.unwrap().is_empty());
        let got = store.latest_mapping(flow, &key).await.unwrap().unwrap();
        assert_eq!(
            (got.source.clone(), got.target.clone(), got.hooks_done),
            (v1.clone(), DocRef::cs(100, 1), false)
        );
        assert!(!store.step_done(flow, &v1, "s").await.unwrap());
        store.mark_step_done(flow, &v1, "s").await.unwrap();
        store.mark_step_done(flow, &v1, "s").await.unwrap();
        assert!(store.step_done(flow, &v1, "s").await.unwrap());
        assert!(!store.step_done(flow, &v2, "s").await.unwrap());
        assert!(!store.step_done(flow, &v1, "t").await.unwrap());
        assert!(!store.step_done("other", &v1, "s").await.unwrap());
        store.mark_hooks_done(flow, &v1).await.unwrap();
        assert!(
            store
                .latest_mapping(flow, &key)
                .await
                .unwrap()
                .unwrap()
                .hooks_done
        );

        let m2 = Mapping {
            source: v2.clone(),
            target: DocRef::cs(100, 2),
            ..m1.clone()
        };
        store
            .record_write(flow, &m2, &audit(flow, &v2, "add_version"))
            .await
            .unwrap();
        let got = store.latest_mapping(flow, &key).await.unwrap().unwrap();
        assert_eq!(
            (got.source, got.target, got.hooks_done),
            (v2.clone(), DocRef::cs(100, 2), false)
        );
        assert_eq!(store.mappings(flow).await.unwrap().len(), 1);
        assert!(store.mappings("other").await.unwrap().is_empty());

        store.begin_intent(flow, &v2).await.unwrap();
        store.clear_intent(flow, &key).await.unwrap();
        assert!(store.intents(flow).await.unwrap().is_empty());
        store
            .record_failure(flow, &nf(&v2, None, "x", 1, 0), &audit(flow, &v2, "fail"))
            .await
            .unwrap();
        store.clear_failure(flow, &key).await.unwrap();
        assert!(store.failures(flow).await.unwrap().is_empty());

        store.append_audit(&audit("g", &v1, "skip")).await.unwrap();
        let all = store.audit(None).await.unwrap();
        let actions: Vec<&str> = all.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            ["fail", "fail", "create", "add_version", "fail", "skip"]
        );
        assert_eq!(all[2].target, Some(DocRef::cs(100, 1)));
        assert_eq!(store.audit(Some("g")).await.unwrap().len(), 1);
        let mut out = Vec::new();
        assert_eq!(
            store
                .export_audit_jsonl(Some(flow), &mut out)
                .await
                .unwrap(),
            5
        );
        let text = String::from_utf8(out).unwrap();
        let first: AuditEntry = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first.source, v1);
        assert_eq!(text.lines().count(), 5);
    }
}
