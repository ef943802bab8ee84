//! Review-folder mode and the approval step: a Dropbox edit waits in CS (a review document,
//! or a minor version) until it is accepted by hand or by a workflow's outcome, or rejected.

use super::*;
use ecm_bridge::flows::version_sync::{ApprovalConfig, PendingMode, APPROVAL_STEP};
use ecm_bridge::state::StepState;

const REVIEW: &str = "Joint Venture Review";
const MAP: &str = "Policy Approval";

fn review_config(approval: bool) -> SyncConfig {
    SyncConfig {
        pending: PendingMode::ReviewFolder,
        review_folder: Some(format!("Collaboration/{REVIEW}")),
        approval: approval.then(approval_config),
        ..SyncConfig::demo()
    }
}

fn approval_config() -> ApprovalConfig {
    ApprovalConfig {
        map: MAP.into(),
        title: "Review the Dropbox edit of {name}".into(),
        comment: None,
    }
}

/// The review document of `name`, if any.
async fn review_doc(env: &Env, name: &str) -> Option<i64> {
    let ews = env.cs.nodes().enterprise_workspace().await.unwrap();
    env.cs
        .nodes()
        .resolve_path(ews.id, &["Collaboration", REVIEW, name])
        .await
        .unwrap()
        .map(|n| n.id)
}

/// The processes with `node` attached.
async fn processes(
    env: &Env,
    node: i64,
) -> Vec<contentserver_client::api::workflows::WorkflowStatus> {
    env.cs.workflows().attached_to(node).send().await.unwrap()
}

/// Finishes process `process` (attached to `node`): approved through both steps of Policy
/// Approval, or rejected at the first.
async fn finish(env: &Env, node: i64, process: i64, approve: bool) {
    let steps = if approve { 2 } else { 1 };
    for _ in 0..steps {
        let p = processes(env, node).await;
        let p = p
            .iter()
            .find(|p| p.process_id == Some(process))
            .unwrap_or_else(|| panic!("process {process} on node {node}: {p:?}"));
        let task = p.current_steps[0].task().unwrap();
        let w = env.cs.workflows();
        match approve {
            true => w.approve(task).comment("fine").send().await.unwrap(),
            false => w.reject(task).comment("no").send().await.unwrap(),
        };
    }
}

/// The node a pending edit's process has attached: the review document, or the record.
async fn attached(env: &Env, mode: PendingMode, record: i64) -> i64 {
    match mode {
        PendingMode::ReviewFolder => review_doc(env, TERMS).await.expect("a review document"),
        PendingMode::MinorVersion => record,
    }
}

/// Asserts a pending edit of TERMS waits as `text` in its review document, the record
/// document untouched at its official version `official`; answers the review document.
async fn assert_pending_in_review(
    env: &Env,
    s: &SyncRunner,
    official: i64,
    rev: &str,
    text: &str,
) -> i64 {
    let terms = node(env, TERMS).await.unwrap();
    let review = review_doc(env, TERMS).await.expect("a review document");
    assert_eq!(
        latest(env, terms).await,
        (official, true),
        "the record is untouched"
    );
    let rec = s.pair(terms).await.unwrap().unwrap();
    assert_eq!(rec.status, DocStatus::Awaiting);
    assert_eq!(rec.source.version, Some(official.to_string()));
    let p = s.pending(terms).await.unwrap().unwrap();
    assert_eq!((p.rev.as_str(), p.review), (rev, Some(review)));
    assert_eq!(env.cs_bytes(review, Some(p.version)).await, text);
    // Dropbox keeps the edit; nothing is sent back.
    assert_eq!(file(env, &db_path(TERMS)).await.unwrap().1, rev);
    review
}

