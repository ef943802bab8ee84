//! Dropbox emulator over raw HTTP: shared links, shared folders and members, file requests with
//! outside submissions, property templates and groups, webhooks.

mod dropbox_support;

use axum::routing::post;
use dropbox_support::{json_body, Db, TOKEN_2};
use hmac::{Hmac, Mac};
use sandbox::SandboxConfig;
use serde_json::{json, Value};
use sha2::Sha256;

#[tokio::test]
async fn shared_links_with_settings() {
    let db = Db::start().await;
    let path = "/Marketing/Campaign 2026/Approved/Press Release.pdf";
    let link = db
        .rpc(
            "sharing/create_shared_link_with_settings",
            json!({"path": path, "settings": {"audience": "public", "expires": "2099-01-01T00:00:00Z",
                   "link_password": "pw", "require_password": true, "access": "viewer"}}),
        )
        .await
        .ok();
    assert_eq!(link[".tag"], "file");
    assert_eq!(link["expires"], "2099-01-01T00:00:00Z");
    assert_eq!(link["link_permissions"]["require_password"], true);
    assert_eq!(
        link["link_permissions"]["resolved_visibility"][".tag"],
        "password"
    );
    let url = link["url"].as_str().unwrap().to_owned();

    // A second plain request reports the existing link.
    let err = db
        .rpc(
            "sharing/create_shared_link_with_settings",
            json!({"path": path}),
        )
        .await
        .conflict("shared_link_already_exists");
    assert_eq!(err["shared_link_already_exists"]["metadata"]["url"], url);

    db.rpc(
        "sharing/create_shared_link_with_settings",
        json!({"path": "/HR", "settings": {"expires": "2000-01-01T00:00:00Z"}}),
    )
    .await
    .conflict("settings_error/invalid_settings");

    let folder_link = db
        .rpc(
            "sharing/create_shared_link_with_settings",
            json!({"path": "/Marketing"}),
        )
        .await
        .ok();
    assert_eq!(folder_link[".tag"], "folder");

    // Listing by path includes links of parent folders unless direct_only.
    let listed = db
        .rpc("sharing/list_shared_links", json!({"path": path}))
        .await
        .ok();
    assert_eq!(listed["links"].as_array().unwrap().len(), 2);
    let direct = db
        .rpc(
            "sharing/list_shared_links",
            json!({"path": path, "direct_only": true}),
        )
        .await
        .ok();
    assert_eq!(direct["links"].as_array().unwrap().len(), 1);
    let all = db.rpc("sharing/list_shared_links", json!({})).await.ok();
    assert_eq!(all["links"].as_array().unwrap().len(), 2);
    assert!(all["cursor"].is_string());

    let modified = db
        .rpc(
            "sharing/modify_shared_link_settings",
            json!({"url": url, "settings": {"audience": "team", "require_password": false}, "remove_expiration": true}),
        )
        .await
        .ok();
    assert!(modified.get("expires").is_none());
    assert_eq!(
        modified["link_permissions"]["effective_audience"][".tag"],
        "team"
    );

    // Only the owner may change it.
    db.rpc_with(
        TOKEN_2,
        &[],
        "sharing/revoke_shared_link",
        json!({"url": url}),
    )
    .await
    .conflict("shared_link_access_denied");
    let r = db
        .rpc("sharing/revoke_shared_link", json!({"url": url}))
        .await;
    assert_eq!(r.text, "null");
    db.rpc("sharing/revoke_shared_link", json!({"url": url}))
        .await
        .conflict("shared_link_not_found");
}

