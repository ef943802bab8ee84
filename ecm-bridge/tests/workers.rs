//! Several workers sharing one flow through one PostgreSQL store ([`Flow::work`]): four
//! workers over `archive_on_approval` on the sandbox (tasks of this process, and separate
//! worker processes killed with SIGKILL and restarted), a worker paused past its lease whose
//! late record is fenced, a lister handover, what earlier runs left taken up by one worker
//! (a failure retried, an awaiting step checked when due), and a deletion settled under the
//! claim of the document it removes.
//!
//! The server is `ECM_PG_URL` when set, else a throwaway cluster (`.ci/pg-cluster`); without
//! either the tests say SKIPPED and pass (and fail under `CI=true`). The short forms run by
//! default; `ECM_WORKERS_FULL=1` runs the issue's full forms (2,000 files, 20 kills).
#![cfg(feature = "postgres")]

mod support;

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use dropbox_client::models::files::{CommitInfo, WriteMode};
use ecm_bridge::flows::archive_on_approval::{Approval, ArchiveOnApproval, Marking};
use ecm_bridge::model::Document;
use ecm_bridge::rules::Rules;
use ecm_bridge::runner::{
    Flow, RetryPolicy, Step as FlowStep, StepInput, StepOutcome, WorkReport, WORKERS_DONE,
    WORKERS_LISTED,
};
use ecm_bridge::sink::{Receipt, Sink, WriteContext};
use ecm_bridge::source::{Change, Source};
use ecm_bridge::state::{
    pg_testing, DocStatus, DocumentStore, PostgresOptions, PostgresStore, Store,
};
use futures::{StreamExt, TryStreamExt};
use sandbox::SandboxConfig;
use support::mem::{doc, Behaviour, Feed, MemSink, MemSource};
use tokio::sync::Notify;

/// The governance of every archived file (the benches' rules).
const RULES: &str = r#"
[[rule]]
name = "worker records"
rm_class = "MKT-01 Marketing Records"
[rule.categories."Document Governance"]
"Source System" = "Dropbox"
"Source Path" = "{source_path}"
"Document Type" = "Marketing"
[[rule.permissions]]
member = "Records Managers"
permissions = ["see", "see_contents"]
"#;
const ROOT: &str = "/Workers";
const FLOW: &str = "archive_on_approval";

fn full() -> bool {
    std::env::var("ECM_WORKERS_FULL").is_ok_and(|v| v == "1")
}

/// A schema of this test's own on the test server.
struct Pg {
    url: String,
    schema: String,
}

impl Pg {
    fn new(test: &str) -> Option<Pg> {
        let url = pg_testing::server_url(test)?;
        let schema = format!(
            "w{}_{}_{}",
            std::process::id(),
            Utc::now().timestamp_subsec_micros(),
            test
        );
        Some(Pg { url, schema })
    }

    async fn store(&self) -> Arc<PostgresStore> {
        let options = PostgresOptions {
            schema: Some(self.schema.clone()),
            pool_size: 8,
        };
        Arc::new(
            PostgresStore::connect_with(&self.url, &options)
                .await
                .unwrap(),
        )
    }
}

fn dropbox(sandbox: &sandbox::Sandbox) -> dropbox_client::Client {
    dropbox_client::Client::builder()
        .base_url(sandbox.dropbox_url().parse().unwrap())
        .access_token("sandbox-token")
        .build()
        .unwrap()
}

fn cs(sandbox: &sandbox::Sandbox) -> contentserver_client::Client {
    contentserver_client::Client::builder(sandbox.contentserver_url())
        .credentials(contentserver_client::Credentials::password(
            "admin", "admin",
        ))
        .build()
        .unwrap()
}

