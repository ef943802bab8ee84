//! Dropbox emulator over raw HTTP: listing, cursors, longpoll, metadata, paths, folders,
//! move/copy/delete, revisions, search, tags, team space and path roots.

mod dropbox_support;

use dropbox_support::{json_body, names, Db, TOKEN, TOKEN_2};
use reqwest::StatusCode;
use sandbox::{SandboxConfig, Seed};
use serde_json::{json, Value};

#[tokio::test]
async fn demo_seed_and_account() {
    let db = Db::start().await;
    let root = db.rpc("files/list_folder", json!({"path": ""})).await;
    assert_eq!(root.headers["content-type"], "application/json");
    let root = root.ok();
    let mut top = names(&root);
    top.sort();
    assert_eq!(
        top,
        [
            "Finance",
            "HR",
            "Joint Venture",
            "Marketing",
            "Projects",
            "Shared"
        ]
    );
    assert_eq!(root["entries"][0][".tag"], "folder");

    let approved = db
        .rpc(
            "files/list_folder",
            json!({"path": "/marketing/campaign 2026/APPROVED"}),
        )
        .await
        .ok();
    assert_eq!(
        names(&approved),
        [
            "Brand Guidelines.pdf",
            "Launch Plan.xlsx",
            "Press Release.pdf"
        ]
    );
    let entry = &approved["entries"][2];
    assert_eq!(entry[".tag"], "file");
    assert_eq!(
        entry["path_display"],
        "/Marketing/Campaign 2026/Approved/Press Release.pdf"
    );
    assert_eq!(
        entry["path_lower"],
        "/marketing/campaign 2026/approved/press release.pdf"
    );
    assert_eq!(entry["content_hash"].as_str().unwrap().len(), 64);

    let account = db.rpc("users/get_current_account", Value::Null).await.ok();
    assert_eq!(account["email"], "dana@example.com");
    assert_eq!(account["account_id"].as_str().unwrap().len(), 40);
    assert_eq!(account["root_info"][".tag"], "team");

    // Void routes also accept no body at all.
    let r = db
        .http
        .post(format!("{}/2/users/get_current_account", db.url))
        .bearer_auth(TOKEN_2)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v = json_body(r).await;
    assert_eq!(v["name"]["display_name"], "Olu Outside");

    // Seeded tags, manifest ids stable across starts.
    let tags = db
        .rpc(
            "files/tags/get",
            json!({"paths": ["/Marketing/Campaign 2026/Approved/Press Release.pdf"]}),
        )
        .await
        .ok();
    assert_eq!(tags["paths_to_tags"][0]["tags"][0]["tag_text"], "approved");
    let again = Db::start().await;
    assert_eq!(
        db.sandbox.dropbox_manifest(),
        again.sandbox.dropbox_manifest()
    );
    let manifest = db.admin_get("/__sandbox/manifest").await;
    assert_eq!(
        manifest["file_requests"][0]["title"],
        "Outside tax documents"
    );
    assert!(manifest["paths"]["/HR/Policies/Drafts/Travel Policy.docx"]
        .as_str()
        .unwrap()
        .starts_with("id:"));
}

