//! Downloads resume with a `Range` request after a broken body, refuse a changed file, and
//! check the content hash. A raw TCP server breaks bodies on purpose.

use std::sync::{Arc, Mutex};

use dropbox_client::{ContentHasher, Error};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::common::TOKEN;

/// What the fake content server does per request: (status line, rev, body slice).
#[derive(Clone)]
struct Plan {
    body: Arc<Vec<u8>>,
    /// Rev announced on resumed requests (to simulate a change in between).
    resume_rev: &'static str,
    /// Bytes of the first answer actually sent before the connection is closed.
    cut_at: usize,
    /// Whether the announced content hash is wrong.
    wrong_hash: bool,
    ranges_seen: Arc<Mutex<Vec<String>>>,
}

async fn read_head(sock: &mut tokio::net::TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if sock.read(&mut byte).await.unwrap() == 0 {
            break;
        }
        buf.push(byte[0]);
    }
    String::from_utf8(buf).unwrap()
}

async fn serve(plan: Plan) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut first = true;
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let head = read_head(&mut sock).await;
            let range = head.lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("range: bytes=")
                    .map(|r| r.trim_end_matches('-').to_owned())
            });
            let size = plan.body.len();
            let hash = if plan.wrong_hash {
                "f".repeat(64)
            } else {
                ContentHasher::hash(&plan.body)
            };
            let rev = if first {
                "a1c10ce0dd78"
            } else {
                plan.resume_rev
            };
            let meta = format!(
                r#"{{"name":"f.bin","id":"id:f","client_modified":"2015-05-12T15:50:38Z","server_modified":"2015-05-12T15:50:38Z","rev":"{rev}","size":{size},"content_hash":"{hash}"}}"#
            );
            let (status, start) = match &range {
                Some(r) => {
                    plan.ranges_seen.lock().unwrap().push(r.clone());
                    ("206 Partial Content", r.parse::<usize>().unwrap())
                }
                None => ("200 OK", 0),
            };
            let part = &plan.body[start..];
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nDropbox-API-Result: {meta}\r\nConnection: close\r\n\r\n",
                part.len()
            );
            sock.write_all(head.as_bytes()).await.unwrap();
            let send = if first {
                &part[..plan.cut_at.min(part.len())]
            } else {
                part
            };
            let _ = sock.write_all(send).await;
            let _ = sock.shutdown().await;
            first = false;
        }
    });
    url
}

fn client(url: &str) -> dropbox_client::Client {
    let (policy, _) = crate::common::recording_policy();
    dropbox_client::Client::builder()
        .base_url(url.parse().unwrap())
        .access_token(TOKEN)
        .retry_policy(policy)
        .build()
        .unwrap()
}

fn plan(cut_at: usize, resume_rev: &'static str, wrong_hash: bool) -> Plan {
    Plan {
        body: Arc::new((0..3_000_000u32).map(|i| (i % 253) as u8).collect()),
        resume_rev,
        cut_at,
        wrong_hash,
        ranges_seen: Arc::default(),
    }
}

#[tokio::test]
async fn a_broken_body_resumes_with_a_range_request() {
    let p = plan(1_234_567, "a1c10ce0dd78", false);
    let url = serve(p.clone()).await;
    let d = client(&url).files().download("/f.bin").await.unwrap();
    let bytes = d.bytes().await.unwrap();
    assert_eq!(bytes.len(), p.body.len());
    assert!(bytes[..] == p.body[..], "the resumed bytes join up exactly");
    assert_eq!(*p.ranges_seen.lock().unwrap(), ["1234567"]);
}

#[tokio::test]
async fn a_file_changed_in_between_fails_instead_of_mixing_versions() {
    let p = plan(1000, "0b2c3d4e5f60", false);
    let url = serve(p).await;
    let d = client(&url).files().download("/f.bin").await.unwrap();
    let e = d.bytes().await.unwrap_err();
    assert!(e.to_string().contains("changed while downloading"), "{e}");
}

#[tokio::test]
async fn a_wrong_content_hash_fails_the_stream() {
    let p = plan(usize::MAX, "a1c10ce0dd78", true);
    let url = serve(p).await;
    let d = client(&url).files().download("/f.bin").await.unwrap();
    assert!(matches!(
        d.bytes().await.unwrap_err(),
        Error::ContentHashMismatch { .. }
    ));
}

#[tokio::test]
async fn an_unhashed_stream_leaves_the_hash_to_its_caller() {
    use futures::TryStreamExt;
    // The same wrong hash: the unhashed stream delivers the bytes and ends cleanly, so the
    // caller's own hash (the bridge's verification) is the one check.
    let p = plan(usize::MAX, "a1c10ce0dd78", true);
    let url = serve(p.clone()).await;
    let d = client(&url).files().download("/f.bin").await.unwrap();
    let chunks: Vec<bytes::Bytes> = d.into_unhashed_stream().try_collect().await.unwrap();
    assert!(chunks.concat() == p.body[..]);
    // Its length is still checked: a resumed body joins up exactly.
    let p = plan(1_234_567, "a1c10ce0dd78", false);
    let url = serve(p.clone()).await;
    let d = client(&url).files().download("/f.bin").await.unwrap();
    let chunks: Vec<bytes::Bytes> = d.into_unhashed_stream().try_collect().await.unwrap();
    assert!(chunks.concat() == p.body[..]);
}
