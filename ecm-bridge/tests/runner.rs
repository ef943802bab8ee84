//! The runner with in-memory sources and sinks: acknowledgement order under concurrency,
//! retries, adoption of unrecorded writes, dead letters, dry runs, skip reasons, and failures
//! retried on the next run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use ecm_bridge::model::{Body, Checkpoint, ContentHash, DocRef, Document};
use ecm_bridge::runner::{Flow, RetryPolicy};
use ecm_bridge::sink::{DeadLetter, DeadLetterHook, Receipt, Sink, WriteAction, WriteContext};
use ecm_bridge::source::{Item, Source};
use ecm_bridge::state::{MemoryStore, StateStore};
use ecm_bridge::transform::filter;
use ecm_bridge::verify::hash_stream;
use ecm_bridge::{Error, Result, Step};
use futures::future::FutureExt;
use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::Notify;

/// A shared log of what happened, in order.
type Log = Arc<Mutex<Vec<String>>>;

fn log(l: &Log, s: impl Into<String>) {
    l.lock().unwrap().push(s.into());
}

/// Pages of documents; checkpoint `p{n}` after page n; `fetch` returns the current version.
struct MemSource {
    pages: Mutex<Vec<Vec<Document>>>,
    current: Mutex<HashMap<String, Document>>,
    fetches: AtomicUsize,
}

impl MemSource {
    fn new(pages: Vec<Vec<Document>>) -> Arc<Self> {
        let current = pages
            .iter()
            .flatten()
            .map(|d| (d.source.id.clone(), d.clone()))
            .collect();
        Arc::new(MemSource {
            pages: Mutex::new(pages),
            current: Mutex::new(current),
            fetches: AtomicUsize::new(0),
        })
    }

    fn push_page(&self, docs: Vec<Document>) {
        for d in &docs {
            self.current
                .lock()
                .unwrap()
                .insert(d.source.id.clone(), d.clone());
        }
        self.pages.lock().unwrap().push(docs);
    }
}

#[async_trait]
impl Source for MemSource {
    async fn changes(&self, since: Option<Checkpoint>) -> Result<BoxStream<'static, Result<Item>>> {
        let start = since
            .map(|c| c.0[1..].parse::<usize>().unwrap() + 1)
            .unwrap_or(0);
        let mut items = Vec::new();
        for (n, page) in self.pages.lock().unwrap().iter().enumerate().skip(start) {
            let last = page.len() - 1;
            for (i, d) in page.iter().enumerate() {
                let item = Item::upsert(d.clone());
                items.push(Ok(if i == last {
                    item.with_checkpoint(Checkpoint(format!("p{n}")))
                } else {
                    item
                }));
            }
        }
        Ok(stream::iter(items).boxed())
    }

    async fn fetch(&self, id: &DocRef) -> Result<Option<Document>> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        Ok(self.current.lock().unwrap().get(&id.id).cloned())
    }
}

/// How the sink treats one document.
#[derive(Clone, Default)]
struct Behaviour {
    /// Fail this many attempts with a retryable error before succeeding.
    transient_failures: usize,
    /// Write the bytes, then report a retryable error (the write is not recorded) this many times.
    lost_acks: usize,
    /// Always fail with a non-retryable error.
    broken: bool,
    /// Wait for this before writing.
    gate: Option<Arc<Notify>>,
    /// Release this after writing.
    release: Option<Arc<Notify>>,
}

#[derive(Default)]
struct MemSink {
    behaviour: Mutex<HashMap<String, Behaviour>>,
    /// marker → bytes, in write order.
    stored: Mutex<Vec<(DocRef, Bytes, Option<DocRef>)>>,
    attempts: Mutex<HashMap<String, usize>>,
    log: Log,
}

impl MemSink {
    fn set(&self, id: &str, b: Behaviour) {
        self.behaviour.lock().unwrap().insert(id.into(), b);
    }

    fn copies(&self, id: &str) -> usize {
        self.stored
            .lock()
            .unwrap()
            .iter()
            .filter(|(r, _, _)| r.id == id)
            .count()
    }
}

