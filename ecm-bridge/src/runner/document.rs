//! The life of one document, decided from its record ([`DocRecord`]): a version already done is
//! unchanged; one `written` (or whose steps failed) resumes at its first unfinished step, and
//! one `pending` (a write in doubt) asks the sink its record names to find the write, both
//! without running the transforms again; anything else is decided by the transforms, saved
//! `pending` before the write, written (adopting an earlier write when in doubt), verified,
//! recorded and taken through its steps (`steps.rs`), or failed.

use futures::stream::StreamExt;
use serde::{Deserialize, Serialize};

use super::settle::{Settled, Subject};
use super::{lock, Decision, Failpoint, Flow, Progress, Shared};
use crate::error::{Error, Result};
use crate::model::{Body, Document, DocumentMeta};
use crate::sink::{Receipt, Sink, WriteAction, WriteContext};
use crate::source::Change;
use crate::state::{fold_path, DocRecord, DocStatus};
use crate::transform::Outcome;
use crate::verify;

/// What the runner keeps in [`DocRecord::context`] to resume a document without its
/// transforms.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Resume {
    /// The document as the transforms left it, without its bytes.
    pub doc: DocumentMeta,
    /// Whether this version's bytes are at the target (recorded), so only steps remain.
    pub written: bool,
}

impl Resume {
    /// The resume context of `record`, when it has one the runner can read.
    pub fn of(record: &DocRecord) -> Option<Resume> {
        let ctx = record.context.clone()?;
        match serde_json::from_value::<Resume>(ctx) {
            Ok(r) if r.doc.source == record.source => Some(r),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(flow = %record.flow, doc = %record.source, error = %e, "record context unreadable; deciding again");
                None
            }
        }
    }

    /// As [`DocRecord::context`].
    pub fn to_value(&self) -> Option<serde_json::Value> {
        serde_json::to_value(self).ok()
    }
}

/// The route a record names (`None`: the default sink).
pub(super) fn route_of(record: &DocRecord) -> Option<&str> {
    record.sink.as_deref().filter(|s| *s != super::DEFAULT_SINK)
}

/// Whether `record` is of a write that may have landed without being recorded: `pending`, or
/// `failed` before its bytes were recorded.
fn write_in_doubt(record: &DocRecord) -> bool {
    match record.status {
        DocStatus::Pending => true,
        DocStatus::Failed => Resume::of(record).is_some_and(|r| !r.written),
        _ => false,
    }
}