/// The conflicted copies in the Dropbox folder.
async fn copies(env: &Env) -> Vec<String> {
    let mut n = names(env).await;
    n.retain(|x| x.contains("conflicted copy"));
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_folder_edit_is_accepted_then_another_is_rejected() {
    let env = Env::start().await;
    let s = build(&env, env.state(), review_config(false)).await;
    s.run_once().await.unwrap();
    let terms = node(&env, TERMS).await.unwrap();
    let rev = edit(&env, &db_path(TERMS), "Term Sheet, partner's edit.").await;
    let r = s.run_once().await.unwrap();
    assert_eq!(r.of(SyncAction::Pending).len(), 1, "{r}");
    assert_pending_in_review(&env, &s, 1, &rev, "Term Sheet, partner's edit.").await;
    quiet(&s.run_once().await.unwrap());

    s.accept(terms).await.unwrap();
    let r = s.run_once().await.unwrap();
    assert_eq!(r.of(SyncAction::Accepted).len(), 1, "{r}");
    let (official, major) = latest(&env, terms).await;
    assert_eq!((official, major), (2, true));
    let rec = assert_in_step(&env, &s, TERMS, 2).await;
    assert_eq!(rec.target.unwrap().version.as_deref(), Some(rev.as_str()));
    assert_eq!(
        review_doc(&env, TERMS).await,
        None,
        "the review document is removed"
    );
    assert!(s.pending(terms).await.unwrap().is_none());
    quiet(&s.run_once().await.unwrap());

    // A second edit, rejected: the review document removed, the edit kept as a conflicted
    // copy, the official version put back; CS unchanged.
    let rev = edit(
        &env,
        &db_path(TERMS),
        "Term Sheet, an edit CS will not take.",
    )
    .await;
    s.run_once().await.unwrap();
    assert_pending_in_review(&env, &s, 2, &rev, "Term Sheet, an edit CS will not take.").await;
    s.reject(terms).await.unwrap();
    let r = s.run_once().await.unwrap();
    let rejected = r.of(SyncAction::Rejected);
    assert_eq!(rejected.len(), 1, "{r}");
    assert_eq!(latest(&env, terms).await, (2, true), "CS gains no version");
    assert_in_step(&env, &s, TERMS, 2).await;
    assert_eq!(
        env.dropbox_bytes(&db_path(TERMS)).await,
        "Term Sheet, partner's edit."
    );
    let c = copies(&env).await;
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(rejected[0].detail.contains(&c[0]), "{}", rejected[0].detail);
    assert_eq!(
        env.dropbox_bytes(&format!("{DB}/{}", c[0])).await,
        "Term Sheet, an edit CS will not take."
    );
    assert_eq!(review_doc(&env, TERMS).await, None);
    quiet(&s.run_once().await.unwrap());
}

/// The approval step in both modes: the first edit approved, the second rejected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_workflow_accepts_one_edit_and_rejects_another() {
    for mode in [PendingMode::ReviewFolder, PendingMode::MinorVersion] {
        let env = Env::start().await;
        let state: Arc<dyn Store> = env.state();
        let c = SyncConfig {
            pending: mode,
            ..review_config(true)
        };
        let s = build(&env, state.clone(), c).await;
        s.run_once().await.unwrap();
        let terms = node(&env, TERMS).await.unwrap();
        let rev = edit(&env, &db_path(TERMS), "Term Sheet, partner's edit.").await;
        let r = s.run_once().await.unwrap();
        assert_eq!(r.of(SyncAction::Pending).len(), 1, "{mode:?}: {r}");
        let waiting = attached(&env, mode, terms).await;
        let p = s.pending(terms).await.unwrap().unwrap();
        let ps = processes(&env, waiting).await;
        assert_eq!(ps.len(), 1, "{mode:?}: one process");
        assert_eq!(
            p.process, ps[0].process_id,
            "{mode:?}: the process is recorded"
        );
        let rec = s.pair(terms).await.unwrap().unwrap();
        let steps = state.steps(s.name(), &rec.key(), &rev).await.unwrap();
        assert_eq!(steps.len(), 1, "{steps:?}");
        assert_eq!(
            (steps[0].name.as_str(), steps[0].state),
            (APPROVAL_STEP, StepState::Done)
        );
        // Running: nothing changes, nothing starts twice.
        quiet(&s.run_once().await.unwrap());
        assert_eq!(processes(&env, waiting).await.len(), 1);
        let (before, _) = latest(&env, terms).await;

        finish(&env, waiting, p.process.unwrap(), true).await;
        let r = s.run_once().await.unwrap();
        assert_eq!(r.of(SyncAction::Accepted).len(), 1, "{mode:?}: {r}");
        let (official, major) = latest(&env, terms).await;
        assert!(major && official >= before.max(2), "{mode:?}: {official}");
        assert_in_step(&env, &s, TERMS, official).await;
        assert_eq!(review_doc(&env, TERMS).await, None);
        quiet(&s.run_once().await.unwrap());

        let rev = edit(
            &env,
            &db_path(TERMS),
            "Term Sheet, an edit CS will not take.",
        )
        .await;
        let r = s.run_once().await.unwrap();
        assert_eq!(r.of(SyncAction::Pending).len(), 1, "{mode:?}: {r}");
        let waiting = attached(&env, mode, terms).await;
        let p = s.pending(terms).await.unwrap().unwrap();
        let process = p.process.expect("a second process");
        assert_ne!(Some(process), ps[0].process_id);
        finish(&env, waiting, process, false).await;
        let r = s.run_once().await.unwrap();
        let rejected = r.of(SyncAction::Rejected);
        assert_eq!(rejected.len(), 1, "{mode:?}: {r}");
        assert!(
            rejected[0].detail.contains("rejected in process"),
            "{}",
            rejected[0].detail
        );
        // CS keeps its official version: no version added (minor mode: the rejected edit
        // stays a minor version above it, not official).
        let expect = match mode {
            PendingMode::ReviewFolder => (official, true),
            PendingMode::MinorVersion => (official + 1, false),
        };
        assert_eq!(latest(&env, terms).await, expect, "{mode:?}");
        assert_in_step(&env, &s, TERMS, official).await;
        assert_eq!(
            env.dropbox_bytes(&db_path(TERMS)).await,
            "Term Sheet, partner's edit."
        );
        let c = copies(&env).await;
        assert_eq!(c.len(), 1, "{mode:?}: {c:?}");
        assert_eq!(
            env.dropbox_bytes(&format!("{DB}/{}", c[0])).await,
            "Term Sheet, an edit CS will not take."
        );
        assert_eq!(review_doc(&env, TERMS).await, None);
        let rec = s.pair(terms).await.unwrap().unwrap();
        let steps = state.steps(s.name(), &rec.key(), &rev).await.unwrap();
        assert_eq!(steps.len(), 1, "{steps:?}");
        quiet(&s.run_once().await.unwrap());
        env.sandbox.shutdown().await;
    }
}

