//! Processes: the caller's paged process listing, the processes a node is attached to,
//! task actions (approve, reject, send on) read back through the status, its steps and
//! outcome, and the workflows offered for a document.

use contentserver_client::api::processes::{ProcessState, StatusKind};
use contentserver_client::{Client, UploadBody};
use futures::TryStreamExt;

use crate::harness::{start, Env};

async fn document(env: &Env, client: &Client, name: &str) -> i64 {
    client
        .documents()
        .create(
            env.folder("Projects"),
            name,
            UploadBody::from_bytes(name.to_owned()),
        )
        .await
        .unwrap()
        .id
}

async fn start_policy(env: &Env, client: &Client, title: &str, doc: i64) -> i64 {
    let map = env.id(&["workflow_maps", "Policy Approval", "id"]);
    client
        .workflows()
        .start(map)
        .attach([doc])
        .value("WorkflowForm_Title", title)
        .value("WorkflowForm_WorkflowDueDate", "2099-04-30")
        .await
        .unwrap()
        .process_id
        .expect("process id")
}

#[tokio::test]
async fn approve_send_on_and_the_outcome() {
    let env = start().await;
    let admin = env.admin();
    let wf = admin.workflows();
    let doc = document(&env, &admin, "Policy.docx").await;
    let pid = start_policy(&env, &admin, "Policy one", doc).await;

    let status = wf.status(pid).await.unwrap();
    assert_eq!(status.state, Some(ProcessState::OnTime));
    assert!(status.outcome().is_none());
    assert_eq!(
        status.initiator.as_ref().and_then(|m| m.id),
        Some(env.user("admin"))
    );
    assert!(status.date_initiated.is_some());
    let due = chrono::NaiveDate::from_ymd_opt(2099, 4, 30).unwrap();
    assert_eq!(status.due_date.map(|d| d.date()), Some(due));
    assert!(status.attachment_folder_id.is_some());
    assert_eq!(status.next_steps.len(), 1);
    assert_eq!(status.next_steps[0].task_name.as_deref(), Some("Approve"));
    let review = status.current_steps[0].task().expect("task ids");

    wf.send_on(review).comment("reviewed").await.unwrap();
    let status = wf.status(pid).await.unwrap();
    assert_eq!(status.completed_steps.len(), 1);
    assert_eq!(
        status.completed_steps[0].disposition.as_deref(),
        Some("SendOn")
    );
    assert_eq!(
        status.completed_steps[0].comment.as_deref(),
        Some("reviewed")
    );
    assert!(status.completed_steps[0].date_completed.is_some());
    assert_eq!(
        status.current_steps[0].task_name.as_deref(),
        Some("Approve")
    );
    assert!(status.next_steps.is_empty());
    // The old task is no longer current.
    let err = wf.approve(review).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");

    let approve = status.current_steps[0].task().unwrap();
    wf.approve(approve).comment("fine").await.unwrap();
    let status = wf.status(pid).await.unwrap();
    assert_eq!(status.state, Some(ProcessState::Completed));
    assert!(status.current_steps.is_empty());
    let outcome = status.outcome().expect("finished");
    assert_eq!(outcome.state, ProcessState::Completed);
    assert_eq!(outcome.disposition.as_deref(), Some("Approve"));
    assert_eq!(outcome.comment.as_deref(), Some("fine"));
    assert_eq!(outcome.by.and_then(|m| m.id), Some(env.user("admin")));
}

#[tokio::test]
async fn reject_stops_the_process_and_tasks_come_from_assignments() {
    let env = start().await;
    let admin = env.admin();
    let wf = admin.workflows();
    let doc = document(&env, &admin, "Memo.docx").await;
    let pid = start_policy(&env, &admin, "Memo", doc).await;
    let assignments = wf.assignments().await.unwrap();
    let mine = assignments
        .iter()
        .find(|a| a.workflow_id == Some(pid))
        .expect("an assignment");
    assert_eq!(
        mine.date_due.map(|d| d.date()),
        chrono::NaiveDate::from_ymd_opt(2099, 4, 30)
    );
    let task = mine.task().expect("task ids");
    wf.reject(task).comment("no").await.unwrap();
    let status = wf.status(pid).await.unwrap();
    let outcome = status.outcome().expect("stopped");
    assert_eq!(outcome.state, ProcessState::Stopped);
    assert_eq!(outcome.disposition.as_deref(), Some("Reject"));
    let stopped = wf
        .processes()
        .state(ProcessState::Stopped)
        .send()
        .await
        .unwrap();
    assert_eq!(
        stopped.iter().map(|p| p.process_id).collect::<Vec<_>>(),
        [pid]
    );
}

