//! [`DocumentStore`] for [`MemoryStore`]: everything under one lock, so every method is atomic.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::MemoryStore;
use crate::error::{Error, Result};
use crate::model::Checkpoint;
use crate::state::document::lease_end;
use crate::state::records::{
    BeginStep, CasOutcome, Claim, ClaimOutcome, DocRecord, DocStatus, HistoryEntry, Job,
    JobBarrier, PartitionCheckpoint, RunCounts, RunId, RunRecord, StepRecord, StepState,
};
use crate::state::{AuditEntry, DocumentStore};

type Key2 = (String, String);

/// A claim row: kept after a release (`held: false`) so the key's token count survives.
struct ClaimRow {
    claim: Claim,
    held: bool,
}

/// The document store's state.
#[derive(Default)]
pub(super) struct Docs {
    records: BTreeMap<Key2, DocRecord>,
    history: Vec<HistoryEntry>,
    /// (flow, key, version, name) → (order of first begin, step).
    steps: BTreeMap<(String, String, String, String), (u64, StepRecord)>,
    step_seq: u64,
    runs: BTreeMap<RunId, RunRecord>,
    last_run: RunId,
    claims: BTreeMap<Key2, ClaimRow>,
    checkpoints: BTreeMap<Key2, PartitionCheckpoint>,
    jobs: BTreeMap<Key2, Job>,
    members: BTreeSet<(String, String, String)>,
}

fn k2(a: &str, b: &str) -> Key2 {
    (a.to_owned(), b.to_owned())
}

fn under(path_lower: Option<&str>, prefix: &str) -> bool {
    let Some(p) = path_lower else { return false };
    prefix.is_empty()
        || p == prefix
        || (p.starts_with(prefix) && p.as_bytes().get(prefix.len()) == Some(&b'/'))
}

impl Docs {
    fn job_entry(&mut self, flow: &str, job: &str) -> &mut Job {
        self.jobs.entry(k2(flow, job)).or_insert_with(|| Job {
            flow: flow.to_owned(),
            job: job.to_owned(),
            listing_finished: None,
            created: Utc::now(),
        })
    }
}

#[async_trait]
impl DocumentStore for MemoryStore {
    async fn save_record_audited(
        &self,
        record: &DocRecord,
        fence: Option<u64>,
        audit: &[AuditEntry],
    ) -> Result<bool> {
        let mut d = self.docs();
        let key = k2(&record.flow, &record.key());
        if let Some(token) = fence {
            let current = d.claims.get(&key);
            if !current.is_some_and(|c| c.held && c.claim.token == token) {
                return Ok(false);
            }
        }
        let mut stored = record.clone();
        stored.path_lower = record.index_path();
        if let Some(existing) = d.records.get(&key) {
            stored.created = existing.created;
        }
        let line = HistoryEntry {
            flow: stored.flow.clone(),
            source: stored.source.clone(),
            target: stored.target.clone(),
            status: stored.status,
            run: stored.run,
            time: stored.updated,
        };
        d.history
            .retain(|h| !(h.flow == line.flow && h.source == line.source && h.run == line.run));
        d.history.push(line);
        d.records.insert(key, stored);
        drop(d);
        self.lock().audit.extend(audit.iter().cloned());
        Ok(true)
    }

    async fn record(&self, flow: &str, key: &str) -> Result<Option<DocRecord>> {
        Ok(self.docs().records.get(&k2(flow, key)).cloned())
    }

    async fn records_by_status(&self, flow: &str, status: DocStatus) -> Result<Vec<DocRecord>> {
        Ok(self
            .docs()
            .records
            .values()
            .filter(|r| r.flow == flow && r.status == status)
            .cloned()
            .collect())
    }

    async fn due_checks(&self, flow: &str, now: DateTime<Utc>) -> Result<Vec<DocRecord>> {
        let mut due: Vec<DocRecord> = self
            .docs()
            .records
            .values()
            .filter(|r| r.flow == flow && r.status == DocStatus::Awaiting)
            .filter(|r| r.next_check.is_some_and(|t| t <= now))
            .cloned()
            .collect();
        due.sort_by_key(|r| (r.next_check, r.key()));
        Ok(due)
    }

    async fn records_under(&self, flow: &str, path: &str) -> Result<Vec<DocRecord>> {
        let prefix = crate::state::fold_path(path);
        Ok(self
            .docs()
            .records
            .values()
            .filter(|r| r.flow == flow && under(r.path_lower.as_deref(), &prefix))
            .cloned()
            .collect())
    }

    async fn history(&self, flow: &str, key: &str) -> Result<Vec<HistoryEntry>> {
        Ok(self
            .docs()
            .history
            .iter()
            .filter(|h| h.flow == flow && h.source.key() == key)
            .cloned()
            .collect())
    }

