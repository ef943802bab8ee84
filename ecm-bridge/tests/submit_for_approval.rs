//! End to end against the sandbox: two demo policies reach the approval stage (one by its tag,
//! one moved into a stage folder), are written to Content Server with one `Policy Approval`
//! process each; the reviewer approves one and rejects the other through the sandbox's task
//! action; the outcome goes back to Dropbox (tag, move, property with the comment), the
//! approved version is marked official, and an edit made during the review is held and then
//! submitted as the next version. A second run changes nothing; lost answers and stops at every
//! failpoint end in the same state.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use contentserver_client::api::nodes::Node;
use dropbox_client::models::file_properties::TemplateFilterBase;
use dropbox_client::models::files::{CommitInfo, GetMetadataArg, WriteMode};
use ecm_bridge::flows::submit_for_approval::{SubmitForApproval, OUTCOME_STEP, WORKFLOW_STEP};
use ecm_bridge::runner::{Failpoint, RetryPolicy};
use ecm_bridge::state::DocumentStore;
use ecm_bridge::Error;
use sandbox::{FaultRule, LostAnswer};
use support::submit::{config, stage_by_move, APPROVED, REJECTED, TAGGED};
use support::Env;

const APPROVE_COMMENT: &str = "Approved as written.";
const REJECT_COMMENT: &str = "Needs a section on per-diem rates.";

fn submit(env: &Env) -> SubmitForApproval {
    SubmitForApproval::new(env.dropbox.clone(), env.cs.clone(), env.state())
        .config(config())
        .retry(RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(100),
            multiplier: 2,
            jitter: false,
        })
}

/// The CS document `Approvals/HR/Policies/<folder>/<name>`.
async fn cs_doc(env: &Env, folder: &str, name: &str) -> Option<Node> {
    let ews = env.cs.nodes().enterprise_workspace().await.unwrap();
    env.cs
        .nodes()
        .resolve_path(ews.id, &["Approvals", "HR", "Policies", folder, name])
        .await
        .unwrap()
}

async fn processes(
    env: &Env,
    node: i64,
) -> Vec<contentserver_client::api::workflows::WorkflowStatus> {
    env.cs.workflows().attached_to(node).send().await.unwrap()
}

/// The reviewer (admin, the initiator: both steps of Policy Approval are theirs) approves the
/// remote-work policy's process through both steps and rejects the travel policy's.
async fn review(env: &Env) {
    let remote = cs_doc(env, "Drafts", "Remote Work Policy.docx")
        .await
        .unwrap();
    let travel = cs_doc(env, "For Approval", "Travel Policy.docx")
        .await
        .unwrap();
    for _ in 0..2 {
        let p = &processes(env, remote.id).await[0];
        let task = p.current_steps[0].task().unwrap();
        env.cs
            .workflows()
            .approve(task)
            .comment(APPROVE_COMMENT)
            .send()
            .await
            .unwrap();
    }
    let p = &processes(env, travel.id).await[0];
    let task = p.current_steps[0].task().unwrap();
    env.cs
        .workflows()
        .reject(task)
        .comment(REJECT_COMMENT)
        .send()
        .await
        .unwrap();
}

async fn tags(env: &Env, path: &str) -> Vec<String> {
    let res = env.dropbox.files().get_tags([path]).await.unwrap();
    res.paths_to_tags[0]
        .tags
        .iter()
        .filter_map(|t| t.text().map(str::to_owned))
        .collect()
}

async fn review_property(env: &Env, path: &str) -> Vec<(String, String)> {
    let templates = env
        .dropbox
        .file_properties()
        .list_templates_for_user()
        .await
        .unwrap()
        .template_ids;
    let meta = env
        .dropbox
        .files()
        .get_metadata(
            GetMetadataArg::new(path)
                .include_property_groups(TemplateFilterBase::FilterSome(templates)),
        )
        .await
        .unwrap();
    meta.as_file()
        .unwrap()
        .property_groups
        .clone()
        .unwrap_or_default()
        .iter()
        .flat_map(|g| g.fields.iter().map(|f| (f.name.clone(), f.value.clone())))
        .collect()
}

