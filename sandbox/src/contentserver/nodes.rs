//! Nodes: get (v1/v2), create (folder, document, URL, shortcut), copy, update (rename,
//! describe, move, reserve), delete, children paging, volumes, ancestors, the recycle bin and
//! the name check.

use std::cmp::Ordering;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::categories;
use super::state::{
    check_name, is_container, subtype, type_name, Node, Perm, Store, Version, NOT_ACCESSIBLE,
};
use super::versions::version_json;
use super::wire::{
    json_ok, v2, v2_collection, v2_data, value_i64, value_text, ApiError, ApiResult, Page, Req,
};
use super::ContentServer;

/// The node routes.
pub(crate) fn routes() -> Router<ContentServer> {
    let mut r = Router::new();
    for v in ["v1", "v2"] {
        r = r
            .route(&format!("/api/{v}/nodes"), post(create))
            .route(
                &format!("/api/{v}/nodes/{{id}}"),
                get(get_node).put(update).delete(delete),
            )
            .route(&format!("/api/{v}/nodes/{{id}}/nodes"), get(children))
            .route(&format!("/api/{v}/nodes/{{id}}/ancestors"), get(ancestors));
    }
    r.route("/api/v2/nodes/list", post(list))
        .route("/api/v2/volumes", get(volumes))
        .route("/api/v2/volumes/{id}", get(volume))
        .route("/api/v2/volumes/recyclebin/nodes/purge", post(purge))
        .route("/api/v2/volumes/recyclebin/nodes/restore", post(restore))
        .route("/api/v1/validation/nodes/names", post(check_names))
}

/// Whether the request came through a v1 path.
pub(crate) fn is_v1(req: &Req) -> bool {
    req.href.contains("/api/v1/")
}

/// CS's create/modify date form.
pub(crate) fn fmt_date(dt: DateTime<Utc>) -> String {
    dt.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn size_formatted(bytes: u64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{} KB", b.div_ceil(1024)),
        b => format!("{} MB", b.div_ceil(1024 * 1024)),
    }
}

/// The v2 `properties` (v1 `data`) of a node as `viewer` sees it: a container's `size` is the
/// number of children a listing will return to that viewer.
pub(crate) fn properties(store: &Store, node: &Node, viewer: i64) -> Value {
    let container = is_container(node.subtype);
    let child_count = if container {
        store.visible_children(viewer, node).len() as u64
    } else {
        0
    };
    let size = if container {
        child_count
    } else {
        node.byte_size()
    };
    let owner = store
        .member(node.owner_user_id)
        .map(|m| m.name.clone())
        .unwrap_or_default();
    let mut p = json!({
        "id": node.id,
        "parent_id": node.parent_id,
        "volume_id": node.volume_id,
        "name": node.name,
        "name_multilingual": {"en": node.name},
        "description": node.description,
        "description_multilingual": {"en": node.description},
        "type": node.subtype,
        "type_name": type_name(node.subtype),
        "container": container,
        "container_size": child_count,
        "size": size,
        "size_formatted": if container { format!("{child_count} Items") } else { size_formatted(size) },
        "create_date": fmt_date(node.created),
        "create_user_id": node.create_user_id,
        "modify_date": fmt_date(node.modified),
        "modify_user_id": node.modify_user_id,
        "owner": owner,
        "owner_user_id": node.owner_user_id,
        "owner_group_id": node.owner_group_id,
        "reserved": node.reserved_user_id != 0,
        "reserved_date": node.reserved_date.map(fmt_date),
        "reserved_user_id": node.reserved_user_id,
        "favorite": false,
        "hidden": node.hidden,
        "icon": "/img/webdoc/folder.gif",
        "icon_large": "/img/webdoc/folder_large.gif",
        "permissions_model": "advanced",
        "status": null,
        "versionable": node.subtype == subtype::DOCUMENT,
        "versions_control_advanced": node.advanced_versioning,
        "advanced_versioning": node.advanced_versioning,
        "external_create_date": null,
        "external_modify_date": null,
        "external_identity": null,
        "external_identity_type": null,
        "external_source": null,
    });
    let obj = p.as_object_mut().expect("properties is an object");
    for (k, v) in &node.external {
        obj.insert(k.clone(), v.clone());
    }
    if let Some(v) = node.latest() {
        obj.insert("mime_type".into(), json!(v.mime_type));
    }
    if let Some(url) = &node.url {
        obj.insert("url".into(), json!(url));
    }
    if let Some(orig) = node.original_id {
        obj.insert("original_id".into(), json!(orig));
    }
    if let Some(ws) = &node.workspace {
        obj.insert("wnf_att_type_id".into(), json!(ws.type_id));
    }
    p
}

