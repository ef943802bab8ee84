//! Several workers sharing one flow through one store ([`Flow::work`]).
//!
//! # How the work is shared
//! - **The lister.** One worker at a time holds the flow's lister lease (a claim on
//!   [`LISTER_KEY`]), renewed before each batch it lists. It reads the change feed from the
//!   last listed position and enqueues the documents in numbered batches: batch `n` is the job
//!   `@batch:{n}` ([`DocumentStore::add_to_job`], members are [`crate::model::DocRef::marker`]s), published
//!   by a compare-and-set of the partition checkpoint [`LISTED`] (batch number, feed position
//!   after it, whether the feed was read to its end). A lister whose lease passed loses that
//!   compare-and-set or its renewal, and stops listing; another worker takes the lease over
//!   when it ends and lists again from the last published batch (a batch half-enqueued by a
//!   lister that died is enqueued again: adding a member twice is a no-op). A deletion and an
//!   unreadable item of the feed are members too, settled under claims like any other
//!   document ([`member`]).
//! - **What earlier runs left** (due checks of `awaiting` documents, failures, writes in doubt,
//!   unfinished steps) is published by the lister as a batch of its own before the feed's,
//!   at most once every [`Worker::sweep_every`] over all workers (the time of the last one is
//!   in [`LISTED`]), and each such document is taken up by one worker under its claim, as
//!   [`Flow::run_once`] does at the start of a run.
//! - **Every worker** takes documents of the published batches that are not settled: it claims
//!   the document's key ([`DocumentStore::claim`]: one conditional write that never waits on
//!   another worker's row; a key held by someone else is passed over), fetches it from the
//!   source ([`crate::source::Source::fetch`]), and runs it through the one-worker path (record,
//!   transforms, write, steps, settle). Every record it saves carries the claim's fencing token
//!   ([`DocumentStore::save_record`] with `Some(token)`), and the claim is renewed right
//!   before the sink writes: a worker whose lease passed (paused, partitioned) and whose
//!   document another worker claimed since gets its late record refused and stops that
//!   document; the new holder found the record `pending` and asked the sink to find the write
//!   ([`crate::sink::Sink::find_existing`]) before writing, so the in-doubt check decides.
//!   A settled document is marked in its batch (the step named by its marker on
//!   [`job_key`]`("@batch:{n}")`), then its claim is released.
//! - **A worker that dies** keeps its claims until their leases end; then any worker claims
//!   those documents again (a new token) and finishes them.
//! - **The checkpoint moves only over finished work**: the partition checkpoint [`DONE`] is
//!   moved (compare-and-set, by whichever worker sees it first) to the end of batch `n` once
//!   every member of every batch up to `n` is settled.
//!
//! Times that decide (lease ends, the sweep's interval, due checks) are the worker's clock
//! ([`Worker::clock`], else the flow's).

mod lister;
mod member;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::{BoxStream, FuturesUnordered, StreamExt};
use serde::{Deserialize, Serialize};

use super::{lock, ClockFn, Flow, Report, Shared};
use crate::error::{Error, Result};
use crate::model::Checkpoint;
use crate::source::Item;
use crate::state::{job_key, AuditEntry, BeginStep, CasOutcome, DocRecord, StepState, LISTER_KEY};
use member::Member;

/// The partition checkpoint of the last batch the lister published ([`Flow::work`]).
pub const LISTED: &str = "@workers:listed";
/// The partition checkpoint over finished work: every batch up to the one it names is settled.
pub const DONE: &str = "@workers:done";

/// The job that holds batch `n`'s documents.
fn batch_job(n: u64) -> String {
    format!("@batch:{n}")
}

/// What [`LISTED`] and [`DONE`] hold (as JSON in the checkpoint).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Mark {
    /// The batch: the last published ([`LISTED`]) or the last of the finished run ([`DONE`]).
    batch: u64,
    /// The feed's position after that batch.
    cursor: Option<Checkpoint>,
    /// Whether the feed was read to its end when that batch was published.
    end: bool,
    /// In [`LISTED`]: the feed position after each published batch the checkpoint has not
    /// moved over yet, so whoever finishes one moves [`DONE`] to its end.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    after: Vec<(u64, Option<Checkpoint>)>,
    /// In [`LISTED`]: when the lister last published what earlier runs left (the sweep).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    swept: Option<DateTime<Utc>>,
}

