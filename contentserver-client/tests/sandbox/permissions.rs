//! Permissions set by the admin and enforced for `editor`, a non-admin user logged in with a
//! second client; owner, group, public and assigned access; effective permissions.

use contentserver_client::api::permissions::Permissions;
use contentserver_client::{ApplyTo, ErrorKind, Permission, UploadBody};

use crate::harness::start;

use Permission::*;

/// Leaves only the owner's access on `node` and everything below it: no public access, no
/// owner-group access, no assigned access (the seed grants DefaultGroup and others some).
async fn owner_only(perms: &Permissions, node: i64) {
    perms
        .set_public(node, &[])
        .apply_to(ApplyTo::ThisAndSubItems)
        .await
        .unwrap();
    perms
        .set_group(node, &[])
        .apply_to(ApplyTo::ThisAndSubItems)
        .await
        .unwrap();
    for entry in perms.get(node).await.unwrap() {
        if entry.kind == "custom" {
            let member = entry.right_id.expect("custom entries name a member");
            perms
                .remove_custom(node, member, ApplyTo::ThisAndSubItems)
                .await
                .unwrap();
        }
    }
    let left: Vec<String> = perms
        .get(node)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| !e.permissions.is_empty())
        .map(|e| e.kind)
        .collect();
    assert_eq!(left, ["owner"]);
}

#[tokio::test]
async fn assigned_access_for_editor_is_enforced() {
    let env = start().await;
    let admin = env.admin();
    let editor = env.client_as("editor");
    let editor_id = env.user("editor");
    let perms = admin.permissions();

    let folder = admin
        .nodes()
        .create_folder(env.folder("Intake"), "Restricted")
        .await
        .unwrap();
    let doc = admin
        .documents()
        .create(folder.id, "Memo.txt", UploadBody::from_bytes("memo"))
        .await
        .unwrap();
    owner_only(&perms, folder.id).await;
    let err = editor.nodes().get(folder.id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err:?}");
    assert!(perms
        .effective(folder.id, editor_id)
        .await
        .unwrap()
        .is_empty());

    // See and see contents, on the folder and what is in it.
    perms
        .add_custom(folder.id, editor_id, &[See, SeeContents])
        .apply_to(ApplyTo::ThisAndSubItems)
        .await
        .unwrap();
    let entries = perms.get(folder.id).await.unwrap();
    let custom = entries
        .iter()
        .find(|e| e.kind == "custom" && e.right_id == Some(editor_id))
        .expect("custom entry for editor");
    assert!(custom.permissions.contains(&See) && custom.permissions.contains(&SeeContents));
    let effective = perms.effective(folder.id, editor_id).await.unwrap();
    assert!(
        effective.contains(&See) && effective.contains(&SeeContents),
        "{effective:?}"
    );
    assert!(!effective.contains(&AddItems), "{effective:?}");

    assert_eq!(
        editor.nodes().get(folder.id).await.unwrap().name,
        "Restricted"
    );
    let bytes = editor
        .documents()
        .download(doc.id)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), b"memo");
    let err = editor
        .nodes()
        .create_folder(folder.id, "Editor's")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err:?}");
    let err = editor.nodes().delete(doc.id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err:?}");
    let err = editor
        .documents()
        .add_version(doc.id, UploadBody::from_bytes("edited"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err:?}");

    // Adding items is granted: now the editor may create.
    perms
        .update_custom(folder.id, editor_id, &[See, SeeContents, AddItems])
        .await
        .unwrap();
    let mine = editor
        .nodes()
        .create_folder(folder.id, "Editor's")
        .await
        .unwrap();
    assert_eq!(mine.parent_id, Some(folder.id));
    assert_eq!(mine.owner_user_id, Some(editor_id));

    // ... but not to change permissions of the admin's folder.
    let err = editor
        .permissions()
        .set_public(folder.id, &[See])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err:?}");

    // Removed again: invisible again.
    perms
        .remove_custom(folder.id, editor_id, ApplyTo::ThisItem)
        .await
        .unwrap();
    let err = editor.nodes().get(folder.id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err:?}");
}

#[tokio::test]
async fn owner_group_and_public_entries() {
    let env = start().await;
    let admin = env.admin();
    let perms = admin.permissions();
    let counsel = env.client_as("counsel");
    let folder = admin
        .nodes()
        .create_folder(env.folder("Published"), "Counsel Drop")
        .await
        .unwrap();
    owner_only(&perms, folder.id).await;
    assert_eq!(
        counsel.nodes().get(folder.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );

    // Owner group "Outside Counsel", with see + see contents: counsel (a member) sees it.
    let group = env.id(&["groups", "Outside Counsel"]);
    perms
        .set_group(folder.id, &[See, SeeContents])
        .right_id(group)
        .await
        .unwrap();
    assert_eq!(counsel.nodes().get(folder.id).await.unwrap().id, folder.id);
    let entries = perms.get(folder.id).await.unwrap();
    let g = entries.iter().find(|e| e.kind == "group").unwrap();
    assert_eq!(g.right_id, Some(group));

    // Public see: the editor sees it too.
    perms.set_public(folder.id, &[See]).await.unwrap();
    let editor = env.client_as("editor");
    assert_eq!(editor.nodes().get(folder.id).await.unwrap().id, folder.id);
    let err = editor
        .nodes()
        .children(folder.id)
        .page(1)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::PermissionDenied | ErrorKind::NotFound
        ),
        "{err:?}"
    );

    // The editor becomes owner with full rights.
    let editor_id = env.user("editor");
    perms
        .set_owner(folder.id, &Permission::ALL)
        .right_id(editor_id)
        .await
        .unwrap();
    let entries = perms.get(folder.id).await.unwrap();
    let owner = entries.iter().find(|e| e.kind == "owner").unwrap();
    assert_eq!(owner.right_id, Some(editor_id));
    assert_eq!(owner.permissions.len(), Permission::ALL.len());
    editor
        .nodes()
        .create_folder(folder.id, "Owned")
        .await
        .unwrap();
}