fn receipt(doc: &Document, n: usize, action: WriteAction, hash: String) -> Receipt {
    Receipt {
        target: DocRef::cs(1000 + n as i64, 1),
        bytes: doc.size,
        sent_hashes: vec![ContentHash::sha256(hash)],
        action,
        location: format!("mem/{}", doc.path),
    }
}

#[async_trait]
impl Sink for MemSink {
    async fn write(&self, doc: &Document, ctx: &WriteContext) -> Result<Receipt> {
        let id = doc.source.id.clone();
        let attempt = {
            let mut a = self.attempts.lock().unwrap();
            let n = a.entry(id.clone()).or_default();
            *n += 1;
            *n
        };
        let b = self
            .behaviour
            .lock()
            .unwrap()
            .get(&id)
            .cloned()
            .unwrap_or_default();
        if let Some(g) = &b.gate {
            g.notified().await;
        }
        if b.broken {
            return Err(Error::governance(
                &doc.path,
                Step::Write,
                "broken on purpose",
            ));
        }
        if attempt <= b.transient_failures {
            return Err(Error::Verify {
                doc: doc.path.clone(),
                expected: "x".into(),
                actual: "y".into(),
            });
        }
        let bytes: Vec<Bytes> = doc.body.open().await?.map(|c| c.unwrap()).collect().await;
        let bytes = Bytes::from(bytes.concat());
        let hash = hash_stream(stream::iter([Ok::<_, std::io::Error>(bytes.clone())]))
            .await
            .unwrap()
            .sha256
            .expect("hash_stream computes SHA-256");
        let n = {
            let mut s = self.stored.lock().unwrap();
            s.push((doc.source.clone(), bytes, ctx.previous.clone()));
            s.len()
        };
        log(&self.log, format!("write {id}"));
        if let Some(r) = &b.release {
            r.notify_one();
        }
        if attempt <= b.transient_failures + b.lost_acks {
            return Err(Error::Io {
                doc: doc.path.clone(),
                step: Step::Write,
                source: std::io::Error::other("connection reset after the write"),
            });
        }
        Ok(receipt(
            doc,
            n,
            if ctx.previous.is_some() {
                WriteAction::AddedVersion
            } else {
                WriteAction::Created
            },
            hash,
        ))
    }

    async fn find_existing(&self, doc: &Document, _ctx: &WriteContext) -> Result<Option<Receipt>> {
        let s = self.stored.lock().unwrap();
        Ok(s.iter().position(|(r, _, _)| *r == doc.source).map(|i| {
            let hash = hex_sha(&s[i].1);
            receipt(doc, i + 1, WriteAction::Adopted, hash)
        }))
    }

    fn describe(&self, doc: &Document) -> String {
        format!("mem/{}", doc.path)
    }
}

fn hex_sha(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

/// A document whose body counts its openings.
fn doc(id: &str, rev: &str, opens: &Arc<AtomicUsize>) -> Document {
    let content = Bytes::from(format!("content of {id} at {rev}"));
    let opens = opens.clone();
    let c = content.clone();
    let body = Body::new(move || {
        opens.fetch_add(1, Ordering::SeqCst);
        let c = c.clone();
        async move {
            let s: ecm_bridge::model::ByteStream = stream::iter([Ok(c)]).boxed();
            Ok(s)
        }
        .boxed()
    });
    let mut d = Document::new(
        DocRef::dropbox(format!("id:{id}"), rev),
        format!("f/{id}.pdf"),
        content.len() as u64,
        body,
    );
    d.hash = Some(ContentHash::sha256(hex_sha(&content)));
    d
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        jitter: false,
        ..RetryPolicy::default()
    }
}

/// Records checkpoint saves in the shared log.
struct LoggingStore {
    inner: MemoryStore,
    log: Log,
}

