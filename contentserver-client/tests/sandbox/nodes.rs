//! Volumes, get with `fields`, children with filters and sort, find by name, path walks,
//! folders, update/rename/move with the edit-conflict guard, copy, delete, ancestors.

use contentserver_client::api::nodes::{TYPE_DOCUMENT, TYPE_FOLDER, VOLUME_ENTERPRISE};
use contentserver_client::{Error, ErrorKind};
use futures::TryStreamExt;

use crate::harness::start;

#[tokio::test]
async fn volumes_and_the_enterprise_workspace() {
    let env = start().await;
    let client = env.admin();
    let ews = client.nodes().enterprise_workspace().await.unwrap();
    assert_eq!(ews.id, env.ews());
    assert_eq!(ews.node_type, VOLUME_ENTERPRISE);
    assert!(ews.container);

    let volumes = client.nodes().volumes().await.unwrap();
    for key in ["enterprise_workspace", "categories", "business_workspaces"] {
        let id = env.id(&["volumes", key]);
        assert!(
            volumes.iter().any(|v| v.id == id),
            "{key} {id} in {volumes:?}"
        );
    }
    let categories = client.nodes().volume(133).await.unwrap();
    assert_eq!(categories.id, env.id(&["volumes", "categories"]));
}

#[tokio::test]
async fn get_with_fields_returns_the_selected_sections() {
    let env = start().await;
    let client = env.admin();
    let doc = env.id(&[
        "documents",
        "Published/Outside Counsel/Contract Summary.pdf",
    ]);
    let node = client.nodes().get(doc).await.unwrap();
    assert_eq!(node.name, "Contract Summary.pdf");
    assert_eq!(node.node_type, TYPE_DOCUMENT);
    assert_eq!(
        node.parent_id,
        Some(env.folder("Published/Outside Counsel"))
    );
    assert!(node.size.unwrap() > 0);
    assert_eq!(node.mime_type.as_deref(), Some("application/pdf"));

    let details = client
        .nodes()
        .get(doc)
        .fields("properties")
        .fields("versions.element(0)")
        .send_details()
        .await
        .unwrap();
    assert_eq!(details.node.id, doc);
    assert!(
        details.sections.contains_key("versions"),
        "{:?}",
        details.sections.keys()
    );
}

