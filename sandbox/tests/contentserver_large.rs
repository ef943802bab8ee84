//! Content Server emulator: a 150 MiB upload and download stream through without the process
//! holding the body; 0- and 1-byte documents keep exact lengths. (Own test binary, so the
//! memory measurement sees only this test.)

mod contentserver_support;

use contentserver_support::start;
use futures::StreamExt;
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};

const SIZE: u64 = 150 * 1024 * 1024;
const CHUNK: usize = 256 * 1024;

/// Deterministic, non-repeating-looking bytes of chunk `i`.
fn chunk(i: u64) -> Vec<u8> {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..CHUNK)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn proc_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_upload_and_download_stream_through() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    // Reset the peak-RSS counter where the kernel allows it; fall back to the current RSS.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before = proc_kib("VmRSS:");

    let chunks = SIZE / CHUNK as u64;
    let mut expected = Sha256::new();
    for i in 0..chunks {
        expected.update(chunk(i));
    }
    let expected = expected.finalize();
    let body = reqwest::Body::wrap_stream(
        futures::stream::iter(0..chunks).map(|i| Ok::<_, std::io::Error>(chunk(i))),
    );
    let form = reqwest::multipart::Form::new()
        .text(
            "body",
            serde_json::json!({"type": 144, "parent_id": 2000, "name": "big.bin"}).to_string(),
        )
        .part(
            "file",
            reqwest::multipart::Part::stream_with_length(body, SIZE).file_name("big.bin"),
        );
    let resp = cs
        .req(Method::POST, &t, "/api/v2/nodes")
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, body) = contentserver_support::json(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["results"]["data"]["properties"]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(body["results"]["data"]["properties"]["size"], SIZE);

    let resp = cs
        .req(Method::GET, &t, &format!("/api/v1/nodes/{id}/content"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.content_length(), Some(SIZE));
    let mut got = Sha256::new();
    let mut len = 0u64;
    let mut stream = resp.bytes_stream();
    while let Some(part) = stream.next().await {
        let part = part.unwrap();
        len += part.len() as u64;
        got.update(&part);
    }
    assert_eq!(len, SIZE);
    assert_eq!(got.finalize(), expected);

    if let (Some(before), Some(peak)) = (rss_before, proc_kib("VmHWM:")) {
        let grown_mib = peak.saturating_sub(before) / 1024;
        assert!(
            grown_mib < 64,
            "peak memory grew by {grown_mib} MiB for a 150 MiB body"
        );
    }
}

#[tokio::test]
async fn empty_and_one_byte_documents() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    for bytes in [Vec::new(), vec![7u8]] {
        let name = format!("size{}.bin", bytes.len());
        let id = cs.document(&t, 2000, &name, bytes.clone()).await;
        let (status, len, got) = cs.bytes(&t, &format!("/api/v2/nodes/{id}/content")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(len, Some(bytes.len() as u64));
        assert_eq!(got, bytes);
    }
}
