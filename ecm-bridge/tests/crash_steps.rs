//! Crash safety of the steps after the write, in memory: a flow whose documents start
//! something that cannot be repeated, then wait for its outcome (an awaiting step polled when
//! its check is due), then are marked. The runs (the write, then the due checks an hour and
//! more later) are stopped at every failpoint they reach, then carried on by a flow that does
//! not stop. Each document ends exactly once (`done`, one copy at the target, one `mark`), and
//! each step is done once (the start ran once, found at the target when in doubt).

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use ecm_bridge::runner::{Failpoint, FailpointFn, Flow, Step, StepInput, StepOutcome};
use ecm_bridge::state::{DocStatus, DocumentStore, MemoryStore, StateStore, StepState};
use ecm_bridge::{Error, Result};
use serde_json::{json, Value};
use support::mem::*;

/// Starts a process per document: not repeatable, found at the target when in doubt.
#[derive(Default)]
struct Start {
    started: Mutex<Vec<String>>,
}

#[async_trait]
impl Step for Start {
    fn name(&self) -> &str {
        "start"
    }
    fn repeatable(&self) -> bool {
        false
    }
    async fn run(&self, input: &StepInput<'_>) -> Result<StepOutcome> {
        let mut s = self.started.lock().unwrap();
        s.push(input.doc.source.marker());
        Ok(StepOutcome::Done(json!({ "process": s.len() })))
    }
    async fn check(&self, input: &StepInput<'_>) -> Result<Option<Value>> {
        let s = self.started.lock().unwrap();
        Ok(s.iter()
            .position(|m| *m == input.doc.source.marker())
            .map(|i| json!({ "process": i + 1 })))
    }
}

/// Waits for the process: awaiting for an hour at its first poll, done at the next.
#[derive(Default)]
struct Outcome {
    polls: Mutex<HashMap<String, usize>>,
}

#[async_trait]
impl Step for Outcome {
    fn name(&self) -> &str {
        "outcome"
    }
    async fn run(&self, input: &StepInput<'_>) -> Result<StepOutcome> {
        assert!(
            input.outputs.contains_key("start"),
            "the start is done before"
        );
        let mut polls = self.polls.lock().unwrap();
        let n = polls.entry(input.doc.source.marker()).or_default();
        *n += 1;
        if *n == 1 {
            return Ok(StepOutcome::Awaiting {
                until: input.now + Duration::hours(1),
                output: json!({ "polls": 1 }),
            });
        }
        Ok(StepOutcome::Done(json!("approved")))
    }
}

/// Stops at the `n`th failpoint reached over all runs (1-based); records where.
fn stop_at(n: usize, hit: Arc<Mutex<Option<Failpoint>>>) -> FailpointFn {
    let count = AtomicUsize::new(0);
    Arc::new(move |at| {
        let i = count.fetch_add(1, Ordering::SeqCst) + 1;
        if i == n {
            *hit.lock().unwrap() = Some(at);
        }
        i == n
    })
}

struct World {
    source: Arc<MemSource>,
    sink: Arc<MemSink>,
    start: Arc<Start>,
    outcome: Arc<Outcome>,
    marked: Arc<AtomicUsize>,
    state: Arc<MemoryStore>,
    clock: Arc<Mutex<DateTime<Utc>>>,
}

impl World {
    fn new() -> World {
        let opens = Arc::new(AtomicUsize::new(0));
        World {
            source: MemSource::new(vec![vec![doc("a", "1", &opens), doc("b", "1", &opens)]]),
            sink: Arc::new(MemSink::default()),
            start: Arc::default(),
            outcome: Arc::default(),
            marked: Arc::default(),
            state: Arc::new(MemoryStore::new()),
            clock: Arc::new(Mutex::new(
                Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap(),
            )),
        }
    }

    fn flow(&self, failpoint: Option<FailpointFn>) -> Flow {
        let clock = self.clock.clone();
        let mut b = Flow::builder("crash")
            .source_arc(self.source.clone())
            .sink_arc(self.sink.clone())
            .step_arc(self.start.clone())
            .step_arc(self.outcome.clone())
            .after_write(Marker(self.marked.clone()))
            .state(self.state.clone())
            .concurrency(1)
            .clock(move || *clock.lock().unwrap());
        if let Some(f) = failpoint {
            b = b.failpoint(f);
        }
        b.build().unwrap()
    }
}

