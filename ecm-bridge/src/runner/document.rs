//! The life of one document: decide (transforms), record the intent, write (adopting an
//! earlier write when in doubt), verify, record, run its steps (`steps.rs`), or record the
//! failure.

use chrono::Utc;
use futures::stream::StreamExt;

use super::settle::{Settled, Subject};
use super::{lock, Decision, Failpoint, Flow, Progress, Shared};
use crate::error::{Error, Result};
use crate::model::Document;
use crate::sink::{Receipt, Sink, WriteAction, WriteContext};
use crate::source::Change;
use crate::state::{Mapping, NewFailure};
use crate::transform::Outcome;
use crate::verify;

impl Flow {
    /// One feed item. `Err` only for what ends the run (state store, failpoint).
    pub(super) async fn handle(&self, change: Change, report: &Shared) -> Result<()> {
        match change {
            Change::Upsert(doc) => self.process(*doc, report).await,
            Change::Deleted { path } => {
                tracing::debug!(flow = %self.inner.name, path, "deleted at the source");
                lock(report).deleted.push(path);
                Ok(())
            }
            Change::Unreadable {
                source,
                path,
                error,
            } => {
                lock(report).found += 1;
                self.fail_unread(source, Some(path), *error, report).await
            }
            Change::Nothing => Ok(()),
        }
    }

    pub(super) async fn decide(&self, doc: Document) -> Result<Decision> {
        let mut doc = doc;
        let mut route: Option<String> = None;
        for t in &self.inner.transforms {
            match t.apply(doc).await? {
                Outcome::Pass(d) => doc = d,
                Outcome::Skip { reason } => return Ok(Decision::Skip(reason)),
                Outcome::Quarantine { reason } => return Ok(Decision::Quarantine(reason)),
                Outcome::Route { to, doc: d } => {
                    doc = d;
                    route = Some(to);
                    break;
                }
            }
        }
        let sink = match &route {
            Some(name) => self.inner.routes.get(name).cloned().ok_or_else(|| {
                Error::Config(format!(
                    "flow {}: no sink for route {name:?}",
                    self.inner.name
                ))
            })?,
            None => self.inner.sink.clone().ok_or_else(|| {
                Error::Config(format!("flow {}: no default sink", self.inner.name))
            })?,
        };
        Ok(Decision::Write(Box::new(doc), sink, route))
    }

