//! Uploads: `files/upload` and upload sessions (sequential and concurrent), with offsets,
//! `incorrect_offset`, close, the 4 MiB rule of concurrent sessions, the 150 MiB request limit,
//! per-request `content_hash` checks, and batch commits.

use std::collections::BTreeMap;
use std::path::PathBuf;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::fs::{File, OpenOptions};
use tokio::io::BufWriter;

use super::auth::{self, Caller};
use super::blobs::{self, BlobStore, BodyError, ContentHasher, BLOCK, REQUEST_LIMIT};
use super::file_properties;
use super::files::{free_name, write_target, Rename};
use super::state::{FileRev, NodeKind, PathForms, Render, Store, WriteError};
pub(crate) use super::upload_sessions::{random_id, Session, Sessions};
use super::wire::{self, parse, ApiError};
use super::App;

/// The largest file an upload session may build: 2^41 − 2^22 bytes.
const SESSION_LIMIT: u64 = (1 << 41) - (1 << 22);

/// `CommitInfo` (and the commit part of `UploadArg`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CommitInfo {
    path: String,
    #[serde(default)]
    mode: Option<Value>,
    #[serde(default)]
    autorename: bool,
    client_modified: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    mute: bool,
    property_groups: Option<Value>,
    #[serde(default)]
    strict_conflict: bool,
}

/// The parsed `WriteMode`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    Add,
    Overwrite,
    Update(String),
}

impl CommitInfo {
    fn mode(&self) -> Result<Mode, ApiError> {
        let Some(mode) = &self.mode else {
            return Ok(Mode::Add);
        };
        match (wire::union_tag(mode), mode) {
            (Some("add"), _) => Ok(Mode::Add),
            (Some("overwrite"), _) => Ok(Mode::Overwrite),
            (Some("update"), Value::Object(m)) => match m.get("update").and_then(Value::as_str) {
                Some(rev) => Ok(Mode::Update(rev.to_owned())),
                None => Err(ApiError::BadRequest("mode: update needs a rev".into())),
            },
            _ => Err(ApiError::BadRequest(format!(
                "mode: unknown or incomplete write mode {mode}"
            ))),
        }
    }

    fn validate(&self) -> Result<(Mode, Option<DateTime<Utc>>), ApiError> {
        let mode = self.mode()?;
        let client_modified = match &self.client_modified {
            Some(s) => Some(wire::parse_timestamp("client_modified", s)?),
            None => None,
        };
        Ok((mode, client_modified))
    }
}

/// The bytes to commit: a work file with its length and hash.
struct Content {
    file: PathBuf,
    len: u64,
    hash: String,
}

/// Why a commit failed.
enum CommitError {
    Write(WriteError),
    Properties(Value),
    Other(ApiError),
}

