//! The operator's view of a store: what each flow holds by state, its last runs, what is
//! awaiting and due; the failed and dead documents with their errors, and requeueing them; the
//! conflicts and quarantines, and resolving one by a [`Resolve`] policy; the audit trail of a
//! document, a run or a time span ([`audit`]); the run history with counts.
//!
//! Everything here is built on the store contracts ([`crate::state::DocumentStore`],
//! [`crate::state::StateStore`]), so it
//! works on every store (SQLite, memory, PostgreSQL) alike. The changes an operator makes
//! (requeue, resolve) are recorded as a run of their own
//! ([`crate::state::DocumentStore::begin_run`], with
//! the report `{"operator": "retry" | "resolve", …}`) so that each changed record's history
//! line and audit entry name the run that made the change; the runner then takes a requeued
//! document up on its next run like any earlier failure.

pub mod audit;
#[cfg(test)]
pub(crate) mod conformance;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::DocRef;
use crate::state::{AuditEntry, DocRecord, DocStatus, RunCounts, RunRecord, Store};

pub use audit::{AuditFilter, AuditFormat};

/// One document as the operator sees it: a [`DocRecord`] without the runner's resume context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocLine {
    /// The source document's key ([`crate::model::DocRef::key`]); what `retry` and `resolve`
    /// take.
    pub key: String,
    /// The source version (a Dropbox rev, a CS version number).
    pub version: Option<String>,
    /// The source path.
    pub path: Option<String>,
    /// Its state.
    pub status: DocStatus,
    /// Attempts over all runs.
    pub attempts: u32,
    /// The last error, with its sources.
    pub error: Option<String>,
    /// The target (`cs:{node}@{version}`), once written.
    pub target: Option<String>,
    /// Where at the target, for people.
    pub location: Option<String>,
    /// When an awaiting document is next looked at.
    pub next_check: Option<DateTime<Utc>>,
    /// The run that last saved it.
    pub run: u64,
    /// When it was last saved.
    pub updated: DateTime<Utc>,
}

impl From<&DocRecord> for DocLine {
    fn from(r: &DocRecord) -> Self {
        DocLine {
            key: r.key(),
            version: r.source.version.clone(),
            path: r.path.clone(),
            status: r.status,
            attempts: r.attempts,
            error: r.last_error.clone(),
            target: r.target.as_ref().map(DocRef::marker),
            location: r.location.clone(),
            next_check: r.next_check,
            run: r.run,
            updated: r.updated,
        }
    }
}

/// One flow at a glance ([`status`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowStatus {
    /// The flow.
    pub flow: String,
    /// Documents by state (every state, zeros included, in the order of [`DocStatus::ALL`]).
    pub documents: BTreeMap<String, u64>,
    /// The last runs, newest first.
    pub runs: Vec<RunRecord>,
    /// The awaiting documents, earliest check first.
    pub awaiting: Vec<DocLine>,
    /// Of those, the ones whose check is due at the time asked about.
    pub due: Vec<DocLine>,
}

/// The flows a store knows of: those with runs or audit entries (the store keeps no list of
/// flows), sorted.
pub async fn flows(store: &dyn Store) -> Result<Vec<String>> {
    let names: BTreeSet<String> = store
        .audit(None)
        .await?
        .into_iter()
        .map(|e| e.flow)
        .collect();
    Ok(names.into_iter().collect())
}

/// `flow`'s documents by state, its last `runs` runs, what is awaiting, and what is due at
/// `now`.
pub async fn status(
    store: &dyn Store,
    flow: &str,
    runs: usize,
    now: DateTime<Utc>,
) -> Result<FlowStatus> {
    let mut documents = BTreeMap::new();
    let mut awaiting = Vec::new();
    for st in DocStatus::ALL {
        let records = store.records_by_status(flow, st).await?;
        documents.insert(st.as_str().to_owned(), records.len() as u64);
        if st == DocStatus::Awaiting {
            awaiting = records;
        }
    }
    awaiting.sort_by_key(|r| (r.next_check, r.key()));
    let due = store.due_checks(flow, now).await?;
    Ok(FlowStatus {
        flow: flow.to_owned(),
        documents,
        runs: last_runs(store, flow, runs).await?,
        awaiting: awaiting.iter().map(DocLine::from).collect(),
        due: due.iter().map(DocLine::from).collect(),
    })
}

