//! `files/*` routes other than uploads, search and tags: listing with cursors and longpoll,
//! metadata, download, folders, move/copy/delete, revisions and restore.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::auth::{self, Caller};
use super::state::{
    file_name, parent, property_filter, within, FileRev, Loc, Node, NodeKind, NsId, PathForms,
    Render, Store, Target, View, WriteError,
};
use super::wire::{self, parse, ApiError};
use super::App;

/// Largest page of `list_folder` when the caller gives no limit.
const DEFAULT_LIMIT: usize = 2000;

fn default_true() -> bool {
    true
}

/// Resolves a path argument for `caller`.
pub(crate) fn resolve(
    store: &Store,
    caller: &Caller,
    raw: &str,
    forms: PathForms,
    write: bool,
) -> Result<Target, super::state::PathError> {
    store.resolve(caller.account, &caller.view, raw, forms, write)
}

/// Resolves a path that must exist, answering `LookupError` under `outer`.
pub(crate) fn existing<'s>(
    store: &'s Store,
    caller: &Caller,
    raw: &str,
    forms: PathForms,
    outer: &str,
) -> Result<(Loc, &'s Node), ApiError> {
    match resolve(store, caller, raw, forms, false).map_err(|e| e.lookup(outer))? {
        Target::Loc(loc) => match store.node(loc.ns(), &loc.lower) {
            Some(node) => Ok((loc, node)),
            None => Err(ApiError::nested(outer, "not_found")),
        },
        Target::Rev(_) => Err(ApiError::nested(outer, "not_found")),
    }
}

#[derive(Debug, Deserialize)]
struct ListFolderArg {
    path: String,
    #[serde(default)]
    recursive: bool,
    #[serde(default)]
    include_deleted: bool,
    limit: Option<u32>,
    include_property_groups: Option<Value>,
    #[serde(default)]
    #[allow(dead_code)]
    include_media_info: bool,
    #[serde(default = "default_true")]
    #[allow(dead_code)]
    include_mounted_folders: bool,
}

/// What a `list_folder` cursor holds (base64url JSON): the listing's scope and where it is.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cursor {
    /// Account.
    a: usize,
    /// View label, namespace, prefix and depth.
    l: String,
    ns: NsId,
    p: String,
    d: usize,
    /// Listing root (absolute lower path).
    r: String,
    rec: bool,
    del: bool,
    lim: usize,
    pg: Option<Vec<String>>,
    /// Journal position: changes after it are still to be reported.
    pos: u64,
    /// During the initial listing: the last path returned (`Some("")` before the first page).
    after: Option<String>,
}

impl Cursor {
    fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!(
            "AAsbx{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
        )
    }

    fn decode(raw: &str) -> Result<Cursor, ApiError> {
        raw.strip_prefix("AAsbx")
            .and_then(|b| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(b)
                    .ok()
            })
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or_else(|| ApiError::BadRequest("cursor: invalid cursor".into()))
    }

    fn view(&self) -> View {
        View {
            label: self.l.clone(),
            ns: self.ns,
            prefix: self.p.clone(),
            depth: self.d,
        }
    }

    fn in_scope(&self, ns: NsId, path: &str) -> bool {
        ns == self.ns
            && path != self.r
            && within(path, &self.r)
            && (self.rec || parent(path) == self.r)
    }
}

fn new_cursor(
    store: &Store,
    caller: &Caller,
    arg: &ListFolderArg,
) -> Result<(Cursor, Loc), ApiError> {
    let target =
        resolve(store, caller, &arg.path, PathForms::LIST, false).map_err(|e| e.lookup("path"))?;
    let Target::Loc(loc) = target else {
        return Err(ApiError::nested("path", "not_found"));
    };
    if !loc.is_view_root() || !loc.lower.is_empty() {
        match store.node(loc.ns(), &loc.lower).map(|n| &n.kind) {
            Some(NodeKind::Folder) => {}
            Some(NodeKind::File(_)) => return Err(ApiError::nested("path", "not_folder")),
            None if loc.lower.is_empty() => {}
            None => return Err(ApiError::nested("path", "not_found")),
        }
    }
    let limit = match arg.limit {
        Some(0) | Some(2001..) => {
            return Err(ApiError::BadRequest(format!(
                "request body: limit: {} is not within 1..2000",
                arg.limit.unwrap_or(0)
            )))
        }
        Some(n) => n as usize,
        None => DEFAULT_LIMIT,
    };
    let view = loc.view.clone();
    Ok((
        Cursor {
            a: caller.account,
            l: view.label,
            ns: view.ns,
            p: view.prefix,
            d: view.depth,
            r: loc.lower.clone(),
            rec: arg.recursive,
            del: arg.include_deleted,
            lim: limit,
            pg: property_filter(arg.include_property_groups.as_ref()),
            pos: store.seq(),
            after: Some(String::new()),
        },
        loc,
    ))
}