#[async_trait]
impl StateStore for LoggingStore {
    async fn checkpoint(&self, flow: &str) -> Result<Option<Checkpoint>> {
        self.inner.checkpoint(flow).await
    }
    async fn set_checkpoint(&self, flow: &str, cp: &Checkpoint) -> Result<()> {
        log(&self.log, format!("checkpoint {}", cp.0));
        self.inner.set_checkpoint(flow, cp).await
    }
    async fn latest_mapping(
        &self,
        flow: &str,
        key: &str,
    ) -> Result<Option<ecm_bridge::state::Mapping>> {
        self.inner.latest_mapping(flow, key).await
    }
    async fn mappings(&self, flow: &str) -> Result<Vec<ecm_bridge::state::Mapping>> {
        self.inner.mappings(flow).await
    }
    async fn begin_intent(&self, flow: &str, source: &DocRef) -> Result<()> {
        self.inner.begin_intent(flow, source).await
    }
    async fn intent(&self, flow: &str, key: &str) -> Result<Option<ecm_bridge::state::Intent>> {
        self.inner.intent(flow, key).await
    }
    async fn intents(&self, flow: &str) -> Result<Vec<ecm_bridge::state::Intent>> {
        self.inner.intents(flow).await
    }
    async fn clear_intent(&self, flow: &str, key: &str) -> Result<()> {
        self.inner.clear_intent(flow, key).await
    }
    async fn record_write(
        &self,
        flow: &str,
        m: &ecm_bridge::state::Mapping,
        a: &ecm_bridge::state::AuditEntry,
    ) -> Result<()> {
        self.inner.record_write(flow, m, a).await
    }
    async fn mark_hooks_done(&self, flow: &str, source: &DocRef) -> Result<()> {
        self.inner.mark_hooks_done(flow, source).await
    }
    async fn step_done(&self, flow: &str, source: &DocRef, step: &str) -> Result<bool> {
        self.inner.step_done(flow, source, step).await
    }
    async fn mark_step_done(&self, flow: &str, source: &DocRef, step: &str) -> Result<()> {
        self.inner.mark_step_done(flow, source, step).await
    }
    async fn record_failure(
        &self,
        flow: &str,
        failure: &ecm_bridge::state::NewFailure<'_>,
        audit: &ecm_bridge::state::AuditEntry,
    ) -> Result<ecm_bridge::state::Failure> {
        self.inner.record_failure(flow, failure, audit).await
    }
    async fn clear_failure(&self, flow: &str, key: &str) -> Result<()> {
        self.inner.clear_failure(flow, key).await
    }
    async fn failures(&self, flow: &str) -> Result<Vec<ecm_bridge::state::Failure>> {
        self.inner.failures(flow).await
    }
    async fn append_audit(&self, e: &ecm_bridge::state::AuditEntry) -> Result<()> {
        self.inner.append_audit(e).await
    }
    async fn audit(&self, flow: Option<&str>) -> Result<Vec<ecm_bridge::state::AuditEntry>> {
        self.inner.audit(flow).await
    }
}

#[tokio::test(start_paused = true)]
async fn checkpoint_advances_only_over_finished_prefixes() {
    let opens = Arc::new(AtomicUsize::new(0));
    let log_: Log = Arc::default();
    let source = MemSource::new(vec![
        vec![
            doc("a", "1", &opens),
            doc("b", "1", &opens),
            doc("c", "1", &opens),
        ],
        vec![doc("d", "1", &opens), doc("e", "1", &opens)],
    ]);
    let sink = Arc::new(MemSink {
        log: log_.clone(),
        ..MemSink::default()
    });
    // `a` (first item of page 0) finishes last: only after `e` was written.
    let gate = Arc::new(Notify::new());
    sink.set(
        "id:a",
        Behaviour {
            gate: Some(gate.clone()),
            ..Behaviour::default()
        },
    );
    sink.set(
        "id:e",
        Behaviour {
            release: Some(gate),
            ..Behaviour::default()
        },
    );
    let state = Arc::new(LoggingStore {
        inner: MemoryStore::new(),
        log: log_.clone(),
    });
    let flow = Flow::builder("t")
        .source(source.clone())
        .sink(sink.clone())
        .state(state.clone())
        .concurrency(5)
        .build()
        .unwrap();
    let report = flow.run_once().await.unwrap();
    assert_eq!(report.count(WriteAction::Created), 5);
    let events = log_.lock().unwrap().clone();
    let pos = |s: &str| {
        events
            .iter()
            .position(|e| e == s)
            .unwrap_or_else(|| panic!("{s} not in {events:?}"))
    };
    assert!(pos("write id:e") < pos("write id:a"), "{events:?}");
    // Nothing was checkpointed before `a` finished, although b..e had.
    let first_cp = events
        .iter()
        .position(|e| e.starts_with("checkpoint"))
        .unwrap();
    assert!(first_cp > pos("write id:a"), "{events:?}");
    assert_eq!(events.last().unwrap(), "checkpoint p1");
    assert_eq!(
        state.checkpoint("t").await.unwrap(),
        Some(Checkpoint("p1".into()))
    );
}

