//! Workflows: draft → form values → initiate, the draft's form, process status, assignments,
//! completing a step, and the one-call start.

use contentserver_client::UploadBody;
use serde_json::json;

use crate::harness::start;

#[tokio::test]
async fn draft_initiate_status_assignments_and_a_completed_step() {
    let env = start().await;
    let admin = env.admin();
    let map = env.id(&["workflow_maps", "Policy Approval", "id"]);
    let steps = env
        .at(&["workflow_maps", "Policy Approval", "steps"])
        .clone();
    let doc = admin
        .documents()
        .create(
            env.folder("Archive/HR"),
            "Remote Work Policy.docx",
            UploadBody::from_bytes("policy"),
        )
        .await
        .unwrap();

    let started = admin
        .workflows()
        .start(map)
        .attach([doc.id])
        .value("WorkflowForm_Title", "Approve: Remote Work Policy")
        .value("WorkflowForm_WorkflowDueDate", "2026-04-30")
        .value("WorkflowForm_1", "Dana Demo")
        .comment("please review")
        .await
        .unwrap();
    let draft = started.draft_process_id.expect("draft id");
    let pid = started.process_id.expect("process id");
    assert!(started.message.is_some(), "{:?}", started.raw);
    assert_eq!(env.count("POST /api/v2/draftprocesses"), 1);
    assert_eq!(
        env.count("PUT /api/v2/draftprocesses/{id}"),
        2,
        "formUpdate, Initiate"
    );
    assert_eq!(
        env.count("GET /api/v1/forms/draftprocesses/update"),
        1,
        "the form is read for the comment"
    );
    assert_ne!(draft, 0);

    let status = admin.workflows().status(pid).await.unwrap();
    // The process is named by its start form's title.
    assert_eq!(status.name.as_deref(), Some("Approve: Remote Work Policy"));
    assert_eq!(status.current_steps.len(), 1, "{:?}", status.raw);
    let step = &status.current_steps[0];
    assert_eq!(step.task_name.as_deref(), steps[0].as_str());
    assert_eq!(step.process_id, Some(pid));
    let running = status.status.clone().expect("status");

    // The initiator gets the first step.
    let assignments = admin.workflows().assignments().await.unwrap();
    let mine = assignments
        .iter()
        .find(|a| a.workflow_id == Some(pid))
        .unwrap_or_else(|| panic!("no assignment of {pid} in {assignments:?}"));
    assert_eq!(mine.name.as_deref(), steps[0].as_str());
    assert!(env
        .client_as("editor")
        .workflows()
        .assignments()
        .await
        .unwrap()
        .iter()
        .all(|a| a.workflow_id != Some(pid)));

    // Approve the step and the process moves on.
    admin
        .workflows()
        .approve(mine.task().expect("task ids"))
        .comment("ok")
        .await
        .unwrap();
    let status = admin.workflows().status(pid).await.unwrap();
    assert_eq!(
        status
            .current_steps
            .first()
            .and_then(|s| s.task_name.as_deref()),
        steps[1].as_str(),
        "{:?}",
        status.raw
    );
    assert_eq!(status.status.as_deref(), Some(running.as_str()));
}

#[tokio::test]
async fn the_draft_form_lists_the_map_fields() {
    let env = start().await;
    let admin = env.admin();
    let map = env.id(&["workflow_maps", "Policy Approval", "id"]);
    // A draft on its own (the typed start initiates at once).
    let draft = admin
        .raw()
        .post("api/v2/draftprocesses")
        .body_json(&json!({"workflow_id": map}))
        .send()
        .await
        .unwrap();
    let id = draft["results"]["draftprocess_id"].as_i64().unwrap();
    let form = admin.workflows().draft_form(id).await.unwrap();
    assert_eq!(form["data"]["process_id"], id);
    let fields = env.at(&["workflow_maps", "Policy Approval", "form_fields"]);
    let schema = &form["forms"][0]["schema"]["properties"];
    for field in fields.as_array().unwrap() {
        let key = field["key"].as_str().unwrap();
        assert_eq!(schema[key]["title"], field["title"], "{form}");
    }
}

#[tokio::test]
async fn start_direct_skips_the_start_step() {
    let env = start().await;
    let admin = env.admin();
    let map = env.id(&["workflow_maps", "Intake Review", "id"]);
    let doc = admin
        .documents()
        .create(
            env.folder("Intake"),
            "Invoice.pdf",
            UploadBody::from_bytes("inv"),
        )
        .await
        .unwrap();
    let started = admin
        .workflows()
        .start_direct(map, &[doc.id])
        .await
        .unwrap();
    assert!(started.draft_process_id.is_none());
    let pid = started
        .process_id
        .unwrap_or_else(|| panic!("no process id in {}", started.raw));
    let status = admin.workflows().status(pid).await.unwrap();
    assert_eq!(status.name.as_deref(), Some("Intake Review"));
    assert!(!status.current_steps.is_empty(), "{:?}", status.raw);
    // Unknown map: the server's message.
    let err = admin
        .workflows()
        .start_direct(999_999, &[])
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");
}
