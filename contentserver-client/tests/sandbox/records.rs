//! Records management: RM classification and its details, holds (list, by name, create, apply,
//! on a node, remove) and what a hold blocks.

use contentserver_client::{ErrorKind, UploadBody};

use crate::harness::start;

#[tokio::test]
async fn rm_classify_details_and_reclassify_with_the_token() {
    let env = start().await;
    let client = env.admin();
    let records = client.records();
    let doc = client
        .documents()
        .create(
            env.folder("Projects"),
            "Site Plan.pdf",
            UploadBody::from_bytes("plan"),
        )
        .await
        .unwrap();
    let prj = env.id(&["rm_classifications", "PRJ-10 Project Records"]);
    let gen = env.id(&["rm_classifications", "GEN-00 General"]);

    let before = records.details(doc.id).await.unwrap();
    assert!(before.records.is_empty());
    let answered = records.classify(doc.id, prj).await.unwrap();
    let details = records.details(doc.id).await.unwrap();
    assert_eq!(
        answered, details.rm_metadata_token,
        "the answer's token is the current one"
    );
    assert!(details.can_rm_classify);
    assert!(details.has(prj));
    assert_eq!(details.records[0].file_number.as_deref(), Some("PRJ-10"));
    assert_eq!(details.records[0].file_status.as_deref(), Some("ACT"));
    assert!(details.records[0].record_date.is_some());
    assert_eq!(details.records.len(), 1);
    assert_eq!(details.records[0].class_id, prj);
    let token = details.rm_metadata_token.clone().expect("rm_metadataToken");

    // Changing an existing RM classification needs the token.
    let err = records.classify(doc.id, gen).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err:?}");
    records
        .classify(doc.id, gen)
        .rm_metadata_token(token)
        .await
        .unwrap();
    let details = records.details(doc.id).await.unwrap();
    assert_eq!(details.records[0].class_id, gen);
}

#[tokio::test]
async fn rm_classify_applies_to_sub_items() {
    let env = start().await;
    let client = env.admin();
    let folder = client
        .nodes()
        .create_folder(env.folder("Archive/Finance"), "FY2025")
        .await
        .unwrap();
    let doc = client
        .documents()
        .create(folder.id, "Return.pdf", UploadBody::from_bytes("tax"))
        .await
        .unwrap();
    let fin = env.id(&["rm_classifications", "FIN-07 Tax Records"]);
    client
        .records()
        .classify(folder.id, fin)
        .apply_to_sub_items(true)
        .await
        .unwrap();
    let details = client.records().details(doc.id).await.unwrap();
    assert_eq!(details.records[0].class_id, fin);
}

#[tokio::test]
async fn holds_block_deletes_and_new_versions_until_removed() {
    let env = start().await;
    let client = env.admin();
    let records = client.records();
    let seeded = env.id(&["holds", "Riverside Tower Litigation"]);

    let holds = records.holds().await.unwrap();
    let riverside = holds.iter().find(|h| h.id == seeded).expect("seeded hold");
    assert_eq!(riverside.name, "Riverside Tower Litigation");
    assert_eq!(riverside.hold_type.as_deref(), Some("LEGAL"));
    let by_name = records
        .hold_by_name("Riverside Tower Litigation")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_name.id, seeded);
    assert!(records
        .hold_by_name("No Such Hold")
        .await
        .unwrap()
        .is_none());

    let created = records
        .create_hold("Harbor Audit")
        .hold_type("AUDIT")
        .comment("2026 audit")
        .await
        .unwrap();
    let read = records.hold_by_name("Harbor Audit").await.unwrap().unwrap();
    assert_eq!(read.id, created);
    assert_eq!(read.comment.as_deref(), Some("2026 audit"));

    let folder = client
        .nodes()
        .create_folder(env.folder("Projects"), "Evidence")
        .await
        .unwrap();
    let doc = client
        .documents()
        .create(folder.id, "Email.msg", UploadBody::from_bytes("hello"))
        .await
        .unwrap();
    records.apply_hold(doc.id, seeded).await.unwrap();
    let on_node = records.node_holds(doc.id).await.unwrap();
    assert!(on_node.iter().any(|h| h.id == seeded), "{on_node:?}");
    assert_eq!(on_node[0].name, "Riverside Tower Litigation");

    let err = client.nodes().delete(doc.id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err:?}");
    // The folder holds a held document: it cannot go either.
    let err = client.nodes().delete(folder.id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err:?}");
    let err = client
        .documents()
        .add_version(doc.id, UploadBody::from_bytes("changed"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err:?}");
    assert_eq!(client.documents().versions(doc.id).await.unwrap().len(), 1);

    records.remove_hold(doc.id, seeded).await.unwrap();
    let on_node = records.node_holds(doc.id).await.unwrap();
    assert!(on_node.iter().all(|h| h.id != seeded), "{on_node:?}");
    client.nodes().delete(doc.id).await.unwrap();
    client.nodes().delete(folder.id).await.unwrap();
}