/// The last `n` runs of `flow`, newest first (all of them when `n` is 0).
pub async fn last_runs(store: &dyn Store, flow: &str, n: usize) -> Result<Vec<RunRecord>> {
    let mut runs = store.runs(flow).await?;
    runs.reverse();
    if n > 0 {
        runs.truncate(n);
    }
    Ok(runs)
}

/// The documents of `flow` in any of `states`, by key.
async fn in_states(store: &dyn Store, flow: &str, states: &[DocStatus]) -> Result<Vec<DocRecord>> {
    let mut out = BTreeMap::new();
    for st in states {
        for r in store.records_by_status(flow, *st).await? {
            out.insert(r.key(), r);
        }
    }
    Ok(out.into_values().collect())
}

/// The failed documents (retried on the next run) and the dead ones (no longer retried) of
/// `flow`, with their errors, by key.
pub async fn failures(store: &dyn Store, flow: &str) -> Result<Vec<DocLine>> {
    let records = in_states(store, flow, &[DocStatus::Failed, DocStatus::Dead]).await?;
    Ok(records.iter().map(DocLine::from).collect())
}

/// The conflicts and quarantined documents of `flow` (recorded, never retried on their own),
/// with their reasons, by key.
pub async fn conflicts(store: &dyn Store, flow: &str) -> Result<Vec<DocLine>> {
    let records = in_states(store, flow, &[DocStatus::Conflict, DocStatus::Quarantined]).await?;
    Ok(records.iter().map(DocLine::from).collect())
}

/// Which documents [`retry`] requeues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every failed and dead document of the flow.
    All,
    /// These keys (each must be failed or dead).
    Keys(Vec<String>),
}

/// What an operator's change did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Changed {
    /// The run that recorded the change.
    pub run: u64,
    /// The documents changed, as they are now.
    pub documents: Vec<DocLine>,
}

/// Requeues failed and dead documents of `flow`: each becomes `failed` with its attempts set
/// to 0 (its error kept), so the next run fetches it from the source and tries it again with
/// the flow's full attempt budget ([`crate::runner::FlowBuilder::dead_letter_after`]). A key
/// that is not failed or dead is an error and nothing is changed.
pub async fn retry(store: &dyn Store, flow: &str, which: &Selection) -> Result<Changed> {
    let all = in_states(store, flow, &[DocStatus::Failed, DocStatus::Dead]).await?;
    let chosen: Vec<DocRecord> = match which {
        Selection::All => all,
        Selection::Keys(keys) => {
            let by_key: BTreeMap<String, DocRecord> =
                all.into_iter().map(|r| (r.key(), r)).collect();
            let mut chosen = Vec::new();
            for k in keys {
                match by_key.get(k) {
                    Some(r) => chosen.push(r.clone()),
                    None => return Err(not_in(store, flow, k, "failed or dead").await),
                }
            }
            chosen
        }
    };
    change(store, flow, "retry", chosen, |r| {
        let was = r.status;
        r.status = DocStatus::Failed;
        r.attempts = 0;
        r.next_check = None;
        (
            "requeue",
            format!("ok: requeued by the operator (was {was})"),
        )
    })
    .await
}

/// How [`resolve`] settles a conflict or quarantine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolve {
    /// Try it again: `failed` with attempts 0, so the next run fetches it from the source,
    /// decides it again (the transforms run: a quarantine may be lifted by changed rules) and
    /// writes it, looking first for a write of it at the target.
    Retry,
    /// Accept the target as it stands: `done`, nothing written. Only for a document with a
    /// target.
    Accept,
    /// Let this version go: `skipped`, nothing written and no run takes it up; its next
    /// version is decided as usual.
    Dismiss,
}

