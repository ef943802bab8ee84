//! The `lose` fault over real sockets: the handler runs and its write commits, then the client
//! gets a proxy's 502/504, a reset or a stall instead of the answer.

mod dropbox_support;

use std::time::Duration;

use dropbox_support::{client, json_body, Db, TOKEN};
use reqwest::StatusCode;
use sandbox::faults::LostAnswer;
use sandbox::{FaultRule, FaultTarget, SandboxConfig};
use serde_json::{json, Value};

/// `files/upload` of `data` to `path`, returning the raw result (the answer may be lost).
async fn upload(db: &Db, path: &str, data: &[u8]) -> reqwest::Result<reqwest::Response> {
    db.http
        .post(format!("{}/2/files/upload", db.url))
        .bearer_auth(TOKEN)
        .header("content-type", "application/octet-stream")
        .header("dropbox-api-arg", json!({"path": path}).to_string())
        .body(data.to_vec())
        .send()
        .await
}

/// `files/get_metadata` of `path` (asserting 200).
async fn metadata(db: &Db, path: &str) -> Value {
    db.rpc("files/get_metadata", json!({"path": path}))
        .await
        .ok()
}

#[tokio::test]
async fn upload_answered_502_by_a_rule_added_at_run_time_still_commits() {
    let db = Db::start().await;
    let r = db
        .http
        .post(format!("{}/__sandbox/faults", db.url))
        .body(json!({"route": "/2/files/upload", "lose": 502, "nth": 1}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let id = json_body(r).await["id"].clone();

    let r = upload(&db, "/Lost/a.txt", b"committed anyway")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(r.headers()["content-type"], "text/html", "a proxy's page");
    assert!(r.text().await.unwrap().contains("502 Bad Gateway"));

    let meta = metadata(&db, "/Lost/a.txt").await;
    assert_eq!(meta["size"], 16);
    let (_, _, body) = db.get("/Lost/a.txt").await;
    assert_eq!(body, b"committed anyway");

    let listed = db.admin_get("/__sandbox/faults").await;
    let rule = &listed["rules"][0];
    assert_eq!(rule["id"], id);
    assert_eq!(rule["lose"], "502");
    assert_eq!(
        (rule["matched"].clone(), rule["fired"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(rule["lost"], 1);
    assert_eq!(listed["lost"], 1);

    // nth=1 fired once: the retry of the client gets the real answer, which is a conflict-free
    // no-op because the content is identical.
    let r = upload(&db, "/Lost/a.txt", b"committed anyway")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(json_body(r).await["rev"], meta["rev"]);
}

#[tokio::test]
async fn upload_with_the_connection_reset_after_commit_from_a_startup_rule() {
    let db = Db::with(SandboxConfig::new().fault(
        FaultTarget::Dropbox,
        "route=/2/files/upload,lose=reset,count=1".parse().unwrap(),
    ))
    .await;
    let err = upload(&db, "/reset.bin", &[9u8; 70_000])
        .await
        .expect_err("the connection is reset");
    assert!(
        err.is_request() || err.is_connect() || err.is_body(),
        "{err:?}"
    );
    // The reset came after the handler ran: the file is there.
    assert_eq!(metadata(&db, "/reset.bin").await["size"], 70_000);
    assert_eq!(db.sandbox.dropbox_faults().lost_answers(), 1);
}

#[tokio::test]
async fn contentserver_node_create_answered_504_still_creates_the_node() {
    let sandbox = sandbox::start(SandboxConfig::new()).await.unwrap();
    let cs = sandbox.contentserver_url();
    let http = client();
    let r = http
        .post(format!("{cs}/api/v1/auth"))
        .form(&[("username", "admin"), ("password", "admin")])
        .send()
        .await
        .unwrap();
    let ticket = json_body(r).await["ticket"].as_str().unwrap().to_owned();
    sandbox
        .contentserver_faults()
        .add("route=POST /api/v2/nodes,lose=504".parse().unwrap())
        .unwrap();

    let r = http
        .post(format!("{cs}/api/v2/nodes"))
        .header("OTCSTicket", &ticket)
        .form(&[
            ("type", "0"),
            ("parent_id", "2000"),
            ("name", "Lost Answer"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(r.text().await.unwrap().contains("504 Gateway Timeout"));

    let r = http
        .get(format!(
            "{cs}/api/v2/nodes/2000/nodes?where_name=Lost%20Answer"
        ))
        .header("OTCSTicket", &ticket)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let children = json_body(r).await;
    let names: Vec<&str> = children["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["data"]["properties"]["name"].as_str())
        .collect();
    assert_eq!(names, ["Lost Answer"]);
    let listed = sandbox.contentserver_faults().list();
    assert_eq!(listed["rules"][0]["lost"], 1);
}

#[tokio::test]
async fn stall_outlasts_the_client_timeout_and_the_write_exists() {
    let db = Db::start().await;
    // Held for the default two minutes: only the client's own timeout ends the call.
    db.sandbox
        .dropbox_faults()
        .add(FaultRule::lose("/2/files/create_folder_v2", LostAnswer::Stall).with_count(1))
        .unwrap();
    let request = db
        .http
        .post(format!("{}/2/files/create_folder_v2", db.url))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(json!({"path": "/Stalled"}).to_string())
        .send();
    let mut request = tokio::spawn(request);
    // The handler has run and the answer is being held (the client cannot know this; the
    // sandbox tells the test without sleeping).
    db.sandbox.dropbox_faults().wait_lost(1).await;
    // The client's own timeout, started only now (so the request has surely arrived), fires
    // long before the two-minute hold ends.
    let waited = tokio::time::timeout(Duration::from_millis(300), &mut request).await;
    assert!(waited.is_err(), "no answer during the hold: {waited:?}");
    // The client gives up and disconnects.
    request.abort();
    assert_eq!(metadata(&db, "/Stalled").await[".tag"], "folder");
    // The client's retry now meets the folder it created.
    let conflict = db
        .rpc("files/create_folder_v2", json!({"path": "/Stalled"}))
        .await
        .conflict("path/conflict/folder");
    assert_eq!(conflict[".tag"], "path");
    let listed = db.admin_get("/__sandbox/faults").await;
    assert_eq!(listed["rules"][0]["lost"], 1);
}

#[tokio::test]
async fn stall_with_a_short_hold_ends_in_a_reset() {
    let db = Db::with(
        SandboxConfig::new().fault(
            FaultTarget::Dropbox,
            "route=/2/files/create_folder_v2,lose=stall,hold=50,nth=1"
                .parse()
                .unwrap(),
        ),
    )
    .await;
    // No client timeout: the server's hold is what ends the call.
    let err = db
        .http
        .post(format!("{}/2/files/create_folder_v2", db.url))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(json!({"path": "/Held"}).to_string())
        .send()
        .await
        .expect_err("reset after the hold");
    assert!(err.is_request() || err.is_body(), "{err:?}");
    assert_eq!(metadata(&db, "/Held").await[".tag"], "folder");
}

#[tokio::test]
async fn lose_at_a_rate_is_deterministic_under_the_seed_and_every_write_commits() {
    async fn run(seed: u64) -> Vec<u16> {
        let db = Db::with(SandboxConfig::new().fault_seed(seed).fault(
            FaultTarget::Dropbox,
            FaultRule::lose("/2/files/create_folder_v2", LostAnswer::Status(502)).with_rate(0.5),
        ))
        .await;
        let mut codes = Vec::new();
        for i in 0..16 {
            let r = db
                .rpc("files/create_folder_v2", json!({"path": format!("/r{i}")}))
                .await;
            codes.push(r.status.as_u16());
        }
        for i in 0..16 {
            assert_eq!(metadata(&db, &format!("/r{i}")).await[".tag"], "folder");
        }
        let lost = codes.iter().filter(|c| **c == 502).count() as u64;
        assert_eq!(db.sandbox.dropbox_faults().lost_answers(), lost);
        codes
    }
    let first = run(11).await;
    assert_eq!(first, run(11).await);
    assert!(first.contains(&502) && first.contains(&200), "{first:?}");
}

#[tokio::test]
async fn contentserver_new_version_answered_502_is_there_and_a_blind_repeat_adds_another() {
    let sandbox = sandbox::start(SandboxConfig::new()).await.unwrap();
    let cs = sandbox.contentserver_url();
    let http = client();
    let r = http
        .post(format!("{cs}/api/v1/auth"))
        .form(&[("username", "admin"), ("password", "admin")])
        .send()
        .await
        .unwrap();
    let ticket = json_body(r).await["ticket"].as_str().unwrap().to_owned();
    let file = |bytes: &'static [u8]| {
        reqwest::multipart::Part::bytes(bytes)
            .file_name("report.pdf")
            .mime_str("application/pdf")
            .unwrap()
    };
    let form = reqwest::multipart::Form::new()
        .text("type", "144")
        .text("parent_id", "2000")
        .text("name", "Lost Version Report.pdf")
        .part("file", file(b"version one"));
    let r = http
        .post(format!("{cs}/api/v2/nodes"))
        .header("OTCSTicket", &ticket)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let id = json_body(r).await["results"]["data"]["properties"]["id"]
        .as_i64()
        .unwrap();
    sandbox
        .contentserver_faults()
        .add(
            "route=POST /api/v2/nodes/{id}/versions,lose=502,nth=1"
                .parse()
                .unwrap(),
        )
        .unwrap();
    let add_version = || {
        http.post(format!("{cs}/api/v2/nodes/{id}/versions"))
            .header("OTCSTicket", &ticket)
            .multipart(reqwest::multipart::Form::new().part("file", file(b"version two")))
            .send()
    };
    let r = add_version().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    let versions = |http: reqwest::Client| {
        let url = format!("{cs}/api/v1/nodes/{id}/versions");
        let ticket = ticket.clone();
        async move {
            let r = http.get(url).header("OTCSTicket", ticket).send().await;
            json_body(r.unwrap()).await["data"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(
        versions(http.clone()).await,
        2,
        "the lost answer's version exists"
    );
    // A client that repeats the POST blindly adds a third version: the case adoption exists for.
    assert_eq!(add_version().await.unwrap().status(), 200);
    assert_eq!(versions(http.clone()).await, 3);
}
