//! Dropbox emulator over raw HTTP: the strict wire rules (header-safe `Dropbox-API-Arg`,
//! Content-Type), OAuth scopes and `missing_scope`, team members, the team log of file-request
//! submissions, the batch move/copy/delete jobs and paged shared-folder members.

mod dropbox_support;

use dropbox_support::{client, header_json, json_body, Db, TOKEN};
use reqwest::StatusCode;
use serde_json::{json, Value};

const TEAM_TOKEN: &str = "sandbox-team-token";
const PRESS: &str = "/Marketing/Campaign 2026/Approved/Press Release.pdf";
const GUIDE: &str = "/Marketing/Campaign 2026/Approved/Brand Guidelines.pdf";

impl Db {
    async fn admin_post(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 200);
        json_body(r).await
    }

    async fn raw(
        &self,
        route: &str,
        headers: &[(&str, &[u8])],
        body: Vec<u8>,
    ) -> (StatusCode, String) {
        let mut req = self
            .http
            .post(format!("{}/2/{route}", self.url))
            .bearer_auth(TOKEN)
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, reqwest::header::HeaderValue::from_bytes(v).unwrap());
        }
        let r = req.send().await.expect("request");
        (r.status(), r.text().await.unwrap())
    }
}

#[tokio::test]
async fn header_escaping_and_content_types_are_enforced() {
    let db = Db::start().await;
    let arg = json!({"path": "/Résumé.txt", "mode": "add"});
    // A raw UTF-8 header is refused with the API's own text.
    let raw = arg.to_string().into_bytes();
    let (status, text) = db
        .raw(
            "files/upload",
            &[
                ("content-type", b"application/octet-stream"),
                ("dropbox-api-arg", &raw),
            ],
            b"x".to_vec(),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        text,
        "Error in call to API function \"files/upload\": HTTP header \"Dropbox-API-Arg\": could not decode input as JSON"
    );
    // Escaped as \uXXXX it is accepted and means the same path.
    let escaped = header_json(&arg);
    assert!(escaped.is_ascii() && escaped.contains("\\u00e9"));
    let (status, text) = db
        .raw(
            "files/upload",
            &[
                ("content-type", b"application/octet-stream"),
                ("dropbox-api-arg", escaped.as_bytes()),
            ],
            b"x".to_vec(),
        )
        .await;
    assert_eq!(status, 200, "{text}");
    let meta: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(meta["path_display"], "/Résumé.txt");
    // A lone Latin-1 byte (not even UTF-8) is refused on downloads too.
    let (status, _) = db
        .raw(
            "files/download",
            &[("dropbox-api-arg", b"{\"path\": \"/R\xe9sum\xe9.txt\"}")],
            vec![],
        )
        .await;
    assert_eq!(status, 400);

    // Uploads need application/octet-stream, even with an empty body.
    let arg = header_json(&json!({"path": "/ct.txt"}));
    for (ct, expected) in [
        (None, "Missing or empty HTTP \"Content-Type\" header."),
        (
            Some("application/json"),
            "Bad HTTP \"Content-Type\" header: \"application/json\".",
        ),
    ] {
        let mut headers: Vec<(&str, &[u8])> = vec![("dropbox-api-arg", arg.as_bytes())];
        if let Some(ct) = ct {
            headers.push(("content-type", ct.as_bytes()));
        }
        let (status, text) = db.raw("files/upload", &headers, vec![]).await;
        assert_eq!(status, 400, "{ct:?}");
        assert!(
            text.starts_with(&format!(
                "Error in call to API function \"files/upload\": {expected}"
            )),
            "{text}"
        );
        assert!(text.ends_with(
            "Expecting one of \"application/octet-stream\", \"text/plain; charset=dropbox-cors-hack\"."
        ), "{text}");
    }
    // RPC needs application/json for a body; a Void route may come with neither.
    let body = json!({"path": ""}).to_string().into_bytes();
    let (status, text) = db.raw("files/list_folder", &[], body.clone()).await;
    assert_eq!(status, 400);
    assert!(
        text.contains("Missing or empty HTTP \"Content-Type\" header."),
        "{text}"
    );
    let (status, text) = db
        .raw(
            "files/list_folder",
            &[("content-type", b"application/octet-stream")],
            body.clone(),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        text.contains("Bad HTTP \"Content-Type\" header: \"application/octet-stream\""),
        "{text}"
    );
    assert!(
        text.contains("Expecting one of \"application/json\""),
        "{text}"
    );
    let (status, _) = db
        .raw(
            "files/list_folder",
            &[("content-type", b"application/json; charset=utf-8")],
            body,
        )
        .await;
    assert_eq!(status, 200);
    let (status, text) = db.raw("users/get_current_account", &[], vec![]).await;
    assert_eq!(status, 200, "{text}");
}

