//! The write limit (`SandboxConfig::write_limit`) over real sockets: a write held in flight
//! (by a `lose=stall` rule: its handler ran, its answer is held) fills a limit of 1, so the
//! next write is refused with 429 and `Retry-After`, counted in the stats, while reads pass;
//! once the held write's client goes away, writes pass again. No sleeps: the held write is
//! known to be in flight from the fault's lost-answer count.

use std::time::Duration;

use reqwest::StatusCode;
use sandbox::{FaultRule, FaultTarget, LostAnswer, Sandbox, SandboxConfig};
use serde_json::{json, Value};

const TOKEN: &str = "sandbox-token";

async fn sandbox() -> Sandbox {
    sandbox::start(SandboxConfig::new().write_limit(FaultTarget::Both, 1))
        .await
        .unwrap()
}

/// A stall that holds the answer far longer than the test runs: the client ends it.
fn stall(route: &str) -> FaultRule {
    FaultRule::lose(route, LostAnswer::Stall)
        .with_hold(Duration::from_secs(600))
        .with_nth(1)
}

fn upload(http: &reqwest::Client, url: &str, path: &str) -> reqwest::RequestBuilder {
    http.post(format!("{url}/2/files/upload"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/octet-stream")
        .header("dropbox-api-arg", json!({"path": path}).to_string())
        .body(b"bytes".to_vec())
}

#[tokio::test]
async fn dropbox_refuses_a_write_past_the_limit_with_too_many_write_operations() {
    let sb = sandbox().await;
    let (http, url) = (reqwest::Client::new(), sb.dropbox_url());
    sb.dropbox_faults().add(stall("/2/files/upload")).unwrap();
    let held = tokio::spawn(upload(&http, &url, "/held.txt").send());
    sb.dropbox_faults().wait_lost(1).await;

    let r = upload(&http, &url, "/refused.txt").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "1");
    let body: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(body["error"]["reason"][".tag"], "too_many_write_operations");
    assert_eq!(body["error"]["retry_after"], 1);
    // A read is not a write.
    let r = http
        .post(format!("{url}/2/files/list_folder"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(json!({"path": ""}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(sb.dropbox_stats().limited(), 1);
    let stats = http
        .get(format!("{url}/__sandbox/stats"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let stats: Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(stats["limited"], 1);
    assert_eq!(sb.contentserver_stats().limited(), 0, "each server its own");

    // The held write's client goes away: its place is freed (the server notices the closed
    // connection; until then the next write is refused, so try until one passes).
    held.abort();
    let mut refused = 0;
    loop {
        let r = upload(&http, &url, "/after.txt").send().await.unwrap();
        if r.status() == StatusCode::OK {
            break;
        }
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        refused += 1;
        assert!(refused < 10_000, "the held write's place was never freed");
        tokio::task::yield_now().await;
    }
    assert_eq!(sb.dropbox_stats().limited(), 1 + refused);
}

#[tokio::test]
async fn contentserver_refuses_a_write_past_the_limit_with_429() {
    let sb = sandbox().await;
    let http = reqwest::Client::new();
    let base = sb.contentserver_url();
    // Without a ticket the handler answers 401 at once; the stall holds that answer, and so
    // the write's place.
    sb.contentserver_faults()
        .add(stall("DELETE /api/v2/nodes/{id}"))
        .unwrap();
    let held = tokio::spawn(http.delete(format!("{base}/api/v2/nodes/2000")).send());
    sb.contentserver_faults().wait_lost(1).await;

    let r = http
        .delete(format!("{base}/api/v2/nodes/2000"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "1");
    // Logging in and reading are not writes.
    let r = http
        .post(format!("{base}/api/v1/auth"))
        .form(&[("username", "admin"), ("password", "admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = http
        .get(format!("{base}/api/v2/nodes/2000"))
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(sb.contentserver_stats().limited(), 1);
    held.abort();
}
