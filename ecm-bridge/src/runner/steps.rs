//! Running a document's steps after its write ([`super::Step`]): begun through the store's
//! "begin if not begun", checked at the target when one that is not repeatable was left in
//! doubt, finished with its output, or left awaiting until its next check.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::settle::{Settled, Subject};
use super::step::{Step, StepInput, StepOutcome};
use super::{lock, Failpoint, Flow, Shared};
use crate::error::{Error, Result};
use crate::model::Document;
use crate::sink::{Receipt, Sink};
use crate::state::{AuditEntry, BeginStep, DocRecord, StepState};

/// How one step ended in this run.
enum Ran {
    /// Done (now, or before), with its output.
    Done(Value),
    /// Waiting until its next check; the document is settled `awaiting`.
    Awaiting,
    /// Failed (settled `failed`), or left for a later run.
    Failed,
}

impl Flow {
    /// The steps of `doc` in order: its sink's, then the flow's, those that apply to it.
    pub(super) fn steps_of(&self, doc: &Document, sink: Option<&dyn Sink>) -> Vec<Arc<dyn Step>> {
        sink.map(|s| s.steps())
            .unwrap_or_default()
            .into_iter()
            .chain(self.inner.steps.iter().cloned())
            .filter(|s| s.applies(doc))
            .collect()
    }

    /// Runs the steps of a written version that are not done, in order, then records the
    /// document as finished. Stops at a step that waits (the document is `awaiting`) or fails.
    /// `resumed`: the version was written by an earlier run (only its steps are left), so the
    /// document counts as unchanged in this run's report, not as written.
    pub(super) async fn finish_steps(
        &self,
        doc: &Document,
        sink: Option<&dyn Sink>,
        receipt: &Receipt,
        record: Option<DocRecord>,
        resumed: bool,
        report: &Shared,
    ) -> Result<()> {
        let inner = &self.inner;
        let record = record.unwrap_or_else(|| {
            DocRecord::new(
                inner.name.clone(),
                doc.source.clone(),
                Some(doc.path.clone()),
                lock(report).run.unwrap_or(0),
            )
        });
        let mut outputs = BTreeMap::new();
        for step in self.steps_of(doc, sink) {
            let input = Step0 {
                doc,
                record: &record,
                receipt,
            };
            match self.one_step(&*step, &input, &outputs, report).await? {
                Ran::Done(out) => {
                    outputs.insert(step.name().to_owned(), out);
                }
                Ran::Awaiting | Ran::Failed => return Ok(()),
            }
        }
        self.failpoint(Failpoint::AfterSteps)?;
        let done = Settled::StepsDone {
            receipt,
            unchanged: resumed,
        };
        self.settle(Subject::of(doc, Some(record)), done, report)
            .await
    }

