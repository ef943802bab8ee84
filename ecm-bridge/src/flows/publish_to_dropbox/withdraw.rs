//! The withdrawal pass of `publish_to_dropbox`: every published record is judged again
//! against the selection; a document no longer selected has its links revoked and its
//! Dropbox copy deleted (`DropboxSink::remove`, policies revoke then delete), and its record
//! ends `removed`.
//!
//! It runs after each publishing run because CS has no change feed that tells a document
//! left the selection (a category value changed, a hold applied, a move or a delete). A
//! failure leaves the record as it was, so the next run judges it again.

use std::sync::Arc;

use chrono::Utc;

use super::selection::{Selection, Verdict};
use crate::connectors::dropbox::{direct_links, DropboxSink};
use crate::error::Result;
use crate::model::System;
use crate::sink::{RemovalPolicy, Sink};
use crate::state::{AuditEntry, DocRecord, DocStatus, Store};

/// A document withdrawn from Dropbox.
#[derive(Debug, Clone)]
pub struct Withdrawn {
    /// The CS path (relative to the published folder).
    pub path: Option<String>,
    /// Where its Dropbox copy was.
    pub location: String,
    /// Why it was withdrawn.
    pub reason: String,
    /// How many shared links were revoked.
    pub links_revoked: usize,
}

/// A withdrawal that failed; the record is left as it was for the next run.
#[derive(Debug, Clone)]
pub struct WithdrawFailed {
    /// The CS path.
    pub path: Option<String>,
    /// The error, with its sources.
    pub error: String,
}

/// Judges the flow's published records (`done` or `written`, with a Dropbox target) again and
/// withdraws those no longer selected.
pub(super) async fn pass(
    flow: &str,
    store: &Arc<dyn Store>,
    selection: &Selection,
    dropbox: &dropbox_client::Client,
) -> Result<(Vec<Withdrawn>, Vec<WithdrawFailed>)> {
    let mut withdrawn = Vec::new();
    let mut failed = Vec::new();
    for status in [DocStatus::Done, DocStatus::Written] {
        for record in store.records_by_status(flow, status).await? {
            let published = record
                .target
                .as_ref()
                .is_some_and(|t| t.system == System::Dropbox)
                && record.location.is_some();
            let Some(node) = record.source.node_id().filter(|_| published) else {
                continue;
            };
            let reason = match selection.verdict(node).await {
                Ok(Verdict::Selected) => continue,
                Ok(Verdict::NotSelected(why)) => why,
                Err(e) => {
                    failed.push(WithdrawFailed {
                        path: record.path.clone(),
                        error: e.to_string(),
                    });
                    continue;
                }
            };
            match withdraw(flow, store, dropbox, record.clone(), &reason).await {
                Ok(w) => withdrawn.push(w),
                Err(e) => {
                    tracing::warn!(flow, doc = ?record.path, error = %e, "withdrawal failed");
                    failed.push(WithdrawFailed {
                        path: record.path.clone(),
                        error: e.to_string(),
                    });
                }
            }
        }
    }
    Ok((withdrawn, failed))
}

/// Revokes the links, deletes the copy at the rev the flow wrote (a copy already gone, by an
/// earlier attempt whose answer was lost or by hand, counts as deleted), then saves the record
/// `removed` and the audit entry.
async fn withdraw(
    flow: &str,
    store: &Arc<dyn Store>,
    dropbox: &dropbox_client::Client,
    mut record: DocRecord,
    reason: &str,
) -> Result<Withdrawn> {
    let location = record.location.clone().unwrap_or_default();
    let label = record.path.clone().unwrap_or_else(|| location.clone());
    let target = record.target.clone();
    let links_revoked = direct_links(dropbox, &label, &location).await?.len();
    if let Some(t) = &target {
        // The sink's removal: its links revoked, then the file deleted at the rev it wrote
        // (each a no-op when already done by an attempt whose answer was lost).
        let sink = DropboxSink::new(dropbox.clone(), None);
        sink.remove(t, RemovalPolicy::Revoke).await?;
        sink.remove(t, RemovalPolicy::Delete).await?;
    }
    let now = Utc::now();
    record.status = DocStatus::Removed;
    record.target = None;
    // Without the hash, a document selected again is decided anew (and published again)
    // instead of being found "unchanged by content hash" against a copy that is gone.
    let hash = record.hash.take();
    record.last_error = None;
    record.next_check = None;
    record.updated = now;
    store.save_record(&record, None).await?;
    store
        .append_audit(&AuditEntry {
            time: now,
            flow: flow.to_owned(),
            source: record.source.clone(),
            source_hash: hash.map(|h| h.to_string()),
            path: record.path.clone(),
            target,
            account: None,
            action: "withdraw".into(),
            outcome: reason.to_owned(),
            run: Some(record.run),
        })
        .await?;
    Ok(Withdrawn {
        path: record.path,
        location,
        reason: reason.to_owned(),
        links_revoked,
    })
}
