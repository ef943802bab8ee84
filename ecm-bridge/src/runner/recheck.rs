//! Due checks: every run first takes the `awaiting` documents whose next check is due, asks
//! the source for their current state in one batch ([`crate::source::Source::recheck`], no
//! bytes), and processes them again. One path serves both kinds of waiting:
//!
//! - a document skipped by the transforms, kept for a second look
//!   ([`super::FlowBuilder::recheck_skipped`]): decided again, and written once they pass it;
//! - a written document whose step answered that it waits ([`super::StepOutcome::Awaiting`]):
//!   its steps resume at that step, polled again with its output so far.

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
        let ids: Vec<_> = due.iter().map(|r| r.source.clone()).collect();
        let current = inner.source.recheck(&ids).await?;
        for (record, doc) in due.into_iter().zip(current) {
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
                    inner.state.save_record(&gone, None).await?;
                }
            }
        }
        Ok(())
    }

    /// Keeps a skipped document for a second look (when the flow rechecks skips).
    pub(super) async fn keep_for_recheck(
        &self,
        doc: &Document,
        reason: &str,
        report: &Shared,
    ) -> Result<()> {
        let inner = &self.inner;
        let Some(every) = inner.recheck else {
            return Ok(());
        };
        let mut record = DocRecord::new(
            inner.name.clone(),
            doc.source.clone(),
            Some(doc.path.clone()),
            lock(report).run.unwrap_or(0),
        );
        record.size = Some(doc.size);
        record.hash = doc.hash.clone();
        record.status = DocStatus::Awaiting;
        record.last_error = Some(format!("skipped: {reason}"));
        record.next_check = Some(self.now() + every);
        inner.state.save_record(&record, None).await?;
        Ok(())
    }
}
