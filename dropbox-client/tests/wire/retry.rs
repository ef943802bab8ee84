//! Retry sequences with the waits recorded, not slept, plus token refresh.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dropbox_client::{Client, Error};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, Request, ResponseTemplate};

use crate::common::*;

fn tagged_file() -> serde_json::Value {
    let mut f = file_json("/x", "a1c10ce0dd78", 1, None);
    f[".tag"] = json!("file");
    f
}

#[tokio::test]
async fn rate_limited_then_ok_waits_what_the_server_asked() {
    let server = server().await;
    Mock::given(path("/2/files/get_metadata"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "4").set_body_raw(
            r#"{"error_summary": "too_many_requests/..", "error": {"reason": {".tag": "too_many_requests"}, "retry_after": 4}}"#,
            "application/json",
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/2/files/get_metadata"))
        .respond_with(json_body(tagged_file()))
        .mount(&server)
        .await;
    let (policy, waits) = recording_policy();
    let c = client_with(&server, policy);
    c.files().get_metadata("/x").await.unwrap();
    assert_eq!(*waits.lock().unwrap(), [Duration::from_secs(4)]);
}

#[tokio::test]
async fn unavailable_twice_then_ok_backs_off_exponentially() {
    let server = server().await;
    Mock::given(path("/2/files/get_metadata"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/2/files/get_metadata"))
        .respond_with(json_body(tagged_file()))
        .mount(&server)
        .await;
    let (policy, waits) = recording_policy();
    let policy = policy.initial_backoff(Duration::from_millis(100));
    let c = client_with(&server, policy);
    c.files().get_metadata("/x").await.unwrap();
    assert_eq!(
        *waits.lock().unwrap(),
        [Duration::from_millis(100), Duration::from_millis(200)]
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn budget_exhausted_returns_the_error() {
    let server = server().await;
    Mock::given(path("/2/files/get_metadata"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let (policy, waits) = recording_policy();
    let policy = policy
        .max_attempts(100)
        .initial_backoff(Duration::from_secs(2))
        .max_backoff(Duration::from_secs(2))
        .total_budget(Duration::from_secs(7));
    let c = client_with(&server, policy);
    let e = c.files().get_metadata("/x").await.unwrap_err();
    assert_eq!(e.api().unwrap().status, 500);
    // 2 + 2 + 2 = 6 s fit the 7 s budget; a fourth wait would not.
    assert_eq!(waits.lock().unwrap().len(), 3);
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn a_wait_above_the_ceiling_is_returned_not_slept() {
    let server = server().await;
    Mock::given(path("/2/files/get_metadata"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "600"))
        .mount(&server)
        .await;
    let (policy, waits) = recording_policy();
    let c = client_with(&server, policy.max_server_delay(Duration::from_secs(30)));
    match c.files().get_metadata("/x").await.unwrap_err() {
        Error::RateLimited {
            retry_after, route, ..
        } => {
            assert_eq!(retry_after, Duration::from_secs(600));
            assert_eq!(route, "files/get_metadata");
        }
        other => panic!("{other:?}"),
    }
    assert!(waits.lock().unwrap().is_empty());
}

#[tokio::test]
async fn too_many_write_operations_409_is_retried() {
    let server = server().await;
    Mock::given(path("/2/files/delete_v2"))
        .respond_with(error_409(
            "too_many_write_operations/..",
            json!({".tag": "too_many_write_operations"}),
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/2/files/delete_v2"))
        .respond_with(json_body(json!({"metadata": tagged_file()})))
        .mount(&server)
        .await;
    let c = client(&server);
    c.files().delete("/x").await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

/// Mounts an OAuth token endpoint that issues `tok-1`, `tok-2`, ... and counts its calls.
async fn token_endpoint(server: &wiremock::MockServer) -> Arc<AtomicUsize> {
    let count = Arc::new(AtomicUsize::new(0));
    let n = count.clone();
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .respond_with(move |req: &Request| {
            let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&req.body).unwrap();
            let get = |k: &str| form.iter().find(|(a, _)| a == k).map(|(_, b)| b.clone());
            if get("refresh_token").as_deref() != Some("refresh-secret") || get("client_id").as_deref() != Some("app-key") {
                return ResponseTemplate::new(400).set_body_raw(
                    r#"{"error": "invalid_grant", "error_description": "refresh token is malformed"}"#,
                    "application/json",
                );
            }
            assert_eq!(get("grant_type").as_deref(), Some("refresh_token"));
            assert_eq!(get("client_secret").as_deref(), Some("app-secret"));
            let i = n.fetch_add(1, Ordering::SeqCst) + 1;
            ResponseTemplate::new(200).set_body_raw(
                format!(r#"{{"access_token": "tok-{i}", "token_type": "bearer", "expires_in": 14400}}"#),
                "application/json",
            )
        })
        .mount(server)
        .await;
    count
}

fn refreshing_client(server: &wiremock::MockServer, refresh: &str) -> Client {
    let (policy, _) = recording_policy();
    Client::builder()
        .base_url(server.uri().parse().unwrap())
        .refresh_token("app-key", Some("app-secret"), refresh)
        .retry_policy(policy)
        .build()
        .unwrap()
}

async fn expired_for_tok1(server: &wiremock::MockServer) {
    Mock::given(path("/2/users/get_current_account"))
        .and(header("Authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(401).set_body_raw(
            r#"{"error_summary": "expired_access_token/", "error": {".tag": "expired_access_token"}}"#,
            "application/json",
        ))
        .mount(server)
        .await;
    Mock::given(path("/2/users/get_current_account"))
        .and(header("Authorization", "Bearer tok-2"))
        .respond_with(json_body(json!({
            "account_id": "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc",
            "name": {"given_name": "D", "surname": "D", "familiar_name": "D", "display_name": "D D", "abbreviated_name": "DD"},
            "email": "d@example.com", "email_verified": true, "disabled": false, "locale": "en", "referral_link": "",
            "is_paired": false, "account_type": {".tag": "basic"},
            "root_info": {".tag": "user", "root_namespace_id": "1", "home_namespace_id": "1"}})))
        .mount(server)
        .await;
}

#[tokio::test]
async fn expired_token_refreshes_once_and_repeats_the_call() {
    let server = server().await;
    let count = token_endpoint(&server).await;
    expired_for_tok1(&server).await;
    let c = refreshing_client(&server, "refresh-secret");
    c.users().get_current_account().await.unwrap();
    assert_eq!(
        count.load(Ordering::SeqCst),
        2,
        "one initial token, one refresh"
    );
}

#[tokio::test]
async fn concurrent_calls_share_one_refresh() {
    let server = server().await;
    let count = token_endpoint(&server).await;
    expired_for_tok1(&server).await;
    let c = refreshing_client(&server, "refresh-secret");
    let calls = (0..8).map(|_| {
        let c = c.clone();
        async move { c.users().get_current_account().await }
    });
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
    assert_eq!(
        count.load(Ordering::SeqCst),
        2,
        "eight expired calls, one refresh"
    );
}

#[tokio::test]
async fn a_bad_refresh_token_is_an_auth_error_without_secrets() {
    let server = server().await;
    token_endpoint(&server).await;
    let c = refreshing_client(&server, "wrong-refresh-value");
    let e = c.users().get_current_account().await.unwrap_err();
    match &e {
        Error::Auth { route, tag, .. } => {
            assert_eq!(route, "oauth2/token");
            assert_eq!(tag.as_deref(), Some("invalid_grant"));
        }
        other => panic!("{other:?}"),
    }
    let shown = format!("{e} {e:?} {c:?}");
    assert!(
        !shown.contains("wrong-refresh-value") && !shown.contains("app-secret"),
        "{shown}"
    );
}