struct Marker(Arc<AtomicUsize>);

#[async_trait]
impl ecm_bridge::sink::AfterWrite for Marker {
    async fn after_write(
        &self,
        _: &ecm_bridge::model::Document,
        _: &ecm_bridge::sink::Receipt,
    ) -> Result<()> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// The runs of the scenario: the write (steps up to the wait), then due checks later on.
const STAGES: [i64; 3] = [0, 2, 4];

#[tokio::test(start_paused = true)]
async fn steps_and_due_checks_stopped_anywhere_end_once() {
    let mut seen = Vec::new();
    for n in 1.. {
        let w = World::new();
        let t0 = *w.clock.lock().unwrap();
        let hit = Arc::new(Mutex::new(None));
        let crashing = w.flow(Some(stop_at(n, hit.clone())));
        let mut stage = 0;
        let mut stopped = false;
        while stage < STAGES.len() {
            *w.clock.lock().unwrap() = t0 + Duration::hours(STAGES[stage]);
            match crashing.run_once().await {
                Ok(_) => stage += 1,
                Err(Error::Stopped(_)) => {
                    stopped = true;
                    break;
                }
                Err(e) => panic!("step {n}: {}", e.chain()),
            }
        }
        if !stopped {
            assert!(n > 10, "only {n} failpoints?");
            break;
        }
        let at = hit.lock().unwrap().expect("stopped somewhere");
        seen.push((stage, at));

        // Carried on, from the stage it stopped in, by a flow that does not stop.
        let flow = w.flow(None);
        for hours in &STAGES[stage..] {
            *w.clock.lock().unwrap() = t0 + Duration::hours(*hours);
            let r = flow.run_once().await.unwrap();
            assert!(r.failed.is_empty(), "step {n} ({at:?}): {:#?}", r.failed);
        }
        let again = flow.run_once().await.unwrap();
        assert!(
            again.written.is_empty() && again.awaiting.is_empty(),
            "step {n}: {}",
            again.summary()
        );

        for id in ["a", "b"] {
            let key = format!("dropbox:id:{id}");
            assert_eq!(
                w.sink.copies(&format!("id:{id}")),
                1,
                "step {n} ({at:?}): {id}"
            );
            let rec = w.state.record("crash", &key).await.unwrap().unwrap();
            assert_eq!(rec.status, DocStatus::Done, "step {n} ({at:?}): {rec:#?}");
            let steps = w.state.steps("crash", &key, "1").await.unwrap();
            let names: Vec<_> = steps.iter().map(|s| (s.name.as_str(), s.state)).collect();
            assert_eq!(
                names,
                [
                    ("start", StepState::Done),
                    ("outcome", StepState::Done),
                    ("after_write", StepState::Done)
                ],
                "step {n} ({at:?})"
            );
            assert_eq!(steps[1].output, Some(json!("approved")));
        }
        let started = w.start.started.lock().unwrap().clone();
        assert_eq!(
            started,
            ["dropbox:id:a@1", "dropbox:id:b@1"],
            "step {n} ({at:?}): each start once"
        );
        let audit = w.state.audit(Some("crash")).await.unwrap();
        assert_eq!(
            audit.iter().filter(|e| e.action == "mark").count(),
            2,
            "step {n} ({at:?}): each document ends once"
        );
        assert!(audit.iter().all(|e| e.run.is_some()), "step {n}");
    }
    for fp in [
        Failpoint::BeforePending,
        Failpoint::BeforeWrite,
        Failpoint::AfterWrite,
        Failpoint::AfterRecord,
        Failpoint::AfterStep,
        Failpoint::AfterSteps,
        Failpoint::BeforeCheckpoint,
    ] {
        assert!(
            seen.iter().any(|(_, at)| *at == fp),
            "never stopped at {fp:?}: {seen:?}"
        );
    }
    // Due checks were stopped too: in the later runs, at the poll and at the end of the steps.
    for fp in [Failpoint::AfterStep, Failpoint::AfterSteps] {
        assert!(
            seen.iter().any(|(stage, at)| *stage > 0 && *at == fp),
            "no due check stopped at {fp:?}: {seen:?}"
        );
    }
}