/// One page of entries; advances the cursor.
fn page(store: &Store, cursor: &mut Cursor) -> Result<(Vec<Value>, bool), ApiError> {
    let view = cursor.view();
    let render = Render {
        tag: true,
        property_filter: cursor.pg.clone(),
    };
    let mut entries = Vec::new();
    if let Some(after) = cursor.after.clone() {
        // Initial listing: current entries in path order, then (include_deleted) deleted ones.
        let after_opt = (!after.is_empty()).then_some(after.as_str());
        let mut listed = store
            .children(cursor.ns, &cursor.r, cursor.rec, after_opt)
            .map(|(k, n)| (k.clone(), Some(n)))
            .peekable();
        let mut deleted: Vec<(String, String)> = Vec::new();
        if cursor.del {
            if let Some(space) = store.namespaces.get(&cursor.ns) {
                for (path, gone) in &space.deleted {
                    if cursor.in_scope(cursor.ns, path)
                        && after_opt.is_none_or(|a| path.as_str() > a)
                        && !space.nodes.contains_key(path)
                    {
                        deleted.push((path.clone(), gone.display.clone()));
                    }
                }
            }
            deleted.sort();
        }
        let mut deleted = deleted.into_iter().peekable();
        loop {
            if entries.len() == cursor.lim {
                let more = listed.peek().is_some() || deleted.peek().is_some();
                if more {
                    return Ok((entries, true));
                }
                break;
            }
            let take_deleted = match (listed.peek(), deleted.peek()) {
                (None, None) => break,
                (Some(_), None) => false,
                (None, Some(_)) => true,
                (Some((a, _)), Some((b, _))) => b < a,
            };
            if take_deleted {
                let Some((path, display)) = deleted.next() else {
                    break;
                };
                let (pl, pd) = view.relative(&path, &display);
                entries.push(json!({".tag": "deleted", "name": file_name(&display), "path_lower": pl, "path_display": pd}));
                cursor.after = Some(path);
            } else {
                let Some((path, Some(node))) = listed.next() else {
                    break;
                };
                entries.push(store.node_metadata(&view, cursor.ns, &path, node, &render));
                cursor.after = Some(path);
            }
        }
        cursor.after = None;
        if entries.len() == cursor.lim {
            // The listing ended exactly at the limit: report pending changes next time.
            let more = store.journal[cursor.pos as usize..]
                .iter()
                .any(|c| cursor.in_scope(c.ns, &c.lower));
            return Ok((entries, more));
        }
    }
    // Changes since the journal position.
    if !cursor.r.is_empty() && store.node(cursor.ns, &cursor.r).is_none() {
        return Err(ApiError::nested("path", "not_found"));
    }
    let journal = &store.journal;
    let mut pos = cursor.pos as usize;
    while pos < journal.len() && entries.len() < cursor.lim {
        let change = &journal[pos];
        pos += 1;
        if cursor.in_scope(change.ns, &change.lower) {
            entries.push(store.change_metadata(&view, change));
        }
    }
    cursor.pos = pos as u64;
    let has_more = journal[pos..]
        .iter()
        .any(|c| cursor.in_scope(c.ns, &c.lower));
    Ok((entries, has_more))
}

/// `files/list_folder`.
pub(crate) fn list_folder(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: ListFolderArg = parse(arg)?;
    let store = app.store();
    let (mut cursor, _) = new_cursor(&store, caller, &arg)?;
    let (entries, has_more) = page(&store, &mut cursor)?;
    Ok(json!({"entries": entries, "cursor": cursor.encode(), "has_more": has_more}))
}

