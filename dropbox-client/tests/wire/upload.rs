//! Uploads: single calls, sessions with offsets, `incorrect_offset` recovery, hash checks,
//! batch commits, and full bodies on retry.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use dropbox_client::models::files::{CommitInfo, WriteMode};
use dropbox_client::{ContentHasher, Error, ErrorKind};
use futures::stream;
use serde_json::{json, Value};
use wiremock::matchers::path_regex;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::common::*;

const MIB: usize = 1024 * 1024;

/// A small, stateful stand-in for Dropbox's upload sessions: it checks offsets, keeps a hash of
/// the bytes in order, and records the calls it saw.
#[derive(Clone, Default)]
struct Sessions {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    sessions: Vec<Session>,
    calls: Vec<(String, u64, usize)>, // (route, offset, body length)
    fail_next_append_after_applying: bool,
    wrong_hash: bool,
}

struct Session {
    received: u64,
    hasher: Option<ContentHasher>,
    closed: bool,
}

impl Sessions {
    fn calls(&self) -> Vec<(String, u64, usize)> {
        self.state.lock().unwrap().calls.clone()
    }
}

fn finish_meta(st: &mut State, id: usize, commit: &Value) -> Value {
    let s = &mut st.sessions[id];
    let hash = s.hasher.take().unwrap().finish();
    let hash = if st.wrong_hash { "0".repeat(64) } else { hash };
    file_json(
        commit["path"].as_str().unwrap(),
        "015f1a2b3c4d",
        s.received,
        Some(&hash),
    )
}

impl Respond for Sessions {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let route = req.url.path().trim_start_matches("/2/").to_owned();
        let mut st = self.state.lock().unwrap();
        let arg: Value = if route.ends_with("finish_batch_v2") {
            serde_json::from_slice(&req.body).unwrap()
        } else {
            arg_of(req)
        };
        let offset = arg["cursor"]["offset"].as_u64().unwrap_or(0);
        st.calls.push((route.clone(), offset, req.body.len()));
        let close = arg["close"].as_bool().unwrap_or(false);
        match route.as_str() {
            "files/upload_session/start" => {
                let mut hasher = ContentHasher::new();
                hasher.update(&req.body);
                st.sessions.push(Session {
                    received: req.body.len() as u64,
                    hasher: Some(hasher),
                    closed: close,
                });
                json_body(json!({"session_id": format!("s{}", st.sessions.len() - 1)}))
            }
            "files/upload_session/append_v2" | "files/upload_session/finish" => {
                let id: usize = arg["cursor"]["session_id"].as_str().unwrap()[1..]
                    .parse()
                    .unwrap();
                let received = st.sessions[id].received;
                if offset != received {
                    return error_409(
                        "incorrect_offset/..",
                        json!({".tag": "incorrect_offset", "correct_offset": received}),
                    );
                }
                let s = &mut st.sessions[id];
                s.hasher.as_mut().unwrap().update(&req.body);
                s.received += req.body.len() as u64;
                s.closed |= close;
                if route.ends_with("finish") {
                    let meta = finish_meta(&mut st, id, &arg["commit"]);
                    return json_body(meta);
                }
                if std::mem::take(&mut st.fail_next_append_after_applying) {
                    // The data landed but the answer is lost.
                    return ResponseTemplate::new(503);
                }
                json_body(Value::Null)
            }
            "files/upload_session/finish_batch_v2" => {
                let mut entries = Vec::new();
                for e in arg["entries"].as_array().unwrap() {
                    let id: usize = e["cursor"]["session_id"].as_str().unwrap()[1..]
                        .parse()
                        .unwrap();
                    if !st.sessions[id].closed
                        || st.sessions[id].received != e["cursor"]["offset"].as_u64().unwrap()
                    {
                        entries.push(json!({".tag": "failure", "failure": {".tag": "lookup_failed", "lookup_failed": {".tag": "not_closed"}}}));
                        continue;
                    }
                    let mut meta = finish_meta(&mut st, id, &e["commit"]);
                    meta[".tag"] = json!("success");
                    entries.push(meta);
                }
                json_body(json!({"entries": entries}))
            }
            other => ResponseTemplate::new(400).set_body_string(format!("unexpected {other}")),
        }
    }
}