/// Places `content` at the commit's path following the write mode; the work file is adopted as
/// a blob on success (and removed when the content was already there). Returns `FileMetadata`.
fn commit(
    app: &App,
    caller: &Caller,
    info: &CommitInfo,
    content: &Content,
) -> Result<Value, CommitError> {
    let (mode, client_modified) = info.validate().map_err(CommitError::Other)?;
    let groups = match &info.property_groups {
        Some(v) => Some(file_properties::parse_groups(v).map_err(CommitError::Other)?),
        None => None,
    };
    app.mutate(|store: &mut Store| {
        if let Some(groups) = &groups {
            file_properties::check_groups(store, caller.account, groups)
                .map_err(CommitError::Properties)?;
        }
        let mut loc =
            write_target(store, caller, &info.path, PathForms::ID).map_err(CommitError::Write)?;
        match store.node(loc.ns(), &loc.lower).map(|n| (&n.kind, n)) {
            None => {
                if let (true, Mode::Update(rev)) = (info.strict_conflict, &mode) {
                    let last = store
                        .namespaces
                        .get(&loc.ns())
                        .and_then(|s| s.history.get(&loc.lower))
                        .and_then(|h| h.last());
                    if last.is_some_and(|l| l != rev) {
                        return Err(CommitError::Write(WriteError::Conflict("file")));
                    }
                }
            }
            Some((NodeKind::Folder, _)) => {
                if info.autorename {
                    loc = free_name(store, &loc, Rename::Numbered);
                } else {
                    return Err(CommitError::Write(WriteError::Conflict("folder")));
                }
            }
            Some((NodeKind::File(existing), node)) => {
                if existing.content_hash == content.hash
                    && existing.size == content.len
                    && !info.strict_conflict
                {
                    let meta = store.node_metadata(
                        &loc.view,
                        loc.ns(),
                        &loc.lower,
                        node,
                        &Render::untagged(),
                    );
                    let _ = std::fs::remove_file(&content.file);
                    return Ok(meta);
                }
                let conflict = match &mode {
                    Mode::Overwrite => None,
                    Mode::Add => Some(Rename::Numbered),
                    Mode::Update(rev) if *rev == existing.rev => None,
                    Mode::Update(_) => Some(Rename::Conflicted),
                };
                if let Some(style) = conflict {
                    if info.autorename {
                        loc = free_name(store, &loc, style);
                    } else {
                        return Err(CommitError::Write(WriteError::Conflict("file")));
                    }
                }
            }
        }
        store.ensure_parents(&loc).map_err(CommitError::Write)?;
        let blob = app
            .blobs
            .adopt(&content.file)
            .map_err(|e| CommitError::Other(e.into()))?;
        let now = Utc::now();
        let rev = store.new_rev(loc.ns());
        let mut node = store.write_file(
            loc.ns(),
            &loc.lower,
            &loc.display,
            None,
            FileRev {
                rev,
                size: content.len,
                content_hash: content.hash.clone(),
                blob,
                client_modified: client_modified.unwrap_or(now),
                server_modified: now,
            },
        );
        if let Some(groups) = groups {
            if let Some(n) = store.node_mut(loc.ns(), &loc.lower) {
                n.props = groups;
                node.props = n.props.clone();
            }
        }
        Ok(store.node_metadata(&loc.view, loc.ns(), &loc.lower, &node, &Render::untagged()))
    })
}

fn body_error(e: BodyError) -> ApiError {
    match e {
        BodyError::TooLarge => ApiError::tag("payload_too_large"),
        BodyError::Client(msg) => ApiError::BadRequest(format!("request body: {msg}")),
        BodyError::Io(e) => e.into(),
    }
}

/// Common prologue of upload-style routes: arg, auth, Content-Type.
fn prologue<T: serde::de::DeserializeOwned>(
    app: &App,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<(Caller, T), ApiError> {
    let arg = wire::header_arg(headers, query)?;
    let caller = auth::authenticate(app, headers)?;
    wire::check_upload_type(headers)?;
    Ok((caller, parse(arg)?))
}

/// A declared `Content-Length` over the single-request limit.
fn declared_too_large(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > REQUEST_LIMIT)
}

async fn answer(route: &str, body: Option<Body>, result: Result<Value, ApiError>) -> Response {
    if let Some(body) = body {
        blobs::drain(body).await;
    }
    match result {
        Ok(v) => wire::json_response(StatusCode::OK, &v),
        Err(e) => e.into_response(route),
    }
}

/// Receives a whole body into a new work file.
async fn receive_new(store: &BlobStore, body: Body, limit: u64) -> Result<Content, ApiError> {
    let path = store.work_path("body");
    let mut file = File::create(&path).await?;
    match blobs::receive(body, &mut file, limit, None).await {
        Ok(received) => Ok(Content {
            file: path,
            len: received.len,
            hash: received.hash,
        }),
        Err(e) => {
            let _ = tokio::fs::remove_file(&path).await;
            Err(body_error(e))
        }
    }
}

#[derive(Debug, Deserialize)]
struct UploadArg {
    #[serde(flatten)]
    commit: CommitInfo,
    content_hash: Option<String>,
}