/// `{"cursor": …}`: the argument of the `…/continue` routes.
#[derive(Debug, Deserialize)]
pub(crate) struct CursorArg {
    pub(crate) cursor: String,
}

/// `files/list_folder/continue`.
pub(crate) fn list_folder_continue(
    app: &App,
    caller: &Caller,
    arg: Value,
) -> Result<Value, ApiError> {
    let arg: CursorArg = parse(arg)?;
    let mut cursor = Cursor::decode(&arg.cursor)?;
    let store = app.store();
    if cursor.a != caller.account || cursor.pos > store.seq() {
        return Err(ApiError::tag("reset"));
    }
    let (entries, has_more) = page(&store, &mut cursor)?;
    Ok(json!({"entries": entries, "cursor": cursor.encode(), "has_more": has_more}))
}

/// `files/list_folder/get_latest_cursor`.
pub(crate) fn get_latest_cursor(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: ListFolderArg = parse(arg)?;
    let store = app.store();
    let (mut cursor, _) = new_cursor(&store, caller, &arg)?;
    cursor.after = None;
    Ok(json!({"cursor": cursor.encode()}))
}

#[derive(Debug, Deserialize)]
struct LongpollArg {
    cursor: String,
    #[serde(default = "default_timeout")]
    timeout: u64,
}

fn default_timeout() -> u64 {
    30
}

fn pending_changes(store: &Store, cursor: &Cursor) -> bool {
    cursor.after.is_some()
        || store.journal[(cursor.pos as usize).min(store.journal.len())..]
            .iter()
            .any(|c| cursor.in_scope(c.ns, &c.lower))
}

/// `files/list_folder/longpoll` (no auth): returns as soon as something in the cursor's scope
/// changes, else after `timeout` seconds.
pub(crate) async fn longpoll(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    const ROUTE: &str = "files/list_folder/longpoll";
    let arg: LongpollArg = match wire::rpc_arg(&headers, &body).and_then(parse) {
        Ok(arg) => arg,
        Err(e) => return e.into_response(ROUTE),
    };
    if !(30..=480).contains(&arg.timeout) {
        return ApiError::BadRequest(format!(
            "request body: timeout: {} is not within 30..480",
            arg.timeout
        ))
        .into_response(ROUTE);
    }
    let cursor = match Cursor::decode(&arg.cursor) {
        Ok(c) => c,
        Err(e) => return e.into_response(ROUTE),
    };
    let mut changes = app.changes.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(arg.timeout);
    loop {
        {
            let store = app.store();
            if cursor.pos > store.seq() {
                return ApiError::tag("reset").into_response(ROUTE);
            }
            if pending_changes(&store, &cursor) {
                return wire::json_response(StatusCode::OK, &json!({"changes": true}));
            }
        }
        match tokio::time::timeout_at(deadline, changes.changed()).await {
            Ok(Ok(())) => continue,
            _ => return wire::json_response(StatusCode::OK, &json!({"changes": false})),
        }
    }
}

#[derive(Debug, Deserialize)]
struct GetMetadataArg {
    path: String,
    #[serde(default)]
    include_deleted: bool,
    include_property_groups: Option<Value>,
}

/// `files/get_metadata`.
pub(crate) fn get_metadata(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: GetMetadataArg = parse(arg)?;
    let store = app.store();
    let target =
        resolve(&store, caller, &arg.path, PathForms::READ, false).map_err(|e| e.lookup("path"))?;
    let loc = match target {
        Target::Rev(record) => return Ok(store.rev_metadata(&caller.view, &record, true)),
        Target::Loc(loc) => loc,
    };
    if loc.lower.is_empty() || loc.is_view_root() && loc.view.prefix.is_empty() {
        return Err(ApiError::BadRequest(
            "path: The root folder is unsupported.".into(),
        ));
    }
    let render = Render {
        tag: true,
        property_filter: property_filter(arg.include_property_groups.as_ref()),
    };
    if let Some(node) = store.node(loc.ns(), &loc.lower) {
        return Ok(store.node_metadata(&loc.view, loc.ns(), &loc.lower, node, &render));
    }
    if arg.include_deleted {
        if let Some(gone) = store
            .namespaces
            .get(&loc.ns())
            .and_then(|s| s.deleted.get(&loc.lower))
        {
            let display = &gone.display;
            let (pl, pd) = loc.view.relative(&loc.lower, display);
            return Ok(
                json!({".tag": "deleted", "name": file_name(display), "path_lower": pl, "path_display": pd}),
            );
        }
    }
    Err(ApiError::nested("path", "not_found"))
}