#[tokio::test]
async fn the_process_listing_pages_and_filters_by_kind() {
    let env = start().await;
    let admin = env.admin();
    let editor = env.client_as("editor");
    let doc = document(&env, &admin, "Shared.docx").await;
    let mut mine = Vec::new();
    for i in 0..5 {
        mine.push(start_policy(&env, &admin, &format!("Run {i}"), doc).await);
    }
    let pages: Vec<_> = admin
        .workflows()
        .initiated()
        .page_size(2)
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 3);
    assert_eq!(pages[0].paging.as_ref().unwrap().total_count, Some(5));
    let mut listed: Vec<i64> = pages
        .iter()
        .flat_map(|p| p.items.iter().map(|s| s.process_id))
        .collect();
    listed.sort_unstable();
    assert_eq!(listed, mine);
    assert_eq!(env.count("GET /api/v2/workflows/status"), 3);
    let first = &pages[0].items[0];
    assert_eq!(first.map_name.as_deref(), Some("Policy Approval"));
    assert_eq!(first.step_name.as_deref(), Some("Review"));
    assert_eq!(first.state, Some(ProcessState::OnTime));
    assert!(first.task().is_some());
    assert!(first.date_initiated.is_some());
    // The listing is personal: the editor started nothing and has no tasks in these.
    assert!(editor
        .workflows()
        .processes()
        .send()
        .await
        .unwrap()
        .is_empty());
    let managed = admin
        .workflows()
        .processes()
        .kind(StatusKind::Managed)
        .send()
        .await
        .unwrap();
    assert_eq!(managed.len(), 5, "the initiator holds every first step");
}

#[tokio::test]
async fn processes_attached_to_a_node_and_maps_offered_for_it() {
    let env = start().await;
    let admin = env.admin();
    let wf = admin.workflows();
    let one = document(&env, &admin, "One.pdf").await;
    let two = document(&env, &admin, "Two.pdf").await;
    let p1 = start_policy(&env, &admin, "For one", one).await;
    let p2 = start_policy(&env, &admin, "For two", two).await;

    let attached = wf.attached_to(one).await.unwrap();
    assert_eq!(
        attached.iter().map(|s| s.process_id).collect::<Vec<_>>(),
        [Some(p1)]
    );
    let attached = wf
        .attached_to(two)
        .kind(StatusKind::Initiated)
        .map_name("policy approval")
        .await
        .unwrap();
    assert_eq!(attached[0].process_id, Some(p2));
    assert!(wf
        .attached_to(two)
        .map_name("Intake Review")
        .await
        .unwrap()
        .is_empty());
    // `first` stops at the first match: fewer status calls than a full scan. The processes
    // are listed newest first, so the one for `two` comes before the one for `one`.
    let statuses =
        |env: &crate::harness::Env| env.count("GET /api/v2/workflows/status/processes/{id}");
    let before = statuses(&env);
    let first = wf
        .attached_to(two)
        .first()
        .await
        .unwrap()
        .expect("a process");
    assert_eq!(first.process_id, Some(p2));
    let for_first = statuses(&env) - before;
    let before = statuses(&env);
    wf.attached_to(two).send().await.unwrap();
    let for_all = statuses(&env) - before;
    assert!(
        for_first < for_all,
        "first: {for_first} status calls, all: {for_all}"
    );

    let offered = wf.offered_for(one).await.unwrap();
    let policy = env.id(&["workflow_maps", "Policy Approval", "id"]);
    assert!(
        offered
            .iter()
            .any(|w| w.id == policy && w.name == "Policy Approval"),
        "{offered:?}"
    );
}