#[tokio::test]
async fn error_shapes() {
    let db = Db::start().await;
    let err = db
        .rpc("files/get_metadata", json!({"path": "/nope.txt"}))
        .await
        .conflict("path/not_found/");
    assert_eq!(err, json!({".tag": "path", "path": {".tag": "not_found"}}));

    let r = db.rpc("files/get_metadata", json!({"path": "/"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert!(r
        .text
        .starts_with("Error in call to API function \"files/get_metadata\""));

    let r = db
        .http
        .post(format!("{}/2/files/list_folder", db.url))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("could not decode input as JSON"));

    let r = db
        .http
        .post(format!("{}/2/files/list_folder", db.url))
        .bearer_auth(TOKEN)
        .header("content-type", "application/xml")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Bad HTTP \"Content-Type\" header"));

    let r = db
        .rpc_with("wrong", &[], "files/list_folder", json!({"path": ""}))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json["error"][".tag"], "invalid_access_token");

    let r = db.rpc("files/no_such_route", json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn paging_and_cursor_resume_after_changes_including_deletions() {
    let db = Db::with(SandboxConfig::new().seed(Seed::Empty)).await;
    for i in 0..5 {
        db.put(&format!("/Box/f{i}.txt"), format!("file {i}").as_bytes())
            .await;
    }
    let first = db
        .rpc("files/list_folder", json!({"path": "/box", "limit": 2}))
        .await
        .ok();
    assert_eq!(names(&first), ["f0.txt", "f1.txt"]);
    assert_eq!(first["has_more"], true);
    let second = db
        .rpc(
            "files/list_folder/continue",
            json!({"cursor": first["cursor"]}),
        )
        .await
        .ok();
    assert_eq!(names(&second), ["f2.txt", "f3.txt"]);
    let third = db
        .rpc(
            "files/list_folder/continue",
            json!({"cursor": second["cursor"]}),
        )
        .await
        .ok();
    assert_eq!(names(&third), ["f4.txt"]);
    assert_eq!(third["has_more"], false);

    // Nothing changed: an empty page.
    let idle = db
        .rpc(
            "files/list_folder/continue",
            json!({"cursor": third["cursor"]}),
        )
        .await
        .ok();
    assert!(names(&idle).is_empty());

    // Changes: a new file, a deletion, a file outside the folder.
    db.put("/Box/new.txt", b"new").await;
    db.rpc("files/delete_v2", json!({"path": "/box/F1.TXT"}))
        .await
        .ok();
    db.put("/Elsewhere.txt", b"x").await;
    let changes = db
        .rpc(
            "files/list_folder/continue",
            json!({"cursor": idle["cursor"]}),
        )
        .await
        .ok();
    let entries = changes["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[0]["name"], "new.txt");
    assert_eq!(entries[0][".tag"], "file");
    assert_eq!(entries[1][".tag"], "deleted");
    assert_eq!(entries[1]["path_lower"], "/box/f1.txt");

    // The old cursor resumes exactly where it was: the same changes again.
    let replay = db
        .rpc(
            "files/list_folder/continue",
            json!({"cursor": idle["cursor"]}),
        )
        .await
        .ok();
    assert_eq!(replay["entries"], changes["entries"]);

    // get_latest_cursor sees only later changes.
    let latest = db
        .rpc(
            "files/list_folder/get_latest_cursor",
            json!({"path": "/Box"}),
        )
        .await
        .ok();
    db.put("/Box/later.txt", b"later").await;
    let after = db
        .rpc(
            "files/list_folder/continue",
            json!({"cursor": latest["cursor"]}),
        )
        .await
        .ok();
    assert_eq!(names(&after), ["later.txt"]);
}

#[tokio::test]
async fn recursive_listing_and_2500_children() {
    let db = Db::with(SandboxConfig::new().seed(Seed::Empty)).await;
    db.rpc("files/create_folder_v2", json!({"path": "/Many"}))
        .await
        .ok();
    // Folders are cheap to create: 2,500 children.
    for i in 0..2500 {
        db.rpc(
            "files/create_folder_v2",
            json!({"path": format!("/Many/c{i:04}")}),
        )
        .await
        .ok();
    }
    let mut seen = 0;
    let mut page = db
        .rpc("files/list_folder", json!({"path": "/Many"}))
        .await
        .ok();
    let mut pages = 1;
    loop {
        seen += page["entries"].as_array().unwrap().len();
        if page["has_more"] == false {
            break;
        }
        page = db
            .rpc(
                "files/list_folder/continue",
                json!({"cursor": page["cursor"]}),
            )
            .await
            .ok();
        pages += 1;
    }
    assert_eq!(seen, 2500);
    assert!(pages >= 2);

    db.put("/Many/c0001/deep/file.txt", b"deep").await;
    let rec = db
        .rpc(
            "files/list_folder",
            json!({"path": "/many/c0001", "recursive": true}),
        )
        .await
        .ok();
    assert_eq!(names(&rec), ["deep", "file.txt"]);
}

#[tokio::test]
async fn longpoll_returns_when_something_changes() {
    let db = Db::with(SandboxConfig::new().seed(Seed::Empty)).await;
    db.put("/Watch/a.txt", b"a").await;
    let cursor = db
        .rpc(
            "files/list_folder/get_latest_cursor",
            json!({"path": "/Watch"}),
        )
        .await
        .ok()["cursor"]
        .clone();
    let http = db.http.clone();
    let url = db.url.clone();
    let c = cursor.clone();
    // Longpoll has no Authorization header.
    let poll = tokio::spawn(async move {
        let r = http
            .post(format!("{url}/2/files/list_folder/longpoll"))
            .header("content-type", "application/json")
            .body(json!({"cursor": c, "timeout": 480}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        json_body(r).await
    });
    // Wait until the longpoll is being served (counted by the stats), then change something.
    while db
        .sandbox
        .dropbox_stats()
        .count("/2/files/list_folder/longpoll")
        == 0
    {
        tokio::task::yield_now().await;
    }
    // A change elsewhere does not wake it up for good: it keeps waiting.
    db.put("/Other.txt", b"o").await;
    db.put("/Watch/b.txt", b"b").await;
    let result = poll.await.unwrap();
    assert_eq!(result, json!({"changes": true}));
    // With a change pending it answers at once.
    let r = db
        .http
        .post(format!("{}/2/files/list_folder/longpoll", db.url))
        .header("content-type", "application/json")
        .body(json!({"cursor": cursor, "timeout": 30}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(json_body(r).await["changes"], true);
}

#[tokio::test]
async fn folders_moves_copies_and_ids() {
    let db = Db::with(SandboxConfig::new().seed(Seed::Empty)).await;
    let created = db
        .rpc("files/create_folder_v2", json!({"path": "/Docs"}))
        .await
        .ok();
    assert!(
        created["metadata"].get(".tag").is_none(),
        "FolderMetadata has no .tag"
    );
    db.rpc("files/create_folder_v2", json!({"path": "/docs"}))
        .await
        .conflict("path/conflict/folder");
    let renamed = db
        .rpc(
            "files/create_folder_v2",
            json!({"path": "/docs", "autorename": true}),
        )
        .await
        .ok();
    assert_eq!(renamed["metadata"]["name"], "Docs (2)");

    let file = db.put("/Docs/Report.txt", b"report").await;
    let id = file["id"].as_str().unwrap().to_owned();
    let moved = db
        .rpc(
            "files/move_v2",
            json!({"from_path": "/Docs", "to_path": "/Archive/Docs 2026"}),
        )
        .await
        .ok();
    assert_eq!(moved["metadata"][".tag"], "folder");
    let by_id = db.rpc("files/get_metadata", json!({"path": id})).await.ok();
    assert_eq!(by_id["path_display"], "/Archive/Docs 2026/Report.txt");
    db.rpc("files/get_metadata", json!({"path": "/Docs/Report.txt"}))
        .await
        .conflict("path/not_found");

    let copied = db
        .rpc(
            "files/copy_v2",
            json!({"from_path": "/archive/docs 2026/report.txt", "to_path": "/Copy.txt"}),
        )
        .await
        .ok();
    assert_ne!(copied["metadata"]["id"], id);
    let (_, _, body) = db.get("/copy.txt").await;
    assert_eq!(body, b"report");
    db.rpc(
        "files/copy_v2",
        json!({"from_path": "/Copy.txt", "to_path": "/Archive"}),
    )
    .await
    .conflict("to/conflict/folder");
    db.rpc(
        "files/move_v2",
        json!({"from_path": "/Archive", "to_path": "/Archive/Inner"}),
    )
    .await
    .conflict("cant_move_folder_into_itself");

    // Writes under a file, and disallowed names.
    db.rpc("files/create_folder_v2", json!({"path": "/Copy.txt/sub"}))
        .await
        .conflict("path/conflict/file_ancestor");
    db.rpc("files/create_folder_v2", json!({"path": "/x/desktop.ini"}))
        .await
        .conflict("path/disallowed_name");

    let deleted = db
        .rpc("files/delete_v2", json!({"path": "/Archive"}))
        .await
        .ok();
    assert_eq!(deleted["metadata"][".tag"], "folder");
    db.rpc("files/get_metadata", json!({"path": id}))
        .await
        .conflict("path/not_found");
    let gone = db
        .rpc(
            "files/get_metadata",
            json!({"path": "/Archive/Docs 2026/Report.txt", "include_deleted": true}),
        )
        .await
        .ok();
    assert_eq!(gone[".tag"], "deleted");
}

#[tokio::test]
async fn revisions_and_restore() {
    let db = Db::with(SandboxConfig::new().seed(Seed::Empty)).await;
    let v1 = db.put("/Rev.txt", b"one").await;
    let v2 = db
        .upload(
            "files/upload",
            json!({"path": "/Rev.txt", "mode": "overwrite"}),
            b"two".to_vec(),
        )
        .await
        .ok();
    assert_eq!(v1["id"], v2["id"]);
    assert_ne!(v1["rev"], v2["rev"]);
    let revs = db
        .rpc("files/list_revisions", json!({"path": "/rev.txt"}))
        .await
        .ok();
    let entries = revs["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["rev"], v2["rev"]);
    assert_eq!(revs["is_deleted"], false);

    // Older revision by rev: path.
    let (status, meta, body) = db
        .get(&format!("rev:{}", v1["rev"].as_str().unwrap()))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, b"one");
    assert_eq!(meta["rev"], v1["rev"]);

    let restored = db
        .rpc(
            "files/restore",
            json!({"path": "/Rev.txt", "rev": v1["rev"]}),
        )
        .await
        .ok();
    assert_eq!(restored["content_hash"], v1["content_hash"]);
    let (_, _, body) = db.get("/Rev.txt").await;
    assert_eq!(body, b"one");
    db.rpc(
        "files/restore",
        json!({"path": "/Rev.txt", "rev": "0123456789abc"}),
    )
    .await
    .conflict("invalid_revision");

    db.rpc("files/delete_v2", json!({"path": "/Rev.txt"}))
        .await
        .ok();
    let revs = db
        .rpc(
            "files/list_revisions",
            json!({"path": "/Rev.txt", "limit": 1}),
        )
        .await
        .ok();
    assert_eq!(revs["is_deleted"], true);
    assert!(revs["server_deleted"].is_string());
    assert_eq!(revs["has_more"], true);
    let older = db
        .rpc(
            "files/list_revisions",
            json!({"path": "/Rev.txt", "before_rev": revs["entries"][0]["rev"]}),
        )
        .await
        .ok();
    assert_eq!(older["entries"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn search_and_tags() {
    let db = Db::start().await;
    let found = db
        .rpc("files/search_v2", json!({"query": "policy"}))
        .await
        .ok();
    let mut hits: Vec<&str> = found["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["metadata"]["metadata"]["name"].as_str().unwrap())
        .collect();
    hits.sort();
    assert_eq!(hits, ["Remote Work Policy.docx", "Travel Policy.docx"]);
    assert_eq!(found["matches"][0]["metadata"][".tag"], "metadata");

    let paged = db
        .rpc(
            "files/search_v2",
            json!({"query": "pdf", "options": {"max_results": 2, "path": "/Projects"}}),
        )
        .await
        .ok();
    assert_eq!(paged["has_more"], true);
    let rest = db
        .rpc(
            "files/search/continue_v2",
            json!({"cursor": paged["cursor"]}),
        )
        .await
        .ok();
    assert_eq!(rest["matches"].as_array().unwrap().len(), 2);
    assert_eq!(rest["has_more"], false);

    let path = "/HR/Policies/Drafts/Travel Policy.docx";
    db.rpc(
        "files/tags/add",
        json!({"path": path, "tag_text": "Ready_For_Approval"}),
    )
    .await
    .ok();
    let tags = db
        .rpc("files/tags/get", json!({"paths": [path]}))
        .await
        .ok();
    assert_eq!(
        tags["paths_to_tags"][0]["tags"],
        json!([{".tag": "user_generated_tag", "tag_text": "ready_for_approval"}])
    );
    db.rpc(
        "files/tags/remove",
        json!({"path": path, "tag_text": "ready_for_approval"}),
    )
    .await
    .ok();
    db.rpc(
        "files/tags/remove",
        json!({"path": path, "tag_text": "ready_for_approval"}),
    )
    .await
    .conflict("tag_not_present");
    let bad = db
        .rpc(
            "files/tags/add",
            json!({"path": path, "tag_text": "no spaces"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn team_space_select_user_and_path_roots() {
    let db = Db::start().await;
    let team_root = r#"{".tag": "namespace_id", "namespace_id": "3000"}"#;
    let listed = db
        .rpc_with(
            TOKEN,
            &[("Dropbox-API-Path-Root", team_root)],
            "files/list_folder",
            json!({"path": "/Finance/Reports"}),
        )
        .await
        .ok();
    assert_eq!(names(&listed), ["Q3 Report.xlsx", "Q4 Report.xlsx"]);
    let by_root = db
        .rpc_with(
            TOKEN,
            &[(
                "Dropbox-API-Path-Root",
                r#"{".tag": "root", "root": "3000"}"#,
            )],
            "files/get_metadata",
            json!({"path": "/Legal/Contracts/NDA Template.docx"}),
        )
        .await
        .ok();
    assert_eq!(by_root["name"], "NDA Template.docx");
    let ns = db
        .rpc(
            "files/get_metadata",
            json!({"path": "ns:3000/Legal/Contracts/MSA 2025.pdf"}),
        )
        .await
        .ok();
    assert_eq!(ns["path_display"], "/Legal/Contracts/MSA 2025.pdf");

    // The second account has no access to the team space.
    let r = db
        .rpc_with(
            TOKEN_2,
            &[("Dropbox-API-Path-Root", team_root)],
            "files/list_folder",
            json!({"path": ""}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json["error"][".tag"], "no_permission");
    let r = db
        .rpc_with(
            TOKEN,
            &[("Dropbox-API-Path-Root", r#"{".tag": "root", "root": "1"}"#)],
            "files/list_folder",
            json!({"path": ""}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json["error"]["invalid_root"]["root_namespace_id"], "3000");

    // Team token acting as a member.
    let me = db
        .rpc_with(
            "sandbox-team-token",
            &[("Dropbox-API-Select-User", "dbmid:olu")],
            "users/get_current_account",
            Value::Null,
        )
        .await
        .ok();
    assert_eq!(me["email"], "olu@example.org");
    let admin = db
        .rpc_with(
            "sandbox-team-token",
            &[("Dropbox-API-Select-Admin", "dbmid:dana")],
            "users/get_current_account",
            Value::Null,
        )
        .await
        .ok();
    assert_eq!(admin["email"], "dana@example.com");
    let r = db
        .rpc_with(
            "sandbox-team-token",
            &[("Dropbox-API-Select-User", "dbmid:nobody")],
            "users/get_current_account",
            Value::Null,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json["error"][".tag"], "invalid_select_user");
    let r = db
        .rpc_with(
            "sandbox-team-token",
            &[],
            "users/get_current_account",
            Value::Null,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Accounts have separate roots.
    let olu = db
        .rpc_with(TOKEN_2, &[], "files/list_folder", json!({"path": ""}))
        .await
        .ok();
    assert!(names(&olu).is_empty());
}