/// Parses a `Range: bytes=…` header against a size: `Ok(None)` = whole body.
fn parse_range(headers: &HeaderMap, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(raw) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let spec = raw.trim().strip_prefix("bytes=").ok_or(())?;
    if spec.contains(',') {
        return Err(());
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().map_err(|_| ())?;
            if n == 0 {
                return Err(());
            }
            (size.saturating_sub(n), size.saturating_sub(1))
        }
        (start, "") => (start.parse().map_err(|_| ())?, size.saturating_sub(1)),
        (start, end) => {
            let end: u64 = end.parse().map_err(|_| ())?;
            (
                start.parse().map_err(|_| ())?,
                end.min(size.saturating_sub(1)),
            )
        }
    };
    if size == 0 || start >= size || end < start {
        return Err(());
    }
    Ok(Some((start, end)))
}

#[derive(Debug, Deserialize)]
struct DownloadArg {
    path: String,
    rev: Option<String>,
}

/// `files/download` (GET or POST): the bytes, with `Dropbox-API-Result`; supports `Range` and
/// `If-None-Match`.
pub(crate) async fn download(
    State(app): State<App>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    const ROUTE: &str = "files/download";
    let prepared = wire::header_arg(&headers, query.as_deref()).and_then(|arg| {
        Ok((
            auth::authenticate(&app, &headers)?,
            parse::<DownloadArg>(arg)?,
        ))
    });
    let (caller, arg) = match prepared {
        Ok(p) => p,
        Err(e) => return e.into_response(ROUTE),
    };
    let found = {
        let store = app.store();
        let raw = match &arg.rev {
            Some(rev) => format!("rev:{rev}"),
            None => arg.path.clone(),
        };
        match resolve(&store, caller_ref(&caller), &raw, PathForms::READ, false) {
            Err(e) => Err(e.lookup("path")),
            Ok(Target::Rev(record)) => Ok((
                store.rev_metadata(&caller.view, &record, false),
                record.file,
            )),
            Ok(Target::Loc(loc)) => match store.node(loc.ns(), &loc.lower) {
                Some(node) => match &node.kind {
                    NodeKind::File(file) => Ok((
                        store.node_metadata(
                            &loc.view,
                            loc.ns(),
                            &loc.lower,
                            node,
                            &Render::untagged(),
                        ),
                        file.clone(),
                    )),
                    NodeKind::Folder => Err(ApiError::nested("path", "not_file")),
                },
                None => Err(ApiError::nested("path", "not_found")),
            },
        }
    };
    let (meta, file) = match found {
        Ok(f) => f,
        Err(e) => return e.into_response(ROUTE),
    };
    let etag = format!("W/\"{}\"", file.rev);
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == etag || t.trim() == file.rev)
        })
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let range = match parse_range(&headers, file.size) {
        Ok(r) => r,
        Err(()) => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{}", file.size))],
                "range/not_satisfiable",
            )
                .into_response()
        }
    };
    let (start, len) = match range {
        Some((s, e)) => (s, e - s + 1),
        None => (0, file.size),
    };
    let body = match app.blobs.read(file.blob, start, len).await {
        Ok(b) => b,
        Err(e) => return ApiError::from(e).into_response(ROUTE),
    };
    let mut response = Response::new(body);
    *response.status_mut() = if range.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert("dropbox-api-result", wire::result_header(&meta));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Some((s, e)) = range {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {s}-{e}/{}", file.size)) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    response
}

fn caller_ref(c: &Caller) -> &Caller {
    c
}

/// How to pick a free name on conflict.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Rename {
    /// `name (2).ext`, `name (3).ext`, …
    Numbered,
    /// `name (conflicted copy).ext`, `name (conflicted copy 2).ext`, …
    Conflicted,
}