/// `files/upload`.
pub(crate) async fn upload(
    State(app): State<App>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Body,
) -> Response {
    const ROUTE: &str = "files/upload";
    let (caller, arg) = match prologue::<UploadArg>(&app, &headers, q.as_deref()) {
        Ok(p) => p,
        Err(e) => return answer(ROUTE, Some(body), Err(e)).await,
    };
    if let Err(e) = arg.commit.validate() {
        return answer(ROUTE, Some(body), Err(e)).await;
    }
    if declared_too_large(&headers) {
        return answer(ROUTE, Some(body), Err(ApiError::tag("payload_too_large"))).await;
    }
    let content = match receive_new(&app.blobs, body, REQUEST_LIMIT).await {
        Ok(c) => c,
        Err(e) => return answer(ROUTE, None, Err(e)).await,
    };
    if arg
        .content_hash
        .as_ref()
        .is_some_and(|h| *h != content.hash)
    {
        let _ = tokio::fs::remove_file(&content.file).await;
        return answer(ROUTE, None, Err(ApiError::tag("content_hash_mismatch"))).await;
    }
    let result = match commit(&app, &caller, &arg.commit, &content) {
        Ok(meta) => Ok(meta),
        Err(CommitError::Write(reason)) => {
            // The data is kept in a closed session so the commit can be retried with finish.
            let mut hasher = ContentHasher::default();
            hasher_from_file(&content.file, &mut hasher).await;
            let id = app.sessions.insert(Session {
                account: caller.account,
                concurrent: false,
                file: Some(content.file.clone()),
                len: content.len,
                hasher,
                closed: true,
                pieces: BTreeMap::new(),
                end: None,
                created: Utc::now(),
            });
            Err(ApiError::Route(
                json!({".tag": "path", "reason": reason.value(), "upload_session_id": id}),
            ))
        }
        Err(CommitError::Properties(e)) => {
            let _ = tokio::fs::remove_file(&content.file).await;
            Err(ApiError::with("properties_error", e))
        }
        Err(CommitError::Other(e)) => {
            let _ = tokio::fs::remove_file(&content.file).await;
            Err(e)
        }
    };
    answer(ROUTE, None, result).await
}

async fn hasher_from_file(path: &std::path::Path, hasher: &mut ContentHasher) {
    if let Ok(file) = File::open(path).await {
        let mut stream = tokio_util::io::ReaderStream::with_capacity(file, 1024 * 1024);
        while let Some(Ok(chunk)) = futures::StreamExt::next(&mut stream).await {
            hasher.update(&chunk);
        }
    }
}

fn session_type(v: &Option<Value>) -> Result<bool, ApiError> {
    match v.as_ref().map(wire::union_tag) {
        None | Some(Some("sequential")) => Ok(false),
        Some(Some("concurrent")) => Ok(true),
        _ => Err(ApiError::BadRequest(
            "request body: session_type: unknown tag".into(),
        )),
    }
}

#[derive(Debug, Deserialize)]
struct StartArg {
    #[serde(default)]
    close: bool,
    session_type: Option<Value>,
    content_hash: Option<String>,
}

/// `files/upload_session/start`.
pub(crate) async fn start(
    State(app): State<App>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Body,
) -> Response {
    const ROUTE: &str = "files/upload_session/start";
    let (caller, arg) = match prologue::<StartArg>(&app, &headers, q.as_deref()) {
        Ok(p) => p,
        Err(e) => return answer(ROUTE, Some(body), Err(e)).await,
    };
    let concurrent = match session_type(&arg.session_type) {
        Ok(c) => c,
        Err(e) => return answer(ROUTE, Some(body), Err(e)).await,
    };
    if concurrent && arg.close {
        return answer(
            ROUTE,
            Some(body),
            Err(ApiError::tag("concurrent_session_close_not_allowed")),
        )
        .await;
    }
    if declared_too_large(&headers) {
        return answer(ROUTE, Some(body), Err(ApiError::tag("payload_too_large"))).await;
    }
    let path = app.blobs.work_path("session");
    let result = async {
        let mut file = File::create(&path).await?;
        let mut hasher = ContentHasher::default();
        let received = blobs::receive(body, &mut file, REQUEST_LIMIT, Some(&mut hasher))
            .await
            .map_err(body_error)?;
        if concurrent && received.len > 0 {
            return Err(ApiError::tag("concurrent_session_data_not_allowed"));
        }
        if arg
            .content_hash
            .as_ref()
            .is_some_and(|h| *h != received.hash)
        {
            return Err(ApiError::tag("content_hash_mismatch"));
        }
        Ok((received.len, hasher))
    }
    .await;
    let result = match result {
        Ok((len, hasher)) => {
            let id = app.sessions.insert(Session {
                account: caller.account,
                concurrent,
                file: (!concurrent).then(|| path.clone()),
                len,
                hasher,
                closed: arg.close,
                pieces: BTreeMap::new(),
                end: None,
                created: Utc::now(),
            });
            if concurrent {
                let _ = tokio::fs::remove_file(&path).await;
            }
            Ok(json!({"session_id": id}))
        }
        Err(e) => {
            let _ = tokio::fs::remove_file(&path).await;
            Err(e)
        }
    };
    answer(ROUTE, None, result).await
}