/// Which sections a `fields` parameter asks for, and which property keys (`properties{a,b}`).
struct Fields {
    keys: Option<Vec<String>>,
    categories: bool,
    versions: Option<bool>,
    permissions: bool,
}

impl Fields {
    fn parse(req: &Req) -> Fields {
        let mut f = Fields {
            keys: None,
            categories: false,
            versions: None,
            permissions: false,
        };
        for v in req.params.all("fields") {
            let Some(text) = value_text(&v) else {
                continue;
            };
            let (section, keys) = match text.split_once('{') {
                Some((s, rest)) => (s.to_owned(), Some(rest.trim_end_matches('}').to_owned())),
                None => (text.clone(), None),
            };
            let base = section.split('.').next().unwrap_or_default();
            match base {
                "properties" => {
                    if let Some(keys) = keys {
                        f.keys = Some(keys.split(',').map(|k| k.trim().to_owned()).collect());
                    }
                }
                "categories" => f.categories = true,
                // `versions.element(0)` asks for the latest only.
                "versions" => f.versions = Some(section.contains("element(0)")),
                "permissions" => f.permissions = true,
                _ => {}
            }
        }
        f
    }
}

/// The v2 `data` of a node: `properties` plus the sections `fields` asks for.
pub(crate) fn node_data(store: &Store, node: &Node, viewer: i64, req: &Req) -> Value {
    let fields = Fields::parse(req);
    let mut props = properties(store, node, viewer);
    if let (Some(keys), Value::Object(obj)) = (&fields.keys, &mut props) {
        obj.retain(|k, _| keys.iter().any(|want| want == k));
    }
    let mut data = Map::new();
    data.insert("properties".into(), props);
    if fields.categories {
        let cats: Vec<Value> = node
            .categories
            .keys()
            .map(|c| categories::values_json(store, node, *c))
            .collect();
        data.insert("categories".into(), Value::Array(cats));
    }
    if let Some(latest_only) = fields.versions {
        let versions: Vec<Value> = if latest_only {
            node.latest()
                .map(|v| version_json(node, v))
                .into_iter()
                .collect()
        } else {
            node.versions
                .iter()
                .map(|v| version_json(node, v))
                .collect()
        };
        data.insert("versions".into(), Value::Array(versions));
    }
    if fields.permissions {
        data.insert(
            "permissions".into(),
            json!(store.perms(viewer, node).names()),
        );
    }
    Value::Object(data)
}

async fn get_node(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let store = cs.store();
    let node = store.visible(user, id)?;
    if is_v1(&req) {
        return Ok(json_ok(json!({
            "data": properties(&store, node, user),
            "definitions": {},
            "definitions_map": {},
            "definitions_order": [],
            "type": node.subtype,
            "type_name": type_name(node.subtype),
            "available_actions": [],
            "addable_types": [],
            "perms": store.perms(user, node).names(),
        })));
    }
    let mut results = json!({ "data": node_data(&store, node, user, &req) });
    if req.params.has("metadata") {
        let props = properties(&store, node, user);
        let meta: Map<String, Value> = props
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| {
                (
                    k.clone(),
                    json!({"key": k, "name": k, "type_name": json_type(v)}),
                )
            })
            .collect();
        results["metadata"] = json!({ "properties": meta });
    }
    if req.params.has("state") {
        results["state"] =
            json!({ "properties": { "metadata_token": node.metadata_token.to_string() } });
    }
    Ok(v2(&req, results))
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "Boolean",
        Value::Number(_) => "Integer",
        _ => "String",
    }
}

/// Parses a JSON object that may arrive as a JSON value or as text (plain form field).
pub(crate) fn object_param(req: &Req, key: &str) -> Result<Option<Map<String, Value>>, ApiError> {
    match req.params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o.clone())),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(o)) => Ok(Some(o)),
            _ => Err(ApiError::bad_request(format!(
                "Invalid value for parameter '{key}'."
            ))),
        },
        Some(_) => Err(ApiError::bad_request(format!(
            "Invalid value for parameter '{key}'."
        ))),
    }
}