/// What one worker did, returned by [`Worker::until_drained`] and [`Worker::run`].
#[derive(Debug, Clone, Default)]
pub struct WorkReport {
    /// The worker's owner name in the claims (its id and a suffix of this life).
    pub owner: String,
    /// The documents this worker took, as the one-worker [`Report`] counts them.
    pub report: Report,
    /// Documents this worker claimed and settled.
    pub taken: usize,
    /// Documents this worker had to give up: another worker claimed them after this one's
    /// lease passed, and this one's late record was refused.
    pub fenced: usize,
    /// Batches this worker published as the lister.
    pub batches_listed: u64,
    /// How many times this worker took the lister lease.
    pub lister_turns: u64,
}

/// One worker of a flow; see [`Flow::work`].
#[derive(Clone)]
pub struct Worker {
    flow: Flow,
    id: String,
    owner: String,
    lease: Duration,
    batch: usize,
    open: u64,
    poll: Duration,
    sweep: Duration,
    clock: Option<ClockFn>,
}

impl Flow {
    /// A worker named `worker_id` for this flow, sharing its store with the other workers of
    /// the flow (see the module docs of `runner::worker` in `DESIGN.md` and the README's
    /// "Several workers"). Start it with [`Worker::until_drained`] or [`Worker::run`]. The
    /// store must be one the workers share (PostgreSQL for several processes); each worker
    /// takes up to the flow's concurrency of documents at once.
    pub fn work(&self, worker_id: impl Into<String>) -> Worker {
        let id = worker_id.into();
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        let owner = format!(
            "{id}/{}-{nanos:x}-{:x}",
            std::process::id(),
            fastrand::u32(..)
        );
        Worker {
            flow: self.clone(),
            id,
            owner,
            lease: Duration::from_secs(30),
            batch: 64,
            open: 4,
            poll: Duration::from_millis(50),
            sweep: Duration::from_secs(60),
            clock: None,
        }
    }
}

/// The claim a document is taken under, for the fenced saves of the one-worker path.
#[derive(Clone)]
pub(super) struct Held {
    key: String,
    owner: String,
    token: u64,
    lease: Duration,
    clock: ClockFn,
    fenced: Arc<AtomicBool>,
}

tokio::task_local! {
    static HELD: Held;
}

/// The fencing token of the claim the current document is taken under (`None`: one worker,
/// unconditional saves).
pub(super) fn fence() -> Option<u64> {
    HELD.try_with(|h| h.token).ok()
}

/// The error of a save the store refused under [`fence`]: the document's claim passed to
/// another worker.
pub(super) fn refused(record: &DocRecord) -> Error {
    let _ = HELD.try_with(|h| h.fenced.store(true, Ordering::SeqCst));
    Error::State(format!(
        "flow {}: save of {} ({}) refused: its claim passed to another worker (fence {:?})",
        record.flow,
        record.source,
        record.status,
        fence()
    ))
}

/// Before a sink writes: renews the claim the document is taken under, and refuses to go on
/// when it passed to another worker. Without a claim (one worker), nothing.
pub(super) async fn still_held(flow: &Flow) -> Result<()> {
    let Ok(h) = HELD.try_with(Clone::clone) else {
        return Ok(());
    };
    let inner = &flow.inner;
    let ok = inner
        .state
        .renew_claim(&inner.name, &h.key, &h.owner, h.token, h.lease, (h.clock)())
        .await?;
    if ok {
        return Ok(());
    }
    h.fenced.store(true, Ordering::SeqCst);
    Err(Error::State(format!(
        "flow {}: {} not written: its claim passed to another worker (fence {})",
        inner.name, h.key, h.token
    )))
}

/// The lister's side of one worker: its lease and the feed it is reading.
#[derive(Default)]
struct Lister {
    token: Option<u64>,
    feed: Option<BoxStream<'static, Result<Item>>>,
    /// The feed was read to its end in this worker's turn (published with `end`).
    at_end: bool,
}

