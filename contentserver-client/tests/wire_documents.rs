//! Exact wire form of document, version, content and category calls.

mod common;

use bytes::Bytes;
use chrono::{NaiveDate, NaiveDateTime};
use common::*;
use contentserver_client::{AttrKey, AttrValue, CategoryValues, ErrorKind, UploadBody};
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn dt(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap()
}

async fn create_document_at(prefix: &str) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{prefix}/api/v2/nodes")))
        .and(header("OTCSTicket", "T1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(v2_node(500, "report.txt", 144)))
        .expect(1)
        .mount(&server)
        .await;
    let client = ticket_client(&server, prefix, "T1");
    let values = CategoryValues::new()
        .set(AttrKey::attr(9830, 2), "x")
        .set(
            AttrKey::attr(9830, 3),
            NaiveDate::from_ymd_opt(2025, 1, 31).unwrap(),
        )
        .set(
            AttrKey::attr(9830, 4),
            AttrValue::Multi(vec!["".into(), "b".into()]),
        )
        .set(AttrKey::set_row(9830, 5, 2, 6), AttrValue::User(1000))
        .category(6228);
    let node = client
        .documents()
        .create(2000, "report.txt", UploadBody::from_bytes("hello world"))
        .file_name("report-file.txt")
        .mime_type("text/plain")
        .description("quarterly")
        .external_create_date(dt("2025-01-18T12:33:27"))
        .external_modify_date(dt("2025-01-19T06:57:04"))
        .categories(values)
        .classifications([321])
        .await
        .unwrap();
    assert_eq!(node.id, 500);

    let requests = requests_to(&server, "POST", &format!("{prefix}/api/v2/nodes")).await;
    let parts = multipart_parts(&requests[0]);
    let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["body", "file"]);
    let body: serde_json::Value = serde_json::from_slice(&parts[0].data).unwrap();
    assert_eq!(
        body,
        json!({
            "type": 144, "parent_id": 2000, "name": "report.txt", "description": "quarterly",
            "external_create_date": "2025-01-18T12:33:27",
            "external_modify_date": "2025-01-19T06:57:04",
            "roles": {
                "categories": {"9830_1": {}, "6228_1": {}, "9830_2": "x", "9830_3": "2025-01-31",
                               "9830_4": ["", "b"], "9830_5_2_6": 1000},
                "classifications": {"create_id": [], "id": [321]}
            }
        })
    );
    assert_eq!(parts[1].file_name.as_deref(), Some("report-file.txt"));
    assert_eq!(parts[1].content_type.as_deref(), Some("text/plain"));
    assert_eq!(parts[1].data, b"hello world");
    let length: usize = requests[0].headers["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        length,
        requests[0].body.len(),
        "an exact Content-Length is sent"
    );
}

#[tokio::test]
async fn create_document_under_prefix() {
    create_document_at(PREFIX).await
}

#[tokio::test]
async fn create_document_at_root() {
    create_document_at("").await
}

#[tokio::test]
async fn add_version_and_list_versions() {
    let server = MockServer::start().await;
    let p = format!("{PREFIX}/api/v2/nodes/500/versions");
    Mock::given(method("POST"))
        .and(path(p.clone()))
        .and(FieldIs("description", "second".into()))
        .and(FieldIs("add_major_version", "true".into()))
        .and(FieldIs(
            "external_modify_date",
            "2025-02-01T10:00:00".into(),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"results": {"data": {
                "properties": {"id": 500},
                "versions": {"version_number": 2, "version_number_name": "2.0", "file_size": 3}
            }}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(p.clone()))
        .and(query_param("page", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": [
            {"data": {"versions": {"version_number": 1, "file_name": "a.txt"}}},
            {"data": {"versions": {"version_number": 2, "file_name": "b.txt"}}}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{PREFIX}/api/v1/nodes/500/versions/latest")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "version_number": 2, "file_size": 3, "mime_type": "text/plain"
        }})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{PREFIX}/api/v2/nodes/500/versions/1")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"results": {"data": {
                "versions": {"version_number": 1}
            }}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = ticket_client(&server, PREFIX, "T1");
    let docs = client.documents();
    let v = docs
        .add_version(500, UploadBody::from_bytes(Bytes::from_static(b"abc")))
        .description("second")
        .major(true)
        .external_modify_date(dt("2025-02-01T10:00:00"))
        .file_name("c.txt")
        .await
        .unwrap();
    assert_eq!(v.version_number, Some(2));
    assert_eq!(v.version_number_name.as_deref(), Some("2.0"));
    let requests = requests_to(&server, "POST", &p).await;
    let parts = multipart_parts(&requests[0]);
    let file = parts.iter().find(|p| p.name == "file").unwrap();
    assert_eq!(
        (file.file_name.as_deref(), file.data.as_slice()),
        (Some("c.txt"), &b"abc"[..])
    );

    let all = docs.versions(500).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].file_name.as_deref(), Some("b.txt"));
    assert_eq!(
        docs.latest_version(500).await.unwrap().version_number,
        Some(2)
    );
    assert_eq!(docs.version(500, 1).await.unwrap().version_number, Some(1));

    let err = docs
        .add_version(500, UploadBody::from_bytes("x"))
        .description("d".repeat(256))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn download_latest_and_version() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{PREFIX}/api/v1/nodes/500/content")))
        .and(header("OTCSTicket", "T1"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-disposition", "attachment; filename=\"a.txt\"")
                .set_body_raw(b"latest bytes".to_vec(), "text/plain"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "{PREFIX}/api/v2/nodes/500/versions/1/content"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_raw(b"v1".to_vec(), "text/plain"))
        .expect(1)
        .mount(&server)
        .await;
    let client = ticket_client(&server, PREFIX, "T1");
    let d = client.documents().download(500).await.unwrap();
    assert_eq!(d.size, Some(12));
    assert_eq!(d.mime_type.as_deref(), Some("text/plain"));
    assert_eq!(d.file_name.as_deref(), Some("a.txt"));
    assert_eq!(&d.bytes().await.unwrap()[..], b"latest bytes");
    let d = client.documents().download(500).version(1).await.unwrap();
    assert_eq!(
        contentserver_client::api::documents::count_bytes(d)
            .await
            .unwrap(),
        2
    );
}