#[tokio::test]
async fn tokens_carry_scopes_and_routes_require_theirs() {
    let db = Db::start().await;
    let issued = db
        .admin_post(
            "/__sandbox/tokens",
            json!({"account": 0, "scopes": ["files.metadata.read"]}),
        )
        .await;
    assert_eq!(issued["scope"], "files.metadata.read");
    let token = issued["access_token"].as_str().unwrap().to_owned();
    db.rpc_with(&token, &[], "files/list_folder", json!({"path": ""}))
        .await
        .ok();
    for (route, arg, scope) in [
        (
            "files/create_folder_v2",
            json!({"path": "/New"}),
            "files.content.write",
        ),
        ("sharing/list_shared_links", json!({}), "sharing.read"),
        (
            "users/get_current_account",
            Value::Null,
            "account_info.read",
        ),
        ("file_requests/list_v2", json!({}), "file_requests.read"),
    ] {
        let r = db.rpc_with(&token, &[], route, arg).await;
        assert_eq!(r.status, 401, "{route}: {}", r.text);
        assert_eq!(r.headers["content-type"], "application/json");
        assert_eq!(
            r.json["error"],
            json!({".tag": "missing_scope", "required_scope": scope})
        );
        assert!(r.json["error_summary"]
            .as_str()
            .unwrap()
            .starts_with("missing_scope/"));
    }
    // Upload routes are checked too; nothing was written.
    let r = db
        .upload_with(
            &token,
            "files/upload",
            json!({"path": "/denied.txt"}),
            b"x".to_vec(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json["error"]["required_scope"], "files.content.write");
    // The seeded static token has every scope.
    db.rpc("files/create_folder_v2", json!({"path": "/New"}))
        .await
        .ok();
    db.rpc("files/get_metadata", json!({"path": "/denied.txt"}))
        .await
        .conflict("path/not_found");

    // The OAuth grant's `scope` is what the token carries; a refresh may narrow it.
    let r = db
        .http
        .get(format!("{}/oauth2/authorize", db.url))
        .query(&[
            ("client_id", "sandbox-app"),
            ("response_type", "code"),
            ("token_access_type", "offline"),
            ("scope", "files.metadata.read sharing.read"),
        ])
        .send()
        .await
        .unwrap();
    let code = r.text().await.unwrap();
    let r = db
        .http
        .post(format!("{}/oauth2/token", db.url))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", "sandbox-app"),
            ("client_secret", "sandbox-secret"),
        ])
        .send()
        .await
        .unwrap();
    let grant = json_body(r).await;
    assert_eq!(grant["scope"], "files.metadata.read sharing.read");
    let access = grant["access_token"].as_str().unwrap();
    db.rpc_with(access, &[], "sharing/list_shared_links", json!({}))
        .await
        .ok();
    let r = db
        .rpc_with(access, &[], "files/delete_v2", json!({"path": PRESS}))
        .await;
    assert_eq!(r.json["error"]["required_scope"], "files.content.write");
    let refresh = grant["refresh_token"].as_str().unwrap();
    let narrowed = |scope: &'static str| {
        let (http, url, refresh) = (db.http.clone(), db.url.clone(), refresh.to_owned());
        async move {
            http.post(format!("{url}/oauth2/token"))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.as_str()),
                    ("client_id", "sandbox-app"),
                    ("client_secret", "sandbox-secret"),
                    ("scope", scope),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let r = narrowed("sharing.read").await;
    let body = json_body(r).await;
    assert_eq!(body["scope"], "sharing.read");
    let only_sharing = body["access_token"].as_str().unwrap();
    let r = db
        .rpc_with(only_sharing, &[], "files/list_folder", json!({"path": ""}))
        .await;
    assert_eq!(r.json["error"]["required_scope"], "files.metadata.read");
    let r = narrowed("files.content.write").await;
    assert_eq!(r.status(), 400);
    assert_eq!(json_body(r).await["error"], "invalid_scope");
}

