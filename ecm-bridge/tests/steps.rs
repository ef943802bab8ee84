//! Steps with outputs after the write: a sink's step that cannot be repeated (checked at the
//! target when in doubt, its output kept), the flow's steps in order with the outputs of
//! earlier ones, an awaiting step polled when its check is due, and hooks as steps.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use ecm_bridge::model::Document;
use ecm_bridge::runner::{Flow, RetryPolicy, Step as FlowStep, StepInput, StepOutcome};
use ecm_bridge::sink::{AfterWrite, Receipt, Sink, WriteContext};
use ecm_bridge::state::{DocStatus, DocumentStore, MemoryStore, StateStore, StepState};
use ecm_bridge::{Error, Result, Step};
use serde_json::{json, Value};

mod support;
use support::mem::*;

/// A workflow start as a sink's step: not repeatable; fails (not retryably) while `failures`
/// is above zero; its output is the process id.
#[derive(Default)]
struct StartStep {
    failures: AtomicUsize,
    /// Source markers whose step ran, with the process id given.
    ran: Mutex<Vec<String>>,
    /// How often the target was asked whether it happened.
    asked: AtomicUsize,
}

#[async_trait]
impl FlowStep for StartStep {
    fn name(&self) -> &str {
        "workflow"
    }
    fn repeatable(&self) -> bool {
        false
    }
    async fn run(&self, input: &StepInput<'_>) -> Result<StepOutcome> {
        let doc = input.doc;
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
        let mut ran = self.ran.lock().unwrap();
        ran.push(doc.source.marker());
        Ok(StepOutcome::Done(json!({ "process_id": 4700 + ran.len() })))
    }
    async fn check(&self, input: &StepInput<'_>) -> Result<Option<Value>> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        let ran = self.ran.lock().unwrap();
        Ok(ran
            .iter()
            .position(|m| *m == input.doc.source.marker())
            .map(|i| json!({ "process_id": 4701 + i })))
    }
}

/// A sink that brings [`StartStep`].
#[derive(Default)]
struct StartingSink {
    inner: MemSink,
    step: Arc<StartStep>,
}