#[derive(Debug, Clone, Deserialize)]
struct SessionCursor {
    session_id: String,
    offset: u64,
}

#[derive(Debug, Deserialize)]
struct AppendArg {
    cursor: SessionCursor,
    #[serde(default)]
    close: bool,
    content_hash: Option<String>,
}

/// Appends a body to a session; the errors are `UploadSessionAppendError` tags.
async fn append(
    app: &App,
    caller: &Caller,
    arg: AppendArg,
    body: Body,
) -> Result<Value, (ApiError, Option<Body>)> {
    let Some(session) = app.sessions.get(&arg.cursor.session_id, caller.account) else {
        return Err((ApiError::tag("not_found"), Some(body)));
    };
    if session.lock().await.concurrent {
        return append_concurrent(app, &session, arg, body).await;
    }
    let mut s = session.lock().await;
    if s.account != caller.account || (Utc::now() - s.created).num_days() >= 7 {
        return Err((ApiError::tag("not_found"), Some(body)));
    }
    if s.closed {
        return Err((ApiError::tag("closed"), Some(body)));
    }
    if arg.cursor.offset != s.len {
        return Err((
            ApiError::Route(json!({".tag": "incorrect_offset", "correct_offset": s.len})),
            Some(body),
        ));
    }
    let path = s
        .file
        .clone()
        .ok_or((ApiError::Internal("session without data file".into()), None))?;
    let mut file = OpenOptions::new()
        .append(true)
        .open(&path)
        .await
        .map_err(|e| (e.into(), None))?;
    let before_hasher = s.hasher.clone();
    let before_len = s.len;
    let outcome = blobs::receive(body, &mut file, REQUEST_LIMIT, Some(&mut s.hasher)).await;
    let received = match outcome {
        Ok(r) if arg.content_hash.as_ref().is_none_or(|h| *h == r.hash) => {
            if before_len + r.len > SESSION_LIMIT {
                Err(ApiError::tag("too_large"))
            } else {
                Ok(r)
            }
        }
        Ok(_) => Err(ApiError::tag("content_hash_mismatch")),
        Err(e) => Err(body_error(e)),
    };
    match received {
        Ok(r) => {
            s.len += r.len;
            s.closed = arg.close;
            Ok(Value::Null)
        }
        Err(e) => {
            // Roll the session back to where it was.
            s.hasher = before_hasher;
            file.set_len(before_len)
                .await
                .map_err(|e| (e.into(), None))?;
            Err((e, None))
        }
    }
}

async fn append_concurrent(
    app: &App,
    session: &tokio::sync::Mutex<Session>,
    arg: AppendArg,
    body: Body,
) -> Result<Value, (ApiError, Option<Body>)> {
    {
        let s = session.lock().await;
        // Pieces may arrive in any order, also after the closing one, but not past the end.
        if s.end
            .is_some_and(|end| arg.close || arg.cursor.offset >= end)
        {
            return Err((ApiError::tag("closed"), Some(body)));
        }
        if arg.cursor.offset % BLOCK != 0 {
            return Err((
                ApiError::tag("concurrent_session_invalid_offset"),
                Some(body),
            ));
        }
    }
    let path = app.blobs.work_path("piece");
    let result = async {
        let mut file = File::create(&path).await?;
        let r = blobs::receive(body, &mut file, REQUEST_LIMIT, None)
            .await
            .map_err(body_error)?;
        if !arg.close && r.len % BLOCK != 0 {
            return Err(ApiError::tag("concurrent_session_invalid_data_size"));
        }
        if arg.content_hash.as_ref().is_some_and(|h| *h != r.hash) {
            return Err(ApiError::tag("content_hash_mismatch"));
        }
        if arg.cursor.offset + r.len > SESSION_LIMIT {
            return Err(ApiError::tag("too_large"));
        }
        Ok(r.len)
    }
    .await;
    let len = match result {
        Ok(len) => len,
        Err(e) => {
            let _ = tokio::fs::remove_file(&path).await;
            return Err((e, None));
        }
    };
    let mut s = session.lock().await;
    if s.end
        .is_some_and(|end| arg.close || arg.cursor.offset + len > end)
    {
        let _ = tokio::fs::remove_file(&path).await;
        return Err((ApiError::tag("closed"), None));
    }
    if let Some((old, _)) = s.pieces.insert(arg.cursor.offset, (path, len)) {
        let _ = tokio::fs::remove_file(old).await;
    }
    if arg.close {
        s.closed = true;
        s.end = Some(arg.cursor.offset + len);
    }
    Ok(Value::Null)
}