impl Resolve {
    /// The name shown and parsed: `retry`, `accept`, `dismiss`.
    pub fn as_str(self) -> &'static str {
        match self {
            Resolve::Retry => "retry",
            Resolve::Accept => "accept",
            Resolve::Dismiss => "dismiss",
        }
    }
}

impl fmt::Display for Resolve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Resolve {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        [Resolve::Retry, Resolve::Accept, Resolve::Dismiss]
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                Error::Config(format!(
                    "unknown resolve policy {s:?} (retry, accept or dismiss)"
                ))
            })
    }
}

/// Resolves the conflict or quarantine of the document `key` of `flow` by `policy`. An error
/// (nothing changed) when the document is not in conflict or quarantined, or when `accept` is
/// asked of a document without a target.
pub async fn resolve(store: &dyn Store, flow: &str, key: &str, policy: Resolve) -> Result<Changed> {
    let record = match store.record(flow, key).await? {
        Some(r) if matches!(r.status, DocStatus::Conflict | DocStatus::Quarantined) => r,
        _ => return Err(not_in(store, flow, key, "in conflict or quarantined").await),
    };
    if policy == Resolve::Accept && record.target.is_none() {
        return Err(Error::Config(format!(
            "flow {flow}: {key} has nothing at the target to accept; resolve it by retry or dismiss"
        )));
    }
    change(store, flow, "resolve", vec![record], |r| {
        let was = r.status;
        r.status = match policy {
            Resolve::Retry => DocStatus::Failed,
            Resolve::Accept => DocStatus::Done,
            Resolve::Dismiss => DocStatus::Skipped,
        };
        if policy == Resolve::Retry {
            r.attempts = 0;
        }
        r.next_check = None;
        (
            "resolve",
            format!("ok: {policy} by the operator (was {was})"),
        )
    })
    .await
}

/// The error for a key that is not where an operator's command expects it.
async fn not_in(store: &dyn Store, flow: &str, key: &str, expected: &str) -> Error {
    let now = match store.record(flow, key).await {
        Ok(Some(r)) => format!("it is {}", r.status),
        Ok(None) => "there is no such document".to_owned(),
        Err(e) => format!("its record could not be read: {e}"),
    };
    Error::Config(format!("flow {flow}: {key} is not {expected}; {now}"))
}

/// Applies `edit` to each record in a run of the operator's own, saving each and auditing it
/// (`edit` returns the audit action and outcome).
async fn change(
    store: &dyn Store,
    flow: &str,
    command: &str,
    records: Vec<DocRecord>,
    edit: impl Fn(&mut DocRecord) -> (&'static str, String),
) -> Result<Changed> {
    let run = store.begin_run(flow).await?;
    let mut documents = Vec::new();
    for mut r in records {
        let (action, outcome) = edit(&mut r);
        r.run = run;
        r.updated = Utc::now();
        store.save_record(&r, None).await?;
        store
            .append_audit(&AuditEntry {
                time: r.updated,
                flow: flow.to_owned(),
                source: r.source.clone(),
                source_hash: r.hash.as_ref().map(ToString::to_string),
                path: r.path.clone(),
                target: r.target.clone(),
                account: None,
                action: action.to_owned(),
                outcome,
                run: Some(run),
            })
            .await?;
        documents.push(DocLine::from(&r));
    }
    let mut counts = RunCounts::new();
    counts.insert(command.to_owned(), documents.len() as u64);
    let keys: Vec<&str> = documents.iter().map(|d| d.key.as_str()).collect();
    let report = serde_json::json!({ "operator": command, "documents": keys });
    store.finish_run(run, &counts, &report).await?;
    Ok(Changed { run, documents })
}

/// The runs of `flow` with their counts, oldest first
/// ([`crate::state::DocumentStore::runs`]); `since`
/// keeps those begun at or after it.
pub async fn runs(
    store: &dyn Store,
    flow: &str,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<RunRecord>> {
    let runs = store.runs(flow).await?;
    Ok(runs
        .into_iter()
        .filter(|r| since.is_none_or(|t| r.started >= t))
        .collect())
}
