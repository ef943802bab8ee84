//! The state of flows: one durable record per document with its history, steps, runs,
//! claims and jobs ([`DocumentStore`]), and beside them each flow's checkpoint and the
//! append-only audit trail, exportable as JSON lines, every entry with its run's id
//! ([`StateStore`]). [`Store`] is both; the runner holds an `Arc<dyn Store>`.
//!
//! Three stores implement both contracts: [`SqliteStore`] (one file, WAL, migrated at open; the
//! default), [`MemoryStore`] (tests, dry experiments) and, with the `postgres` feature,
//! `PostgresStore` (a shared database several workers can use; migrated at connect). They keep
//! the same semantics; the conformance tests in this module run against each.
//!
//! How the runner uses them, per document: it reads the document's record (same version and
//! `done` → nothing to do); saves it `pending`, with what a resume needs, before the write;
//! saves it `written` (or `done`) with the target after it, with one audit entry; begins and
//! finishes each step after the write; and saves it `done`. A `pending` record that survives a
//! crash tells the next run to look for the write at the target
//! ([`crate::sink::Sink::find_existing`]) before writing again.
//!
//! # [`DocumentStore`]
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
//! The mappings, intents, failures, `hooks_done` and string-named steps of the first shape
//! are retired: [`SqliteStore`] (schema 3 and 4) and `PostgresStore` (schema 2) move what an
//! older file or database holds of them into records and the step log, then drop their
//! tables.
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
/// The PostgreSQL server of the tests (hidden: for this workspace's tests only).
#[cfg(feature = "postgres")]
#[doc(hidden)]
pub use postgres::testing as pg_testing;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresOptions, PostgresStore, PG_URL_VAR};
pub use records::{
    fold_path, job_key, BeginStep, CasOutcome, Claim, ClaimOutcome, DocRecord, DocStatus,
    HistoryEntry, Job, JobBarrier, PartitionCheckpoint, RunCounts, RunId, RunRecord, StepRecord,
    StepState, LISTER_KEY, STEP_FINALISE,
};
pub(crate) use sqlite::fuzz::decode_rows;
pub use sqlite::{SqliteOptions, SqliteStore, Synchronous};

/// The name of the sink's post-record step in state files of schema 2 (a workflow start);
/// [`SqliteStore`] moves it to the step log, and renames it to the Content Server sink's
/// step `workflow`.
pub(crate) const STEP_SINK_DEFERRED: &str = "sink_deferred";

/// Recorded just before that step was attempted, in state files of schema 2: when it is there
/// and [`STEP_SINK_DEFERRED`] is not, a run stopped while the step was under way.
pub(crate) const STEP_SINK_DEFERRED_STARTED: &str = "sink_deferred_started";

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
    /// `create`, `add_version`, `adopt`, `step` (a step after the write; the outcome names
    /// it: `workflow: ok`), `mark` (every step done), `move`, `skip`, `quarantine`,
    /// `conflict`, `fail`, `dead_letter`, `gone`.
    pub action: String,
    /// `ok`, or the reason or error.
    pub outcome: String,
    /// The run that wrote the entry ([`DocumentStore::begin_run`]); `None` for entries
    /// written outside a run, or before runs were recorded.
    #[serde(default)]
    pub run: Option<RunId>,
}

/// The flow-wide state besides the document records: the checkpoint of each flow's feed and
/// the append-only audit trail. Implementations must be safe to share between tasks.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// The saved checkpoint of `flow`.
    async fn checkpoint(&self, flow: &str) -> Result<Option<Checkpoint>>;

    /// Saves the checkpoint of `flow`.
    async fn set_checkpoint(&self, flow: &str, checkpoint: &Checkpoint) -> Result<()>;

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

    fn audit(flow: &str, source: &DocRef, action: &str, run: Option<RunId>) -> AuditEntry {
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
            run,
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
        let mut created = audit(flow, &v1, "create", Some(7));
        created.target = Some(DocRef::cs(100, 1));
        store.append_audit(&created).await.unwrap();
        store
            .append_audit(&audit(flow, &v1, "fail", None))
            .await
            .unwrap();
        store
            .append_audit(&audit("g", &v1, "skip", Some(8)))
            .await
            .unwrap();
        let all = store.audit(None).await.unwrap();
        let actions: Vec<(&str, Option<RunId>)> =
            all.iter().map(|e| (e.action.as_str(), e.run)).collect();
        assert_eq!(
            actions,
            [("create", Some(7)), ("fail", None), ("skip", Some(8))]
        );
        assert_eq!(all[0].target, Some(DocRef::cs(100, 1)));
        assert_eq!(store.audit(Some("g")).await.unwrap().len(), 1);
        let mut out = Vec::new();
        assert_eq!(
            store
                .export_audit_jsonl(Some(flow), &mut out)
                .await
                .unwrap(),
            2
        );
        let text = String::from_utf8(out).unwrap();
        let first: AuditEntry = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!((first.source, first.run), (v1, Some(7)));
        assert!(text.lines().next().unwrap().contains("\"run\":7"), "{text}");
        assert_eq!(text.lines().count(), 2);
    }
}
