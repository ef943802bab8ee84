//! `POST /__sandbox/bulk_files`: many small files written straight into the store, for
//! benchmarks that need a large tree (100,000 uploads over HTTP take minutes; this takes
//! seconds). Each file is journalled as an upload would be, so `list_folder` and its cursors
//! see them like any other.
//!
//! Body: `{"namespace": 3000, "root": "/Bench", "files": 100000, "per_folder": 1000,
//! "size": 64}` → `{"files": n, "folders": k}`. File `i` is `{root}/d{i / per_folder:05}/
//! f{i:06}.txt`; its bytes are `file {i}` padded with `.` to `size` (at least the text), so
//! every file's content hash differs. Existing files at those paths are overwritten.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::state::{lower, FileRev, Loc, View};
use super::{wire, App};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkArg {
    namespace: u64,
    root: String,
    files: usize,
    #[serde(default = "default_per_folder")]
    per_folder: usize,
    #[serde(default)]
    size: usize,
}

fn default_per_folder() -> usize {
    1000
}

/// The bytes of bulk file `i`.
fn contents(i: usize, size: usize) -> Vec<u8> {
    let mut text = format!("file {i}\n").into_bytes();
    if text.len() < size {
        text.resize(size, b'.');
    }
    text
}

/// `POST /__sandbox/bulk_files`.
pub(super) async fn bulk_files(State(app): State<App>, body: Bytes) -> Response {
    let bad = |msg: String| wire::json_response(StatusCode::BAD_REQUEST, &json!({"error": msg}));
    let arg: BulkArg = match serde_json::from_slice(&body) {
        Ok(a) => a,
        Err(e) => return bad(format!("invalid bulk_files body: {e}")),
    };
    let root = format!("/{}", arg.root.trim_matches('/'));
    if root == "/" || arg.per_folder == 0 {
        return bad("root must name a folder and per_folder be at least 1".into());
    }
    if !app.store().namespaces.contains_key(&arg.namespace) {
        return bad(format!("unknown namespace {}", arg.namespace));
    }
    // The blobs first, outside the store's lock.
    let mut blobs = Vec::with_capacity(arg.files);
    for i in 0..arg.files {
        match app.blobs.put_bytes(&contents(i, arg.size)) {
            Ok(b) => blobs.push(b),
            Err(e) => {
                return wire::json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &json!({"error": format!("bulk_files: storing file {i}: {e}")}),
                )
            }
        }
    }
    let ns = arg.namespace;
    let now = Utc::now();
    let written = app.mutate(|store| {
        for (i, (blob, received)) in blobs.into_iter().enumerate() {
            let display = format!("{root}/d{:05}/f{i:06}.txt", i / arg.per_folder);
            let loc = Loc {
                view: View::namespace(ns),
                lower: lower(&display),
                display: display.clone(),
            };
            store
                .ensure_parents(&loc)
                .map_err(|e| format!("{display}: {e:?}"))?;
            let rev = store.new_rev(ns);
            store.write_file(
                ns,
                &loc.lower,
                &display,
                None,
                FileRev {
                    rev,
                    size: received.len,
                    content_hash: received.hash,
                    blob,
                    client_modified: now,
                    server_modified: now,
                },
            );
        }
        Ok::<_, String>(())
    });
    match written {
        Ok(()) => wire::json_response(
            StatusCode::OK,
            &json!({"files": arg.files, "folders": arg.files.div_ceil(arg.per_folder)}),
        ),
        Err(e) => bad(format!("bulk_files: {e}")),
    }
}