    /// One step: skipped when done, checked at the target when it is not repeatable and was
    /// left `started`, else run (with the flow's in-run retries) and its outcome recorded.
    async fn one_step(
        &self,
        step: &dyn Step,
        at: &Step0<'_>,
        outputs: &BTreeMap<String, Value>,
        report: &Shared,
    ) -> Result<Ran> {
        let inner = &self.inner;
        let (doc, name) = (at.doc, step.name());
        let key = doc.source.key();
        let version = doc.source.version.clone().unwrap_or_default();
        let begun = inner
            .state
            .begin_step(&inner.name, &key, &version, name)
            .await?;
        let so_far = match &begun {
            BeginStep::Exists(s) if s.state == StepState::Done => {
                return Ok(Ran::Done(s.output.clone().unwrap_or(Value::Null)));
            }
            BeginStep::Exists(s) | BeginStep::Began(s) => s.output.clone(),
        };
        let earlier = match step.repeatable() {
            true => Vec::new(),
            false => {
                let mut all = inner.state.step_history(&inner.name, &key, name).await?;
                all.retain(|s| s.version != version);
                all
            }
        };
        let input = StepInput {
            flow: &inner.name,
            doc,
            record: at.record,
            receipt: at.receipt,
            outputs,
            so_far: so_far.as_ref(),
            earlier: &earlier,
            now: self.now(),
        };
        let target = Some(&at.receipt.target);
        if !begun.began() && !step.repeatable() {
            // Begun by a run that stopped while it was under way: did it happen?
            match step.check(&input).await {
                Ok(Some(out)) => {
                    tracing::info!(flow = %inner.name, doc = %doc.path, step = name, "step found done at the target");
                    let entry = self.audit(doc, "step", &format!("{name}: found done"), target);
                    self.finish_audited(&key, &version, name, &out, entry, report)
                        .await?;
                    return Ok(Ran::Done(out));
                }
                Ok(None) => {}
                Err(e @ Error::Stopped(_)) => return Err(e),
                // Still in doubt: the step stays `started`, the next run asks again.
                Err(e) => {
                    self.fail(doc, e, 1, Some(at.record.clone()), report)
                        .await?;
                    return Ok(Ran::Failed);
                }
            }
        }
        let mut attempt = 0;
        let outcome = loop {
            attempt += 1;
            if attempt > 1 && !step.repeatable() {
                // The failed attempt may have happened all the same (its answer lost after the
                // write committed): ask the target before starting it again.
                match step.check(&input).await {
                    Ok(Some(out)) => {
                        tracing::info!(flow = %inner.name, doc = %doc.path, step = name, "failed attempt found done at the target");
                        break StepOutcome::Done(out);
                    }
                    Ok(None) => {}
                    Err(e @ Error::Stopped(_)) => return Err(e),
                    // Still in doubt: the step stays `started`, the next run asks again.
                    Err(e) => {
                        self.fail(doc, e, attempt, Some(at.record.clone()), report)
                            .await?;
                        return Ok(Ran::Failed);
                    }
                }
            }
            match step.run(&input).await {
                Ok(o) => break o,
                Err(e @ Error::Stopped(_)) => return Err(e),
                Err(e) if e.is_retryable() && attempt < inner.retry.max_attempts => {
                    match inner.retry.delay(attempt, e.retry_after()) {
                        Some(delay) => tokio::time::sleep(delay).await,
                        None => {
                            self.step_failed(step, &key, &version, &e).await?;
                            self.leave_for_later(doc, e, attempt, Some(at.record.clone()), report)
                                .await?;
                            return Ok(Ran::Failed);
                        }
                    }
                }
                Err(e) => {
                    self.step_failed(step, &key, &version, &e).await?;
                    self.fail(doc, e, attempt, Some(at.record.clone()), report)
                        .await?;
                    return Ok(Ran::Failed);
                }
            }
        };
        self.failpoint(Failpoint::AfterStep)?;
        match outcome {
            StepOutcome::Done(out) => {
                let entry = self.audit(doc, "step", &format!("{name}: ok"), target);
                self.finish_audited(&key, &version, name, &out, entry, report)
                    .await?;
                Ok(Ran::Done(out))
            }
            StepOutcome::Awaiting { until, output } => {
                inner
                    .state
                    .await_step(&inner.name, &key, &version, name, &output)
                    .await?;
                let waiting = Settled::Awaiting {
                    step: name.to_owned(),
                    until,
                    output,
                    target: at.receipt.target.clone(),
                };
                self.settle(Subject::of(doc, Some(at.record.clone())), waiting, report)
                    .await?;
                Ok(Ran::Awaiting)
            }
        }
    }

    /// Marks the step done and appends its audit line, both or neither.
    async fn finish_audited(
        &self,
        key: &str,
        version: &str,
        name: &str,
        out: &Value,
        mut entry: AuditEntry,
        report: &Shared,
    ) -> Result<()> {
        entry.run = lock(report).run;
        let inner = &self.inner;
        inner
            .state
            .finish_step_audited(&inner.name, key, version, name, out, &[entry])
            .await?;
        Ok(())
    }

    /// Records a failed attempt at a repeatable step (begun again next time); one that is not
    /// repeatable stays `started`, so the next run asks the target whether it happened.
    async fn step_failed(
        &self,
        step: &dyn Step,
        key: &str,
        version: &str,
        e: &Error,
    ) -> Result<()> {
        if step.repeatable() {
            let inner = &self.inner;
            inner
                .state
                .fail_step(&inner.name, key, version, step.name(), &e.chain())
                .await?;
        }
        Ok(())
    }
}

/// What every step of one document is given, besides the outputs so far.
struct Step0<'a> {
    doc: &'a Document,
    record: &'a DocRecord,
    receipt: &'a Receipt,
}
