use std::sync::{Arc, Mutex};
use std::time::Duration;

use dropbox_client::{Client, RetryPolicy};
use futures::FutureExt;
use serde_json::{json, Value};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub const TOKEN: &str = "test-token-secret";

/// A mock server whose unmatched requests get a loud 418 naming what came in.
pub async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(|req: &Request| {
            ResponseTemplate::new(418)
                .set_body_string(format!("unmatched request: {} {}", req.method, req.url))
        })
        .with_priority(u8::MAX)
        .mount(&server)
        .await;
    server
}

/// The waits a policy asked for, recorded instead of slept.
pub type Waits = Arc<Mutex<Vec<Duration>>>;

pub fn recording_policy() -> (RetryPolicy, Waits) {
    let waits: Waits = Arc::default();
    let w = waits.clone();
    let policy = RetryPolicy::default().jitter(0.0).sleep_with(move |d| {
        w.lock().unwrap().push(d);
        async {}.boxed()
    });
    (policy, waits)
}

pub fn client(server: &MockServer) -> Client {
    let (policy, _) = recording_policy();
    client_with(server, policy)
}

pub fn client_with(server: &MockServer, policy: RetryPolicy) -> Client {
    Client::builder()
        .base_url(server.uri().parse().unwrap())
        .access_token(TOKEN)
        .retry_policy(policy)
        .build()
        .unwrap()
}

pub fn json_body(v: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(serde_json::to_vec(&v).unwrap(), "application/json")
}

pub fn error_409(summary: &str, error: Value) -> ResponseTemplate {
    ResponseTemplate::new(409).set_body_raw(
        serde_json::to_vec(&json!({"error_summary": summary, "error": error})).unwrap(),
        "application/json",
    )
}

pub fn file_json(path: &str, rev: &str, size: u64, hash: Option<&str>) -> Value {
    let name = path.rsplit('/').next().unwrap();
    let mut v = json!({
        "name": name, "id": "id:a4ayc_80_OEAAAAAAAAAXw", "client_modified": "2015-05-12T15:50:38Z",
        "server_modified": "2015-05-12T15:50:38Z", "rev": rev, "size": size,
        "path_lower": path.to_lowercase(), "path_display": path, "is_downloadable": true
    });
    if let Some(h) = hash {
        v["content_hash"] = json!(h);
    }
    v
}

/// The `Dropbox-API-Arg` header of a request, decoded.
pub fn arg_of(req: &Request) -> Value {
    let raw = req
        .headers
        .get("Dropbox-API-Arg")
        .expect("Dropbox-API-Arg header")
        .to_str()
        .unwrap();
    serde_json::from_str(raw).unwrap()
}