/// The first free sibling name of `loc` in the given style.
pub(crate) fn free_name(store: &Store, loc: &Loc, style: Rename) -> Loc {
    let name = file_name(&loc.display).to_owned();
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name.as_str(), ""),
    };
    for n in 1u64.. {
        let candidate = match (style, n) {
            (Rename::Numbered, 1) => continue,
            (Rename::Numbered, n) => format!("{stem} ({n}){ext}"),
            (Rename::Conflicted, 1) => format!("{stem} (conflicted copy){ext}"),
            (Rename::Conflicted, n) => format!("{stem} (conflicted copy {n}){ext}"),
        };
        let next = loc.sibling(&candidate);
        if store.node(next.ns(), &next.lower).is_none() {
            return next;
        }
    }
    unreachable!("u64 names run out")
}

/// Resolves a writable path argument.
pub(crate) fn write_target(
    store: &Store,
    caller: &Caller,
    raw: &str,
    forms: PathForms,
) -> Result<Loc, WriteError> {
    match resolve(store, caller, raw, forms, true) {
        Ok(Target::Loc(loc)) if !loc.is_view_root() => Ok(loc),
        Ok(_) => Err(WriteError::Malformed),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
struct CreateFolderArg {
    path: String,
    #[serde(default)]
    autorename: bool,
}

/// Creates a folder (and missing parents); with `autorename` a taken name gets ` (2)`.
pub(crate) fn make_folder(
    store: &mut Store,
    loc: Loc,
    autorename: bool,
) -> Result<Loc, WriteError> {
    let loc = match store.node(loc.ns(), &loc.lower).map(|n| &n.kind) {
        None => loc,
        Some(_) if autorename => free_name(store, &loc, Rename::Numbered),
        Some(NodeKind::Folder) => return Err(WriteError::Conflict("folder")),
        Some(NodeKind::File(_)) => return Err(WriteError::Conflict("file")),
    };
    store.ensure_parents(&loc)?;
    store.insert_folder(loc.ns(), &loc.lower, &loc.display, None);
    Ok(loc)
}

/// `files/create_folder_v2`.
pub(crate) fn create_folder_v2(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: CreateFolderArg = parse(arg)?;
    app.mutate(|store| {
        if let Err(super::state::PathError::BadRequest(msg)) =
            resolve(store, caller, &arg.path, PathForms::PLAIN, true)
        {
            return Err(ApiError::BadRequest(msg));
        }
        let loc = write_target(store, caller, &arg.path, PathForms::PLAIN).map_err(|e| e.under("path"))?;
        let loc = make_folder(store, loc, arg.autorename).map_err(|e| e.under("path"))?;
        let node = store.node(loc.ns(), &loc.lower).ok_or_else(|| ApiError::Internal("folder vanished".into()))?;
        Ok(json!({"metadata": store.node_metadata(&loc.view, loc.ns(), &loc.lower, node, &Render::untagged())}))
    })
}

#[derive(Debug, Deserialize)]
struct DeleteArg {
    path: String,
    parent_rev: Option<String>,
}

/// Deletes a node and its subtree; also revokes links to them and unshares shared folders.
pub(crate) fn delete_tree(store: &mut Store, ns: NsId, path: &str) {
    let removed = store.remove_tree(ns, path, Utc::now());
    let ids: Vec<String> = removed.iter().map(|(_, n)| n.id.clone()).collect();
    store.links.retain(|l| !ids.contains(&l.node_id));
    store
        .shared_folders
        .retain(|_, sf| !ids.contains(&sf.folder_id));
}

/// `files/delete_v2`.
pub(crate) fn delete_v2(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: DeleteArg = parse(arg)?;
    app.mutate(|store| {
        let (loc, node) = existing(store, caller, &arg.path, PathForms::ID, "path_lookup")?;
        if loc.is_view_root() {
            return Err(ApiError::with("path_write", WriteError::Malformed.value()));
        }
        if let Some(parent_rev) = &arg.parent_rev {
            match &node.kind {
                NodeKind::File(f) if &f.rev == parent_rev => {}
                _ => {
                    return Err(ApiError::with(
                        "path_write",
                        WriteError::Conflict("file").value(),
                    ))
                }
            }
        }
        let meta = store.node_metadata(&loc.view, loc.ns(), &loc.lower, node, &Render::tagged());
        delete_tree(store, loc.ns(), &loc.lower);
        Ok(json!({"metadata": meta}))
    })
}

#[derive(Debug, Deserialize)]
struct RelocationArg {
    from_path: String,
    to_path: String,
    #[serde(default)]
    autorename: bool,
}

fn relocate(app: &App, caller: &Caller, arg: Value, copy: bool) -> Result<Value, ApiError> {
    let arg: RelocationArg = parse(arg)?;
    app.mutate(|store| {
        let (from, _) = existing(store, caller, &arg.from_path, PathForms::ID, "from_lookup")?;
        if from.is_view_root() {
            return Err(ApiError::with("from_write", WriteError::Malformed.value()));
        }
        let mut to = write_target(store, caller, &arg.to_path, PathForms::ID).map_err(|e| e.under("to"))?;
        let case_only_rename = !copy && to.ns() == from.ns() && to.lower == from.lower;
        if to.ns() == from.ns() && within(&to.lower, &from.lower) && !case_only_rename {
            if to.lower == from.lower {
                return Err(WriteError::Conflict("file").under("to"));
            }
            return Err(ApiError::tag("cant_move_folder_into_itself"));
        }
        if case_only_rename && to.display == from.display {
            return Err(WriteError::Conflict("file").under("to"));
        }
        if !case_only_rename {
            if let Some(existing) = store.node(to.ns(), &to.lower) {
                if arg.autorename {
                    to = free_name(store, &to, Rename::Numbered);
                } else {
                    let kind = if matches!(existing.kind, NodeKind::Folder) { "folder" } else { "file" };
                    return Err(WriteError::Conflict(kind).under("to"));
                }
            }
            store.ensure_parents(&to).map_err(|e| e.under("to"))?;
        }
        // Snapshot the subtree, then (move) remove it, then re-create it at the new place.
        let subtree: Vec<(String, Node)> = store
            .namespaces
            .get(&from.ns())
            .map(|s| {
                s.nodes
                    .range(from.lower.clone()..)
                    .take_while(|(k, _)| k.starts_with(&from.lower))
                    .filter(|(k, _)| within(k, &from.lower))
                    .map(|(k, n)| (k.clone(), n.clone()))
                    .collect()
            })
            .unwrap_or_default();
        if !copy {
            store.remove_tree(from.ns(), &from.lower, Utc::now());
        }
        let depth = from.display.split('/').count();
        let now = Utc::now();
        for (key, node) in subtree {
            let rest_display: Vec<&str> = node.display.split('/').skip(depth).collect();
            let rest_lower = &key[from.lower.len()..];
            let display = if rest_display.is_empty() {
                to.display.clone()
            } else {
                format!("{}/{}", to.display, rest_display.join("/"))
            };
            let lower_path = format!("{}{}", to.lower, rest_lower);
            let id = (!copy).then(|| node.id.clone());
            let new_id = match &node.kind {
                NodeKind::Folder => store.insert_folder(to.ns(), &lower_path, &display, id),
                NodeKind::File(file) => {
                    let rev = store.new_rev(to.ns());
                    let written = store.write_file(
                        to.ns(),
                        &lower_path,
                        &display,
                        id,
                        FileRev {
                            rev,
                            server_modified: now,
                            ..file.clone()
                        },
                    );
                    written.id
                }
            };
            if let Some(n) = store.node_mut(to.ns(), &lower_path) {
                n.tags = node.tags.clone();
                n.props = node.props.clone();
                n.id = new_id;
            }
        }
        let node = store.node(to.ns(), &to.lower).ok_or_else(|| ApiError::Internal("relocated node vanished".into()))?;
        Ok(json!({"metadata": store.node_metadata(&to.view, to.ns(), &to.lower, node, &Render::tagged())}))
    })
}

/// `files/move_v2`.
pub(crate) fn move_v2(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    relocate(app, caller, arg, false)
}

/// `files/copy_v2`.
pub(crate) fn copy_v2(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    relocate(app, caller, arg, true)
}

#[derive(Debug, Deserialize)]
struct ListRevisionsArg {
    path: String,
    #[serde(default)]
    mode: Option<Value>,
    #[serde(default = "default_rev_limit")]
    limit: u64,
    before_rev: Option<String>,
}

fn default_rev_limit() -> u64 {
    10
}

/// `files/list_revisions`.
pub(crate) fn list_revisions(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: ListRevisionsArg = parse(arg)?;
    if !(1..=100).contains(&arg.limit) {
        return Err(ApiError::BadRequest(format!(
            "request body: limit: {} is not within 1..100",
            arg.limit
        )));
    }
    let by_id = match arg.mode.as_ref().and_then(wire::union_tag) {
        None | Some("path") => false,
        Some("id") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "request body: mode: unknown tag '{other}'"
            )))
        }
    };
    let store = app.store();
    let loc = match resolve(&store, caller, &arg.path, PathForms::ID, false)
        .map_err(|e| e.lookup("path"))?
    {
        Target::Loc(loc) => loc,
        Target::Rev(_) => return Err(ApiError::nested("path", "not_found")),
    };
    let node = store.node(loc.ns(), &loc.lower);
    if matches!(node.map(|n| &n.kind), Some(NodeKind::Folder)) {
        return Err(ApiError::nested("path", "not_file"));
    }
    let revs: Vec<String> = if by_id {
        if arg.before_rev.is_some() {
            return Err(ApiError::tag("before_rev_not_supported"));
        }
        let node = node.ok_or(ApiError::nested("path", "not_found"))?;
        store.id_revs.get(&node.id).cloned().unwrap_or_default()
    } else {
        store
            .namespaces
            .get(&loc.ns())
            .and_then(|s| s.history.get(&loc.lower))
            .cloned()
            .unwrap_or_default()
    };
    if revs.is_empty() {
        return Err(ApiError::nested("path", "not_found"));
    }
    let mut newest_first: Vec<&String> = revs.iter().rev().collect();
    if let Some(before) = &arg.before_rev {
        let at = newest_first
            .iter()
            .position(|r| *r == before)
            .ok_or(ApiError::tag("invalid_before_rev"))?;
        newest_first.drain(..=at);
    }
    let has_more = newest_first.len() as u64 > arg.limit;
    let entries: Vec<Value> = newest_first
        .iter()
        .take(arg.limit as usize)
        .filter_map(|rev| store.revs.get(*rev))
        .map(|record| store.rev_metadata(&loc.view, record, false))
        .collect();
    let deleted = store
        .namespaces
        .get(&loc.ns())
        .and_then(|s| s.deleted.get(&loc.lower));
    let mut result =
        json!({"is_deleted": node.is_none(), "entries": entries, "has_more": has_more});
    if let (None, Some(gone)) = (node, deleted) {
        result["server_deleted"] = json!(wire::timestamp(gone.at));
    }
    Ok(result)
}

