//! Documents: create with categories and a classification in one request, versions, content of
//! each version, one-shot bodies, and what the server refuses.

use chrono::{NaiveDate, NaiveDateTime};
use contentserver_client::api::nodes::TYPE_DOCUMENT;
use contentserver_client::{AttrKey, AttrValue, CategoryValues, Error, ErrorKind, UploadBody};
use futures::stream;

use crate::harness::{start, Content};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn dt(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").unwrap()
}

fn datetime(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
    date(y, m, d).and_hms_opt(h, 30, 0).unwrap()
}

#[tokio::test]
async fn create_with_categories_and_classification_in_one_request() {
    let env = start().await;
    let client = env.admin();
    let gov = env.category("Document Governance");
    let a = |name: &str| AttrKey::attr(gov, env.attr("Document Governance", name));
    let review = env.attr("Document Governance", "Review");
    let reviewer = env.id(&[
        "categories",
        "Document Governance",
        "attributes",
        "Review",
        "attributes",
        "Reviewer",
        "id",
    ]);
    let values = CategoryValues::new()
        .set(a("Source System"), "Dropbox")
        .set(
            a("Source Path"),
            "/Marketing/Campaign 2026/Approved/Press Release.pdf",
        )
        .set(a("Document Type"), "Marketing")
        .set(a("Approved On"), date(2026, 3, 2))
        .set(
            a("Keywords"),
            AttrValue::Multi(vec!["launch".into(), "press".into()]),
        )
        .set(
            AttrKey::set_row(gov, review, 1, reviewer),
            AttrValue::User(env.user("editor")),
        );
    let class = env.id(&["rm_classifications", "MKT-01 Marketing Records"]);
    let content = Content::new(10_000, 1);
    let created = client
        .documents()
        .create(
            env.folder("Archive/Marketing"),
            "Press Release.pdf",
            content.body(),
        )
        .mime_type("application/pdf")
        .description("approved press release")
        .external_create_date(datetime(2026, 2, 1, 9))
        .external_modify_date(datetime(2026, 3, 1, 17))
        .categories(values)
        .classifications([class])
        .await
        .unwrap();
    assert_eq!(env.count("POST /api/v2/nodes"), 1, "one request");
    assert_eq!(created.node_type, TYPE_DOCUMENT);
    assert_eq!(created.name, "Press Release.pdf");
    assert_eq!(created.size, Some(10_000));
    assert_eq!(created.mime_type.as_deref(), Some("application/pdf"));
    assert_eq!(
        created.description.as_deref(),
        Some("approved press release")
    );
    let node = client.nodes().get(created.id).await.unwrap();
    assert_eq!(node.external_create_date, Some(dt("2026-02-01T09:30:00")));
    assert_eq!(node.external_modify_date, Some(dt("2026-03-01T17:30:00")));

    let cat = client.categories().get(created.id, gov).await.unwrap();
    assert_eq!(cat.id, gov);
    assert_eq!(cat.name.as_deref(), Some("Document Governance"));
    assert_eq!(cat.value(&a("Source System")).unwrap(), "Dropbox");
    assert_eq!(cat.value(&a("Document Type")).unwrap(), "Marketing");
    assert!(cat
        .value(&a("Approved On"))
        .unwrap()
        .as_str()
        .unwrap()
        .starts_with("2026-03-02"));
    assert_eq!(
        cat.value(&a("Keywords")).unwrap(),
        &serde_json::json!(["launch", "press"])
    );
    assert_eq!(
        cat.value(&AttrKey::set_row(gov, review, 1, reviewer))
            .unwrap()
            .as_i64(),
        Some(env.user("editor"))
    );
    let required: Vec<&str> = cat
        .attributes
        .iter()
        .filter(|a| a.required)
        .map(|a| a.key.as_str())
        .collect();
    assert_eq!(required, [a("Source System").to_string()]);

    let listed = client.categories().list(created.id).await.unwrap();
    assert_eq!(listed.iter().map(|c| c.id).collect::<Vec<_>>(), [gov]);

    let classes = client.records().classifications(created.id).await.unwrap();
    assert_eq!(classes.iter().map(|c| c.id).collect::<Vec<_>>(), [class]);
    assert_eq!(classes[0].name.as_deref(), Some("MKT-01 Marketing Records"));

    let bytes = client
        .documents()
        .download(created.id)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), content.to_vec().as_slice());
}

