//! Document versions and content: add (multipart `file`), list, one, latest (v1), content of
//! any version through the v1 and v2 paths, purge, delete one, lock and unlock, and promotion
//! of a minor version to a major one (advanced versioning).

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::nodes::{fmt_date, is_v1, properties};
use super::state::{subtype, Node, Perm, Store, Version, INSUFFICIENT};
use super::wire::{json_ok, v2, v2_collection, v2_data, ApiError, ApiResult, Page, Req};
use super::ContentServer;

/// The version and content routes.
pub(crate) fn routes() -> Router<ContentServer> {
    let mut r = Router::new();
    for v in ["v1", "v2"] {
        r = r
            .route(
                &format!("/api/{v}/nodes/{{id}}/versions"),
                get(list).post(add).delete(purge),
            )
            .route(
                &format!("/api/{v}/nodes/{{id}}/versions/{{n}}"),
                get(one).delete(delete_one),
            )
            .route(&format!("/api/{v}/nodes/{{id}}/content"), get(content))
            .route(
                &format!("/api/{v}/nodes/{{id}}/content/{{file}}"),
                get(content),
            )
            .route(
                &format!("/api/{v}/nodes/{{id}}/versions/{{n}}/content"),
                get(content),
            )
            .route(
                &format!("/api/{v}/nodes/{{id}}/versions/{{n}}/content/{{file}}"),
                get(content),
            )
            .route(
                &format!("/api/{v}/nodes/{{id}}/versions/{{n}}/lock"),
                post(lock),
            )
            .route(
                &format!("/api/{v}/nodes/{{id}}/versions/{{n}}/promote"),
                post(promote),
            )
            .route(
                &format!("/api/{v}/nodes/{{id}}/versions/{{n}}/unlock"),
                post(unlock),
            );
    }
    r
}

/// The fields of one version.
pub(crate) fn version_json(node: &Node, v: &Version) -> Value {
    let file_type = v
        .file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    json!({
        "id": node.id,
        "name": v.file_name,
        "file_name": v.file_name,
        "file_size": v.size,
        "file_type": file_type,
        "mime_type": v.mime_type,
        "description": v.description,
        "version_id": v.version_id,
        "version_number": v.number,
        "version_number_major": v.major,
        "version_number_minor": v.minor,
        "version_number_name": version_name(node, v),
        "create_date": fmt_date(v.created),
        "modify_date": fmt_date(v.created),
        "file_create_date": fmt_date(v.created),
        "file_modify_date": fmt_date(v.created),
        "owner_id": v.owner_id,
        "provider_id": v.version_id,
        "locked": v.locked,
        "locked_date": null,
        "locked_user_id": null,
        "has_generation": false,
        "external_create_date": node.external.get("external_create_date"),
        "external_modify_date": node.external.get("external_modify_date"),
        "external_source": node.external.get("external_source"),
        "external_identity": node.external.get("external_identity"),
        "external_identity_type": node.external.get("external_identity_type"),
    })
}

/// The `{n}` path parameter: a version number, or `latest`.
fn pick<'a>(node: &'a Node, n: &str) -> Result<&'a Version, ApiError> {
    let found = if n == "latest" {
        node.latest()
    } else {
        n.parse::<u32>()
            .ok()
            .and_then(|n| node.versions.iter().find(|v| v.number == n))
    };
    found.ok_or_else(|| ApiError::bad_request("The version is not found"))
}

/// A document the caller may read the versions of.
fn readable_document(store: &super::state::Store, user: i64, id: i64) -> Result<Node, ApiError> {
    let node = store.require(user, id, Perm::SeeContents)?;
    if node.subtype != subtype::DOCUMENT {
        return Err(ApiError::bad_request(format!(
            "The item '{}' has no versions.",
            node.name
        )));
    }
    Ok(node.clone())
}