#[tokio::test]
async fn team_members_are_listed_with_profiles_and_pages() {
    let db = Db::start().await;
    let page = db
        .rpc_with(TEAM_TOKEN, &[], "team/members/list_v2", json!({"limit": 1}))
        .await
        .ok();
    assert_eq!(page["has_more"], true);
    let first = &page["members"][0];
    let profile = &first["profile"];
    assert_eq!(profile["team_member_id"], "dbmid:dana");
    assert_eq!(profile["email"], "dana@example.com");
    assert_eq!(profile["email_verified"], true);
    assert_eq!(profile["status"], json!({".tag": "active"}));
    assert_eq!(profile["membership_type"], json!({".tag": "full"}));
    assert_eq!(profile["name"]["display_name"], "Dana Demo");
    assert_eq!(profile["name"]["abbreviated_name"], "DD");
    assert_eq!(profile["root_folder_id"], "3000");
    assert!(profile["account_id"].as_str().unwrap().starts_with("dbid:"));
    assert!(profile["groups"].is_array() && profile["member_folder_id"].is_string());
    assert_eq!(first["roles"][0]["name"], "Team admin");
    let cursor = page["cursor"].as_str().unwrap();
    let next = db
        .rpc_with(
            TEAM_TOKEN,
            &[],
            "team/members/list/continue_v2",
            json!({"cursor": cursor}),
        )
        .await
        .ok();
    assert_eq!(next["has_more"], false);
    assert_eq!(next["members"][0]["profile"]["email"], "olu@example.org");
    assert_eq!(next["members"][0]["roles"], json!([]));
    db.rpc_with(
        TEAM_TOKEN,
        &[],
        "team/members/list/continue_v2",
        json!({"cursor": "nope"}),
    )
    .await
    .conflict("invalid_cursor");
    let r = db
        .rpc_with(TEAM_TOKEN, &[], "team/members/list_v2", json!({"limit": 0}))
        .await;
    assert_eq!(r.status, 400);
    // A user token is not a team token.
    let r = db.rpc("team/members/list_v2", json!({})).await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("operates on a team"), "{}", r.text);
    // A team token without members.read.
    let events_only = db
        .admin_post(
            "/__sandbox/tokens",
            json!({"account": "team", "scopes": ["events.read"]}),
        )
        .await;
    let r = db
        .rpc_with(
            events_only["access_token"].as_str().unwrap(),
            &[],
            "team/members/list_v2",
            json!({}),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json["error"]["required_scope"], "members.read");
}

