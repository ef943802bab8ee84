//! Dropbox emulator over raw HTTP: uploads, write modes, sessions and their offsets, concurrent
//! sessions, batch commits, content hashes and downloads.

mod dropbox_support;

use dropbox_support::{content_hash, Db, TOKEN};
use reqwest::StatusCode;
use sandbox::{SandboxConfig, Seed};
use serde_json::json;

const MIB4: usize = 4 * 1024 * 1024;

async fn empty() -> Db {
    Db::with(SandboxConfig::new().seed(Seed::Empty)).await
}

#[tokio::test]
async fn upload_download_round_trip_and_ranges() {
    let db = empty().await;
    let data: Vec<u8> = (0..MIB4 + 1).map(|i| (i % 251) as u8).collect();
    let meta = db
        .upload(
            "files/upload",
            json!({"path": "/Big/Blob.bin", "client_modified": "2024-02-03T04:05:06Z",
                   "content_hash": content_hash(&data)}),
            data.clone(),
        )
        .await;
    assert_eq!(meta.headers["content-type"], "application/json");
    let meta = meta.ok();
    assert!(meta.get(".tag").is_none(), "upload results carry no .tag");
    assert_eq!(meta["size"], MIB4 + 1);
    assert_eq!(meta["content_hash"], content_hash(&data));
    assert_eq!(meta["client_modified"], "2024-02-03T04:05:06Z");
    assert_eq!(meta["path_display"], "/Big/Blob.bin");

    let (status, result, body) = db.get("/big/blob.BIN").await;
    assert_eq!(status, 200);
    assert_eq!(result["rev"], meta["rev"]);
    assert_eq!(body, data);

    // GET with the arg in the query, and a Range.
    let r = db
        .http
        .get(format!("{}/2/files/download", db.url))
        .query(&[("arg", json!({"path": "/Big/Blob.bin"}).to_string())])
        .bearer_auth(TOKEN)
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[10..20]);

    // Empty and one-byte files.
    for content in [&b""[..], &b"x"[..]] {
        let m = db.put("/Small.bin", content).await;
        assert_eq!(m["content_hash"], content_hash(content));
        let (_, _, body) = db.get("/Small.bin").await;
        assert_eq!(body, content);
        db.rpc("files/delete_v2", json!({"path": "/Small.bin"}))
            .await
            .ok();
    }

    // A folder is not downloadable; a wrong hash is refused.
    let (status, _, _) = db.get("/Big").await;
    assert_eq!(status, StatusCode::CONFLICT);
    db.upload(
        "files/upload",
        json!({"path": "/h.txt", "content_hash": content_hash(b"other")}),
        b"data".to_vec(),
    )
    .await
    .conflict("content_hash_mismatch");

    // Non-ASCII names travel header-safe.
    let name = "/Caf\u{e9} \u{1f600}.txt";
    let m = db.put(name, b"emoji").await;
    assert_eq!(m["name"], "Caf\u{e9} \u{1f600}.txt");
    let (status, result, _) = db.get(name).await;
    assert_eq!(status, 200);
    assert_eq!(result["name"], "Caf\u{e9} \u{1f600}.txt");
}