/// The documents in flight; aborted when the worker ends early (an error, a failpoint), as a
/// crash would leave them: claimed until their leases end.
struct Tasks(FuturesUnordered<tokio::task::JoinHandle<(String, Result<Taken>)>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in self.0.iter() {
            t.abort();
        }
    }
}

/// How a taken document ended.
enum Taken {
    Settled,
    Fenced,
    /// Not settled now (a deletion found a document it removes claimed by another worker):
    /// its claim is released and it is taken again later.
    Later,
}

impl Worker {
    /// The lease of every claim this worker takes (documents and the lister), renewed while it
    /// works on them. A worker that dies holds its documents this long. Default 30 s.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How many documents the lister puts in one batch (at least; a batch ends at a feed
    /// position). Default 64.
    pub fn batch(mut self, n: usize) -> Self {
        self.batch = n.max(1);
        self
    }

    /// How many batches may be published and not finished at once (bounds the queue; the
    /// lister waits past it). Default 4.
    pub fn open_batches(mut self, n: u64) -> Self {
        self.open = n.max(1);
        self
    }

    /// How often an idle worker looks at the queue again. Default 50 ms.
    pub fn poll(mut self, every: Duration) -> Self {
        self.poll = every;
        self
    }

    /// How often, at most, what earlier runs left is taken up (over all workers of the flow):
    /// due checks of `awaiting` documents, `failed` documents, writes in doubt (`pending`) and
    /// unfinished steps (`written`). The lister publishes them as a batch before the feed's
    /// when the last such batch is older than this; a failed document is thus tried again
    /// about this often. Default 60 s.
    pub fn sweep_every(mut self, every: Duration) -> Self {
        self.sweep = every;
        self
    }