/// `n` small files, each with its own bytes, in `ROOT/Approved`.
async fn seed(sandbox: &sandbox::Sandbox, n: usize) {
    let dropbox = dropbox(sandbox);
    futures::stream::iter(0..n)
        .map(|i| {
            let dropbox = dropbox.clone();
            async move {
                let path = format!("{ROOT}/Approved/file-{i:05}.bin");
                let commit = CommitInfo::new(path).mode(WriteMode::Overwrite);
                let body = Bytes::from(format!("file {i} of the worker test\n").repeat(8));
                dropbox.files().upload_bytes(commit, body).await
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
}

/// One worker's flow: its own clients, the shared store.
fn archive(sandbox: &sandbox::Sandbox, store: Arc<dyn Store>) -> Flow {
    ArchiveOnApproval::new(dropbox(sandbox), cs(sandbox), store)
        .source_root(ROOT)
        .approval(Approval::default().folder("**/Approved"))
        .cs_folder(None, "Workers")
        .rules(Rules::from_toml(RULES).unwrap())
        .marking(Marking::default().tag("archived"))
        .concurrency(8)
        .retry(RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(100),
            multiplier: 2,
            jitter: false,
        })
        .build()
        .unwrap()
}

/// Every file once in CS with one version; every record done with each step done once; the
/// checkpoint over every batch; each file tagged.
async fn assert_end_state(sandbox: &sandbox::Sandbox, store: &PostgresStore, n: usize) {
    let cs = cs(sandbox);
    let ews = cs.nodes().enterprise_workspace().await.unwrap();
    let folder = cs
        .nodes()
        .resolve_path(ews.id, &["Workers", "Approved"])
        .await
        .unwrap()
        .expect("the CS folder");
    let children: Vec<_> = cs
        .nodes()
        .children(folder.id)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    let names: BTreeSet<String> = children.iter().map(|c| c.name.clone()).collect();
    assert_eq!(children.len(), n, "documents in CS");
    assert_eq!(names.len(), n, "one document per file");
    let versions = futures::stream::iter(children.iter().map(|c| c.id))
        .map(|id| {
            let cs = cs.clone();
            async move { (id, cs.documents().versions(id).send().await.unwrap().len()) }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    for (id, v) in versions {
        assert_eq!(v, 1, "node {id}: versions");
    }

    support::store::assert_settled(store, FLOW, n, "workers").await;
    let listed = store
        .partition_checkpoint(FLOW, WORKERS_LISTED)
        .await
        .unwrap()
        .unwrap();
    let moved = store
        .partition_checkpoint(FLOW, WORKERS_DONE)
        .await
        .unwrap()
        .unwrap();
    let batch = |c: &ecm_bridge::model::Checkpoint| {
        serde_json::from_str::<serde_json::Value>(&c.0).unwrap()["batch"].clone()
    };
    assert_eq!(
        batch(&moved.checkpoint),
        batch(&listed.checkpoint),
        "checkpoint"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_workers_archive_every_file_once() {
    let Some(pg) = Pg::new("four") else { return };
    let n = if full() { 2000 } else { 500 };
    let sandbox = sandbox::start(SandboxConfig::new()).await.unwrap();
    seed(&sandbox, n).await;
    let store = pg.store().await;
    let started = std::time::Instant::now();
    let mut stores = Vec::new();
    for _ in 0..4 {
        // A store (pool) per worker, as separate processes have.
        stores.push(pg.store().await);
    }
    let workers: Vec<_> = stores
        .into_iter()
        .enumerate()
        .map(|(i, store)| {
            let flow = archive(&sandbox, store);
            tokio::spawn(async move { flow.work(format!("w{i}")).batch(32).until_drained().await })
        })
        .collect();
    let mut taken = 0;
    let mut listers = 0;
    for w in workers {
        let out = w.await.unwrap().unwrap();
        assert_eq!(out.fenced, 0, "{out:?}");
        taken += out.taken;
        listers += out.lister_turns;
    }
    eprintln!("four workers, {n} files: {:?}", started.elapsed());
    // A document settled by one worker just after another read the batch may be claimed
    // again: that take finds its record done and writes nothing (the counts below).
    assert!(taken >= n, "documents taken over all workers: {taken}");
    assert!(listers >= 1);
    // Each marking step ran once: one tag per file.
    let stats = sandbox.dropbox_stats().snapshot();
    let tags: u64 = stats["routes"]
        .as_object()
        .map(|r| {
            r.iter()
                .filter(|(k, _)| k.contains("tags/add"))
                .filter_map(|(_, v)| v.as_u64())
                .sum()
        })
        .unwrap_or(0);
    assert_eq!(tags, n as u64, "tags added: {stats}");
    assert_end_state(&sandbox, &store, n).await;
}

/// The shared clock of the in-memory tests: the system's plus an offset the test moves.
#[derive(Clone, Default)]
struct Clock(Arc<AtomicI64>);

impl Clock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.0.load(Ordering::SeqCst))
    }
    fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
    fn f(&self) -> impl Fn() -> DateTime<Utc> + Send + Sync + 'static {
        let c = self.clone();
        move || c.now()
    }
}

/// A sink that writes (the bytes land), then holds one document's write until released: a
/// worker paused after its write, before its record.
struct PausedAfterWrite {
    inner: Arc<MemSink>,
    id: String,
    entered: Notify,
    go: Notify,
    held: AtomicUsize,
}

#[async_trait]
impl Sink for PausedAfterWrite {
    async fn write(&self, doc: &Document, ctx: &WriteContext) -> ecm_bridge::Result<Receipt> {
        let r = self.inner.write(doc, ctx).await?;
        if doc.source.id == self.id && self.held.fetch_add(1, Ordering::SeqCst) == 0 {
            self.entered.notify_one();
            self.go.notified().await;
        }
        Ok(r)
    }
    async fn find_existing(
        &self,
        doc: &Document,
        ctx: &WriteContext,
    ) -> ecm_bridge::Result<Option<Receipt>> {
        self.inner.find_existing(doc, ctx).await
    }
    fn describe(&self, doc: &Document) -> String {
        self.inner.describe(doc)
    }
}

fn mem_flow(
    source: Arc<MemSource>,
    sink: Arc<dyn Sink>,
    store: Arc<dyn Store>,
    clock: &Clock,
) -> Flow {
    Flow::builder("mem")
        .source_arc(source)
        .sink_arc(sink)
        .state(store)
        .clock(clock.f())
        .retry(support::mem::fast())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_paused_past_its_lease_has_its_late_record_refused() {
    let Some(pg) = Pg::new("fence") else { return };
    let store = pg.store().await;
    let opens = Arc::new(AtomicUsize::new(0));
    let source = MemSource::new(vec![vec![doc("a", "1", &opens)]]);
    let mem = Arc::new(MemSink::default());
    let sink = Arc::new(PausedAfterWrite {
        inner: mem.clone(),
        id: "id:a".into(),
        entered: Notify::new(),
        go: Notify::new(),
        held: AtomicUsize::new(0),
    });
    let clock = Clock::default();
    let lease = Duration::from_secs(30);
    // One flow per worker, as in separate processes (a flow's in-process key locks would
    // otherwise hold worker 2 back).
    let flow = mem_flow(source.clone(), sink.clone(), store.clone(), &clock);

    // Worker 1 writes `a` and pauses before recording it.
    let w1 = tokio::spawn({
        let flow = mem_flow(source.clone(), sink.clone(), store.clone(), &clock);
        let clock = clock.clone();
        async move {
            flow.work("w1")
                .lease(lease)
                .clock(clock.f())
                .until_drained()
                .await
        }
    });
    sink.entered.notified().await;
    let before = store
        .current_claim("mem", "dropbox:id:a")
        .await
        .unwrap()
        .unwrap();

    // Its lease passes; worker 2 takes `a` over, finds the write in doubt and adopts it.
    clock.advance(31);
    let out2 = flow
        .work("w2")
        .lease(lease)
        .clock(clock.f())
        .until_drained()
        .await
        .unwrap();
    assert_eq!(out2.taken, 1);
    let after = store.current_claim("mem", "dropbox:id:a").await.unwrap();
    assert!(after.is_none(), "worker 2 released its claim: {after:?}");
    let rec = store.record("mem", "dropbox:id:a").await.unwrap().unwrap();
    assert_eq!(rec.status, DocStatus::Done);

    // Worker 1 wakes: its late `written` record is refused, and nothing is written twice.
    sink.go.notify_one();
    let out1 = w1.await.unwrap().unwrap();
    assert_eq!((out1.taken, out1.fenced), (0, 1), "{out1:?}");
    assert_eq!(mem.copies("id:a"), 1, "one write at the target");
    let rec2 = store.record("mem", "dropbox:id:a").await.unwrap().unwrap();
    assert_eq!(rec2.status, DocStatus::Done, "the late record did not land");
    assert_eq!(rec2.updated, rec.updated);
    assert!(
        before.token
            < store
                .claim("mem", "dropbox:id:a", "probe", lease, clock.now())
                .await
                .unwrap()
                .claimed()
                .unwrap()
                .token
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lister_that_stops_is_taken_over_after_its_lease() {
    let Some(pg) = Pg::new("handover") else {
        return;
    };
    let store = pg.store().await;
    let opens = Arc::new(AtomicUsize::new(0));
    let pages: Vec<Vec<Document>> = (0..5)
        .map(|p| {
            (0..4)
                .map(|i| doc(&format!("p{p}d{i}"), "1", &opens))
                .collect()
        })
        .collect();
    let source = MemSource::new(pages);
    let sink = Arc::new(MemSink::default());
    let clock = Clock::default();
    let lease = Duration::from_secs(30);
    let flow = mem_flow(source.clone(), sink.clone(), store.clone(), &clock);
    // Worker 1 stops (as a crash would) at its first write, holding the lister lease.
    let stopping = Flow::builder("mem")
        .source_arc(source.clone())
        .sink_arc(sink.clone())
        .state(store.clone())
        .clock(clock.f())
        .failpoint(Arc::new(|at| {
            at == ecm_bridge::runner::Failpoint::BeforeWrite
        }))
        .build()
        .unwrap();
    let e = stopping
        .work("w1")
        .lease(lease)
        .batch(4)
        .clock(clock.f())
        .until_drained()
        .await
        .unwrap_err();
    assert!(matches!(e, ecm_bridge::Error::Stopped(_)), "{e}");
    let lister = store
        .current_claim("mem", ecm_bridge::state::LISTER_KEY)
        .await
        .unwrap()
        .unwrap();
    assert!(lister.owner.starts_with("w1/"), "{lister:?}");

    // Before its lease ends nobody lists; after it, worker 2 takes the lister over.
    clock.advance(31);
    let out = flow
        .work("w2")
        .lease(lease)
        .batch(4)
        .clock(clock.f())
        .until_drained()
        .await
        .unwrap();
    assert_eq!(out.lister_turns, 1);
    assert_eq!(
        out.batches_listed, 4,
        "w1 published the first of five batches"
    );
    assert_eq!(out.taken, 20);
    for p in 0..5 {
        for i in 0..4 {
            assert_eq!(sink.copies(&format!("id:p{p}d{i}")), 1, "p{p}d{i}");
        }
    }
    let done = store
        .partition_checkpoint("mem", WORKERS_DONE)
        .await
        .unwrap()
        .unwrap();
    let mark: serde_json::Value = serde_json::from_str(&done.checkpoint.0).unwrap();
    assert_eq!(mark["batch"], 5);
    assert_eq!(
        mark["cursor"], "p4",
        "the checkpoint is the feed's last position"
    );
}

/// The worker processes of the kill test.
struct Procs {
    url: String,
    schema: String,
    dropbox: String,
    cs: String,
    lease_ms: u64,
}

impl Procs {
    fn spawn(&self, id: &str) -> Child {
        Command::new(env!("CARGO_BIN_EXE_archive_worker"))
            .env("ECM_PG_URL", &self.url)
            .env("WORKER_PG_SCHEMA", &self.schema)
            .env("WORKER_DROPBOX_URL", &self.dropbox)
            .env("WORKER_CS_URL", &self.cs)
            .env("WORKER_ID", id)
            .env("WORKER_ROOT", ROOT)
            .env("WORKER_CS_FOLDER", "Workers")
            .env("WORKER_TAG", "archived")
            .env("WORKER_RULES", RULES)
            .env("WORKER_LEASE_MS", self.lease_ms.to_string())
            .env("WORKER_CONCURRENCY", "8")
            .env("WORKER_BATCH", "32")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn worker_processes_killed_and_restarted_end_the_same() {
    let Some(pg) = Pg::new("kills") else { return };
    let (n, kills) = if full() { (2000, 20) } else { (500, 5) };
    let sandbox = sandbox::start(SandboxConfig::new()).await.unwrap();
    seed(&sandbox, n).await;
    // The schema is migrated once here, before the workers connect.
    let store = pg.store().await;
    let procs = Procs {
        url: pg.url.clone(),
        schema: pg.schema.clone(),
        dropbox: sandbox.dropbox_url(),
        cs: sandbox.contentserver_url(),
        lease_ms: 1500,
    };
    let seed_rng: u64 = std::env::var("ECM_WORKERS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(14);
    eprintln!("kill test: {n} files, {kills} kills, seed {seed_rng} (ECM_WORKERS_SEED)");
    let mut rng = fastrand::Rng::with_seed(seed_rng);
    let started = std::time::Instant::now();
    let mut children: Vec<Child> = (0..4).map(|i| procs.spawn(&format!("w{i}"))).collect();
    for k in 0..kills {
        // A seeded moment: a number of documents settled since the last kill (the store's
        // state, not a timer), then a seeded victim.
        let target = done_count(&store).await + rng.usize(1..=(n / (kills + 1)).max(2));
        loop {
            let now = done_count(&store).await;
            if now >= target || children.iter_mut().all(|c| c.try_wait().unwrap().is_some()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let victim = rng.usize(..children.len());
        let _ = children[victim].kill(); // SIGKILL
        let _ = children[victim].wait();
        eprintln!(
            "kill {k}: worker {victim} at {} done",
            done_count(&store).await
        );
        children[victim] = procs.spawn(&format!("w{victim}"));
    }
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "a worker failed: {out:?}");
    }
    eprintln!(
        "kill test, {n} files, {kills} kills: {:?}",
        started.elapsed()
    );
    assert_end_state(&sandbox, &store, n).await;
}

async fn done_count(store: &PostgresStore) -> usize {
    store
        .records_by_status(FLOW, DocStatus::Done)
        .await
        .unwrap()
        .len()
}

/// A flow of the take-up tests: no retries within a run (a failure stays for the sweep).
fn bare_flow(
    source: Arc<dyn Source>,
    sink: Arc<dyn Sink>,
    store: Arc<dyn Store>,
    clock: &Clock,
    step: Option<Arc<dyn FlowStep>>,
) -> Flow {
    let mut b = Flow::builder("mem")
        .source_arc(source)
        .sink_arc(sink)
        .state(store)
        .clock(clock.f())
        .retry(RetryPolicy::none());
    if let Some(s) = step {
        b = b.step_arc(s);
    }
    b.build().unwrap()
}

/// Two workers at once (separate flows, as separate processes), until drained.
async fn two_workers(a: &Flow, b: &Flow, clock: &Clock, tag: &str) -> (WorkReport, WorkReport) {
    let (x, y) = tokio::join!(
        a.work(format!("{tag}-a"))
            .clock(clock.f())
            .poll(Duration::from_millis(10))
            .until_drained(),
        b.work(format!("{tag}-b"))
            .clock(clock.f())
            .poll(Duration::from_millis(10))
            .until_drained(),
    );
    (x.unwrap(), y.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_document_is_retried_by_one_worker_once_per_sweep() {
    let Some(pg) = Pg::new("retry") else { return };
    let store = pg.store().await;
    let opens = Arc::new(AtomicUsize::new(0));
    let source = MemSource::new(vec![vec![doc("a", "1", &opens), doc("b", "1", &opens)]]);
    let sink = Arc::new(MemSink::default());
    sink.set(
        "id:a",
        Behaviour {
            transient_failures: 1,
            ..Behaviour::default()
        },
    );
    let clock = Clock::default();
    let flows =
        [0, 1].map(|_| bare_flow(source.clone(), sink.clone(), store.clone(), &clock, None));

    let first = flows[0]
        .work("w1")
        .clock(clock.f())
        .until_drained()
        .await
        .unwrap();
    assert_eq!(first.report.failed.len(), 1, "{}", first.report.summary());
    let rec = store.record("mem", "dropbox:id:a").await.unwrap().unwrap();
    assert_eq!(rec.status, DocStatus::Failed);

    // Within the sweep's interval: not tried again, by either worker.
    clock.advance(30);
    let (x, y) = two_workers(&flows[0], &flows[1], &clock, "early").await;
    assert_eq!(x.report.retried + y.report.retried, 0);
    assert_eq!(sink.attempts.lock().unwrap()["id:a"], 1);

    // After it: one of the two workers retries it, once.
    clock.advance(31);
    let (x, y) = two_workers(&flows[0], &flows[1], &clock, "late").await;
    assert_eq!(
        x.report.retried + y.report.retried,
        1,
        "{} / {}",
        x.report.summary(),
        y.report.summary()
    );
    assert_eq!(sink.attempts.lock().unwrap()["id:a"], 2, "one retry");
    assert_eq!(sink.copies("id:a"), 1);
    assert_eq!(sink.copies("id:b"), 1);
    let rec = store.record("mem", "dropbox:id:a").await.unwrap().unwrap();
    assert_eq!(rec.status, DocStatus::Done, "{rec:?}");
}

/// A step that waits one hour (awaiting) at its first run and is done at its second.
#[derive(Default)]
struct Outcome {
    polls: AtomicUsize,
}

#[async_trait]
impl FlowStep for Outcome {
    fn name(&self) -> &str {
        "outcome"
    }
    async fn run(&self, input: &StepInput<'_>) -> ecm_bridge::Result<StepOutcome> {
        if self.polls.fetch_add(1, Ordering::SeqCst) >= 1 {
            return Ok(StepOutcome::Done(
                serde_json::json!({"outcome": "approved"}),
            ));
        }
        Ok(StepOutcome::Awaiting {
            until: input.now + chrono::Duration::hours(1),
            output: serde_json::json!({"polls": 1}),
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_awaiting_step_is_checked_by_one_worker_when_due() {
    let Some(pg) = Pg::new("awaiting") else {
        return;
    };
    let store = pg.store().await;
    let opens = Arc::new(AtomicUsize::new(0));
    let source = MemSource::new(vec![vec![doc("a", "1", &opens)]]);
    let sink = Arc::new(MemSink::default());
    let outcome = Arc::new(Outcome::default());
    let clock = Clock::default();
    let flows = [0, 1].map(|_| {
        bare_flow(
            source.clone(),
            sink.clone(),
            store.clone(),
            &clock,
            Some(outcome.clone()),
        )
    });
    let first = flows[0]
        .work("w1")
        .clock(clock.f())
        .until_drained()
        .await
        .unwrap();
    assert_eq!(first.report.awaiting.len(), 1, "{}", first.report.summary());
    let rec = store.record("mem", "dropbox:id:a").await.unwrap().unwrap();
    assert_eq!(rec.status, DocStatus::Awaiting);

    // A sweep before the check is due: not polled.
    clock.advance(30 * 60);
    let (x, y) = two_workers(&flows[0], &flows[1], &clock, "early").await;
    assert_eq!(x.report.rechecked + y.report.rechecked, 0);
    assert_eq!(outcome.polls.load(Ordering::SeqCst), 1);

    // Due: one worker polls it, once; the document is done, written once.
    clock.advance(31 * 60);
    let (x, y) = two_workers(&flows[0], &flows[1], &clock, "due").await;
    assert_eq!(
        x.report.rechecked + y.report.rechecked,
        1,
        "{} / {}",
        x.report.summary(),
        y.report.summary()
    );
    assert_eq!(outcome.polls.load(Ordering::SeqCst), 2);
    let rec = store.record("mem", "dropbox:id:a").await.unwrap().unwrap();
    assert_eq!(rec.status, DocStatus::Done, "{rec:?}");
    assert_eq!(sink.copies("id:a"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_is_settled_under_the_claim_of_the_document_it_removes() {
    let Some(pg) = Pg::new("deletion") else {
        return;
    };
    let store = pg.store().await;
    let opens = Arc::new(AtomicUsize::new(0));
    let feed = Arc::new(Feed::default());
    feed.push(vec![
        Change::Upsert(Box::new(doc("a", "1", &opens))),
        Change::Upsert(Box::new(doc("b", "1", &opens))),
    ]);
    let sink = Arc::new(MemSink::default());
    let clock = Clock::default();
    let flow = bare_flow(feed.clone(), sink.clone(), store.clone(), &clock, None);
    flow.work("w1")
        .clock(clock.f())
        .until_drained()
        .await
        .unwrap();

    // Another worker holds `a` (working on it); then `a` is deleted at the source.
    let lease = Duration::from_secs(30);
    let other = store
        .claim("mem", "dropbox:id:a", "other/1", lease, clock.now())
        .await
        .unwrap()
        .claimed()
        .cloned()
        .unwrap();
    feed.push(vec![Change::Deleted {
        path: "f/a.pdf".into(),
    }]);
    let (listed_before, _) = listed_batch(&store).await;
    let worker = tokio::spawn({
        let flow = flow.clone();
        let clock = clock.clone();
        async move {
            flow.work("w2")
                .clock(clock.f())
                .poll(Duration::from_millis(10))
                .until_drained()
                .await
        }
    });
    // Once the deletion is published, it is not settled while `a` is claimed.
    while listed_batch(&store).await.0 == listed_before {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let rec = store.record("mem", "dropbox:id:a").await.unwrap().unwrap();
    assert_eq!(rec.status, DocStatus::Done, "removed under another's claim");
    assert!(!worker.is_finished());

    // Released: the worker removes it under its own claim.
    assert!(store
        .release_claim("mem", "dropbox:id:a", "other/1", other.token)
        .await
        .unwrap());
    let out = worker.await.unwrap().unwrap();
    assert_eq!(out.report.removed.len(), 1, "{}", out.report.summary());
    assert_eq!(*out.report.deleted, ["f/a.pdf"]);
    let rec = store.record("mem", "dropbox:id:a").await.unwrap().unwrap();
    assert_eq!(rec.status, DocStatus::Removed);
    let b = store.record("mem", "dropbox:id:b").await.unwrap().unwrap();
    assert_eq!(b.status, DocStatus::Done);
    assert!(store
        .current_claim("mem", "dropbox:id:a")
        .await
        .unwrap()
        .is_none());
}

/// The batch number [`WORKERS_LISTED`] holds, and its version.
async fn listed_batch(store: &PostgresStore) -> (u64, u64) {
    match store
        .partition_checkpoint("mem", WORKERS_LISTED)
        .await
        .unwrap()
    {
        Some(p) => (
            serde_json::from_str::<serde_json::Value>(&p.checkpoint.0).unwrap()["batch"]
                .as_u64()
                .unwrap(),
            p.version,
        ),
        None => (0, 0),
    }
}
