//! Exact wire form of records, permissions, members, workflows, workspaces and search calls.

mod common;

use common::*;
use contentserver_client::api::search::{LookFor, Within};
use contentserver_client::{ApplyTo, AttrKey, CategoryValues, Permission};
use futures::TryStreamExt;
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn ok_empty() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"links": {}, "results": {}}))
}

#[tokio::test]
async fn records_management() {
    let server = MockServer::start().await;
    let p = PREFIX;
    Mock::given(method("GET"))
        .and(path(format!("{p}/api/v1/nodes/9/classifications")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"id": 321, "name": "Contracts", "type": 199}], "canModify": true
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{p}/api/v1/nodes/9/rmclassifications")))
        .and(BodyJsonIs(json!({
            "class_id": 77, "apply_to_sub_items": true, "rm_metadataToken": "rmtok"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{p}/api/v1/nodes/9/rmclassifications")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"rmclassification_id": 77, "file_number": "F-1", "official": true}],
            "rm_metadataToken": "rmtok", "canRMClassify": true
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{p}/api/v2/holds")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": {"data": {
            "holds": [{"HoldID": 5, "HoldName": "Litigation A", "HoldType": "LEGAL", "ActiveHold": true}]
        }}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{p}/api/v2/hold")))
        .and(query_param("holdname", "Litigation A"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"results": {"data": {
                "hold": {"HoldID": 5, "HoldName": "Litigation A"}
            }}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{p}/api/v2/hold")))
        .and(query_param("holdname", "Nope"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"error": "Hold Nope not found."})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{p}/api/v1/holds")))
        .and(FieldIs("type", "LEGAL".into()))
        .and(FieldIs("name", "Litigation B".into()))
        .and(FieldIs("comment", "why".into()))
        .and(FieldIs("date_applied", "2025-03-01T00:00:00".into()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"holdID": 6})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{p}/api/v1/nodes/9/holds")))
        .and(BodyJsonIs(json!({"hold_id": 6})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{p}/api/v1/nodes/9/holds/6")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let client = ticket_client(&server, p, "T1");
    let rm = client.records();
    assert_eq!(rm.classifications(9).await.unwrap()[0].id, 321);
    rm.classify(9, 77)
        .apply_to_sub_items(true)
        .rm_metadata_token("rmtok")
        .await
        .unwrap();
    let details = rm.details(9).await.unwrap();
    assert_eq!(details.rm_metadata_token.as_deref(), Some("rmtok"));
    assert_eq!(details.records[0].file_number.as_deref(), Some("F-1"));
    let holds = rm.holds().await.unwrap();
    assert_eq!((holds[0].id, holds[0].active), (5, true));
    assert_eq!(
        rm.hold_by_name("Litigation A").await.unwrap().unwrap().id,
        5
    );
    assert!(rm.hold_by_name("Nope").await.unwrap().is_none());
    let date = chrono::NaiveDate::from_ymd_opt(2025, 3, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let id = rm
        .create_hold("Litigation B")
        .comment("why")
        .date_applied(date)
        .await
        .unwrap();
    assert_eq!(id, 6);
    rm.apply_hold(9, 6).await.unwrap();
    rm.remove_hold(9, 6).await.unwrap();
}

#[tokio::test]
async fn permissions() {
    let server = MockServer::start().await;
    let base = format!("{PREFIX}/api/v2/nodes/9/permissions");
    Mock::given(method("GET"))
        .and(path(base.clone()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": [
            {"data": {"permissions": {"type": "owner", "right_id": 1000,
                                       "permissions": ["see", "see_contents", "delete"]}}},
            {"data": {"permissions": {"type": "public", "right_id": null, "permissions": ["see"]}}},
            {"data": {"permissions": {"type": "custom", "right_id": 2001,
                                       "permissions": ["see", "modify", "future_thing"]}}}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{base}/effective/1000")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"results": {"data": {
                "permissions": {"permissions": ["see", "see_contents"], "right_id": 1000}
            }}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{base}/owner")))
        .and(BodyJsonIs(json!({
            "permissions": ["see", "see_contents", "modify", "edit_attributes", "add_items",
                            "reserve", "add_major_version", "delete_versions", "delete",
                            "edit_permissions"],
            "right_id": 1000, "apply_to": 2
        })))
        .respond_with(ok_empty())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{base}/public")))
        .and(BodyJsonIs(json!({"permissions": []})))
        .respond_with(ok_empty())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{base}/group")))
        .and(BodyJsonIs(
            json!({"permissions": ["see"], "include_sub_types": [204, 207]}),
        ))
        .respond_with(ok_empty())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{base}/custom")))
        .and(BodyJsonIs(
            json!({"permissions": ["see", "see_contents"], "right_id": 2001, "apply_to": 0}),
        ))
        .respond_with(ok_empty())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{base}/custom/2001")))
        .and(BodyJsonIs(json!({"permissions": ["see"], "apply_to": 3})))
        .respond_with(ok_empty())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{base}/custom/2001")))
        .and(BodyJsonIs(json!({"apply_to": 1})))
        .respond_with(ok_empty())
        .expect(1)
        .mount(&server)
        .await;
    let client = ticket_client(&server, PREFIX, "T1");
    let perms = client.permissions();
    let entries = perms.get(9).await.unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0].kind, "owner");
    assert_eq!(entries[0].right_id, Some(1000));
    assert_eq!(entries[1].right_id, None);
    assert_eq!(entries[2].permissions[2], Permission::Unknown);
    assert_eq!(
        perms.effective(9, 1000).await.unwrap(),
        [Permission::See, Permission::SeeContents]
    );
    perms
        .set_owner(9, &Permission::ALL)
        .right_id(1000)
        .apply_to(ApplyTo::ThisAndSubItems)
        .await
        .unwrap();
    perms.set_public(9, &[]).await.unwrap();
    perms
        .set_group(9, &[Permission::See])
        .include_sub_types([204, 207])
        .await
        .unwrap();
    perms
        .add_custom(9, 2001, &[Permission::See, Permission::SeeContents])
        .apply_to(ApplyTo::ThisItem)
        .await
        .unwrap();
    perms
        .update_custom(9, 2001, &[Permission::See])
        .apply_to(ApplyTo::ThisAndImmediateSubItems)
        .await
        .unwrap();
    perms
        .remove_custom(9, 2001, ApplyTo::SubItems)
        .await
        .unwrap();
    assert!(perms.set_public(9, &[Permission::Unknown]).await.is_err());
}

#[tokio::test]
async fn members() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{PREFIX}/api/v2/members/1000")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"results": {"data": {
                "properties": {"id": 1000, "name": "Admin", "type": 0, "first_name": "A"}
            }}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let member = |id: i64, name: &str, t: i64| json!({"data": {"properties": {"id": id, "name": name, "type": t}}});
    Mock::given(method("GET"))
        .and(path(format!("{PREFIX}/api/v2/members")))
        .and(query_param("where_type", "0"))
        .and(query_param("where_name", "jdoe"))
        .and(query_param("limit", "20"))
        .and(query_param("page", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "results": [member(1, "jdoe2", 0), member(2, "JDoe", 0)],
            "collection": {"paging": {"page": 1, "page_total": 1, "limit": 20}}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{PREFIX}/api/v2/members")))
        .and(query_param("where_type", "1"))
        .and(query_param("where_name", "Legal"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "results": [member(7, "Legal", 1)],
            "collection": {"paging": {"page": 1, "page_total": 1}}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{PREFIX}/api/v2/members")))
        .and(query_param("query", "smith"))
        .and(query_param("limit", "20"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "results": [member(8, "smith", 0)]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = ticket_client(&server, PREFIX, "T1");
    let m = client.members();
    assert_eq!(m.get(1000).await.unwrap().first_name.as_deref(), Some("A"));
    // Case-insensitive fallback when no exact match; the prefix match is ignored.
    assert_eq!(m.find_user("jdoe").await.unwrap().unwrap().id, 2);
    assert_eq!(m.find_group("Legal").await.unwrap().unwrap().member_type, 1);
    let found: Vec<_> = m
        .search()
        .query("smith")
        .page_size(500)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
}

#[tokio::test]
async fn workflows() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{PREFIX}/api/v2/draftprocesses")))
        .and(BodyJsonIs(
            json!({"workflow_id": 128, "doc_ids": "12,34", "AttachDocuments": "true"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "results": {"draftprocess_id": 55, "workflow_type": "1_1"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{PREFIX}/api/v2/draftprocesses/55")))
        .and(BodyJsonIs(
            json!({"action": "formUpdate", "values": {"WorkflowForm_Title": "Review"}}),
        ))
        .respond_with(ok_empty())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{PREFIX}/api/v1/forms/draftprocesses/update")))
        .and(query_param("draftprocess_id", "55"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": {"process_id": 55, "comments_on": true, "authentication": false}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{PREFIX}/api/v2/draftprocesses/55")))
        .and(BodyJsonIs(
            json!({"action": "Initiate", "comment": "please"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": {
            "custom_message": "Review was initiated successfully.", "process_id": 901,
            "WorkID": null, "WRID": null
        }})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{PREFIX}/api/v2/draftprocesses/startwf")))
        .and(BodyJsonIs(json!({"workflow_id": 128, "doc_ids": "12"})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"results": {"process_id": "902"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "{PREFIX}/api/v2/workflows/status/processes/901"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": {
            "wf_details": {"status": "ontime", "wf_name": "Review"},
            "step_list": {"current": [{"process_id": 901, "subprocess_id": 901, "task_id": 2,
                                        "task_name": "Approve", "task_status": "ontime"}]}
        }})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{PREFIX}/api/v2/members/assignments")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": [
            {"data": {"assignments": {"id": 1, "name": "Approve", "workflow_id": 901,
                                       "workflow_subworkflow_id": 901,
                                       "workflow_subworkflow_task_id": 2}}}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let client = ticket_client(&server, PREFIX, "T1");
    let wf = client.workflows();
    let started = wf
        .start(128)
        .attach([12, 34])
        .value("WorkflowForm_Title", "Review")
        .comment("please")
        .await
        .unwrap();
    assert_eq!(started.draft_process_id, Some(55));
    assert_eq!(started.process_id, Some(901));
    assert!(started.message.unwrap().contains("initiated"));
    assert_eq!(
        wf.start_direct(128, &[12]).await.unwrap().process_id,
        Some(902)
    );
    let status = wf.status(901).await.unwrap();
    assert_eq!(status.status.as_deref(), Some("ontime"));
    assert_eq!(
        status.current_steps[0].task_name.as_deref(),
        Some("Approve")
    );
    let a = wf.assignments().await.unwrap();
    assert_eq!(a[0].workflow_subworkflow_task_id, Some(2));
}

#[tokio::test]
async fn workflow_comment_dropped_when_comments_off() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/draftprocesses"))
        .and(BodyJsonIs(json!({"workflow_id": 128})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"results": {"draftprocess_id": 56}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/forms/draftprocesses/update"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": {"comments_on": false}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/api/v2/draftprocesses/56"))
        .and(BodyJsonIs(json!({"action": "Initiate"})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"results": {"process_id": 3}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = ticket_client(&server, "", "T1");
    let started = client.workflows().start(128).comment("x").await.unwrap();
    assert_eq!(started.process_id, Some(3));
}

#[tokio::test]
async fn business_workspaces() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{PREFIX}/api/v2/businessworkspaces")))
        .and(query_param("where_name", "ACME"))
        .and(query_param("where_workspace_type_id", "3"))
        .respond_with(ResponseTemplate::new(200).set_body_json(v2_nodes(
            &[(70, "ACME Corp"), (71, "ACME")],
            1,
            1,
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "{PREFIX}/api/v2/externalsystems/SAP%20ERP/botypes/KNA1/boids/0000%2F42"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(v2_node(71, "ACME", 848)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{PREFIX}/api/v2/businessworkspaces")))
        .and(BodyJsonIs(json!({
            "template_id": 17, "wksp_type_id": 3, "type": 848, "name": "ACME",
            "description": "", "parent_id": 2000,
            "roles": {"categories": {"9830": {"9830_2": "x"}}},
            "ext_system_id": "SAP", "bo_type": "KNA1", "bo_id": "42"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "results": {"id": 72, "direct_open": true, "sub_folder_id": 0}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{PREFIX}/api/v2/nodes/72/nodes")))
        .and(query_param("where_type", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(v2_nodes(
            &[(80, "Contracts"), (81, "Invoices")],
            1,
            1,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let client = ticket_client(&server, PREFIX, "T1");
    let ws = client.workspaces();
    assert_eq!(
        ws.find_by_name("ACME", Some(3)).await.unwrap().unwrap().id,
        71
    );
    let by_bo = ws
        .by_business_object("SAP ERP", "KNA1", "0000/42")
        .await
        .unwrap();
    assert_eq!(by_bo.node_type, 848);
    let created = ws
        .create(17, 3)
        .name("ACME")
        .parent(2000)
        .categories(CategoryValues::new().set(AttrKey::attr(9830, 2), "x"))
        .business_object("SAP", "KNA1", "42")
        .await
        .unwrap();
    assert_eq!((created.id, created.direct_open), (72, true));
    let folders: Vec<_> = ws.folders(72).try_collect().await.unwrap();
    assert_eq!(folders.len(), 2);
}

#[tokio::test]
async fn search_pages() {
    let server = MockServer::start().await;
    let hit = |id: i64| {
        json!({"data": {"properties": {"id": id, "name": format!("n{id}"), "type": 144},
                        "regions": {"OTName": format!("n{id}")}},
               "search_result_metadata": {"object_id": format!("DataId={id}&Version=1")}})
    };
    for (page, ids) in [("1", vec![1, 2]), ("2", vec![3])] {
        Mock::given(method("POST"))
            .and(path("/api/v2/search"))
            .and(header("content-type", "application/x-www-form-urlencoded"))
            .and(FieldIs("where", "contract".into()))
            .and(FieldIs("lookfor", "allwords".into()))
            .and(FieldIs("within", "content".into()))
            .and(FieldIs("location_id1", "2000".into()))
            .and(FieldIs("limit", "2".into()))
            .and(FieldIs("page", page.into()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "collection": {"paging": {"page": page.parse::<u64>().unwrap(), "limit": 2,
                               "total_count": 3, "range_min": 1, "range_max": if page == "1" {2} else {3},
                               "result_header_string": "Results 1 to 2 of 3"}},
                "results": ids.iter().map(|i| hit(*i)).collect::<Vec<_>>()
            })))
            .expect(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/api/v2/search"))
        .and(FieldIs("where", "OTName:\"Q1 \\\"final\\\"\"".into()))
        .and(FieldIs("lookfor", "complexquery".into()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": [hit(9)]})))
        .expect(1)
        .mount(&server)
        .await;
    let client = ticket_client(&server, "", "T1");
    let hits: Vec<_> = client
        .search()
        .query("contract")
        .lookfor(LookFor::AllWords)
        .within(Within::Content)
        .location(2000)
        .page_size(2)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        hits.iter().map(|h| h.node.id).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(hits[0].regions["OTName"], "n1");
    assert_eq!(hits[2].metadata["object_id"], "DataId=3&Version=1");
    let by_name: Vec<_> = client
        .search()
        .by_name("Q1 \"final\"")
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(by_name[0].node.id, 9);
    assert!(
        client.search().page(1).await.is_err(),
        "a search needs a query"
    );
}
