//! Node permissions: owner, owner group, public access and assigned (custom) access; effective
//! permissions of a member. Enforcement itself is in `state.rs` (`Store::require`).

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::state::{is_container, Perm, Perms, Store};
use super::wire::{v2, v2_collection, value_text, ApiError, ApiResult, Page, Req};
use super::ContentServer;

/// Which entry of an access control list a call is about.
#[derive(Debug, Clone, Copy)]
enum Entry {
    Owner,
    Group,
    Public,
}

/// The permission routes.
pub(crate) fn routes() -> Router<ContentServer> {
    Router::new()
        .route("/api/v2/nodes/{id}/permissions", get(list))
        .route(
            "/api/v2/nodes/{id}/permissions/owner",
            get(|s, r| read(s, r, Entry::Owner)).put(|s, r| write(s, r, Entry::Owner)),
        )
        .route(
            "/api/v2/nodes/{id}/permissions/group",
            get(|s, r| read(s, r, Entry::Group)).put(|s, r| write(s, r, Entry::Group)),
        )
        .route(
            "/api/v2/nodes/{id}/permissions/public",
            get(|s, r| read(s, r, Entry::Public)).put(|s, r| write(s, r, Entry::Public)),
        )
        .route("/api/v2/nodes/{id}/permissions/custom", post(add_custom))
        .route(
            "/api/v2/nodes/{id}/permissions/custom/{right}",
            axum::routing::put(update_custom).delete(remove_custom),
        )
        .route(
            "/api/v2/nodes/{id}/permissions/effective/{right}",
            get(effective),
        )
}

fn entry_json(kind: &str, right_id: Option<i64>, perms: Perms) -> Value {
    json!({ "data": { "permissions": {
        "permissions": perms.names(),
        "right_id": right_id,
        "type": kind,
    }}})
}

async fn list(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let store = cs.store();
    let node = store.visible(user, id)?;
    let mut items = vec![
        entry_json("owner", Some(node.owner_user_id), node.acl.owner),
        entry_json("group", Some(node.owner_group_id), node.acl.group),
        entry_json("public", None, node.acl.public),
    ];
    for (member, perms) in &node.acl.custom {
        items.push(entry_json("custom", Some(*member), *perms));
    }
    let page = Page::from_params(&req.params, items.len(), None)?;
    let slice = items[page.range()].to_vec();
    Ok(v2_collection(&req, slice, &page, "asc_type"))
}

async fn read(State(cs): State<ContentServer>, req: Req, entry: Entry) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let store = cs.store();
    let node = store.visible(user, id)?;
    let item = match entry {
        Entry::Owner => entry_json("owner", Some(node.owner_user_id), node.acl.owner),
        Entry::Group => entry_json("group", Some(node.owner_group_id), node.acl.group),
        Entry::Public => entry_json("public", None, node.acl.public),
    };
    Ok(v2(&req, item))
}

/// The `permissions` list of the request (prerequisites added, see `Perms::from_names`).
fn requested(req: &Req) -> Result<Perms, ApiError> {
    let names: Vec<String> = req
        .params
        .all("permissions")
        .iter()
        .filter_map(value_text)
        .collect();
    Perms::from_names(names.iter().map(String::as_str))
}

/// The nodes `apply_to` reaches: 0 this item, 1 sub-items, 2 this and sub-items, 3 this and
/// immediate sub-items. Anything but 0 on a non-container is an error.
fn reach(store: &Store, id: i64, req: &Req) -> Result<Vec<i64>, ApiError> {
    let apply_to = req.params.i64("apply_to")?.unwrap_or(0);
    let node = store.live(id)?;
    if apply_to != 0 && !is_container(node.subtype) {
        return Err(ApiError::bad_request(
            "The 'apply_to' value must be 0 for an item that is not a container.",
        ));
    }
    let live_kids = |n: i64| -> Vec<i64> {
        store
            .node(n)
            .map(|n| {
                n.children
                    .iter()
                    .copied()
                    .filter(|c| store.node(*c).is_some_and(|c| !c.deleted))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut all_below = Vec::new();
    let mut queue = live_kids(id);
    while let Some(n) = queue.pop() {
        all_below.push(n);
        queue.extend(live_kids(n));
    }
    Ok(match apply_to {
        0 => vec![id],
        1 => all_below,
        2 => std::iter::once(id).chain(all_below).collect(),
        3 => std::iter::once(id).chain(live_kids(id)).collect(),
        other => {
            return Err(ApiError::bad_request(format!(
                "Invalid value for 'apply_to': {other}."
            )))
        }
    })
}

fn check_member(store: &Store, id: i64) -> Result<(), ApiError> {
    if store.member(id).is_none() {
        return Err(ApiError::bad_request(format!(
            "The user or group {id} does not exist."
        )));
    }
    Ok(())
}

/// `PUT .../permissions/{owner|group|public}`: `permissions`, `right_id` (new owner or group),
/// `apply_to`.
async fn write(State(cs): State<ContentServer>, req: Req, entry: Entry) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let perms = requested(&req)?;
    let right = req.params.i64("right_id")?;
    let mut store = cs.store();
    store.require(user, id, Perm::EditPermissions)?;
    if let Some(r) = right {
        check_member(&store, r)?;
    }
    for n in reach(&store, id, &req)? {
        if let Some(node) = store.nodes.get_mut(&n) {
            match entry {
                Entry::Owner => {
                    node.acl.owner = perms;
                    if let Some(r) = right {
                        node.owner_user_id = r;
                    }
                }
                Entry::Group => {
                    node.acl.group = perms;
                    if let Some(r) = right {
                        node.owner_group_id = r;
                    }
                }
                Entry::Public => node.acl.public = perms,
            }
        }
    }
    Ok(v2(&req, json!({})))
}

fn set_custom(cs: &ContentServer, req: &Req, right: i64, perms: Option<Perms>) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let mut store = cs.store();
    store.require(user, id, Perm::EditPermissions)?;
    check_member(&store, right)?;
    for n in reach(&store, id, req)? {
        if let Some(node) = store.nodes.get_mut(&n) {
            match perms {
                Some(p) => {
                    node.acl.custom.insert(right, p);
                }
                None => {
                    node.acl.custom.remove(&right);
                }
            }
        }
    }
    Ok(v2(req, json!({})))
}

/// `POST .../permissions/custom`: `right_id`, `permissions`, `apply_to`.
async fn add_custom(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let right = req
        .params
        .i64("right_id")?
        .ok_or_else(|| ApiError::missing("right_id"))?;
    let perms = requested(&req)?;
    set_custom(&cs, &req, right, Some(perms))
}

async fn update_custom(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let right = req.path_i64("right")?;
    let perms = requested(&req)?;
    set_custom(&cs, &req, right, Some(perms))
}

async fn remove_custom(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let right = req.path_i64("right")?;
    set_custom(&cs, &req, right, None)
}

/// `GET .../permissions/effective/{right}`: what a member may do on the node.
async fn effective(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let right = req.path_i64("right")?;
    let store = cs.store();
    let node = store.visible(user, id)?;
    check_member(&store, right)?;
    let perms = store.perms(right, node);
    Ok(v2(&req, entry_json("effective", Some(right), perms)))
}