#[tokio::test(start_paused = true)]
async fn transient_failures_are_retried_and_lost_acks_adopted() {
    let opens = Arc::new(AtomicUsize::new(0));
    let source = MemSource::new(vec![vec![doc("x", "1", &opens), doc("y", "1", &opens)]]);
    let sink = Arc::new(MemSink::default());
    sink.set(
        "id:x",
        Behaviour {
            transient_failures: 2,
            ..Behaviour::default()
        },
    );
    sink.set(
        "id:y",
        Behaviour {
            lost_acks: 1,
            ..Behaviour::default()
        },
    );
    let state = Arc::new(MemoryStore::new());
    let flow = Flow::builder("t")
        .source(source)
        .sink(sink.clone())
        .state(state.clone())
        .retry(fast())
        .build()
        .unwrap();
    let report = flow.run_once().await.unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(sink.attempts.lock().unwrap()["id:x"], 3);
    assert_eq!(sink.copies("id:x"), 1);
    // y was written once; the retry found it instead of writing it again.
    assert_eq!(sink.copies("id:y"), 1);
    assert_eq!(report.count(WriteAction::Adopted), 1);
    assert_eq!(report.count(WriteAction::Created), 1);
    let audit = state.audit(Some("t")).await.unwrap();
    assert_eq!(audit.iter().filter(|e| e.action == "adopt").count(), 1);
    assert!(state.intents("t").await.unwrap().is_empty());
}

struct Letters(Mutex<Vec<DeadLetter>>);

#[async_trait]
impl DeadLetterHook for Letters {
    async fn dead_letter(&self, letter: &DeadLetter) {
        self.0.lock().unwrap().push(letter.clone());
    }
}

#[tokio::test(start_paused = true)]
async fn failures_do_not_block_the_checkpoint_are_retried_and_then_dead_lettered() {
    let opens = Arc::new(AtomicUsize::new(0));
    let source = MemSource::new(vec![vec![doc("z", "1", &opens), doc("ok", "1", &opens)]]);
    let sink = Arc::new(MemSink::default());
    sink.set(
        "id:z",
        Behaviour {
            broken: true,
            ..Behaviour::default()
        },
    );
    let letters = Arc::new(Letters(Mutex::default()));
    let state = Arc::new(MemoryStore::new());
    let flow = Flow::builder("t")
        .source(source.clone())
        .sink(sink.clone())
        .state(state.clone())
        .retry(fast())
        .dead_letter_after(2)
        .dead_letter(letters.clone())
        .build()
        .unwrap();

    let r1 = flow.run_once().await.unwrap();
    assert_eq!(r1.failed.len(), 1);
    assert_eq!(
        (r1.failed[0].attempts, r1.failed[0].dead),
        (1, false),
        "not retryable: one attempt"
    );
    assert!(r1.failed[0].error.contains("broken on purpose"));
    assert_eq!(
        r1.checkpoint,
        Some(Checkpoint("p0".into())),
        "the failure does not block the checkpoint"
    );
    assert!(letters.0.lock().unwrap().is_empty());

    // The next run fetches it again (the feed has nothing new) and fails again: dead.
    let r2 = flow.run_once().await.unwrap();
    assert_eq!(source.fetches.load(Ordering::SeqCst), 1);
    assert_eq!(r2.retried, 1);
    assert!(r2.failed[0].dead);
    let dead = letters.0.lock().unwrap().clone();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].source.id.as_str(), dead[0].attempts), ("id:z", 2));

    // Dead documents are kept, but not retried automatically.
    let r3 = flow.run_once().await.unwrap();
    assert_eq!(source.fetches.load(Ordering::SeqCst), 1);
    assert!(r3.failed.is_empty());
    let failures = state.failures("t").await.unwrap();
    assert_eq!(failures.len(), 1);
    assert!(failures[0].dead);
}

