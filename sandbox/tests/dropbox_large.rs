//! A 300 MiB file through an upload session and back, streamed both ways: the test generates
//! the bytes as it sends them and hashes the download as it arrives.

mod dropbox_support;

use bytes::Bytes;
use dropbox_support::{Db, TOKEN};
use futures::StreamExt;
use sandbox::{SandboxConfig, Seed};
use serde_json::json;
use sha2::{Digest, Sha256};

const CHUNK: u64 = 32 * 1024 * 1024;
const TOTAL: u64 = 300 * 1024 * 1024;

/// Deterministic bytes for offsets `start..start+len` (`start` a multiple of 1 MiB): each MiB
/// is a fixed pattern stamped with its index, so no two MiB are alike.
fn generated(start: u64, len: u64) -> impl futures::Stream<Item = std::io::Result<Bytes>> {
    const PIECE: u64 = 1024 * 1024;
    let pattern: Bytes = (0..PIECE)
        .map(|o| (o.wrapping_mul(31) >> 3) as u8)
        .collect();
    futures::stream::iter((0..len.div_ceil(PIECE)).map(move |i| {
        let from = start + i * PIECE;
        let n = PIECE.min(start + len - from) as usize;
        let mut piece = pattern.slice(..n).to_vec();
        let stamp = (from / PIECE).to_le_bytes();
        let k = stamp.len().min(n);
        piece[..k].copy_from_slice(&stamp[..k]);
        Ok(Bytes::from(piece))
    }))
}

/// Dropbox content_hash of the whole generated file, computed the same streaming way.
async fn expected_hash() -> String {
    let mut overall = Sha256::new();
    let mut block = Sha256::new();
    let mut in_block = 0u64;
    let mut s = Box::pin(generated(0, TOTAL));
    while let Some(chunk) = s.next().await {
        let chunk = chunk.unwrap();
        block.update(&chunk);
        in_block += chunk.len() as u64;
        if in_block == 4 * 1024 * 1024 {
            overall.update(std::mem::take(&mut block).finalize());
            in_block = 0;
        }
    }
    if in_block > 0 {
        overall.update(block.finalize());
    }
    hex::encode(overall.finalize())
}

#[tokio::test]
async fn three_hundred_mib_round_trip_through_a_session() {
    let db = Db::with(SandboxConfig::new().seed(Seed::Empty)).await;
    let id = db
        .upload("files/upload_session/start", json!({}), Vec::new())
        .await
        .ok()["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut offset = 0;
    while offset < TOTAL {
        let len = CHUNK.min(TOTAL - offset);
        let r = db
            .upload(
                "files/upload_session/append_v2",
                json!({"cursor": {"session_id": id, "offset": offset}}),
                reqwest::Body::wrap_stream(generated(offset, len)),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        offset += len;
    }
    let meta = db
        .upload(
            "files/upload_session/finish",
            json!({"cursor": {"session_id": id, "offset": TOTAL}, "commit": {"path": "/Big/300.bin"}}),
            Vec::new(),
        )
        .await
        .ok();
    let expected = expected_hash().await;
    assert_eq!(meta["size"], TOTAL);
    assert_eq!(meta["content_hash"], expected);

    // Download, streaming: compare every byte with the generator, never holding the file.
    let r = db
        .http
        .post(format!("{}/2/files/download", db.url))
        .bearer_auth(TOKEN)
        .header(
            "dropbox-api-arg",
            json!({"path": "/big/300.bin"}).to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut body = r.bytes_stream();
    let mut expected_stream = Box::pin(generated(0, TOTAL));
    let mut pending = Bytes::new();
    let mut received = 0u64;
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk.unwrap();
        received += chunk.len() as u64;
        while !chunk.is_empty() {
            if pending.is_empty() {
                pending = expected_stream.next().await.expect("not longer").unwrap();
            }
            let n = pending.len().min(chunk.len());
            assert_eq!(chunk.split_to(n), pending.split_to(n));
        }
    }
    assert_eq!(received, TOTAL);
}
