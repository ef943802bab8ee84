//! Classifications, records management (RM) classification and details, and holds.
//!
//! The reference leaves the answers of RM classify, apply hold, remove hold and the hold list
//! on a node UNCONFIRMED; the shapes below are our lenient choice: every one is JSON with a
//! `results` object, and the node hold list reuses the fields of `/v2/holds`.

use axum::extract::State;
use axum::routing::{delete, get, post};
use axum::Router;
use serde_json::{json, Value};

use super::state::{subtype, Hold, Node, Perm, RmRecord, Store, INSUFFICIENT};
use super::wire::{json_ok, v2, v2_data, ApiError, ApiResult, Req};
use super::ContentServer;

/// The records routes.
pub(crate) fn routes() -> Router<ContentServer> {
    let mut r = Router::new()
        .route(
            "/api/v1/nodes/{id}/classifications",
            get(classifications).post(set_classifications),
        )
        .route(
            "/api/v1/nodes/{id}/rmclassifications",
            get(rm_details).post(rm_classify).put(rm_update),
        )
        .route("/api/v2/nodes/{id}/rmclassifications", post(rm_classify))
        .route(
            "/api/v1/nodes/{id}/rmclassifications/{cls}",
            delete(rm_remove),
        )
        .route("/api/v2/holds", get(holds))
        .route("/api/v2/hold", get(hold).delete(delete_hold))
        .route("/api/v1/holds", post(create_hold))
        .route("/api/v1/rmclassifications/applyhold", post(bulk_apply))
        .route("/api/v1/rmclassifications/removehold", post(bulk_remove));
    for v in ["v1", "v2"] {
        r = r
            .route(
                &format!("/api/{v}/nodes/{{id}}/holds"),
                get(node_holds).post(apply_hold),
            )
            .route(
                &format!("/api/{v}/nodes/{{id}}/holds/{{hold}}"),
                delete(remove_hold),
            );
    }
    r
}

fn class_volume(store: &Store) -> i64 {
    store
        .volumes
        .get(&subtype::CLASSIFICATION_VOLUME)
        .copied()
        .unwrap_or(0)
}

/// Administrators and members of "Records Managers" manage holds.
fn is_records_manager(store: &Store, user: i64) -> bool {
    store.is_admin(user)
        || store.groups_of(user).iter().any(|g| {
            store
                .member(*g)
                .is_some_and(|m| m.name == "Records Managers")
        })
}

fn classification_json(store: &Store, id: i64) -> Value {
    let node = store.node(id);
    json!({
        "id": id,
        "name": node.map(|n| n.name.clone()).unwrap_or_default(),
        "type": node.map(|n| n.subtype).unwrap_or(subtype::CLASSIFICATION),
        "inherit_flag": false,
        "management_type": if node.is_some_and(|n| n.subtype == subtype::RM_CLASSIFICATION) { "RM" } else { "" },
        "description": node.map(|n| n.description.clone()).unwrap_or_default(),
    })
}

async fn classifications(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let store = cs.store();
    let node = store.visible(user, id)?;
    let data: Vec<Value> = node
        .classifications
        .iter()
        .map(|c| classification_json(&store, *c))
        .collect();
    Ok(json_ok(json!({
        "data": data,
        "definitions": {},
        "classVolumeID": class_volume(&store),
        "canModify": store.perms(user, node).has(Perm::EditAttributes),
    })))
}

/// The subtree of `id` (itself first) when `apply_to_sub_items` is set, else just `id`.
fn targets(store: &Store, id: i64, sub_items: bool) -> Vec<i64> {
    let mut out = vec![id];
    if sub_items {
        let mut i = 0;
        while i < out.len() {
            if let Some(n) = store.node(out[i]) {
                out.extend(
                    n.children
                        .iter()
                        .filter(|c| store.node(**c).is_some_and(|c| !c.deleted)),
                );
            }
            i += 1;
        }
    }
    out
}

fn class_ids(req: &Req) -> Result<Vec<i64>, ApiError> {
    req.params.ids("class_id")
}