#[tokio::test(start_paused = true)]
async fn a_failed_document_succeeds_on_the_next_run_and_new_revs_carry_the_previous_target() {
    let opens = Arc::new(AtomicUsize::new(0));
    let source = MemSource::new(vec![vec![doc("q", "1", &opens)]]);
    let sink = Arc::new(MemSink::default());
    sink.set(
        "id:q",
        Behaviour {
            transient_failures: 1,
            ..Behaviour::default()
        },
    );
    let state = Arc::new(MemoryStore::new());
    let flow = Flow::builder("t")
        .source(source.clone())
        .sink(sink.clone())
        .state(state.clone())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let r1 = flow.run_once().await.unwrap();
    assert_eq!(r1.failed.len(), 1);
    let r2 = flow.run_once().await.unwrap();
    assert_eq!(r2.count(WriteAction::Created), 1);
    assert!(state.failures("t").await.unwrap().is_empty());
    let first_target = state
        .latest_mapping("t", "dropbox:id:q")
        .await
        .unwrap()
        .unwrap()
        .target;

    // A new rev: the sink is told where the previous one went.
    source.push_page(vec![doc("q", "2", &opens)]);
    let r3 = flow.run_once().await.unwrap();
    assert_eq!(r3.count(WriteAction::AddedVersion), 1, "{}", r3.summary());
    let stored = sink.stored.lock().unwrap().clone();
    assert_eq!(stored.last().unwrap().2, Some(first_target));
    // Nothing new: nothing written.
    let r4 = flow.run_once().await.unwrap();
    assert!(r4.written.is_empty());
}

#[tokio::test(start_paused = true)]
async fn skips_have_reasons_and_never_open_the_bytes() {
    let opens = Arc::new(AtomicUsize::new(0));
    let mut draft = doc("draft", "1", &opens);
    draft.path = "drafts/draft.pdf".into();
    let source = MemSource::new(vec![vec![draft, doc("final", "1", &opens)]]);
    let sink = Arc::new(MemSink::default());
    let state = Arc::new(MemoryStore::new());
    let flow = Flow::builder("t")
        .source(source)
        .transform(filter(
            |d: &Document| !d.path.starts_with("drafts/"),
            "a draft",
        ))
        .sink(sink.clone())
        .state(state.clone())
        .build()
        .unwrap();
    let report = flow.run_once().await.unwrap();
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].reason, "a draft");
    assert_eq!(report.skipped[0].path, "drafts/draft.pdf");
    assert_eq!(
        opens.load(Ordering::SeqCst),
        1,
        "only the written document was opened"
    );
    let audit = state.audit(None).await.unwrap();
    assert!(audit
        .iter()
        .any(|e| e.action == "skip" && e.outcome == "a draft"));
}

#[tokio::test(start_paused = true)]
async fn dry_runs_write_nothing() {
    let opens = Arc::new(AtomicUsize::new(0));
    let source = MemSource::new(vec![vec![doc("a", "1", &opens), doc("b", "1", &opens)]]);
    let sink = Arc::new(MemSink::default());
    let state = Arc::new(MemoryStore::new());
    let flow = Flow::builder("t")
        .source(source)
        .sink(sink.clone())
        .state(state.clone())
        .dry_run(true)
        .build()
        .unwrap();
    let report = flow.run_once().await.unwrap();
    assert!(report.dry_run);
    assert_eq!(report.written.len(), 2);
    assert!(report
        .written
        .iter()
        .all(|w| w.action.is_none() && w.target.is_none()));
    assert_eq!(report.written[0].location, "mem/f/a.pdf");
    assert_eq!(opens.load(Ordering::SeqCst), 0);
    assert!(sink.stored.lock().unwrap().is_empty());
    assert!(sink.attempts.lock().unwrap().is_empty());
    assert_eq!(state.checkpoint("t").await.unwrap(), None);
    assert!(state.audit(None).await.unwrap().is_empty());
    assert!(state.intents("t").await.unwrap().is_empty());
    assert!(state.mappings("t").await.unwrap().is_empty());
}

