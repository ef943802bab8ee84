//! Retries: [`RetryPolicy`] within a run, and the documents of earlier failures and
//! interrupted writes, fetched again at the start of each run.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use futures::stream::{self, StreamExt};

use super::{lock, Failed, Flow, Shared};
use crate::error::Result;
use crate::model::DocRef;
use crate::state::{AuditEntry, NewFailure};

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

    /// The delay after failed attempt `attempt` (1-based): the server's hint when longer than
    /// the back-off, capped at `max_backoff`.
    pub fn delay(&self, attempt: u32, hint: Option<Duration>) -> Duration {
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
            Some(h) if h > d => h.min(self.max_backoff),
            _ => d,
        }
    }
}

impl Flow {
    /// Fetches and processes the documents of earlier failures (not dead) and interrupted
    /// writes.
    pub(super) async fn retry_earlier(&self, report: &Shared) -> Result<()> {
        let inner = &self.inner;
        let mut refs: BTreeMap<String, DocRef> = BTreeMap::new();
        let mut dead = std::collections::BTreeSet::new();
        for f in inner.state.failures(&inner.name).await? {
            if f.dead {
                dead.insert(f.source.key());
            } else {
                refs.insert(f.source.key(), f.source);
            }
        }
        // A failed write keeps its intent (it may have landed); a dead one is not retried.
        for i in inner.state.intents(&inner.name).await? {
            if !dead.contains(&i.source.key()) {
                refs.insert(i.source.key(), i.source);
            }
        }
        if refs.is_empty() {
            return Ok(());
        }
        tracing::info!(flow = %inner.name, n = refs.len(), "retrying earlier failures and interrupted writes");
        let mut tasks = stream::iter(refs.into_values())
            .map(|r| self.retry_one(r, report))
            .buffer_unordered(inner.concurrency);
        while let Some(res) = tasks.next().await {
            res?;
        }
        Ok(())
    }

    pub(super) async fn retry_one(&self, source: DocRef, report: &Shared) -> Result<()> {
        let inner = &self.inner;
        let key = source.key();
        match inner.source.fetch(&source).await {
            Ok(Some(doc)) => {
                lock(report).retried += 1;
                self.process(doc, report).await
            }
            Ok(None) => {
                tracing::info!(flow = %inner.name, source = %source, "gone from the source; failure forgotten");
                inner.state.clear_failure(&inner.name, &key).await?;
                inner.state.clear_intent(&inner.name, &key).await?;
                inner
                    .state
                    .append_audit(&AuditEntry {
                        time: Utc::now(),
                        flow: inner.name.clone(),
                        source,
                        source_hash: None,
                        path: None,
                        target: None,
                        account: None,
                        action: "gone".into(),
                        outcome: "no longer at the source".into(),
                    })
                    .await
            }
            Err(e) => {
                // The source could not be read: count an attempt, keep it for the next run.
                let error = e.chain();
                let entry = AuditEntry {
                    time: Utc::now(),
                    flow: inner.name.clone(),
                    source: source.clone(),
                    source_hash: None,
                    path: None,
                    target: None,
                    account: None,
                    action: "fail".into(),
                    outcome: error.clone(),
                };
                let f = inner
                    .state
                    .record_failure(
                        &inner.name,
                        &NewFailure {
                            source: &source,
                            path: None,
                            error: &error,
                            attempts: 1,
                            dead_after: inner.dead_after,
                        },
                        &entry,
                    )
                    .await?;
                lock(report).failed.push(Failed {
                    source,
                    path: f.path,
                    error,
                    attempts: f.attempts,
                    dead: f.dead,
                });
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_honour_hints() {
        let p = RetryPolicy {
            jitter: false,
            ..RetryPolicy::default()
        };
        assert_eq!(p.delay(1, None), Duration::from_millis(500));
        assert_eq!(p.delay(2, None), Duration::from_secs(1));
        assert_eq!(p.delay(20, None), Duration::from_secs(30));
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(300))),
            Duration::from_secs(30)
        );
        let j = RetryPolicy::default();
        for _ in 0..50 {
            let d = j.delay(1, None);
            assert!(d >= Duration::from_millis(250) && d <= Duration::from_millis(500));
        }
    }
}
