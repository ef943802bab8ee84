//! The one path every outcome of a document goes through ([`Flow::settle`]): the report, the
//! progress events, tracing, the audit trail (each entry with the run's id) and the document's
//! [`DocRecord`] together. The runner decides every status here, `dead` included.

use chrono::Utc;

use super::document::Resume;
use super::{lock, Awaiting, Failed, Flow, Held, Moved, Progress, Shared, Skipped, Written};
use crate::error::Result;
use crate::model::{ContentHash, DocRef, Document};
use crate::sink::{DeadLetter, Receipt, WriteAction};
use crate::state::{fold_path, AuditEntry, DocRecord, DocStatus};

/// The name recorded in [`DocRecord::sink`] for a flow's default sink (a route records its
/// own name).
pub const DEFAULT_SINK: &str = "default";

/// What a settled document is: its id and version, what is known of it, and its record as the
/// runner last read or saved it (`None`: read from the store, or there is none).
pub(super) struct Subject<'a> {
    pub source: &'a DocRef,
    pub path: Option<&'a str>,
    pub size: Option<u64>,
    pub hash: Option<&'a ContentHash>,
    /// The document, for the audit trail's account and hash (absent for one the source could
    /// not read).
    pub doc: Option<&'a Document>,
    pub record: Option<DocRecord>,
    /// Whether `record` is what the store holds (else it is read when needed).
    pub known: bool,
}

impl<'a> Subject<'a> {
    /// `doc`, with the record the runner holds of it (read at the start of its processing, or
    /// saved since).
    pub fn of(doc: &'a Document, record: Option<DocRecord>) -> Self {
        Subject {
            source: &doc.source,
            path: Some(&doc.path),
            size: Some(doc.size),
            hash: doc.hash.as_ref(),
            doc: Some(doc),
            record,
            known: true,
        }
    }
}

/// What became of a document.
pub(super) enum Settled<'a> {
    /// Written (or adopted) and recorded; `steps_left` when steps after the write remain.
    Written {
        receipt: &'a Receipt,
        route: Option<&'a str>,
        attempts: u32,
        steps_left: bool,
    },
    /// A dry run's document that would be written at `location`.
    WouldWrite { location: String },
    /// Written before: by version (`save: false`, the record stays), or by content hash and
    /// path (`why`); or by content hash at another path (`moved_from`: renamed or moved at the
    /// source, new path recorded).
    Unchanged {
        moved_from: Option<String>,
        target: Option<DocRef>,
        location: Option<String>,
        why: &'static str,
        save: bool,
    },
    /// The steps after the write are done; `unchanged` when nothing else of it happened in
    /// this run (only the steps were left from an earlier run).
    StepsDone {
        receipt: &'a Receipt,
        unchanged: bool,
    },
    /// Skipped by a transform; `resolve` when its record was left `pending` or `failed` (then
    /// it is saved `skipped`, so no later run takes it up).
    Skipped { reason: String, resolve: bool },
    /// Skipped by a transform now, but a write of it begun before had landed: recorded `done`
    /// with that target (not orphaned), reported as skipped.
    Landed {
        receipt: &'a Receipt,
        reason: String,
    },
    /// Quarantined by a transform: recorded, reported, not retried.
    Quarantined { reason: String },
    /// In conflict at the target ([`crate::Error::Conflict`]): recorded, reported, not retried.
    Conflict { reason: String },
    /// Failed, with the attempts made now; the runner adds the attempts recorded before (of
    /// this version) and decides whether it is dead.
    Failed { error: String, attempts: u32 },
    /// Written; its step `step` waits on something outside until `until`.
    Awaiting {
        step: String,
        until: chrono::DateTime<Utc>,
        output: serde_json::Value,
        target: DocRef,
    },
}

impl Flow {
    /// Counts an outcome in the metrics ([`metrics`] facade): `ecm_documents_total` by flow
    /// and outcome, and the bytes written in `ecm_bytes_written_total` by flow and server.
    fn count(&self, outcome: &Settled<'_>, attempts_before: u32) {
        let name = match outcome {
            Settled::Written { receipt, .. } => {
                if receipt.action != WriteAction::Adopted {
                    metrics::counter!("ecm_bytes_written_total", "flow" => self.inner.name.clone())
                        .increment(receipt.bytes);
                }
                "written"
            }
            Settled::WouldWrite { .. } => "would_write",
            Settled::Unchanged {
                moved_from: Some(_),
                ..
            } => "moved",
            Settled::Unchanged { .. } => "unchanged",
            Settled::StepsDone { .. } => "steps_done",
            Settled::Skipped { .. } | Settled::Landed { .. } => "skipped",
            Settled::Quarantined { .. } => "quarantined",
            Settled::Conflict { .. } => "conflict",
            Settled::Failed { attempts, .. } if self.is_dead(attempts_before + attempts) => "dead",
            Settled::Failed { .. } => "failed",
            Settled::Awaiting { .. } => "awaiting",
        };
        metrics::counter!("ecm_documents_total", "flow" => self.inner.name.clone(), "outcome" => name)
            .increment(1);
    }