/// The external metadata a node keeps as sent (on create, update and new versions).
pub(crate) const EXTERNAL_KEYS: [&str; 5] = [
    "external_create_date",
    "external_modify_date",
    "external_source",
    "external_identity",
    "external_identity_type",
];

/// `POST /api/v{1,2}/nodes`: create a folder, document (multipart `file`), URL or shortcut,
/// or copy a node when `original_id` comes without a `type`.
async fn create(State(cs): State<ContentServer>, mut req: Req) -> ApiResult {
    let user = req.user()?;
    let p = &req.params;
    let parent_id = p
        .i64("parent_id")?
        .ok_or_else(|| ApiError::missing("parent_id"))?;
    let kind = p.i64("type")?;
    let original = p.i64("original_id")?;
    // A copy is the one create without `type` (reference §6.2: `original_id`, no `type`);
    // every other create names its subtype. Folders are not assumed.
    let kind = match (kind, original) {
        (Some(kind), _) => kind,
        (None, Some(original)) => return copy(&cs, &req, user, original, parent_id),
        (None, None) => return Err(ApiError::missing("type")),
    };
    let upload = req.upload.take();
    let name = match p.str("name") {
        Some(n) => n,
        None => upload
            .as_ref()
            .map(|u| u.file_name.clone())
            .ok_or_else(|| ApiError::missing("name"))?,
    };
    check_name(&name)?;
    let roles = object_param(&req, "roles")?.unwrap_or_default();
    let now = cs.now();
    let now_ms = cs.now_ms();

    let mut store = cs.store();
    let parent = store.require(user, parent_id, Perm::AddItems)?;
    if !is_container(parent.subtype) {
        return Err(ApiError::bad_request(format!(
            "Items cannot be added to '{}'.",
            parent.name
        )));
    }
    store.check_unique(parent_id, &name, 0)?;
    let mut node = store.new_node(parent_id, kind, &name, user, now, now_ms);
    node.description = p.str("description").unwrap_or_default();
    for key in EXTERNAL_KEYS {
        if let Some(v) = p.get(key) {
            node.external.insert(key.to_owned(), v.clone());
        }
    }
    match kind {
        subtype::FOLDER | 136 | 751 | 298 => {}
        subtype::URL => {
            node.url = Some(p.str("url").ok_or_else(|| ApiError::missing("url"))?);
        }
        subtype::SHORTCUT => {
            let orig = original.ok_or_else(|| ApiError::missing("original_id"))?;
            store.visible(user, orig)?;
            node.original_id = Some(orig);
        }
        subtype::DOCUMENT => {
            let upload = upload.ok_or_else(|| {
                ApiError::bad_request("A document needs a file: send a multipart 'file' part.")
            })?;
            let version_id = store.next_version_id;
            store.next_version_id += 1;
            let file_name = upload.file_name.clone();
            let (size, mime_type, text) =
                (upload.size, upload.mime_type.clone(), upload.text.clone());
            let blob = cs.blobs().keep(upload, version_id)?;
            node.advanced_versioning = p.bool("advanced_versioning").unwrap_or(false);
            node.versions.push(Version {
                number: 1,
                major: 1,
                minor: 0,
                version_id,
                file_name,
                size,
                mime_type,
                description: String::new(),
                created: now,
                owner_id: user,
                blob,
                locked: false,
                text,
            });
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "Creating items of type {other} is not supported here."
            )))
        }
    }
    apply_roles(&store, &mut node, &roles)?;
    let id = store.insert(node);
    tracing::debug!(id, parent_id, kind, "content server node created");
    answer_created(&store, &req, id, user)
}

/// Applies `roles.categories` (flat v2 or nested v1 form) and `roles.classifications`.
pub(crate) fn apply_roles(
    store: &Store,
    node: &mut Node,
    roles: &Map<String, Value>,
) -> Result<(), ApiError> {
    if let Some(cats) = roles.get("categories") {
        for (cat_id, values) in categories::split_roles(cats)? {
            let full = categories::build_values(store, cat_id, None, &values)?;
            node.categories.insert(cat_id, full);
        }
    }
    if let Some(Value::Object(cls)) = roles.get("classifications") {
        for v in cls
            .get("id")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let id =
                value_i64(v).ok_or_else(|| ApiError::bad_request("Invalid classification id."))?;
            store.live(id)?;
            if !node.classifications.contains(&id) {
                node.classifications.push(id);
            }
        }
    }
    Ok(())
}

