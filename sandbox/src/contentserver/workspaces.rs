//! Business workspaces: types with their templates, creation from a template (its sub-items
//! copied, its categories filled from `roles.categories` and validated), get, find, and lookup
//! by business object.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use super::categories;
use super::nodes::{copy_tree, node_data, object_param, properties};
use super::state::{
    check_name, subtype, Node, Perm, Store, WorkspaceInfo, WorkspaceType, NOT_ACCESSIBLE,
};
use super::wire::{json_ok, v2, v2_collection, v2_data, ApiError, ApiResult, Page, Req};
use super::ContentServer;

/// The workspace routes.
pub(crate) fn routes() -> Router<ContentServer> {
    Router::new()
        .route("/api/v2/businessworkspacetypes", get(types))
        .route("/api/v1/businessworkspacetypes/{id}", get(one_type))
        .route("/api/v2/businessworkspaces", get(find).post(create))
        .route("/api/v2/businessworkspaces/{id}", get(one))
        .route(
            "/api/v2/externalsystems/{ext}/botypes/{botype}/boids/{boid}",
            get(by_business_object),
        )
}

fn type_json(store: &Store, t: &WorkspaceType) -> Value {
    let templates: Vec<Value> = t
        .templates
        .iter()
        .filter_map(|id| store.node(*id))
        .map(|n| json!({ "id": n.id, "name": n.name, "subtype": n.subtype }))
        .collect();
    json!({
        "wksp_type_id": t.id,
        "wksp_type_name": t.name,
        "wksp_type_icon": null,
        "rm_enabled": false,
        "ext_system_id": t.ext_system_id,
        "bo_type": t.bo_type,
        "templates": templates,
        "location_id": t.location_id,
    })
}

/// `GET /api/v2/businessworkspacetypes[?ext_system_id=&bo_type=]`.
async fn types(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    req.user()?;
    let ext = req.params.str("ext_system_id");
    let bo = req.params.str("bo_type");
    let store = cs.store();
    let items: Vec<Value> = store
        .ws_types
        .values()
        .filter(|t| ext.as_ref().is_none_or(|e| *e == t.ext_system_id))
        .filter(|t| bo.as_ref().is_none_or(|b| *b == t.bo_type))
        .map(|t| {
            let j = type_json(&store, t);
            json!({ "data": { "properties": j.clone(), "templates": j["templates"], "wksp_info": j } })
        })
        .collect();
    let page = Page {
        page: 1,
        limit: items.len().max(1),
        total: items.len(),
    };
    Ok(v2_collection(&req, items, &page, "asc_name"))
}

async fn one_type(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    req.user()?;
    let id = req.id()?;
    let store = cs.store();
    let t = store
        .ws_types
        .get(&id)
        .ok_or_else(|| ApiError::bad_request(format!("Invalid workspace type {id}.")))?;
    Ok(json_ok(json!({ "data": type_json(&store, t) })))
}

/// `POST /api/v2/businessworkspaces`.
async fn create(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let p = &req.params;
    let type_id = p
        .i64("wksp_type_id")?
        .ok_or_else(|| ApiError::missing("wksp_type_id"))?;
    let template_id = p
        .i64("template_id")?
        .ok_or_else(|| ApiError::missing("template_id"))?;
    let ext = p.str("ext_system_id").filter(|s| !s.is_empty());
    let bo_type = p.str("bo_type").filter(|s| !s.is_empty());
    let bo_id = p.str("bo_id").filter(|s| !s.is_empty());
    let roles = object_param(&req, "roles")?.unwrap_or_default();
    let now = cs.now();
    let now_ms = cs.now_ms();

    let mut store = cs.store();
    let wtype = store
        .ws_types
        .get(&type_id)
        .cloned()
        .ok_or_else(|| ApiError::bad_request(format!("Invalid workspace type {type_id}.")))?;
    if !wtype.templates.contains(&template_id) {
        return Err(ApiError::bad_request(format!(
            "The template {template_id} does not belong to workspace type '{}'.",
            wtype.name
        )));
    }
    let template = store.live(template_id)?.clone();
    let name = match p.str("name").filter(|n| !n.is_empty()) {
        Some(n) => n,
        None => match &bo_id {
            Some(b) => format!("{} {b}", wtype.name),
            None => return Err(ApiError::missing("name")),
        },
    };
    check_name(&name)?;
    // One workspace per business object, as CS enforces.
    if let Some(b) = &bo_id {
        let taken = store.nodes.values().any(|n| {
            !n.deleted
                && n.workspace.as_ref().is_some_and(|w| {
                    w.bo_id.as_deref() == Some(b.as_str())
                        && w.bo_type.as_deref() == bo_type.as_deref()
                        && w.ext_system_id.as_deref() == ext.as_deref()
                })
        });
        if taken {
            return Err(ApiError::server(format!(
                "A business workspace for business object '{b}' already exists."
            )));
        }
    }
    let parent_id = p.i64("parent_id")?.unwrap_or(wtype.location_id);
    store.require(user, parent_id, Perm::AddItems)?;
    store.check_unique(parent_id, &name, 0)?;

    // Category values: the template's categories, filled from roles (nested or flat), validated.
    let mut given: Map<String, Value> = Map::new();
    if let Some(cats) = roles.get("categories") {
        for (cat, values) in categories::split_roles(cats)? {
            given.insert(cat.to_string(), Value::Object(values));
        }
    }
    let mut cat_values = Vec::new();
    let mut cat_ids: Vec<i64> = template.categories.keys().copied().collect();
    for key in given.keys() {
        if let Ok(c) = key.parse::<i64>() {
            if !cat_ids.contains(&c) {
                cat_ids.push(c);
            }
        }
    }
    for cat in cat_ids {
        let updates = match given.get(&cat.to_string()) {
            Some(Value::Object(o)) => o.clone(),
            _ => Map::new(),
        };
        cat_values.push((cat, categories::build_values(&store, cat, None, &updates)?));
    }

    let id = copy_tree(
        &cs, &mut store, &template, parent_id, &name, user, now, now_ms,
    )?;
    let ws: &mut Node = store.live_mut(id)?;
    ws.description = p.str("description").unwrap_or_default();
    ws.categories = cat_values.into_iter().collect();
    ws.workspace = Some(WorkspaceInfo {
        type_id,
        template_id,
        ext_system_id: ext,
        bo_type,
        bo_id,
    });
    for key in ["external_create_date", "external_modify_date"] {
        if let Some(v) = p.get(key) {
            ws.external.insert(key.to_owned(), v.clone());
        }
    }
    let acl = store.live(parent_id)?.acl.clone();
    fix_subtree(&mut store, id, &acl);
    Ok(v2(
        &req,
        json!({ "id": id, "direct_open": true, "sub_folder_id": 0 }),
    ))
}