#[tokio::test]
async fn create_refuses_invalid_category_values_and_duplicates() {
    let env = start().await;
    let client = env.admin();
    let gov = env.category("Document Governance");
    let folder = env.folder("Archive/HR");
    // "Source System" is required.
    let missing = CategoryValues::new().set(
        AttrKey::attr(gov, env.attr("Document Governance", "Team")),
        "HR",
    );
    let err = client
        .documents()
        .create(folder, "Policy.docx", UploadBody::from_bytes("x"))
        .categories(missing)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { status: 400, .. }), "{err:?}");
    // Not one of the valid values.
    let invalid = CategoryValues::new()
        .set(
            AttrKey::attr(gov, env.attr("Document Governance", "Source System")),
            "Dropbox",
        )
        .set(
            AttrKey::attr(gov, env.attr("Document Governance", "Document Type")),
            "Poem",
        );
    let err = client
        .documents()
        .create(folder, "Policy.docx", UploadBody::from_bytes("x"))
        .categories(invalid)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { status: 400, .. }), "{err:?}");
    assert!(client
        .nodes()
        .find_child(folder, "Policy.docx")
        .await
        .unwrap()
        .is_none());

    client
        .documents()
        .create(folder, "Policy.docx", UploadBody::from_bytes("x"))
        .await
        .unwrap();
    let dup = client
        .documents()
        .create(folder, "Policy.docx", UploadBody::from_bytes("y"))
        .await
        .unwrap_err();
    assert_eq!(dup.kind(), ErrorKind::AlreadyExists, "{dup:?}");
}

#[tokio::test]
async fn versions_are_listed_and_each_downloads_its_own_content() {
    let env = start().await;
    let client = env.admin();
    let docs = client.documents();
    let v1 = Content::new(5_000, 11);
    let v2 = Content::new(7_000, 12);
    let doc = docs
        .create(env.folder("Archive/Finance"), "Ledger.xlsx", v1.body())
        .mime_type("application/vnd.ms-excel")
        .await
        .unwrap();
    let added = docs
        .add_version(doc.id, v2.body())
        .file_name("Ledger v2.xlsx")
        .mime_type("application/vnd.ms-excel")
        .description("second quarter figures")
        .external_modify_date(datetime(2026, 4, 1, 8))
        .await
        .unwrap();
    assert_eq!(added.version_number, Some(2));
    assert_eq!(added.file_size, Some(7_000));

    let versions = docs.versions(doc.id).await.unwrap();
    let numbers: Vec<_> = versions.iter().map(|v| v.version_number).collect();
    assert_eq!(numbers, [Some(1), Some(2)]);
    assert_eq!(versions[0].file_size, Some(5_000));
    assert_eq!(
        versions[1].description.as_deref(),
        Some("second quarter figures")
    );
    assert_eq!(versions[1].file_name.as_deref(), Some("Ledger v2.xlsx"));
    // Paged by one.
    let paged: Vec<_> = {
        use futures::TryStreamExt;
        docs.versions(doc.id)
            .page_size(1)
            .into_stream()
            .try_collect()
            .await
            .unwrap()
    };
    assert_eq!(paged.len(), 2);

    let latest = docs.latest_version(doc.id).await.unwrap();
    assert_eq!(latest.version_number, Some(2));
    let first = docs.version(doc.id, 1).await.unwrap();
    assert_eq!(first.file_size, Some(5_000));

    v1.verify(docs.download(doc.id).version(1).await.unwrap())
        .await
        .unwrap();
    v2.verify(docs.download(doc.id).version(2).await.unwrap())
        .await
        .unwrap();
    assert!(
        versions.iter().all(|v| v.id == Some(doc.id)),
        "{versions:?}"
    );
    let latest = docs.download(doc.id).await.unwrap();
    assert_eq!(
        latest.mime_type.as_deref(),
        Some("application/vnd.ms-excel")
    );
    assert_eq!(latest.file_name.as_deref(), Some("Ledger v2.xlsx"));
    v2.verify(latest).await.unwrap();
    let node = client.nodes().get(doc.id).await.unwrap();
    assert_eq!(node.size, Some(7_000));
    assert_eq!(node.external_modify_date, Some(dt("2026-04-01T08:30:00")));

    let missing = docs.download(doc.id).version(3).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound, "{missing:?}");
    let too_long = docs
        .add_version(doc.id, UploadBody::from_bytes("z"))
        .description("d".repeat(256))
        .await
        .unwrap_err();
    assert_eq!(too_long.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn a_one_shot_body_uploads_once() {
    let env = start().await;
    let client = env.admin();
    let content = Content::new(300_000, 3);
    let body = UploadBody::one_shot(content.len, content.chunks());
    assert!(!body.is_replayable());
    let doc = client
        .documents()
        .create(env.folder("Intake"), "scan.tif", body)
        .await
        .unwrap();
    content
        .verify(client.documents().download(doc.id).await.unwrap())
        .await
        .unwrap();

    // A source shorter than declared fails the upload; nothing is created.
    let short = UploadBody::one_shot(10, stream::iter([Ok(bytes::Bytes::from_static(b"abc"))]));
    let err = client
        .documents()
        .create(env.folder("Intake"), "short.bin", short)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(client
        .nodes()
        .find_child(env.folder("Intake"), "short.bin")
        .await
        .unwrap()
        .is_none());
}