#[async_trait]
impl Sink for StartingSink {
    async fn write(&self, doc: &Document, ctx: &WriteContext) -> Result<Receipt> {
        self.inner.write(doc, ctx).await
    }
    async fn find_existing(&self, doc: &Document, ctx: &WriteContext) -> Result<Option<Receipt>> {
        self.inner.find_existing(doc, ctx).await
    }
    fn describe(&self, doc: &Document) -> String {
        self.inner.describe(doc)
    }
    fn steps(&self) -> Vec<Arc<dyn FlowStep>> {
        vec![self.step.clone()]
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_step_that_cannot_be_repeated_is_checked_then_run_once_with_its_output() {
    let opens = Arc::new(AtomicUsize::new(0));
    let source = MemSource::new(vec![vec![doc("a", "1", &opens)]]);
    let sink = Arc::new(StartingSink::default());
    sink.step.failures.store(1, Ordering::SeqCst);
    let state = Arc::new(MemoryStore::new());
    let flow = Flow::builder("steps")
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
    let rec = state
        .record("steps", "dropbox:id:a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.status, DocStatus::Failed);
    // Not repeatable: left `started` (in doubt), not `failed`.
    let st = state.steps("steps", "dropbox:id:a", "1").await.unwrap();
    assert_eq!(st[0].state, StepState::Started);
    assert!(sink.step.ran.lock().unwrap().is_empty());

    // The next run asks the target first (the failed attempt was under way), then runs it,
    // and writes nothing.
    let second = flow.run_once().await.unwrap();
    assert!(second.failed.is_empty(), "{:#?}", second.failed);
    assert!(second.written.is_empty(), "{}", second.summary());
    assert_eq!(*sink.step.ran.lock().unwrap(), ["dropbox:id:a@1"]);
    assert_eq!(sink.step.asked.load(Ordering::SeqCst), 1);
    assert_eq!(sink.inner.stored.lock().unwrap().len(), 1);
    let st = state.steps("steps", "dropbox:id:a", "1").await.unwrap();
    assert_eq!(
        (st[0].state, st[0].output.clone()),
        (StepState::Done, Some(json!({"process_id": 4701})))
    );
    let rec = state
        .record("steps", "dropbox:id:a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.status, DocStatus::Done);

    // Then nothing at all.
    let third = flow.run_once().await.unwrap();
    assert!(third.written.is_empty() && third.failed.is_empty());
    assert_eq!(sink.step.ran.lock().unwrap().len(), 1);
    let audit = state.audit(Some("steps")).await.unwrap();
    let lines: Vec<String> = audit
        .iter()
        .map(|e| format!("{} {}", e.action, e.outcome))
        .collect();
    assert_eq!(lines[0], "create ok");
    assert!(lines[1].starts_with("fail "), "{lines:?}");
    assert_eq!(lines[2..], ["step workflow: ok", "mark ok"]);
}

#[tokio::test(start_paused = true)]
async fn a_step_found_started_is_taken_from_the_target_not_run_again() {
    let opens = Arc::new(AtomicUsize::new(0));
    let source = MemSource::new(vec![vec![doc("a", "1", &opens)]]);
    let sink = Arc::new(StartingSink::default());
    let state = Arc::new(MemoryStore::new());
    // A run stopped right after the step ran: it happened, its outcome was not recorded.
    let stopping = Flow::builder("steps")
        .source_arc(source.clone())
        .sink_arc(sink.clone())
        .state(state.clone())
        .failpoint(Arc::new(|at| {
            at == ecm_bridge::runner::Failpoint::AfterStep
        }))
        .build()
        .unwrap();
    assert!(matches!(stopping.run_once().await, Err(Error::Stopped(_))));
    assert_eq!(sink.step.ran.lock().unwrap().len(), 1);

    let flow = Flow::builder("steps")
        .source_arc(source)
        .sink_arc(sink.clone())
        .state(state.clone())
        .build()
        .unwrap();
    let report = flow.run_once().await.unwrap();
    assert!(report.failed.is_empty(), "{}", report.summary());
    assert_eq!(sink.step.ran.lock().unwrap().len(), 1, "not started twice");
    assert_eq!(sink.step.asked.load(Ordering::SeqCst), 1);
    let st = state.steps("steps", "dropbox:id:a", "1").await.unwrap();
    assert_eq!(st[0].output, Some(json!({"process_id": 4701})));
    let audit = state.audit(Some("steps")).await.unwrap();
    assert!(audit
        .iter()
        .any(|e| e.action == "step" && e.outcome == "workflow: found done"));
}

/// What [`Share`] was given: the record's status, the receipt's target, the outputs of the
/// steps before it.
type Seen = (DocStatus, String, Vec<(String, Value)>);

/// A flow step that records what it was given.
struct Share {
    seen: Mutex<Vec<Seen>>,
}

#[async_trait]
impl FlowStep for Share {
    fn name(&self) -> &str {
        "share"
    }
    async fn run(&self, input: &StepInput<'_>) -> Result<StepOutcome> {
        self.seen.lock().unwrap().push((
            input.record.status,
            input.receipt.target.to_string(),
            input
                .outputs
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ));
        Ok(StepOutcome::Done(
            json!({ "url": format!("https://example.com/s/{}", input.receipt.target.id) }),
        ))
    }
}

#[tokio::test(start_paused = true)]
async fn flow_steps_follow_the_sinks_and_see_earlier_outputs() {
    let opens = Arc::new(AtomicUsize::new(0));
    let source = MemSource::new(vec![vec![doc("a", "1", &opens)]]);
    let sink = Arc::new(StartingSink::default());
    let share = Arc::new(Share {
        seen: Mutex::default(),
    });
    let state = Arc::new(MemoryStore::new());
    let flow = Flow::builder("steps")
        .source_arc(source)
        .sink_arc(sink)
        .step_arc(share.clone())
        .state(state.clone())
        .build()
        .unwrap();
    let report = flow.run_once().await.unwrap();
    assert!(report.failed.is_empty(), "{}", report.summary());
    let seen = share.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, DocStatus::Written);
    assert_eq!(seen[0].1, "cs:1001@1");
    assert_eq!(
        seen[0].2,
        [("workflow".to_owned(), json!({"process_id": 4701}))]
    );
    let names: Vec<_> = state
        .steps("steps", "dropbox:id:a", "1")
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.name, s.output))
        .collect();
    assert_eq!(
        names,
        [
            ("workflow".to_owned(), Some(json!({"process_id": 4701}))),
            (
                "share".to_owned(),
                Some(json!({"url": "https://example.com/s/1001"}))
            ),
        ]
    );
}

#[test]
fn two_steps_of_one_name_are_refused() {
    let source = MemSource::new(vec![]);
    let share = || Share {
        seen: Mutex::default(),
    };
    let err = Flow::builder("steps")
        .source_arc(source.clone())
        .sink(StartingSink::default())
        .step(share())
        .step(share())
        .state(Arc::new(MemoryStore::new()))
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("two steps named \"share\""),
        "{err}"
    );
    // A flow step may not take the name of its sink's step either.
    struct Named;
    #[async_trait]
    impl FlowStep for Named {
        fn name(&self) -> &str {
            "workflow"
        }
        async fn run(&self, _: &StepInput<'_>) -> Result<StepOutcome> {
            Ok(StepOutcome::Done(Value::Null))
        }
    }
    let err = Flow::builder("steps")
        .source_arc(source)
        .sink(StartingSink::default())
        .step(Named)
        .state(Arc::new(MemoryStore::new()))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("workflow"), "{err}");
}