async fn session_server() -> (MockServer, Sessions) {
    let server = MockServer::builder()
        .disable_request_recording()
        .start()
        .await;
    let sessions = Sessions::default();
    Mock::given(path_regex("^/2/files/upload_session/"))
        .respond_with(sessions.clone())
        .mount(&server)
        .await;
    (server, sessions)
}

/// `total` bytes in pieces of `piece`, a different byte value per piece.
fn generated(
    total: usize,
    piece: usize,
) -> impl futures::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    stream::iter((0..total.div_ceil(piece)).map(move |i| {
        let len = piece.min(total - i * piece);
        Ok(Bytes::from(vec![(i % 251) as u8; len]))
    }))
}

fn expected_hash(total: usize, piece: usize) -> String {
    let mut h = ContentHasher::new();
    for i in 0..total.div_ceil(piece) {
        h.update(&vec![(i % 251) as u8; piece.min(total - i * piece)]);
    }
    h.finish()
}

#[tokio::test]
async fn a_300_mib_stream_goes_through_a_session_with_the_right_offsets() {
    let (server, sessions) = session_server().await;
    let c = client(&server);
    let total = 300 * MIB;
    let meta = c
        .files()
        .upload(
            CommitInfo::new("/big.bin").mode(WriteMode::Overwrite),
            generated(total, 3 * MIB + 17),
        )
        .await
        .unwrap();
    assert_eq!(meta.size, total as u64);
    assert_eq!(
        meta.content_hash.as_deref(),
        Some(expected_hash(total, 3 * MIB + 17).as_str())
    );
    let calls = sessions.calls();
    let chunk = 8 * MIB;
    assert_eq!(calls[0], ("files/upload_session/start".into(), 0, chunk));
    let appends: Vec<_> = calls
        .iter()
        .filter(|c| c.0.ends_with("append_v2"))
        .collect();
    assert_eq!(appends.len(), 37);
    for (i, a) in appends.iter().enumerate() {
        assert_eq!(a.1, ((i + 1) * chunk) as u64);
        assert_eq!(a.2, if i == 36 { 4 * MIB } else { chunk });
    }
    assert_eq!(
        calls.last().unwrap(),
        &("files/upload_session/finish".into(), total as u64, 0)
    );
}

#[tokio::test]
async fn a_lost_append_answer_is_recovered_from_incorrect_offset() {
    let (server, sessions) = session_server().await;
    sessions
        .state
        .lock()
        .unwrap()
        .fail_next_append_after_applying = true;
    let c = client(&server);
    let total = 20 * MIB + 5;
    let meta = c
        .files()
        .upload("/r.bin", generated(total, MIB))
        .await
        .unwrap();
    assert_eq!(meta.size, total as u64);
    let appends: Vec<_> = sessions
        .calls()
        .into_iter()
        .filter(|c| c.0.ends_with("append_v2"))
        .collect();
    // 8 MiB at 8 MiB (applied, 503) → again at 8 MiB (incorrect_offset: 16 MiB) → 4 MiB+5 at 16 MiB.
    assert_eq!(
        appends.iter().map(|a| a.1).collect::<Vec<_>>(),
        [8 * MIB as u64, 8 * MIB as u64, 16 * MIB as u64]
    );
}

#[tokio::test]
async fn a_wrong_server_hash_fails_the_upload() {
    let (server, sessions) = session_server().await;
    sessions.state.lock().unwrap().wrong_hash = true;
    let c = client(&server);
    let e = c
        .files()
        .upload("/h.bin", generated(9 * MIB, MIB))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ContentMismatch);
    assert!(matches!(e, Error::ContentHashMismatch { .. }));
}