async fn approved_on(env: &Env, node: i64) -> serde_json::Value {
    let cats = env.cs.categories().list(node).await.unwrap();
    let Some(dg) = cats
        .iter()
        .find(|c| c.name.as_deref() == Some("Document Governance"))
    else {
        return serde_json::Value::Null;
    };
    let key = &dg
        .attributes
        .iter()
        .find(|a| a.name.as_deref() == Some("Approved On"))
        .unwrap()
        .key;
    dg.values.get(key).cloned().unwrap_or_default()
}

/// After the first run: both written once, each with one process at `Review`, titled and
/// owned from the rules.
async fn assert_submitted(env: &Env, originals: &[Bytes; 2], at: &str) {
    for ((folder, name), original) in [
        ("Drafts", "Remote Work Policy.docx"),
        ("For Approval", "Travel Policy.docx"),
    ]
    .into_iter()
    .zip(originals)
    {
        let node = cs_doc(env, folder, name)
            .await
            .unwrap_or_else(|| panic!("{at}: {name} not in CS"));
        assert_eq!(env.cs_versions(node.id).await.len(), 1, "{at}: {name}");
        assert_eq!(&env.cs_bytes(node.id, None).await, original, "{at}: {name}");
        let ps = processes(env, node.id).await;
        assert_eq!(ps.len(), 1, "{at}: {name}: {ps:#?}");
        let stem = name.trim_end_matches(".docx");
        assert_eq!(
            ps[0].name.as_deref(),
            Some(format!("Approve {stem}").as_str()),
            "{at}"
        );
        let steps: Vec<_> = ps[0]
            .current_steps
            .iter()
            .map(|s| s.task_name.as_deref())
            .collect();
        assert_eq!(steps, [Some("Review")], "{at}: {name}");
        let values = &ps[0].raw["data_packages"][1]["data"]["values"];
        assert_eq!(
            values["WorkflowForm_1"], "dana@example.com",
            "{at}: {values}"
        );
        assert!(ps[0].due_date.is_some(), "{at}: {:?}", ps[0].raw);
        // The start's output in the step log is that process; the outcome step waits on it.
        let key = ecm_bridge::model::DocRef::dropbox(node_source(env, &node).await, "").key();
        let record = env
            .state()
            .record("submit_for_approval", &key)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{at}: {name}: no record"));
        let version = record.source.version.clone().unwrap_or_default();
        let steps = env
            .state()
            .steps("submit_for_approval", &key, &version)
            .await
            .unwrap();
        let output = |step: &str| {
            steps
                .iter()
                .find(|s| s.name == step)
                .and_then(|s| s.output.clone())
                .unwrap_or_else(|| panic!("{at}: {name}: {steps:#?}"))
        };
        assert_eq!(
            output(WORKFLOW_STEP)["process_id"].as_i64(),
            ps[0].process_id,
            "{at}"
        );
        assert_eq!(
            output(OUTCOME_STEP)["process_id"].as_i64(),
            ps[0].process_id,
            "{at}"
        );
    }
}

/// The Dropbox id in the source marker of a CS document's description.
async fn node_source(env: &Env, node: &Node) -> String {
    let text = env
        .cs
        .nodes()
        .get(node.id)
        .send()
        .await
        .unwrap()
        .description
        .unwrap_or_default();
    let marker = text
        .split_whitespace()
        .find(|t| t.starts_with("dropbox:"))
        .unwrap_or_else(|| panic!("no source marker in {text:?}"));
    ecm_bridge::model::DocRef::parse_marker(marker).unwrap().id
}