    /// Whether `attempts` (over all runs) make a failed document dead.
    pub(super) fn is_dead(&self, attempts: u32) -> bool {
        self.inner.dead_after > 0 && attempts >= self.inner.dead_after
    }

    /// Appends `entry` to the audit trail with this run's id.
    pub(super) async fn append(&self, mut entry: AuditEntry, report: &Shared) -> Result<()> {
        entry.run = lock(report).run;
        self.inner.state.append_audit(&entry).await
    }

    /// Settles one outcome of a document: report, progress, tracing, audit and record.
    pub(super) async fn settle(
        &self,
        subject: Subject<'_>,
        outcome: Settled<'_>,
        report: &Shared,
    ) -> Result<()> {
        self.settle_rec(subject, outcome, report).await.map(|_| ())
    }

    /// [`Flow::settle`], answering the record as it now is (saved, or kept).
    pub(super) async fn settle_rec(
        &self,
        mut subject: Subject<'_>,
        outcome: Settled<'_>,
        report: &Shared,
    ) -> Result<Option<DocRecord>> {
        let inner = &self.inner;
        let run = lock(report).run.unwrap_or(0);
        let live = !inner.dry_run;
        let prior = match subject.record.take() {
            Some(r) => Some(r),
            None if !subject.known => {
                inner
                    .state
                    .record(&inner.name, &subject.source.key())
                    .await?
            }
            None => None,
        };
        let kept = prior.clone();
        let same_version = prior.as_ref().is_some_and(|r| r.source == *subject.source);
        let attempts_before = prior
            .as_ref()
            .filter(|_| same_version)
            .map_or(0, |r| r.attempts);
        let mut record = prior.unwrap_or_else(|| {
            DocRecord::new(
                inner.name.clone(),
                subject.source.clone(),
                subject.path.map(str::to_owned),
                run,
            )
        });
        if !same_version {
            // What the runner kept to resume belongs to the version recorded before.
            record.context = None;
        }
        record.source = subject.source.clone();
        if let Some(p) = subject.path {
            record.path = Some(p.to_owned());
            record.path_lower = Some(fold_path(p));
        }
        record.size = subject.size.or(record.size);
        if let Some(h) = subject.hash {
            record.hash = Some(h.clone());
        }
        record.run = run;
        record.next_check = None;
        if live {
            self.count(&outcome, attempts_before);
        }
        let path = subject.path.unwrap_or_default().to_owned();
        let conflict = matches!(outcome, Settled::Conflict { .. });
        // The entries of this outcome, kept with the record in one transaction when it is
        // saved (a kill between the two would audit the outcome again on the rerun).
        let mut audits: Vec<AuditEntry> = Vec::new();
        let save = match outcome {
            Settled::Written {
                receipt,
                route,
                attempts,
                steps_left,
            } => {
                tracing::info!(flow = %inner.name, doc = %path, target = %receipt.target, action = receipt.action.as_str(), "written");
                let entry = self.audit_of(
                    &subject,
                    receipt.action.as_str(),
                    "ok",
                    Some(&receipt.target),
                );
                audits.push(entry);
                {
                    let mut r = lock(report);
                    if receipt.action != WriteAction::Adopted {
                        r.bytes += receipt.bytes;
                    }
                    r.push_written(Written {
                        source: subject.source.clone(),
                        path: path.clone(),
                        target: Some(receipt.target.clone()),
                        location: receipt.location.clone(),
                        action: Some(receipt.action),
                        bytes: receipt.bytes,
                        metadata: subject.doc.map(|d| d.metadata.clone()).unwrap_or_default(),
                        governance: subject
                            .doc
                            .map(|d| d.governance.clone())
                            .unwrap_or_default(),
                    });
                }
                self.emit(Progress::Done {
                    source: subject.source.clone(),
                    path,
                    target: receipt.target.clone(),
                    location: receipt.location.clone(),
                    action: receipt.action,
                });
                record.target = Some(receipt.target.clone());
                record.location = Some(receipt.location.clone());
                record.sink = Some(route.unwrap_or(DEFAULT_SINK).to_owned());
                record.attempts = attempts_before + attempts;
                record.last_error = None;
                record.status = if steps_left {
                    DocStatus::Written
                } else {
                    DocStatus::Done
                };
                if let Some(doc) = subject.doc {
                    record.context = Resume {
                        doc: doc.meta(),
                        written: true,
                    }
                    .to_value();
                }
                true
            }
            Settled::WouldWrite { location } => {
                lock(report).push_written(Written {
                    source: subject.source.clone(),
                    path,
                    target: None,
                    location,
                    action: None,
                    bytes: subject.size.unwrap_or(0),
                    metadata: subject.doc.map(|d| d.metadata.clone()).unwrap_or_default(),
                    governance: subject
                        .doc
                        .map(|d| d.governance.clone())
                        .unwrap_or_default(),
                });
                false
            }
            Settled::Unchanged {
                moved_from,
                target,
                location,
                why,
                save,
            } => {
                tracing::debug!(flow = %inner.name, doc = %path, why, "unchanged");
                if let Some(from) = moved_from {
                    tracing::info!(flow = %inner.name, from, to = %path, "moved at the source; new path recorded");
                    if live {
                        let entry = self.audit_of(
                            &subject,
                            "move",
                            &format!("from {from}"),
                            target.as_ref(),
                        );
                        audits.push(entry);
                    }
                    lock(report).moved.push(Moved {
                        source: subject.source.clone(),
                        from,
                        to: path.clone(),
                    });
                }
                lock(report).unchanged += 1;
                self.emit(Progress::Unchanged {
                    source: subject.source.clone(),
                    path,
                });
                if target.is_some() {
                    record.target = target;
                }
                if location.is_some() {
                    record.location = location;
                }
                record.status = DocStatus::Done;
                record.last_error = None;
                save
            }
            Settled::StepsDone { receipt, unchanged } => {
                if unchanged {
                    lock(report).unchanged += 1;
                }
                if live {
                    let entry = self.audit_of(&subject, "mark", "ok", Some(&receipt.target));
                    audits.push(entry);
                }
                record.target = Some(receipt.target.clone());
                record.location = Some(receipt.location.clone());
                record.status = DocStatus::Done;
                record.last_error = None;
                true
            }
            Settled::Skipped { reason, resolve } => {
                tracing::debug!(flow = %inner.name, doc = %path, reason, "skipped");
                if live {
                    let entry = self.audit_of(&subject, "skip", &reason, None);
                    audits.push(entry);
                }
                let kept_for_recheck = match subject.doc {
                    Some(doc) if live => {
                        self.keep_for_recheck(doc, &reason, kept.as_ref(), report)
                            .await?
                    }
                    _ => false,
                };
                self.emit(Progress::Skipped {
                    source: subject.source.clone(),
                    path: path.clone(),
                    reason: reason.clone(),
                });
                lock(report).skipped.push(Skipped {
                    source: subject.source.clone(),
                    path,
                    reason: reason.clone(),
                });
                // A skip keeps the last record (or the awaiting one just kept for a recheck),
                // unless it is a write in doubt or a failure, which would be taken up again.
                record.status = DocStatus::Skipped;
                record.last_error = Some(reason);
                record.attempts = 0;
                resolve && !kept_for_recheck
            }
            Settled::Landed { receipt, reason } => {
                let outcome = format!("written before it was skipped ({reason})");
                let entry = self.audit_of(
                    &subject,
                    WriteAction::Adopted.as_str(),
                    &outcome,
                    Some(&receipt.target),
                );
                audits.push(entry);
                self.emit(Progress::Skipped {
                    source: subject.source.clone(),
                    path: path.clone(),
                    reason: reason.clone(),
                });
                lock(report).skipped.push(Skipped {
                    source: subject.source.clone(),
                    path,
                    reason,
                });
                record.target = Some(receipt.target.clone());
                record.location = Some(receipt.location.clone());
                record.status = DocStatus::Done;
                record.last_error = None;
                true
            }
            Settled::Quarantined { reason } | Settled::Conflict { reason } => {
                let (action, status) = if conflict {
                    ("conflict", DocStatus::Conflict)
                } else {
                    ("quarantine", DocStatus::Quarantined)
                };
                tracing::warn!(flow = %inner.name, doc = %path, reason, action, "held back");
                if live {
                    let entry = self.audit_of(&subject, action, &reason, None);
                    audits.push(entry);
                }
                self.emit(Progress::Held {
                    source: subject.source.clone(),
                    path: path.clone(),
                    reason: reason.clone(),
                    conflict,
                });
                let held = Held {
                    source: subject.source.clone(),
                    path,
                    reason: reason.clone(),
                };
                {
                    let mut r = lock(report);
                    if conflict {
                        r.conflicts.push(held);
                    } else {
                        r.quarantined.push(held);
                    }
                }
                record.status = status;
                record.last_error = Some(reason);
                true
            }
            Settled::Failed { error, attempts } => {
                let attempts = attempts_before + attempts;
                let dead = self.is_dead(attempts);
                tracing::warn!(flow = %inner.name, doc = %path, attempts, dead, error = %error, "document failed");
                if live {
                    let entry = self.audit_of(&subject, "fail", &error, None);
                    audits.push(entry);
                }
                lock(report).failed.push(Failed {
                    source: subject.source.clone(),
                    path: subject
                        .path
                        .map(str::to_owned)
                        .or_else(|| record.path.clone()),
                    error: error.clone(),
                    attempts,
                    dead,
                });
                self.emit(Progress::Failed {
                    source: subject.source.clone(),
                    path,
                    error: error.clone(),
                    dead,
                });
                if dead && live {
                    if let Some(hook) = &inner.dead_letter {
                        hook.dead_letter(&DeadLetter {
                            flow: inner.name.clone(),
                            source: subject.source.clone(),
                            path: subject
                                .path
                                .map(str::to_owned)
                                .or_else(|| record.path.clone()),
                            error: error.clone(),
                            attempts,
                        })
                        .await;
                    }
                    let entry = self.audit_of(&subject, "dead_letter", &error, None);
                    audits.push(entry);
                }
                record.attempts = attempts;
                record.last_error = Some(error);
                record.status = if dead {
                    DocStatus::Dead
                } else {
                    DocStatus::Failed
                };
                true
            }
            Settled::Awaiting {
                step,
                until,
                output,
                target,
            } => {
                tracing::info!(flow = %inner.name, doc = %path, step, %until, "awaiting");
                if live {
                    let entry = self.audit_of(
                        &subject,
                        "step",
                        &format!("{step}: awaiting until {}", until.to_rfc3339()),
                        Some(&target),
                    );
                    audits.push(entry);
                }
                self.emit(Progress::Awaiting {
                    source: subject.source.clone(),
                    path: path.clone(),
                    step: step.clone(),
                    until,
                });
                lock(report).awaiting.push(Awaiting {
                    source: subject.source.clone(),
                    path,
                    step,
                    until,
                    output,
                });
                record.target = Some(target);
                record.status = DocStatus::Awaiting;
                record.next_check = Some(until);
                record.last_error = None;
                true
            }
        };
        let run_id = lock(report).run;
        for entry in &mut audits {
            entry.run = run_id;
        }
        if save && live {
            record.updated = Utc::now();
            super::worker::save_audited(self, &record, &audits).await?;
            return Ok(Some(record));
        }
        for entry in &audits {
            inner.state.append_audit(entry).await?;
        }
        Ok(kept)
    }