/// `POST /api/v{1,2}/nodes/{id}/versions`: multipart `file`, plain `description`, and the
/// optional external dates, source and identity (kept on the node, as on create).
async fn add(State(cs): State<ContentServer>, mut req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let upload = req.upload.take();
    let description = req.params.str("description").unwrap_or_default();
    let external: Vec<(&str, Value)> = super::nodes::EXTERNAL_KEYS
        .iter()
        .filter_map(|key| req.params.get(key).map(|v| (*key, v.clone())))
        .collect();
    let now = cs.now();
    let now_ms = cs.now_ms();
    let mut store = cs.store();
    let node = store.require(user, id, Perm::Modify)?;
    if node.subtype != subtype::DOCUMENT {
        return Err(ApiError::bad_request(format!(
            "Versions cannot be added to '{}'.",
            node.name
        )));
    }
    check_writable(&store, node, user)?;
    let major = req.params.bool("add_major_version").unwrap_or(false);
    if major && node.advanced_versioning && !store.perms(user, node).has(Perm::AddMajorVersion) {
        return Err(ApiError::server(INSUFFICIENT));
    }
    let (major, minor) = next_number(node, major);
    let upload = upload.ok_or_else(|| {
        ApiError::bad_request("A new version needs a file: send a multipart 'file' part.")
    })?;
    let number = node.latest().map(|v| v.number).unwrap_or(0) + 1;
    let version_id = store.next_version_id;
    store.next_version_id += 1;
    let lag = store.index_lag_ms;
    let version = Version {
        number,
        major,
        minor,
        version_id,
        file_name: upload.file_name.clone(),
        size: upload.size,
        mime_type: upload.mime_type.clone(),
        description,
        created: now,
        owner_id: user,
        blob: std::path::PathBuf::new(),
        locked: false,
        text: upload.text.clone(),
    };
    let blob = cs.blobs().keep(upload, version_id)?;
    let node = store.live_mut(id)?;
    node.versions.push(Version { blob, ..version });
    for (key, value) in external {
        node.external.insert(key.to_owned(), value);
    }
    node.modified = now;
    node.modify_user_id = user;
    node.metadata_token += 1;
    node.indexed_at_ms = now_ms + lag;
    let node = store.live(id)?;
    let latest = node.latest().expect("a version was just added");
    if is_v1(&req) {
        return Ok(json_ok(
            json!({ "id": id, "version_number": latest.number }),
        ));
    }
    Ok(v2_data(
        &req,
        json!({
            "properties": properties(&store, node, user),
            "versions": version_json(node, latest),
        }),
    ))
}

/// `GET /api/v{1,2}/nodes/{id}/versions`: `order` asc|desc, `page`, `limit`.
async fn list(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let store = cs.store();
    let node = readable_document(&store, user, id)?;
    let mut all: Vec<&Version> = node.versions.iter().collect();
    if req.params.str("order").as_deref() == Some("desc") {
        all.reverse();
    }
    let page = Page::from_params(&req.params, all.len(), None)?;
    let slice = &all[page.range()];
    if is_v1(&req) {
        let data: Vec<Value> = slice.iter().map(|v| version_json(&node, v)).collect();
        return Ok(json_ok(json!({ "data": data })));
    }
    let items: Vec<Value> = slice
        .iter()
        .map(|v| json!({ "data": { "versions": version_json(&node, v) } }))
        .collect();
    Ok(v2_collection(&req, items, &page, "asc_version_number"))
}

/// `GET /api/v{1,2}/nodes/{id}/versions/{n}` (`latest` is a v1 path; v2 accepts it too, the
/// lenient choice).
async fn one(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let store = cs.store();
    let node = readable_document(&store, user, id)?;
    let v = pick(&node, req.path_str("n"))?;
    if is_v1(&req) {
        return Ok(json_ok(json!({ "data": version_json(&node, v) })));
    }
    Ok(v2_data(&req, json!({ "versions": version_json(&node, v) })))
}

/// Content of the latest or of version `{n}`: exact `Content-Length`, the MIME type (or
/// `application/octet-stream` with `action=download`).
async fn content(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let (blob, mime, file_name) = {
        let store = cs.store();
        let locate = || ApiError::server(format!("Could not locate node: {id}"));
        let node = store.visible(user, id).map_err(|_| locate())?;
        if !store.perms(user, node).has(Perm::SeeContents) {
            return Err(ApiError::server(INSUFFICIENT));
        }
        let v = match req.path.get("n") {
            Some(n) => pick(node, n).map_err(|e| ApiError::server(e.message))?,
            None => node.latest().ok_or_else(locate)?,
        };
        (v.blob.clone(), v.mime_type.clone(), v.file_name.clone())
    };
    let download = req.params.str("action").as_deref() == Some("download");
    cs.blobs().serve(&blob, &mime, &file_name, download).await
}

/// `DELETE /api/v{1,2}/nodes/{id}/versions`: keeps the newest `number_to_keep` (default 1).
async fn purge(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let keep = req.params.i64("number_to_keep")?.unwrap_or(1).max(1) as usize;
    let mut store = cs.store();
    let node = store.require(user, id, Perm::DeleteVersions)?;
    if let Some(hold) = node.holds.iter().find_map(|h| store.holds.get(h)) {
        return Err(ApiError::server(format!(
            "Versions of '{}' cannot be deleted: it is under hold '{}'.",
            node.name, hold.name
        )));
    }
    let node = store.live_mut(id)?;
    let cut = node.versions.len().saturating_sub(keep);
    let mut removed = Vec::new();
    let mut kept = Vec::new();
    for (i, v) in node.versions.drain(..).enumerate() {
        if i < cut && !v.locked {
            removed.push(v);
        } else {
            kept.push(v);
        }
    }
    node.versions = kept;
    for v in removed {
        cs.blobs().remove(&v.blob);
    }
    Ok(v2(&req, json!({})))
}