#[derive(Debug, Deserialize)]
struct RestoreArg {
    path: String,
    rev: String,
}

/// `files/restore`: writes an old revision's contents at `path` as a new revision.
pub(crate) fn restore(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: RestoreArg = parse(arg)?;
    if arg.rev.len() < 9 || !arg.rev.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::BadRequest(format!(
            "request body: rev: '{}' did not match pattern '[0-9a-f]+' of at least 9 characters",
            arg.rev
        )));
    }
    app.mutate(|store| {
        let loc = write_target(store, caller, &arg.path, PathForms::PLAIN)
            .map_err(|e| e.under("path_write"))?;
        let record = store
            .revs
            .get(&arg.rev)
            .cloned()
            .ok_or(ApiError::tag("invalid_revision"))?;
        if store
            .views_of(caller.account)
            .iter()
            .all(|v| !v.contains(record.ns, &record.lower))
        {
            return Err(ApiError::tag("invalid_revision"));
        }
        if matches!(
            store.node(loc.ns(), &loc.lower).map(|n| &n.kind),
            Some(NodeKind::Folder)
        ) {
            return Err(WriteError::Conflict("folder").under("path_write"));
        }
        store
            .ensure_parents(&loc)
            .map_err(|e| e.under("path_write"))?;
        let rev = store.new_rev(loc.ns());
        let node = store.write_file(
            loc.ns(),
            &loc.lower,
            &loc.display,
            Some(record.id.clone()).filter(|_| {
                store.node(loc.ns(), &loc.lower).is_none() && !store.ids.contains_key(&record.id)
            }),
            FileRev {
                rev,
                server_modified: Utc::now(),
                ..record.file.clone()
            },
        );
        Ok(store.node_metadata(&loc.view, loc.ns(), &loc.lower, &node, &Render::untagged()))
    })
}