/// Items below a new workspace take its id as their volume and the parent's permissions.
fn fix_subtree(store: &mut Store, ws: i64, acl: &super::state::Acl) {
    let mut queue: Vec<(i64, i64)> = store
        .node(ws)
        .map(|n| n.children.iter().map(|c| (*c, ws)).collect())
        .unwrap_or_default();
    if let Some(n) = store.nodes.get_mut(&ws) {
        n.acl = acl.clone();
    }
    while let Some((id, volume)) = queue.pop() {
        if let Some(n) = store.nodes.get_mut(&id) {
            n.volume_id = volume;
            n.acl = acl.clone();
            queue.extend(n.children.iter().map(|c| (*c, volume)));
        }
    }
}

fn workspace_data(store: &Store, node: &Node, user: i64, req: &Req) -> Value {
    let mut data = node_data(store, node, user, req);
    if let Some(ws) = &node.workspace {
        let type_name = store
            .ws_types
            .get(&ws.type_id)
            .map(|t| t.name.clone())
            .unwrap_or_default();
        data["business_properties"] = json!({
            "workspace_type_id": ws.type_id,
            "workspace_type_name": type_name,
            "template_id": ws.template_id,
            "ext_system_id": ws.ext_system_id,
            "business_object_type": ws.bo_type,
            "business_object_id": ws.bo_id,
        });
    }
    let cats: Map<String, Value> = node
        .categories
        .keys()
        .map(|c| (c.to_string(), categories::values_json(store, node, *c)))
        .collect();
    data["categories"] = Value::Object(cats);
    data
}

fn workspace(store: &Store, user: i64, id: i64) -> Result<&Node, ApiError> {
    let node = store.visible(user, id)?;
    if node.workspace.is_none() {
        return Err(ApiError::bad_request(NOT_ACCESSIBLE));
    }
    Ok(node)
}

async fn one(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let store = cs.store();
    let node = workspace(&store, user, id)?;
    Ok(v2_data(&req, workspace_data(&store, node, user, &req)))
}

/// `GET /api/v2/businessworkspaces?where_workspace_type_name=|where_workspace_type_id=&where_name=`.
async fn find(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let p = &req.params;
    let type_name = p.str("where_workspace_type_name");
    let type_id = p.i64("where_workspace_type_id")?;
    let name = p.str("where_name").unwrap_or_default().to_lowercase();
    let store = cs.store();
    let mut found: Vec<&Node> = store
        .nodes
        .values()
        .filter(|n| !n.deleted && n.subtype == subtype::BUSINESS_WORKSPACE)
        .filter(|n| {
            n.workspace.as_ref().is_some_and(|w| {
                type_id.is_none_or(|t| t == w.type_id)
                    && type_name.as_ref().is_none_or(|tn| {
                        store
                            .ws_types
                            .get(&w.type_id)
                            .is_some_and(|t| t.name == *tn)
                    })
            })
        })
        .filter(|n| name.is_empty() || n.name.to_lowercase().contains(&name))
        .filter(|n| store.visible(user, n.id).is_ok())
        .collect();
    found.sort_by_key(|n| (n.name.to_lowercase(), n.id));
    let page = Page::from_params(p, found.len(), None)?;
    let items: Vec<Value> = found[page.range()]
        .iter()
        .map(|n| json!({ "data": { "properties": properties(&store, n, user) } }))
        .collect();
    Ok(v2_collection(&req, items, &page, "asc_name"))
}

/// `GET /api/v2/externalsystems/{ext}/botypes/{type}/boids/{id}`.
async fn by_business_object(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let (ext, bo_type, bo_id) = (
        req.path_str("ext").to_owned(),
        req.path_str("botype").to_owned(),
        req.path_str("boid").to_owned(),
    );
    let store = cs.store();
    let node = store
        .nodes
        .values()
        .find(|n| {
            !n.deleted
                && n.workspace.as_ref().is_some_and(|w| {
                    w.ext_system_id.as_deref() == Some(ext.as_str())
                        && w.bo_type.as_deref() == Some(bo_type.as_str())
                        && w.bo_id.as_deref() == Some(bo_id.as_str())
                })
        })
        .ok_or_else(|| ApiError::bad_request(NOT_ACCESSIBLE))?;
    let node = workspace(&store, user, node.id)?;
    Ok(v2_data(&req, workspace_data(&store, node, user, &req)))
}
