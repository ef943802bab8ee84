//! A store wrapper for the runner tests: forwards every call to a [`MemoryStore`], counts the
//! calls by name, and writes checkpoint saves into a shared log (to order them against other
//! events).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ecm_bridge::model::Checkpoint;
use ecm_bridge::state::*;
use ecm_bridge::Result;

/// A shared log of what happened, in order.
pub type Log = Arc<Mutex<Vec<String>>>;

/// Counts the calls made to a [`MemoryStore`].
#[derive(Default)]
pub struct CountingStore {
    pub inner: MemoryStore,
    /// Checkpoint saves go here as `checkpoint {value}`.
    pub log: Log,
    calls: Mutex<BTreeMap<&'static str, usize>>,
    /// When set, the next `append_audit` of a `step` line fails, as a process killed at
    /// that moment would leave it unwritten (then the flag clears).
    pub lose_step_audit: std::sync::atomic::AtomicBool,
}

impl CountingStore {
    /// A store logging its checkpoint saves into `log`.
    pub fn with_log(log: Log) -> Self {
        CountingStore {
            log,
            ..CountingStore::default()
        }
    }

    fn count(&self, name: &'static str) {
        *self.calls.lock().unwrap().entry(name).or_default() += 1;
    }

    /// The calls so far, by name.
    pub fn calls(&self) -> BTreeMap<&'static str, usize> {
        self.calls.lock().unwrap().clone()
    }

    /// The number of calls so far.
    pub fn total(&self) -> usize {
        self.calls.lock().unwrap().values().sum()
    }

    /// Forgets the counts.
    pub fn reset(&self) {
        self.calls.lock().unwrap().clear();
    }
}

#[async_trait]
impl StateStore for CountingStore {
    async fn checkpoint(&self, flow: &str) -> Result<Option<Checkpoint>> {
        self.count("checkpoint");
        self.inner.checkpoint(flow).await
    }
    async fn set_checkpoint(&self, flow: &str, cp: &Checkpoint) -> Result<()> {
        self.count("set_checkpoint");
        self.log
            .lock()
            .unwrap()
            .push(format!("checkpoint {}", cp.0));
        self.inner.set_checkpoint(flow, cp).await
    }
    async fn append_audit(&self, e: &AuditEntry) -> Result<()> {
        self.count("append_audit");
        use std::sync::atomic::Ordering;
        if e.action == "step" && self.lose_step_audit.swap(false, Ordering::SeqCst) {
            return Err(ecm_bridge::Error::State(
                "killed before the audit line".into(),
            ));
        }
        self.inner.append_audit(e).await
    }
    async fn audit(&self, flow: Option<&str>) -> Result<Vec<AuditEntry>> {
        self.count("audit");
        self.inner.audit(flow).await
    }
}

