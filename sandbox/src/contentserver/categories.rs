//! Categories on nodes: list, one, apply, update, remove, inheritance; values validated against
//! the seeded definitions (required, type, valid values, multi-value maximum, set rows).
//!
//! How a real server words its validation errors is UNCONFIRMED; the messages below are ours
//! except the two the reference quotes (already applied, non-matching attribute).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{json, Map, Value};

use super::state::{AttrDef, AttrKind, CategoryDef, Node, Perm, Store};
use super::wire::{v2, value_i64, value_text, ApiError, ApiResult, Req};
use super::ContentServer;

/// The category routes.
pub(crate) fn routes() -> Router<ContentServer> {
    let mut r = Router::new();
    for v in ["v1", "v2"] {
        r = r
            .route(
                &format!("/api/{v}/nodes/{{id}}/categories"),
                get(list).post(apply),
            )
            .route(
                &format!("/api/{v}/nodes/{{id}}/categories/{{cat}}"),
                get(one).put(update).delete(remove),
            )
            .route(
                &format!("/api/{v}/nodes/{{id}}/categories/{{cat}}/inheritance"),
                post(inheritance).delete(inheritance),
            );
    }
    r.route(
        "/api/v1/forms/nodes/categories/create",
        get(|s, r| form(s, r, false)),
    )
    .route(
        "/api/v1/forms/nodes/categories/update",
        get(|s, r| form(s, r, true)),
    )
}

fn definition(store: &Store, cat_id: i64) -> Result<&CategoryDef, ApiError> {
    store
        .categories
        .get(&cat_id)
        .ok_or_else(|| ApiError::bad_request(format!("Could not get a node for {cat_id}")))
}

/// The maximum length every text attribute advertises (`max_length` in metadata, `maxLength`
/// in forms) and that values are held to: 248, the limit the reference gives for names
/// (§15). Real servers let each attribute set its own; the seed uses this one throughout.
pub(crate) const TEXT_MAX_LENGTH: usize = 248;

/// Attribute values per category id, as a request gives them.
pub(crate) type CategoryValues = Vec<(i64, Map<String, Value>)>;

/// Splits a `roles.categories` object into values per category. Accepts the flat v2 form
/// (`{"9830_2": "x", "6228_1": {}}`) and the form nested by category id (v1, workspaces).
pub(crate) fn split_roles(cats: &Value) -> Result<CategoryValues, ApiError> {
    let cats = match cats {
        Value::String(s) if s.trim().is_empty() => return Ok(Vec::new()),
        Value::String(s) => serde_json::from_str::<Value>(s)
            .map_err(|_| ApiError::bad_request("Invalid value for 'roles.categories'."))?,
        other => other.clone(),
    };
    let Value::Object(cats) = cats else {
        return Err(ApiError::bad_request(
            "Invalid value for 'roles.categories'.",
        ));
    };
    let mut out: BTreeMap<i64, Map<String, Value>> = BTreeMap::new();
    for (key, value) in cats {
        let cat_part = key.split('_').next().unwrap_or_default();
        let cat: i64 = cat_part
            .parse()
            .map_err(|_| ApiError::bad_request(format!("Invalid category key '{key}'.")))?;
        if !key.contains('_') {
            // Nested form: {"9830": {"9830_2": "x"}}.
            let Value::Object(values) = value else {
                return Err(ApiError::bad_request(format!(
                    "Invalid values for category {cat}."
                )));
            };
            out.entry(cat).or_default().extend(values);
        } else {
            out.entry(cat).or_default().insert(key, value);
        }
    }
    Ok(out.into_iter().collect())
}

/// The stored values a category starts with: every attribute present, empty; sets with one row.
fn empty_values(def: &CategoryDef) -> BTreeMap<String, Value> {
    let mut values = BTreeMap::new();
    for a in &def.attributes {
        if a.kind == AttrKind::Set {
            for m in &a.set {
                values.insert(format!("{}_{}_1_{}", def.id, a.id, m.id), empty_of(m));
            }
        } else {
            values.insert(format!("{}_{}", def.id, a.id), empty_of(a));
        }
    }
    values
}

fn empty_of(a: &AttrDef) -> Value {
    if a.max_values > 1 {
        json!([])
    } else {
        Value::Null
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.iter().all(is_empty),
        _ => false,
    }
}

