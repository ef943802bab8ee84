//! Retries: [`RetryPolicy`] within a run, and the documents of earlier failures and
//! interrupted writes, fetched again at the start of each run.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::stream::{self, StreamExt};

use super::{lock, Flow, Shared};
use crate::error::Result;
use crate::model::DocRef;
use crate::state::{DocRecord, DocStatus};

/// How a document is retried within one run.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per run, the first included (1: no retry).
    pub max_attempts: u32,
    /// Delay after the first failure.
    pub initial_backoff: Duration,
    /// Longest delay.
    pub max_backoff: Duration,
    /// Factor between delays.
    pub multiplier: u32,
    /// Randomises each delay between half and all of it.
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            multiplier: 2,
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// No retries within a run.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The delay after failed attempt `attempt` (1-based): the back-off, or the server's hint
    /// (`Retry-After`) when that is longer. `None` when the hint is longer than
    /// `max_backoff`: the server asked for a longer wait than a run retries within, so the
    /// document is left for a later run instead of being tried again early.
    pub fn delay(&self, attempt: u32, hint: Option<Duration>) -> Option<Duration> {
        let factor = self
            .multiplier
            .max(1)
            .saturating_pow(attempt.saturating_sub(1));
        let mut d = self
            .initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        if self.jitter && !d.is_zero() {
            let half = d / 2;
            d = half + half.mul_f64(fastrand::f64());
        }
        match hint {
            Some(h) if h > self.max_backoff => None,
            Some(h) if h > d => Some(h),
            _ => Some(d),
        }
    }
}

impl Flow {
    /// Takes up, from the records, what earlier runs left unfinished: writes in doubt
    /// (`pending`) and failures (`failed`, not `dead`) are fetched from the source and
    /// processed again; written documents whose steps did not finish (`written`) resume at
    /// their first unfinished step without the source.
    pub(super) async fn retry_earlier(&self, report: &Shared) -> Result<()> {
        let inner = &self.inner;
        let mut refs: BTreeMap<String, DocRecord> = BTreeMap::new();
        for status in [DocStatus::Pending, DocStatus::Failed] {
            for r in inner.state.records_by_status(&inner.name, status).await? {
                refs.insert(r.key(), r);
            }
        }
        let written = inner
            .state
            .records_by_status(&inner.name, DocStatus::Written)
            .await?;
        if refs.is_empty() && written.is_empty() {
            return Ok(());
        }
        tracing::info!(flow = %inner.name, n = refs.len() + written.len(), "taking up earlier failures, writes in doubt and unfinished steps");
        let mut tasks = stream::iter(written)
            .map(|r| self.resume_written(r, report))
            .buffer_unordered(inner.concurrency);
        while let Some(res) = tasks.next().await {
            res?;
        }
        drop(tasks);
        let mut tasks = stream::iter(refs.into_values())
            .map(|r| self.retry_one(r, report))
            .buffer_unordered(inner.concurrency);
        while let Some(res) = tasks.next().await {
            res?;
        }
        Ok(())
    }

    /// Resumes a `written` document at its first unfinished step (a retry).
    pub(super) async fn resume_written(&self, record: DocRecord, report: &Shared) -> Result<()> {
        lock(report).retried += 1;
        let _guard = self.inner.locks.lock(&record.key()).await;
        self.resume_steps(record, None, report).await
    }

    pub(super) async fn retry_one(&self, record: DocRecord, report: &Shared) -> Result<()> {
        let inner = &self.inner;
        match inner.source.fetch(&record.source).await {
            Ok(Some(doc)) => {
                lock(report).retried += 1;
                self.process(doc, report).await
            }
            Ok(None) => {
                tracing::info!(flow = %inner.name, source = %record.source, "gone from the source");
                let _guard = inner.locks.lock(&record.key()).await;
                self.remove(record, report).await
            }
            // The source could not be read: count an attempt, keep it for the next run.
            Err(e) => {
                self.fail_unread(record.source, record.path, e, report)
                    .await
            }
        }
    }

    /// Settles a failure of a document that could not be read from the source (no
    /// [`crate::model::Document`] to hand on): one attempt, retried on the next run.
    pub(super) async fn fail_unread(
        &self,
        source: DocRef,
        path: Option<String>,
        e: crate::Error,
        report: &Shared,
    ) -> Result<()> {
        let error = e.chain();
        tracing::warn!(flow = %self.inner.name, source = %source, path = ?path, error = %error, "document could not be read");
        let prior = self
            .inner
            .state
            .record(&self.inner.name, &source.key())
            .await?;
        if let Some(done) = prior.as_ref().filter(|r| r.status == DocStatus::Done) {
            // Done at the version recorded: the failure is reported, the record left as it
            // is. Only `CsSource` yields unreadable items, and its flows walk every document at
            // each run, so the next listing presents it again (a new version included).
            // (Recording it `failed` at the unread version made a published document that one
            // listing could not read be written and marked again on the next run.)
            lock(report).failed.push(super::report::Failed {
                source: done.source.clone(),
                path: path.or_else(|| done.path.clone()),
                error,
                attempts: 1,
                dead: false,
            });
            return Ok(());
        }
        // Written but not done (steps left, or a step failed): it keeps the version it was
        // written at and what the runner kept to resume it, so that the retry resumes its
        // steps instead of writing it again (recorded at the unread version, it lost both).
        let source = match prior.as_ref() {
            Some(r) if super::document::Resume::of(r).is_some_and(|c| c.written) => {
                r.source.clone()
            }
            _ => source,
        };
        let subject = super::settle::Subject {
            source: &source,
            path: path.as_deref(),
            size: None,
            hash: None,
            doc: None,
            record: prior,
            known: true,
        };
        let failed = super::settle::Settled::Failed { error, attempts: 1 };
        self.settle(subject, failed, report).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_longer_than_the_budget_is_never_cut_short() {
        // Retry-After 300 s with a 30 s budget: not retried in this run (it was retried after
        // 30 s, early, before).
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1, Some(Duration::from_secs(300))), None);
        assert_eq!(p.delay(1, Some(Duration::from_secs(31))), None);
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(30))),
            Some(Duration::from_secs(30))
        );
    }

    #[test]
    fn delays_grow_and_honour_hints() {
        let p = RetryPolicy {
            jitter: false,
            ..RetryPolicy::default()
        };
        assert_eq!(p.delay(1, None), Some(Duration::from_millis(500)));
        assert_eq!(p.delay(2, None), Some(Duration::from_secs(1)));
        assert_eq!(p.delay(20, None), Some(Duration::from_secs(30)));
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
        let j = RetryPolicy::default();
        for _ in 0..50 {
            let d = j.delay(1, None).unwrap();
            assert!(d >= Duration::from_millis(250) && d <= Duration::from_millis(500));
        }
    }
}
