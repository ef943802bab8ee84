//! The runner with in-memory sources and sinks: acknowledgement order under concurrency,
//! retries, adoption of unrecorded writes, dead letters, dry runs, skip reasons, failures
//! retried on the next run, and a write that landed before its document became skipped.
//! Steps are in `steps.rs`, schedules in `schedule.rs`, crashes in `crash*.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use ecm_bridge::model::{Checkpoint, DocRef, Document};
use ecm_bridge::runner::{Flow, RetryPolicy};
use ecm_bridge::sink::{DeadLetter, DeadLetterHook, WriteAction};
use ecm_bridge::state::{DocStatus, DocumentStore, MemoryStore, StateStore};
use ecm_bridge::transform::filter;
use tokio::sync::Notify;

mod support;
use support::mem::*;
use support::store::{CountingStore, Log};

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
    let state = Arc::new(CountingStore::with_log(log_.clone()));
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
    assert!(state
        .records_by_status("t", DocStatus::Pending)
        .await
        .unwrap()
        .is_empty());
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
    let dead = state.records_by_status("t", DocStatus::Dead).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].source.id.as_str(), dead[0].attempts), ("id:z", 2));
    assert!(state
        .records_by_status("t", DocStatus::Failed)
        .await
        .unwrap()
        .is_empty());
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
    let rec = state.record("t", "dropbox:id:q").await.unwrap().unwrap();
    assert_eq!((rec.status, rec.attempts), (DocStatus::Done, 2));
    let first_target = rec.target.unwrap();

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
    assert_eq!(state.record("t", "dropbox:id:a").await.unwrap(), None);
    assert!(state.runs("t").await.unwrap().is_empty());
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
    let rec = state.record("t", "dropbox:id:s").await.unwrap().unwrap();
    assert_eq!(rec.status, DocStatus::Failed, "its write in doubt");

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
    let rec = state.record("t", "dropbox:id:s").await.unwrap().unwrap();
    assert_eq!(
        (rec.status, rec.target),
        (DocStatus::Done, Some(DocRef::cs(1001, 1))),
        "the landed write is recorded"
    );
    assert_eq!(sink.copies("id:s"), 1, "nothing written again");
}

#[tokio::test(start_paused = true)]
async fn a_large_run_counts_every_document_and_keeps_a_bounded_report() {
    let opens = Arc::new(AtomicUsize::new(0));
    let n = ecm_bridge::runner::Sampled::<()>::KEPT + 250;
    let docs = (0..n).map(|i| doc(&format!("d{i}"), "1", &opens)).collect();
    let source = MemSource::new(vec![docs]);
    let sink = Arc::new(MemSink::default());
    let flow = Flow::builder("t")
        .source(source)
        .sink(sink.clone())
        .state(Arc::new(MemoryStore::new()))
        .concurrency(8)
        .build()
        .unwrap();
    let report = flow.run_once().await.unwrap();
    assert_eq!(sink.stored.lock().unwrap().len(), n);
    assert_eq!(report.written.len(), n, "{}", report.summary());
    assert_eq!(report.count(WriteAction::Created), n);
    assert_eq!(report.written.omitted(), 250);
    assert_eq!(
        report.written.iter().count(),
        n - 250,
        "only the first ones are kept"
    );
    assert_eq!(report.counts()["written"], n as u64);
    assert!(
        report.summary().contains(&format!("{n} written ({n} new")),
        "{}",
        report.summary()
    );
}