/// A lost answer on the review document's create and on the workflow start: the next run
/// adopts the document and finds the process; nothing is made twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_on_the_review_document_and_the_workflow_start_make_nothing_twice() {
    let env = Env::start().await;
    let s = build(&env, env.state(), review_config(true)).await;
    s.run_once().await.unwrap();
    let terms = node(&env, TERMS).await.unwrap();
    let cs = env.sandbox.contentserver_faults();
    cs.add(FaultRule::lose("POST /api/v2/nodes", LostAnswer::Status(502)).with_nth(1))
        .unwrap();
    // The start's second PUT (after the form update) initiates the process.
    cs.add(FaultRule::lose("PUT /api/v2/draftprocesses/{id}", LostAnswer::Status(502)).with_nth(2))
        .unwrap();
    let rev = edit(&env, &db_path(TERMS), "Term Sheet, partner's edit.").await;
    let mut runs = 0;
    loop {
        runs += 1;
        let r = s.run_once().await.unwrap();
        if r.of(SyncAction::Failed).is_empty() {
            break;
        }
        assert!(runs < 4, "{r}");
    }
    assert!(cs.lost_answers() >= 2, "{}", cs.lost_answers());
    let review = assert_pending_in_review(&env, &s, 1, &rev, "Term Sheet, partner's edit.").await;
    let ews = env.cs.nodes().enterprise_workspace().await.unwrap();
    let folder = env
        .cs
        .nodes()
        .resolve_path(ews.id, &["Collaboration", REVIEW])
        .await
        .unwrap()
        .unwrap();
    let children: Vec<_> = {
        use futures::TryStreamExt;
        env.cs
            .nodes()
            .children(folder.id)
            .into_stream()
            .try_collect()
            .await
            .unwrap()
    };
    assert_eq!(children.len(), 1, "one review document: {children:?}");
    let ps = processes(&env, review).await;
    assert_eq!(ps.len(), 1, "one process: {ps:?}");
    let p = s.pending(terms).await.unwrap().unwrap();
    assert_eq!(p.process, ps[0].process_id);
    quiet(&s.run_once().await.unwrap());
    assert_eq!(processes(&env, review).await.len(), 1);

    finish(&env, review, p.process.unwrap(), true).await;
    let r = s.run_once().await.unwrap();
    assert_eq!(r.of(SyncAction::Accepted).len(), 1, "{r}");
    assert_eq!(latest(&env, terms).await, (2, true));
    assert_in_step(&env, &s, TERMS, 2).await;
    quiet(&s.run_once().await.unwrap());
}

