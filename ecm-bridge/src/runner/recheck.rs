//! Due checks: every run first takes the `awaiting` documents whose next check is due, and
//! processes them again. One path serves both kinds of waiting:
//!
//! - a written document whose step answered that it waits ([`super::StepOutcome::Awaiting`]):
//!   its steps resume at that step from its record (no source call, no transform), polled
//!   again with its output so far;
//! - a document skipped by the transforms, kept for a second look
//!   ([`super::FlowBuilder::recheck_skipped`]): the source gives the current state of all of
//!   them in one batch ([`crate::source::Source::recheck`], no bytes), they are decided again,
//!   and written once the transforms pass them.

use super::document::Resume;
use super::{lock, Flow, Shared};
use crate::error::Result;
use crate::model::Document;
use crate::state::{DocRecord, DocStatus};

impl Flow {
    /// Processes the `awaiting` documents whose next check is due.
    pub(super) async fn recheck_due(&self, report: &Shared) -> Result<()> {
        let inner = &self.inner;
        let due = inner.state.due_checks(&inner.name, self.now()).await?;
        if due.is_empty() {
            return Ok(());
        }
        tracing::info!(flow = %inner.name, n = due.len(), "due checks of awaiting documents");
        self.recheck_records(due, report).await
    }

    /// Takes up the document `key` as the start of a run would, if its record still needs it:
    /// a due check of an `awaiting` document, the steps left of a `written` one, a `pending`
    /// or `failed` one fetched again. Nothing for any other status (settled since). The
    /// workers' sweep ([`Flow::work`]) calls it under the document's claim.
    pub(super) async fn take_up(&self, key: &str, report: &Shared) -> Result<()> {
        let inner = &self.inner;
        let Some(record) = inner.state.record(&inner.name, key).await? else {
            return Ok(());
        };
        match record.status {
            DocStatus::Awaiting if record.next_check.is_some_and(|t| t <= self.now()) => {
                self.recheck_records(vec![record], report).await
            }
            DocStatus::Written => self.resume_written(record, report).await,
            DocStatus::Pending | DocStatus::Failed => self.retry_one(record, report).await,
            _ => Ok(()),
        }
    }

    /// Processes the `awaiting` records `due` again (their checks are due).
    async fn recheck_records(&self, due: Vec<DocRecord>, report: &Shared) -> Result<()> {
        let inner = &self.inner;
        let (steps, skipped): (Vec<_>, Vec<_>) = due
            .into_iter()
            .partition(|r| Resume::of(r).is_some_and(|c| c.written));
        for record in steps {
            lock(report).rechecked += 1;
            let key = record.key();
            let _guard = inner.locks.lock(&key).await;
            self.resume_steps(record, None, report).await?;
        }
        if skipped.is_empty() {
            return Ok(());
        }
        let ids: Vec<_> = skipped.iter().map(|r| r.source.clone()).collect();
        let current = inner.source.recheck(&ids).await?;
        for (record, doc) in skipped.into_iter().zip(current) {
            match doc {
                Some(doc) => {
                    lock(report).rechecked += 1;
                    self.process(doc, report).await?
                }
                None => {
                    let mut gone = record;
                    gone.status = DocStatus::Removed;
                    gone.next_check = None;
                    gone.run = lock(report).run.unwrap_or(gone.run);
                    super::worker::save(self, &gone).await?;
                }
            }
        }
        Ok(())
    }

    /// Keeps a skipped document for a second look (when the flow rechecks skips): its record
    /// becomes `awaiting` with a next check, keeping what an earlier version left at the
    /// target. Whether it was kept.
    pub(super) async fn keep_for_recheck(
        &self,
        doc: &Document,
        reason: &str,
        prior: Option<&DocRecord>,
        report: &Shared,
    ) -> Result<bool> {
        let inner = &self.inner;
        let Some(every) = inner.recheck else {
            return Ok(false);
        };
        let run = lock(report).run.unwrap_or(0);
        let mut record = match prior {
            Some(r) => r.clone(),
            None => DocRecord::new(inner.name.clone(), doc.source.clone(), None, run),
        };
        record.source = doc.source.clone();
        record.path = Some(doc.path.clone());
        record.path_lower = Some(crate::state::fold_path(&doc.path));
        record.size = Some(doc.size);
        record.hash = doc.hash.clone();
        record.status = DocStatus::Awaiting;
        record.attempts = 0;
        record.context = None;
        record.run = run;
        record.last_error = Some(format!("skipped: {reason}"));
        record.next_check = Some(self.now() + every);
        record.updated = chrono::Utc::now();
        super::worker::save(self, &record).await?;
        Ok(true)
    }
}