fn answer_created(store: &Store, req: &Req, id: i64, user: i64) -> ApiResult {
    let node = store.live(id)?;
    if is_v1(req) {
        return Ok(json_ok(json!({ "id": id })));
    }
    Ok(v2_data(req, node_data(store, node, user, req)))
}

/// Copies `original` (and everything below it) under `parent_id`.
fn copy(cs: &ContentServer, req: &Req, user: i64, original: i64, parent_id: i64) -> ApiResult {
    let now = cs.now();
    let now_ms = cs.now_ms();
    let mut store = cs.store();
    let source = store.require(user, original, Perm::SeeContents)?.clone();
    let parent = store.require(user, parent_id, Perm::AddItems)?;
    if !is_container(parent.subtype) {
        return Err(ApiError::bad_request(format!(
            "Items cannot be added to '{}'.",
            parent.name
        )));
    }
    if store.is_within(parent_id, original) {
        return Err(ApiError::bad_request(
            "An item cannot be copied into itself or one of its sub-items.",
        ));
    }
    let name = req
        .params
        .str("name")
        .unwrap_or_else(|| source.name.clone());
    check_name(&name)?;
    store.check_unique(parent_id, &name, 0)?;
    let roles = object_param(req, "roles")?.unwrap_or_default();
    let id = copy_tree(cs, &mut store, &source, parent_id, &name, user, now, now_ms)?;
    if !roles.is_empty() {
        let mut node = store.live(id)?.clone();
        apply_roles(&store, &mut node, &roles)?;
        store.nodes.insert(id, node);
    }
    answer_created(&store, req, id, user)
}

/// Copies one node and its subtree; version files are shared by hard link (they never change).
#[allow(clippy::too_many_arguments)]
pub(crate) fn copy_tree(
    cs: &ContentServer,
    store: &mut Store,
    source: &Node,
    parent_id: i64,
    name: &str,
    user: i64,
    now: DateTime<Utc>,
    now_ms: u64,
) -> Result<i64, ApiError> {
    let mut node = store.new_node(parent_id, source.subtype, name, user, now, now_ms);
    node.description = source.description.clone();
    node.categories = source.categories.clone();
    node.classifications = source.classifications.clone();
    node.url = source.url.clone();
    node.original_id = source.original_id;
    node.external = source.external.clone();
    node.advanced_versioning = source.advanced_versioning;
    for v in &source.versions {
        let version_id = store.next_version_id;
        store.next_version_id += 1;
        let blob = cs.blobs().duplicate(&v.blob, version_id)?;
        node.versions.push(Version {
            version_id,
            blob,
            created: now,
            owner_id: user,
            ..v.clone()
        });
    }
    let id = store.insert(node);
    let kids: Vec<Node> = source
        .children
        .iter()
        .filter_map(|c| store.node(*c))
        .filter(|c| !c.deleted)
        .cloned()
        .collect();
    for child in kids {
        copy_tree(
            cs,
            store,
            &child,
            id,
            &child.name.clone(),
            user,
            now,
            now_ms,
        )?;
    }
    Ok(id)
}

