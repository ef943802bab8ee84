//! Exact wire form of the typed governance calls: task actions, reserve / unreserve,
//! promote, bulk holds, the attribute search query and the paged process listing.

mod common;

use common::*;
use contentserver_client::api::processes::{StatusKind, TaskRef};
use contentserver_client::{AttrKey, VersionNumber};
use futures::TryStreamExt;
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn ok_empty() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"links": {}, "results": {}}))
}

#[tokio::test]
async fn task_actions_send_action_or_custom_action_never_both() {
    let server = MockServer::start().await;
    let p = PREFIX;
    let task_path = format!("{p}/api/v2/processes/7/subprocesses/8/tasks/9");
    for body in [
        json!({"custom_action": "Approve", "comment": "ok"}),
        json!({"custom_action": "Reject"}),
        json!({"action": "SendOn"}),
    ] {
        Mock::given(method("PUT"))
            .and(path(task_path.clone()))
            .and(BodyJsonIs(body))
            .respond_with(ok_empty())
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = ticket_client(&server, p, "t");
    let task = TaskRef {
        process_id: 7,
        subprocess_id: 8,
        task_id: 9,
    };
    let wf = client.workflows();
    wf.approve(task).comment("ok").await.unwrap();
    wf.reject(task).await.unwrap();
    wf.send_on(task).await.unwrap();
}

#[tokio::test]
async fn reserve_unreserve_and_promote() {
    let server = MockServer::start().await;
    let p = PREFIX;
    Mock::given(method("PUT"))
        .and(path(format!("{p}/api/v2/nodes/5")))
        .and(BodyJsonIs(json!({"reserved_user_id": 1000})))
        .respond_with(ok_empty())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{p}/api/v2/nodes/5")))
        .and(BodyJsonIs(json!({"reserved_user_id": "null"})))
        .respond_with(ok_empty())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{p}/api/v2/nodes/5/versions/3/promote")))
        .and(BodyJsonIs(json!({"description": "final"})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"results": {"data": {
                "versions": {"version_number": 4, "version_number_major": "2",
                             "version_number_minor": "0", "version_number_name": "2.0"}
            }}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    // An answer without the version: the latest is read back.
    Mock::given(method("POST"))
        .and(path(format!("{p}/api/v2/nodes/6/versions/2/promote")))
        .and(BodyJsonIs(json!({})))
        .respond_with(ok_empty())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{p}/api/v1/nodes/6/versions/latest")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "version_number": 3, "version_number_name": "1.0"
        }})))
        .expect(1)
        .mount(&server)
        .await;
    let client = ticket_client(&server, p, "t");
    let docs = client.documents();
    docs.reserve(5, 1000).await.unwrap();
    docs.unreserve(5).await.unwrap();
    let v = docs.promote(5, 3).description("final").await.unwrap();
    assert_eq!(v.number(), Some(VersionNumber::new(2, 0)));
    let v = docs.promote(6, 2).await.unwrap();
    assert_eq!(v.number(), Some(VersionNumber::new(1, 0)));
    let err = docs
        .promote(6, 2)
        .description("d".repeat(256))
        .await
        .unwrap_err();
    assert!(
        matches!(err, contentserver_client::Error::InvalidRequest { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn bulk_holds_are_one_call_with_repeated_ids() {
    let server = MockServer::start().await;
    let p = PREFIX;
    Mock::given(method("POST"))
        .and(path(format!("{p}/api/v1/rmclassifications/applyhold")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"results": {"ids": [11, 12]}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    // An answer that lists nothing: the ids sent are reported.
    Mock::given(method("POST"))
        .and(path(format!("{p}/api/v1/rmclassifications/removehold")))
        .respond_with(ok_empty())
        .expect(1)
        .mount(&server)
        .await;
    let client = ticket_client(&server, p, "t");
    let held = client.records().apply_hold_to(5, &[11, 12]).await.unwrap();
    assert_eq!(held, [11, 12]);
    let released = client.records().remove_hold_from(5, &[11]).await.unwrap();
    assert_eq!(released, [11]);
    let sent = requests_to(
        &server,
        "POST",
        &format!("{p}/api/v1/rmclassifications/applyhold"),
    )
    .await;
    assert_eq!(
        form_fields(&sent[0]),
        [
            ("holdID".to_string(), "5".to_string()),
            ("ids".into(), "11".into()),
            ("ids".into(), "12".into())
        ]
    );
}

#[tokio::test]
async fn attribute_search_and_the_paged_process_listing() {
    let server = MockServer::start().await;
    let p = PREFIX;
    Mock::given(method("POST"))
        .and(path(format!("{p}/api/v2/search")))
        .and(FieldIs(
            "where",
            "(OTSubType:144) and OTName:\"Q1\" and Attr_9830_2:\"Say \\\"hi\\\"\" and Attr_9830_3_5:\"2026-01-15\""
                .into(),
        ))
        .and(FieldIs("lookfor", "complexquery".into()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "results": [{"data": {"properties": {"id": 1, "name": "a", "type": 144}}}],
            "collection": {"paging": {"page": 1, "page_total": 1}}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{p}/api/v2/workflows/status")))
        .and(query_param("kind", "Initiated"))
        .and(query_param("page", "1"))
        .and(query_param("limit", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "results": [
                {"data": {"wfstatus": {"process_id": 3, "status_key": "workflowlate",
                 "assignee": [{"id": 1000, "name": "admin"}], "task_id": 2,
                 "date_initiated": "2026-01-02T03:04:05Z"}}},
                {"data": {"wfstatus": {"process_id": "4", "status_key": "completed"}}}
            ],
            "collection": {"paging": {"page": 1, "page_total": 1, "total_count": 2}}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = ticket_client(&server, p, "t");
    let hits: Vec<_> = client
        .search()
        .query("OTSubType:144")
        .by_name("Q1")
        .attribute(AttrKey::attr(9830, 2), "Say \"hi\"")
        .attribute(
            AttrKey::set_row(9830, 3, 4, 5),
            chrono::NaiveDate::from_ymd_opt(2026, 1, 15).unwrap(),
        )
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    let listed = client
        .workflows()
        .processes()
        .kind(StatusKind::Initiated)
        .page_size(2)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].assignees[0].id, Some(1000));
    assert_eq!(
        listed[0]
            .task()
            .map(|t| (t.process_id, t.subprocess_id, t.task_id)),
        Some((3, 3, 2))
    );
    assert_eq!(listed[1].process_id, 4);
    assert!(listed[1].task().is_none());
}
