//! Hostile or broken server answers: no panic from any server value, and no secret in any
//! error.

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::common::*;
use dropbox_client::{Client, ErrorKind};

fn refreshing(server: &wiremock::MockServer) -> Client {
    let (policy, _) = recording_policy();
    Client::builder()
        .base_url(server.uri().parse().unwrap())
        .refresh_token("app-key", Some("app-Zq7-secret"), "refresh-Zq7-secret")
        .retry_policy(policy.max_attempts(1))
        .build()
        .unwrap()
}

fn account() -> serde_json::Value {
    json!({
        "account_id": "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc",
        "name": {"given_name": "D", "surname": "D", "familiar_name": "D", "display_name": "D D", "abbreviated_name": "DD"},
        "email": "d@example.com", "email_verified": true, "disabled": false, "locale": "en", "referral_link": "",
        "is_paired": false, "account_type": {".tag": "basic"},
        "root_info": {".tag": "user", "root_namespace_id": "1", "home_namespace_id": "1"}})
}

/// A 200 token answer that does not decode holds the token: the error quotes none of it, and
/// serde's message (which quotes the value it choked on) is not passed on either.
#[tokio::test]
async fn an_undecodable_token_answer_does_not_show_the_token() {
    for body in [
        r#"{"access_token": "sl.TOKEN-Zq7-distinctive", "token_type": "bearer", "expires_in": "#,
        r#"{"access_token": ["sl.TOKEN-Zq7-distinctive"], "token_type": "bearer"}"#,
        r#"{"access_token": "sl.TOKEN-Zq7-distinctive", "expires_in": "sl.TOKEN-Zq7-distinctive"}"#,
    ] {
        let server = server().await;
        Mock::given(method("POST"))
            .and(path("/oauth2/token"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
            .mount(&server)
            .await;
        let err = refreshing(&server)
            .users()
            .get_current_account()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
        let mut shown = format!("{err} {err:?}");
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            shown.push_str(&s.to_string());
            source = s.source();
        }
        assert!(!shown.contains("Zq7"), "{shown}");
    }
}

/// An absurd `expires_in` (it would overflow the clock) means "does not expire": no panic.
#[tokio::test]
async fn an_absurd_token_lifetime_does_not_panic() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            format!(
                r#"{{"access_token": "tok-1", "token_type": "bearer", "expires_in": {}}}"#,
                u64::MAX
            ),
            "application/json",
        ))
        .mount(&server)
        .await;
    Mock::given(path("/2/users/get_current_account"))
        .respond_with(json_body(account()))
        .mount(&server)
        .await;
    let c = refreshing(&server);
    c.users().get_current_account().await.unwrap();
    c.users().get_current_account().await.unwrap();
}

