//! Crash safety: the flow is stopped at every step of its work (before and after the intent,
//! between the Content Server write and the state update, after the record, after the marking,
//! before a checkpoint), then started again on the same SQLite state. The final state has each
//! approved document exactly once, with one version and the right bytes. `Press Release.pdf`
//! also goes on a hold and starts a workflow: after every restart exactly one process has been
//! started for it (the start is a deferred step recorded in the state store; a run stopped
//! right after the start finds the process attached to the record and does not start another).

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ecm_bridge::runner::Failpoint;
use ecm_bridge::Error;
use sandbox::FaultRule;
use support::{Env, APPROVED, APPROVED_FOLDER, GOVERNED_TITLE};

/// Stops at the `n`th failpoint reached (1-based); records where.
fn stop_at(n: usize, hit: Arc<Mutex<Option<Failpoint>>>) -> ecm_bridge::runner::FailpointFn {
    let count = AtomicUsize::new(0);
    Arc::new(move |at| {
        let i = count.fetch_add(1, Ordering::SeqCst) + 1;
        if i == n {
            *hit.lock().unwrap() = Some(at);
            true
        } else {
            false
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_anywhere_and_restarted_each_document_lands_once() {
    let mut seen = Vec::new();
    for n in 1.. {
        let env = Env::start().await;
        let hit = Arc::new(Mutex::new(None));
        let crashing = env
            .governed_flow()
            .concurrency(1)
            .failpoint(stop_at(n, hit.clone()))
            .build()
            .unwrap();
        match crashing.run_once().await {
            Err(Error::Stopped(_)) => {}
            Ok(_) => {
                // No failpoint left to stop at: every step has been tried.
                assert!(n > 10, "only {n} steps?");
                break;
            }
            Err(e) => panic!("step {n}: {}", e.chain()),
        }
        drop(crashing);
        seen.push(hit.lock().unwrap().expect("stopped somewhere"));

        // Restart on the same state file; a second restart changes nothing.
        let restarted = env.governed_flow().build().unwrap();
        let report = restarted.run_once().await.unwrap();
        assert!(report.failed.is_empty(), "step {n}: {:#?}", report.failed);
        let again = restarted.run_once().await.unwrap();
        assert!(again.written.is_empty(), "step {n}: {}", again.summary());

        final_state_is_exact(&env, n).await;
        env.sandbox.shutdown().await;
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
        assert!(seen.contains(&fp), "never stopped at {fp:?}: {seen:?}");
    }
}

/// Each approved document once in CS, with one version and the right bytes; the governed one
/// on its hold with exactly one workflow started; every mapping's steps done; no intent left.
async fn final_state_is_exact(env: &Env, n: usize) {
    let children = env.cs_archive_children().await;
    assert_eq!(children.len(), APPROVED.len(), "step {n}: {children:?}");
    for name in APPROVED {
        let node = env.cs_doc(name).await.unwrap();
        assert_eq!(
            env.cs_versions(node.id).await.len(),
            1,
            "step {n}: {name} has extra versions"
        );
        assert_eq!(
            env.cs_bytes(node.id, None).await,
            env.dropbox_bytes(&format!("{APPROVED_FOLDER}/{name}"))
                .await,
            "step {n}: {name}"
        );
    }
    let press = env.cs_doc("Press Release.pdf").await.unwrap();
    let started = env.assignments_titled(GOVERNED_TITLE).await;
    assert_eq!(started.len(), 1, "step {n}: {started:#?}");
    let process = started[0].workflow_id.unwrap();
    let status = env.cs.workflows().status(process).await.unwrap();
    assert_eq!(status.name.as_deref(), Some(GOVERNED_TITLE), "step {n}");
    // Policy Approval's first step, with the archived record attached.
    let steps: Vec<_> = status
        .current_steps
        .iter()
        .map(|s| s.task_name.as_deref())
        .collect();
    assert_eq!(steps, [Some("Review")], "step {n}");
    let attached = env.attachments(&status).await;
    assert_eq!(attached, [press.id], "step {n}");
    assert!(
        env.has_hold(press.id, "Riverside Tower Litigation").await,
        "step {n}: {:#?}",
        env.cs.records().node_holds(press.id).await.unwrap()
    );

    let state = env.state();
    use ecm_bridge::state::{DocStatus, DocumentStore, StepState};
    // The workflow start is a step done once, its output the process id.
    let done = state
        .records_by_status("archive_on_approval", DocStatus::Done)
        .await
        .unwrap();
    assert_eq!(done.len(), APPROVED.len(), "step {n}: {done:#?}");
    let rec = done
        .iter()
        .find(|r| {
            r.path
                .as_deref()
                .is_some_and(|p| p.ends_with("Press Release.pdf"))
        })
        .unwrap();
    let steps = state
        .steps(
            "archive_on_approval",
            &rec.key(),
            rec.source.version.as_deref().unwrap(),
        )
        .await
        .unwrap();
    let wf = steps.iter().find(|s| s.name == "workflow").unwrap();
    assert_eq!(wf.state, StepState::Done, "step {n}");
    assert_eq!(
        wf.output,
        Some(serde_json::json!({ "process_id": process })),
        "step {n}"
    );
    assert!(
        steps.iter().all(|s| s.state == StepState::Done),
        "step {n}: {steps:#?}"
    );
    // Every document done once; nothing pending, written or failed is left.
    for status in [DocStatus::Pending, DocStatus::Written, DocStatus::Failed] {
        let left = state
            .records_by_status("archive_on_approval", status)
            .await
            .unwrap();
        assert!(left.is_empty(), "step {n}: {left:#?}");
    }
}

/// The same matrix for a run that retries earlier failures: a first run fails every document
/// (its folder cannot be created), then the run that retries them is stopped at every step.
/// Before, a retried document stopped between its record and its after-write steps was never
/// finished: no failure, no intent and no checkpoint led back to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_of_earlier_failures_stopped_anywhere_end_once() {
    let mut seen = Vec::new();
    for n in 1.. {
        let env = Env::start().await;
        env.sandbox
            .contentserver_faults()
            .add(FaultRule::status("POST /api/v2/nodes", 403).with_count(APPROVED.len() as u64))
            .unwrap();
        let failing = env.governed_flow().concurrency(1).build().unwrap();
        let first = failing.run_once().await.unwrap();
        assert_eq!(first.failed.len(), APPROVED.len(), "{}", first.summary());
        drop(failing);

        let hit = Arc::new(Mutex::new(None));
        let crashing = env
            .governed_flow()
            .concurrency(1)
            .failpoint(stop_at(n, hit.clone()))
            .build()
            .unwrap();
        match crashing.run_once().await {
            Err(Error::Stopped(_)) => {}
            Ok(report) => {
                assert!(n > 10, "only {n} steps?");
                assert_eq!(
                    report.retried,
                    APPROVED.len() as u64,
                    "{}",
                    report.summary()
                );
                break;
            }
            Err(e) => panic!("step {n}: {}", e.chain()),
        }
        drop(crashing);
        seen.push(hit.lock().unwrap().expect("stopped somewhere"));

        let restarted = env.governed_flow().build().unwrap();
        let report = restarted.run_once().await.unwrap();
        assert!(report.failed.is_empty(), "step {n}: {:#?}", report.failed);
        let again = restarted.run_once().await.unwrap();
        assert!(again.written.is_empty(), "step {n}: {}", again.summary());
        final_state_is_exact(&env, n).await;
        env.sandbox.shutdown().await;
    }
    for fp in [
        Failpoint::BeforePending,
        Failpoint::BeforeWrite,
        Failpoint::AfterWrite,
        Failpoint::AfterRecord,
        Failpoint::AfterStep,
        Failpoint::AfterSteps,
    ] {
        assert!(seen.contains(&fp), "never stopped at {fp:?}: {seen:?}");
    }
}