#[tokio::test]
async fn share_folder_and_members() {
    let db = Db::start().await;
    let shared = db
        .rpc(
            "sharing/share_folder",
            json!({"path": "/Shared/Outside Counsel"}),
        )
        .await
        .ok();
    assert_eq!(shared[".tag"], "complete");
    assert_eq!(shared["access_type"][".tag"], "owner");
    let sfid = shared["shared_folder_id"].as_str().unwrap().to_owned();
    db.rpc(
        "sharing/share_folder",
        json!({"path": "/Shared/Outside Counsel"}),
    )
    .await
    .conflict("bad_path/already_shared");
    db.rpc(
        "sharing/share_folder",
        json!({"path": "/HR/Policies/Drafts/Travel Policy.docx"}),
    )
    .await
    .conflict("bad_path/is_file");

    // Async launch + job status.
    let job = db
        .rpc(
            "sharing/share_folder",
            json!({"path": "/New Shared", "force_async": true}),
        )
        .await
        .ok();
    assert_eq!(job[".tag"], "async_job_id");
    let status = db
        .rpc(
            "sharing/check_share_job_status",
            json!({"async_job_id": job["async_job_id"]}),
        )
        .await
        .ok();
    assert_eq!(status[".tag"], "complete");
    assert_eq!(status["name"], "New Shared");

    // Olu cannot see it until added.
    db.rpc_with(
        TOKEN_2,
        &[],
        "files/list_folder",
        json!({"path": format!("ns:{sfid}")}),
    )
    .await
    .conflict("path/not_found");
    db.rpc(
        "sharing/add_folder_member",
        json!({"shared_folder_id": sfid, "members": [
            {"member": {".tag": "email", "email": "olu@example.org"}, "access_level": "editor"},
            {"member": {".tag": "email", "email": "someone@else.example"}}]}),
    )
    .await
    .ok();
    let members = db
        .rpc(
            "sharing/list_folder_members",
            json!({"shared_folder_id": sfid}),
        )
        .await
        .ok();
    let users = members["users"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(users[1]["user"]["email"], "olu@example.org");
    assert_eq!(users[1]["access_type"][".tag"], "editor");
    assert_eq!(
        members["invitees"][0]["invitee"]["email"],
        "someone@else.example"
    );

    // Olu writes through the shared folder's namespace; Dana sees it in her tree.
    db.upload_with(
        TOKEN_2,
        "files/upload",
        json!({"path": format!("ns:{sfid}/From Olu.txt")}),
        b"hello from olu".to_vec(),
    )
    .await
    .ok();
    let (_, _, body) = db.get("/Shared/Outside Counsel/From Olu.txt").await;
    assert_eq!(body, b"hello from olu");
    let seen = db
        .rpc_with(
            TOKEN_2,
            &[(
                "Dropbox-API-Path-Root",
                &json!({".tag": "namespace_id", "namespace_id": sfid}).to_string(),
            )],
            "files/list_folder",
            json!({"path": ""}),
        )
        .await
        .ok();
    assert_eq!(seen["entries"][0]["path_display"], "/From Olu.txt");
    db.rpc(
        "sharing/add_folder_member",
        json!({"shared_folder_id": "999", "members": []}),
    )
    .await
    .conflict("access_error/invalid_id");
}

#[tokio::test]
async fn file_requests_and_outside_submissions() {
    let db = Db::start().await;
    let listed = db.rpc("file_requests/list_v2", json!({})).await.ok();
    let seeded = &listed["file_requests"][0];
    assert_eq!(seeded["title"], "Outside tax documents");
    assert_eq!(seeded["destination"], "/Finance/Tax Intake");
    assert_eq!(seeded["is_open"], true);
    let id = seeded["id"].as_str().unwrap().to_owned();

    let submit = |name: &'static str, id: String, body: &'static [u8]| {
        let http = db.http.clone();
        let url = db.url.clone();
        async move {
            http.post(format!("{url}/__sandbox/file_requests/{id}/submit"))
                .query(&[("name", name)])
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let r = submit("W-2 2026.pdf", id.clone(), b"tax form").await;
    assert_eq!(r.status(), 200);
    let (_, _, body) = db.get("/Finance/Tax Intake/W-2 2026.pdf").await;
    assert_eq!(body, b"tax form");
    // Same name again: auto-renamed, count grows.
    submit("W-2 2026.pdf", id.clone(), b"another form").await;
    let got = db.rpc("file_requests/get", json!({"id": id})).await.ok();
    assert_eq!(got["file_count"], 2);
    let (status, _, _) = db.get("/Finance/Tax Intake/W-2 2026 (2).pdf").await;
    assert_eq!(status, 200);

    // Closed requests refuse files.
    let closed = db
        .rpc("file_requests/update", json!({"id": id, "open": false}))
        .await
        .ok();
    assert_eq!(closed["is_open"], false);
    let r = submit("late.pdf", id.clone(), b"late").await;
    assert_eq!(r.status(), 409);
    assert_eq!(json_body(r).await["error"], "closed");
    let r = submit("x.pdf", "nope".into(), b"x").await;
    assert_eq!(r.status(), 404);

    // Create with a deadline; paging through list_v2 / continue.
    let created = db
        .rpc(
            "file_requests/create",
            json!({"title": "Invoices", "destination": "/Finance/Invoices",
                   "deadline": {"deadline": "2099-05-01T00:00:00Z", "allow_late_uploads": "seven_days"}}),
        )
        .await
        .ok();
    assert_eq!(
        created["deadline"]["allow_late_uploads"][".tag"],
        "seven_days"
    );
    let meta = db
        .rpc("files/get_metadata", json!({"path": "/Finance/Invoices"}))
        .await
        .ok();
    assert_eq!(meta[".tag"], "folder");
    db.rpc(
        "file_requests/create",
        json!({"title": "Bad", "destination": "/HR/Policies/Drafts/Travel Policy.docx"}),
    )
    .await
    .conflict("not_a_folder");
    let page = db
        .rpc("file_requests/list_v2", json!({"limit": 1}))
        .await
        .ok();
    assert_eq!(page["has_more"], true);
    let rest = db
        .rpc(
            "file_requests/list/continue",
            json!({"cursor": page["cursor"]}),
        )
        .await
        .ok();
    assert_eq!(rest["file_requests"].as_array().unwrap().len(), 1);
    assert_eq!(rest["has_more"], false);
    db.rpc("file_requests/delete", json!({"ids": [created["id"]]}))
        .await
        .conflict("file_request_open");
}

#[tokio::test]
async fn property_templates_and_groups() {
    let db = Db::start().await;
    let ids = db
        .rpc("file_properties/templates/list_for_user", Value::Null)
        .await
        .ok();
    let governance = ids["template_ids"][0].as_str().unwrap().to_owned();
    let template = db
        .rpc(
            "file_properties/templates/get_for_user",
            json!({"template_id": governance}),
        )
        .await
        .ok();
    assert_eq!(template["name"], "Governance");
    assert_eq!(template["fields"].as_array().unwrap().len(), 3);

    let path = "/HR/Policies/Drafts/Remote Work Policy.docx";
    db.rpc(
        "file_properties/properties/add",
        json!({"path": path, "property_groups": [{"template_id": governance,
               "fields": [{"name": "status", "value": "draft"}]}]}),
    )
    .await
    .ok();
    db.rpc(
        "file_properties/properties/add",
        json!({"path": path, "property_groups": [{"template_id": governance, "fields": []}]}),
    )
    .await
    .conflict("property_group_already_exists");
    db.rpc(
        "file_properties/properties/update",
        json!({"path": path, "update_property_groups": [{"template_id": governance,
               "add_or_update_fields": [{"name": "status", "value": "approved"}, {"name": "cs_node_id", "value": "1234"}]}]}),
    )
    .await
    .ok();
    db.rpc(
        "file_properties/properties/update",
        json!({"path": path, "update_property_groups": [{"template_id": governance,
               "add_or_update_fields": [{"name": "colour", "value": "red"}]}]}),
    )
    .await
    .conflict("does_not_fit_template");
    let meta = db
        .rpc(
            "files/get_metadata",
            json!({"path": path, "include_property_groups": {".tag": "filter_some", "filter_some": [governance]}}),
        )
        .await
        .ok();
    assert_eq!(
        meta["property_groups"][0]["fields"],
        json!([{"name": "status", "value": "approved"}, {"name": "cs_node_id", "value": "1234"}])
    );
    db.rpc(
        "file_properties/properties/remove",
        json!({"path": path, "property_template_ids": [governance]}),
    )
    .await
    .ok();
    db.rpc(
        "file_properties/properties/remove",
        json!({"path": path, "property_template_ids": [governance]}),
    )
    .await
    .conflict("property_group_lookup/property_group_not_found");

    let added = db
        .rpc(
            "file_properties/templates/add_for_user",
            json!({"name": "Extra", "description": "d", "fields": [{"name": "a", "description": "", "type": "string"}]}),
        )
        .await
        .ok();
    assert!(added["template_id"].as_str().unwrap().starts_with("ptid:"));
    // Properties can be set at upload time.
    let up = db
        .upload(
            "files/upload",
            json!({"path": "/with-props.txt", "property_groups": [{"template_id": added["template_id"], "fields": [{"name": "a", "value": "1"}]}]}),
            b"p".to_vec(),
        )
        .await
        .ok();
    assert_eq!(up["name"], "with-props.txt");
    db.rpc(
        "file_properties/templates/get_for_user",
        json!({"template_id": "ptid:nope"}),
    )
    .await
    .conflict("template_not_found");
}

#[tokio::test]
async fn webhooks_are_signed_notifications() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, String)>();
    let receiver = axum::Router::new().route(
        "/hook",
        post(move |headers: axum::http::HeaderMap, body: String| {
            let tx = tx.clone();
            async move {
                let sig = headers["x-dropbox-signature"].to_str().unwrap().to_owned();
                let _ = tx.send((sig, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let db = Db::with(
        SandboxConfig::new()
            .webhook(format!("http://{addr}/hook"), "hook-secret")
            .webhook_debounce(std::time::Duration::from_millis(10)),
    )
    .await;
    db.put("/Webhook.txt", b"change").await;
    let (sig, body) = tokio::time::timeout(std::time::Duration::from_secs(30), rx.recv())
        .await
        .expect("a notification arrives")
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(b"hook-secret").unwrap();
    mac.update(body.as_bytes());
    assert_eq!(sig, hex::encode(mac.finalize().into_bytes()));
    let v: Value = serde_json::from_str(&body).unwrap();
    let dana = db.sandbox.dropbox_manifest()["accounts"][0]["account_id"].clone();
    assert_eq!(v["list_folder"]["accounts"], json!([dana]));
    assert_eq!(v["delta"]["users"], json!([1001]));
}