/// A step that waits for an outcome outside: awaiting (one hour on) until `approve_after`
/// polls, then done with the outcome; each poll sees the output so far.
struct Outcome {
    polls: Mutex<Vec<Option<Value>>>,
    approve_after: usize,
}

#[async_trait]
impl FlowStep for Outcome {
    fn name(&self) -> &str {
        "outcome"
    }
    async fn run(&self, input: &StepInput<'_>) -> Result<StepOutcome> {
        let mut polls = self.polls.lock().unwrap();
        polls.push(input.so_far.cloned());
        if polls.len() > self.approve_after {
            return Ok(StepOutcome::Done(json!({"outcome": "approved"})));
        }
        Ok(StepOutcome::Awaiting {
            until: input.now + Duration::hours(1),
            output: json!({"polls": polls.len()}),
        })
    }
}

/// An after-write hook that counts its runs.
struct Counter(Arc<AtomicUsize>);

#[async_trait]
impl AfterWrite for Counter {
    async fn after_write(&self, _: &Document, _: &Receipt) -> Result<()> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn an_awaiting_step_is_polled_when_its_check_is_due_and_not_before() {
    let opens = Arc::new(AtomicUsize::new(0));
    let source = MemSource::new(vec![vec![doc("a", "1", &opens)]]);
    let sink = Arc::new(MemSink::default());
    let outcome = Arc::new(Outcome {
        polls: Mutex::default(),
        approve_after: 2,
    });
    let marked = Arc::new(AtomicUsize::new(0));
    let state = Arc::new(MemoryStore::new());
    let t0: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    let clock = Arc::new(Mutex::new(t0));
    let flow = {
        let clock = clock.clone();
        let marked = marked.clone();
        Flow::builder("await")
            .source_arc(source.clone())
            .sink_arc(sink.clone())
            .step_arc(outcome.clone())
            .after_write(Counter(marked))
            .state(state.clone())
            .clock(move || *clock.lock().unwrap())
            .build()
            .unwrap()
    };
    let key = "dropbox:id:a";

    let r1 = flow.run_once().await.unwrap();
    assert_eq!(r1.written.len(), 1);
    assert_eq!(r1.awaiting.len(), 1, "{}", r1.summary());
    assert_eq!(r1.awaiting[0].step, "outcome");
    assert_eq!(r1.awaiting[0].until, t0 + Duration::hours(1));
    let rec = state.record("await", key).await.unwrap().unwrap();
    assert_eq!(rec.status, DocStatus::Awaiting);
    assert_eq!(rec.next_check, Some(t0 + Duration::hours(1)));
    assert_eq!(marked.load(Ordering::SeqCst), 0, "later steps wait");

    // Before its time: not polled, even when the feed lists it again.
    *clock.lock().unwrap() = t0 + Duration::minutes(59);
    source.push_page(vec![doc("a", "1", &opens)]);
    let r2 = flow.run_once().await.unwrap();
    assert_eq!(outcome.polls.lock().unwrap().len(), 1, "{}", r2.summary());
    assert!(r2.written.is_empty() && r2.failed.is_empty());

    // Due: polled with its output so far; still waiting.
    *clock.lock().unwrap() = t0 + Duration::hours(1);
    let r3 = flow.run_once().await.unwrap();
    assert_eq!(r3.rechecked, 1, "{}", r3.summary());
    assert_eq!(r3.awaiting.len(), 1);
    let rec = state.record("await", key).await.unwrap().unwrap();
    assert_eq!(rec.next_check, Some(t0 + Duration::hours(2)));

    // Due again: done, the marking runs once, the document is done; nothing written again.
    *clock.lock().unwrap() = t0 + Duration::hours(3);
    let r4 = flow.run_once().await.unwrap();
    assert!(
        r4.awaiting.is_empty() && r4.failed.is_empty(),
        "{}",
        r4.summary()
    );
    assert_eq!(
        *outcome.polls.lock().unwrap(),
        [None, Some(json!({"polls": 1})), Some(json!({"polls": 2}))]
    );
    assert_eq!(marked.load(Ordering::SeqCst), 1);
    let rec = state.record("await", key).await.unwrap().unwrap();
    assert_eq!((rec.status, rec.next_check), (DocStatus::Done, None));
    let st = state.steps("await", key, "1").await.unwrap();
    assert_eq!(st[0].output, Some(json!({"outcome": "approved"})));
    assert_eq!(st[0].attempts, 3);
    assert_eq!(sink.copies("id:a"), 1);

    let r5 = flow.run_once().await.unwrap();
    assert_eq!(outcome.polls.lock().unwrap().len(), 3, "{}", r5.summary());
    assert_eq!(r5.rechecked, 0);
    assert_eq!(
        state.record("await", key).await.unwrap().unwrap().status,
        DocStatus::Done
    );
}

/// The store calls of a document written with one step after it: its record read once,
/// saved `pending`, `written` and `done`, the step begun and finished, three audit lines
/// (create, the step, mark: the create and the mark saved with the record they go with, in
/// the same call). Seven per document (sixteen before the runner read the records,
/// with intents, mappings, failures and `hooks_done` beside them); the run itself costs eight
/// more (run, due checks, three status lists, checkpoint read and save, run end).
#[tokio::test(start_paused = true)]
async fn store_calls_per_document() {
    let opens = Arc::new(AtomicUsize::new(0));
    let docs: Vec<_> = (0..10)
        .map(|i| doc(&format!("d{i}"), "1", &opens))
        .collect();
    let source = MemSource::new(vec![docs]);
    let state = Arc::new(support::store::CountingStore::default());
    let flow = Flow::builder("count")
        .source_arc(source)
        .sink(MemSink::default())
        .after_write(Counter(Arc::default()))
        .state(state.clone())
        .build()
        .unwrap();
    let r = flow.run_once().await.unwrap();
    assert_eq!(r.written.len(), 10);
    let calls = state.calls();
    let per_doc: std::collections::BTreeMap<&str, usize> = [
        ("record", 1),
        ("save_record", 3),
        ("begin_step", 1),
        ("finish_step", 1),
    ]
    .into_iter()
    .collect();
    for (name, n) in &per_doc {
        assert_eq!(calls.get(name), Some(&(n * 10)), "{name}: {calls:?}");
    }
    let run_level = state.total() - per_doc.values().sum::<usize>() * 10;
    assert_eq!(run_level, 8, "{calls:?}");
}

/// A step's audit line is written with its `done`, not after it: a process that dies right
/// after the step is recorded done (here: the separate append fails, as it would be left
/// unwritten) still has the line, once, and the rerun adds none.
#[tokio::test]
async fn a_step_recorded_done_keeps_its_audit_line_whatever_happens_next() {
    let opens = Arc::new(AtomicUsize::new(0));
    let source = MemSource::new(vec![vec![doc("a", "1", &opens)]]);
    let state = Arc::new(support::store::CountingStore::default());
    state
        .lose_step_audit
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let flow = Flow::builder("audited")
        .source_arc(source)
        .sink(MemSink::default())
        .after_write(Counter(Arc::default()))
        .state(state.clone())
        .build()
        .unwrap();
    let _ = flow.run_once().await;
    let _ = flow.run_once().await;
    let steps: Vec<_> = state
        .audit(Some("audited"))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "step")
        .collect();
    assert_eq!(steps.len(), 1, "{steps:?}");
    assert_eq!(steps[0].outcome, "after_write: ok");
}