/// A run stopped at each failpoint of a pending edit's way into the review folder and its
/// workflow start, then restarted: one review document, one process, the same record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_at_any_failpoint_of_a_review_and_restarted_makes_nothing_twice() {
    for n in 1.. {
        let env = Env::start().await;
        let state: Arc<dyn Store> = env.state();
        let s = build(&env, state.clone(), review_config(true)).await;
        s.run_once().await.unwrap();
        let rev = edit(&env, &db_path(TERMS), "Term Sheet, partner's edit.").await;
        let hit = Arc::new(Mutex::new(None));
        let crashing = VersionSync::new(
            env.dropbox.clone(),
            env.cs.clone(),
            state.clone(),
            review_config(true),
        )
        .failpoint(stop_at(n, hit.clone()))
        .build()
        .await
        .unwrap();
        let stopped = match crashing.run_once().await {
            Err(Error::Stopped(_)) => true,
            Ok(_) => false,
            Err(e) => panic!("failpoint {n}: {}", e.chain()),
        };
        if stopped {
            let r = s.run_once().await.unwrap();
            assert!(r.of(SyncAction::Failed).is_empty(), "failpoint {n}: {r}");
        }
        let review =
            assert_pending_in_review(&env, &s, 1, &rev, "Term Sheet, partner's edit.").await;
        let ps = processes(&env, review).await;
        assert_eq!(ps.len(), 1, "failpoint {n}: one process");
        assert_eq!(
            s.pending(node(&env, TERMS).await.unwrap())
                .await
                .unwrap()
                .unwrap()
                .process,
            ps[0].process_id
        );
        quiet(&s.run_once().await.unwrap());
        env.sandbox.shutdown().await;
        if !stopped {
            assert!(n > 3, "only {n} failpoints?");
            break;
        }
    }
}