impl Flow {
    /// One feed item. `Err` only for what ends the run (state store, failpoint).
    pub(super) async fn handle(&self, change: Change, report: &Shared) -> Result<()> {
        match change {
            Change::Upsert(doc) => self.process(*doc, report).await,
            Change::Deleted { path } => {
                tracing::debug!(flow = %self.inner.name, path, "deleted at the source");
                lock(report).deleted.push(path.clone());
                self.removed_at(&path, report).await
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
        let sink = self.sink_named(route.as_deref())?;
        Ok(Decision::Write(Box::new(doc), sink, route))
    }

    /// The sink of a route (`None`: the default sink).
    pub(super) fn sink_named(&self, route: Option<&str>) -> Result<std::sync::Arc<dyn Sink>> {
        let inner = &self.inner;
        match route {
            Some(name) => inner.routes.get(name).cloned().ok_or_else(|| {
                Error::Config(format!("flow {}: no sink for route {name:?}", inner.name))
            }),
            None => inner
                .sink
                .clone()
                .ok_or_else(|| Error::Config(format!("flow {}: no default sink", inner.name))),
        }
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

        let record = inner.state.record(&inner.name, &key).await?;
        if let Some(r) = record.as_ref().filter(|r| r.source == doc.source) {
            let resume = Resume::of(r);
            match r.status {
                // A quarantined version is decided again when the source presents it again:
                // it is never retried on its own, and a source lists an unchanged version
                // only to have it decided again (after a rule change, say).
                DocStatus::Done | DocStatus::Dead | DocStatus::Conflict => {
                    // Decided before; a conflict is not retried, nor is a dead document
                    // (until a new version).
                    let unchanged = Settled::Unchanged {
                        moved_from: None,
                        target: r.target.clone(),
                        location: r.location.clone(),
                        why: "version recorded",
                        save: false,
                    };
                    return self
                        .settle(Subject::of(&doc, record), unchanged, report)
                        .await;
                }
                DocStatus::Written | DocStatus::Awaiting | DocStatus::Failed
                    if resume.as_ref().is_some_and(|c| c.written) =>
                {
                    if inner.dry_run {
                        let unchanged = Settled::Unchanged {
                            moved_from: None,
                            target: r.target.clone(),
                            location: r.location.clone(),
                            why: "version recorded; steps left",
                            save: false,
                        };
                        return self
                            .settle(Subject::of(&doc, record), unchanged, report)
                            .await;
                    }
                    if r.status == DocStatus::Awaiting
                        && r.next_check.is_some_and(|t| t > self.now())
                    {
                        tracing::debug!(flow = %inner.name, doc = %doc.path, next_check = ?r.next_check, "awaiting; not due");
                        return Ok(());
                    }
                    let r = r.clone();
                    return self.resume_steps(r, Some(doc), report).await;
                }
                DocStatus::Pending if !inner.dry_run => {
                    if let Some(c) = resume {
                        // A write in doubt: to the sink it was going to, with the document as
                        // the transforms left it then, and the bytes as listed now.
                        let sink = match self.sink_named(route_of(r)) {
                            Ok(s) => s,
                            Err(e) => return self.fail(&doc, e, 1, record, report).await,
                        };
                        let route = route_of(r).map(str::to_owned);
                        let decided = c.doc.with_body(doc.body);
                        return self.write(decided, sink, route, record, true, report).await;
                    }
                }
                _ => {}
            }
        }

        if let Some(r) = self.same_content(&doc, record.as_ref()) {
            // A new version with the bytes already recorded (a copy, a move back, a rename):
            // not a new version at the target, and never a second target document.
            let moved = r.index_path() != Some(fold_path(&doc.path));
            let mut location = r.location.clone();
            if let (true, Some(target)) = (moved && self.moves_targets(), &r.target) {
                match self.relocate(&doc, target).await {
                    Ok(Some(loc)) => location = Some(loc),
                    Ok(None) => {}
                    Err(e) => return self.fail(&doc, e, 1, record, report).await,
                }
            }
            let unchanged = Settled::Unchanged {
                moved_from: r.path.clone().filter(|_| moved),
                target: r.target.clone(),
                location,
                why: "same content hash",
                save: true,
            };
            return self
                .settle(Subject::of(&doc, record), unchanged, report)
                .await;
        }

        let in_doubt = record.as_ref().is_some_and(write_in_doubt);
        let (decided, sink, route) = match self.decide(doc.clone()).await {
            Ok(Decision::Write(d, s, route)) => (*d, s, route),
            Ok(Decision::Quarantine(reason)) => {
                let held = Settled::Quarantined { reason };
                return self.settle(Subject::of(&doc, record), held, report).await;
            }
            Ok(Decision::Skip(reason)) => {
                return self.skip(doc, reason, record, in_doubt, report).await;
            }
            Err(e) => return self.fail(&doc, e, 1, record, report).await,
        };

        if inner.dry_run {
            let location = sink.describe(&decided);
            let would = Settled::WouldWrite { location };
            return self
                .settle(Subject::of(&decided, record), would, report)
                .await;
        }
        self.write(decided, sink, route, record, in_doubt, report)
            .await
    }

    /// A document the transforms skip. A write of it that may have landed is looked for at
    /// every sink of the flow and recorded when found (not orphaned); else a record left
    /// `pending` or `failed` is settled `skipped`, so no later run takes it up.
    async fn skip(
        &self,
        doc: Document,
        reason: String,
        record: Option<DocRecord>,
        in_doubt: bool,
        report: &Shared,
    ) -> Result<()> {
        let inner = &self.inner;
        let resolve = !inner.dry_run
            && record
                .as_ref()
                .is_some_and(|r| matches!(r.status, DocStatus::Pending | DocStatus::Failed));
        if in_doubt && !inner.dry_run {
            let ctx = WriteContext {
                flow: inner.name.clone(),
                previous: record.as_ref().and_then(|r| r.target.clone()),
                attempt: 1,
                in_doubt: true,
            };
            match self.find_landed(&doc, &ctx).await {
                Ok(Some(found)) => {
                    tracing::info!(flow = %inner.name, doc = %doc.path, target = %found.target, "now skipped; its earlier write is recorded");
                    let landed = Settled::Landed {
                        receipt: &found,
                        reason,
                    };
                    return self.settle(Subject::of(&doc, record), landed, report).await;
                }
                Ok(None) => {}
                // The record stays as it is: the next run looks again.
                Err(e) => return self.fail(&doc, e, 1, record, report).await,
            }
        }
        let skipped = Settled::Skipped { reason, resolve };
        self.settle(Subject::of(&doc, record), skipped, report)
            .await
    }

    /// Whether a rename at the source moves the target ([`crate::sink::RenamePolicy`]).
    fn moves_targets(&self) -> bool {
        self.inner.rename == crate::sink::RenamePolicy::MoveTarget && !self.inner.dry_run
    }

    /// Moves the target of a document renamed or moved at the source to where the transforms
    /// now put it; the new location, or `None` when the transforms no longer write it (then
    /// only the record takes the new path).
    async fn relocate(
        &self,
        doc: &Document,
        target: &crate::model::DocRef,
    ) -> Result<Option<String>> {
        match self.decide(doc.clone()).await? {
            Decision::Write(d, sink, _) => {
                let loc = sink.relocate(&d, target).await?;
                tracing::info!(flow = %self.inner.name, doc = %doc.path, %target, location = %loc, "target moved");
                Ok(Some(loc))
            }
            Decision::Skip(_) | Decision::Quarantine(_) => Ok(None),
        }
    }

    /// Saves the document `pending` (with what a resume needs), writes it through `sink`
    /// (adopting an earlier write when in doubt), records it, and runs its steps.
    async fn write(
        &self,
        doc: Document,
        sink: std::sync::Arc<dyn Sink>,
        route: Option<String>,
        record: Option<DocRecord>,
        in_doubt: bool,
        report: &Shared,
    ) -> Result<()> {
        let inner = &self.inner;
        self.failpoint(Failpoint::BeforePending)?;
        let run = lock(report).run.unwrap_or(0);
        let renamed = record
            .as_ref()
            .and_then(DocRecord::index_path)
            .is_some_and(|p| p != fold_path(&doc.path));
        let previous = record.as_ref().and_then(|r| r.target.clone());
        if let (true, Some(target)) = (renamed && self.moves_targets(), &previous) {
            // A new version of a document renamed or moved at the source: its target moves
            // first (the record keeps the old path until then, so a failure is retried).
            if let Err(e) = sink.relocate(&doc, target).await {
                return self.fail(&doc, e, 1, record, report).await;
            }
        }
        let mut pending = match &record {
            Some(r) => r.clone(),
            None => DocRecord::new(
                inner.name.clone(),
                doc.source.clone(),
                Some(doc.path.clone()),
                run,
            ),
        };
        if pending.source != doc.source {
            pending.attempts = 0;
        }
        pending.source = doc.source.clone();
        pending.path = Some(doc.path.clone());
        pending.path_lower = Some(fold_path(&doc.path));
        pending.size = Some(doc.size);
        pending.hash = doc.hash.clone();
        pending.sink = Some(route.clone().unwrap_or_else(|| super::DEFAULT_SINK.into()));
        pending.status = DocStatus::Pending;
        pending.next_check = None;
        pending.run = run;
        pending.updated = chrono::Utc::now();
        pending.context = Resume {
            doc: doc.meta(),
            written: false,
        }
        .to_value();
        super::worker::save(self, &pending).await?;
        self.emit(Progress::Started {
            source: doc.source.clone(),
            path: doc.path.clone(),
            size: doc.size,
        });
        let doc = self.counted(doc);
        let mut ctx = WriteContext {
            flow: inner.name.clone(),
            // Until this version is recorded, the record's target is the previous version's.
            previous: pending.target.clone(),
            attempt: 0,
            in_doubt,
        };
        let record = Some(pending);
        let receipt = loop {
            ctx.attempt += 1;
            ctx.in_doubt = in_doubt || ctx.attempt > 1;
            match self.write_gated(&*sink, &doc, &ctx).await {
                Ok(r) => break r,
                Err(e @ Error::Stopped(_)) => return Err(e),
                Err(e @ Error::Conflict { .. }) => {
                    // The target refused the write: nothing landed, nothing to retry.
                    let reason = e.chain();
                    let held = Settled::Conflict { reason };
                    return self.settle(Subject::of(&doc, record), held, report).await;
                }
                Err(e) if e.is_retryable() && ctx.attempt < inner.retry.max_attempts => {
                    let Some(delay) = inner.retry.delay(ctx.attempt, e.retry_after()) else {
                        return self
                            .leave_for_later(&doc, e, ctx.attempt, record, report)
                            .await;
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
                Err(e) => return self.fail(&doc, e, ctx.attempt, record, report).await,
            }
        };

        self.failpoint(Failpoint::AfterWrite)?;
        let steps_left = !self.steps_of(&doc, Some(&*sink)).is_empty();
        let written = Settled::Written {
            receipt: &receipt,
            route: route.as_deref(),
            attempts: ctx.attempt,
            steps_left,
        };
        let saved = self
            .settle_rec(Subject::of(&doc, record), written, report)
            .await?;
        self.failpoint(Failpoint::AfterRecord)?;
        if !steps_left {
            return Ok(());
        }
        self.finish_steps(&doc, Some(&*sink), &receipt, saved, false, report)
            .await
    }

    /// Resumes a written document at its first unfinished step, from its record: the document
    /// as the transforms left it, the sink its record names, the target it records. A record
    /// without a resume context (written by an older runner) is decided again from `listed`
    /// (or the source's current state) to learn its sink and governance.
    pub(super) async fn resume_steps(
        &self,
        record: DocRecord,
        listed: Option<Document>,
        report: &Shared,
    ) -> Result<()> {
        let inner = &self.inner;
        let Some(target) = record.target.clone() else {
            return Ok(());
        };
        let receipt = Receipt {
            target,
            bytes: record.size.unwrap_or(0),
            sent_hashes: Vec::new(),
            action: WriteAction::Adopted,
            location: record.location.clone().unwrap_or_default(),
        };
        if let Some(c) = Resume::of(&record) {
            let sink = self.sink_named(route_of(&record))?;
            let doc = c.doc.with_body(Body::from_bytes(bytes::Bytes::new()));
            return self
                .finish_steps(&doc, Some(&*sink), &receipt, Some(record), true, report)
                .await;
        }
        let listed = match listed {
            Some(d) => d,
            None => match inner.source.fetch(&record.source).await {
                Ok(Some(d)) if d.source == record.source => d,
                Ok(_) => return Ok(()),
                Err(e) => {
                    return self
                        .fail_unread(record.source, record.path, e, report)
                        .await
                }
            },
        };
        match self.decide(listed.clone()).await {
            Ok(Decision::Write(d, sink, _)) => {
                self.finish_steps(&d, Some(&*sink), &receipt, Some(record), true, report)
                    .await
            }
            Ok(Decision::Skip(reason) | Decision::Quarantine(reason)) => {
                tracing::info!(flow = %inner.name, doc = %listed.path, reason, "now skipped; only the flow's steps are finished");
                self.finish_steps(&listed, None, &receipt, Some(record), true, report)
                    .await
            }
            Err(e) => self.fail(&listed, e, 1, Some(record), report).await,
        }
    }

    /// A write of `doc` found at any of the flow's sinks (the default first, then the routes),
    /// for a document whose write was in doubt but which the transforms now skip.
    async fn find_landed(&self, doc: &Document, ctx: &WriteContext) -> Result<Option<Receipt>> {
        let inner = &self.inner;
        for sink in inner.sink.iter().chain(inner.routes.values()) {
            if let Some(found) = sink.find_existing(doc, ctx).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// One attempt ([`Flow::write_once`]) under the adaptive limit of the sink's server
    /// ([`super::load`]), which it tells how the attempt went.
    async fn write_gated(
        &self,
        sink: &dyn Sink,
        doc: &Document,
        ctx: &WriteContext,
    ) -> Result<Receipt> {
        let Some(limits) = &self.inner.limits else {
            return self.write_once(sink, doc, ctx, ctx.in_doubt).await;
        };
        let server = sink.server().to_owned();
        let permit = limits.of(&server).acquire().await;
        let current = std::sync::Arc::new(super::load::Current {
            server,
            permit: std::sync::Mutex::new(permit),
            limits: limits.clone(),
        });
        let result = super::load::CURRENT
            .scope(
                current.clone(),
                self.write_once(sink, doc, ctx, ctx.in_doubt),
            )
            .await;
        let mut permit = current.permit.lock().unwrap_or_else(|e| e.into_inner());
        match &result {
            Ok(_) => permit.succeeded(),
            Err(e) if super::load::is_throttle(e) => permit.throttled(),
            Err(_) => {}
        }
        result
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
        super::worker::still_held(self).await?;
        let receipt = sink.write(doc, ctx).await?;
        verify::check_receipt(doc, &receipt)?;
        Ok(receipt)
    }

    /// A document the server rate-limited for longer than the retry budget: failed (so the
    /// next run fetches it again) without counting the refused attempt, and not tried again
    /// in this run.
    pub(super) async fn leave_for_later(
        &self,
        doc: &Document,
        error: Error,
        attempt: u32,
        record: Option<DocRecord>,
        report: &Shared,
    ) -> Result<()> {
        tracing::info!(flow = %self.inner.name, doc = %doc.path, wait = ?error.retry_after(), "rate-limited beyond the retry budget; left for a later run");
        self.fail(doc, error, attempt.saturating_sub(1), record, report)
            .await
    }

    /// Settles a failure of `doc` with `attempts` made now; the record (or the one stored)
    /// gives the attempts before.
    pub(super) async fn fail(
        &self,
        doc: &Document,
        error: Error,
        attempts: u32,
        record: Option<DocRecord>,
        report: &Shared,
    ) -> Result<()> {
        let failed = Settled::Failed {
            error: error.chain(),
            attempts,
        };
        self.settle(Subject::of(doc, record), failed, report).await
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
