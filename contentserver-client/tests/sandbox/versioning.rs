//! Reserve / unreserve (a reserved document refuses versions by others), advanced versioning
//! (minor and major versions, promotion, typed version numbers), node types and typed dates.

use contentserver_client::{NodeType, UploadBody, VersionNumber};
use futures::TryStreamExt;

use crate::harness::start;

#[tokio::test]
async fn a_reserved_document_takes_versions_only_from_its_reserver() {
    let env = start().await;
    let admin = env.admin();
    let editor = env.client_as("editor");
    let intake = env.folder("Intake");
    let doc = editor
        .documents()
        .create(intake, "Draft.txt", UploadBody::from_bytes("v1"))
        .await
        .unwrap();
    assert_eq!(doc.node_type, NodeType::Document);
    assert!(!doc.reserved);
    assert_eq!(doc.reserved_user_id, None);

    let admin_id = env.user("admin");
    admin.documents().reserve(doc.id, admin_id).await.unwrap();
    let node = editor.nodes().get(doc.id).await.unwrap();
    assert!(node.reserved);
    assert_eq!(node.reserved_user_id, Some(admin_id));
    assert!(node.reserved_date.is_some());

    // Someone else's version is refused and nothing is added.
    let err = editor
        .documents()
        .add_version(doc.id, UploadBody::from_bytes("v2 by editor"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500), "{err:?}");
    assert!(err.to_string().contains("reserved"), "{err}");
    assert_eq!(editor.documents().versions(doc.id).await.unwrap().len(), 1);
    // The reserver's own version goes in.
    admin
        .documents()
        .add_version(doc.id, UploadBody::from_bytes("v2 by admin"))
        .await
        .unwrap();

    admin.documents().unreserve(doc.id).await.unwrap();
    let node = editor.nodes().get(doc.id).await.unwrap();
    assert!(!node.reserved);
    assert_eq!(node.reserved_user_id, None);
    let v3 = editor
        .documents()
        .add_version(doc.id, UploadBody::from_bytes("v3 by editor"))
        .await
        .unwrap();
    assert_eq!(v3.version_number, Some(3));
    assert_eq!(v3.number(), Some(VersionNumber::new(3, 0)));
}

#[tokio::test]
async fn advanced_versioning_minor_major_and_promote() {
    let env = start().await;
    let admin = env.admin();
    let docs = admin.documents();
    let doc = docs
        .create(
            env.folder("Projects"),
            "Spec.docx",
            UploadBody::from_bytes("1.0"),
        )
        .advanced_versioning(true)
        .await
        .unwrap();
    assert!(doc.advanced_versioning);
    let first = docs.latest_version(doc.id).await.unwrap();
    assert_eq!(first.number(), Some(VersionNumber::new(1, 0)));

    // Minor by default, then explicitly minor, then major.
    let v = docs
        .add_version(doc.id, UploadBody::from_bytes("1.1"))
        .await
        .unwrap();
    assert_eq!(v.number(), Some("1.1".parse().unwrap()));
    assert_eq!(v.version_number_name.as_deref(), Some("1.1"));
    let v = docs
        .add_version(doc.id, UploadBody::from_bytes("1.2"))
        .major(false)
        .await
        .unwrap();
    assert_eq!(v.number(), Some(VersionNumber::new(1, 2)));
    let minor_seq = v.version_number.unwrap();
    let v = docs
        .add_version(doc.id, UploadBody::from_bytes("2.0"))
        .major(true)
        .await
        .unwrap();
    assert_eq!(v.number(), Some(VersionNumber::new(2, 0)));

    // Promote 1.2: a new major version with 1.2's content.
    let promoted = docs
        .promote(doc.id, minor_seq)
        .description("release")
        .await
        .unwrap();
    assert_eq!(promoted.number(), Some(VersionNumber::new(3, 0)));
    assert_eq!(promoted.description.as_deref(), Some("release"));
    let body = docs
        .download(doc.id)
        .version(promoted.version_number.unwrap())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&body[..], b"1.2");
    let numbers: Vec<String> = docs
        .versions(doc.id)
        .into_stream()
        .map_ok(|v| v.number().unwrap().to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(numbers, ["1.0", "1.1", "1.2", "2.0", "3.0"]);

    // A major version cannot be promoted.
    let err = docs.promote(doc.id, 1).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");
}

#[tokio::test]
async fn standard_versioning_has_nothing_to_promote_and_editors_add_no_majors() {
    let env = start().await;
    let admin = env.admin();
    let doc = admin
        .documents()
        .create(
            env.folder("Projects"),
            "Plain.txt",
            UploadBody::from_bytes("1"),
        )
        .await
        .unwrap();
    assert!(!doc.advanced_versioning);
    let v2 = admin
        .documents()
        .add_version(doc.id, UploadBody::from_bytes("2"))
        .major(false)
        .await
        .unwrap();
    assert_eq!(v2.number(), Some(VersionNumber::new(2, 0)));
    let err = admin.documents().promote(doc.id, 2).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");

    // In Intake the editors' group may modify, but not add major versions (on a document
    // they do not own).
    let editor = env.client_as("editor");
    let adv = admin
        .documents()
        .create(env.folder("Intake"), "Adv.txt", UploadBody::from_bytes("1"))
        .advanced_versioning(true)
        .await
        .unwrap();
    let minor = editor
        .documents()
        .add_version(adv.id, UploadBody::from_bytes("1.1"))
        .await
        .unwrap();
    assert_eq!(minor.number(), Some(VersionNumber::new(1, 1)));
    let err = editor
        .documents()
        .add_version(adv.id, UploadBody::from_bytes("2.0"))
        .major(true)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500), "{err:?}");
    let err = editor.documents().promote(adv.id, 2).await.unwrap_err();
    assert_eq!(err.status(), Some(500), "{err:?}");
}

#[tokio::test]
async fn node_types_and_dates_are_typed() {
    let env = start().await;
    let admin = env.admin();
    let ews = admin.nodes().enterprise_workspace().await.unwrap();
    assert_eq!(ews.node_type, NodeType::EnterpriseWorkspace);
    assert!(ews.create_date.is_some());
    let folder = admin.nodes().create_folder(ews.id, "Typed").await.unwrap();
    assert_eq!(folder.node_type, NodeType::Folder);
    let kids: Vec<_> = admin
        .nodes()
        .children(ews.id)
        .where_type(NodeType::Folder)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert!(kids.iter().all(|k| k.node_type == NodeType::Folder));
    assert!(kids.iter().any(|k| k.id == folder.id));
    let ancestors = admin.nodes().ancestors(folder.id).await.unwrap();
    assert_eq!(ancestors[0].node_type, NodeType::EnterpriseWorkspace);
    // The modify date moves with a change; it is a time, not a text.
    let before = folder.modify_date.unwrap();
    admin.nodes().rename(folder.id, "Typed 2").await.unwrap();
    let after = admin.nodes().get(folder.id).await.unwrap();
    assert!(after.modify_date.unwrap() >= before);
}