/// Minor-version mode attaches every edit's process to the same record document: a second
/// edit whose workflow start failed in doubt (its answer lost after the process began, or a
/// 502 before it did) must end with its own process, never the first edit's finished one
/// (which would accept it unapproved).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_edit_whose_start_failed_gets_its_own_process_not_the_first() {
    // The start's second PUT (after the form update) initiates the process.
    const START: &str = "PUT /api/v2/draftprocesses/{id}";
    for (fault, began) in [
        (FaultRule::lose(START, LostAnswer::Status(502)), true),
        (FaultRule::status(START, 502), false),
    ] {
        let env = Env::start().await;
        let c = SyncConfig {
            pending: PendingMode::MinorVersion,
            ..review_config(true)
        };
        let s = build(&env, env.state(), c).await;
        s.run_once().await.unwrap();
        let terms = node(&env, TERMS).await.unwrap();
        edit(&env, &db_path(TERMS), "Term Sheet, partner's edit.").await;
        s.run_once().await.unwrap();
        let first = s.pending(terms).await.unwrap().unwrap().process.unwrap();
        finish(&env, terms, first, true).await;
        let r = s.run_once().await.unwrap();
        assert_eq!(r.of(SyncAction::Accepted).len(), 1, "{r}");
        let (official, _) = latest(&env, terms).await;

        let cs = env.sandbox.contentserver_faults();
        cs.add(fault.with_nth(2)).unwrap();
        let rev = edit(&env, &db_path(TERMS), "Term Sheet, a second edit.").await;
        for runs in 1.. {
            let r = s.run_once().await.unwrap();
            assert!(
                r.of(SyncAction::Accepted).is_empty(),
                "began {began}: accepted without its approval: {r}"
            );
            if r.of(SyncAction::Failed).is_empty() {
                break;
            }
            assert!(runs < 4, "{r}");
        }
        assert_eq!(cs.lost_answers(), u64::from(began));
        let ps = processes(&env, terms).await;
        assert_eq!(ps.len(), 2, "began {began}: one process per edit: {ps:?}");
        let p = s.pending(terms).await.unwrap().unwrap();
        assert_eq!(p.rev, rev);
        let second = p.process.expect("the second edit's process");
        assert_ne!(
            second, first,
            "began {began}: the first edit's process taken"
        );
        assert!(ps.iter().any(|x| x.process_id == Some(second)), "{ps:?}");
        assert_eq!(
            latest(&env, terms).await,
            (official + 1, false),
            "still pending"
        );
        assert_eq!(
            s.pair(terms).await.unwrap().unwrap().status,
            DocStatus::Awaiting
        );
        quiet(&s.run_once().await.unwrap());

        finish(&env, terms, second, true).await;
        let r = s.run_once().await.unwrap();
        assert_eq!(r.of(SyncAction::Accepted).len(), 1, "{r}");
        let (now, major) = latest(&env, terms).await;
        assert!(major && now > official, "{now} after {official}");
        assert_in_step(&env, &s, TERMS, now).await;
        quiet(&s.run_once().await.unwrap());
        env.sandbox.shutdown().await;
    }
}

/// A pair that ends while an edit waits in the review folder (its Dropbox file deleted, under
/// each deletion policy, or both sides deleted) leaves no review document behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_that_ends_takes_its_waiting_review_document_with_it() {
    for (policy, both) in [
        (DeletionPolicy::Mirror, false),
        (DeletionPolicy::RecordOnly, false),
        (DeletionPolicy::Restore, false),
        (DeletionPolicy::RecordOnly, true),
    ] {
        let env = Env::start().await;
        let c = SyncConfig {
            deletion: policy,
            ..review_config(false)
        };
        let s = build(&env, env.state(), c).await;
        s.run_once().await.unwrap();
        let terms = node(&env, TERMS).await.unwrap();
        let rev = edit(&env, &db_path(TERMS), "Term Sheet, partner's edit.").await;
        s.run_once().await.unwrap();
        assert_pending_in_review(&env, &s, 1, &rev, "Term Sheet, partner's edit.").await;
        env.dropbox.files().delete(db_path(TERMS)).await.unwrap();
        if both {
            env.cs.nodes().delete(terms).await.unwrap();
        }
        let r = s.run_once().await.unwrap();
        let what = format!("{policy:?}, both {both}");
        let action = match policy {
            DeletionPolicy::Restore => SyncAction::Restored,
            _ => SyncAction::Deleted,
        };
        let lines = r.of(action);
        assert_eq!(lines.len(), 1, "{what}: {r}");
        assert!(
            lines[0].detail.contains("waiting review document"),
            "{what}: {}",
            lines[0].detail
        );
        assert_eq!(review_doc(&env, TERMS).await, None, "{what}");
        match policy {
            DeletionPolicy::Restore => {
                assert_in_step(&env, &s, TERMS, 1).await;
                assert_eq!(s.pending(terms).await.unwrap(), None);
            }
            _ => assert_eq!(
                s.pair(terms).await.unwrap().unwrap().status,
                DocStatus::Removed,
                "{what}"
            ),
        }
        quiet(&s.run_once().await.unwrap());
        env.sandbox.shutdown().await;
    }
}
