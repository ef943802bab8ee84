//! [`UnderReview`]: a source wrapper that keeps the version under review the one the flow sees
//! while its review runs, holds the edits made meanwhile, and offers them once the review
//! ended.
//!
//! While version V of a file is under review (its write recorded, its steps not all done), a
//! newer Dropbox rev of it must not become a new CS version or start a second process. The
//! wrapper answers V instead (its path as now, its size and hash as recorded), so the runner
//! leaves it waiting or polls V's review, and records the edit: an audit entry
//! `edit_during_review` and membership of the job [`HELD_JOB`]. At the start of each later
//! listing, a held file whose review has ended and whose current rev was not decided yet is
//! listed again: it is the next submission (written as the next version when it is still in
//! the approval stage, else skipped until it is put there).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use futures::stream::{self, BoxStream, StreamExt};

use crate::error::Result;
use crate::model::{Checkpoint, DocRef, Document};
use crate::source::{Change, Item, Source};
use crate::state::{AuditEntry, DocRecord, DocStatus, Store};

/// The job whose members are the files edited while under review.
pub const HELD_JOB: &str = "edited_during_review";

/// See the module docs.
pub(super) struct UnderReview {
    pub(super) inner: Arc<dyn Source>,
    pub(super) store: Arc<dyn Store>,
    pub(super) flow: String,
}

impl UnderReview {
    /// The version under review of `doc`'s file, when it is not `doc`'s own: its record is
    /// written at the target with steps left (written, awaiting, or failed after the write).
    async fn under_review(&self, doc: &Document) -> Result<Option<DocRecord>> {
        let key = doc.source.key();
        let Some(r) = self.store.record(&self.flow, &key).await? else {
            return Ok(None);
        };
        let steps_left = match r.status {
            DocStatus::Written | DocStatus::Awaiting => true,
            // Failed after its write (a step was begun), not a write that failed: a version
            // whose write failed is not under review, and a newer rev replaces it.
            DocStatus::Failed => {
                let version = r.source.version.clone().unwrap_or_default();
                !self
                    .store
                    .steps(&self.flow, &key, &version)
                    .await?
                    .is_empty()
            }
            _ => false,
        };
        Ok((steps_left && r.source.version != doc.source.version).then_some(r))
    }

    /// `doc` as the version under review, and the edit recorded; `doc` itself otherwise.
    async fn pin(&self, doc: Document) -> Result<Document> {
        let Some(record) = self.under_review(&doc).await? else {
            return Ok(doc);
        };
        let v = record.source.clone();
        let key = doc.source.key();
        let held = self.store.job_members(&self.flow, HELD_JOB).await?;
        if !held.contains(&key) {
            tracing::info!(flow = %self.flow, doc = %doc.path, under_review = %v, edit = %doc.source, "edited during review: held as the next submission");
            self.store.add_to_job(&self.flow, HELD_JOB, &key).await?;
            self.store
                .append_audit(&AuditEntry {
                    time: Utc::now(),
                    // The source does not know the run it lists for.
                    run: None,
                    flow: self.flow.clone(),
                    source: doc.source.clone(),
                    source_hash: doc.hash.as_ref().map(ToString::to_string),
                    path: Some(doc.path.clone()),
                    target: None,
                    account: doc.context.account.clone(),
                    action: "edit_during_review".into(),
                    outcome: format!("held: {v} is under review"),
                })
                .await?;
        }
        let mut pinned = doc;
        pinned.source = v;
        pinned.hash = record.hash;
        if let Some(size) = record.size {
            pinned.size = size;
        }
        Ok(pinned)
    }

    /// The held files whose review ended and whose current rev is still undecided.
    async fn released(&self) -> Result<Vec<Document>> {
        let keys = self.store.job_members(&self.flow, HELD_JOB).await?;
        let mut ids = Vec::new();
        let mut reviewed = Vec::new();
        for key in &keys {
            match self.store.record(&self.flow, key).await? {
                Some(r) if r.status == DocStatus::Done => {
                    ids.push(r.source.unversioned());
                    reviewed.push(r.source);
                }
                _ => {}
            }
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let current = self.inner.recheck(&ids).await?;
        let mut out = Vec::new();
        for (doc, reviewed) in current.into_iter().zip(reviewed) {
            let Some(doc) = doc else { continue };
            if doc.source.version != reviewed.version {
                tracing::info!(flow = %self.flow, doc = %doc.path, "edited during review: offered as the next submission");
                out.push(doc);
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl Source for UnderReview {
    async fn changes(&self, since: Option<Checkpoint>) -> Result<BoxStream<'static, Result<Item>>> {
        let released = self.released().await?;
        let feed = self.inner.changes(since).await?;
        let this = UnderReview {
            inner: self.inner.clone(),
            store: self.store.clone(),
            flow: self.flow.clone(),
        };
        let this = Arc::new(this);
        let feed = feed.then(move |item| {
            let this = this.clone();
            async move {
                let item = item?;
                Ok(match item.change {
                    Change::Upsert(doc) => Item {
                        change: Change::Upsert(Box::new(this.pin(*doc).await?)),
                        checkpoint: item.checkpoint,
                    },
                    _ => item,
                })
            }
        });
        Ok(
            stream::iter(released.into_iter().map(|d| Ok(Item::upsert(d))))
                .chain(feed)
                .boxed(),
        )
    }

    async fn fetch(&self, id: &DocRef) -> Result<Option<Document>> {
        match self.inner.fetch(id).await? {
            Some(doc) => Ok(Some(self.pin(doc).await?)),
            None => Ok(None),
        }
    }

    async fn recheck(&self, ids: &[DocRef]) -> Result<Vec<Option<Document>>> {
        let mut out = Vec::with_capacity(ids.len());
        for doc in self.inner.recheck(ids).await? {
            out.push(match doc {
                Some(d) => Some(self.pin(d).await?),
                None => None,
            });
        }
        Ok(out)
    }

    async fn wake(&self) -> Option<BoxStream<'static, ()>> {
        self.inner.wake().await
    }
}
