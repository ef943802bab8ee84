//! Bad server answers, table-driven: truncated and malformed JSON, HTML error pages (the
//! server's own and a proxy's), absurd sizes and ids, broken collections and paging. Each is a
//! typed error naming the call (never a panic, never a listing that silently loses items),
//! with the kind a retry policy and the bridge act on.

mod common;

use common::*;
use contentserver_client::{Client, Credentials, ErrorKind};
use futures::TryStreamExt;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const NODE: &str = r#"{"results":{"data":{"properties":{"id":5,"parent_id":2000,"name":"Report.pdf","type":144,"size":7212,"modify_date":"2025-01-18T12:33:27"}}}}"#;

fn html(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "text/html")
}

fn json(status: u16, body: impl Into<Vec<u8>>) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.into(), "application/json")
}

fn client(server: &MockServer) -> Client {
    Client::builder(server.uri())
        .credentials(Credentials::Ticket("T1".into()))
        .retry_policy(fast_retry(1))
        .build()
        .unwrap()
}

/// (case, answer to `GET api/v2/nodes/5`, expected kind).
fn node_cases() -> Vec<(String, ResponseTemplate, ErrorKind)> {
    use ErrorKind::*;
    let mut cases = Vec::new();
    for cut in [1, 2, 12, 30, 60, 100, NODE.len() - 3, NODE.len() - 1] {
        cases.push((
            format!("truncated at {cut}"),
            json(200, &NODE.as_bytes()[..cut]),
            Decode,
        ));
    }
    let with = |from: &str, to: &str| NODE.replace(from, to);
    for (case, body) in [
        ("no results", "{}".to_owned()),
        ("results null", r#"{"results":null}"#.into()),
        ("results a number", r#"{"results":3}"#.into()),
        ("no data", r#"{"results":{}}"#.into()),
        ("no properties", r#"{"results":{"data":{}}}"#.into()),
        (
            "properties a list",
            r#"{"results":{"data":{"properties":[]}}}"#.into(),
        ),
        (
            "two results",
            format!(
                r#"{{"results":[{0},{0}]}}"#,
                r#"{"data":{"properties":{"id":5}}}"#
            ),
        ),
        (
            "type as text",
            with(r#""type":144"#, r#""type":"document""#),
        ),
        (
            "name a number",
            with(r#""name":"Report.pdf""#, r#""name":{"en":"x"}"#),
        ),
        ("trailing garbage", format!("{NODE}}}")),
        ("an array", "[]".into()),
        ("a string", "\"ok\"".into()),
    ] {
        cases.push((case.to_owned(), json(200, body), Decode));
    }
    cases.push(("raw 0xff bytes".into(), json(200, vec![0xff, 0xfe]), Decode));
    cases.push((
        "HTML login page with status 200".into(),
        html(
            200,
            "<html><body><form action=\"login\">Log in</form></body></html>",
        ),
        Decode,
    ));
    for (case, answer, kind) in [
        (
            "error in a 200 body",
            json(200, r#"{"error":"Invalid node id"}"#),
            Other,
        ),
        (
            "500 HTML",
            html(500, "<h1>Internal Server Error</h1>"),
            Other,
        ),
        (
            "500 HTML try again",
            html(500, "<p>The server is busy. Please try again later.</p>"),
            Unavailable,
        ),
        (
            "502 proxy page",
            html(502, "<html><title>502 Bad Gateway</title></html>"),
            Unavailable,
        ),
        (
            "503 text",
            ResponseTemplate::new(503).set_body_string("Service Unavailable"),
            Unavailable,
        ),
        ("504 empty", ResponseTemplate::new(504), Unavailable),
        (
            "401 HTML",
            html(401, "<p>Unauthorized</p>"),
            Unauthenticated,
        ),
        ("403 HTML", html(403, "<p>Forbidden</p>"), PermissionDenied),
        ("404 HTML", html(404, "<p>Not Found</p>"), NotFound),
        (
            "400 truncated JSON",
            json(400, r#"{"error":"Bad req"#),
            InvalidInput,
        ),
        (
            "429 no Retry-After",
            html(429, "<p>slow down</p>"),
            RateLimited,
        ),
    ] {
        cases.push((case.to_owned(), answer, kind));
    }
    cases
}

#[tokio::test]
async fn malformed_answers_are_typed_errors_naming_the_call() {
    let server = MockServer::start().await;
    let c = client(&server);
    let cases = node_cases();
    assert!(cases.len() >= 30, "{}", cases.len());
    for (case, answer, kind) in cases {
        use ErrorKind::Unauthenticated;
        server.reset().await;
        Mock::given(method("GET"))
            .and(path("/api/v2/nodes/5"))
            .respond_with(answer)
            .mount(&server)
            .await;
        let err = c.nodes().get(5).await.expect_err(&case);
        assert_eq!(err.kind(), kind, "{case}: {err}");
        let text = err.to_string();
        // A rejected ticket names the login it cannot redo; everything else the call.
        let call = if kind == Unauthenticated {
            "OTCSTicket"
        } else {
            "api/v2/nodes/5"
        };
        assert!(text.contains(call), "{case}: {text}");
        assert!(text.len() < 1000, "{case}: bounded: {}", text.len());
    }
}

/// Values that decode but are absurd: kept as the server said them or refused, never turned
/// into something else.
#[tokio::test]
async fn absurd_values_decode_or_fail_never_wrap() {
    let server = MockServer::start().await;
    let c = client(&server);
    for (case, size, want) in [
        ("size u64::MAX as text", r#""18446744073709551615""#, None),
        ("size i64::MAX", "9223372036854775807", Some(i64::MAX)),
        ("size negative, kept as said", "-5", Some(-5)),
        ("size as text", r#""7212""#, Some(7212)),
        ("size fractional", "72.5", Some(72)),
        ("size empty text", r#""""#, None),
        ("size null", "null", None),
    ] {
        server.reset().await;
        Mock::given(method("GET"))
            .and(path("/api/v2/nodes/5"))
            .respond_with(json(200, NODE.replace("7212", size)))
            .mount(&server)
            .await;
        let node = c
            .nodes()
            .get(5)
            .await
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(node.size, want, "{case}");
    }
}

/// A children page whose items are broken must not lose them quietly.
#[tokio::test]
async fn broken_collection_pages() {
    use ErrorKind::*;
    let server = MockServer::start().await;
    let c = client(&server);
    let item = |id: &str| {
        format!(
            r#"{{"data":{{"properties":{{"id":{id},"name":"n{id}","type":144,"parent_id":5}}}}}}"#
        )
    };
    let cases: Vec<(&str, String, Result<usize, ErrorKind>)> = vec![
        (
            "good",
            format!(r#"{{"results":[{},{}]}}"#, item("1"), item("2")),
            Ok(2),
        ),
        ("empty list", r#"{"results":[]}"#.into(), Ok(0)),
        (
            "results an object",
            r#"{"results":{"a":1}}"#.into(),
            Err(Decode),
        ),
        (
            "item without data",
            format!(r#"{{"results":[{},{{}}]}}"#, item("1")),
            Ok(1),
        ),
        (
            "item properties a string",
            format!(
                r#"{{"results":[{},{{"data":{{"properties":"x"}}}}]}}"#,
                item("1")
            ),
            Err(Decode),
        ),
        (
            "paging a string",
            format!(
                r#"{{"results":[{}],"collection":{{"paging":"p"}}}}"#,
                item("1")
            ),
            Err(Decode),
        ),
        (
            "truncated page",
            format!(r#"{{"results":[{},{}"#, item("1"), item("2")),
            Err(Decode),
        ),
        ("HTML page", "<html>maintenance</html>".into(), Err(Decode)),
    ];
    for (case, body, want) in cases {
        server.reset().await;
        Mock::given(method("GET"))
            .and(path("/api/v2/nodes/5/nodes"))
            .respond_with(json(200, body))
            .mount(&server)
            .await;
        let got = c
            .nodes()
            .children(5)
            .into_stream()
            .try_collect::<Vec<_>>()
            .await;
        match (got, want) {
            (Ok(items), Ok(n)) => assert_eq!(items.len(), n, "{case}"),
            (Err(e), Err(kind)) => {
                assert_eq!(e.kind(), kind, "{case}: {e}");
                assert!(
                    e.to_string().contains("api/v2/nodes/5/nodes"),
                    "{case}: {e}"
                );
            }
            (got, want) => panic!("{case}: got {got:?}, want {want:?}"),
        }
    }
}
