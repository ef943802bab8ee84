//! Exact wire form of the client, ping/serverinfo, node and raw calls, under a prefix and at
//! the root.

mod common;

use common::*;
use contentserver_client::ErrorKind;
use futures::TryStreamExt;
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Runs a test body once under the CS prefix and once at the root.
macro_rules! both_layouts {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test]
            async fn under_prefix() {
                super::$body(super::PREFIX).await
            }
            #[tokio::test]
            async fn at_root() {
                super::$body("").await
            }
        }
    };
}

async fn ping_and_serverinfo(prefix: &str) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{prefix}/api/v1/ping")))
        .and(NoTicket)
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"build": "2", "href": "api/v1", "version": "1"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{prefix}/api/v1/serverinfo")))
        .and(header("OTCSTicket", "T1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "server": {"version": "24.4", "url": "x", "languages": []},
            "sessions": {"enabled": true, "session_timeout": 7200000, "session_inactivity": 7020000}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = ticket_client(&server, prefix, "T1");
    let ping = client.ping().await.unwrap();
    assert_eq!(ping.build.as_deref(), Some("2"));
    let info = client.server_info().await.unwrap();
    assert_eq!(info.version.as_deref(), Some("24.4"));
    assert_eq!(info.session_timeout.unwrap().as_secs(), 7200);
    assert_eq!(info.session_inactivity.unwrap().as_secs(), 7020);
}
both_layouts!(ping_serverinfo, ping_and_serverinfo);

async fn get_node(prefix: &str) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{prefix}/api/v2/nodes/42")))
        .and(header("OTCSTicket", "T1"))
        .and(query_param("fields", "properties{id,name}"))
        .and(query_param("fields", "versions.element(0)"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "results": {"data": {
                "properties": {"id": 42, "name": "doc", "type": 144, "size": "12", "mime_type": "text/plain"},
                "versions": {"version_number": 2}
            }}
        })))
        .expect(2)
        .mount(&server)
        .await;
    let client = ticket_client(&server, prefix, "T1");
    let node = client
        .nodes()
        .get(42)
        .fields("properties{id,name}")
        .fields("versions.element(0)")
        .await
        .unwrap();
    assert_eq!(
        (node.id, node.name.as_str(), node.node_type),
        (42, "doc", contentserver_client::NodeType::Document)
    );
    assert_eq!(node.size, Some(12), "numeric strings are accepted");
    let details = client
        .nodes()
        .get(42)
        .fields("properties{id,name}")
        .fields("versions.element(0)")
        .send_details()
        .await
        .unwrap();
    assert_eq!(details.sections["versions"]["version_number"], 2);
    assert!(!details.sections.contains_key("properties"));
}
both_layouts!(get, get_node);