/// `PUT /api/v{1,2}/nodes/{id}`: rename, describe, move, reserve/unreserve, external dates.
async fn update(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let p = &req.params;
    let now = cs.now();
    let now_ms = cs.now_ms();
    let mut store = cs.store();
    let node = store.visible(user, id)?.clone();
    let perms = store.perms(user, &node);
    if let Some(token) = p.str("metadata_token").filter(|t| !t.is_empty()) {
        if token != node.metadata_token.to_string() {
            return Err(ApiError::edit_conflict());
        }
    }
    let mut updated = node.clone();
    let multilingual =
        object_param(&req, "name_multilingual")?.and_then(|m| m.get("en").and_then(value_text));
    if let Some(name) = multilingual.or_else(|| p.str("name")) {
        if name != node.name {
            if !perms.has(Perm::Modify) {
                return Err(ApiError::server(super::state::INSUFFICIENT));
            }
            check_name(&name)?;
            store.check_unique(node.parent_id, &name, id)?;
            updated.name = name;
        }
    }
    let description = object_param(&req, "description_multilingual")?
        .and_then(|m| m.get("en").and_then(value_text))
        .or_else(|| p.str("description"));
    if let Some(description) = description {
        if !perms.has(Perm::Modify) {
            return Err(ApiError::server(super::state::INSUFFICIENT));
        }
        updated.description = description;
    }
    for key in EXTERNAL_KEYS {
        if let Some(v) = p.get(key) {
            updated.external.insert(key.to_owned(), v.clone());
        }
    }
    if p.has("reserved_user_id") {
        let reserve_to = p.get("reserved_user_id").and_then(value_i64).unwrap_or(0);
        if !perms.has(Perm::Reserve) {
            return Err(ApiError::server(super::state::INSUFFICIENT));
        }
        if reserve_to != 0 && node.reserved_user_id != 0 && node.reserved_user_id != reserve_to {
            return Err(ApiError::server(format!(
                "The item '{}' is already reserved.",
                node.name
            )));
        }
        updated.reserved_user_id = reserve_to;
        updated.reserved_date = (reserve_to != 0).then_some(now);
    }
    let new_parent = p.i64("parent_id")?.filter(|np| *np != node.parent_id);
    if let Some(np) = new_parent {
        if node.parent_id == -1 {
            return Err(ApiError::bad_request("A volume cannot be moved."));
        }
        if !perms.has(Perm::Delete) {
            return Err(ApiError::server(super::state::INSUFFICIENT));
        }
        let target = store.require(user, np, Perm::AddItems)?;
        if !is_container(target.subtype) {
            return Err(ApiError::bad_request(format!(
                "Items cannot be added to '{}'.",
                target.name
            )));
        }
        if store.is_within(np, id) {
            return Err(ApiError::bad_request(
                "An item cannot be moved into itself or one of its sub-items.",
            ));
        }
        store.check_unique(np, &updated.name, id)?;
        updated.parent_id = np;
    }
    updated.modified = now;
    updated.modify_user_id = user;
    updated.metadata_token += 1;
    updated.indexed_at_ms = now_ms + store.index_lag_ms;
    if let Some(np) = new_parent {
        if let Some(old) = store.nodes.get_mut(&node.parent_id) {
            old.children.remove(&id);
        }
        if let Some(new) = store.nodes.get_mut(&np) {
            new.children.insert(id);
        }
    }
    store.nodes.insert(id, updated);
    if new_parent.is_some() {
        fix_volumes(&mut store, id);
    }
    Ok(v2(&req, json!({})))
}

/// Recomputes `volume_id` below a moved node.
fn fix_volumes(store: &mut Store, id: i64) {
    let Some(node) = store.node(id) else {
        return;
    };
    let volume = match store.node(node.parent_id) {
        Some(parent) => store.child_volume(parent),
        None => node.volume_id,
    };
    let kids: Vec<i64> = node.children.iter().copied().collect();
    if let Some(n) = store.nodes.get_mut(&id) {
        n.volume_id = volume;
    }
    for k in kids {
        fix_volumes(store, k);
    }
}

/// `DELETE /api/v{1,2}/nodes/{id}`: moves the subtree to the recycle bin, unless something in
/// it is on hold.
async fn delete(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let mut store = cs.store();
    let node = store.require(user, id, Perm::Delete)?;
    if node.parent_id == -1 {
        return Err(ApiError::server(super::state::INSUFFICIENT));
    }
    if let Some((held, hold)) = store.hold_within(id) {
        return Err(ApiError::server(format!(
            "The item '{}' cannot be deleted: it is under hold '{}'.",
            held.name, hold.name
        )));
    }
    set_deleted(&mut store, id, true);
    store.recycle.insert(id);
    Ok(v2(&req, json!({})))
}

fn set_deleted(store: &mut Store, id: i64, deleted: bool) {
    let kids: Vec<i64> = match store.nodes.get_mut(&id) {
        Some(n) => {
            n.deleted = deleted;
            n.children.iter().copied().collect()
        }
        None => return,
    };
    for k in kids {
        set_deleted(store, k, deleted);
    }
}