/// After the review's outcome came back: the approved one moved to Approved, tagged, its
/// property carrying the comment and the node, marked official in CS; the rejected one moved to
/// Rejected with the reviewer's comment and no official mark.
async fn assert_returned(env: &Env, at: &str) {
    let remote = cs_doc(env, "Drafts", "Remote Work Policy.docx")
        .await
        .unwrap();
    let travel = cs_doc(env, "For Approval", "Travel Policy.docx")
        .await
        .unwrap();
    let approved_path = format!("{APPROVED}/Remote Work Policy.docx");
    let rejected_path = format!("{REJECTED}/Travel Policy.docx");
    assert!(
        tags(env, &approved_path)
            .await
            .contains(&"approved".to_owned()),
        "{at}"
    );
    assert!(
        tags(env, &rejected_path)
            .await
            .contains(&"rejected".to_owned()),
        "{at}"
    );
    let props = review_property(env, &approved_path).await;
    assert!(
        props.contains(&("outcome".into(), "approved".into())),
        "{at}: {props:?}"
    );
    assert!(
        props.contains(&("comment".into(), APPROVE_COMMENT.into())),
        "{at}: {props:?}"
    );
    assert!(
        props.contains(&("reviewer".into(), "admin".into())),
        "{at}: {props:?}"
    );
    assert!(
        props.contains(&("cs_node_id".into(), remote.id.to_string())),
        "{at}"
    );
    let props = review_property(env, &rejected_path).await;
    assert!(
        props.contains(&("outcome".into(), "rejected".into())),
        "{at}: {props:?}"
    );
    assert!(
        props.contains(&("comment".into(), REJECT_COMMENT.into())),
        "{at}: {props:?}"
    );
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert!(
        approved_on(env, remote.id)
            .await
            .as_str()
            .unwrap_or_default()
            .starts_with(&today),
        "{at}: {:?}",
        approved_on(env, remote.id).await
    );
    assert_eq!(
        approved_on(env, travel.id).await,
        serde_json::Value::Null,
        "{at}"
    );
    // The approved version (1) is a major one (standard versioning).
    let versions = env.cs_versions(remote.id).await;
    assert_eq!(
        versions[0].number().map(|n| n.minor),
        Some(0),
        "{at}: {versions:?}"
    );
    assert_eq!(versions[0].version_number, Some(1), "{at}");
    let ps = processes(env, travel.id).await;
    assert_eq!(ps.len(), 1, "{at}: {ps:#?}");
    assert!(ps[0].current_steps.is_empty(), "{at}: still running");
    // The approved one's process ended (a second one may run for an edit submitted since).
    let ps = processes(env, remote.id).await;
    assert_eq!(
        ps.iter().filter(|p| p.current_steps.is_empty()).count(),
        1,
        "{at}: {ps:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_one_reject_another_and_an_edit_during_review_is_the_next_submission() {
    let env = Env::start().await;
    let originals = stage_by_move(&env).await;
    let flow = submit(&env).build().unwrap();
    let first = flow.run_once().await.unwrap();
    assert!(first.failed.is_empty(), "{:#?}", first.failed);
    assert_eq!(first.written.len(), 2, "{}", first.summary());
    assert_eq!(first.awaiting.len(), 2, "{:#?}", first.awaiting);
    assert_submitted(&env, &originals, "first run").await;

    // A tag added to an old file puts it in the stage: seen without a new rev.
    let late = "/Marketing/Campaign 2026/Drafts/Brief.docx";
    env.dropbox
        .files()
        .add_tag(late, "ready_for_approval")
        .await
        .unwrap();
    // An edit of a file under review.
    let edited = Bytes::from(b"Remote work policy, revised during review.\n".repeat(50));
    env.dropbox
        .files()
        .upload(
            CommitInfo::new(TAGGED).mode(WriteMode::Overwrite),
            futures::stream::iter([Ok::<_, std::io::Error>(edited.clone())]),
        )
        .await
        .unwrap();
    let second = flow.run_once().await.unwrap();
    assert!(second.failed.is_empty(), "{:#?}", second.failed);
    let written: Vec<&str> = second.written.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(
        written,
        ["Marketing/Campaign 2026/Drafts/Brief.docx"],
        "{}",
        second.summary()
    );
    // The version under review is unchanged, nothing else started.
    assert_submitted(&env, &originals, "after an edit during review").await;
    let audit = flow
        .state()
        .audit(Some("submit_for_approval"))
        .await
        .unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "edit_during_review")
            .count(),
        1,
        "{audit:#?}"
    );

    review(&env).await;
    let third = flow.run_once().await.unwrap();
    assert!(third.failed.is_empty(), "{:#?}", third.failed);
    assert_returned(&env, "after the review").await;
    let approved_path = format!("{APPROVED}/Remote Work Policy.docx");
    let props = review_property(&env, &approved_path).await;
    assert!(
        props
            .iter()
            .any(|(k, v)| k == "next_submission" && !v.is_empty()),
        "{props:?}"
    );

    // The edit is the next submission: version 2 of the same document, with a new process.
    let fourth = flow.run_once().await.unwrap();
    assert!(fourth.failed.is_empty(), "{:#?}", fourth.failed);
    let remote = cs_doc(&env, "Drafts", "Remote Work Policy.docx")
        .await
        .unwrap();
    assert_eq!(
        env.cs_versions(remote.id).await.len(),
        2,
        "{}",
        fourth.summary()
    );
    assert_eq!(env.cs_bytes(remote.id, Some(2)).await, edited);
    let ps = processes(&env, remote.id).await;
    assert_eq!(ps.len(), 2, "{ps:#?}");
    let running: Vec<_> = ps.iter().filter(|p| !p.current_steps.is_empty()).collect();
    assert_eq!(running.len(), 1, "{ps:#?}");
    assert_eq!(
        running[0].current_steps[0].task_name.as_deref(),
        Some("Review")
    );

    // Then nothing changes.
    let stats = env.sandbox.contentserver_stats();
    let (creates, versions, starts) = (
        stats.count("POST /api/v2/nodes"),
        stats.count("POST /api/v2/nodes/{id}/versions"),
        stats.count("POST /api/v2/draftprocesses"),
    );
    let again = flow.run_once().await.unwrap();
    assert!(again.written.is_empty(), "{}", again.summary());
    assert!(again.failed.is_empty(), "{:#?}", again.failed);
    assert_eq!(stats.count("POST /api/v2/nodes"), creates);
    assert_eq!(stats.count("POST /api/v2/nodes/{id}/versions"), versions);
    assert_eq!(stats.count("POST /api/v2/draftprocesses"), starts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_end_in_the_same_state() {
    let env = Env::start().await;
    let originals = stage_by_move(&env).await;
    let cs = env.sandbox.contentserver_faults();
    let db = env.sandbox.dropbox_faults();
    cs.add(FaultRule::lose("POST /api/v2/nodes", LostAnswer::Status(502)).with_nth(1))
        .unwrap();
    cs.add(FaultRule::lose("PUT /api/v2/draftprocesses/{id}", LostAnswer::Reset).with_nth(4))
        .unwrap();
    cs.add(FaultRule::status("GET /api/v2/workflows/status/processes/{id}", 503).with_every(3))
        .unwrap();
    db.add(FaultRule::lose("/2/files/move_v2", LostAnswer::Status(504)).with_nth(2))
        .unwrap();
    db.add(
        FaultRule::lose("/2/file_properties/properties/overwrite", LostAnswer::Reset).with_nth(1),
    )
    .unwrap();
    let flow = submit(&env).build().unwrap();
    let mut report = flow.run_once().await.unwrap();
    for _ in 0..3 {
        if report.failed.is_empty() {
            break;
        }
        report = flow.run_once().await.unwrap();
    }
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    assert_submitted(&env, &originals, "under faults").await;
    review(&env).await;
    let mut report = flow.run_once().await.unwrap();
    for _ in 0..3 {
        if report.failed.is_empty() {
            break;
        }
        report = flow.run_once().await.unwrap();
    }
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    assert_returned(&env, "under faults").await;
    assert!(
        cs.lost_answers() >= 2,
        "CS answers lost: {}",
        cs.lost_answers()
    );
    assert!(
        db.lost_answers() >= 2,
        "Dropbox answers lost: {}",
        db.lost_answers()
    );
    let again = flow.run_once().await.unwrap();
    assert!(again.written.is_empty(), "{}", again.summary());
    assert_returned(&env, "again").await;
}

/// Stops at the `n`th failpoint reached (1-based) over every run it is used for.
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
async fn stopped_anywhere_and_restarted_each_file_is_reviewed_and_returned_once() {
    let mut seen = Vec::new();
    for n in 1.. {
        let env = Env::start().await;
        let originals = stage_by_move(&env).await;
        let hit = Arc::new(Mutex::new(None));
        let crashing = submit(&env)
            .failpoint(stop_at(n, hit.clone()))
            .build()
            .unwrap();
        let normal = submit(&env).build().unwrap();
        // The submission, stopped or not, then finished by a restart.
        let stopped_first = match crashing.run_once().await {
            Err(Error::Stopped(_)) => true,
            Ok(_) => false,
            Err(e) => panic!("step {n}: {}", e.chain()),
        };
        if stopped_first {
            let r = normal.run_once().await.unwrap();
            assert!(r.failed.is_empty(), "step {n}: {:#?}", r.failed);
        }
        assert_submitted(&env, &originals, &format!("step {n}, submitted")).await;
        review(&env).await;
        // The outcome's way back, stopped (when the failpoint is in this run) and restarted.
        let stopped_second = match crashing.run_once().await {
            Err(Error::Stopped(_)) => true,
            Ok(_) => false,
            Err(e) => panic!("step {n}: {}", e.chain()),
        };
        if !stopped_first && !stopped_second {
            assert!(n > 10, "only {n} steps?");
            break;
        }
        let r = normal.run_once().await.unwrap();
        assert!(r.failed.is_empty(), "step {n}: {:#?}", r.failed);
        let again = normal.run_once().await.unwrap();
        assert!(again.written.is_empty(), "step {n}: {}", again.summary());
        assert_returned(&env, &format!("step {n}")).await;
        seen.push(hit.lock().unwrap().expect("stopped somewhere"));
        env.sandbox.shutdown().await;
    }
    for fp in [
        Failpoint::BeforePending,
        Failpoint::BeforeWrite,
        Failpoint::AfterWrite,
        Failpoint::AfterRecord,
        Failpoint::AfterStep,
        Failpoint::BeforeCheckpoint,
    ] {
        assert!(seen.contains(&fp), "never stopped at {fp:?}: {seen:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_whose_write_failed_is_not_under_review_and_a_newer_rev_replaces_it() {
    let env = Env::start().await;
    let flow = submit(&env).build().unwrap();
    flow.run_once().await.unwrap();
    let node = cs_doc(&env, "Drafts", "Remote Work Policy.docx")
        .await
        .unwrap();
    for _ in 0..2 {
        let task = processes(&env, node.id).await[0].current_steps[0]
            .task()
            .unwrap();
        env.cs.workflows().approve(task).send().await.unwrap();
    }
    let returned = flow.run_once().await.unwrap();
    assert!(returned.failed.is_empty(), "{:#?}", returned.failed);
    let path = format!("{APPROVED}/Remote Work Policy.docx");
    let upload = |text: &'static str| {
        let files = env.dropbox.files();
        let path = path.clone();
        async move {
            files
                .upload(
                    CommitInfo::new(path).mode(WriteMode::Overwrite),
                    futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(
                        text.as_bytes(),
                    ))]),
                )
                .await
                .unwrap();
        }
    };
    // A new draft whose write fails (refused, not retried): not under review.
    env.sandbox
        .contentserver_faults()
        .add(FaultRule::status("POST /api/v2/nodes/{id}/versions", 403).with_count(1))
        .unwrap();
    upload("Remote work policy, second draft.\n").await;
    let failed = flow.run_once().await.unwrap();
    assert_eq!(failed.failed.len(), 1, "{}", failed.summary());
    // A third draft replaces it: version 2 is its bytes, with its own process.
    upload("Remote work policy, third draft.\n").await;
    let third = flow.run_once().await.unwrap();
    assert!(third.failed.is_empty(), "{:#?}", third.failed);
    let versions = env.cs_versions(node.id).await;
    assert_eq!(versions.len(), 2, "{}", third.summary());
    assert_eq!(
        env.cs_bytes(node.id, Some(2)).await,
        Bytes::from_static(b"Remote work policy, third draft.\n")
    );
    assert_eq!(processes(&env, node.id).await.len(), 2);
}

#[tokio::test]
async fn a_webhook_notification_wakes_the_watching_flow() {
    use ecm_bridge::runner::Progress;
    use ecm_bridge::webhook::WakeHub;

    let env = Env::start().await;
    let hub = WakeHub::new();
    let (runs_tx, mut runs) = tokio::sync::mpsc::unbounded_channel();
    let flow = submit(&env)
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