#[tokio::test]
async fn small_content_is_one_upload_call_with_its_hash() {
    let server = server().await;
    Mock::given(wiremock::matchers::path("/2/files/upload"))
        .respond_with(|req: &Request| {
            let arg = arg_of(req);
            assert_eq!(arg["content_hash"], json!(ContentHasher::hash(&req.body)));
            json_body(file_json(
                "/s.txt",
                "a1c10ce0dd78",
                req.body.len() as u64,
                Some(&ContentHasher::hash(&req.body)),
            ))
        })
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    let meta = c.files().upload("/s.txt", generated(0, 1)).await.unwrap();
    assert_eq!(meta.size, 0);
}

#[tokio::test]
async fn a_retried_upload_resends_every_byte() {
    let server = server().await;
    // A 503 with Retry-After says the server did nothing: even a write is repeated.
    Mock::given(wiremock::matchers::path("/2/files/upload"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::path("/2/files/upload"))
        .respond_with(|req: &Request| {
            json_body(file_json(
                "/r.txt",
                "a1c10ce0dd78",
                req.body.len() as u64,
                Some(&ContentHasher::hash(&req.body)),
            ))
        })
        .mount(&server)
        .await;
    let c = client(&server);
    let data = vec![7u8; MIB + 3];
    c.files()
        .upload("/r.txt", generated(MIB + 3, 1000))
        .await
        .unwrap();
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 2);
    assert!(
        reqs.iter().all(|r| r.body.len() == data.len()),
        "both tries carry the whole body"
    );
    assert_eq!(reqs[0].body, reqs[1].body);
}

/// `files/upload` is not idempotent (in add mode a repeat could make a second copy): after a
/// status that does not prove the server did nothing, the error comes back in doubt, unrepeated.
#[tokio::test]
async fn an_upload_is_not_repeated_after_a_gateway_error() {
    for status in [500, 502, 503, 504] {
        let server = server().await;
        Mock::given(wiremock::matchers::path("/2/files/upload"))
            .respond_with(ResponseTemplate::new(status))
            .mount(&server)
            .await;
        let err = client(&server)
            .files()
            .upload("/r.txt", generated(1000, 1000))
            .await
            .unwrap_err();
        assert_eq!(
            server.received_requests().await.unwrap().len(),
            1,
            "{status}"
        );
        assert!(err.is_in_doubt(), "{status}: {err:?}");
        assert!(!err.is_retryable(), "{status}");
    }
}

#[tokio::test]
async fn a_batch_commits_closed_sessions_together() {
    let (server, sessions) = session_server().await;
    let c = client(&server);
    let items: Vec<_> = [
        (5usize, "/b/one.txt"),
        (8 * MIB, "/b/two.bin"),
        (9 * MIB + 1, "/b/three.bin"),
    ]
    .into_iter()
    .map(|(n, p)| (CommitInfo::new(p), generated(n, 4096)))
    .collect();
    let results = c.files().upload_batch(items).await.unwrap();
    let sizes: Vec<u64> = results.into_iter().map(|r| r.unwrap().size).collect();
    assert_eq!(sizes, [5, 8 * MIB as u64, 9 * MIB as u64 + 1]);
    let calls = sessions.calls();
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.0.ends_with("finish_batch_v2"))
            .count(),
        1
    );
    assert!(calls.iter().all(|c| !c.0.ends_with("/finish")));
}

#[tokio::test]
async fn a_failing_source_is_reported_as_such() {
    let server = server().await;
    let c = client(&server);
    let body = stream::iter(vec![
        Ok(Bytes::from_static(b"partial")),
        Err(std::io::Error::other("disk gone")),
    ]);
    match c.files().upload("/x", body).await.unwrap_err() {
        Error::Source { source, .. } => assert_eq!(source.to_string(), "disk gone"),
        other => panic!("{other:?}"),
    }
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "nothing half-written"
    );
}