/// One `where_type` filter.
fn type_matches(filter: i64, node: &Node) -> bool {
    match filter {
        -1 => is_container(node.subtype),
        -2 => true,
        -3 => !is_container(node.subtype),
        t => node.subtype == t,
    }
}

/// Orders children by a CS sort key (`name`, `asc_name`, `desc_modify_date`, ...).
fn compare(sort: &str, a: &Node, b: &Node) -> Ordering {
    let (desc, key) = match sort.split_once('_') {
        Some(("desc", k)) => (true, k),
        Some(("asc", k)) => (false, k),
        _ => (false, sort),
    };
    let ord = match key {
        "id" => a.id.cmp(&b.id),
        "size" => a.byte_size().cmp(&b.byte_size()),
        "type" => a.subtype.cmp(&b.subtype),
        "create_date" => a.created.cmp(&b.created),
        "modify_date" => a.modified.cmp(&b.modified),
        _ => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
    }
    .then(a.id.cmp(&b.id));
    if desc {
        ord.reverse()
    } else {
        ord
    }
}

/// `GET /api/v{1,2}/nodes/{id}/nodes`: children with `where_type`, `where_name` (substring,
/// case-insensitive), `sort`, `page` (1-based) and `limit`.
async fn children(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let store = cs.store();
    let parent = store.visible(user, id)?;
    if !store.perms(user, parent).has(Perm::SeeContents) {
        return Err(ApiError::server(super::state::INSUFFICIENT));
    }
    let p = &req.params;
    let mut filters = Vec::new();
    for v in p.all("where_type") {
        filters.push(
            value_i64(&v)
                .ok_or_else(|| ApiError::bad_request("Invalid value for 'where_type'."))?,
        );
    }
    let where_name = p.str("where_name").unwrap_or_default();
    let needle = where_name.to_lowercase();
    let sort = p
        .str("sort")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "asc_name".to_owned());
    let mut kids: Vec<&Node> = store
        .visible_children(user, parent)
        .into_iter()
        .filter(|c| filters.is_empty() || filters.iter().any(|f| type_matches(*f, c)))
        .filter(|c| needle.is_empty() || c.name.to_lowercase().contains(&needle))
        .collect();
    kids.sort_by(|a, b| compare(&sort, a, b));
    let page = Page::from_params(p, kids.len(), None)?;
    let slice = &kids[page.range()];
    if is_v1(&req) {
        let data: Vec<Value> = slice.iter().map(|c| properties(&store, c, user)).collect();
        let mut out = page.json();
        out["data"] = Value::Array(data);
        out["sort"] = json!(sort);
        out["where_name"] = json!(where_name);
        out["where_type"] = json!(filters);
        return Ok(json_ok(out));
    }
    let items: Vec<Value> = slice
        .iter()
        .map(|c| json!({ "data": node_data(&store, c, user, &req) }))
        .collect();
    Ok(v2_collection(&req, items, &page, &sort))
}

/// `GET /api/v{1,2}/nodes/{id}/ancestors`: root first, the node itself last.
async fn ancestors(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let store = cs.store();
    store.visible(user, id)?;
    let chain: Vec<Value> = store
        .path_of(id)
        .into_iter()
        .map(|n| {
            json!({
                "id": n.id,
                "name": n.name,
                "parent_id": n.parent_id,
                "type": n.subtype,
                "type_name": type_name(n.subtype),
                "volume_id": n.volume_id,
            })
        })
        .collect();
    Ok(json_ok(json!({ "ancestors": chain })))
}

/// `POST /api/v2/nodes/list`: several nodes by id (`ids` repeated); unknown ids are skipped.
async fn list(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let ids = req.params.ids("ids")?;
    let store = cs.store();
    let items: Vec<Value> = ids
        .iter()
        .filter_map(|id| store.visible(user, *id).ok())
        .map(|n| json!({ "data": node_data(&store, n, user, &req) }))
        .collect();
    let page = Page {
        page: 1,
        limit: items.len().max(1),
        total: items.len(),
    };
    Ok(v2_collection(&req, items, &page, "asc_id"))
}