    /// One document, start to finish. `Err` only for what ends the run.
    pub(super) async fn process(&self, doc: Document, report: &Shared) -> Result<()> {
        let inner = &self.inner;
        let key = doc.source.key();
        let _guard = inner.locks.lock(&key).await;
        lock(report).found += 1;
        self.emit(Progress::Found {
            source: doc.source.clone(),
            path: doc.path.clone(),
            size: doc.size,
        });

        let latest = inner.state.latest_mapping(&inner.name, &key).await?;
        if let Some(m) = latest.as_ref().filter(|m| m.source == doc.source) {
            if m.hooks_done || inner.dry_run {
                // A failure or intent left for a version that is recorded is stale.
                if !inner.dry_run {
                    inner.state.clear_failure(&inner.name, &key).await?;
                    inner.state.clear_intent(&inner.name, &key).await?;
                }
                let unchanged = Settled::Unchanged {
                    moved_from: None,
                    target: Some(m.target.clone()),
                    location: Some(m.location.clone()),
                    why: "version recorded",
                };
                return self.settle(Subject::of(&doc), unchanged, report).await;
            }
            // Written and recorded, but a step after the write is pending. A step that waits is
            // left alone until its check is due.
            if let Some(r) = self.awaiting_not_due(&key).await? {
                tracing::debug!(flow = %inner.name, doc = %doc.path, next_check = ?r.next_check, "awaiting; not due");
                return Ok(());
            }
            // The transforms say which sink and governance.
            let receipt = Receipt {
                target: m.target.clone(),
                bytes: doc.size,
                sent_hashes: Vec::new(),
                action: WriteAction::Adopted,
                location: m.location.clone(),
            };
            return match self.decide(doc.clone()).await {
                Ok(Decision::Write(d, sink, _)) => {
                    self.finish_steps(&d, Some(&*sink), &receipt, report).await
                }
                Ok(Decision::Skip(reason) | Decision::Quarantine(reason)) => {
                    tracing::info!(flow = %inner.name, doc = %doc.path, reason, "now skipped; only the flow's steps are finished");
                    self.finish_steps(&doc, None, &receipt, report).await
                }
                Err(e) => self.fail(&doc, e, 1, report).await,
            };
        }

        if let Some(record) = self.same_content(&doc).await? {
            // A new version with the bytes already recorded (a copy, a move back, a rename):
            // not a new version at the target, and never a second target document.
            if !inner.dry_run {
                inner.state.clear_failure(&inner.name, &key).await?;
                inner.state.clear_intent(&inner.name, &key).await?;
            }
            let moved = record.index_path() != Some(crate::state::fold_path(&doc.path));
            let unchanged = Settled::Unchanged {
                moved_from: record.path.filter(|_| moved),
                target: record.target,
                location: record.location,
                why: "same content hash",
            };
            return self.settle(Subject::of(&doc), unchanged, report).await;
        }

        let (doc, sink, route) = match self.decide(doc.clone()).await {
            Ok(Decision::Write(d, s, route)) => (*d, s, route),
            Ok(Decision::Quarantine(reason)) => {
                if !inner.dry_run {
                    inner.state.clear_failure(&inner.name, &key).await?;
                    inner.state.clear_intent(&inner.name, &key).await?;
                }
                return self
                    .settle(Subject::of(&doc), Settled::Quarantined { reason }, report)
                    .await;
            }
            Ok(Decision::Skip(reason)) => {
                if !inner.dry_run && inner.state.intent(&inner.name, &key).await?.is_some() {
                    // A write begun before the document became skipped may have landed: pair
                    // what a sink finds with the source instead of forgetting it (an orphan).
                    let ctx = WriteContext {
                        flow: inner.name.clone(),
                        previous: latest.as_ref().map(|m| m.target.clone()),
                        attempt: 1,
                        in_doubt: true,
                    };
                    match self.find_landed(&doc, &ctx).await {
                        Ok(Some(found)) => {
                            tracing::info!(flow = %inner.name, doc = %doc.path, target = %found.target, "now skipped; its earlier write is recorded");
                            let mapping = Mapping {
                                source: doc.source.clone(),
                                target: found.target.clone(),
                                location: found.location.clone(),
                                hooks_done: true,
                                recorded: Utc::now(),
                            };
                            let outcome = format!("written before it was skipped ({reason})");
                            let entry = self.audit(
                                &doc,
                                WriteAction::Adopted.as_str(),
                                &outcome,
                                Some(&found.target),
                            );
                            inner
                                .state
                                .record_write(&inner.name, &mapping, &entry)
                                .await?;
                        }
                        Ok(None) => {}
                        // The intent stays: the next run looks again.
                        Err(e) => return self.fail(&doc, e, 1, report).await,
                    }
                }
                if !inner.dry_run {
                    inner.state.clear_failure(&inner.name, &key).await?;
                    inner.state.clear_intent(&inner.name, &key).await?;
                }
                return self
                    .settle(Subject::of(&doc), Settled::Skipped { reason }, report)
                    .await;
            }
            Err(e) => return self.fail(&doc, e, 1, report).await,
        };

        if inner.dry_run {
            let location = sink.describe(&doc);
            return self
                .settle(Subject::of(&doc), Settled::WouldWrite { location }, report)
                .await;
        }

        let in_doubt = inner.state.intent(&inner.name, &key).await?.is_some();
        self.failpoint(Failpoint::BeforeIntent)?;
        inner.state.begin_intent(&inner.name, &doc.source).await?;
        self.emit(Progress::Started {
            source: doc.source.clone(),
            path: doc.path.clone(),
            size: doc.size,
        });
        let doc = self.counted(doc);
        let mut ctx = WriteContext {
            flow: inner.name.clone(),
            previous: latest.map(|m| m.target),
            attempt: 0,
            in_doubt,
        };
        let receipt = loop {
            ctx.attempt += 1;
            ctx.in_doubt = in_doubt || ctx.attempt > 1;
            match self.write_once(&*sink, &doc, &ctx, ctx.in_doubt).await {
                Ok(r) => break r,
                Err(e @ Error::Stopped(_)) => return Err(e),
                Err(e @ Error::Conflict { .. }) => {
                    // The target refused the write: nothing landed, nothing to retry.
                    inner.state.clear_failure(&inner.name, &key).await?;
                    inner.state.clear_intent(&inner.name, &key).await?;
                    let reason = e.chain();
                    return self
                        .settle(Subject::of(&doc), Settled::Conflict { reason }, report)
                        .await;
                }
                Err(e) if e.is_retryable() && ctx.attempt < inner.retry.max_attempts => {
                    let Some(delay) = inner.retry.delay(ctx.attempt, e.retry_after()) else {
                        return self.leave_for_later(&doc, e, ctx.attempt, report).await;
                    };
                    tracing::warn!(flow = %inner.name, doc = %doc.path, attempt = ctx.attempt, ?delay, error = %e.chain(), "write failed; retrying");
                    self.emit(Progress::Retrying {
                        source: doc.source.clone(),
                        path: doc.path.clone(),
                        attempt: ctx.attempt,
                        error: e.chain(),
                    });
                    tokio::time::sleep(delay).await;
                }
                Err(e) => return self.fail(&doc, e, ctx.attempt, report).await,
            }
        };

        self.failpoint(Failpoint::AfterWrite)?;
        let mapping = Mapping {
            source: doc.source.clone(),
            target: receipt.target.clone(),
            location: receipt.location.clone(),
            hooks_done: self.steps_of(&doc, Some(&*sink)).is_empty(),
            recorded: Utc::now(),
        };
        let entry = self.audit(&doc, receipt.action.as_str(), "ok", Some(&receipt.target));
        inner
            .state
            .record_write(&inner.name, &mapping, &entry)
            .await?;
        self.failpoint(Failpoint::AfterRecord)?;
        let written = Settled::Written {
            receipt: &receipt,
            route: route.as_deref(),
            attempts: ctx.attempt,
            steps_left: !mapping.hooks_done,
        };
        self.settle(Subject::of(&doc), written, report).await?;
        if mapping.hooks_done {
            return Ok(());
        }
        self.finish_steps(&doc, Some(&*sink), &receipt, report)
            .await
    }

