//! Retried uploads send every byte again; one-shot bodies are not retried; short sources, short
//! downloads and stalled uploads fail instead of passing as success.

mod common;

#[path = "support/discard_server.rs"]
mod discard_server;

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use contentserver_client::{Client, Credentials, Error, ErrorKind, TransportKind, UploadBody};
use discard_server::{pattern_body, start_short_body_server, start_stalling_server, PERIOD};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const LEN: usize = 3 * 1024 * 1024 + 17;

fn expected_bytes() -> Vec<u8> {
    (0..LEN).map(|i| (i % PERIOD) as u8).collect()
}

fn file_data(request: &wiremock::Request) -> Vec<u8> {
    multipart_parts(request)
        .into_iter()
        .find(|p| p.name == "file")
        .expect("a file part")
        .data
}

#[tokio::test]
async fn upload_retried_after_503_sends_all_bytes_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/otcs/cs.exe/api/v2/nodes"))
        // With Retry-After the server says it did nothing: even a create is repeated.
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/otcs/cs.exe/api/v2/nodes"))
        .respond_with(ResponseTemplate::new(200).set_body_json(v2_node(9, "big.bin", 144)))
        .with_priority(2)
        .mount(&server)
        .await;
    let opened = Arc::new(AtomicU32::new(0));
    let counter = opened.clone();
    // A reopenable source that counts how often it is opened.
    let body = UploadBody::reopenable(LEN as u64, move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            let chunks: Vec<io::Result<Bytes>> = expected_bytes()
                .chunks(64 * 1024)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            Ok(futures::stream::iter(chunks))
        }
    });
    let client = ticket_client(&server, PREFIX, "T1");
    let node = client
        .documents()
        .create(2000, "big.bin", body)
        .await
        .unwrap();
    assert_eq!(node.id, 9);
    assert_eq!(opened.load(Ordering::SeqCst), 2, "the body was reopened");
    let requests = requests_to(&server, "POST", "/otcs/cs.exe/api/v2/nodes").await;
    assert_eq!(requests.len(), 2);
    let want = expected_bytes();
    for r in &requests {
        assert_eq!(file_data(r).len(), LEN);
        assert!(file_data(r) == want, "every attempt carries the full file");
    }
}

#[tokio::test]
async fn upload_retried_after_401_relogin_sends_all_bytes_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ticket": "T1"})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ticket": "T2"})))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/nodes/9/versions"))
        .and(header("OTCSTicket", "T1"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"error": "Authentication Required"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/nodes/9/versions"))
        .and(header("OTCSTicket", "T2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"results": {"data": {
                "versions": {"version_number": 2, "file_size": LEN}
            }}})),
        )
        .mount(&server)
        .await;
    let client = password_client(&server, "");
    let version = client
        .documents()
        .add_version(9, pattern_body(LEN as u64))
        .description("v2")
        .await
        .unwrap();
    assert_eq!(version.file_size, Some(LEN as i64));
    let requests = requests_to(&server, "POST", "/api/v2/nodes/9/versions").await;
    assert_eq!(requests.len(), 2);
    let want = expected_bytes();
    for r in &requests {
        assert!(file_data(r) == want, "every attempt carries the full file");
        assert_eq!(field(r, "description").as_deref(), Some("v2"));
    }
}

#[tokio::test]
async fn one_shot_body_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "0"))
        .mount(&server)
        .await;
    let client = ticket_client(&server, "", "T1");
    let body = UploadBody::one_shot(
        3,
        futures::stream::iter(vec![Ok(Bytes::from_static(b"abc"))]),
    );
    let err = client
        .documents()
        .create(2000, "once.txt", body)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotRetried { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.to_string().contains("one-shot"));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_source_shorter_than_declared_fails() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(v2_node(1, "x", 144)))
        .mount(&server)
        .await;
    let client = Client::builder(server.uri())
        .credentials(Credentials::Ticket("T1".into()))
        .retry_policy(fast_retry(1))
        .build()
        .unwrap();
    let body = UploadBody::reopenable(10, || async {
        Ok(futures::stream::iter(vec![Ok(Bytes::from_static(b"abc"))]))
    });
    let err = client
        .documents()
        .create(2000, "short.txt", body)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
}

#[tokio::test]
async fn a_short_download_is_an_error() {
    let addr =
        start_short_body_server(100, b"only fifty bytes .................................!").await;
    let client = Client::builder(format!("http://{addr}/cs/cs"))
        .credentials(Credentials::Ticket("T1".into()))
        .build()
        .unwrap();
    let download = client.documents().download(5).await.unwrap();
    assert_eq!(download.size, Some(100));
    let err = download.bytes().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportKind::Body,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_stalled_upload_times_out() {
    let addr = start_stalling_server().await;
    let client = Client::builder(format!("http://{addr}"))
        .credentials(Credentials::Ticket("T1".into()))
        .timeout(Duration::from_millis(300))
        .retry_policy(fast_retry(1))
        .build()
        .unwrap();
    // Far more than the loopback socket buffers hold, so the upload must stall.
    let err = client
        .documents()
        .create(2000, "stall.bin", pattern_body(256 << 20))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        ),
        "{err:?}"
    );
}