/// `POST /api/v1/nodes/{id}/classifications`: replaces the whole list.
async fn set_classifications(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let classes = class_ids(&req)?;
    let sub = req.params.bool("apply_to_sub_items").unwrap_or(false);
    let mut store = cs.store();
    store.require(user, id, Perm::EditAttributes)?;
    for c in &classes {
        let n = store.live(*c)?;
        if !matches!(
            n.subtype,
            subtype::CLASSIFICATION | subtype::RM_CLASSIFICATION
        ) {
            return Err(ApiError::bad_request(format!(
                "{c} is not a classification."
            )));
        }
    }
    for t in targets(&store, id, sub) {
        if let Some(n) = store.nodes.get_mut(&t) {
            n.classifications = classes.clone();
            n.metadata_token += 1;
        }
    }
    Ok(v2(&req, json!({})))
}

fn rm_token(node: &Node) -> String {
    format!("rm{}", node.metadata_token)
}

fn check_rm_token(req: &Req, node: &Node, needed: bool) -> Result<(), ApiError> {
    match req.params.str("rm_metadataToken").filter(|t| !t.is_empty()) {
        Some(t) if t != rm_token(node) => Err(ApiError::edit_conflict()),
        None if needed => Err(ApiError::edit_conflict()),
        _ => Ok(()),
    }
}

/// `POST /api/v{1,2}/nodes/{id}/rmclassifications`: `class_id`, `apply_to_sub_items`, and
/// `rm_metadataToken` when an RM classification is already there.
async fn rm_classify(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let class = *class_ids(&req)?
        .first()
        .ok_or_else(|| ApiError::missing("class_id"))?;
    let sub = req.params.bool("apply_to_sub_items").unwrap_or(false);
    let date = cs.now().format("%Y-%m-%dT%H:%M:%S").to_string();
    let mut store = cs.store();
    let node = store.require(user, id, Perm::EditAttributes)?;
    check_rm_token(&req, node, node.rm.is_some())?;
    let class_node = store.live(class)?;
    if class_node.subtype != subtype::RM_CLASSIFICATION {
        return Err(ApiError::bad_request(format!(
            "{class} is not a records management classification."
        )));
    }
    for t in targets(&store, id, sub) {
        if let Some(n) = store.nodes.get_mut(&t) {
            n.rm = Some(RmRecord {
                class_id: class,
                record_date: date.clone(),
                status_date: date.clone(),
                file_status: "ACT".to_owned(),
                rsi: String::new(),
                essential: "NO".to_owned(),
                official: false,
                storage: String::new(),
            });
            n.metadata_token += 1;
        }
    }
    let token = rm_token(store.live(id)?);
    Ok(json_ok(json!({
        "links": super::wire::links(&req),
        "results": { "ok": true, "rm_metadataToken": token },
        "rm_metadataToken": token,
    })))
}

fn rm_record_json(store: &Store, rec: &RmRecord) -> Value {
    let class = store.node(rec.class_id);
    let name = class.map(|c| c.name.clone()).unwrap_or_default();
    let file_number = name
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    json!({
        "rmclassification_id": rec.class_id,
        "class_id": rec.class_id,
        "name": name,
        "file_number": file_number,
        "rsi": rec.rsi,
        "record_date": rec.record_date,
        "file_status": rec.file_status,
        "status_date": rec.status_date,
        "essential": rec.essential,
        "official": rec.official,
        "storage": rec.storage,
    })
}

/// `GET /api/v1/nodes/{id}/rmclassifications`: the records details.
async fn rm_details(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let store = cs.store();
    let node = store.visible(user, id)?;
    let data: Vec<Value> = node.rm.iter().map(|r| rm_record_json(&store, r)).collect();
    Ok(json_ok(json!({
        "data": data,
        "definitions": {},
        "rm_metadataToken": rm_token(node),
        "canRMClassify": store.perms(user, node).has(Perm::EditAttributes),
        "classVolumeID": class_volume(&store),
    })))
}