/// Validates `updates` against category `cat_id` and returns the complete new values, starting
/// from `existing` (or empty values). Required attributes must end up with a value.
pub(crate) fn build_values(
    store: &Store,
    cat_id: i64,
    existing: Option<&BTreeMap<String, Value>>,
    updates: &Map<String, Value>,
) -> Result<BTreeMap<String, Value>, ApiError> {
    let def = definition(store, cat_id)?;
    let mut values = existing.cloned().unwrap_or_else(|| empty_values(def));
    for (key, value) in updates {
        let parts: Vec<&str> = key.split('_').collect();
        if parts.first() != Some(&cat_id.to_string().as_str()) {
            return Err(ApiError::bad_request(format!(
                "Category ID '{cat_id}' was specified for Categories Update, but a \
                 non-matching attribute ('{key}') was found"
            )));
        }
        let unknown = || {
            ApiError::bad_request(format!(
                "The attribute '{key}' does not exist in category '{}'.",
                def.name
            ))
        };
        let attr_id: i64 = match parts.get(1) {
            Some(a) => a.parse().map_err(|_| unknown())?,
            None => return Err(unknown()),
        };
        // `{cat}_1` is the category object itself ("apply with defaults").
        if attr_id == 1 && parts.len() == 2 {
            continue;
        }
        let attr = def
            .attributes
            .iter()
            .find(|a| a.id == attr_id)
            .ok_or_else(unknown)?;
        match (attr.kind, parts.len()) {
            (AttrKind::Set, 4) => {
                let row: usize = parts[2].parse().map_err(|_| unknown())?;
                let member_id: i64 = parts[3].parse().map_err(|_| unknown())?;
                let member = attr
                    .set
                    .iter()
                    .find(|m| m.id == member_id)
                    .ok_or_else(unknown)?;
                if row == 0 || row > attr.max_rows {
                    return Err(ApiError::bad_request(format!(
                        "The set '{}' has at most {} rows; row {row} does not exist.",
                        attr.name, attr.max_rows
                    )));
                }
                for r in 1..=row {
                    for m in &attr.set {
                        values
                            .entry(format!("{cat_id}_{}_{r}_{}", attr.id, m.id))
                            .or_insert_with(|| empty_of(m));
                    }
                }
                values.insert(key.clone(), check_value(store, member, value)?);
            }
            (AttrKind::Set, _) => {
                return Err(ApiError::bad_request(format!(
                    "The attribute '{key}' is a set: give its values as \
                     '{cat_id}_{}_{{row}}_{{attribute}}'.",
                    attr.id
                )))
            }
            (_, 2) => {
                values.insert(key.clone(), check_value(store, attr, value)?);
            }
            _ => return Err(unknown()),
        }
    }
    for a in &def.attributes {
        if a.required && a.kind != AttrKind::Set {
            let key = format!("{cat_id}_{}", a.id);
            if values.get(&key).is_none_or(is_empty) {
                return Err(ApiError::bad_request(format!(
                    "The attribute '{}' ({key}) of category '{}' is required.",
                    a.name, def.name
                )));
            }
        }
    }
    Ok(values)
}