/// A flow over `source` and `sink` whose progress callback pushes a page with document `b`
/// after the first run and wakes `stop` after the third; returns it with the run counter.
fn scheduled_flow(
    source: Arc<MemSource>,
    sink: Arc<MemSink>,
    opens: &Arc<AtomicUsize>,
    stop: Arc<Notify>,
) -> (Flow, Arc<AtomicUsize>) {
    let finished = Arc::new(AtomicUsize::new(0));
    let (src, n, b) = (source.clone(), finished.clone(), doc("b", "1", opens));
    let flow = Flow::builder("scheduled")
        .source_arc(source)
        .sink_arc(sink)
        .state(Arc::new(MemoryStore::new()))
        .retry(fast())
        .on_progress(move |p| {
            if let ecm_bridge::runner::Progress::RunFinished(_) = p {
                match n.fetch_add(1, Ordering::SeqCst) + 1 {
                    1 => src.push_page(vec![b.clone()]),
                    3 => stop.notify_one(),
                    _ => {}
                }
            }
        })
        .build()
        .unwrap();
    (flow, finished)
}

#[tokio::test(start_paused = true)]
async fn run_every_runs_on_its_interval_until_stopped() {
    let opens = Arc::new(AtomicUsize::new(0));
    let source = MemSource::new(vec![vec![doc("a", "1", &opens)]]);
    let sink = Arc::new(MemSink::default());
    let stop = Arc::new(Notify::new());
    let (flow, finished) = scheduled_flow(source, sink.clone(), &opens, stop.clone());
    let started = tokio::time::Instant::now();
    let runs = flow
        .run_every(Duration::from_secs(60), stop.notified())
        .await
        .unwrap();
    assert_eq!(runs, 3);
    assert_eq!(finished.load(Ordering::SeqCst), 3);
    // The first run at once, then one per interval (virtual time).
    assert_eq!(started.elapsed(), Duration::from_secs(120));
    let written: Vec<String> = sink
        .stored
        .lock()
        .unwrap()
        .iter()
        .map(|(r, _, _)| r.id.clone())
        .collect();
    assert_eq!(written, ["id:a", "id:b"]);
}

#[tokio::test(start_paused = true)]
async fn watch_falls_back_to_its_interval_without_wake_ups() {
    let opens = Arc::new(AtomicUsize::new(0));
    let source = MemSource::new(vec![vec![doc("a", "1", &opens)]]);
    let sink = Arc::new(MemSink::default());
    let stop = Arc::new(Notify::new());
    let (flow, _) = scheduled_flow(source, sink.clone(), &opens, stop.clone());
    let started = tokio::time::Instant::now();
    let runs = flow
        .watch(Duration::from_secs(30), stop.notified())
        .await
        .unwrap();
    assert_eq!(runs, 3);
    assert_eq!(started.elapsed(), Duration::from_secs(60));
    assert_eq!(sink.stored.lock().unwrap().len(), 2);
}

/// A sink whose documents all have a deferred step (like a workflow start): writes go to the
/// inner [`MemSink`]; the step fails (not retryably) while `failures` is above zero.
#[derive(Default)]
struct DeferringSink {
    inner: MemSink,
    failures: AtomicUsize,
    /// Source markers whose step ran.
    ran: Mutex<Vec<String>>,
    /// How often the sink was asked whether the step had run.
    asked: AtomicUsize,
}