/// `PUT /api/v1/nodes/{id}/rmclassifications`: `rm_metadataToken` (required) and the fields
/// to change.
async fn rm_update(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let mut store = cs.store();
    let node = store.require(user, id, Perm::EditAttributes)?;
    if node.rm.is_none() {
        return Err(ApiError::bad_request(format!(
            "The item '{}' has no records management classification.",
            node.name
        )));
    }
    check_rm_token(&req, node, true)?;
    let p = &req.params;
    let node = store.live_mut(id)?;
    if let Some(rec) = node.rm.as_mut() {
        if let Some(v) = p.str("rsi") {
            rec.rsi = v;
        }
        if let Some(v) = p.str("file_status") {
            rec.file_status = v;
        }
        if let Some(v) = p.str("essential") {
            rec.essential = v;
        }
        if let Some(v) = p.str("storage") {
            rec.storage = v;
        }
        if let Some(v) = p.get("official") {
            rec.official = super::wire::value_bool(v);
        }
        if let Some(v) = p.str("record_date") {
            rec.record_date = v;
        }
    }
    node.metadata_token += 1;
    let token = rm_token(node);
    Ok(v2(&req, json!({ "rm_metadataToken": token })))
}

async fn rm_remove(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let cls = req.path_i64("cls")?;
    let mut store = cs.store();
    let node = store.require(user, id, Perm::EditAttributes)?;
    if node.rm.as_ref().map(|r| r.class_id) != Some(cls) {
        return Err(ApiError::bad_request(format!(
            "The RM classification {cls} is not applied to '{}'.",
            node.name
        )));
    }
    check_rm_token(&req, node, false)?;
    let node = store.live_mut(id)?;
    node.rm = None;
    node.metadata_token += 1;
    Ok(v2(&req, json!({})))
}

fn hold_json(store: &Store, h: &Hold) -> Value {
    let count = store
        .nodes
        .values()
        .filter(|n| !n.deleted && n.holds.contains(&h.id))
        .count();
    json!({
        "HoldID": h.id,
        "HoldName": h.name,
        "HoldType": h.kind,
        "HoldComment": h.comment,
        "ActiveHold": true,
        "AlternateHoldID": h.alternate_id,
        "ParentID": h.parent_id,
        "DateApplied": h.date_applied,
        "DateToRemove": h.date_to_remove,
        "DateRemoved": null,
        "ApplyPatron": h.apply_patron,
        "RemovalPatron": null,
        "RemovalComment": null,
        "EditDate": h.edit_date,
        "EditPatron": h.apply_patron,
        "OBJECT": count,
    })
}

async fn holds(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    req.user()?;
    let store = cs.store();
    let list: Vec<Value> = store.holds.values().map(|h| hold_json(&store, h)).collect();
    Ok(v2_data(&req, json!({ "holds": list })))
}

/// The hold named by `holdname` or `id`.
fn find_hold(store: &Store, req: &Req) -> Result<i64, ApiError> {
    let found = if let Some(name) = req.params.str("holdname") {
        store.holds.values().find(|h| h.name == name).map(|h| h.id)
    } else if let Some(id) = req.params.i64("id")? {
        store.holds.get(&id).map(|h| h.id)
    } else {
        return Err(ApiError::missing("holdname"));
    };
    found.ok_or_else(|| ApiError::bad_request("The hold could not be found."))
}

async fn hold(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    req.user()?;
    let store = cs.store();
    let id = find_hold(&store, &req)?;
    Ok(v2_data(
        &req,
        json!({ "hold": hold_json(&store, &store.holds[&id]) }),
    ))
}

async fn delete_hold(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let mut store = cs.store();
    if !is_records_manager(&store, user) {
        return Err(ApiError::server(INSUFFICIENT));
    }
    let id = find_hold(&store, &req)?;
    store.holds.remove(&id);
    for n in store.nodes.values_mut() {
        n.holds.remove(&id);
    }
    Ok(v2(&req, json!({})))
}

