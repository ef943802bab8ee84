//! [`DocumentStore`]: the store contract of the core's second shape.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::records::{
    job_key, BeginStep, CasOutcome, Claim, ClaimOutcome, DocRecord, DocStatus, HistoryEntry, Job,
    JobBarrier, PartitionCheckpoint, RunCounts, RunId, RunRecord, StepRecord, STEP_FINALISE,
};
use super::{AuditEntry, StateStore};
use crate::error::Result;
use crate::model::Checkpoint;

/// One durable record per (flow, source document) with its history, steps with outputs,
/// runs, claims with fencing tokens, compare-and-set checkpoints per partition, and job
/// scopes. Every method is one atomic operation on the store; the conditional ones (`begin_*`,
/// `claim`, guarded saves, `swap_checkpoint`) are what lets several workers share one store.
///
/// Times that decide something (lease ends, due checks) are passed in as `now`, so that every
/// worker's decision is made against the clock it states and tests need no waiting.
#[async_trait]
pub trait DocumentStore: Send + Sync {
    // Records.

    /// Saves `record` under (its flow, its source key), and the history line of its source
    /// version for `record.run` (added, or replacing that run's line of the same version).
    /// The stored `created` of an existing record is kept; `path_lower` is filled from `path`
    /// when absent.
    ///
    /// With `fence: Some(token)` the save is accepted only while that token is the current,
    /// held claim of the key ([`DocumentStore::claim`]): when another worker has claimed the
    /// key since, or the claim was released, nothing is written and this returns `false`.
    /// With `None` the save is unconditional (one worker per store).
    async fn save_record(&self, record: &DocRecord, fence: Option<u64>) -> Result<bool> {
        self.save_record_audited(record, fence, &[]).await
    }

    /// Saves `record` as [`DocumentStore::save_record`] does and appends `audit` to the audit
    /// trail in the same transaction: both are kept or neither (a process killed between a
    /// separate append and save would leave an entry whose record says the work is still to
    /// do, and the rerun would audit it again). Under a refused fence nothing is appended.
    async fn save_record_audited(
        &self,
        record: &DocRecord,
        fence: Option<u64>,
        audit: &[AuditEntry],
    ) -> Result<bool>;

    /// The record of the source document `key` ([`crate::model::DocRef::key`]).
    async fn record(&self, flow: &str, key: &str) -> Result<Option<DocRecord>>;

    /// The records of `flow` in `status`, by key.
    async fn records_by_status(&self, flow: &str, status: DocStatus) -> Result<Vec<DocRecord>>;

    /// The `awaiting` records of `flow` whose `next_check` is at or before `now`, earliest
    /// first.
    async fn due_checks(&self, flow: &str, now: DateTime<Utc>) -> Result<Vec<DocRecord>>;

    /// The records at `path` or anywhere under it (a deleted folder finds all it held),
    /// compared through the path index ([`super::fold_path`]): case-insensitively, and
    /// `/a/b` does not find `/a/bc`. An empty path or `/` finds every record with a path.
    async fn records_under(&self, flow: &str, path: &str) -> Result<Vec<DocRecord>>;

    /// The history of the source document `key`, oldest first.
    async fn history(&self, flow: &str, key: &str) -> Result<Vec<HistoryEntry>>;

    /// What each document of `flow` looked like after run `run`: per document, its latest
    /// history line with a run ≤ `run` whose status [is settled at the
    /// target](DocStatus::is_settled_at_target): which version, at which target, or removed.
    /// Documents that had nothing at the target by then are absent. By key.
    async fn after_run(&self, flow: &str, run: RunId) -> Result<Vec<HistoryEntry>>;

    // Steps.

    /// Begins the step `name` of (`key`, `version`) if it is not begun: when it is absent,
    /// `failed` or `awaiting` it becomes `started` (attempts + 1; an awaiting step keeps its
    /// output so far) and this answers
    /// [`BeginStep::Began`]; when it is `started` or `done` nothing changes and this answers
    /// [`BeginStep::Exists`] with it. A `started` step found this way is in doubt: check the
    /// target, then [`DocumentStore::finish_step`] it (it happened) or
    /// [`DocumentStore::fail_step`] it and begin again.
    async fn begin_step(
        &self,
        flow: &str,
        key: &str,
        version: &str,
        name: &str,
    ) -> Result<BeginStep>;

    /// Marks a `started`, `failed` or `awaiting` step `done` with `output`. `false` (nothing changed)
    /// when the step is absent or already done.
    async fn finish_step(
        &self,
        flow: &str,
        key: &str,
        version: &str,
        name: &str,
        output: &serde_json::Value,
    ) -> Result<bool> {
        self.finish_step_audited(flow, key, version, name, output, &[])
            .await
    }

    /// [`DocumentStore::finish_step`], appending `audit` in the same transaction when the step
    /// changes (nothing when it was absent or done already): a process killed between a
    /// separate finish and append would leave the step done and its audit line missing.
    async fn finish_step_audited(
        &self,
        flow: &str,
        key: &str,
        version: &str,
        name: &str,
        output: &serde_json::Value,
        audit: &[AuditEntry],
    ) -> Result<bool>;

    /// Marks a `started` step `failed` with `error`. `false` (nothing changed) when it is
    /// absent, done or already failed.
    async fn fail_step(
        &self,
        flow: &str,
        key: &str,
        version: &str,
        name: &str,
        error: &str,
    ) -> Result<bool>;

