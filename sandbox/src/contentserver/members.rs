//! Users and groups: search (page size capped at 20), one member (v1/v2), group members and
//! memberships.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::auth::user_json;
use super::state::{Member, Store};
use super::wire::{json_ok, v2_collection, v2_data, ApiError, ApiResult, Page, Req};
use super::ContentServer;

/// pyxecm: "OTCS does not allow values > 20"; the default page size is 10.
const MEMBER_PAGE_CAP: usize = 20;
const MEMBER_PAGE_DEFAULT: i64 = 10;

/// The member routes.
pub(crate) fn routes() -> Router<ContentServer> {
    Router::new()
        .route("/api/v2/members", get(search))
        .route("/api/v2/members/memberof", get(member_of))
        .route("/api/v2/members/{id}", get(one))
        .route("/api/v1/members/{id}", get(one_v1))
        .route("/api/v2/members/{id}/members", get(group_members))
        .route("/api/v2/members/{id}/memberof", get(member_of))
}

fn item(store: &Store, m: &Member) -> Value {
    json!({ "data": { "properties": user_json(store, m.id) } })
}

fn contains(hay: &str, needle: &str) -> bool {
    hay.to_lowercase().contains(&needle.to_lowercase())
}

/// Pages a member list with the member page rules.
fn page_of(req: &Req, total: usize) -> Result<Page, ApiError> {
    let mut page = Page::from_params(&req.params, total, Some(MEMBER_PAGE_CAP))?;
    if req.params.i64("limit")?.is_none() {
        page.limit = MEMBER_PAGE_DEFAULT as usize;
    }
    Ok(page)
}

/// `GET /api/v2/members`: `where_type`, `where_name`, `where_first_name`, `where_last_name`,
/// `where_business_email` (case-insensitive substrings: whether CS matches exactly or by prefix
/// is UNCONFIRMED, substrings are the lenient choice), `query`, `sort`, `limit`, `page`.
async fn search(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    req.user()?;
    let p = &req.params;
    let kind = p.i64("where_type")?;
    let filters: Vec<(&str, Option<String>)> = vec![
        ("name", p.str("where_name")),
        ("first", p.str("where_first_name")),
        ("last", p.str("where_last_name")),
        ("email", p.str("where_business_email")),
    ];
    let query = p.str("query").filter(|q| !q.is_empty());
    let sort = p.str("sort").unwrap_or_else(|| "asc_name".to_owned());
    let store = cs.store();
    let mut found: Vec<&Member> = store
        .members
        .values()
        .filter(|m| kind.is_none_or(|k| m.kind == k))
        .filter(|m| {
            filters.iter().all(|(field, want)| match want {
                None => true,
                Some(w) => contains(
                    match *field {
                        "name" => &m.name,
                        "first" => &m.first_name,
                        "last" => &m.last_name,
                        _ => &m.email,
                    },
                    w,
                ),
            })
        })
        .filter(|m| {
            query.as_ref().is_none_or(|q| {
                [&m.name, &m.first_name, &m.last_name, &m.email]
                    .iter()
                    .any(|f| contains(f, q))
            })
        })
        .collect();
    match sort.as_str() {
        "asc_id" => found.sort_by_key(|m| m.id),
        "desc_id" => found.sort_by_key(|m| std::cmp::Reverse(m.id)),
        "desc_name" => found.sort_by_key(|m| std::cmp::Reverse(m.name.to_lowercase())),
        _ => found.sort_by_key(|m| m.name.to_lowercase()),
    }
    let page = page_of(&req, found.len())?;
    let items: Vec<Value> = found[page.range()]
        .iter()
        .map(|m| item(&store, m))
        .collect();
    Ok(v2_collection(&req, items, &page, &sort))
}

fn member(store: &Store, id: i64) -> Result<&Member, ApiError> {
    store
        .member(id)
        .ok_or_else(|| ApiError::bad_request(format!("Could not get member {id}")))
}

async fn one(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    req.user()?;
    let id = req.id()?;
    let store = cs.store();
    let m = member(&store, id)?;
    Ok(v2_data(
        &req,
        json!({ "properties": user_json(&store, m.id) }),
    ))
}

async fn one_v1(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    req.user()?;
    let id = req.id()?;
    let store = cs.store();
    let m = member(&store, id)?;
    Ok(json_ok(json!({
        "data": user_json(&store, m.id),
        "type": m.kind,
        "type_name": if m.kind == 0 { "User" } else { "Group" },
    })))
}

async fn group_members(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    req.user()?;
    let id = req.id()?;
    let store = cs.store();
    let group = member(&store, id)?;
    if group.kind != 1 {
        return Err(ApiError::bad_request(format!("{id} is not a group.")));
    }
    let members: Vec<&Member> = group
        .members
        .iter()
        .filter_map(|m| store.member(*m))
        .collect();
    let page = page_of(&req, members.len())?;
    let items: Vec<Value> = members[page.range()]
        .iter()
        .map(|m| item(&store, m))
        .collect();
    Ok(v2_collection(&req, items, &page, "asc_name"))
}

/// The groups a member belongs to: `/members/{id}/memberof` or `/members/memberof?id=`.
async fn member_of(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = match req.path.get("id") {
        Some(_) => req.id()?,
        None => req.params.i64("id")?.unwrap_or(user),
    };
    let store = cs.store();
    member(&store, id)?;
    let groups: Vec<&Member> = store
        .groups_of(id)
        .into_iter()
        .filter_map(|g| store.member(g))
        .collect();
    let page = page_of(&req, groups.len())?;
    let items: Vec<Value> = groups[page.range()]
        .iter()
        .map(|m| item(&store, m))
        .collect();
    Ok(v2_collection(&req, items, &page, "asc_name"))
}