#[tokio::test]
async fn the_team_log_records_who_submitted_into_a_file_request() {
    let db = Db::start().await;
    let listed = db.rpc("file_requests/list_v2", json!({})).await.ok();
    let id = listed["file_requests"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let empty = db
        .rpc_with(
            TEAM_TOKEN,
            &[],
            "team_log/get_events",
            json!({"category": "file_requests"}),
        )
        .await
        .ok();
    assert_eq!(empty["events"], json!([]));
    assert_eq!(empty["has_more"], false);
    let poll_cursor = empty["cursor"].as_str().unwrap().to_owned();
    for (file, name, email) in [
        ("W-2.pdf", "Avery Accountant", "avery@cpa.example"),
        ("1099.pdf", "Blake Bookkeeper", "blake@books.example"),
    ] {
        let r = db
            .http
            .post(format!("{}/__sandbox/file_requests/{id}/submit", db.url))
            .query(&[
                ("name", file),
                ("submitter_name", name),
                ("submitter_email", email),
            ])
            .body(b"form".to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // Polling the earlier cursor finds the new events.
    let polled = db
        .rpc_with(
            TEAM_TOKEN,
            &[],
            "team_log/get_events/continue",
            json!({"cursor": poll_cursor}),
        )
        .await
        .ok();
    assert_eq!(polled["events"].as_array().unwrap().len(), 2);

    let page = db
        .rpc_with(
            TEAM_TOKEN,
            &[],
            "team_log/get_events",
            json!({"limit": 1, "event_type": {".tag": "file_request_receive_file"}}),
        )
        .await
        .ok();
    assert_eq!(page["has_more"], true);
    let event = &page["events"][0];
    assert_eq!(event["event_type"][".tag"], "file_request_receive_file");
    assert_eq!(event["event_category"], json!({".tag": "file_requests"}));
    assert_eq!(event["actor"], json!({".tag": "anonymous"}));
    assert_eq!(event["context"][".tag"], "team_member");
    assert_eq!(event["context"]["email"], "dana@example.com");
    let details = &event["details"];
    assert_eq!(details[".tag"], "file_request_receive_file_details");
    assert_eq!(details["file_request_id"], id.as_str());
    assert_eq!(details["submitter_name"], "Avery Accountant");
    assert_eq!(details["submitter_email"], "avery@cpa.example");
    assert_eq!(details["submitted_file_names"], json!(["W-2.pdf"]));
    assert_eq!(event["assets"][0][".tag"], "file");
    assert_eq!(
        event["assets"][0]["path"]["contextual"],
        "/Finance/Tax Intake/W-2.pdf"
    );
    assert!(event["timestamp"].as_str().unwrap().ends_with('Z'));
    let next = db
        .rpc_with(
            TEAM_TOKEN,
            &[],
            "team_log/get_events/continue",
            json!({"cursor": page["cursor"]}),
        )
        .await
        .ok();
    assert_eq!(next["has_more"], false);
    assert_eq!(
        next["events"][0]["details"]["submitter_name"],
        "Blake Bookkeeper"
    );

    // Filters: another category is empty; both filters at once, a bad range and a bad cursor
    // are the route's errors.
    let other = db
        .rpc_with(
            TEAM_TOKEN,
            &[],
            "team_log/get_events",
            json!({"category": {".tag": "sharing"}}),
        )
        .await
        .ok();
    assert_eq!(other["events"], json!([]));
    let future = db
        .rpc_with(
            TEAM_TOKEN,
            &[],
            "team_log/get_events",
            json!({"time": {"start_time": "2999-01-01T00:00:00Z"}}),
        )
        .await
        .ok();
    assert_eq!(future["events"], json!([]));
    db.rpc_with(
        TEAM_TOKEN,
        &[],
        "team_log/get_events",
        json!({"category": "file_requests", "event_type": "file_request_receive_file"}),
    )
    .await
    .conflict("invalid_filters");
    db.rpc_with(
        TEAM_TOKEN,
        &[],
        "team_log/get_events",
        json!({"time": {"start_time": "2026-02-01T00:00:00Z", "end_time": "2026-01-01T00:00:00Z"}}),
    )
    .await
    .conflict("invalid_time_range");
    db.rpc_with(
        TEAM_TOKEN,
        &[],
        "team_log/get_events/continue",
        json!({"cursor": "x"}),
    )
    .await
    .conflict("bad_cursor");
}

#[tokio::test]
async fn batch_jobs_answer_in_progress_then_complete() {
    let db = Db::start().await;
    db.rpc("files/create_folder_v2", json!({"path": "/Archive"}))
        .await
        .ok();
    let launch = db
        .rpc(
            "files/move_batch_v2",
            json!({"entries": [
                {"from_path": PRESS, "to_path": "/Archive/Press Release.pdf"},
                {"from_path": "/Nope.pdf", "to_path": "/Archive/Nope.pdf"},
            ]}),
        )
        .await
        .ok();
    assert_eq!(launch[".tag"], "async_job_id");
    let job = launch["async_job_id"].as_str().unwrap();
    let first = db
        .rpc("files/move_batch/check_v2", json!({"async_job_id": job}))
        .await
        .ok();
    assert_eq!(first, json!({".tag": "in_progress"}));
    let done = db
        .rpc("files/move_batch/check_v2", json!({"async_job_id": job}))
        .await
        .ok();
    assert_eq!(done[".tag"], "complete");
    let entries = done["entries"].as_array().unwrap();
    assert_eq!(entries[0][".tag"], "success");
    assert_eq!(entries[0]["success"][".tag"], "file");
    assert_eq!(
        entries[0]["success"]["path_display"],
        "/Archive/Press Release.pdf"
    );
    assert_eq!(entries[1][".tag"], "failure");
    assert_eq!(entries[1]["failure"][".tag"], "relocation_error");
    assert_eq!(
        entries[1]["failure"]["relocation_error"][".tag"],
        "from_lookup"
    );
    db.rpc("files/get_metadata", json!({"path": PRESS}))
        .await
        .conflict("path/not_found");
    // A job id belongs to its own check route.
    db.rpc("files/copy_batch/check_v2", json!({"async_job_id": job}))
        .await
        .conflict("invalid_async_job_id");

    // Complete on the first check when so configured.
    db.admin_post("/__sandbox/jobs", json!({"in_progress_checks": 0}))
        .await;
    let launch = db
        .rpc(
            "files/copy_batch_v2",
            json!({"entries": [{"from_path": GUIDE, "to_path": "/Archive/Guide.pdf"}]}),
        )
        .await
        .ok();
    let done = db
        .rpc(
            "files/copy_batch/check_v2",
            json!({"async_job_id": launch["async_job_id"]}),
        )
        .await
        .ok();
    assert_eq!(done["entries"][0]["success"]["name"], "Guide.pdf");
    db.rpc("files/get_metadata", json!({"path": GUIDE}))
        .await
        .ok();

    let launch = db
        .rpc(
            "files/delete_batch",
            json!({"entries": [{"path": GUIDE}, {"path": "/Gone.pdf"}]}),
        )
        .await
        .ok();
    let done = db
        .rpc(
            "files/delete_batch/check",
            json!({"async_job_id": launch["async_job_id"]}),
        )
        .await
        .ok();
    let entries = done["entries"].as_array().unwrap();
    assert_eq!(entries[0][".tag"], "success");
    assert_eq!(entries[0]["metadata"]["name"], "Brand Guidelines.pdf");
    assert_eq!(entries[1]["failure"][".tag"], "path_lookup");
    db.rpc("files/get_metadata", json!({"path": GUIDE}))
        .await
        .conflict("path/not_found");
    db.rpc(
        "files/delete_batch/check",
        json!({"async_job_id": "dbjid:nope"}),
    )
    .await
    .conflict("invalid_async_job_id");
    let r = db.rpc("files/move_batch_v2", json!({"entries": []})).await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn shared_folder_members_come_in_pages() {
    let db = Db::start().await;
    let shared = db
        .rpc(
            "sharing/share_folder",
            json!({"path": "/Shared/Outside Counsel"}),
        )
        .await
        .ok();
    let sfid = shared["shared_folder_id"].as_str().unwrap().to_owned();
    db.rpc(
        "sharing/add_folder_member",
        json!({"shared_folder_id": sfid, "members": [
            {"member": {".tag": "email", "email": "olu@example.org"}, "access_level": "editor"},
            {"member": {".tag": "email", "email": "someone@else.example"}}]}),
    )
    .await
    .ok();
    let mut seen = Vec::new();
    let mut page = db
        .rpc(
            "sharing/list_folder_members",
            json!({"shared_folder_id": sfid, "limit": 2}),
        )
        .await
        .ok();
    loop {
        for u in page["users"].as_array().unwrap() {
            seen.push(u["user"]["email"].as_str().unwrap().to_owned());
        }
        for i in page["invitees"].as_array().unwrap() {
            seen.push(i["invitee"]["email"].as_str().unwrap().to_owned());
        }
        let Some(cursor) = page["cursor"].as_str().map(str::to_owned) else {
            break;
        };
        page = db
            .rpc(
                "sharing/list_folder_members/continue",
                json!({"cursor": cursor}),
            )
            .await
            .ok();
    }
    assert_eq!(
        seen,
        [
            "dana@example.com",
            "olu@example.org",
            "someone@else.example"
        ]
    );
    db.rpc(
        "sharing/list_folder_members/continue",
        json!({"cursor": "bogus"}),
    )
    .await
    .conflict("invalid_cursor");
}

/// `bulk_files` writes its tree straight into the store: listed (and paged) like uploads,
/// each file with its own bytes, and seen by a cursor taken before it.
#[tokio::test]
async fn bulk_files_seeds_a_listed_tree() {
    let db = Db::start().await;
    let before = db
        .rpc(
            "files/list_folder/get_latest_cursor",
            json!({"path": "", "recursive": true}),
        )
        .await
        .ok();
    let out = db
        .admin_post(
            "/__sandbox/bulk_files",
            json!({"namespace": 1001, "root": "/Bulk", "files": 25, "per_folder": 10, "size": 32}),
        )
        .await;
    assert_eq!(out, json!({"files": 25, "folders": 3}));
    let mut page = db
        .rpc(
            "files/list_folder",
            json!({"path": "/Bulk", "recursive": true, "limit": 10}),
        )
        .await
        .ok();
    let mut files = Vec::new();
    loop {
        for e in page["entries"].as_array().unwrap() {
            if e[".tag"] == "file" {
                files.push(e["path_display"].as_str().unwrap().to_owned());
                assert_eq!(e["size"], 32);
            }
        }
        if page["has_more"] != true {
            break;
        }
        page = db
            .rpc(
                "files/list_folder/continue",
                json!({"cursor": page["cursor"]}),
            )
            .await
            .ok();
    }
    assert_eq!(files.len(), 25);
    assert!(files.contains(&"/Bulk/d00002/f000024.txt".to_owned()));
    let (status, _, bytes) = db.get("/Bulk/d00001/f000013.txt").await;
    assert_eq!(status, 200);
    assert_eq!(&bytes[..8], b"file 13\n");
    let changes = db
        .rpc(
            "files/list_folder/continue",
            json!({"cursor": before["cursor"]}),
        )
        .await
        .ok();
    assert_eq!(changes["entries"].as_array().unwrap().len(), 25 + 4);
    let r = client()
        .post(format!("{}/__sandbox/bulk_files", db.url))
        .body(json!({"namespace": 9, "root": "/X", "files": 1}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}
