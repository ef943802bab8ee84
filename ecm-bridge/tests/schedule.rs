//! Schedules with in-memory sources and sinks: runs on an interval until stopped, and `watch`
//! falling back to its interval when the source cannot wake it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ecm_bridge::runner::Flow;
use ecm_bridge::state::MemoryStore;
use tokio::sync::Notify;

mod support;
use support::mem::*;

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