/// `files/upload_session/append_v2`.
pub(crate) async fn append_v2(
    State(app): State<App>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Body,
) -> Response {
    const ROUTE: &str = "files/upload_session/append_v2";
    let (caller, arg) = match prologue::<AppendArg>(&app, &headers, q.as_deref()) {
        Ok(p) => p,
        Err(e) => return answer(ROUTE, Some(body), Err(e)).await,
    };
    if declared_too_large(&headers) {
        return answer(ROUTE, Some(body), Err(ApiError::tag("payload_too_large"))).await;
    }
    match append(&app, &caller, arg, body).await {
        Ok(v) => answer(ROUTE, None, Ok(v)).await,
        Err((e, body)) => answer(ROUTE, body, Err(e)).await,
    }
}

/// `files/upload_session/append` (v1: the argument is the cursor itself).
pub(crate) async fn append_v1(
    State(app): State<App>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Body,
) -> Response {
    const ROUTE: &str = "files/upload_session/append";
    let (caller, cursor) = match prologue::<SessionCursor>(&app, &headers, q.as_deref()) {
        Ok(p) => p,
        Err(e) => return answer(ROUTE, Some(body), Err(e)).await,
    };
    let arg = AppendArg {
        cursor,
        close: false,
        content_hash: None,
    };
    match append(&app, &caller, arg, body).await {
        Ok(v) => answer(ROUTE, None, Ok(v)).await,
        Err((e, body)) => answer(ROUTE, body, Err(e)).await,
    }
}

#[derive(Debug, Clone, Deserialize)]
struct FinishArg {
    cursor: SessionCursor,
    commit: CommitInfo,
    content_hash: Option<String>,
}

fn lookup_failed(tag: &str) -> ApiError {
    ApiError::nested("lookup_failed", tag)
}