    /// The clock lease decisions are made by (tests: move it forward instead of waiting).
    /// Default: the flow's ([`super::FlowBuilder::clock`]).
    pub fn clock(mut self, clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// The worker's owner name in the claims: its id and a suffix unique to this life, so a
    /// restarted worker's earlier writes are fenced off.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Works until the feed was read to its end and every published batch is settled (by
    /// any worker). An error when the store or the source fails, or a failpoint stops the
    /// worker (its claims are then kept until their leases end, as a crash would).
    pub async fn until_drained(self) -> Result<WorkReport> {
        self.go(None::<std::future::Pending<()>>).await
    }

    /// Works until `stop` completes (checked between documents; the documents in flight
    /// finish), reading the feed again every [`Worker::poll`] once it reached its end.
    pub async fn run(self, stop: impl Future<Output = ()>) -> Result<WorkReport> {
        self.go(Some(stop)).await
    }

    fn now(&self) -> DateTime<Utc> {
        match &self.clock {
            Some(c) => c(),
            None => self.flow.now(),
        }
    }

    fn clock_fn(&self) -> ClockFn {
        match &self.clock {
            Some(c) => c.clone(),
            None => {
                let flow = self.flow.clone();
                Arc::new(move || flow.now())
            }
        }
    }

    async fn go(self, stop: Option<impl Future<Output = ()>>) -> Result<WorkReport> {
        let flow = self.flow.clone();
        let inner = &flow.inner;
        let report: Shared = Arc::new(Mutex::new(Report {
            flow: inner.name.clone(),
            dry_run: inner.dry_run,
            ..Report::default()
        }));
        if inner.dry_run {
            return Err(Error::Config(format!(
                "flow {}: a dry run cannot be shared between workers",
                inner.name
            )));
        }
        lock(&report).run = Some(inner.state.begin_run(&inner.name).await?);
        tracing::info!(flow = %inner.name, worker = %self.id, owner = %self.owner, "worker starts");
        let mut out = WorkReport {
            owner: self.owner.clone(),
            ..WorkReport::default()
        };
        let mut lister = Lister::default();
        let mut members: HashMap<u64, Vec<String>> = HashMap::new();
        let mut mine: HashSet<String> = HashSet::new();
        let mut busy: HashMap<String, std::time::Instant> = HashMap::new();
        // Each document is a task of its own: it holds a store connection only while one of
        // its calls runs, and goes on while this loop waits for the store.
        let mut inflight = Tasks(FuturesUnordered::new());
        let service = stop.is_some();
        let stop = async move {
            match stop {
                Some(s) => s.await,
                None => std::future::pending().await,
            }
        };
        futures::pin_mut!(stop);
        let mut stopping = false;
        loop {
            if !stopping {
                self.lister_turn(&mut lister, &mut out, service, &report)
                    .await?;
            }
            let (listed, _) = self.mark(LISTED).await?;
            let done = self.advance_done(&listed, &mut members).await?;
            let mut claimed = 0;
            if !stopping && inflight.0.len() < inner.concurrency {
                for (batch, marker, claim) in self
                    .claim_some(
                        &done,
                        &listed,
                        inner.concurrency - inflight.0.len(),
                        &mut members,
                        &mine,
                        &mut busy,
                    )
                    .await?
                {
                    mine.insert(marker.clone());
                    claimed += 1;
                    let (w, report) = (self.clone(), report.clone());
                    inflight.0.push(tokio::spawn(async move {
                        w.take(batch, marker, claim, &report).await
                    }));
                }
            }
            if inflight.0.is_empty() && claimed == 0 {
                let drained = listed.end && done.batch >= listed.batch;
                if stopping || (!service && drained) {
                    break;
                }
                tokio::select! {
                    _ = &mut stop => stopping = true,
                    _ = tokio::time::sleep(self.poll) => {}
                }
                continue;
            }
            tokio::select! {
                r = inflight.0.next() => {
                    if let Some(joined) = r {
                        let (marker, r) = joined.map_err(|e| {
                            Error::State(format!("flow {}: a document's task ended: {e}", inner.name))
                        })?;
                        mine.remove(&marker);
                        match r? {
                            Taken::Settled => out.taken += 1,
                            Taken::Fenced => out.fenced += 1,
                            Taken::Later => {
                                busy.insert(marker, std::time::Instant::now() + self.poll * 10);
                            }
                        }
                    }
                }
                _ = &mut stop, if !stopping => stopping = true,
                _ = tokio::time::sleep(self.poll) => {}
            }
        }
        if let Some(token) = lister.token {
            inner
                .state
                .release_claim(&inner.name, LISTER_KEY, &self.owner, token)
                .await?;
        }
        out.report = lock(&report).clone();
        if let Some(run) = out.report.run {
            let json = serde_json::to_value(&out.report)
                .map_err(|e| Error::State(format!("run {run}: report as JSON: {e}")))?;
            inner
                .state
                .finish_run(run, &out.report.counts(), &json)
                .await?;
        }
        tracing::info!(flow = %inner.name, worker = %self.id, taken = out.taken, fenced = out.fenced, "worker ends");
        Ok(out)
    }

    /// A partition checkpoint as a [`Mark`], with its version.
    async fn mark(&self, partition: &str) -> Result<(Mark, Option<u64>)> {
        let inner = &self.flow.inner;
        match inner
            .state
            .partition_checkpoint(&inner.name, partition)
            .await?
        {
            None => Ok((Mark::default(), None)),
            Some(p) => {
                let m = serde_json::from_str(&p.checkpoint.0).map_err(|e| {
                    Error::State(format!(
                        "flow {}: checkpoint {partition} unreadable: {e}",
                        inner.name
                    ))
                })?;
                Ok((m, Some(p.version)))
            }
        }
    }

    async fn swap(&self, partition: &str, expected: Option<u64>, mark: &Mark) -> Result<bool> {
        Ok(self.swap_to(partition, expected, mark).await?.is_some())
    }

    /// A compare-and-set of a partition checkpoint: its new version, `None` when refused.
    async fn swap_to(
        &self,
        partition: &str,
        expected: Option<u64>,
        mark: &Mark,
    ) -> Result<Option<u64>> {
        let inner = &self.flow.inner;
        let json = serde_json::to_string(mark)
            .map_err(|e| Error::State(format!("checkpoint {partition} as JSON: {e}")))?;
        let out = inner
            .state
            .swap_checkpoint(&inner.name, partition, expected, &Checkpoint(json))
            .await?;
        Ok(match out {
            CasOutcome::Stored(v) => Some(v),
            CasOutcome::Stale(_) => None,
        })
    }

    /// The markers settled in batch `n`.
    async fn settled(&self, n: u64) -> Result<BTreeSet<String>> {
        let inner = &self.flow.inner;
        Ok(inner
            .state
            .steps(&inner.name, &job_key(&batch_job(n)), "")
            .await?
            .into_iter()
            .filter(|s| s.state == StepState::Done)
            .map(|s| s.name)
            .collect())
    }

    async fn members_of(
        &self,
        n: u64,
        cache: &mut HashMap<u64, Vec<String>>,
    ) -> Result<Vec<String>> {
        if let Some(m) = cache.get(&n) {
            return Ok(m.clone());
        }
        let inner = &self.flow.inner;
        let m = inner.state.job_members(&inner.name, &batch_job(n)).await?;
        cache.insert(n, m.clone());
        Ok(m)
    }

    /// Moves [`DONE`] over every batch after it that is settled; returns it as it stands.
    async fn advance_done(
        &self,
        listed: &Mark,
        cache: &mut HashMap<u64, Vec<String>>,
    ) -> Result<Mark> {
        loop {
            let (done, version) = self.mark(DONE).await?;
            let next = done.batch + 1;
            if next > listed.batch {
                return Ok(done);
            }
            let members = self.members_of(next, cache).await?;
            let settled = self.settled(next).await?;
            if !members.iter().all(|m| settled.contains(m)) {
                return Ok(done);
            }
            let moved = Mark {
                batch: next,
                cursor: Self::batch_cursor(next, listed),
                end: next == listed.batch && listed.end,
                after: Vec::new(),
                swept: None,
            };
            self.swap(DONE, version, &moved).await?;
            cache.remove(&next);
            let inner = &self.flow.inner;
            if let Some(cp) = &moved.cursor {
                tracing::debug!(flow = %inner.name, batch = next, checkpoint = %cp.0, "checkpoint moves over a finished batch");
            }
        }
    }

    /// The feed position after batch `n`, as the lister published it.
    fn batch_cursor(n: u64, listed: &Mark) -> Option<Checkpoint> {
        if n == listed.batch {
            return listed.cursor.clone();
        }
        listed
            .after
            .iter()
            .find(|(b, _)| *b == n)
            .and_then(|(_, c)| c.clone())
    }

    /// Claims up to `want` unsettled documents of the published, unfinished batches.
    async fn claim_some(
        &self,
        done: &Mark,
        listed: &Mark,
        want: usize,
        cache: &mut HashMap<u64, Vec<String>>,
        mine: &HashSet<String>,
        busy: &mut HashMap<String, std::time::Instant>,
    ) -> Result<Vec<(u64, String, crate::state::Claim)>> {
        let inner = &self.flow.inner;
        let mut got = Vec::new();
        let now = std::time::Instant::now();
        busy.retain(|_, until| *until > now);
        for n in done.batch + 1..=listed.batch {
            let members = self.members_of(n, cache).await?;
            let settled = self.settled(n).await?;
            let mut open: Vec<&String> = members
                .iter()
                .filter(|m| !settled.contains(*m) && !mine.contains(*m) && !busy.contains_key(*m))
                .collect();
            // Workers start at different places of a batch, so they seldom try the same key.
            if !open.is_empty() {
                let at = fastrand::usize(..open.len());
                open.rotate_left(at);
            }
            for marker in open {
                if got.len() >= want {
                    return Ok(got);
                }
                let Some(m) = Member::parse(marker) else {
                    continue;
                };
                // A deletion waits for every batch before its own, so that it finds the
                // records of the documents listed before it.
                if m.waits_for_earlier() && n > done.batch + 1 {
                    continue;
                }
                let outcome = inner
                    .state
                    .claim(
                        &inner.name,
                        &m.claim_key(),
                        &self.owner,
                        self.lease,
                        self.now(),
                    )
                    .await?;
                match outcome.claimed() {
                    Some(c) => got.push((n, marker.clone(), c.clone())),
                    // Another worker's: not asked again for a while (it is settled by then,
                    // or its holder died and the lease ends later anyway).
                    None => {
                        busy.insert(marker.clone(), now + self.poll * 10);
                    }
                }
            }
        }
        Ok(got)
    }

    /// Takes one claimed document through the one-worker path under its claim, then marks it
    /// settled in its batch and releases the claim.
    async fn take(
        &self,
        batch: u64,
        marker: String,
        claim: crate::state::Claim,
        report: &Shared,
    ) -> (String, Result<Taken>) {
        let r = self.take_inner(batch, &marker, claim, report).await;
        (marker, r)
    }

    async fn take_inner(
        &self,
        batch: u64,
        marker: &str,
        claim: crate::state::Claim,
        report: &Shared,
    ) -> Result<Taken> {
        let flow = &self.flow;
        let inner = &flow.inner;
        let member = Member::parse(marker)
            .ok_or_else(|| Error::State(format!("batch {batch}: member {marker:?} unreadable")))?;
        let held = Held {
            key: claim.key.clone(),
            owner: self.owner.clone(),
            token: claim.token,
            lease: self.lease,
            clock: self.clock_fn(),
            fenced: Arc::new(AtomicBool::new(false)),
        };
        // Begun in its batch under the claim: a member another worker settled after this one
        // read the batch is not taken twice (a failure is not retried twice).
        let job = job_key(&batch_job(batch));
        if let BeginStep::Exists(s) = inner
            .state
            .begin_step(&inner.name, &job, "", marker)
            .await?
        {
            if s.state == StepState::Done {
                inner
                    .state
                    .release_claim(&inner.name, &claim.key, &self.owner, claim.token)
                    .await?;
                return Ok(Taken::Settled);
            }
        }
        let fenced = held.fenced.clone();
        let work = HELD.scope(held.clone(), self.take_member(member, &held, report));
        futures::pin_mut!(work);
        // Renewed while it works, a third of the lease at a time. Both are polled together:
        // a renewal waits for the document's own save to commit (the claim row), so the save
        // must go on meanwhile.
        let mut renew = tokio::time::interval(self.lease / 3);
        renew.tick().await;
        let renewing = async {
            loop {
                renew.tick().await;
                let ok = inner
                    .state
                    .renew_claim(
                        &inner.name,
                        &claim.key,
                        &self.owner,
                        claim.token,
                        self.lease,
                        self.now(),
                    )
                    .await?;
                if !ok {
                    tracing::warn!(flow = %inner.name, doc = %marker, "claim lost while working; its saves will be refused");
                }
            }
        };
        let result: Result<bool> = tokio::select! {
            r = &mut work => r,
            e = renewing => e,
        };
        match result {
            Err(e) if fenced.load(Ordering::SeqCst) => {
                tracing::warn!(flow = %inner.name, doc = %marker, error = %e.chain(), "fenced: another worker holds the document now");
                Ok(Taken::Fenced)
            }
            Err(e) => Err(e),
            Ok(false) => {
                inner
                    .state
                    .release_claim(&inner.name, &claim.key, &self.owner, claim.token)
                    .await?;
                Ok(Taken::Later)
            }
            Ok(true) => {
                let out = serde_json::json!({ "worker": self.owner, "token": claim.token });
                inner
                    .state
                    .finish_step(&inner.name, &job, "", marker, &out)
                    .await?;
                inner
                    .state
                    .release_claim(&inner.name, &claim.key, &self.owner, claim.token)
                    .await?;
                Ok(Taken::Settled)
            }
        }
    }
}

/// Saves `record` under the claim the current document is taken under (unconditionally with
/// one worker); a refused save is an error that stops the document ([`refused`]).
pub(super) async fn save(flow: &Flow, record: &DocRecord) -> Result<()> {
    if flow.inner.state.save_record(record, fence()).await? {
        Ok(())
    } else {
        Err(refused(record))
    }
}

/// [`save`] with the audit entries of the outcome, in the same transaction
/// ([`crate::state::DocumentStore::save_record_audited`]); a refused fence appends nothing.
pub(super) async fn save_audited(
    flow: &Flow,
    record: &DocRecord,
    audit: &[AuditEntry],
) -> Result<()> {
    if flow
        .inner
        .state
        .save_record_audited(record, fence(), audit)
        .await?
    {
        Ok(())
    } else {
        Err(refused(record))
    }
}
