//! A strict reading of the emulator's answers. The typed client decodes leniently (absent
//! optional-looking fields default), which would hide an answer missing a field the spec
//! requires; strict decoders (the Python SDK, Stone's own) would refuse it. These checks read the
//! raw JSON through the client's raw calls and require every field the spec does not mark `?`
//! or give a default, and `.tag` exactly where the spec's polymorphic types put it.

use bytes::Bytes;
use dropbox_client::Idempotency;
use serde_json::{json, Value};

use crate::common::{client, start};

/// Asserts that `value` has every key of `keys`.
fn require(value: &Value, keys: &[&str], what: &str) {
    for key in keys {
        assert!(
            value.get(*key).is_some_and(|v| !v.is_null()),
            "{what}: required field `{key}` missing in {value}"
        );
    }
}

const FILE: &[&str] = &[
    "name",
    "id",
    "client_modified",
    "server_modified",
    "rev",
    "size",
];

#[tokio::test]
async fn answers_carry_every_required_field() {
    let sb = start().await;
    let c = client(&sb);
    let rpc = |route: &'static str, arg: Value| {
        let c = c.clone();
        async move {
            c.rpc_raw::<_, Value>(route, &arg, Idempotency::Idempotent)
                .await
                .unwrap_or_else(|e| panic!("{route}: {e}"))
        }
    };

    let account = rpc("users/get_current_account", Value::Null).await;
    require(
        &account,
        &[
            "account_id",
            "name",
            "email",
            "email_verified",
            "disabled",
            "locale",
            "referral_link",
            "is_paired",
            "account_type",
            "root_info",
        ],
        "FullAccount",
    );
    require(
        &account["name"],
        &[
            "given_name",
            "surname",
            "familiar_name",
            "display_name",
            "abbreviated_name",
        ],
        "Name",
    );

    // Metadata where the declared type is the parent: with `.tag`.
    let press = "/Marketing/Campaign 2026/Approved/Press Release.pdf";
    let file = rpc("files/get_metadata", json!({ "path": press })).await;
    assert_eq!(file[".tag"], "file");
    require(&file, FILE, "FileMetadata");
    let folder = rpc("files/get_metadata", json!({"path": "/Marketing"})).await;
    assert_eq!(folder[".tag"], "folder");
    require(&folder, &["name", "id"], "FolderMetadata");
    let listing = rpc(
        "files/list_folder",
        json!({"path": "/Marketing", "recursive": true}),
    )
    .await;
    require(
        &listing,
        &["entries", "cursor", "has_more"],
        "ListFolderResult",
    );
    for entry in listing["entries"].as_array().unwrap() {
        assert!(
            entry[".tag"].is_string(),
            "list entries carry .tag: {entry}"
        );
    }

    // Metadata where the declared type is the subtype: without `.tag`.
    let uploaded: Value = c
        .upload_raw(
            "files/upload",
            &json!({"path": "/Suite/Shapes/a.txt"}),
            Bytes::from_static(b"a"),
        )
        .await
        .unwrap();
    require(&uploaded, FILE, "upload result");
    assert!(uploaded.get(".tag").is_none(), "upload result: {uploaded}");
    let (downloaded, body): (Value, _) = c
        .download_raw("files/download", &json!({"path": "/Suite/Shapes/a.txt"}))
        .await
        .unwrap();
    let bytes: Vec<Bytes> = futures::TryStreamExt::try_collect(body).await.unwrap();
    assert_eq!(bytes.concat(), b"a");
    require(&downloaded, FILE, "Dropbox-API-Result");
    assert!(
        downloaded.get(".tag").is_none(),
        "download result: {downloaded}"
    );
    let created = rpc(
        "files/create_folder_v2",
        json!({"path": "/Suite/Shapes/dir"}),
    )
    .await;
    assert!(created["metadata"].get(".tag").is_none(), "{created}");
    let deleted = rpc("files/delete_v2", json!({"path": "/Suite/Shapes/dir"})).await;
    assert_eq!(deleted["metadata"][".tag"], "folder");

    let revisions = rpc("files/list_revisions", json!({ "path": press })).await;
    require(
        &revisions,
        &["is_deleted", "entries", "has_more"],
        "ListRevisionsResult",
    );
    let search = rpc("files/search_v2", json!({"query": "press"})).await;
    require(&search, &["matches", "has_more"], "SearchV2Result");
    let first = &search["matches"][0]["metadata"];
    assert_eq!(first[".tag"], "metadata", "{search}");
    assert_eq!(first["metadata"][".tag"], "file", "{search}");
    let tags = rpc("files/tags/get", json!({ "paths": [press] })).await;
    assert_eq!(
        tags["paths_to_tags"][0]["tags"][0],
        json!({".tag": "user_generated_tag", "tag_text": "approved"})
    );

    // Sharing.
    let link = rpc(
        "sharing/create_shared_link_with_settings",
        json!({ "path": press }),
    )
    .await;
    assert_eq!(link[".tag"], "file");
    require(
        &link,
        &[
            "url",
            "name",
            "link_permissions",
            "client_modified",
            "server_modified",
            "rev",
            "size",
        ],
        "FileLinkMetadata",
    );
    require(
        &link["link_permissions"],
        &[
            "can_revoke",
            "visibility_policies",
            "can_set_expiry",
            "can_remove_expiry",
            "allow_download",
            "can_allow_download",
            "can_disallow_download",
            "allow_comments",
            "team_restricts_comments",
        ],
        "LinkPermissions",
    );
    let links = rpc("sharing/list_shared_links", json!({})).await;
    require(&links, &["links", "has_more"], "ListSharedLinksResult");

    let shared = rpc(
        "sharing/share_folder",
        json!({"path": "/Shared/Outside Counsel"}),
    )
    .await;
    assert_eq!(shared[".tag"], "complete", "{shared}");
    require(
        &shared,
        &[
            "access_type",
            "is_inside_team_folder",
            "is_team_folder",
            "name",
            "policy",
            "preview_url",
            "shared_folder_id",
            "time_invited",
        ],
        "SharedFolderMetadata",
    );
    require(
        &shared["policy"],
        &["acl_update_policy", "shared_link_policy"],
        "FolderPolicy",
    );
    let members = rpc(
        "sharing/list_folder_members",
        json!({"shared_folder_id": shared["shared_folder_id"]}),
    )
    .await;
    require(
        &members,
        &["users", "groups", "invitees"],
        "SharedFolderMembers",
    );
    let owner = &members["users"][0];
    require(owner, &["access_type", "user"], "UserMembershipInfo");
    require(
        &owner["user"],
        &["account_id", "email", "display_name", "same_team"],
        "UserInfo",
    );

    // File requests and property templates.
    let requests = rpc("file_requests/list_v2", json!({})).await;
    require(
        &requests,
        &["file_requests", "cursor", "has_more"],
        "ListFileRequestsV2Result",
    );
    require(
        &requests["file_requests"][0],
        &["id", "url", "title", "created", "is_open", "file_count"],
        "FileRequest",
    );
    let templates = rpc("file_properties/templates/list_for_user", Value::Null).await;
    let template = rpc(
        "file_properties/templates/get_for_user",
        json!({"template_id": templates["template_ids"][0]}),
    )
    .await;
    require(
        &template,
        &["name", "description", "fields"],
        "PropertyGroupTemplate",
    );
    require(
        &template["fields"][0],
        &["name", "description", "type"],
        "PropertyFieldTemplate",
    );
    assert_eq!(template["fields"][0]["type"], json!({".tag": "string"}));
}