#[tokio::test]
async fn children_filters_sort_find_child_and_resolve_path() {
    let env = start().await;
    let client = env.admin();
    let nodes = client.nodes();
    let archive = env.folder("Archive");
    let names: Vec<String> = nodes
        .children(archive)
        .sort("desc_name")
        .into_stream()
        .map_ok(|n| n.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names, ["Marketing", "HR", "Finance"]);

    let published = env.folder("Published/Outside Counsel");
    let docs: Vec<i64> = nodes
        .children(published)
        .where_type(TYPE_DOCUMENT)
        .sort("asc_name")
        .into_stream()
        .map_ok(|n| n.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        docs,
        [
            env.id(&[
                "documents",
                "Published/Outside Counsel/Contract Summary.pdf"
            ]),
            env.id(&[
                "documents",
                "Published/Outside Counsel/Engagement Letter.pdf"
            ]),
        ]
    );
    let folders = nodes
        .children(published)
        .where_type(TYPE_FOLDER)
        .page(1)
        .await
        .unwrap();
    assert!(folders.items.is_empty());
    let letters: Vec<String> = nodes
        .children(published)
        .where_name("Letter")
        .into_stream()
        .map_ok(|n| n.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(letters, ["Engagement Letter.pdf"]);
    // Case-insensitive (the reference's assumption).
    let lower = nodes
        .children(published)
        .where_name("letter")
        .page(1)
        .await
        .unwrap();
    assert_eq!(lower.items.len(), 1);
    assert!(lower.items.iter().all(|n| n.volume_id == Some(-env.ews())));

    let hr = nodes.find_child(archive, "HR").await.unwrap().unwrap();
    assert_eq!(hr.id, env.folder("Archive/HR"));
    assert!(nodes.find_child(archive, "H").await.unwrap().is_none());

    let found = nodes
        .resolve_path(
            env.ews(),
            &["Published", "Outside Counsel", "Engagement Letter.pdf"],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        found.id,
        env.id(&[
            "documents",
            "Published/Outside Counsel/Engagement Letter.pdf"
        ])
    );
    assert!(nodes
        .resolve_path(env.ews(), &["Published", "Nowhere"])
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn folder_lifecycle_create_update_move_copy_delete() {
    let env = start().await;
    let client = env.admin();
    let nodes = client.nodes();
    let intake = env.folder("Intake");
    let folder = nodes
        .create_folder(intake, "Batch 7")
        .description("incoming batch")
        .await
        .unwrap();
    assert_eq!(folder.name, "Batch 7");
    assert_eq!(folder.parent_id, Some(intake));
    assert_eq!(folder.node_type, TYPE_FOLDER);
    assert_eq!(folder.description.as_deref(), Some("incoming batch"));
    assert_eq!(nodes.get(intake).await.unwrap().container_size, Some(1));

    let dup = nodes.create_folder(intake, "Batch 7").await.unwrap_err();
    assert_eq!(dup.kind(), ErrorKind::AlreadyExists, "{dup:?}");

    nodes.rename(folder.id, "Batch 7 (checked)").await.unwrap();
    nodes
        .update(folder.id)
        .description("checked")
        .await
        .unwrap();
    let read = nodes.get(folder.id).await.unwrap();
    assert_eq!(read.name, "Batch 7 (checked)");
    assert_eq!(read.description.as_deref(), Some("checked"));

    let backups = env.folder("Backups");
    nodes.move_to(folder.id, backups).await.unwrap();
    assert_eq!(nodes.get(folder.id).await.unwrap().parent_id, Some(backups));
    assert!(nodes
        .find_child(intake, "Batch 7 (checked)")
        .await
        .unwrap()
        .is_none());

    let copy = nodes
        .copy(folder.id, intake)
        .name("Batch 7 copy")
        .await
        .unwrap();
    assert_ne!(copy.id, folder.id);
    assert_eq!(copy.parent_id, Some(intake));
    assert_eq!(copy.name, "Batch 7 copy");

    let path: Vec<i64> = nodes
        .ancestors(copy.id)
        .await
        .unwrap()
        .iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(path.first(), Some(&env.ews()), "root first: {path:?}");
    assert!(path.contains(&intake));

    nodes.delete(copy.id).await.unwrap();
    let gone = nodes.get(copy.id).await.unwrap_err();
    assert_eq!(gone.kind(), ErrorKind::NotFound, "{gone:?}");
    assert!(matches!(gone, Error::Api { .. }));
}

#[tokio::test]
async fn a_stale_metadata_token_is_an_edit_conflict() {
    let env = start().await;
    let client = env.admin();
    let folder = client
        .nodes()
        .create_folder(env.folder("Intake"), "Guarded")
        .await
        .unwrap();
    let state = client
        .raw()
        .get(format!("api/v2/nodes/{}", folder.id))
        .flag("state")
        .send()
        .await
        .unwrap();
    let token = state
        .pointer("/results/state/properties/metadata_token")
        .and_then(|t| t.as_str())
        .unwrap_or_else(|| panic!("no metadata_token in {state}"))
        .to_string();
    client
        .nodes()
        .update(folder.id)
        .name("Guarded v2")
        .metadata_token(&token)
        .await
        .unwrap();
    // The token changed with the rename: the old one is stale now.
    let err = client
        .nodes()
        .update(folder.id)
        .name("Guarded v3")
        .metadata_token(token)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err:?}");
    assert_eq!(
        client.nodes().get(folder.id).await.unwrap().name,
        "Guarded v2"
    );
}

#[tokio::test]
async fn invalid_names_are_refused_before_sending() {
    let env = start().await;
    let client = env.admin();
    let long = "x".repeat(249);
    let err = client
        .nodes()
        .create_folder(env.folder("Intake"), long)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = client
        .nodes()
        .create_folder(env.folder("Intake"), "  ")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(env.count("POST /api/v2/nodes"), 0);
    // 248 characters is the limit, not beyond it: the server takes it.
    let max = "y".repeat(248);
    let folder = client
        .nodes()
        .create_folder(env.folder("Intake"), max.clone())
        .await
        .unwrap();
    assert_eq!(folder.name, max);
}