    /// Marks a `started` step `awaiting` with its `output` so far: it ran and waits on
    /// something outside; a later [`DocumentStore::begin_step`] begins it again. `false`
    /// (nothing changed) when it is absent or not `started`.
    async fn await_step(
        &self,
        flow: &str,
        key: &str,
        version: &str,
        name: &str,
        output: &serde_json::Value,
    ) -> Result<bool>;

    /// The steps of (`key`, `version`) in the order they were first begun.
    async fn steps(&self, flow: &str, key: &str, version: &str) -> Result<Vec<StepRecord>>;

    /// Step `name` of every version of `key`, in the order they were first begun: what the
    /// document's earlier versions did (a workflow start in doubt must not take an earlier
    /// version's process for its own).
    async fn step_history(&self, flow: &str, key: &str, name: &str) -> Result<Vec<StepRecord>>;

    // Runs.

    /// Records that a run of `flow` begins, and returns its id: greater than every id this
    /// store gave before, for any flow.
    async fn begin_run(&self, flow: &str) -> Result<RunId>;

    /// Records that run `id` finished, with its counts and report. An error when the run is
    /// unknown or already finished.
    async fn finish_run(
        &self,
        id: RunId,
        counts: &RunCounts,
        report: &serde_json::Value,
    ) -> Result<()>;

    /// The runs of `flow`, oldest first.
    async fn runs(&self, flow: &str) -> Result<Vec<RunRecord>>;

    // Claims.

    /// Claims (flow, `key`) for `owner` until `now + lease`, if it is free: never claimed,
    /// released, or its lease ended at or before `now`. A new claim's token is one more than
    /// the key's previous one. Atomic: of two claimers at once exactly one gets it.
    async fn claim(
        &self,
        flow: &str,
        key: &str,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<ClaimOutcome>;

    /// Extends a claim to `now + lease`, only for its holder with its token (even after the
    /// lease ended, as long as nobody claimed the key since). `false` when refused.
    async fn renew_claim(
        &self,
        flow: &str,
        key: &str,
        owner: &str,
        token: u64,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool>;

    /// Gives a claim up (only its holder with its token); the key is free at once and keeps
    /// its token count. `false` when refused.
    async fn release_claim(&self, flow: &str, key: &str, owner: &str, token: u64) -> Result<bool>;

    /// The current claim of (flow, `key`), held or not (a released claim is absent).
    async fn current_claim(&self, flow: &str, key: &str) -> Result<Option<Claim>>;

    // Checkpoints.

    /// The checkpoint of one partition of `flow` (a feed may have several: one per root, per
    /// CS folder). Separate from [`StateStore::checkpoint`].
    async fn partition_checkpoint(
        &self,
        flow: &str,
        partition: &str,
    ) -> Result<Option<PartitionCheckpoint>>;

    /// Writes a partition's checkpoint if its stored version is `expected` (`None`: only if
    /// there is none yet).
    async fn swap_checkpoint(
        &self,
        flow: &str,
        partition: &str,
        expected: Option<u64>,
        checkpoint: &Checkpoint,
    ) -> Result<CasOutcome>;

    // Jobs.

    /// Adds the document `key` to `job` (created when new; adding twice is a no-op).
    async fn add_to_job(&self, flow: &str, job: &str, key: &str) -> Result<()>;

    /// Declares that `job`'s listing is finished (created when new; the first time is kept).
    async fn finish_job_listing(&self, flow: &str, job: &str) -> Result<()>;

    /// The job, when known.
    async fn job(&self, flow: &str, job: &str) -> Result<Option<Job>>;

    /// The keys of `job`'s members, sorted.
    async fn job_members(&self, flow: &str, job: &str) -> Result<Vec<String>>;

    /// Where `job` stands: listing finished, members, their statuses. See
    /// [`JobBarrier::ready`]. An unknown job has no members and an unfinished listing.
    async fn job_barrier(&self, flow: &str, job: &str) -> Result<JobBarrier>;

    /// Begins the job's finaliser if it is not begun: the step [`STEP_FINALISE`] of
    /// [`job_key`]`(job)`, so it runs once with [`DocumentStore::finish_step`] /
    /// [`DocumentStore::fail_step`] on that key and version `""`.
    async fn begin_finalise(&self, flow: &str, job: &str) -> Result<BeginStep> {
        self.begin_step(flow, &job_key(job), "", STEP_FINALISE)
            .await
    }

    /// Marks the job's finaliser done with `output` (see [`DocumentStore::finish_step`]).
    async fn finish_finalise(
        &self,
        flow: &str,
        job: &str,
        output: &serde_json::Value,
    ) -> Result<bool> {
        self.finish_step(flow, &job_key(job), "", STEP_FINALISE, output)
            .await
    }
}

/// Both contracts: what the runner will hold once it moves onto [`DocumentStore`]
/// (`Arc<dyn Store>`). Implemented for every type that implements both.
pub trait Store: StateStore + DocumentStore {}

impl<T: StateStore + DocumentStore + ?Sized> Store for T {}

/// `now + lease`, capped at the last instant of year 9999 (instead of overflowing, and so
/// that stored times keep one width and compare as text).
pub(crate) fn lease_end(now: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    let cap = DateTime::parse_from_rfc3339("9999-12-31T23:59:59.999999999Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    chrono::Duration::from_std(lease)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .map_or(cap, |t| t.min(cap))
}
