//! Bad server answers, table-driven: truncated and malformed JSON, HTML error pages from a
//! proxy, absurd sizes, a missing or broken `Dropbox-API-Result`, and a wrong content hash.
//! Each is a typed error naming the route (never a panic, never a success that drops data),
//! with the kind a retry policy and the bridge act on.

use bytes::Bytes;
use dropbox_client::{ContentHasher, ErrorKind, RetryPolicy};
use futures::TryStreamExt;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::common::{client_with, server};

fn once() -> RetryPolicy {
    RetryPolicy::default().max_attempts(1)
}

const META: &str = r#"{".tag":"file","name":"Report.pdf","id":"id:a4ayc_80_OEAAAAAAAAAXw","client_modified":"2015-05-12T15:50:38Z","server_modified":"2015-05-12T15:50:38Z","rev":"a1c10ce0dd78","size":7212,"path_lower":"/docs/report.pdf","path_display":"/Docs/Report.pdf"}"#;

const PROXY_502: &str = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";

fn html(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "text/html")
}

fn json(status: u16, body: impl Into<Vec<u8>>) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.into(), "application/json")
}

/// (case, answer, expected kind).
fn rpc_cases() -> Vec<(String, ResponseTemplate, ErrorKind)> {
    use ErrorKind::*;
    let mut cases: Vec<(String, ResponseTemplate, ErrorKind)> = Vec::new();
    // A good answer cut anywhere is a decode error.
    for cut in [
        0,
        1,
        2,
        10,
        40,
        100,
        150,
        200,
        META.len() - 2,
        META.len() - 1,
    ] {
        cases.push((
            format!("truncated at {cut}"),
            json(200, &META.as_bytes()[..cut]),
            Decode,
        ));
    }
    let with = |from: &str, to: &str| META.replace(from, to);
    for (case, body) in [
        ("null", "null".to_owned()),
        ("an array", "[]".into()),
        ("an empty object", "{}".into()),
        ("a string", "\"ok\"".into()),
        ("an unknown tag", r#"{".tag":"symlink","name":"x"}"#.into()),
        ("no tag", META.replacen(r#"".tag":"file","#, "", 1)),
        ("size as text", with("7212", "\"7212\"")),
        ("negative size", with("7212", "-1")),
        ("size beyond u64", with("7212", "18446744073709551616")),
        ("fractional size", with("7212", "72.5")),
        ("size 1e30", with("7212", "1e30")),
        (
            "bad date",
            with("2015-05-12T15:50:38Z\",\"server", "yesterday\",\"server"),
        ),
        ("id not text", with("\"id:a4ayc_80_OEAAAAAAAAAXw\"", "42")),
        ("trailing garbage", format!("{META}xyz")),
        ("two objects", format!("{META}{META}")),
        (
            "not UTF-8",
            "{\"name\":\"\u{fffd}\"}".replace('\u{fffd}', "\\xff"),
        ),
        (
            "nested too deep",
            format!("{}{}", "[".repeat(200), "]".repeat(200)),
        ),
    ] {
        cases.push((case.to_owned(), json(200, body), Decode));
    }
    cases.push((
        "raw 0xff bytes".into(),
        json(200, vec![0xff, 0xfe, 0x00]),
        Decode,
    ));
    cases.push(("HTML with status 200".into(), html(200, PROXY_502), Decode));
    cases.push((
        "text with status 200".into(),
        ResponseTemplate::new(200).set_body_string("OK"),
        Decode,
    ));
    // Error answers that are not Dropbox's JSON keep the page's text and a usable kind.
    for (case, answer, kind) in [
        (
            "500 HTML",
            html(500, "<h1>Internal Server Error</h1>"),
            Unavailable,
        ),
        ("502 proxy page", html(502, PROXY_502), Unavailable),
        (
            "503 text",
            ResponseTemplate::new(503).set_body_string("Service Unavailable"),
            Unavailable,
        ),
        ("504 empty", ResponseTemplate::new(504), Unavailable),
        (
            "429 HTML, no Retry-After",
            html(429, "<p>Too Many Requests</p>"),
            RateLimited,
        ),
        (
            "401 HTML",
            html(401, "<p>Unauthorized</p>"),
            Unauthenticated,
        ),
        ("403 HTML", html(403, "<p>Forbidden</p>"), PermissionDenied),
        (
            "400 text",
            ResponseTemplate::new(400)
                .set_body_string("Error in call to API function \"files/get_metadata\": bad"),
            InvalidInput,
        ),
        (
            "409 truncated JSON",
            json(409, r#"{"error_summary":"path/not_fou"#),
            Other,
        ),
        ("409 HTML", html(409, "<p>Conflict</p>"), Other),
        ("409 JSON without error", json(409, "{}"), Other),
        (
            "409 error not an object",
            json(409, r#"{"error_summary":"x","error":7}"#),
            Other,
        ),
    ] {
        cases.push((case.to_owned(), answer, kind));
    }
    cases
}

#[tokio::test]
async fn malformed_answers_are_typed_errors_naming_the_route() {
    let server = server().await;
    let c = client_with(&server, once());
    let cases = rpc_cases();
    assert!(cases.len() >= 40, "{}", cases.len());
    for (case, answer, kind) in cases {
        server.reset().await;
        Mock::given(method("POST"))
            .and(path("/2/files/get_metadata"))
            .respond_with(answer)
            .mount(&server)
            .await;
        let err = c
            .files()
            .get_metadata("/Docs/Report.pdf")
            .await
            .expect_err(&case);
        assert_eq!(err.kind(), kind, "{case}: {err}");
        let text = err.to_string();
        assert!(text.contains("files/get_metadata"), "{case}: {text}");
        assert!(
            text.len() < 1000,
            "{case}: the excerpt is bounded: {}",
            text.len()
        );
        if case.contains("proxy page") {
            assert!(text.contains("502 Bad Gateway"), "{case}: {text}");
        }
    }
}

/// Downloads: (case, `Dropbox-API-Result`, body, expected kind; `None` = the bytes come
/// through exactly).
#[tokio::test]
async fn bad_download_answers() {
    let server = server().await;
    let c = client_with(&server, once());
    let body = Bytes::from_static(b"the bytes of the file");
    let good_hash = ContentHasher::hash(&body);
    let meta = |size: &str, hash: &str| {
        META.replace("7212", size).replace(
            r#""path_display":"/Docs/Report.pdf""#,
            &format!(r#""path_display":"/Docs/Report.pdf","content_hash":"{hash}""#),
        )
    };
    let cases: Vec<(&str, Option<String>, Bytes, Option<ErrorKind>)> = vec![
        ("good", Some(meta("21", &good_hash)), body.clone(), None),
        (
            "no API-Result header",
            None,
            body.clone(),
            Some(ErrorKind::Decode),
        ),
        (
            "API-Result truncated",
            Some(meta("21", &good_hash)[..50].to_owned()),
            body.clone(),
            Some(ErrorKind::Decode),
        ),
        (
            "API-Result not JSON",
            Some("<html>".into()),
            body.clone(),
            Some(ErrorKind::Decode),
        ),
        (
            "API-Result absurd size",
            Some(meta("18446744073709551616", &good_hash)),
            body.clone(),
            Some(ErrorKind::Decode),
        ),
        (
            "API-Result negative size",
            Some(meta("-21", &good_hash)),
            body.clone(),
            Some(ErrorKind::Decode),
        ),
        (
            "wrong content hash",
            Some(meta("21", &"0".repeat(64))),
            body.clone(),
            Some(ErrorKind::ContentMismatch),
        ),
        (
            "content hash of other bytes",
            Some(meta("21", &ContentHasher::hash(b"other"))),
            body.clone(),
            Some(ErrorKind::ContentMismatch),
        ),
        (
            "hash not hex",
            Some(meta("21", "zz")),
            body.clone(),
            Some(ErrorKind::ContentMismatch),
        ),
        (
            "body cut short",
            Some(meta("21", &good_hash)),
            body.slice(..10),
            Some(ErrorKind::Unavailable),
        ),
        (
            "empty body for a file",
            Some(meta("21", &good_hash)),
            Bytes::new(),
            Some(ErrorKind::Unavailable),
        ),
        (
            "empty file",
            Some(meta("0", &ContentHasher::hash(b""))),
            Bytes::new(),
            None,
        ),
    ];
    for (case, header, bytes, want) in cases {
        server.reset().await;
        let mut answer =
            ResponseTemplate::new(200).set_body_raw(bytes.to_vec(), "application/octet-stream");
        if let Some(h) = &header {
            answer = answer.insert_header("Dropbox-API-Result", h.as_str());
        }
        Mock::given(method("POST"))
            .and(path("/2/files/download"))
            .respond_with(answer)
            .mount(&server)
            .await;
        let got = match c.files().download("/Docs/Report.pdf").await {
            Ok(d) => d
                .into_stream()
                .try_collect::<Vec<Bytes>>()
                .await
                .map(|v| Bytes::from(v.concat())),
            Err(e) => Err(e),
        };
        match (got, want) {
            (Ok(read), None) => assert_eq!(read, bytes, "{case}"),
            (Err(e), Some(kind)) => {
                assert_eq!(e.kind(), kind, "{case}: {e}");
                assert!(e.to_string().contains("files/download"), "{case}: {e}");
            }
            (got, want) => panic!("{case}: got {got:?}, want {want:?}"),
        }
    }
}