    /// The audit line of `subject`.
    pub(super) fn audit_of(
        &self,
        subject: &Subject<'_>,
        action: &str,
        outcome: &str,
        target: Option<&DocRef>,
    ) -> AuditEntry {
        match subject.doc {
            Some(doc) => self.audit(doc, action, outcome, target),
            None => AuditEntry {
                time: Utc::now(),
                flow: self.inner.name.clone(),
                source: subject.source.clone(),
                source_hash: subject.hash.map(ToString::to_string),
                path: subject.path.map(str::to_owned),
                target: target.cloned(),
                account: None,
                action: action.to_owned(),
                outcome: outcome.to_owned(),
                run: None,
            },
        }
    }

    /// The record of a document whose content hash equals what its finished record holds: a
    /// copy or move-back that gave it a new version with the same bytes (same path), or a
    /// rename or move at the source (another path; the pairing is kept, and under the only
    /// rename policy so far, record only, the new path is recorded and nothing is written).
    pub(super) fn same_content<'r>(
        &self,
        doc: &Document,
        record: Option<&'r DocRecord>,
    ) -> Option<&'r DocRecord> {
        let hash = doc.hash.as_ref()?;
        record.filter(|r| {
            r.status == DocStatus::Done
                && r.source != doc.source
                && r.target.is_some()
                && r.hash.as_ref() == Some(hash)
        })
    }
}