#[async_trait]
impl DocumentStore for CountingStore {
    async fn save_record_audited(
        &self,
        record: &DocRecord,
        fence: Option<u64>,
        audit: &[AuditEntry],
    ) -> Result<bool> {
        self.count("save_record");
        self.inner.save_record_audited(record, fence, audit).await
    }
    async fn record(&self, flow: &str, key: &str) -> Result<Option<DocRecord>> {
        self.count("record");
        self.inner.record(flow, key).await
    }
    async fn records_by_status(&self, flow: &str, status: DocStatus) -> Result<Vec<DocRecord>> {
        self.count("records_by_status");
        self.inner.records_by_status(flow, status).await
    }
    async fn due_checks(&self, flow: &str, now: DateTime<Utc>) -> Result<Vec<DocRecord>> {
        self.count("due_checks");
        self.inner.due_checks(flow, now).await
    }
    async fn records_under(&self, flow: &str, path: &str) -> Result<Vec<DocRecord>> {
        self.count("records_under");
        self.inner.records_under(flow, path).await
    }
    async fn history(&self, flow: &str, key: &str) -> Result<Vec<HistoryEntry>> {
        self.count("history");
        self.inner.history(flow, key).await
    }
    async fn after_run(&self, flow: &str, run: RunId) -> Result<Vec<HistoryEntry>> {
        self.count("after_run");
        self.inner.after_run(flow, run).await
    }
    async fn begin_step(&self, flow: &str, key: &str, v: &str, name: &str) -> Result<BeginStep> {
        self.count("begin_step");
        self.inner.begin_step(flow, key, v, name).await
    }
    async fn finish_step_audited(
        &self,
        flow: &str,
        key: &str,
        v: &str,
        name: &str,
        output: &serde_json::Value,
        audit: &[AuditEntry],
    ) -> Result<bool> {
        self.count("finish_step");
        self.inner
            .finish_step_audited(flow, key, v, name, output, audit)
            .await
    }
    async fn fail_step(&self, flow: &str, key: &str, v: &str, name: &str, e: &str) -> Result<bool> {
        self.count("fail_step");
        self.inner.fail_step(flow, key, v, name, e).await
    }
    async fn await_step(
        &self,
        flow: &str,
        key: &str,
        v: &str,
        name: &str,
        output: &serde_json::Value,
    ) -> Result<bool> {
        self.count("await_step");
        self.inner.await_step(flow, key, v, name, output).await
    }
    async fn steps(&self, flow: &str, key: &str, v: &str) -> Result<Vec<StepRecord>> {
        self.count("steps");
        self.inner.steps(flow, key, v).await
    }
    async fn step_history(&self, flow: &str, key: &str, name: &str) -> Result<Vec<StepRecord>> {
        self.count("step_history");
        self.inner.step_history(flow, key, name).await
    }
    async fn begin_run(&self, flow: &str) -> Result<RunId> {
        self.count("begin_run");
        self.inner.begin_run(flow).await
    }
    async fn finish_run(
        &self,
        id: RunId,
        counts: &RunCounts,
        report: &serde_json::Value,
    ) -> Result<()> {
        self.count("finish_run");
        self.inner.finish_run(id, counts, report).await
    }
    async fn runs(&self, flow: &str) -> Result<Vec<RunRecord>> {
        self.count("runs");
        self.inner.runs(flow).await
    }
    async fn claim(
        &self,
        flow: &str,
        key: &str,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<ClaimOutcome> {
        self.count("claim");
        self.inner.claim(flow, key, owner, lease, now).await
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
        self.count("renew_claim");
        self.inner
            .renew_claim(flow, key, owner, token, lease, now)
            .await
    }
    async fn release_claim(&self, flow: &str, key: &str, owner: &str, token: u64) -> Result<bool> {
        self.count("release_claim");
        self.inner.release_claim(flow, key, owner, token).await
    }
    async fn current_claim(&self, flow: &str, key: &str) -> Result<Option<Claim>> {
        self.count("current_claim");
        self.inner.current_claim(flow, key).await
    }
    async fn partition_checkpoint(
        &self,
        flow: &str,
        partition: &str,
    ) -> Result<Option<PartitionCheckpoint>> {
        self.count("partition_checkpoint");
        self.inner.partition_checkpoint(flow, partition).await
    }
    async fn swap_checkpoint(
        &self,
        flow: &str,
        partition: &str,
        expected: Option<u64>,
        cp: &Checkpoint,
    ) -> Result<CasOutcome> {
        self.count("swap_checkpoint");
        self.inner
            .swap_checkpoint(flow, partition, expected, cp)
            .await
    }
    async fn add_to_job(&self, flow: &str, job: &str, key: &str) -> Result<()> {
        self.count("add_to_job");
        self.inner.add_to_job(flow, job, key).await
    }
    async fn finish_job_listing(&self, flow: &str, job: &str) -> Result<()> {
        self.count("finish_job_listing");
        self.inner.finish_job_listing(flow, job).await
    }
    async fn job(&self, flow: &str, job: &str) -> Result<Option<Job>> {
        self.count("job");
        self.inner.job(flow, job).await
    }
    async fn job_members(&self, flow: &str, job: &str) -> Result<Vec<String>> {
        self.count("job_members");
        self.inner.job_members(flow, job).await
    }
    async fn job_barrier(&self, flow: &str, job: &str) -> Result<JobBarrier> {
        self.count("job_barrier");
        self.inner.job_barrier(flow, job).await
    }
}

/// Asserts that `flow` ended settled in `store`: `n` records `done`, none in any other status,
/// and each of their steps done, once per document (the same steps for all `n`); answers the
/// steps by name with their counts. `what` prefixes the messages.
pub async fn assert_settled(
    store: &dyn DocumentStore,
    flow: &str,
    n: usize,
    what: &str,
) -> BTreeMap<String, usize> {
    let done = store
        .records_by_status(flow, DocStatus::Done)
        .await
        .unwrap();
    assert_eq!(done.len(), n, "{what}: records done");
    for status in DocStatus::ALL {
        if status != DocStatus::Done {
            let left = store.records_by_status(flow, status).await.unwrap();
            assert!(left.is_empty(), "{what}: {status}: {left:?}");
        }
    }
    let mut step_counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in &done {
        let version = r.source.version.clone().unwrap_or_default();
        let steps = store.steps(flow, &r.source.key(), &version).await.unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for s in &steps {
            assert_eq!(s.state, StepState::Done, "{what}: {}: {s:?}", r.source);
            assert!(
                seen.insert(s.name.clone()),
                "{what}: {}: a step twice",
                r.source
            );
            *step_counts.entry(s.name.clone()).or_default() += 1;
        }
    }
    assert!(!step_counts.is_empty(), "{what}: no steps");
    assert!(
        step_counts.values().all(|c| *c == n),
        "{what}: each step once per document: {step_counts:?}"
    );
    step_counts
}
