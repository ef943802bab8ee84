//! Content Server emulator: workflows, business workspaces and search.

mod contentserver_support;

use std::time::Duration;

use contentserver_support::{start, Cs};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn map_id(cs: &Cs, name: &str) -> i64 {
    cs.server.manifest()["workflow_maps"][name]["id"]
        .as_i64()
        .unwrap()
}

async fn status(cs: &Cs, t: &str, pid: i64) -> Value {
    let (s, body) = cs
        .get(t, &format!("/api/v2/workflows/status/processes/{pid}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["results"].clone()
}

async fn act(cs: &Cs, t: &str, pid: i64, task: i64, body: Value) -> (StatusCode, Value) {
    cs.body(
        Method::PUT,
        t,
        &format!("/api/v2/processes/{pid}/subprocesses/{pid}/tasks/{task}"),
        body,
    )
    .await
}

#[tokio::test]
async fn draft_initiate_status_assignments_approve_completed() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let doc = cs
        .document(&t, 2000, "Remote Work Policy.docx", b"policy".to_vec())
        .await;
    let map = map_id(&cs, "Policy Approval");
    let (s, body) = cs
        .body(
            Method::POST,
            &t,
            "/api/v2/draftprocesses",
            json!({"workflow_id": map, "doc_ids": doc.to_string(), "AttachDocuments": "true"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let draft = body["results"]["draftprocess_id"].as_i64().unwrap();
    assert_eq!(body["results"]["workflow_type"], "1_1");

    let (_, form) = cs
        .get(
            &t,
            &format!("/api/v1/forms/draftprocesses/update?draftprocess_id={draft}"),
        )
        .await;
    assert_eq!(
        form["forms"][0]["schema"]["properties"]["WorkflowForm_1"]["title"],
        "Policy Owner"
    );
    let (s, _) = cs
        .body(Method::PUT, &t, &format!("/api/v2/draftprocesses/{draft}"), json!({"action": "formUpdate", "values": {"WorkflowForm_Title": "Remote work", "WorkflowForm_WorkflowDueDate": "2099-01-31", "WorkflowForm_1": "HR"}}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = cs
        .body(
            Method::PUT,
            &t,
            &format!("/api/v2/draftprocesses/{draft}"),
            json!({"action": "formUpdate", "values": {"WorkflowForm_9": "x"}}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let (s, body) = cs
        .body(
            Method::PUT,
            &t,
            &format!("/api/v2/draftprocesses/{draft}"),
            json!({"action": "Bogus"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "The requested action is unknown. Allowed actions 'initiate','formupdate'"
    );
    let (s, body) = cs
        .body(
            Method::PUT,
            &t,
            &format!("/api/v2/draftprocesses/{draft}"),
            json!({"action": "Initiate", "comment": "go"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let pid = body["results"]["process_id"].as_i64().unwrap();
    assert!(body["results"]["custom_message"]
        .as_str()
        .unwrap()
        .contains("initiated successfully"));
    assert!(body["results"]["WorkID"].is_null());

    let st = status(&cs, &t, pid).await;
    assert_eq!(st["step_list"]["current"][0]["task_name"], "Review");
    assert_eq!(st["wf_details"]["wf_name"], "Remote work");
    assert_eq!(st["wf_details"]["status"], "ontime");
    let folder = st["attachments"]["attachment_folder_id"].as_i64().unwrap();
    let (_, att) = cs.get(&t, &format!("/api/v2/nodes/{folder}/nodes")).await;
    assert_eq!(att["results"][0]["data"]["properties"]["original_id"], doc);

    let (_, todo) = cs.get(&t, "/api/v2/members/assignments").await;
    let a = &todo["results"][0]["data"]["assignments"];
    assert_eq!(a["workflow_id"], pid);
    assert_eq!(a["name"], "Review");
    let task = a["workflow_subworkflow_task_id"].as_i64().unwrap();

    // Editor is not the assignee.
    let e = cs.login("editor", "editor").await;
    let (s, _) = act(&cs, &e, pid, task, json!({"custom_action": "Approve"})).await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "editor cannot even see the process"
    );
    // Both action and custom_action are refused.
    let (s, _) = act(
        &cs,
        &t,
        pid,
        task,
        json!({"action": "formUpdate", "custom_action": "Approve"}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = act(
        &cs,
        &t,
        pid,
        task,
        json!({"custom_action": "Approve", "comment": "fine"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // The old task is no longer active.
    let (s, _) = act(&cs, &t, pid, task, json!({"custom_action": "Approve"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let st = status(&cs, &t, pid).await;
    assert_eq!(st["step_list"]["current"][0]["task_name"], "Approve");
    assert_eq!(st["step_list"]["completed"][0]["disposition"], "Approve");
    let (s, _) = act(&cs, &t, pid, task + 1, json!({"custom_action": "Approve"})).await;
    assert_eq!(s, StatusCode::OK);
    let st = status(&cs, &t, pid).await;
    assert_eq!(st["wf_details"]["status"], "completed");
    assert!(st["step_list"]["current"].as_array().unwrap().is_empty());
    let (_, todo) = cs.get(&t, "/api/v2/members/assignments").await;
    assert!(todo["results"].as_array().unwrap().is_empty());
    let (_, list) = cs
        .get(
            &t,
            "/api/v2/workflows/status?kind=Initiated&wstatus=completed",
        )
        .await;
    assert_eq!(list["results"][0]["data"]["wfstatus"]["process_id"], pid);
    let (_, list) = cs
        .get(&t, "/api/v2/workflows/status?kind=Initiated&wstatus=ontime")
        .await;
    assert!(list["results"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn startwf_reject_and_processes_start() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let e = cs.login("editor", "editor").await;
    let map = map_id(&cs, "Intake Review");
    // Editor starts with the one-call start (plain fields); the first step is theirs.
    let (s, body) = cs
        .form(
            Method::POST,
            &e,
            "/api/v2/draftprocesses/startwf",
            &[("workflow_id", &map.to_string())],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let pid = body["results"]["process_id"].as_i64().unwrap();
    let (_, todo) = cs.get(&e, "/api/v2/members/assignments").await;
    assert_eq!(todo["results"][0]["data"]["assignments"]["name"], "Triage");
    let (s, _) = act(&cs, &e, pid, 1, json!({"custom_action": "Approve"})).await;
    assert_eq!(s, StatusCode::OK);
    // The second step belongs to admin.
    let (_, todo) = cs.get(&e, "/api/v2/members/assignments").await;
    assert!(todo["results"].as_array().unwrap().is_empty());
    let (_, todo) = cs.get(&t, "/api/v2/members/assignments").await;
    assert_eq!(todo["results"][0]["data"]["assignments"]["name"], "Accept");
    let (s, _) = act(
        &cs,
        &t,
        pid,
        2,
        json!({"custom_action": "Reject", "comment": "no"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let st = status(&cs, &e, pid).await;
    assert_eq!(st["wf_details"]["status"], "stopped");

    let (s, body) = cs
        .body(
            Method::POST,
            &t,
            "/api/v2/processes",
            json!({"definition": {"workflow_id": map, "role_info": {"Role1": 1000}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body["process_id"].is_i64());
    let (s, body) = cs
        .body(
            Method::POST,
            &t,
            "/api/v2/draftprocesses",
            json!({"workflow_id": 2000}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "Could not Loadmap.");
    let (_, def) = cs
        .get(&t, &format!("/api/v2/workflows/{map}/definition"))
        .await;
    assert_eq!(def["results"]["definition"]["tasks"][1]["title"], "Accept");
}

#[tokio::test]
async fn business_workspace_from_template_with_category_values() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let m = cs.server.manifest();
    let wtype = m["workspace_types"]["Project"]["id"].as_i64().unwrap();
    let template = m["workspace_types"]["Project"]["templates"]["Project Workspace Template"]
        .as_i64()
        .unwrap();
    let cat = m["categories"]["Project Closeout"]["id"].as_i64().unwrap();
    let (_, types) = cs
        .get(
            &t,
            "/api/v2/businessworkspacetypes?expand_templates=true&expand_wksp_info=true",
        )
        .await;
    assert_eq!(
        types["results"][0]["data"]["properties"]["wksp_type_name"],
        "Project"
    );
    assert_eq!(
        types["results"][0]["data"]["properties"]["templates"][0]["id"],
        template
    );

    let create = |values: Value, bo: &str| {
        let body = json!({
            "template_id": template.to_string(), "wksp_type_id": wtype.to_string(), "type": "848",
            "name": format!("P-{bo} Riverside"), "description": "tower",
            "roles": {"categories": {cat.to_string(): values}},
            "ext_system_id": "SAP", "bo_type": "PROJECT", "bo_id": bo,
        });
        let cs = &cs;
        let t = &t;
        async move {
            cs.body(Method::POST, t, "/api/v2/businessworkspaces", body)
                .await
        }
    };
    // Required category values missing.
    let (s, body) = create(json!({ format!("{cat}_2"): "P-1" }), "1").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let (s, body) = create(json!({ format!("{cat}_2"): "P-1042", format!("{cat}_3"): "2026-01-15", format!("{cat}_5"): true }), "1042").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let ws = body["results"]["id"].as_i64().unwrap();
    assert_eq!(body["results"]["direct_open"], true);
    // One workspace per business object.
    let (s, _) = create(
        json!({ format!("{cat}_2"): "P-1042", format!("{cat}_3"): "2026-01-15" }),
        "1042",
    )
    .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);

    let (_, kids) = cs.get(&t, &format!("/api/v2/nodes/{ws}/nodes")).await;
    let names: Vec<&str> = kids["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["data"]["properties"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Contracts", "Correspondence", "Drawings", "Handover"]
    );
    assert_eq!(kids["results"][0]["data"]["properties"]["volume_id"], ws);
    let (_, cats) = cs
        .get(&t, &format!("/api/v2/nodes/{ws}/categories/{cat}"))
        .await;
    assert_eq!(
        cats["results"]["data"]["categories"][format!("{cat}_2")],
        "P-1042"
    );
    assert_eq!(
        cats["results"]["data"]["categories"][format!("{cat}_5")],
        true
    );
    let (_, one) = cs
        .get(&t, &format!("/api/v2/businessworkspaces/{ws}"))
        .await;
    assert_eq!(
        one["results"]["data"]["business_properties"]["business_object_id"],
        "1042"
    );
    let (_, found) = cs
        .get(
            &t,
            "/api/v2/businessworkspaces?where_workspace_type_name=Project&where_name=riverside",
        )
        .await;
    assert_eq!(found["results"][0]["data"]["properties"]["id"], ws);
    let (_, bo) = cs
        .get(&t, "/api/v2/externalsystems/SAP/botypes/PROJECT/boids/1042")
        .await;
    assert_eq!(bo["results"]["data"]["properties"]["id"], ws);
}

#[tokio::test]
async fn search_by_name_and_text_with_index_lag() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let f = cs.folder(&t, 2000, "Search Here").await;
    let a = cs
        .document(
            &t,
            f,
            "Quarterly Report.pdf",
            b"revenue grew in the northern region".to_vec(),
        )
        .await;
    let b = cs
        .document(
            &t,
            f,
            "Minutes.txt",
            b"the board discussed revenue".to_vec(),
        )
        .await;
    let search = |fields: Vec<(&'static str, String)>| {
        let cs = &cs;
        let t = &t;
        async move {
            let resp = cs
                .req(Method::POST, t, "/api/v2/search")
                .form(&fields)
                .send()
                .await
                .unwrap();
            let (s, body) = contentserver_support::json(resp).await;
            assert_eq!(s, StatusCode::OK, "{body}");
            let mut ids: Vec<i64> = body["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["data"]["properties"]["id"].as_i64().unwrap())
                .collect();
            ids.sort_unstable();
            (ids, body)
        }
    };
    let (ids, body) = search(vec![("where", "OTName:quarterly".into())]).await;
    assert_eq!(ids, [a]);
    assert_eq!(
        body["results"][0]["search_result_metadata"]["object_id"],
        format!("DataId={a}&Version=1")
    );
    assert_eq!(
        body["collection"]["paging"]["result_header_string"],
        "Results 1 to 1 of 1"
    );
    let (ids, _) = search(vec![
        ("where", "revenue".into()),
        ("location_id1", f.to_string()),
    ])
    .await;
    assert_eq!(ids, [a, b]);
    let (ids, _) = search(vec![
        ("where", "revenue northern".into()),
        ("lookfor", "allwords".into()),
    ])
    .await;
    assert_eq!(ids, [a]);
    let (ids, _) = search(vec![
        ("where", "board northern".into()),
        ("lookfor", "anywords".into()),
        ("location_id1", f.to_string()),
    ])
    .await;
    assert_eq!(ids, [a, b]);
    let (ids, _) = search(vec![
        ("where", "revenue".into()),
        ("within", "metadata".into()),
        ("location_id1", f.to_string()),
    ])
    .await;
    assert!(ids.is_empty());
    let (ids, _) = search(vec![
        ("where", "the board discussed".into()),
        ("lookfor", "exactphrase".into()),
    ])
    .await;
    assert_eq!(ids, [b]);
    let (ids, _) = search(vec![
        (
            "where",
            format!("revenue and OTSubType:144 and OTParentID:{f}"),
        ),
        ("limit", "1".into()),
        ("page", "2".into()),
    ])
    .await;
    assert_eq!(ids.len(), 1);
    // `body` JSON works too ([K]).
    let (ids, _) = search(vec![(
        "body",
        json!({"where": "minutes", "location_id1": f}).to_string(),
    )])
    .await;
    assert_eq!(ids, [b]);

    // Index lag: new nodes are found only after the lag.
    cs.server.set_index_lag(Duration::from_secs(30));
    let c = cs.document(&t, f, "Late.pdf", b"latecomer".to_vec()).await;
    let (ids, _) = search(vec![("where", "latecomer".into())]).await;
    assert!(ids.is_empty());
    cs.server.advance_clock(Duration::from_secs(31));
    let (ids, _) = search(vec![("where", "latecomer".into())]).await;
    assert_eq!(ids, [c]);
    // Editor does not find what editor may not see.
    let private = cs.folder(&t, 2000, "Private").await;
    let (s, _) = cs
        .body(
            Method::PUT,
            &t,
            &format!("/api/v2/nodes/{private}/permissions/custom/2001"),
            json!({"permissions": []}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let hidden = cs
        .document(
            &t,
            private,
            "Salaries.txt",
            b"confidential payroll".to_vec(),
        )
        .await;
    let e = cs.login("editor", "editor").await;
    let (_, body) = cs
        .form(Method::POST, &e, "/api/v2/search", &[("where", "payroll")])
        .await;
    assert!(body["results"].as_array().unwrap().is_empty(), "{body}");
    cs.server.advance_clock(Duration::from_secs(31));
    let (ids, _) = search(vec![("where", "payroll".into())]).await;
    assert_eq!(ids, [hidden]);
    let (_, body) = cs
        .form(Method::POST, &e, "/api/v2/search", &[("where", "payroll")])
        .await;
    assert!(body["results"].as_array().unwrap().is_empty(), "{body}");
}