#[tokio::test]
async fn write_modes_conflicts_and_autorename() {
    let db = empty().await;
    let first = db.put("/Doc.txt", b"one").await;
    // Identical content: no conflict, nothing new.
    let same = db.put("/doc.txt", b"one").await;
    assert_eq!(same["rev"], first["rev"]);

    let err = db
        .upload("files/upload", json!({"path": "/Doc.txt"}), b"two".to_vec())
        .await
        .conflict("path/conflict/file");
    assert_eq!(err["reason"]["conflict"][".tag"], "file");
    assert!(err["upload_session_id"].is_string());

    let renamed = db
        .upload(
            "files/upload",
            json!({"path": "/Doc.txt", "autorename": true}),
            b"two".to_vec(),
        )
        .await
        .ok();
    assert_eq!(renamed["name"], "Doc (2).txt");

    // update: matching rev replaces, stale rev conflicts or gets a conflicted copy.
    let updated = db
        .upload(
            "files/upload",
            json!({"path": "/Doc.txt", "mode": {".tag": "update", "update": first["rev"]}}),
            b"three".to_vec(),
        )
        .await
        .ok();
    assert_eq!(updated["id"], first["id"]);
    db.upload(
        "files/upload",
        json!({"path": "/Doc.txt", "mode": {".tag": "update", "update": first["rev"]}}),
        b"four".to_vec(),
    )
    .await
    .conflict("path/conflict/file");
    let copy = db
        .upload(
            "files/upload",
            json!({"path": "/Doc.txt", "mode": {".tag": "update", "update": first["rev"]}, "autorename": true}),
            b"four".to_vec(),
        )
        .await
        .ok();
    assert_eq!(copy["name"], "Doc (conflicted copy).txt");

    // overwrite always replaces; a folder is always a conflict.
    db.upload(
        "files/upload",
        json!({"path": "/Doc.txt", "mode": "overwrite"}),
        b"five".to_vec(),
    )
    .await
    .ok();
    let (_, _, body) = db.get("/Doc.txt").await;
    assert_eq!(body, b"five");
    db.rpc("files/create_folder_v2", json!({"path": "/Dir"}))
        .await
        .ok();
    db.upload(
        "files/upload",
        json!({"path": "/dir", "mode": "overwrite"}),
        b"x".to_vec(),
    )
    .await
    .conflict("path/conflict/folder");

    // "update" needs a rev: 400.
    let r = db
        .upload(
            "files/upload",
            json!({"path": "/Doc.txt", "mode": "update"}),
            b"x".to_vec(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn sequential_session_offsets_and_close() {
    let db = empty().await;
    let start = db
        .upload(
            "files/upload_session/start",
            json!({"close": false}),
            b"hello ".to_vec(),
        )
        .await
        .ok();
    let id = start["session_id"].as_str().unwrap().to_owned();

    // Wrong offset: incorrect_offset with the correct one.
    let err = db
        .upload(
            "files/upload_session/append_v2",
            json!({"cursor": {"session_id": id, "offset": 0}}),
            b"world".to_vec(),
        )
        .await
        .conflict("incorrect_offset");
    assert_eq!(err["correct_offset"], 6);

    let r = db
        .upload(
            "files/upload_session/append_v2",
            json!({"cursor": {"session_id": id, "offset": 6}, "close": true}),
            b"world".to_vec(),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text, "null");

    db.upload(
        "files/upload_session/append_v2",
        json!({"cursor": {"session_id": id, "offset": 11}}),
        b"more".to_vec(),
    )
    .await
    .conflict("closed");

    let err = db
        .upload(
            "files/upload_session/finish",
            json!({"cursor": {"session_id": id, "offset": 5}, "commit": {"path": "/S.txt"}}),
            Vec::new(),
        )
        .await
        .conflict("lookup_failed/incorrect_offset");
    assert_eq!(err["lookup_failed"]["correct_offset"], 11);

    let meta = db
        .upload(
            "files/upload_session/finish",
            json!({"cursor": {"session_id": id, "offset": 11}, "commit": {"path": "/S.txt"}}),
            Vec::new(),
        )
        .await
        .ok();
    assert_eq!(meta["size"], 11);
    assert_eq!(meta["content_hash"], content_hash(b"hello world"));
    let (_, _, body) = db.get("/S.txt").await;
    assert_eq!(body, b"hello world");

    // The session is gone once finished.
    db.upload(
        "files/upload_session/append_v2",
        json!({"cursor": {"session_id": id, "offset": 11}}),
        b"x".to_vec(),
    )
    .await
    .conflict("not_found");

    // A bad per-request hash leaves the session where it was.
    let s = db
        .upload("files/upload_session/start", json!({}), b"ab".to_vec())
        .await
        .ok()["session_id"]
        .clone();
    db.upload(
        "files/upload_session/append_v2",
        json!({"cursor": {"session_id": s, "offset": 2}, "content_hash": content_hash(b"zz")}),
        b"cd".to_vec(),
    )
    .await
    .conflict("content_hash_mismatch");
    let meta = db
        .upload(
            "files/upload_session/finish",
            json!({"cursor": {"session_id": s, "offset": 2}, "commit": {"path": "/ab.txt"},
                   "content_hash": content_hash(b"cd")}),
            b"cd".to_vec(),
        )
        .await
        .ok();
    assert_eq!(meta["content_hash"], content_hash(b"abcd"));
}

#[tokio::test]
async fn concurrent_sessions_follow_the_4_mib_rule() {
    let db = empty().await;
    db.upload(
        "files/upload_session/start",
        json!({"session_type": "concurrent"}),
        b"data".to_vec(),
    )
    .await
    .conflict("concurrent_session_data_not_allowed");
    db.upload(
        "files/upload_session/start",
        json!({"session_type": {".tag": "concurrent"}, "close": true}),
        Vec::new(),
    )
    .await
    .conflict("concurrent_session_close_not_allowed");
    let id = db
        .upload(
            "files/upload_session/start",
            json!({"session_type": "concurrent"}),
            Vec::new(),
        )
        .await
        .ok()["session_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let data: Vec<u8> = (0..2 * MIB4 + 100).map(|i| (i % 253) as u8).collect();
    db.upload(
        "files/upload_session/append_v2",
        json!({"cursor": {"session_id": id, "offset": 10}}),
        data[..MIB4].to_vec(),
    )
    .await
    .conflict("concurrent_session_invalid_offset");
    db.upload(
        "files/upload_session/append_v2",
        json!({"cursor": {"session_id": id, "offset": 0}}),
        data[..100].to_vec(),
    )
    .await
    .conflict("concurrent_session_invalid_data_size");

    // Pieces out of order; the last one closes.
    db.upload(
        "files/upload_session/append_v2",
        json!({"cursor": {"session_id": id, "offset": 2 * MIB4}, "close": true}),
        data[2 * MIB4..].to_vec(),
    )
    .await
    .ok();
    db.upload(
        "files/upload_session/finish",
        json!({"cursor": {"session_id": id, "offset": data.len()}, "commit": {"path": "/C.bin"}}),
        Vec::new(),
    )
    .await
    .conflict("concurrent_session_missing_data");
    for offset in [MIB4, 0] {
        db.upload(
            "files/upload_session/append_v2",
            json!({"cursor": {"session_id": id, "offset": offset}}),
            data[offset..offset + MIB4].to_vec(),
        )
        .await
        .ok();
    }
    let meta = db
        .upload(
            "files/upload_session/finish",
            json!({"cursor": {"session_id": id, "offset": data.len()}, "commit": {"path": "/C.bin"}}),
            Vec::new(),
        )
        .await
        .ok();
    assert_eq!(meta["content_hash"], content_hash(&data));
    let (_, _, body) = db.get("/C.bin").await;
    assert_eq!(body, data);
}

#[tokio::test]
async fn finish_batch_v2_and_v1_check() {
    let db = empty().await;
    let mut entries = Vec::new();
    for i in 0..3 {
        let content = format!("batch file {i}");
        let id = db
            .upload(
                "files/upload_session/start",
                json!({"close": i != 2}),
                content.into_bytes(),
            )
            .await
            .ok()["session_id"]
            .clone();
        entries.push(json!({
            "cursor": {"session_id": id, "offset": 12},
            "commit": {"path": format!("/Batch/f{i}.txt"), "mode": "overwrite"},
        }));
    }
    let result = db
        .rpc(
            "files/upload_session/finish_batch_v2",
            json!({"entries": entries}),
        )
        .await
        .ok();
    let out = result["entries"].as_array().unwrap();
    assert_eq!(out[0][".tag"], "success");
    assert_eq!(out[0]["path_display"], "/Batch/f0.txt");
    assert_eq!(out[1][".tag"], "success");
    assert_eq!(out[2][".tag"], "failure");
    assert_eq!(
        out[2]["failure"],
        json!({".tag": "lookup_failed", "lookup_failed": {".tag": "not_closed"}})
    );

    // v1 answers with a job id that check completes.
    let id = db
        .upload(
            "files/upload_session/start",
            json!({"close": true}),
            b"v1".to_vec(),
        )
        .await
        .ok()["session_id"]
        .clone();
    let job = db
        .rpc(
            "files/upload_session/finish_batch",
            json!({"entries": [{"cursor": {"session_id": id, "offset": 2}, "commit": {"path": "/v1.txt"}}]}),
        )
        .await
        .ok();
    assert_eq!(job[".tag"], "async_job_id");
    let done = db
        .rpc(
            "files/upload_session/finish_batch/check",
            json!({"async_job_id": job["async_job_id"]}),
        )
        .await
        .ok();
    assert_eq!(done[".tag"], "complete");
    assert_eq!(done["entries"][0]["name"], "v1.txt");
}

#[tokio::test]
async fn chunked_bodies_and_single_request_limit() {
    let db = empty().await;
    // A chunked body (no Content-Length) is accepted.
    let stream = futures::stream::iter(
        (0..4).map(|i| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![i as u8; 1000]))),
    );
    let meta = db
        .upload(
            "files/upload",
            json!({"path": "/chunked.bin"}),
            reqwest::Body::wrap_stream(stream),
        )
        .await
        .ok();
    assert_eq!(meta["size"], 4000);

    // Over 150 MiB declared: payload_too_large (the body is read, not reset).
    let r = db
        .http
        .post(format!("{}/2/files/upload", db.url))
        .bearer_auth(TOKEN)
        .header("content-type", "application/octet-stream")
        .header("dropbox-api-arg", json!({"path": "/huge.bin"}).to_string())
        .body(vec![0u8; 150 * 1024 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("payload_too_large"));
}