#[tokio::test]
async fn error_answers_are_envelopes() {
    let sb = start().await;
    let c = client(&sb);
    let err = c
        .rpc_raw::<_, Value>(
            "files/get_metadata",
            &json!({"path": "/nope"}),
            Idempotency::Idempotent,
        )
        .await
        .unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.status, 409);
    assert!(api.summary.starts_with("path/not_found"), "{}", api.summary);
    assert_eq!(
        api.error,
        Some(json!({".tag": "path", "path": {".tag": "not_found"}}))
    );

    // 401 bodies name the AuthError.
    let err = crate::common::client_for(&sb, "wrong")
        .files()
        .get_metadata("/Marketing")
        .await
        .unwrap_err();
    match err {
        dropbox_client::Error::Auth {
            status,
            tag,
            summary,
            ..
        } => {
            assert_eq!(status, 401);
            assert_eq!(tag.as_deref(), Some("invalid_access_token"));
            assert!(summary.starts_with("invalid_access_token"), "{summary}");
        }
        other => panic!("expected an auth error, got {other:?}"),
    }

    // Malformed input is a 400 with a plain-text reason.
    let err = c
        .rpc_raw::<_, Value>(
            "files/get_metadata",
            &json!({"no_path": true}),
            Idempotency::Idempotent,
        )
        .await
        .unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.status, 400);
    assert!(api.error.is_none());
    assert!(
        api.summary.contains("files/get_metadata"),
        "{}",
        api.summary
    );
    // Unknown routes too.
    let err = c
        .rpc_raw::<_, Value>("files/no_such_route", &json!({}), Idempotency::Idempotent)
        .await
        .unwrap_err();
    assert_eq!(err.api().map(|a| a.status), Some(400), "{err:?}");
}