/// `POST /api/v1/holds`: `type`, `name`, `comment`, `date_applied`, `date_to_remove`,
/// `alternate_id`, `parent_id` → `{"holdID": N}`.
async fn create_hold(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let p = &req.params;
    let name = p.str("name").ok_or_else(|| ApiError::missing("name"))?;
    let kind = p.str("type").unwrap_or_else(|| "LEGAL".to_owned());
    let now = cs.now().format("%Y-%m-%dT%H:%M:%S").to_string();
    let mut store = cs.store();
    if !is_records_manager(&store, user) {
        return Err(ApiError::server(INSUFFICIENT));
    }
    if store.holds.values().any(|h| h.name == name) {
        return Err(ApiError::server(format!(
            "A hold with the name '{name}' already exists."
        )));
    }
    let parent_id = match p.i64("parent_id")? {
        Some(pid) => pid,
        None => store.volumes.get(&subtype::RM_VOLUME).copied().unwrap_or(0),
    };
    let id = store.alloc_id();
    store.holds.insert(
        id,
        Hold {
            id,
            name,
            kind,
            comment: p.str("comment").unwrap_or_default(),
            alternate_id: p.str("alternate_id").unwrap_or_default(),
            parent_id,
            date_applied: p.str("date_applied").unwrap_or_else(|| now.clone()),
            date_to_remove: p.str("date_to_remove").filter(|d| !d.is_empty()),
            apply_patron: user,
            edit_date: now,
        },
    );
    Ok(json_ok(
        json!({ "holdID": id, "results": { "holdID": id } }),
    ))
}

fn hold_id(req: &Req) -> Result<i64, ApiError> {
    for key in ["hold_id", "holdID", "id"] {
        if let Some(id) = req.params.i64(key)? {
            return Ok(id);
        }
    }
    Err(ApiError::missing("hold_id"))
}

fn set_hold(store: &mut Store, user: i64, node: i64, hold: i64, on: bool) -> Result<(), ApiError> {
    store.visible(user, node)?;
    if !is_records_manager(store, user) {
        return Err(ApiError::server(INSUFFICIENT));
    }
    if !store.holds.contains_key(&hold) {
        return Err(ApiError::bad_request("The hold could not be found."));
    }
    let n = store.live_mut(node)?;
    if on {
        n.holds.insert(hold);
    } else {
        n.holds.remove(&hold);
    }
    Ok(())
}

/// `POST /api/v1/nodes/{id}/holds`: `hold_id` (in `body` or plain).
async fn apply_hold(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let hold = hold_id(&req)?;
    set_hold(&mut cs.store(), user, id, hold, true)?;
    Ok(v2(&req, json!({})))
}

async fn remove_hold(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let hold = req.path_i64("hold")?;
    set_hold(&mut cs.store(), user, id, hold, false)?;
    Ok(v2(&req, json!({})))
}

/// `GET /api/v1/nodes/{id}/holds`: the holds on a node, with the `/v2/holds` fields.
async fn node_holds(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let store = cs.store();
    let node = store.visible(user, id)?;
    let data: Vec<Value> = node
        .holds
        .iter()
        .filter_map(|h| store.holds.get(h))
        .map(|h| hold_json(&store, h))
        .collect();
    Ok(json_ok(
        json!({ "data": data, "results": { "data": { "holds": data } } }),
    ))
}

/// `POST /api/v1/rmclassifications/{applyhold|removehold}`: plain `holdID` and `ids`
/// (repeated) → `results.ids` (our shape; the reference's source is weak, UNCONFIRMED).
async fn bulk(cs: ContentServer, req: Req, on: bool) -> ApiResult {
    let user = req.user()?;
    let hold = hold_id(&req)?;
    let ids = req.params.ids("ids")?;
    let mut store = cs.store();
    // All or nothing: every node passes the checks of `set_hold` before anything changes.
    for id in &ids {
        store.visible(user, *id)?;
        if !is_records_manager(&store, user) {
            return Err(ApiError::server(INSUFFICIENT));
        }
        if !store.holds.contains_key(&hold) {
            return Err(ApiError::bad_request("The hold could not be found."));
        }
    }
    for id in &ids {
        set_hold(&mut store, user, *id, hold, on)?;
    }
    Ok(v2(&req, json!({ "ids": ids })))
}

async fn bulk_apply(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    bulk(cs, req, true).await
}

async fn bulk_remove(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    bulk(cs, req, false).await
}