/// Finishes a session (with an optional last body); errors are `UploadSessionFinishError`.
async fn finish_one(
    app: &App,
    caller: &Caller,
    arg: &FinishArg,
    body: Option<Body>,
    batch: bool,
) -> Result<Value, (ApiError, Option<Body>)> {
    let Some(session) = app.sessions.get(&arg.cursor.session_id, caller.account) else {
        return Err((lookup_failed("not_found"), body));
    };
    let mut s = session.lock().await;
    if s.account != caller.account {
        return Err((lookup_failed("not_found"), body));
    }
    if batch && !s.closed {
        return Err((lookup_failed("not_closed"), body));
    }
    let mut body = body;
    if s.concurrent && s.file.is_none() {
        if let Some(b) = body.take() {
            // Data is not allowed: find out whether there is any.
            let path = app.blobs.work_path("probe");
            let mut file = File::create(&path).await.map_err(|e| (e.into(), None))?;
            let r = blobs::receive(b, &mut file, REQUEST_LIMIT, None).await;
            let _ = tokio::fs::remove_file(&path).await;
            match r {
                Ok(r) if r.len > 0 => {
                    return Err((ApiError::tag("concurrent_session_data_not_allowed"), None))
                }
                Ok(_) => {}
                Err(e) => return Err((body_error(e), None)),
            }
        }
        if !s.closed {
            return Err((ApiError::tag("concurrent_session_not_closed"), None));
        }
        let end = s.end.unwrap_or(0);
        let mut next = 0u64;
        for (offset, (_, len)) in &s.pieces {
            if *offset != next {
                return Err((ApiError::tag("concurrent_session_missing_data"), None));
            }
            next += len;
        }
        if next != end {
            return Err((ApiError::tag("concurrent_session_missing_data"), None));
        }
        if arg.cursor.offset != end {
            return Err((
                ApiError::Route(
                    json!({".tag": "lookup_failed", "lookup_failed": {".tag": "incorrect_offset", "correct_offset": end}}),
                ),
                None,
            ));
        }
        // Join the pieces into one file, hashing as they go.
        let joined = app.blobs.work_path("joined");
        let mut hasher = ContentHasher::default();
        let out = File::create(&joined).await.map_err(|e| (e.into(), None))?;
        let mut writer = BufWriter::with_capacity(1024 * 1024, out);
        for (piece, _) in s.pieces.values() {
            BlobStore::append_file(piece, &mut writer, &mut hasher)
                .await
                .map_err(|e| (e.into(), None))?;
        }
        tokio::io::AsyncWriteExt::flush(&mut writer)
            .await
            .map_err(|e| (e.into(), None))?;
        for (piece, _) in std::mem::take(&mut s.pieces).into_values() {
            let _ = tokio::fs::remove_file(piece).await;
        }
        s.file = Some(joined);
        s.len = end;
        s.hasher = hasher;
    } else {
        if arg.cursor.offset != s.len {
            return Err((
                ApiError::Route(
                    json!({".tag": "lookup_failed", "lookup_failed": {".tag": "incorrect_offset", "correct_offset": s.len}}),
                ),
                body,
            ));
        }
        if let Some(b) = body.take() {
            let path = s
                .file
                .clone()
                .ok_or((ApiError::Internal("session without data file".into()), None))?;
            let mut file = OpenOptions::new()
                .append(true)
                .open(&path)
                .await
                .map_err(|e| (e.into(), None))?;
            let before_hasher = s.hasher.clone();
            let before_len = s.len;
            let r = blobs::receive(b, &mut file, REQUEST_LIMIT, Some(&mut s.hasher)).await;
            let error = match &r {
                Ok(r) if s.closed && r.len > 0 => Some(lookup_failed("closed")),
                Ok(r) if arg.content_hash.as_ref().is_some_and(|h| *h != r.hash) => {
                    Some(ApiError::tag("content_hash_mismatch"))
                }
                Ok(r) if before_len + r.len > SESSION_LIMIT => Some(lookup_failed("too_large")),
                Ok(_) => None,
                Err(BodyError::TooLarge) => Some(ApiError::tag("payload_too_large")),
                Err(BodyError::Client(msg)) => {
                    Some(ApiError::BadRequest(format!("request body: {msg}")))
                }
                Err(BodyError::Io(e)) => Some(ApiError::Internal(e.to_string())),
            };
            if let Some(error) = error {
                s.hasher = before_hasher;
                file.set_len(before_len)
                    .await
                    .map_err(|e| (e.into(), None))?;
                return Err((error, None));
            }
            if let Ok(r) = r {
                s.len += r.len;
            }
        }
    }
    s.closed = true;
    let content = Content {
        file: s
            .file
            .clone()
            .ok_or((ApiError::Internal("session without data file".into()), None))?,
        len: s.len,
        hash: s.hasher.finish(),
    };
    match commit(app, caller, &arg.commit, &content) {
        Ok(meta) => {
            // The file now belongs to the blob store (or was removed as identical).
            s.file = None;
            drop(s);
            app.sessions.remove(&arg.cursor.session_id);
            Ok(meta)
        }
        Err(CommitError::Write(e)) => Err((e.under("path"), None)),
        Err(CommitError::Properties(e)) => Err((ApiError::with("properties_error", e), None)),
        Err(CommitError::Other(e)) => Err((e, None)),
    }
}

/// `files/upload_session/finish`.
pub(crate) async fn finish(
    State(app): State<App>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Body,
) -> Response {
    const ROUTE: &str = "files/upload_session/finish";
    let (caller, arg) = match prologue::<FinishArg>(&app, &headers, q.as_deref()) {
        Ok(p) => p,
        Err(e) => return answer(ROUTE, Some(body), Err(e)).await,
    };
    if let Err(e) = arg.commit.validate() {
        return answer(ROUTE, Some(body), Err(e)).await;
    }
    if declared_too_large(&headers) {
        return answer(ROUTE, Some(body), Err(ApiError::tag("payload_too_large"))).await;
    }
    match finish_one(&app, &caller, &arg, Some(body), false).await {
        Ok(v) => answer(ROUTE, None, Ok(v)).await,
        Err((e, body)) => answer(ROUTE, body, Err(e)).await,
    }
}

#[derive(Debug, Deserialize)]
struct FinishBatchArg {
    entries: Vec<FinishArg>,
}

