//! Second looks at skipped documents ([`super::FlowBuilder::recheck_skipped`]): a skipped
//! document is kept `awaiting` with a next check; each run first takes the due ones, asks the
//! source for their current state in one batch, and processes them again.

use chrono::Utc;

use super::{lock, Flow, Shared};
use crate::error::Result;
use crate::model::Document;
use crate::state::{DocRecord, DocStatus};

impl Flow {
    /// Processes the skipped documents whose next check is due.
    pub(super) async fn recheck_due(&self, report: &Shared) -> Result<()> {
        let inner = &self.inner;
        let (Some(docs), Some(_)) = (&inner.documents, inner.recheck) else {
            return Ok(());
        };
        let due = docs.due_checks(&inner.name, Utc::now()).await?;
        if due.is_empty() {
            return Ok(());
        }
        tracing::info!(flow = %inner.name, n = due.len(), "looking again at skipped documents");
        let ids: Vec<_> = due.iter().map(|r| r.source.clone()).collect();
        let current = inner.source.recheck(&ids).await?;
        for (record, doc) in due.into_iter().zip(current) {
            match doc {
                Some(doc) => self.process(doc, report).await?,
                None => {
                    let mut gone = record;
                    gone.status = DocStatus::Removed;
                    gone.next_check = None;
                    gone.run = lock(report).run.unwrap_or(gone.run);
                    docs.save_record(&gone, None).await?;
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
        let (Some(docs), Some(every)) = (&inner.documents, inner.recheck) else {
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
        record.next_check = Some(Utc::now() + every);
        docs.save_record(&record, None).await?;
        Ok(())
    }
}