    /// A write of `doc` found at any of the flow's sinks (the default first, then the routes),
    /// for a document whose intent survived but which the transforms now skip.
    async fn find_landed(&self, doc: &Document, ctx: &WriteContext) -> Result<Option<Receipt>> {
        let inner = &self.inner;
        for sink in inner.sink.iter().chain(inner.routes.values()) {
            if let Some(found) = sink.find_existing(doc, ctx).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// One attempt: adopt an earlier write when in doubt, else write; verify.
    pub(super) async fn write_once(
        &self,
        sink: &dyn Sink,
        doc: &Document,
        ctx: &WriteContext,
        in_doubt: bool,
    ) -> Result<Receipt> {
        if in_doubt {
            if let Some(found) = sink.find_existing(doc, ctx).await? {
                tracing::info!(flow = %self.inner.name, doc = %doc.path, target = %found.target, "adopting an earlier write");
                sink.complete(doc, &found, ctx).await?;
                let adopted = Receipt {
                    action: WriteAction::Adopted,
                    ..found
                };
                verify::check_receipt(doc, &adopted)?;
                return Ok(adopted);
            }
        }
        self.failpoint(Failpoint::BeforeWrite)?;
        let receipt = sink.write(doc, ctx).await?;
        verify::check_receipt(doc, &receipt)?;
        Ok(receipt)
    }

    /// A document the server rate-limited for longer than the retry budget: recorded as a
    /// failure (so the next run fetches it again) without counting the refused attempt, and
    /// not tried again in this run.
    pub(super) async fn leave_for_later(
        &self,
        doc: &Document,
        error: Error,
        attempt: u32,
        report: &Shared,
    ) -> Result<()> {
        tracing::info!(flow = %self.inner.name, doc = %doc.path, wait = ?error.retry_after(), "rate-limited beyond the retry budget; left for a later run");
        self.fail(doc, error, attempt.saturating_sub(1), report)
            .await
    }

    /// Records a failure; dead-letters it when its attempts are exhausted.
    pub(super) async fn fail(
        &self,
        doc: &Document,
        error: Error,
        attempts: u32,
        report: &Shared,
    ) -> Result<()> {
        let inner = &self.inner;
        let text = error.chain();
        let entry = self.audit(doc, "fail", &text, None);
        let f = inner
            .state
            .record_failure(
                &inner.name,
                &NewFailure {
                    source: &doc.source,
                    path: Some(&doc.path),
                    error: &text,
                    attempts,
                    dead_after: inner.dead_after,
                },
                &entry,
            )
            .await?;
        let failed = Settled::Failed {
            error: text,
            attempts: f.attempts,
        };
        self.settle(Subject::of(doc), failed, report).await
    }

    /// The document with a body that reports the bytes it hands out.
    pub(super) fn counted(&self, doc: Document) -> Document {
        let Some(progress) = self.inner.progress.clone() else {
            return doc;
        };
        let source = doc.source.clone();
        let body = doc.body.map_stream(move |s| {
            let progress = progress.clone();
            let source = source.clone();
            s.inspect(move |chunk| {
                if let Ok(b) = chunk {
                    progress(&Progress::Bytes {
                        source: source.clone(),
                        n: b.len() as u64,
                    });
                }
            })
            .boxed()
        });
        Document { body, ..doc }
    }
}