async fn finish_entries(app: &App, caller: &Caller, arg: Value) -> Result<Vec<Value>, ApiError> {
    let arg: FinishBatchArg = parse(arg)?;
    if arg.entries.len() > 1000 {
        return Err(ApiError::BadRequest(
            "request body: entries: more than 1000 items".into(),
        ));
    }
    for entry in &arg.entries {
        entry.commit.validate()?;
    }
    let mut results = Vec::with_capacity(arg.entries.len());
    for entry in &arg.entries {
        results.push(match finish_one(app, caller, entry, None, true).await {
            Ok(mut meta) => {
                if let Value::Object(m) = &mut meta {
                    m.insert(".tag".into(), json!("success"));
                }
                meta
            }
            Err((ApiError::Route(error), _)) => json!({".tag": "failure", "failure": error}),
            Err((other, _)) => return Err(other),
        });
    }
    Ok(results)
}

/// `files/upload_session/finish_batch_v2` (rpc, synchronous).
pub(crate) fn finish_batch_v2(
    app: App,
    caller: Caller,
    arg: Value,
) -> BoxFuture<'static, Result<Value, ApiError>> {
    Box::pin(async move {
        let entries = finish_entries(&app, &caller, arg).await?;
        Ok(json!({"entries": entries}))
    })
}

/// `files/upload_session/finish_batch` (v1): runs the batch and answers with a job id whose
/// result `finish_batch/check` returns.
pub(crate) fn finish_batch_v1(
    app: App,
    caller: Caller,
    arg: Value,
) -> BoxFuture<'static, Result<Value, ApiError>> {
    Box::pin(async move {
        let entries = finish_entries(&app, &caller, arg).await?;
        let id = format!("dbjid:sbx-{}", random_id());
        app.store()
            .jobs
            .insert(id.clone(), json!({".tag": "complete", "entries": entries}));
        Ok(json!({".tag": "async_job_id", "async_job_id": id}))
    })
}

#[derive(Debug, Deserialize)]
struct JobArg {
    async_job_id: String,
}

/// `files/upload_session/finish_batch/check`.
pub(crate) fn finish_batch_check(
    app: &App,
    _caller: &Caller,
    arg: Value,
) -> Result<Value, ApiError> {
    let arg: JobArg = parse(arg)?;
    app.store()
        .jobs
        .get(&arg.async_job_id)
        .cloned()
        .ok_or(ApiError::tag("invalid_async_job_id"))
}

#[derive(Debug, Deserialize)]
struct StartBatchArg {
    num_sessions: u64,
    session_type: Option<Value>,
}

/// `files/upload_session/start_batch`.
pub(crate) fn start_batch(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: StartBatchArg = parse(arg)?;
    if !(1..=1000).contains(&arg.num_sessions) {
        return Err(ApiError::BadRequest(
            "request body: num_sessions: not within 1..1000".into(),
        ));
    }
    let concurrent = session_type(&arg.session_type)?;
    let mut ids = Vec::new();
    for _ in 0..arg.num_sessions {
        let path = app.blobs.work_path("session");
        std::fs::File::create(&path)?;
        ids.push(app.sessions.insert(Session {
            account: caller.account,
            concurrent,
            file: (!concurrent).then_some(path),
            len: 0,
            hasher: ContentHasher::default(),
            closed: false,
            pieces: BTreeMap::new(),
            end: None,
            created: Utc::now(),
        }));
    }
    Ok(json!({"session_ids": ids}))
}

/// Used by file requests: commits bytes already in a work file at `loc` with autorename.
pub(crate) fn commit_work_file(
    app: &App,
    caller: &Caller,
    path: &str,
    file: PathBuf,
    len: u64,
    hash: String,
) -> Result<Value, ApiError> {
    let info = CommitInfo {
        path: path.to_owned(),
        mode: None,
        autorename: true,
        client_modified: None,
        mute: false,
        property_groups: None,
        strict_conflict: false,
    };
    let content = Content { file, len, hash };
    match commit(app, caller, &info, &content) {
        Ok(meta) => Ok(meta),
        Err(CommitError::Write(e)) => {
            let _ = std::fs::remove_file(&content.file);
            Err(e.under("path"))
        }
        Err(CommitError::Properties(e)) => Err(ApiError::with("properties_error", e)),
        Err(CommitError::Other(e)) => Err(e),
    }
}

/// Receives a body into a new work file (for file request submissions).
pub(crate) async fn receive_to_work(
    app: &App,
    body: Body,
) -> Result<(PathBuf, u64, String), ApiError> {
    let content = receive_new(&app.blobs, body, u64::MAX).await?;
    Ok((content.file, content.len, content.hash))
}
