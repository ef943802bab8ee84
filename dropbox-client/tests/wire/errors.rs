//! Decoding of every error status into the one error type, its kind, and the typed route error.

use dropbox_client::models::files::{GetMetadataError, LookupError, UploadSessionLookupError};
use dropbox_client::{Error, ErrorKind, RetryPolicy};
use serde_json::json;
use wiremock::matchers::path;
use wiremock::{Mock, ResponseTemplate};

use crate::common::*;

async fn get_metadata_error(template: ResponseTemplate) -> Error {
    let server = server().await;
    Mock::given(path("/2/files/get_metadata"))
        .respond_with(template)
        .mount(&server)
        .await;
    let c = client_with(&server, RetryPolicy::never());
    c.files().get_metadata("/x").await.unwrap_err()
}

#[tokio::test]
async fn bad_request_text_is_kept() {
    let e = get_metadata_error(ResponseTemplate::new(400).set_body_string(
        "Error in call to API function \"files/get_metadata\": request body: path: The root folder is unsupported.",
    ))
    .await;
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(!e.is_retryable());
    let api = e.api().unwrap();
    assert_eq!(api.status, 400);
    assert!(api.summary.contains("root folder is unsupported"));
    assert!(e.to_string().starts_with("files/get_metadata: HTTP 400"));
}

#[tokio::test]
async fn unauthorized_is_an_auth_error_without_the_token() {
    let e = get_metadata_error(ResponseTemplate::new(401).set_body_raw(
        r#"{"error_summary": "invalid_access_token/...", "error": {".tag": "invalid_access_token"}}"#,
        "application/json",
    ))
    .await;
    match &e {
        Error::Auth { status, tag, .. } => {
            assert_eq!(*status, 401);
            assert_eq!(tag.as_deref(), Some("invalid_access_token"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    assert!(!format!("{e:?} {e}").contains(TOKEN));
}

#[tokio::test]
async fn conflict_decodes_nested_union() {
    let e = get_metadata_error(error_409(
        "path/not_found/..",
        json!({".tag": "path", "path": {".tag": "not_found"}}),
    ))
    .await;
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let api = e.api().unwrap();
    assert_eq!(api.tags(), ["path", "not_found"]);
    assert_eq!(
        api.route_error::<GetMetadataError>(),
        Some(GetMetadataError::Path(LookupError::NotFound))
    );

    let e = get_metadata_error(error_409(
        "incorrect_offset/..",
        json!({".tag": "incorrect_offset", "correct_offset": 8388608}),
    ))
    .await;
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(matches!(
        e.api().unwrap().route_error::<UploadSessionLookupError>(),
        Some(UploadSessionLookupError::IncorrectOffset(o)) if o.correct_offset == 8388608
    ));
}

#[tokio::test]
async fn rate_limit_with_header_and_with_body() {
    let e = get_metadata_error(
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "3")
            .set_body_string("slow down"),
    )
    .await;
    match e {
        Error::RateLimited { retry_after, .. } => assert_eq!(retry_after.as_secs(), 3),
        other => panic!("{other:?}"),
    }
    let e = get_metadata_error(ResponseTemplate::new(429).set_body_raw(
        r#"{"error_summary": "too_many_write_operations/..", "error": {"reason": {".tag": "too_many_write_operations"}, "retry_after": 7}}"#,
        "application/json",
    ))
    .await;
    match &e {
        Error::RateLimited {
            retry_after,
            reason,
            ..
        } => {
            assert_eq!(retry_after.as_secs(), 7);
            assert_eq!(reason.as_deref(), Some("too_many_write_operations"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert!(e.is_retryable());
}

#[tokio::test]
async fn server_errors_and_html_pages() {
    let e = get_metadata_error(
        ResponseTemplate::new(503)
            .set_body_raw("<html><body>Service Unavailable</body></html>", "text/html"),
    )
    .await;
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(e.is_retryable());
    assert!(e.api().unwrap().summary.contains("Service Unavailable"));

    let e = get_metadata_error(ResponseTemplate::new(501).set_body_string("not implemented")).await;
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn an_undecodable_success_is_a_decode_error_with_an_excerpt() {
    let e = get_metadata_error(
        ResponseTemplate::new(200).set_body_raw("<html>proxy login</html>", "text/html"),
    )
    .await;
    match &e {
        Error::Decode { route, excerpt, .. } => {
            assert_eq!(route, "files/get_metadata");
            assert!(excerpt.contains("proxy login"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_refused_connection_is_a_retryable_transport_error() {
    // Bind then drop a listener: the port is closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = dropbox_client::Client::builder()
        .base_url(format!("http://127.0.0.1:{port}").parse().unwrap())
        .access_token(TOKEN)
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let e = c.files().get_metadata("/x").await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Transport {
                kind: dropbox_client::TransportKind::Connect,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.is_retryable());
}
