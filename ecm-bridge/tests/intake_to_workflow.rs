//! End to end against the sandbox: two outside parties submit files through the demo's file
//! request; `intake_to_workflow` files each once in Content Server per request and submitter,
//! owned, permissioned and described, with one review process at its first step, and marks
//! the Dropbox file processed. A second run changes nothing; injected faults (answers lost after
//! the write committed) and stops at every failpoint end in the same state.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use contentserver_client::api::nodes::Node;
use ecm_bridge::flows::intake_to_workflow::{IntakeConfig, IntakeToWorkflow};
use ecm_bridge::runner::{Failpoint, RetryPolicy};
use ecm_bridge::state::DocumentStore;
use ecm_bridge::Error;
use futures::TryStreamExt;
use sandbox::{FaultRule, LostAnswer};
use support::intake::{config, request_id, submit, submit_all, DESTINATION, SUBMISSIONS, TITLE};
use support::Env;

fn team(env: &Env) -> dropbox_client::Client {
    dropbox_client::Client::builder()
        .base_url(env.sandbox.dropbox_url().parse().unwrap())
        .access_token("sandbox-team-token")
        .build()
        .unwrap()
}

fn intake(env: &Env) -> IntakeToWorkflow {
    IntakeToWorkflow::new(env.dropbox.clone(), env.cs.clone(), env.state())
        .team_log(team(env))
        .config(config())
        .refresh_requests_after(Duration::ZERO)
        .retry(RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(100),
            multiplier: 2,
            jitter: false,
        })
}

async fn children(env: &Env, folder: i64) -> Vec<Node> {
    env.cs
        .nodes()
        .children(folder)
        .into_stream()
        .try_collect()
        .await
        .unwrap()
}

/// Every document below `Intake/<request title>`, by submitter folder.
async fn filed(env: &Env) -> Vec<(String, Node)> {
    let ews = env.cs.nodes().enterprise_workspace().await.unwrap();
    let Some(request) = env
        .cs
        .nodes()
        .resolve_path(ews.id, &["Intake", TITLE])
        .await
        .unwrap()
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for sub in children(env, request.id).await {
        for doc in children(env, sub.id).await {
            out.push((sub.name.clone(), doc));
        }
    }
    out
}