/// The volume node of a volume subtype for `user` (142 is the caller's personal workspace).
fn volume_id(store: &Store, kind: i64, user: i64) -> Option<i64> {
    if kind == subtype::PERSONAL_WORKSPACE {
        store.personal.get(&user).copied()
    } else {
        store.volumes.get(&kind).copied()
    }
}

async fn volumes(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let store = cs.store();
    let mut kinds: Vec<i64> = store.volumes.keys().copied().collect();
    kinds.push(subtype::PERSONAL_WORKSPACE);
    kinds.sort_unstable();
    let items: Vec<Value> = kinds
        .into_iter()
        .filter_map(|k| volume_id(&store, k, user))
        .filter_map(|id| store.visible(user, id).ok())
        .map(|n| json!({ "data": node_data(&store, n, user, &req) }))
        .collect();
    let page = Page {
        page: 1,
        limit: items.len().max(1),
        total: items.len(),
    };
    Ok(v2_collection(&req, items, &page, "asc_id"))
}

/// `GET /api/v2/volumes/{type}`.
async fn volume(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let kind = req.id()?;
    let store = cs.store();
    let id = volume_id(&store, kind, user).ok_or_else(|| ApiError::bad_request(NOT_ACCESSIBLE))?;
    let node = store.visible(user, id)?;
    Ok(v2_data(&req, node_data(&store, node, user, &req)))
}

/// `POST /api/v2/volumes/recyclebin/nodes/purge`: removes deleted nodes and their files.
async fn purge(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let ids = req.params.ids("ids")?;
    let mut store = cs.store();
    let mut done = Vec::new();
    for id in ids {
        if !store.recycle.contains(&id) {
            continue;
        }
        let allowed = store
            .node(id)
            .is_some_and(|n| store.perms(user, n).has(Perm::Delete));
        if !allowed {
            continue;
        }
        store.recycle.remove(&id);
        remove_tree(&cs, &mut store, id);
        done.push(id);
    }
    Ok(v2(&req, json!({ "success": { "ids": done } })))
}

fn remove_tree(cs: &ContentServer, store: &mut Store, id: i64) {
    let Some(node) = store.nodes.remove(&id) else {
        return;
    };
    if let Some(parent) = store.nodes.get_mut(&node.parent_id) {
        parent.children.remove(&id);
    }
    for v in &node.versions {
        cs.blobs().remove(&v.blob);
    }
    for child in node.children {
        remove_tree(cs, store, child);
    }
}

/// `POST /api/v2/volumes/recyclebin/nodes/restore`.
async fn restore(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let ids = req.params.ids("ids")?;
    let mut store = cs.store();
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    let mut errors = Map::new();
    for id in ids {
        let check = (|| {
            if !store.recycle.contains(&id) {
                return Err(NOT_ACCESSIBLE.to_owned());
            }
            let node = store.node(id).ok_or_else(|| NOT_ACCESSIBLE.to_owned())?;
            if !store.perms(user, node).has(Perm::Delete) {
                return Err(super::state::INSUFFICIENT.to_owned());
            }
            store.live(node.parent_id).map_err(|e| e.message)?;
            store
                .check_unique(node.parent_id, &node.name, id)
                .map_err(|e| e.message)
        })();
        match check {
            Ok(()) => {
                store.recycle.remove(&id);
                set_deleted(&mut store, id, false);
                ok.push(id);
            }
            Err(msg) => {
                failed.push(id);
                errors.insert(id.to_string(), json!(msg));
            }
        }
    }
    Ok(v2(
        &req,
        json!({
            "success": { "ids": ok },
            "failure": { "ids": failed, "errors": errors },
        }),
    ))
}

/// `POST /api/v1/validation/nodes/names`: which of `names` already exist under `parent_id`.
async fn check_names(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let parent_id = req
        .params
        .i64("parent_id")?
        .ok_or_else(|| ApiError::missing("parent_id"))?;
    let names: Vec<String> = req
        .params
        .all("names")
        .iter()
        .filter_map(value_text)
        .collect();
    let store = cs.store();
    let parent = store.visible(user, parent_id)?;
    let found: Vec<Value> = names
        .iter()
        .filter_map(|n| store.child_named(parent, n))
        .map(|c| json!({ "name": c.name, "id": c.id, "type": c.subtype }))
        .collect();
    Ok(json_ok(json!({ "results": found })))
}