/// `DELETE /api/v{1,2}/nodes/{id}/versions/{n}`: not the current version, not a locked one.
async fn delete_one(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let mut store = cs.store();
    let node = store.require(user, id, Perm::DeleteVersions)?;
    if let Some(hold) = node.holds.iter().find_map(|h| store.holds.get(h)) {
        return Err(ApiError::server(format!(
            "Versions of '{}' cannot be deleted: it is under hold '{}'.",
            node.name, hold.name
        )));
    }
    let v = pick(node, req.path_str("n"))?;
    if Some(v.number) == node.latest().map(|l| l.number) {
        return Err(ApiError::bad_request(
            "The current version cannot be deleted.",
        ));
    }
    if v.locked {
        return Err(ApiError::bad_request("A locked version cannot be deleted."));
    }
    let number = v.number;
    let node = store.live_mut(id)?;
    if let Some(pos) = node.versions.iter().position(|v| v.number == number) {
        let v = node.versions.remove(pos);
        cs.blobs().remove(&v.blob);
    }
    Ok(v2(&req, json!({})))
}

async fn set_lock(cs: ContentServer, req: Req, locked: bool) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let mut store = cs.store();
    let node = store.require(user, id, Perm::Modify)?;
    let number = pick(node, req.path_str("n"))?.number;
    let node = store.live_mut(id)?;
    if let Some(v) = node.versions.iter_mut().find(|v| v.number == number) {
        v.locked = locked;
    }
    Ok(v2(&req, json!({})))
}

async fn lock(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    set_lock(cs, req, true).await
}

async fn unlock(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    set_lock(cs, req, false).await
}

/// `version_number_name`: `"2"` under standard versioning, `"1.1"` under advanced.
fn version_name(node: &Node, v: &Version) -> String {
    if node.advanced_versioning {
        format!("{}.{}", v.major, v.minor)
    } else {
        v.number.to_string()
    }
}

/// The major/minor number the next version gets. The reference leaves advanced numbering
/// UNCONFIRMED; our rules: standard versioning counts majors (`n.0`, `add_major_version`
/// ignored); advanced versioning starts at 1.0, a minor version (the default) adds 1 to the
/// last minor (`1.1`, `1.2`), a major version or a promotion goes to the next major (`2.0`).
fn next_number(node: &Node, major: bool) -> (u32, u32) {
    let (last_major, last_minor) = node.latest().map(|v| (v.major, v.minor)).unwrap_or((0, 0));
    let top_major = node.versions.iter().map(|v| v.major).max().unwrap_or(0);
    if !node.advanced_versioning {
        (node.latest().map(|v| v.number).unwrap_or(0) + 1, 0)
    } else if major {
        (top_major + 1, 0)
    } else {
        (last_major, last_minor + 1)
    }
}

/// Refuses a new version of a node under hold, or reserved by someone else.
fn check_writable(store: &Store, node: &Node, user: i64) -> Result<(), ApiError> {
    if let Some(hold) = node.holds.iter().find_map(|h| store.holds.get(h)) {
        return Err(ApiError::server(format!(
            "A new version cannot be added to '{}': it is under hold '{}'.",
            node.name, hold.name
        )));
    }
    if node.reserved_user_id != 0 && node.reserved_user_id != user {
        return Err(ApiError::server(format!(
            "The item '{}' is reserved by another user.",
            node.name
        )));
    }
    Ok(())
}

/// `POST /api/v{1,2}/nodes/{id}/versions/{n}/promote` (`description`): copies minor version
/// `{n}` of an advanced-versioning document into a new major version (the next major, minor
/// 0), which becomes the latest. The answer is UNCONFIRMED; ours is the one of adding a
/// version: `results.data.{properties, versions}`. Promoting a major version, or a version of
/// a document under standard versioning, is refused with 400.
async fn promote(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let description = req.params.str("description");
    let now = cs.now();
    let now_ms = cs.now_ms();
    let mut store = cs.store();
    let node = store.require(user, id, Perm::AddMajorVersion)?;
    if !node.advanced_versioning {
        return Err(ApiError::bad_request(format!(
            "The item '{}' does not use advanced versioning: there is nothing to promote.",
            node.name
        )));
    }
    check_writable(&store, node, user)?;
    let source = pick(node, req.path_str("n"))?.clone();
    if source.minor == 0 {
        return Err(ApiError::bad_request(format!(
            "Version {}.{} is already a major version.",
            source.major, source.minor
        )));
    }
    let (major, minor) = next_number(node, true);
    let number = node.latest().map(|v| v.number).unwrap_or(0) + 1;
    let version_id = store.next_version_id;
    store.next_version_id += 1;
    let blob = cs.blobs().duplicate(&source.blob, version_id)?;
    let lag = store.index_lag_ms;
    let node = store.live_mut(id)?;
    node.versions.push(Version {
        number,
        major,
        minor,
        version_id,
        blob,
        created: now,
        owner_id: user,
        locked: false,
        description: description.unwrap_or_else(|| source.description.clone()),
        ..source
    });
    node.modified = now;
    node.modify_user_id = user;
    node.metadata_token += 1;
    node.indexed_at_ms = now_ms + lag;
    let node = store.live(id)?;
    let latest = node.latest().expect("a version was just added");
    Ok(v2_data(
        &req,
        json!({
            "properties": properties(&store, node, user),
            "versions": version_json(node, latest),
        }),
    ))
}