#[async_trait]
impl Sink for DeferringSink {
    async fn write(&self, doc: &Document, ctx: &WriteContext) -> Result<Receipt> {
        self.inner.write(doc, ctx).await
    }
    async fn find_existing(&self, doc: &Document, ctx: &WriteContext) -> Result<Option<Receipt>> {
        self.inner.find_existing(doc, ctx).await
    }
    fn describe(&self, doc: &Document) -> String {
        self.inner.describe(doc)
    }
    fn has_deferred(&self, _doc: &Document) -> bool {
        true
    }
    async fn run_deferred(&self, doc: &Document, _receipt: &Receipt) -> Result<()> {
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(Error::governance(
                &doc.path,
                Step::Workflow,
                "map not found",
            ));
        }
        self.ran.lock().unwrap().push(doc.source.marker());
        Ok(())
    }
    async fn deferred_done(&self, doc: &Document, _receipt: &Receipt) -> Result<bool> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        Ok(self.ran.lock().unwrap().contains(&doc.source.marker()))
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_deferred_step_is_finished_on_the_next_run_without_a_second_write() {
    let opens = Arc::new(AtomicUsize::new(0));
    let source = MemSource::new(vec![vec![doc("a", "1", &opens)]]);
    let sink = Arc::new(DeferringSink {
        failures: AtomicUsize::new(1),
        ..DeferringSink::default()
    });
    let state = Arc::new(MemoryStore::new());
    let flow = Flow::builder("deferred")
        .source_arc(source)
        .sink_arc(sink.clone())
        .state(state.clone())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();

    let first = flow.run_once().await.unwrap();
    assert_eq!(first.written.len(), 1);
    assert_eq!(first.failed.len(), 1, "{:#?}", first.failed);
    assert!(first.failed[0].error.contains("map not found"));
    let m = &state.mappings("deferred").await.unwrap()[0];
    assert!(!m.hooks_done, "the step is pending");
    assert!(sink.ran.lock().unwrap().is_empty());

    // The next run finishes the step (asking first: the failed attempt was under way) and
    // writes nothing.
    let second = flow.run_once().await.unwrap();
    assert!(second.failed.is_empty(), "{:#?}", second.failed);
    assert!(second.written.is_empty(), "{}", second.summary());
    assert_eq!(*sink.ran.lock().unwrap(), ["dropbox:id:a@1"]);
    assert_eq!(sink.asked.load(Ordering::SeqCst), 1);
    assert_eq!(sink.inner.stored.lock().unwrap().len(), 1);
    assert!(state.mappings("deferred").await.unwrap()[0].hooks_done);
    assert!(state.failures("deferred").await.unwrap().is_empty());

    // Then nothing at all.
    let third = flow.run_once().await.unwrap();
    assert!(third.written.is_empty() && third.failed.is_empty());
    assert_eq!(sink.ran.lock().unwrap().len(), 1);
    let audit = state.audit(Some("deferred")).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["create", "fail", "deferred", "mark"]);
}

#[tokio::test(start_paused = true)]
async fn a_write_that_landed_before_the_document_became_skipped_is_recorded() {
    let opens = Arc::new(AtomicUsize::new(0));
    let source = MemSource::new(vec![vec![doc("s", "1", &opens)]]);
    let sink = Arc::new(MemSink::default());
    // The bytes land, the answer is lost, and the run does not retry: the intent stays.
    sink.set(
        "id:s",
        Behaviour {
            lost_acks: 1,
            ..Behaviour::default()
        },
    );
    let state = Arc::new(MemoryStore::new());
    let first = Flow::builder("t")
        .source(source.clone())
        .sink(sink.clone())
        .state(state.clone())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let r1 = first.run_once().await.unwrap();
    assert_eq!(r1.failed.len(), 1, "{}", r1.summary());
    assert_eq!(sink.copies("id:s"), 1);
    assert!(state.intent("t", "dropbox:id:s").await.unwrap().is_some());

    // The rules change: the document is skipped now. Its landed write is paired with it
    // (before, the intent was cleared and the target copy became an orphan).
    let second = Flow::builder("t")
        .source(source)
        .transform(filter(|_: &Document| false, "no longer wanted"))
        .sink(sink.clone())
        .state(state.clone())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let r2 = second.run_once().await.unwrap();
    assert_eq!(r2.skipped.len(), 1, "{}", r2.summary());
    let m = state
        .latest_mapping("t", "dropbox:id:s")
        .await
        .unwrap()
        .expect("the landed write is recorded");
    assert_eq!(m.target, DocRef::cs(1001, 1));
    assert!(state.intent("t", "dropbox:id:s").await.unwrap().is_none());
    assert!(state.failures("t").await.unwrap().is_empty());
    assert_eq!(sink.copies("id:s"), 1, "nothing written again");
}
