//! Every fault kind over real sockets, the admin API, stats and manifests, TLS.

mod dropbox_support;

use std::time::{Duration, Instant};

use dropbox_support::{client, json_body, Db, TOKEN};
use reqwest::StatusCode;
use sandbox::{FaultRule, FaultTarget, SandboxConfig};
use serde_json::{json, Value};

async fn account(db: &Db) -> reqwest::Result<reqwest::Response> {
    db.http
        .post(format!("{}/2/users/get_current_account", db.url))
        .bearer_auth(TOKEN)
        .send()
        .await
}

#[tokio::test]
async fn status_on_the_nth_call_and_admin_api() {
    let db = Db::with(
        SandboxConfig::new().fault(
            FaultTarget::Dropbox,
            "route=/2/users/get_current_account,status=503,nth=2"
                .parse()
                .unwrap(),
        ),
    )
    .await;
    assert_eq!(account(&db).await.unwrap().status(), 200);
    assert_eq!(account(&db).await.unwrap().status(), 503);
    assert_eq!(account(&db).await.unwrap().status(), 200);

    let listed = db.admin_get("/__sandbox/faults").await;
    let rule = &listed["rules"][0];
    assert_eq!(rule["status"], 503);
    assert_eq!(rule["matched"], 3);
    assert_eq!(rule["fired"], 1);

    // Add at run time over HTTP, then delete it by id.
    let r = db
        .http
        .post(format!("{}/__sandbox/faults", db.url))
        .body(json!({"route": "/2/users/*", "status": 500}).to_string())
        .send()
        .await
        .unwrap();
    let id = json_body(r).await["id"].as_u64().unwrap();
    assert_eq!(account(&db).await.unwrap().status(), 500);
    let r = db
        .http
        .delete(format!("{}/__sandbox/faults/{id}", db.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(account(&db).await.unwrap().status(), 200);
    let r = db
        .http
        .post(format!("{}/__sandbox/faults", db.url))
        .body(r#"{"route": "*"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "a rule without an action is refused");
    db.http
        .delete(format!("{}/__sandbox/faults", db.url))
        .send()
        .await
        .unwrap();
    assert_eq!(db.admin_get("/__sandbox/faults").await["rules"], json!([]));
}

#[tokio::test]
async fn rate_limited_with_retry_after_header_and_body() {
    let db = Db::start().await;
    db.sandbox
        .dropbox_faults()
        .add(FaultRule::rate_limited("/2/files/list_folder", 7).with_count(1))
        .unwrap();
    let r = db.rpc("files/list_folder", json!({"path": ""})).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers["retry-after"], "7");
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(r.json["error"]["retry_after"], 7);
    assert_eq!(r.json["error"]["reason"][".tag"], "too_many_requests");
    db.rpc("files/list_folder", json!({"path": ""})).await.ok();
}

#[tokio::test]
async fn status_faults_read_the_whole_upload_body_first() {
    let db = Db::start().await;
    db.sandbox
        .dropbox_faults()
        .add(FaultRule::status("/2/files/upload", 503).with_nth(1))
        .unwrap();
    let r = db
        .upload(
            "files/upload",
            json!({"path": "/x.bin"}),
            vec![7u8; 8 << 20],
        )
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    db.upload(
        "files/upload",
        json!({"path": "/x.bin"}),
        vec![7u8; 8 << 20],
    )
    .await
    .ok();
}

#[tokio::test]
async fn connection_reset_mid_request() {
    let db = Db::start().await;
    db.sandbox
        .dropbox_faults()
        .add(FaultRule::reset("/2/users/get_current_account").with_nth(1))
        .unwrap();
    let err = account(&db).await.expect_err("the connection is reset");
    assert!(
        err.is_request() || err.is_connect() || err.is_body(),
        "{err:?}"
    );
    // The next call goes through on a new connection.
    assert_eq!(account(&db).await.unwrap().status(), 200);
}

#[tokio::test]
async fn download_body_cut_short() {
    let db = Db::start().await;
    db.put("/Cut.bin", &vec![1u8; 100_000]).await;
    db.sandbox
        .dropbox_faults()
        .add(FaultRule::truncate("/2/files/download", 1000).with_count(1))
        .unwrap();
    let r = db
        .http
        .post(format!("{}/2/files/download", db.url))
        .bearer_auth(TOKEN)
        .header("dropbox-api-arg", json!({"path": "/Cut.bin"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-length"], "100000");
    let body = r.bytes().await;
    assert!(
        body.is_err(),
        "the body must fail, got {:?}",
        body.map(|b| b.len())
    );
    let (_, _, full) = db.get("/Cut.bin").await;
    assert_eq!(full.len(), 100_000);
}

#[tokio::test]
async fn latency_is_applied() {
    let db = Db::with(SandboxConfig::new().latency(Duration::from_millis(150))).await;
    let started = Instant::now();
    assert_eq!(account(&db).await.unwrap().status(), 200);
    // A sleep never ends early: the lower bound cannot flake.
    assert!(started.elapsed() >= Duration::from_millis(150));
    let listed = db.admin_get("/__sandbox/faults").await;
    assert_eq!(listed["rules"][0]["delayed_ms"], 150);
}

#[tokio::test]
async fn token_expiring_now() {
    let db = Db::start().await;
    let r = db
        .http
        .post(format!("{}/oauth2/token", db.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=refresh_token&refresh_token=sandbox-refresh&client_id=sandbox-app")
        .send()
        .await
        .unwrap();
    let access = json_body(r).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    db.rpc_with(&access, &[], "files/list_folder", json!({"path": ""}))
        .await
        .ok();
    db.sandbox
        .dropbox_faults()
        .add("route=/2/files/list_folder,expire,count=1".parse().unwrap())
        .unwrap();
    let r = db
        .rpc_with(&access, &[], "files/list_folder", json!({"path": ""}))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json["error"][".tag"], "expired_access_token");
}

#[tokio::test]
async fn rate_faults_are_deterministic_under_the_seed() {
    async fn run(seed: u64) -> Vec<u16> {
        let db = Db::with(SandboxConfig::new().fault_seed(seed).fault(
            FaultTarget::Dropbox,
            FaultRule::status("*", 500).with_rate(0.5),
        ))
        .await;
        let mut codes = Vec::new();
        for _ in 0..24 {
            codes.push(account(&db).await.unwrap().status().as_u16());
        }
        codes
    }
    let a = run(42).await;
    assert_eq!(a, run(42).await);
    assert!(a.contains(&500) && a.contains(&200));
}

#[tokio::test]
async fn stats_and_manifests_on_both_servers() {
    let db = Db::start().await;
    account(&db).await.unwrap();
    account(&db).await.unwrap();
    db.rpc("files/list_folder", json!({"path": ""})).await.ok();
    db.admin_get("/__sandbox/faults").await; // admin calls are not counted
    let stats = db.admin_get("/__sandbox/stats").await;
    assert_eq!(stats["total"], 3);
    assert_eq!(stats["routes"]["/2/users/get_current_account"], 2);
    db.http
        .post(format!("{}/__sandbox/stats/reset", db.url))
        .send()
        .await
        .unwrap();
    assert_eq!(db.admin_get("/__sandbox/stats").await["total"], 0);

    // Content Server keys: method + path without prefix, numeric segments as {id}.
    let cs = db.sandbox.contentserver_url();
    let origin = db.sandbox.contentserver_origin();
    assert!(cs.ends_with("/otcs/cs.exe"));
    db.http
        .get(format!("{cs}/api/v2/nodes/2000/nodes"))
        .send()
        .await
        .unwrap();
    db.http
        .get(format!("{origin}/api/v1/nodes/2000"))
        .send()
        .await
        .unwrap();
    let stats: Value = json_body(
        db.http
            .get(format!("{origin}/__sandbox/stats"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(stats["routes"]["GET /api/v2/nodes/{id}/nodes"], 1);
    assert_eq!(stats["routes"]["GET /api/v1/nodes/{id}"], 1);
    // The admin API is also under the prefix, and the manifest is served.
    let r = db
        .http
        .get(format!("{cs}/__sandbox/manifest"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(json_body(r).await, db.sandbox.contentserver_manifest());
}

#[tokio::test]
async fn tls_serves_https() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls");
    let db =
        Db::with(SandboxConfig::new().tls(format!("{dir}/cert.pem"), format!("{dir}/key.pem")))
            .await;
    assert!(db.url.starts_with("https://127.0.0.1:"));
    let ca = std::fs::read(format!("{dir}/ca.pem")).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let r = http
        .post(format!("{}/2/users/get_current_account", db.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Plain http to the https port fails.
    assert!(client()
        .post(format!(
            "{}/2/users/get_current_account",
            db.url.replace("https", "http")
        ))
        .send()
        .await
        .map(|r| r.status().is_success())
        .map_or(true, |ok| !ok));
}