#[tokio::test]
async fn categories_read_apply_update_remove() {
    let server = MockServer::start().await;
    let base = format!("{PREFIX}/api/v2/nodes/500/categories");
    Mock::given(method("GET"))
        .and(path(base.clone()))
        .and(query_param("metadata", ""))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"results": [{
                "data": {"categories": {"9830_2": "x", "9830_3": ["a", "b"], "9830_5_1_6": 1000}},
                "metadata": {"categories": {
                    "9830": {"name": "Contract", "persona": "category"},
                    "9830_2": {"name": "Title", "type": -1, "type_name": "String", "required": true,
                               "multi_value": false, "max_length": 32},
                    "9830_3": {"name": "Tags", "type_name": "String", "multi_value": true},
                    "9830_5_x_6": {"name": "Reviewer", "type_name": "User", "persona": "user"}
                }}
            }]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{base}/9830")))
        .and(query_param("metadata", ""))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": {
            "data": {"categories": {"9830_2": "x"}},
            "metadata": {"categories": {"9830": {"name": "Contract"}}}
        }})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(base.clone()))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": {}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{base}/9830")))
        .and(FieldIs("metadata_token", "tok".into()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": {}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{base}/9830")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": {}})))
        .expect(1)
        .mount(&server)
        .await;
    let client = ticket_client(&server, PREFIX, "T1");
    let cats = client.categories();
    let list = cats.list(500).await.unwrap();
    assert_eq!(list.len(), 1);
    let c = &list[0];
    assert_eq!((c.id, c.name.as_deref()), (9830, Some("Contract")));
    assert_eq!(c.value(&AttrKey::attr(9830, 2)), Some(&json!("x")));
    assert_eq!(
        c.value(&AttrKey::set_row(9830, 5, 1, 6)),
        Some(&json!(1000))
    );
    assert_eq!(
        c.value_named("title"),
        Some(&json!("x")),
        "by name, any case"
    );
    assert_eq!(c.value_named("Tags"), Some(&json!(["a", "b"])));
    assert_eq!(c.value_named("Owner"), None);
    let title = c.attributes.iter().find(|a| a.key == "9830_2").unwrap();
    assert!(title.required && !title.multi_value);
    assert_eq!(title.max_length, Some(32));
    let tags = c.attributes.iter().find(|a| a.key == "9830_3").unwrap();
    assert!(tags.multi_value);
    assert_eq!(
        cats.get(500, 9830).await.unwrap().name.as_deref(),
        Some("Contract")
    );

    let values = CategoryValues::new()
        .set(AttrKey::attr(9830, 2), "y")
        .set(
            AttrKey::attr(9830, 3),
            AttrValue::Multi(vec!["a".into(), "b".into()]),
        )
        .set(AttrKey::attr(9830, 7), 5i64)
        .set(AttrKey::attr(9830, 8), false);
    cats.apply(500, 9830, &values).await.unwrap();
    let posted = requests_to(&server, "POST", &base).await;
    assert_eq!(
        form_fields(&posted[0]),
        [
            ("category_id", "9830"),
            ("9830_2", "y"),
            ("9830_3", "a"),
            ("9830_3", "b"),
            ("9830_7", "5"),
            ("9830_8", "false"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );
    cats.update_guarded(500, 9830, &values, Some("tok"))
        .await
        .unwrap();
    let put = requests_to(&server, "PUT", &format!("{base}/9830")).await;
    assert_eq!(field(&put[0], "9830_2").as_deref(), Some("y"));
    cats.remove(500, 9830).await.unwrap();
    // Values of another category are refused before sending.
    let err = cats.apply(500, 1, &values).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}
