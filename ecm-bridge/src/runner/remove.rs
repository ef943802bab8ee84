//! Removals: a document gone from the source — reported deleted by the feed (a deleted
//! folder finds, through the records' path index, everything it held; the source confirms it
//! no longer has them, so a move within the tree is not a removal), or found gone when an
//! earlier failure is taken up — has the flow's [`RemovalPolicy`] applied at its target by the
//! sink that wrote it ([`crate::sink::Sink::remove`]), and is recorded `removed`, reported and
//! audited. A removal the sink fails is a failure of the document: the next run takes it up,
//! finds it gone again and tries the removal again.

use chrono::Utc;

use super::document::route_of;
use super::settle::{Settled, Subject};
use super::{lock, Flow, Removed, Shared};
use crate::error::{Error, Result};
use crate::sink::RemovalPolicy;
use crate::state::{AuditEntry, DocRecord, DocStatus};

impl Flow {
    /// Removes every document recorded at `path` or under it (not removed yet).
    pub(super) async fn removed_at(&self, path: &str, report: &Shared) -> Result<()> {
        let inner = &self.inner;
        let records: Vec<DocRecord> = inner
            .state
            .records_under(&inner.name, path)
            .await?
            .into_iter()
            .filter(|r| r.status != DocStatus::Removed)
            .collect();
        if records.is_empty() {
            return Ok(());
        }
        // A document moved elsewhere in the tree is reported deleted at its old path too (and
        // listed at its new one, maybe later in the feed): only what the source no longer has
        // is removed.
        let ids: Vec<_> = records.iter().map(|r| r.source.clone()).collect();
        let current = inner.source.recheck(&ids).await?;
        for (record, now) in records.into_iter().zip(current) {
            if let Some(doc) = now {
                tracing::debug!(flow = %inner.name, from = ?record.path, to = %doc.path, "listed deleted, still at the source: not removed");
                continue;
            }
            let _guard = inner.locks.lock(&record.key()).await;
            self.remove(record, report).await?;
        }
        Ok(())
    }

    /// One document gone from the source: the policy at its target, then `removed`.
    pub(super) async fn remove(&self, record: DocRecord, report: &Shared) -> Result<()> {
        let inner = &self.inner;
        let policy = inner.removal;
        let removed = Removed {
            source: record.source.clone(),
            path: record.path.clone(),
            target: record.target.clone(),
            policy,
        };
        if inner.dry_run {
            lock(report).removed.push(removed);
            return Ok(());
        }
        if let (Some(target), false) = (&record.target, policy == RemovalPolicy::RecordOnly) {
            let applied = match self.sink_named(route_of(&record)) {
                Ok(sink) => sink.remove(target, policy).await,
                Err(e) => Err(e),
            };
            if let Err(e) = applied {
                if let Error::Stopped(_) = e {
                    return Err(e);
                }
                let subject = Subject {
                    source: &removed.source,
                    path: removed.path.as_deref(),
                    size: record.size,
                    hash: None,
                    doc: None,
                    known: true,
                    record: Some(record.clone()),
                };
                let failed = Settled::Failed {
                    error: format!("removal ({}): {}", policy.as_str(), e.chain()),
                    attempts: 1,
                };
                return self.settle(subject, failed, report).await;
            }
        }
        tracing::info!(flow = %inner.name, doc = ?record.path, target = ?record.target, policy = policy.as_str(), "removed at the source");
        let entry = AuditEntry {
            time: Utc::now(),
            flow: inner.name.clone(),
            source: record.source.clone(),
            source_hash: record.hash.as_ref().map(ToString::to_string),
            path: record.path.clone(),
            target: record.target.clone(),
            account: None,
            action: "remove".into(),
            outcome: policy.as_str().into(),
            run: None,
        };
        self.append(entry, report).await?;
        let mut gone = record;
        gone.status = DocStatus::Removed;
        gone.next_check = None;
        gone.last_error = None;
        gone.run = lock(report).run.unwrap_or(gone.run);
        gone.updated = Utc::now();
        super::worker::save(self, &gone).await?;
        lock(report).removed.push(removed);
        Ok(())
    }
}