/// A `Retry-After` as an HTTP date is honoured like delta seconds; a huge one is returned as a
/// rate limit at once, without overflow.
#[tokio::test]
async fn retry_after_as_a_date_and_huge_hints() {
    let server = server().await;
    let date = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc2822();
    Mock::given(path("/2/users/get_current_account"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", date.as_str()))
        .mount(&server)
        .await;
    let (policy, waits) = recording_policy();
    let err = client_with(&server, policy)
        .users()
        .get_current_account()
        .await
        .unwrap_err();
    let hint = err.retry_after().expect("a hint");
    assert!(hint > std::time::Duration::from_secs(7000), "{hint:?}");
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert!(waits.lock().unwrap().is_empty(), "two hours are not slept");

    let server = wiremock::MockServer::start().await;
    Mock::given(path("/2/users/get_current_account"))
        .respond_with(
            ResponseTemplate::new(429).insert_header("retry-after", u64::MAX.to_string().as_str()),
        )
        .mount(&server)
        .await;
    let err = client(&server)
        .users()
        .get_current_account()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
}

/// A longpoll `backoff` too large for the clock is capped, not added blindly: no panic.
#[tokio::test]
async fn an_absurd_longpoll_backoff_does_not_panic() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/2/files/list_folder/longpoll"))
        .respond_with(json_body(json!({"changes": false, "backoff": u64::MAX})))
        .mount(&server)
        .await;
    let r = client(&server)
        .files()
        .list_folder_longpoll("C", std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(r.backoff, Some(u64::MAX));
}

/// A download whose metadata claims an absurd size does not make `bytes()` reserve it: the
/// body that arrives is read, and the size check fails cleanly.
#[tokio::test]
async fn an_absurd_download_size_is_not_trusted_for_memory() {
    let server = server().await;
    let meta =
        dropbox_client::header_safe_json(&file_json("/a.txt", "a1c10ce0dd78", u64::MAX, None))
            .unwrap();
    Mock::given(method("POST"))
        .and(path("/2/files/download"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Dropbox-API-Result", meta.as_str())
                .set_body_bytes(b"hello".to_vec()),
        )
        .mount(&server)
        .await;
    let d = client(&server).files().download("/a.txt").await.unwrap();
    let err = d.bytes().await.unwrap_err();
    assert!(err.to_string().contains("ended early"), "{err}");
}

/// A job that the server says is in progress forever does not keep the caller forever: the
/// wait ends at its limit with a timeout naming the job, after a bounded number of checks.
#[tokio::test]
async fn a_job_that_never_finishes_is_not_waited_on_forever() {
    use dropbox_client::models::files::{MoveBatchArg, RelocationPath};
    use dropbox_client::{JobWait, TransportKind};
    let server = server().await;
    Mock::given(path("/2/files/move_batch_v2"))
        .respond_with(json_body(
            json!({".tag": "async_job_id", "async_job_id": "job-1"}),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/2/files/move_batch/check_v2"))
        .respond_with(json_body(json!({".tag": "in_progress"})))
        .mount(&server)
        .await;
    let arg = MoveBatchArg::new([RelocationPath::new("/a", "/b")]);
    let wait =
        JobWait::every(std::time::Duration::ZERO).at_most(std::time::Duration::from_millis(20));
    let err = client(&server)
        .files()
        .move_batch_and_wait(&arg, wait)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            dropbox_client::Error::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("job-1"), "{err}");
    let checks = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/2/files/move_batch/check_v2")
        .count();
    // A zero interval is raised to 1 ms, and the limit counts the intervals waited: the first
    // check, then one after each of 20 waits.
    assert_eq!(checks, 21);
}

/// A 200 answer that cannot be read means the server acted: for a write (a single upload) the
/// outcome is in doubt, for a read it is not.
#[tokio::test]
async fn an_unreadable_success_is_in_doubt_only_for_a_write() {
    let server = server().await;
    Mock::given(path("/2/files/upload"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<html>ok</html>", "text/html"))
        .mount(&server)
        .await;
    Mock::given(path("/2/files/get_metadata"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<html>ok</html>", "text/html"))
        .mount(&server)
        .await;
    let c = client(&server);
    let write = c
        .files()
        .upload_bytes("/a.txt", bytes::Bytes::from_static(b"a"))
        .await
        .unwrap_err();
    assert_eq!(write.kind(), ErrorKind::Decode, "{write:?}");
    assert!(write.is_in_doubt());
    let read = c.files().get_metadata("/a.txt").await.unwrap_err();
    assert_eq!(read.kind(), ErrorKind::Decode, "{read:?}");
    assert!(!read.is_in_doubt());
}

/// A server that hands back a cursor already followed (A, B, A, ...) is not read forever: the
/// pager stops before following a cursor a second time.
#[tokio::test]
async fn a_cursor_cycle_ends_the_listing() {
    use futures::TryStreamExt;
    use wiremock::matchers::body_partial_json;
    let server = server().await;
    let page = |cursor: &str| json_body(json!({"entries": [], "cursor": cursor, "has_more": true}));
    Mock::given(path("/2/files/list_folder"))
        .respond_with(page("A"))
        .mount(&server)
        .await;
    Mock::given(path("/2/files/list_folder/continue"))
        .and(body_partial_json(json!({"cursor": "A"})))
        .respond_with(page("B"))
        .mount(&server)
        .await;
    Mock::given(path("/2/files/list_folder/continue"))
        .and(body_partial_json(json!({"cursor": "B"})))
        .respond_with(page("A"))
        .mount(&server)
        .await;
    let pages: Vec<_> = client(&server)
        .files()
        .list_folder("")
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 3);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}