/// Checks one attribute value (scalar or multi-value list) and returns it normalised.
fn check_value(store: &Store, attr: &AttrDef, value: &Value) -> Result<Value, ApiError> {
    let items = match value {
        Value::Array(items) => items.clone(),
        Value::String(s) if attr.max_values > 1 && s.trim_start().starts_with('[') => {
            match serde_json::from_str::<Value>(s) {
                Ok(Value::Array(items)) => items,
                _ => vec![value.clone()],
            }
        }
        other => vec![other.clone()],
    };
    if attr.max_values <= 1 {
        let non_empty: Vec<&Value> = items.iter().filter(|v| !is_empty(v)).collect();
        return match non_empty.len() {
            0 => Ok(Value::Null),
            1 => check_scalar(store, attr, non_empty[0]),
            _ => Err(ApiError::bad_request(format!(
                "The attribute '{}' takes a single value.",
                attr.name
            ))),
        };
    }
    if items.len() > attr.max_values {
        return Err(ApiError::bad_request(format!(
            "The attribute '{}' takes at most {} values.",
            attr.name, attr.max_values
        )));
    }
    // Empty leading positions are kept, so `["", "", "v"]` sets the third value.
    let out = items
        .iter()
        .map(|v| {
            if is_empty(v) {
                Ok(Value::Null)
            } else {
                check_scalar(store, attr, v)
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Value::Array(out))
}

fn check_scalar(store: &Store, attr: &AttrDef, v: &Value) -> Result<Value, ApiError> {
    let text = value_text(v).unwrap_or_default();
    let invalid = |expected: &str| {
        ApiError::bad_request(format!(
            "Invalid value '{text}' for attribute '{}': expected {expected}.",
            attr.name
        ))
    };
    let out = match attr.kind {
        AttrKind::Text => {
            if text.chars().count() > TEXT_MAX_LENGTH {
                return Err(ApiError::bad_request(format!(
                    "The value for attribute '{}' is too long: at most {TEXT_MAX_LENGTH} \
                     characters are allowed, {} were given.",
                    attr.name,
                    text.chars().count()
                )));
            }
            json!(text)
        }
        AttrKind::Boolean => match v {
            Value::Bool(b) => json!(b),
            _ => match text.to_ascii_lowercase().as_str() {
                "true" | "1" => json!(true),
                "false" | "0" => json!(false),
                _ => return Err(invalid("true or false")),
            },
        },
        AttrKind::Date => {
            json!(normalise_date(&text).ok_or_else(|| invalid("a date (YYYY-MM-DD)"))?)
        }
        AttrKind::User => {
            let id = value_i64(v).ok_or_else(|| invalid("a user id"))?;
            if store.member(id).is_none_or(|m| m.kind != 0) {
                return Err(invalid("the id of an existing user"));
            }
            json!(id)
        }
        AttrKind::Set => return Err(invalid("a set row")),
    };
    if !attr.valid_values.is_empty() && !attr.valid_values.contains(&text) {
        return Err(ApiError::bad_request(format!(
            "The value '{text}' is not one of the valid values for attribute '{}': {}.",
            attr.name,
            attr.valid_values.join(", ")
        )));
    }
    Ok(out)
}

/// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS` (optionally with `Z`) as `YYYY-MM-DDTHH:MM:SS`.
fn normalise_date(s: &str) -> Option<String> {
    let s = s.trim().trim_end_matches('Z');
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(format!("{}T00:00:00", d.format("%Y-%m-%d")));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .ok()
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S").to_string())
}

/// The `metadata.categories` definitions of a category.
pub(crate) fn metadata_json(def: &CategoryDef) -> Value {
    let mut meta = Map::new();
    meta.insert(
        def.id.to_string(),
        json!({"key": def.id.to_string(), "name": def.name, "persona": "category", "type": -18,
               "multi_value": false, "required": false, "read_only": true}),
    );
    for a in &def.attributes {
        if a.kind == AttrKind::Set {
            let key = format!("{}_{}", def.id, a.id);
            meta.insert(key.clone(), attr_meta(&key, a, "set"));
            for m in &a.set {
                let key = format!("{}_{}_x_{}", def.id, a.id, m.id);
                meta.insert(key.clone(), attr_meta(&key, m, ""));
            }
        } else {
            let key = format!("{}_{}", def.id, a.id);
            meta.insert(key.clone(), attr_meta(&key, a, ""));
        }
    }
    Value::Object(meta)
}

fn attr_meta(key: &str, a: &AttrDef, persona: &str) -> Value {
    let (code, name) = a.kind.code();
    json!({
        "key": key,
        "name": a.name,
        "type": code,
        "type_name": name,
        "persona": persona,
        "required": a.required,
        "multi_value": a.max_values > 1 || a.kind == AttrKind::Set,
        "multi_value_length_max": if a.kind == AttrKind::Set { a.max_rows } else { a.max_values },
        "valid_values": a.valid_values,
        "max_length": if a.kind == AttrKind::Text { json!(TEXT_MAX_LENGTH) } else { Value::Null },
        "read_only": false,
        "hidden": false,
    })
}

/// The values of one category on a node (`data.categories`).
pub(crate) fn values_json(_store: &Store, node: &Node, cat_id: i64) -> Value {
    let values: Map<String, Value> = node
        .categories
        .get(&cat_id)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(values)
}

fn category_item(store: &Store, node: &Node, cat_id: i64) -> Value {
    let meta = store
        .categories
        .get(&cat_id)
        .map(metadata_json)
        .unwrap_or_default();
    json!({
        "data": { "categories": values_json(store, node, cat_id) },
        "metadata": { "categories": meta },
        "metadata_map": { "categories": {} },
        "metadata_order": { "categories": [cat_id.to_string()] },
    })
}

async fn list(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let store = cs.store();
    let node = store.visible(user, id)?;
    let items: Vec<Value> = node
        .categories
        .keys()
        .map(|c| category_item(&store, node, *c))
        .collect();
    Ok(v2(&req, Value::Array(items)))
}

fn applied_cat(req: &Req, node: &Node) -> Result<i64, ApiError> {
    let cat = req.path_i64("cat")?;
    if !node.categories.contains_key(&cat) {
        return Err(ApiError::bad_request(format!(
            "The category {cat} is not applied to '{}'.",
            node.name
        )));
    }
    Ok(cat)
}

async fn one(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let store = cs.store();
    let node = store.visible(user, id)?;
    let cat = applied_cat(&req, node)?;
    let item = category_item(&store, node, cat);
    Ok(v2(
        &req,
        json!({ "data": item["data"], "metadata": item["metadata"] }),
    ))
}

/// The attribute values in the request: every `{number}_...` key; repeated plain keys make a
/// multi-value list.
fn attribute_updates(req: &Req) -> Map<String, Value> {
    let mut out = Map::new();
    for key in req.params.keys() {
        let first = key.split('_').next().unwrap_or_default();
        if !key.contains('_') || first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let all = req.params.all(key);
        let value = match req.params.get(key) {
            Some(Value::Array(a)) => Value::Array(a.clone()),
            _ if all.len() > 1 => Value::Array(all),
            Some(v) => v.clone(),
            None => Value::Null,
        };
        out.insert(key.clone(), value);
    }
    out
}

/// `POST /api/v2/nodes/{id}/categories`: `category_id` plus `{cat}_{attr}` fields.
async fn apply(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let cat = req
        .params
        .i64("category_id")?
        .ok_or_else(|| ApiError::missing("category_id"))?;
    let now_ms = cs.now_ms();
    let mut store = cs.store();
    let node = store.require(user, id, Perm::EditAttributes)?;
    let def = definition(&store, cat)?;
    if node.categories.contains_key(&cat) {
        return Err(ApiError::bad_request(format!(
            "The attribute group '{}' already exists",
            def.name
        )));
    }
    let values = build_values(&store, cat, None, &attribute_updates(&req))?;
    let lag = store.index_lag_ms;
    let node = store.live_mut(id)?;
    node.categories.insert(cat, values);
    node.metadata_token += 1;
    node.indexed_at_ms = now_ms + lag;
    Ok(v2(&req, json!({})))
}

/// `PUT /api/v2/nodes/{id}/categories/{cat}`: `{cat}_{attr}` fields, optional `metadata_token`.
async fn update(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let now_ms = cs.now_ms();
    let mut store = cs.store();
    let node = store.require(user, id, Perm::EditAttributes)?;
    let cat = applied_cat(&req, node)?;
    let token = req.params.str("metadata_token").or_else(|| {
        req.params
            .get(&format!("{cat}_1"))
            .and_then(|v| v.get("metadata_token"))
            .and_then(value_text)
    });
    if let Some(token) = token.filter(|t| !t.is_empty()) {
        if token != node.metadata_token.to_string() {
            return Err(ApiError::edit_conflict());
        }
    }
    if let Some(other) = req.params.i64("category_id")?.filter(|c| *c != cat) {
        return Err(ApiError::bad_request(format!(
            "Category ID '{other}' was specified for Categories Update, but a non-matching \
             attribute ('{cat}') was found"
        )));
    }
    let values = build_values(
        &store,
        cat,
        node.categories.get(&cat),
        &attribute_updates(&req),
    )?;
    let lag = store.index_lag_ms;
    let node = store.live_mut(id)?;
    node.categories.insert(cat, values);
    node.metadata_token += 1;
    node.indexed_at_ms = now_ms + lag;
    Ok(v2(&req, json!({})))
}

async fn remove(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let mut store = cs.store();
    let node = store.require(user, id, Perm::EditAttributes)?;
    let cat = applied_cat(&req, node)?;
    let node = store.live_mut(id)?;
    node.categories.remove(&cat);
    node.metadata_token += 1;
    Ok(v2(&req, json!({})))
}

/// `POST`/`DELETE .../categories/{cat}/inheritance`: accepted and checked; the emulator does
/// not propagate categories to new sub-items, so there is nothing more to change.
async fn inheritance(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let store = cs.store();
    let node = store.require(user, id, Perm::EditAttributes)?;
    applied_cat(&req, node)?;
    Ok(v2(&req, json!({})))
}

/// The Alpaca schema of one attribute of category `cat`.
fn schema_of(cat: i64, a: &AttrDef) -> Value {
    let kind = match a.kind {
        AttrKind::Text | AttrKind::Date => "string",
        AttrKind::User => "integer",
        AttrKind::Boolean => "boolean",
        AttrKind::Set => "object",
    };
    let mut s = json!({ "title": a.name, "type": kind, "required": a.required });
    if a.kind == AttrKind::Text {
        s["maxLength"] = json!(TEXT_MAX_LENGTH);
    }
    if a.kind == AttrKind::Set {
        // The rows' attributes, keyed `{cat}_{set}_x_{attr}` as in metadata (reference §8).
        let members: Map<String, Value> = a
            .set
            .iter()
            .map(|m| (format!("{cat}_{}_x_{}", a.id, m.id), schema_of(cat, m)))
            .collect();
        s["properties"] = Value::Object(members);
    }
    if a.kind == AttrKind::Date {
        s["format"] = json!("date");
    }
    if !a.valid_values.is_empty() {
        s["enum"] = json!(a.valid_values);
    }
    if a.max_values > 1 || a.kind == AttrKind::Set {
        let max = if a.kind == AttrKind::Set {
            a.max_rows
        } else {
            a.max_values
        };
        s = json!({ "title": a.name, "type": "array", "maxItems": max, "items": s });
    }
    s
}

/// `GET /api/v1/forms/nodes/categories/{create|update}?id={node}&category_id={cat}`: the
/// Alpaca form of a category; the update form carries the values and, in `{cat}_1`, the
/// node's `metadata_token`. The form sits at the top level and again in `forms[0]`.
async fn form(State(cs): State<ContentServer>, req: Req, update: bool) -> ApiResult {
    let user = req.user()?;
    let id = req
        .params
        .i64("id")?
        .ok_or_else(|| ApiError::missing("id"))?;
    let cat = req
        .params
        .i64("category_id")?
        .ok_or_else(|| ApiError::missing("category_id"))?;
    let store = cs.store();
    let node = store.visible(user, id)?;
    let def = definition(&store, cat)?;
    let values = if update {
        node.categories.get(&cat).cloned().ok_or_else(|| {
            ApiError::bad_request(format!(
                "The category {cat} is not applied to '{}'.",
                node.name
            ))
        })?
    } else {
        empty_values(def)
    };
    let mut data: Map<String, Value> = values.into_iter().collect();
    data.insert(
        format!("{cat}_1"),
        json!({ "metadata_token": if update { node.metadata_token.to_string() } else { String::new() } }),
    );
    let mut props = Map::new();
    let mut fields = Map::new();
    for a in &def.attributes {
        props.insert(format!("{cat}_{}", a.id), schema_of(cat, a));
        for (key, kind) in std::iter::once((format!("{cat}_{}", a.id), a.kind)).chain(
            a.set
                .iter()
                .map(|m| (format!("{cat}_{}_x_{}", a.id, m.id), m.kind)),
        ) {
            // The Alpaca field type tells a user picker from a plain integer.
            let field = match kind {
                AttrKind::User => Some("otcs_user_picker"),
                AttrKind::Date => Some("date"),
                _ => None,
            };
            if let Some(field) = field {
                fields.insert(key, json!({ "type": field }));
            }
        }
    }
    let form = json!({
        "data": data,
        "options": { "fields": fields, "form": {} },
        "schema": { "title": def.name, "type": "object", "properties": props },
    });
    Ok(super::wire::json_ok(json!({
        "data": form["data"],
        "options": form["options"],
        "schema": form["schema"],
        "forms": [form],
    })))
}
