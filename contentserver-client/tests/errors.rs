//! Decoding of each error shape, and the retry policy against a live (mock) server.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use contentserver_client::{Client, Credentials, Error, ErrorKind, TransportKind};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn one_error(template: ResponseTemplate, http_method: &str) -> (Error, usize) {
    let server = MockServer::start().await;
    Mock::given(method(http_method))
        .and(path("/cs/cs/api/v2/nodes/5"))
        .respond_with(template)
        .mount(&server)
        .await;
    let client = ticket_client(&server, "/cs/cs", "T1");
    let err = match http_method {
        "GET" => client.nodes().get(5).await.map(|_| ()).unwrap_err(),
        "PUT" => client.nodes().rename(5, "x").await.unwrap_err(),
        _ => client
            .raw()
            .post("api/v2/nodes/5")
            .send()
            .await
            .map(|_| ())
            .unwrap_err(),
    };
    let count = server.received_requests().await.unwrap().len();
    (err, count)
}

#[tokio::test]
async fn json_error_shapes_map_to_kinds() {
    let cases = [
        (
            400,
            json!({"error": "Could not get a node for 5"}),
            ErrorKind::NotFound,
        ),
        (
            400,
            json!({"error": "The REST API URL could not be found in the mappings registry"}),
            ErrorKind::Other,
        ),
        (
            409,
            json!({"error": "Could not update metadata (edit conflict)"}),
            ErrorKind::Conflict,
        ),
        (
            500,
            json!({"error": "An item with the name 'x' already exists."}),
            ErrorKind::AlreadyExists,
        ),
        (
            500,
            json!({"error": "Insufficient permissions to perform that action"}),
            ErrorKind::PermissionDenied,
        ),
        (
            500,
            json!({"error": "Could not locate node: 5"}),
            ErrorKind::NotFound,
        ),
        (
            403,
            json!({"error": "Forbidden"}),
            ErrorKind::PermissionDenied,
        ),
        (404, json!({"error": "Gone"}), ErrorKind::NotFound),
    ];
    for (status, body, kind) in cases {
        let (err, count) = one_error(
            ResponseTemplate::new(status).set_body_json(body.clone()),
            "PUT",
        )
        .await;
        assert_eq!(err.kind(), kind, "{status} {body}: {err}");
        assert_eq!(count, 1, "{status} is not retried");
        match err {
            Error::Api {
                status: s,
                ref message,
                ref path,
                ref method,
                ..
            } => {
                assert_eq!(s, status);
                assert_eq!(message, body["error"].as_str().unwrap());
                assert_eq!(path, "api/v2/nodes/5");
                assert_eq!(method.as_str(), "PUT");
            }
            other => panic!("expected Api, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn error_detail_is_kept() {
    let (err, _) = one_error(
        ResponseTemplate::new(500)
            .set_body_json(json!({"error": "Import failed", "errorDetail": "line 3"})),
        "PUT",
    )
    .await;
    match err {
        Error::Api { detail, .. } => assert_eq!(detail.as_deref(), Some("line 3")),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn html_500_try_again_is_retried_then_reported_as_text() {
    let page = "<html><head><title>Content Server Error</title></head>\
                <body><h1>Error Processing Request</h1><p>Please try again later.</p></body></html>";
    let (err, count) = one_error(
        ResponseTemplate::new(500).set_body_raw(page.as_bytes().to_vec(), "text/html"),
        "GET",
    )
    .await;
    assert_eq!(count, 3, "retried up to max_attempts");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    match err {
        Error::Api {
            status,
            message,
            transient,
            ..
        } => {
            assert_eq!(status, 500);
            assert!(transient);
            assert_eq!(
                message,
                "Content Server Error Error Processing Request Please try again later."
            );
        }
        other => panic!("{other:?}"),
    }
    // A plain HTML 500 without a transient phrase is not retried.
    let (err, count) = one_error(
        ResponseTemplate::new(500).set_body_raw(b"<html>Boom</html>".to_vec(), "text/html"),
        "GET",
    )
    .await;
    assert_eq!((count, err.kind()), (1, ErrorKind::Other));
}

#[tokio::test]
async fn non_json_200_is_a_decode_error_retried_only_when_idempotent() {
    let (err, count) = one_error(
        ResponseTemplate::new(200).set_body_raw(b"<html>proxy login</html>".to_vec(), "text/html"),
        "GET",
    )
    .await;
    assert_eq!(count, 3);
    match &err {
        Error::Decode {
            excerpt, not_json, ..
        } => {
            assert!(*not_json);
            assert_eq!(excerpt, "<html>proxy login</html>");
        }
        other => panic!("{other:?}"),
    }
    let (err, count) = one_error(
        ResponseTemplate::new(200).set_body_raw(b"oops".to_vec(), "text/plain"),
        "POST",
    )
    .await;
    assert_eq!(count, 1, "a POST is not repeated");
    assert!(matches!(err, Error::Decode { .. }));
}

#[tokio::test]
async fn wrong_shape_is_a_decode_error_with_path() {
    let (err, count) = one_error(
        ResponseTemplate::new(200).set_body_json(json!({"results": {"data": {}}})),
        "GET",
    )
    .await;
    assert_eq!(count, 1, "a JSON answer of the wrong shape is not retried");
    match err {
        Error::Decode { path, reason, .. } => {
            assert_eq!(path, "api/v2/nodes/5");
            assert!(reason.contains("results.data.properties"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn suppressed_response_codes_are_errors() {
    let (err, _) = one_error(
        ResponseTemplate::new(200)
            .set_body_json(json!({"error": "Could not get a node for 5", "statusCode": 400})),
        "GET",
    )
    .await;
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn gateway_errors_are_retried_until_success() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/nodes/5"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/nodes/5"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/nodes/5"))
        .respond_with(ResponseTemplate::new(200).set_body_json(v2_node(5, "ok", 0)))
        .mount(&server)
        .await;
    let retries = Arc::new(AtomicU32::new(0));
    let seen = retries.clone();
    let client = Client::builder(server.uri())
        .credentials(Credentials::Ticket("T1".into()))
        .retry_policy(fast_retry(3).on_retry(move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
        }))
        .build()
        .unwrap();
    assert_eq!(client.nodes().get(5).await.unwrap().name, "ok");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    assert_eq!(retries.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn long_retry_after_gives_rate_limited_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/nodes/5"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
        .mount(&server)
        .await;
    let client = ticket_client(&server, "", "T1");
    let err = client.nodes().get(5).await.unwrap_err();
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
}

#[tokio::test]
async fn connect_errors_are_transport_errors() {
    // Bind then drop a listener to get a loopback port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder(format!("http://127.0.0.1:{port}/cs/cs"))
        .credentials(Credentials::Ticket("T1".into()))
        .retry_policy(fast_retry(2))
        .build()
        .unwrap();
    let err = client.nodes().get(5).await.unwrap_err();
    match &err {
        Error::Transport { kind, path, .. } => {
            assert_eq!(*kind, TransportKind::Connect);
            assert_eq!(path, "api/v2/nodes/5");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}

#[tokio::test]
async fn timeouts_retry_gets_and_searches_but_not_writes() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(v2_node(5, "slow", 0))
                .set_delay(Duration::from_secs(30)),
        )
        .mount(&server)
        .await;
    let client = Client::builder(server.uri())
        .credentials(Credentials::Ticket("T1".into()))
        .timeout(Duration::from_millis(200))
        .retry_policy(fast_retry(2))
        .build()
        .unwrap();
    let err = client.nodes().get(5).await.unwrap_err();
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
    let err = client.nodes().create_folder(1, "x").await.unwrap_err();
    assert!(matches!(
        err,
        Error::Transport {
            kind: TransportKind::Timeout,
            ..
        }
    ));
    // A search is a POST that only reads: safe to repeat.
    let err = client.search().query("x").page(1).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    // A request cut off by the timeout may reach the server's log late under load: wait
    // for the five (not timed), then count them by kind.
    tokio::time::timeout(Duration::from_secs(30), async {
        while server.received_requests().await.unwrap().len() < 5 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the five requests reach the server");
    let requests = server.received_requests().await.unwrap();
    let count = |method: &str, search: bool| {
        requests
            .iter()
            .filter(|r| r.method.as_str() == method && r.url.path().ends_with("search") == search)
            .count()
    };
    assert_eq!(count("GET", false), 2, "GET retried");
    assert_eq!(
        count("POST", false),
        1,
        "create not retried after a timeout"
    );
    assert_eq!(count("POST", true), 2, "search retried");
}

/// Each transient status under a write (POST) and a repeatable call (GET): how many requests
/// reach the server, and whether the error says "in doubt". A write is repeated only when the
/// server certainly did nothing (429, 503 with `Retry-After`).
#[tokio::test]
async fn writes_are_repeated_only_when_the_server_certainly_did_nothing() {
    let html_try_again = || {
        ResponseTemplate::new(500)
            .insert_header("content-type", "text/html")
            .set_body_string("<html><body>Error Processing Request. Please try again</body></html>")
    };
    // (template, requests for a GET, requests for a POST, POST error in doubt)
    let cases: Vec<(&str, ResponseTemplate, usize, usize, bool)> = vec![
        ("408", ResponseTemplate::new(408), 3, 1, true),
        (
            "429",
            ResponseTemplate::new(429).insert_header("retry-after", "0"),
            3,
            3,
            false,
        ),
        ("500 page", html_try_again(), 3, 1, true),
        ("502", ResponseTemplate::new(502), 3, 1, true),
        ("503", ResponseTemplate::new(503), 3, 1, true),
        (
            "503 hint",
            ResponseTemplate::new(503).insert_header("retry-after", "0"),
            3,
            3,
            false,
        ),
        ("504", ResponseTemplate::new(504), 3, 1, true),
    ];
    for (name, template, gets, posts, post_in_doubt) in cases {
        let (get_err, get_count) = one_error(template.clone(), "GET").await;
        assert_eq!(get_count, gets, "{name}: GET requests");
        assert!(!get_err.is_in_doubt(), "{name}: a GET is never in doubt");
        let (post_err, post_count) = one_error(template, "POST").await;
        assert_eq!(post_count, posts, "{name}: POST requests ({post_err})");
        assert_eq!(
            post_err.is_in_doubt(),
            post_in_doubt,
            "{name}: {post_err:?}"
        );
    }
}

/// A raw POST declared safe to repeat is repeated like a GET.
#[tokio::test]
async fn a_raw_post_declared_safe_is_repeated() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/search"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let client = ticket_client(&server, "", "T1");
    let err = client
        .raw()
        .post("api/v2/search")
        .safe_to_repeat()
        .send()
        .await
        .unwrap_err();
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(!err.is_in_doubt());
}

/// The PUTs that move something on (acting on a task, initiating a draft process) are not
/// repeated after a gateway error, and neither is a raw PUT declared unsafe; a plain PUT is.
#[tokio::test]
async fn puts_that_move_something_on_are_not_repeated() {
    use contentserver_client::api::processes::TaskRef;
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/api/v2/processes/7/subprocesses/7/tasks/9"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/draftprocesses"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"results": {"draftprocess_id": 56}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/forms/draftprocesses/update"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": {"comments_on": false}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/api/v2/draftprocesses/56"))
        .respond_with(ResponseTemplate::new(504))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/api/v2/nodes/5"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let client = ticket_client(&server, "", "T1");
    let count = |p: &'static str| {
        let server = &server;
        async move {
            let reqs = server.received_requests().await.unwrap();
            reqs.iter()
                .filter(|r| r.method.as_str() == "PUT" && r.url.path() == p)
                .count()
        }
    };
    let task = TaskRef {
        process_id: 7,
        subprocess_id: 7,
        task_id: 9,
    };
    let err = client.workflows().approve(task).await.unwrap_err();
    assert!(err.is_in_doubt(), "{err:?}");
    assert_eq!(count("/api/v2/processes/7/subprocesses/7/tasks/9").await, 1);

    let err = client.workflows().start(128).await.unwrap_err();
    assert!(err.is_in_doubt(), "{err:?}");
    assert_eq!(count("/api/v2/draftprocesses/56").await, 1);

    let err = client
        .raw()
        .put("api/v2/nodes/5")
        .unsafe_to_repeat()
        .send()
        .await
        .unwrap_err();
    assert!(err.is_in_doubt(), "{err:?}");
    assert_eq!(count("/api/v2/nodes/5").await, 1);
    // A plain PUT (a rename) is idempotent: repeated, and never in doubt.
    let err = client.nodes().rename(5, "x").await.unwrap_err();
    assert!(!err.is_in_doubt(), "{err:?}");
    assert_eq!(count("/api/v2/nodes/5").await, 4);
}

/// A JSON answer of the wrong shape to a read is not in doubt (nothing could have been done);
/// to a write it is (the server answered 200: it acted, but what it made is unknown).
#[tokio::test]
async fn a_wrong_shape_is_in_doubt_only_for_a_write() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": "not a node"})))
        .mount(&server)
        .await;
    let client = ticket_client(&server, "", "T1");
    let read = client.nodes().get(5).await.unwrap_err();
    assert_eq!(read.kind(), ErrorKind::Decode, "{read:?}");
    assert!(!read.is_in_doubt());
    let write = client.nodes().create_folder(5, "x").await.unwrap_err();
    assert_eq!(write.kind(), ErrorKind::Decode, "{write:?}");
    assert!(write.is_in_doubt());
}