    async fn after_run(&self, flow: &str, run: RunId) -> Result<Vec<HistoryEntry>> {
        let d = self.docs();
        let mut latest: BTreeMap<String, &HistoryEntry> = BTreeMap::new();
        // Lines are in the order written; a later run wins over an earlier one.
        for h in d
            .history
            .iter()
            .filter(|h| h.flow == flow && h.run <= run && h.status.is_settled_at_target())
        {
            let key = h.source.key();
            if latest.get(&key).is_none_or(|prev| prev.run <= h.run) {
                latest.insert(key, h);
            }
        }
        Ok(latest.into_values().cloned().collect())
    }

    async fn begin_step(
        &self,
        flow: &str,
        key: &str,
        version: &str,
        name: &str,
    ) -> Result<BeginStep> {
        let mut d = self.docs();
        let id = (
            flow.to_owned(),
            key.to_owned(),
            version.to_owned(),
            name.to_owned(),
        );
        let now = Utc::now();
        if let Some((_, step)) = d.steps.get_mut(&id) {
            if !matches!(step.state, StepState::Failed | StepState::Awaiting) {
                return Ok(BeginStep::Exists(step.clone()));
            }
            step.state = StepState::Started;
            step.error = None;
            step.attempts += 1;
            step.started = now;
            step.finished = None;
            return Ok(BeginStep::Began(step.clone()));
        }
        d.step_seq += 1;
        let step = StepRecord {
            flow: id.0.clone(),
            key: id.1.clone(),
            version: id.2.clone(),
            name: id.3.clone(),
            state: StepState::Started,
            output: None,
            error: None,
            attempts: 1,
            started: now,
            finished: None,
        };
        let seq = d.step_seq;
        d.steps.insert(id, (seq, step.clone()));
        Ok(BeginStep::Began(step))
    }