async fn children_pages(prefix: &str) {
    let server = MockServer::start().await;
    let p = format!("{prefix}/api/v2/nodes/2000/nodes");
    for (page, items) in [("1", vec![(1, "a"), (2, "b")]), ("2", vec![(3, "c")])] {
        Mock::given(method("GET"))
            .and(path(p.clone()))
            .and(query_param("where_type", "144"))
            .and(query_param("where_type", "0"))
            .and(query_param("where_name", "x y"))
            .and(query_param("sort", "asc_name"))
            .and(query_param("limit", "2"))
            .and(query_param("page", page))
            .respond_with(ResponseTemplate::new(200).set_body_json(v2_nodes(
                &items,
                page.parse().unwrap(),
                2,
            )))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = ticket_client(&server, prefix, "T1");
    let stream = client
        .nodes()
        .children(2000)
        .where_type(144)
        .where_type(0)
        .where_name("x y")
        .sort("asc_name")
        .page_size(2)
        .into_stream();
    let names: Vec<String> = stream.map_ok(|n| n.name).try_collect().await.unwrap();
    assert_eq!(names, ["a", "b", "c"]);
}
both_layouts!(children, children_pages);

async fn find_and_resolve(prefix: &str) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{prefix}/api/v2/nodes/2000")))
        .respond_with(ResponseTemplate::new(200).set_body_json(v2_node(2000, "Enterprise", 141)))
        .mount(&server)
        .await;
    // where_name is a substring filter: "Contracts 2024" must not match "Contracts".
    Mock::given(method("GET"))
        .and(path(format!("{prefix}/api/v2/nodes/2000/nodes")))
        .and(query_param("where_name", "Contracts"))
        .and(query_param("limit", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_json(v2_nodes(
            &[(10, "Contracts 2024"), (11, "Contracts")],
            1,
            1,
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{prefix}/api/v2/nodes/11/nodes")))
        .and(query_param("where_name", "2025"))
        .respond_with(ResponseTemplate::new(200).set_body_json(v2_nodes(&[(12, "2025")], 1, 1)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{prefix}/api/v2/nodes/12/nodes")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": []})))
        .mount(&server)
        .await;
    let client = ticket_client(&server, prefix, "T1");
    let found = client.nodes().find_child(2000, "Contracts").await.unwrap();
    assert_eq!(found.unwrap().id, 11);
    let resolved = client
        .nodes()
        .resolve_path(2000, &["Contracts", "2025"])
        .await
        .unwrap();
    assert_eq!(resolved.unwrap().id, 12);
    let missing = client
        .nodes()
        .resolve_path(2000, &["Contracts", "2025", "nope"])
        .await
        .unwrap();
    assert!(missing.is_none());
}
both_layouts!(find_resolve, find_and_resolve);

async fn writes(prefix: &str) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{prefix}/api/v2/nodes")))
        .and(header("OTCSTicket", "T1"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(BodyJsonIs(json!({
            "type": 0, "parent_id": 2000, "name": "New", "description": "d", "roles": {}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(v2_node(77, "New", 0)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{prefix}/api/v2/nodes")))
        .and(BodyJsonIs(
            json!({"original_id": 77, "parent_id": 3000, "name": "Copy"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(v2_node(78, "Copy", 0)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{prefix}/api/v2/nodes/77")))
        .and(BodyJsonIs(json!({
            "name": "Renamed", "description": "new d", "parent_id": 3000, "metadata_token": "tok"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"links": {}, "results": {}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{prefix}/api/v2/nodes/77")))
        .and(BodyJsonIs(json!({"name": "Only"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": {}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{prefix}/api/v2/nodes/77")))
        .and(BodyJsonIs(json!({"parent_id": 5})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": {}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{prefix}/api/v2/nodes/77")))
        .and(header("OTCSTicket", "T1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": {}})))
        .expect(1)
        .mount(&server)
        .await;
    let client = ticket_client(&server, prefix, "T1");
    let nodes = client.nodes();
    let folder = nodes
        .create_folder(2000, "New")
        .description("d")
        .await
        .unwrap();
    assert_eq!(folder.id, 77);
    assert_eq!(nodes.copy(77, 3000).name("Copy").await.unwrap().id, 78);
    nodes
        .update(77)
        .name("Renamed")
        .description("new d")
        .parent(3000)
        .metadata_token("tok")
        .await
        .unwrap();
    nodes.rename(77, "Only").await.unwrap();
    nodes.move_to(77, 5).await.unwrap();
    nodes.delete(77).await.unwrap();
    // Checked before sending.
    let err = nodes.create_folder(1, "x".repeat(249)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(nodes.update(1).await.is_err());
}
both_layouts!(node_writes, writes);

async fn volumes_and_ancestors(prefix: &str) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{prefix}/api/v2/volumes")))
        .respond_with(ResponseTemplate::new(200).set_body_json(v2_nodes(
            &[(2000, "Enterprise"), (2004, "Personal")],
            1,
            1,
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{prefix}/api/v2/volumes/141")))
        .respond_with(ResponseTemplate::new(200).set_body_json(v2_node(2000, "Enterprise", 141)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{prefix}/api/v1/nodes/12/ancestors")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ancestors": [
            {"id": 2000, "name": "Enterprise", "parent_id": -1, "type": 141, "volume_id": -2000},
            {"id": 12, "name": "x", "parent_id": 2000, "type": 0, "volume_id": -2000}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let client = ticket_client(&server, prefix, "T1");
    assert_eq!(client.nodes().volumes().await.unwrap().len(), 2);
    let ews = client.nodes().enterprise_workspace().await.unwrap();
    assert_eq!((ews.id, ews.node_type.code()), (2000, 141));
    let ancestors = client.nodes().ancestors(12).await.unwrap();
    assert_eq!(ancestors[0].id, 2000);
    assert_eq!(ancestors[1].parent_id, Some(2000));
}
both_layouts!(volumes, volumes_and_ancestors);

async fn raw_calls(prefix: &str) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{prefix}/api/v2/nodes/5/categories")))
        .and(query_param("metadata", ""))
        .and(header("OTCSTicket", "T1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": []})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{prefix}/api/v2/nodes/5")))
        .and(BodyJsonIs(json!({"name": "n"})))
        .and(FieldIs("extra", "1".into()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": {}})))
        .expect(1)
        .mount(&server)
        .await;
    let client = ticket_client(&server, prefix, "T1");
    let v = client
        .raw()
        .get("/api/v2/nodes/5/categories")
        .flag("metadata")
        .send()
        .await
        .unwrap();
    assert_eq!(v, json!({"results": []}));
    #[derive(serde::Deserialize)]
    struct Empty {
        results: serde_json::Value,
    }
    let e: Empty = client
        .raw()
        .put("api/v2/nodes/5")
        .body_json(&json!({"name": "n"}))
        .form("extra", 1)
        .send_as()
        .await
        .unwrap();
    assert_eq!(e.results, json!({}));
}
both_layouts!(raw, raw_calls);

#[tokio::test]
async fn base_url_is_validated() {
    use contentserver_client::Client;
    assert!(Client::builder("not a url").build().is_err());
    assert!(Client::builder("ftp://h/cs").build().is_err());
    assert!(Client::builder("http://h/cs?x=1").build().is_err());
    assert!(Client::builder("http://u:p@h/cs").build().is_err());
    let c = Client::builder("http://127.0.0.1:9/otcs/cs.exe/")
        .build()
        .unwrap();
    assert_eq!(c.base_url(), "http://127.0.0.1:9/otcs/cs.exe");
}