/// The final state, read back from both sides: each submission filed once (one version, its
/// bytes) under its submitter, described, owned by `editor`, readable by Records Managers,
/// with exactly one `Intake Review` process at `Triage`; the Dropbox file tagged `processed`.
async fn assert_final(env: &Env, at: &str) {
    let docs = filed(env).await;
    assert_eq!(docs.len(), SUBMISSIONS.len(), "{at}: {docs:#?}");
    let editor = env.cs.members().find_user("editor").await.unwrap().unwrap();
    let rm = env
        .cs
        .members()
        .find_group("Records Managers")
        .await
        .unwrap()
        .unwrap();
    for (name, who, email, bytes) in SUBMISSIONS {
        let folder = format!("{who} ({email})");
        let (_, node) = docs
            .iter()
            .find(|(f, d)| *f == folder && d.name == name)
            .unwrap_or_else(|| panic!("{at}: {name} not filed under {folder}: {docs:#?}"));
        assert_eq!(env.cs_versions(node.id).await.len(), 1, "{at}: {name}");
        assert_eq!(env.cs_bytes(node.id, None).await, bytes.as_bytes(), "{at}");
        let path = format!("{DESTINATION}/{name}");
        assert_eq!(env.dropbox_bytes(&path).await, bytes.as_bytes(), "{at}");

        // The description, by attribute name.
        let cats = env.cs.categories().list(node.id).await.unwrap();
        let cat = cats
            .iter()
            .find(|c| c.name.as_deref() == Some("Intake Submission"))
            .unwrap_or_else(|| panic!("{at}: {name}: {cats:?}"));
        let value = |attr: &str| cat.value_named(attr).cloned().unwrap_or_default();
        assert_eq!(value("Request Title"), TITLE, "{at}");
        assert_eq!(value("Request Id"), request_id(env).as_str(), "{at}");
        assert_eq!(value("Submitter Name"), who, "{at}");
        assert_eq!(value("Submitter Email"), email, "{at}");
        let received = value("Received At").as_str().unwrap_or_default().to_owned();
        let received = chrono::DateTime::parse_from_rfc3339(&received)
            .unwrap_or_else(|e| panic!("{at}: {received:?}: {e}"));
        assert!(value("Received On")
            .as_str()
            .unwrap_or_default()
            .starts_with(&received.format("%Y-%m-%d").to_string()));

        // Owner and grants.
        let perms = env.cs.permissions().get(node.id).await.unwrap();
        let owner = perms.iter().find(|p| p.kind == "owner").unwrap();
        assert_eq!(owner.right_id, Some(editor.id), "{at}: {perms:?}");
        let grant = perms
            .iter()
            .find(|p| p.kind == "custom" && p.right_id == Some(rm.id))
            .unwrap_or_else(|| panic!("{at}: {perms:?}"));
        assert_eq!(grant.permissions.len(), 2, "{at}: {grant:?}");

        // One review process, at its first step, titled and due from the rules.
        let processes = env
            .cs
            .workflows()
            .attached_to(node.id)
            .send()
            .await
            .unwrap();
        assert_eq!(processes.len(), 1, "{at}: {name}: {processes:#?}");
        let p = &processes[0];
        assert_eq!(
            p.name.as_deref(),
            Some(format!("Review {name} from {folder}").as_str()),
            "{at}"
        );
        let steps: Vec<_> = p
            .current_steps
            .iter()
            .map(|s| s.task_name.as_deref())
            .collect();
        assert_eq!(steps, [Some("Triage")], "{at}");
        let due = (received + chrono::Duration::days(5)).date_naive();
        assert_eq!(p.due_date.map(|d| d.date()), Some(due), "{at}: {:?}", p.raw);

        // The start's output in the step log is that process.
        let meta = env
            .dropbox
            .files()
            .get_metadata(path.as_str())
            .await
            .unwrap();
        let file = meta.as_file().unwrap();
        let key = ecm_bridge::model::DocRef::dropbox(&file.id, "").key();
        let steps = env
            .state()
            .steps("intake_to_workflow", &key, &file.rev)
            .await
            .unwrap();
        let start = steps
            .iter()
            .find(|s| s.name == ecm_bridge::connectors::contentserver::WORKFLOW_STEP)
            .unwrap_or_else(|| panic!("{at}: {name}: {steps:#?}"));
        assert_eq!(
            start.output.as_ref().and_then(|o| o["process_id"].as_i64()),
            p.process_id,
            "{at}: {name}"
        );

        // Marked in Dropbox.
        let tags = env.dropbox.files().get_tags([path.as_str()]).await.unwrap();
        let texts: Vec<&str> = tags.paths_to_tags[0]
            .tags
            .iter()
            .filter_map(|t| t.text())
            .collect();
        assert_eq!(texts, ["processed"], "{at}: {name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_are_filed_once_with_owner_metadata_and_a_review() {
    let env = Env::start().await;
    submit_all(&env).await;
    let flow = intake(&env).build().unwrap();
    let report = flow.run_once().await.unwrap();
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    assert_eq!(report.written.len(), 2, "{}", report.summary());
    // Every other demo file is not intake.
    assert!(
        report
            .skipped
            .iter()
            .all(|s| s.reason.contains("not in a file request")),
        "{:#?}",
        report.skipped
    );
    assert_final(&env, "first run").await;

    // A second run changes nothing at either side.
    let stats = env.sandbox.contentserver_stats();
    let creates = stats.count("POST /api/v2/nodes");
    let starts = stats.count("POST /api/v2/draftprocesses");
    let again = flow.run_once().await.unwrap();
    assert!(again.written.is_empty(), "{}", again.summary());
    assert!(again.failed.is_empty(), "{:#?}", again.failed);
    assert_eq!(stats.count("POST /api/v2/nodes"), creates);
    assert_eq!(stats.count("POST /api/v2/draftprocesses"), starts);
    // Nor does a fresh flow on the same state.
    let fresh = intake(&env).build().unwrap().run_once().await.unwrap();
    assert!(fresh.written.is_empty(), "{}", fresh.summary());
    assert_final(&env, "after the second run").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_and_faults_end_in_the_same_state() {
    let env = Env::start().await;
    submit_all(&env).await;
    let cs = env.sandbox.contentserver_faults();
    let db = env.sandbox.dropbox_faults();
    // The create commits, its answer is lost: the write is found and adopted, not repeated.
    cs.add(FaultRule::lose("POST /api/v2/nodes", LostAnswer::Status(502)).with_nth(1))
        .unwrap();
    // The first process's Initiate commits, its answer is lost: the process is found attached
    // to the document, not started twice.
    cs.add(FaultRule::lose("PUT /api/v2/draftprocesses/{id}", LostAnswer::Reset).with_nth(2))
        .unwrap();
    cs.add(FaultRule::status("PUT /api/v2/nodes/{id}/permissions/owner", 503).with_nth(1))
        .unwrap();
    db.add(FaultRule::lose("/2/files/tags/add", LostAnswer::Status(504)).with_nth(1))
        .unwrap();
    db.add(FaultRule::status("/2/team_log/get_events", 503).with_nth(1))
        .unwrap();
    db.add(FaultRule::reset("/2/files/download").with_nth(1))
        .unwrap();

    let flow = intake(&env)
        .config(IntakeConfig {
            concurrency: 1,
            ..config()
        })
        .build()
        .unwrap();
    let mut report = flow.run_once().await.unwrap();
    for _ in 0..3 {
        if report.failed.is_empty() {
            break;
        }
        report = flow.run_once().await.unwrap();
    }
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    assert!(env.sandbox.contentserver_faults().lost_answers() >= 2);
    assert_final(&env, "under faults").await;
    let again = flow.run_once().await.unwrap();
    assert!(again.written.is_empty(), "{}", again.summary());
    assert_final(&env, "after faults, again").await;
}

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
async fn stopped_anywhere_and_restarted_each_submission_is_taken_in_once() {
    let mut seen = Vec::new();
    for n in 1.. {
        let env = Env::start().await;
        submit_all(&env).await;
        let hit = Arc::new(Mutex::new(None));
        let crashing = intake(&env)
            .config(IntakeConfig {
                concurrency: 1,
                ..config()
            })
            .failpoint(stop_at(n, hit.clone()))
            .build()
            .unwrap();
        match crashing.run_once().await {
            Err(Error::Stopped(_)) => {}
            Ok(_) => {
                assert!(n > 10, "only {n} steps?");
                break;
            }
            Err(e) => panic!("step {n}: {}", e.chain()),
        }
        drop(crashing);
        seen.push(hit.lock().unwrap().expect("stopped somewhere"));
        let restarted = intake(&env).build().unwrap();
        let report = restarted.run_once().await.unwrap();
        assert!(report.failed.is_empty(), "step {n}: {:#?}", report.failed);
        let again = restarted.run_once().await.unwrap();
        assert!(again.written.is_empty(), "step {n}: {}", again.summary());
        assert_final(&env, &format!("step {n}")).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_without_a_submitter_is_retried_and_intake_folders_and_processed_moves_work() {
    let env = Env::start().await;
    submit(
        &env,
        "W-2.pdf",
        (SUBMISSIONS[0].1, SUBMISSIONS[0].2),
        SUBMISSIONS[0].3,
    )
    .await;
    // Dropped into the request's destination by its owner: the team log names no submitter.
    let upload = |path: &'static str, text: &'static str| {
        let files = env.dropbox.files();
        async move {
            files
                .upload(
                    dropbox_client::models::files::CommitInfo::new(path),
                    futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(
                        text.as_bytes(),
                    ))]),
                )
                .await
                .unwrap();
        }
    };
    upload("/Finance/Tax Intake/owner note.txt", "dropped by the owner").await;
    // Dropped into a plain intake folder.
    upload("/Shared/Outside Counsel/Memo.pdf", "%PDF-1.4 memo").await;
    let cfg = IntakeConfig {
        intake_folders: vec!["/Shared/Outside Counsel".into()],
        processed: ecm_bridge::flows::intake_to_workflow::ProcessedMarking {
            tag: None,
            move_to: Some("/Intake Processed".into()),
        },
        ..config()
    };
    let flow = intake(&env).config(cfg.clone()).build().unwrap();
    let report = flow.run_once().await.unwrap();
    let failed: Vec<_> = report
        .failed
        .iter()
        .filter_map(|f| f.path.as_deref())
        .collect();
    assert_eq!(
        failed,
        ["Finance/Tax Intake/owner note.txt"],
        "{:#?}",
        report.failed
    );
    assert!(
        report.failed[0].error.contains("names no submitter"),
        "{}",
        report.failed[0].error
    );
    assert_eq!(report.written.len(), 2, "{}", report.summary());
    let ews = env.cs.nodes().enterprise_workspace().await.unwrap();
    let memo = env
        .cs
        .nodes()
        .resolve_path(
            ews.id,
            &["Intake", "Outside Counsel", "unknown", "Memo.pdf"],
        )
        .await
        .unwrap()
        .expect("the intake folder's file is filed under its folder's name");
    assert_eq!(
        env.cs_bytes(memo.id, None).await,
        "%PDF-1.4 memo".as_bytes()
    );
    // Both moved to the processed folder, which is never taken in again.
    for name in ["W-2.pdf", "Memo.pdf"] {
        let moved = env
            .dropbox_bytes(&format!("/Intake Processed/{name}"))
            .await;
        assert!(!moved.is_empty(), "{name}");
    }
    // Still failing on the next run (named, not dropped), until a label is configured.
    let again = flow.run_once().await.unwrap();
    assert_eq!(again.failed.len(), 1, "{:#?}", again.failed);
    assert!(again.written.is_empty(), "{}", again.summary());
    let labelled = intake(&env)
        .config(IntakeConfig {
            unknown_submitter: Some("Unknown submitter".into()),
            ..cfg
        })
        .build()
        .unwrap();
    let last = labelled.run_once().await.unwrap();
    assert!(last.failed.is_empty(), "{:#?}", last.failed);
    let note = env
        .cs
        .nodes()
        .resolve_path(
            ews.id,
            &["Intake", TITLE, "Unknown submitter", "owner note.txt"],
        )
        .await
        .unwrap()
        .expect("filed under the label");
    assert_eq!(env.cs_versions(note.id).await.len(), 1);
    assert_eq!(filed(&env).await.len(), 2);
}

#[tokio::test]
async fn a_webhook_notification_wakes_the_watching_flow() {
    use ecm_bridge::runner::Progress;
    use ecm_bridge::webhook::WakeHub;

    let env = Env::start().await;
    let hub = WakeHub::new();
    let (runs_tx, mut runs) = tokio::sync::mpsc::unbounded_channel();
    let flow = intake(&env)
        .wake_hub(hub.clone())
        .on_progress(Arc::new(move |p: &Progress| {
            if let Progress::RunFinished(r) = p {
                let _ = runs_tx.send(r.found);
            }
        }))
        .build()
        .unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let watcher = {
        let f = flow.clone();
        tokio::spawn(async move {
            f.watch(Duration::from_secs(3600), async {
                let _ = stop_rx.await;
            })
            .await
        })
    };
    let wait = Duration::from_secs(30);
    tokio::time::timeout(wait, runs.recv())
        .await
        .expect("the first run")
        .unwrap();
    // Nothing changed in Dropbox, so longpoll stays quiet and the fallback is an hour away:
    // only the notification can start a second run.
    let account = env
        .dropbox
        .users()
        .get_current_account()
        .await
        .unwrap()
        .account_id;
    assert_eq!(hub.wake(&[account]), 1, "the watching flow is subscribed");
    tokio::time::timeout(wait, runs.recv())
        .await
        .expect("the notification did not wake the flow")
        .unwrap();
    let _ = stop_tx.send(());
    assert_eq!(watcher.await.unwrap().unwrap(), 2);
}