    async fn finish_step_audited(
        &self,
        flow: &str,
        key: &str,
        version: &str,
        name: &str,
        output: &serde_json::Value,
        audit: &[AuditEntry],
    ) -> Result<bool> {
        let mut d = self.docs();
        let id = (
            flow.to_owned(),
            key.to_owned(),
            version.to_owned(),
            name.to_owned(),
        );
        match d.steps.get_mut(&id) {
            Some((_, step)) if step.state != StepState::Done => {
                step.state = StepState::Done;
                step.output = Some(output.clone());
                step.error = None;
                step.finished = Some(Utc::now());
                drop(d);
                self.lock().audit.extend(audit.iter().cloned());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn fail_step(
        &self,
        flow: &str,
        key: &str,
        version: &str,
        name: &str,
        error: &str,
    ) -> Result<bool> {
        let mut d = self.docs();
        let id = (
            flow.to_owned(),
            key.to_owned(),
            version.to_owned(),
            name.to_owned(),
        );
        match d.steps.get_mut(&id) {
            Some((_, step)) if step.state == StepState::Started => {
                step.state = StepState::Failed;
                step.error = Some(error.to_owned());
                step.finished = Some(Utc::now());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn await_step(
        &self,
        flow: &str,
        key: &str,
        version: &str,
        name: &str,
        output: &serde_json::Value,
    ) -> Result<bool> {
        let mut d = self.docs();
        let id = (
            flow.to_owned(),
            key.to_owned(),
            version.to_owned(),
            name.to_owned(),
        );
        match d.steps.get_mut(&id) {
            Some((_, step)) if step.state == StepState::Started => {
                step.state = StepState::Awaiting;
                step.output = Some(output.clone());
                step.error = None;
                step.finished = None;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn steps(&self, flow: &str, key: &str, version: &str) -> Result<Vec<StepRecord>> {
        let d = self.docs();
        let mut steps: Vec<&(u64, StepRecord)> = d
            .steps
            .iter()
            .filter(|((f, k, v, _), _)| f == flow && k == key && v == version)
            .map(|(_, s)| s)
            .collect();
        steps.sort_by_key(|(seq, _)| *seq);
        Ok(steps.into_iter().map(|(_, s)| s.clone()).collect())
    }

    async fn step_history(&self, flow: &str, key: &str, name: &str) -> Result<Vec<StepRecord>> {
        let d = self.docs();
        let mut steps: Vec<&(u64, StepRecord)> = d
            .steps
            .iter()
            .filter(|((f, k, _, n), _)| f == flow && k == key && n == name)
            .map(|(_, s)| s)
            .collect();
        steps.sort_by_key(|(seq, _)| *seq);
        Ok(steps.into_iter().map(|(_, s)| s.clone()).collect())
    }

    async fn begin_run(&self, flow: &str) -> Result<RunId> {
        let mut d = self.docs();
        d.last_run += 1;
        let id = d.last_run;
        d.runs.insert(
            id,
            RunRecord {
                id,
                flow: flow.to_owned(),
                started: Utc::now(),
                finished: None,
                counts: RunCounts::new(),
                report: None,
            },
        );
        Ok(id)
    }

    async fn finish_run(
        &self,
        id: RunId,
        counts: &RunCounts,
        report: &serde_json::Value,
    ) -> Result<()> {
        let mut d = self.docs();
        let run = d
            .runs
            .get_mut(&id)
            .ok_or_else(|| Error::State(format!("finish_run: no run {id}")))?;
        if run.finished.is_some() {
            return Err(Error::State(format!(
                "finish_run: run {id} already finished"
            )));
        }
        run.finished = Some(Utc::now());
        run.counts = counts.clone();
        run.report = Some(report.clone());
        Ok(())
    }

    async fn runs(&self, flow: &str) -> Result<Vec<RunRecord>> {
        Ok(self
            .docs()
            .runs
            .values()
            .filter(|r| r.flow == flow)
            .cloned()
            .collect())
    }

    async fn claim(
        &self,
        flow: &str,
        key: &str,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<ClaimOutcome> {
        let mut d = self.docs();
        let id = k2(flow, key);
        let token = match d.claims.get(&id) {
            Some(row) if row.held && row.claim.lease_until > now => {
                return Ok(ClaimOutcome::Held(row.claim.clone()))
            }
            Some(row) => row.claim.token + 1,
            None => 1,
        };
        let claim = Claim {
            flow: flow.to_owned(),
            key: key.to_owned(),
            owner: owner.to_owned(),
            token,
            lease_until: lease_end(now, lease),
        };
        d.claims.insert(
            id,
            ClaimRow {
                claim: claim.clone(),
                held: true,
            },
        );
        Ok(ClaimOutcome::Claimed(claim))
    }

    async fn renew_claim(
        &self,
        flow: &str,
        key: &str,
        owner: &str,
        token: u64,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut d = self.docs();
        match d.claims.get_mut(&k2(flow, key)) {
            Some(row) if row.held && row.claim.owner == owner && row.claim.token == token => {
                row.claim.lease_until = lease_end(now, lease);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn release_claim(&self, flow: &str, key: &str, owner: &str, token: u64) -> Result<bool> {
        let mut d = self.docs();
        match d.claims.get_mut(&k2(flow, key)) {
            Some(row) if row.held && row.claim.owner == owner && row.claim.token == token => {
                row.held = false;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn current_claim(&self, flow: &str, key: &str) -> Result<Option<Claim>> {
        Ok(self
            .docs()
            .claims
            .get(&k2(flow, key))
            .filter(|row| row.held)
            .map(|row| row.claim.clone()))
    }

    async fn partition_checkpoint(
        &self,
        flow: &str,
        partition: &str,
    ) -> Result<Option<PartitionCheckpoint>> {
        Ok(self.docs().checkpoints.get(&k2(flow, partition)).cloned())
    }

    async fn swap_checkpoint(
        &self,
        flow: &str,
        partition: &str,
        expected: Option<u64>,
        checkpoint: &Checkpoint,
    ) -> Result<CasOutcome> {
        let mut d = self.docs();
        let id = k2(flow, partition);
        let current = d.checkpoints.get(&id).map(|c| c.version);
        if current != expected {
            return Ok(CasOutcome::Stale(current));
        }
        let version = current.unwrap_or(0) + 1;
        d.checkpoints.insert(
            id,
            PartitionCheckpoint {
                checkpoint: checkpoint.clone(),
                version,
                updated: Utc::now(),
            },
        );
        Ok(CasOutcome::Stored(version))
    }

    async fn add_to_job(&self, flow: &str, job: &str, key: &str) -> Result<()> {
        let mut d = self.docs();
        d.job_entry(flow, job);
        d.members
            .insert((flow.to_owned(), job.to_owned(), key.to_owned()));
        Ok(())
    }

    async fn finish_job_listing(&self, flow: &str, job: &str) -> Result<()> {
        let mut d = self.docs();
        let entry = d.job_entry(flow, job);
        entry.listing_finished.get_or_insert_with(Utc::now);
        Ok(())
    }

    async fn job(&self, flow: &str, job: &str) -> Result<Option<Job>> {
        Ok(self.docs().jobs.get(&k2(flow, job)).cloned())
    }

    async fn job_members(&self, flow: &str, job: &str) -> Result<Vec<String>> {
        Ok(self
            .docs()
            .members
            .iter()
            .filter(|(f, j, _)| f == flow && j == job)
            .map(|(_, _, k)| k.clone())
            .collect())
    }

    async fn job_barrier(&self, flow: &str, job: &str) -> Result<JobBarrier> {
        let d = self.docs();
        let mut barrier = JobBarrier {
            listing_finished: d
                .jobs
                .get(&k2(flow, job))
                .is_some_and(|j| j.listing_finished.is_some()),
            members: 0,
            unrecorded: 0,
            counts: BTreeMap::new(),
        };
        for (_, _, key) in d.members.iter().filter(|(f, j, _)| f == flow && j == job) {
            barrier.members += 1;
            match d.records.get(&k2(flow, key)) {
                Some(r) => *barrier.counts.entry(r.status).or_default() += 1,
                None => barrier.unrecorded += 1,
            }
        }
        Ok(barrier)
    }
}
