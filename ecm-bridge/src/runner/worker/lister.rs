//! The lister's side of a worker: the lister lease, the sweep of what earlier runs left
//! (published as a batch of its own before the feed's), and the feed in batches.

use std::collections::BTreeSet;

use futures::stream::StreamExt;

use super::member::Member;
use super::{batch_job, Lister, Mark, Shared, WorkReport, Worker, DONE, LISTED};
use crate::error::Result;
use crate::model::Checkpoint;
use crate::runner::lock;
use crate::source::Change;
use crate::state::{DocStatus, LISTER_KEY};

impl Worker {
    /// Takes (or keeps) the lister lease, and publishes one batch when the queue has room.
    pub(super) async fn lister_turn(
        &self,
        lister: &mut Lister,
        out: &mut WorkReport,
        service: bool,
        report: &Shared,
    ) -> Result<()> {
        let inner = &self.flow.inner;
        let now = self.now();
        match lister.token {
            Some(t) => {
                let ok = inner
                    .state
                    .renew_claim(&inner.name, LISTER_KEY, &self.owner, t, self.lease, now)
                    .await?;
                if !ok {
                    tracing::info!(flow = %inner.name, worker = %self.id, "lister lease lost");
                    *lister = Lister::default();
                    return Ok(());
                }
            }
            None => {
                let c = inner
                    .state
                    .claim(&inner.name, LISTER_KEY, &self.owner, self.lease, now)
                    .await?;
                let Some(c) = c.claimed() else {
                    return Ok(());
                };
                tracing::info!(flow = %inner.name, worker = %self.id, token = c.token, "lister lease taken");
                lister.token = Some(c.token);
                out.lister_turns += 1;
            }
        }
        let (mut listed, mut version) = self.mark(LISTED).await?;
        let (done, _) = self.mark(DONE).await?;
        if listed.batch >= done.batch + self.open {
            return Ok(());
        }
        if listed.swept.is_none_or(|t| {
            chrono::Duration::from_std(self.sweep).is_ok_and(|every| now - t >= every)
        }) {
            match self.sweep(&listed, version, &done, out).await? {
                // Nothing was left: the feed's turn goes on.
                Some((mark, v)) => (listed, version) = (mark, Some(v)),
                // A batch was published, or another lister was first.
                None => return Ok(()),
            }
        }
        if lister.at_end && !service {
            return Ok(());
        }
        let feed = match lister.feed.as_mut() {
            Some(f) => f,
            None => {
                let f = inner.source.changes(listed.cursor.clone()).await?;
                lister.feed.insert(f)
            }
        };
        let n = listed.batch + 1;
        let job = batch_job(n);
        let mut count = 0usize;
        let mut cursor = None;
        let mut ended = false;
        loop {
            let Some(item) = feed.next().await else {
                ended = true;
                break;
            };
            let item = item?;
            let member = match item.change {
                Change::Upsert(doc) => Some(Member::Listed(doc.source)),
                Change::Unreadable {
                    source,
                    path,
                    error,
                } => {
                    // Read again (under a claim) by the worker that takes it; recorded
                    // `failed` by it when it still cannot be read.
                    tracing::warn!(flow = %inner.name, %path, error = %error.chain(), "listed unreadable; read again by the worker that takes it");
                    Some(Member::Listed(source))
                }
                Change::Deleted { path } => {
                    lock(report).deleted.push(path.clone());
                    Some(Member::Deleted(path))
                }
                Change::Nothing => None,
            };
            if let Some(m) = member {
                inner
                    .state
                    .add_to_job(&inner.name, &job, &m.to_string())
                    .await?;
                count += 1;
            }
            if let Some(cp) = item.checkpoint {
                cursor = Some(cp);
                if count >= self.batch {
                    break;
                }
            }
        }
        if count == 0 && cursor.is_none() {
            // Nothing new: say the feed is at its end (once per turn).
            lister.feed = None;
            if ended && !(listed.end && lister.at_end) {
                let at_end = Mark {
                    end: true,
                    ..listed.clone()
                };
                if at_end != listed && !self.swap(LISTED, version, &at_end).await? {
                    *lister = Lister {
                        token: lister.token,
                        ..Lister::default()
                    };
                    return Ok(());
                }
                lister.at_end = true;
            }
            if service {
                // The next turn reads the feed again from the last position.
                lister.at_end = false;
            }
            return Ok(());
        }
        if ended {
            lister.feed = None;
        }
        inner.state.finish_job_listing(&inner.name, &job).await?;
        let cursor = cursor.or(listed.cursor.clone());
        // The positions after the batches not finished yet, this one's included.
        let after = Self::open_after(&listed, &done, n, cursor.clone());
        let published = Mark {
            batch: n,
            cursor,
            end: ended,
            after,
            swept: listed.swept,
        };
        if !self.swap(LISTED, version, &published).await? {
            tracing::info!(flow = %inner.name, worker = %self.id, batch = n, "another lister published first");
            *lister = Lister {
                token: lister.token,
                ..Lister::default()
            };
            return Ok(());
        }
        lister.at_end = ended && !service;
        out.batches_listed += 1;
        tracing::debug!(flow = %inner.name, worker = %self.id, batch = n, docs = count, "batch published");
        Ok(())
    }
}

impl Worker {
    /// Publishes what earlier runs left (due checks, failures, writes in doubt, unfinished
    /// steps) as batch `listed.batch + 1`, with the sweep's time, by a compare-and-set of
    /// [`LISTED`]. `Some` (the new mark and its version) when nothing was left, so only the
    /// time was stored; `None` when a batch was published or another lister was first.
    async fn sweep(
        &self,
        listed: &Mark,
        version: Option<u64>,
        done: &Mark,
        out: &mut WorkReport,
    ) -> Result<Option<(Mark, u64)>> {
        let inner = &self.flow.inner;
        let now = self.now();
        let mut keys = BTreeSet::new();
        for r in inner.state.due_checks(&inner.name, now).await? {
            keys.insert(r.key());
        }
        for status in [DocStatus::Written, DocStatus::Pending, DocStatus::Failed] {
            for r in inner.state.records_by_status(&inner.name, status).await? {
                keys.insert(r.key());
            }
        }
        let mut mark = Mark {
            swept: Some(now),
            ..listed.clone()
        };
        if !keys.is_empty() {
            let n = listed.batch + 1;
            let job = batch_job(n);
            for key in &keys {
                let m = Member::TakeUp(key.clone());
                inner
                    .state
                    .add_to_job(&inner.name, &job, &m.to_string())
                    .await?;
            }
            inner.state.finish_job_listing(&inner.name, &job).await?;
            mark.batch = n;
            mark.after = Self::open_after(listed, done, n, listed.cursor.clone());
        }
        match self.swap_to(LISTED, version, &mark).await? {
            Some(v) if keys.is_empty() => Ok(Some((mark, v))),
            Some(_) => {
                out.batches_listed += 1;
                tracing::info!(flow = %inner.name, worker = %self.id, batch = mark.batch, docs = keys.len(), "what earlier runs left is published");
                Ok(None)
            }
            None => Ok(None),
        }
    }

    /// The positions after the batches not finished yet, with batch `n` (ending at `cursor`).
    fn open_after(
        listed: &Mark,
        done: &Mark,
        n: u64,
        cursor: Option<Checkpoint>,
    ) -> Vec<(u64, Option<Checkpoint>)> {
        let mut after: Vec<(u64, Option<Checkpoint>)> = listed
            .after
            .iter()
            .filter(|(b, _)| *b > done.batch)
            .cloned()
            .collect();
        after.push((n, cursor));
        after
    }
}
