//! Workflows: draft processes (create, form, formUpdate, Initiate), the one-call `startwf`,
//! `POST /api/v2/processes`, process status, the caller's assignments, task actions, and map
//! definitions.
//!
//! A process walks its map's steps in order. `custom_action: "Approve"` (or `action:
//! "SendOn"`) finishes the current step and moves to the next, completing the process after
//! the last. `custom_action: "Reject"` stops the process (status `stopped`): real maps route a
//! rejection wherever their designer chose, which a seeded two-step map cannot express.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::{get, post, put};
use axum::Router;
use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use super::nodes::{fmt_date, object_param};
use super::state::{
    subtype, Assignee, Draft, Perm, Process, ProcessStatus, StepOutcome, Store, NOT_ACCESSIBLE,
};
use super::wire::{
    json_ok, v2, v2_collection, value_i64, value_text, ApiError, ApiResult, Page, Req,
};
use super::ContentServer;

/// The workflow routes.
pub(crate) fn routes() -> Router<ContentServer> {
    Router::new()
        .route("/api/v2/draftprocesses", post(create_draft))
        .route("/api/v2/draftprocesses/startwf", post(startwf))
        .route("/api/v2/draftprocesses/{id}", put(update_draft))
        .route("/api/v1/forms/draftprocesses/update", get(draft_form))
        .route("/api/v2/processes", post(start_process))
        .route("/api/v2/processes/{id}/definition", get(definition))
        .route(
            "/api/v2/processes/{id}/subprocesses/{sub}/tasks/{task}",
            put(act),
        )
        .route("/api/v2/workflows/{id}/definition", get(definition))
        .route("/api/v2/workflows/status", get(status_list))
        .route("/api/v2/workflows/status/processes/{id}", get(status))
        .route("/api/v2/members/assignments", get(assignments))
        .route("/api/v2/docworkflows", get(doc_workflows))
}

/// The map a request names, if the caller may see it.
fn map_for(store: &Store, user: i64, map_id: Option<i64>) -> Result<i64, ApiError> {
    let map_id = map_id.ok_or_else(|| ApiError::missing("workflow_id"))?;
    if !store.maps.contains_key(&map_id) {
        return Err(ApiError::bad_request("Could not Loadmap."));
    }
    store
        .visible(user, map_id)
        .map_err(|_| ApiError::bad_request("Could not Loadmap."))?;
    Ok(map_id)
}

/// `doc_ids` as one comma-separated string, a list, or repeated keys; every id must be visible.
fn doc_ids(store: &Store, user: i64, req: &Req) -> Result<Vec<i64>, ApiError> {
    let ids = req.params.ids("doc_ids")?;
    for id in &ids {
        store
            .visible(user, *id)
            .map_err(|_| ApiError::bad_request("Error getting node from ID"))?;
    }
    Ok(ids)
}

/// `POST /api/v2/draftprocesses`: `workflow_id`, `doc_ids`, `AttachDocuments`.
async fn create_draft(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let mut store = cs.store();
    let map_id = map_for(&store, user, req.params.i64("workflow_id")?)?;
    let docs = doc_ids(&store, user, &req)?;
    let id = store.next_work_id;
    store.next_work_id += 1;
    store.drafts.insert(
        id,
        Draft {
            map_id,
            initiator: user,
            doc_ids: docs.clone(),
            values: BTreeMap::new(),
        },
    );
    let mut results = json!({ "draftprocess_id": id });
    if req.params.has("doc_ids") {
        results["workflow_type"] = json!("1_1");
    }
    Ok(v2(&req, results))
}

fn own_draft(store: &Store, user: i64, id: i64) -> Result<&Draft, ApiError> {
    store
        .drafts
        .get(&id)
        .filter(|d| d.initiator == user || store.is_admin(user))
        .ok_or_else(|| ApiError::bad_request(format!("Could not get the draft process {id}.")))
}

/// `GET /api/v1/forms/draftprocesses/update?draftprocess_id=D`.
async fn draft_form(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req
        .params
        .i64("draftprocess_id")?
        .ok_or_else(|| ApiError::missing("draftprocess_id"))?;
    let store = cs.store();
    let draft = own_draft(&store, user, id)?;
    let map = &store.maps[&draft.map_id];
    let name = store
        .node(draft.map_id)
        .map(|n| n.name.clone())
        .unwrap_or_default();
    let mut props = Map::new();
    let mut data = Map::new();
    for (key, title, kind) in &map.form_fields {
        props.insert(key.clone(), json!({ "title": title, "type": kind }));
        data.insert(
            key.clone(),
            draft.values.get(key).cloned().unwrap_or(Value::Null),
        );
    }
    Ok(json_ok(json!({
        "data": {
            "process_id": id,
            "title": name,
            "instructions": "",
            "actions": [{"key": "Initiate", "label": "Start"}],
            "comments_on": true,
            "authentication": false,
            "attachments_on": true,
            "data_packages": [{"type": 1, "sub_type": 1, "data": {"attachment_folder_id": null}}],
            "workflow_type": "1_1",
        },
        "forms": [{
            "data": data,
            "options": {"fields": {}},
            "schema": {"properties": props, "type": "object"},
        }],
    })))
}

/// Checks form values against the map's form fields (keys known, dates valid).
fn check_values(
    store: &Store,
    map_id: i64,
    values: &Map<String, Value>,
) -> Result<BTreeMap<String, Value>, ApiError> {
    let map = &store.maps[&map_id];
    let mut out = BTreeMap::new();
    for (key, value) in values {
        let Some((_, title, kind)) = map.form_fields.iter().find(|(k, _, _)| k == key) else {
            return Err(ApiError::bad_request(format!(
                "The workflow form has no field '{key}'."
            )));
        };
        if kind == "date" {
            let text = value_text(value).unwrap_or_default();
            let day = text.get(..10).unwrap_or(&text);
            if !text.is_empty() && NaiveDate::parse_from_str(day, "%Y-%m-%d").is_err() {
                return Err(ApiError::bad_request(format!(
                    "Invalid date '{text}' for '{title}': expected YYYY-MM-DD."
                )));
            }
        }
        out.insert(key.clone(), value.clone());
    }
    Ok(out)
}

/// `PUT /api/v2/draftprocesses/{D}`: `action` `formUpdate` (with `values`) or `Initiate`.
async fn update_draft(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let action = req.params.str("action").unwrap_or_default();
    let now = cs.now();
    let mut store = cs.store();
    let draft = own_draft(&store, user, id)?.clone();
    match action.to_ascii_lowercase().as_str() {
        "formupdate" => {
            let values = object_param(&req, "values")?.unwrap_or_default();
            let checked = check_values(&store, draft.map_id, &values)?;
            if let Some(d) = store.drafts.get_mut(&id) {
                d.values.extend(checked);
            }
            Ok(v2(&req, json!({})))
        }
        "initiate" => {
            store.drafts.remove(&id);
            let pid = begin(
                &cs,
                &mut store,
                draft.map_id,
                user,
                &draft.doc_ids,
                draft.values,
                now,
            )?;
            Ok(v2(&req, initiated(&store, pid)))
        }
        _ => Err(ApiError::bad_request(
            "The requested action is unknown. Allowed actions 'initiate','formupdate'",
        )),
    }
}

fn initiated(store: &Store, pid: i64) -> Value {
    let name = store
        .processes
        .get(&pid)
        .and_then(|p| store.node(p.map_id))
        .map(|n| n.name.clone())
        .unwrap_or_default();
    json!({
        "custom_message": format!("{name} was initiated successfully."),
        "process_id": pid,
        "WorkID": null,
        "WRID": null,
    })
}

/// Starts a process: an attachment folder holding shortcuts to the documents, the first step
/// assigned.
fn begin(
    cs: &ContentServer,
    store: &mut Store,
    map_id: i64,
    initiator: i64,
    docs: &[i64],
    values: BTreeMap<String, Value>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<i64, ApiError> {
    let pid = store.next_work_id;
    store.next_work_id += 1;
    let now_ms = cs.now_ms();
    let vol = store.workflow_volume;
    let mut folder = store.new_node(
        vol,
        subtype::FOLDER,
        &format!("Attachments {pid}"),
        initiator,
        now,
        now_ms,
    );
    folder.hidden = true;
    folder.acl.owner = super::state::Perms::FULL;
    let folder_id = store.insert(folder);
    for doc in docs {
        let name = store.live(*doc)?.name.clone();
        let mut link = store.new_node(folder_id, subtype::SHORTCUT, &name, initiator, now, now_ms);
        link.original_id = Some(*doc);
        store.insert(link);
    }
    let map_name = store
        .node(map_id)
        .map(|n| n.name.clone())
        .unwrap_or_default();
    let title = values
        .get("WorkflowForm_Title")
        .and_then(value_text)
        .filter(|t| !t.is_empty())
        .unwrap_or(map_name);
    let due_date = values
        .get("WorkflowForm_WorkflowDueDate")
        .and_then(value_text)
        .filter(|t| !t.is_empty());
    let assignee = assignee_of(store, map_id, 0, initiator);
    store.processes.insert(
        pid,
        Process {
            id: pid,
            map_id,
            title,
            initiator,
            started: now,
            due_date,
            values,
            attachment_folder_id: folder_id,
            current: 0,
            current_assignee: assignee,
            status: ProcessStatus::Running,
            history: Vec::new(),
        },
    );
    tracing::debug!(pid, map_id, "content server workflow started");
    Ok(pid)
}

fn assignee_of(store: &Store, map_id: i64, step: usize, initiator: i64) -> i64 {
    match store.maps[&map_id].steps.get(step).map(|s| s.assignee) {
        Some(Assignee::Member(m)) => m,
        _ => initiator,
    }
}

/// `POST /api/v2/draftprocesses/startwf`: starts the map at once. The answer's shape is
/// UNCONFIRMED; it is the one of `Initiate`.
async fn startwf(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let now = cs.now();
    let mut store = cs.store();
    let map_id = map_for(&store, user, req.params.i64("workflow_id")?)?;
    let docs = doc_ids(&store, user, &req)?;
    let pid = begin(&cs, &mut store, map_id, user, &docs, BTreeMap::new(), now)?;
    Ok(v2(&req, initiated(&store, pid)))
}

/// `POST /api/v2/processes`: `definition` = `{"workflow_id", "role_info"}` → `{"process_id"}`.
async fn start_process(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let def = object_param(&req, "definition")?.unwrap_or_default();
    let map_id = def
        .get("workflow_id")
        .and_then(value_i64)
        .or(req.params.i64("workflow_id")?);
    let now = cs.now();
    let mut store = cs.store();
    let map_id = map_for(&store, user, map_id)?;
    let pid = begin(&cs, &mut store, map_id, user, &[], BTreeMap::new(), now)?;
    Ok(json_ok(json!({
        "links": super::wire::links(&req),
        "process_id": pid,
        "results": { "process_id": pid },
    })))
}

/// Whether `user` may see process `p`: initiator, current or past assignee, or admin.
fn involved(store: &Store, user: i64, p: &Process) -> bool {
    p.initiator == user
        || p.current_assignee == user
        || p.history.iter().any(|h| h.user_id == user)
        || store.is_admin(user)
}

fn process(store: &Store, user: i64, id: i64) -> Result<&Process, ApiError> {
    store
        .processes
        .get(&id)
        .filter(|p| involved(store, user, p))
        .ok_or_else(|| ApiError::bad_request(NOT_ACCESSIBLE))
}

fn status_key(p: &Process, today: &str) -> &'static str {
    match p.status {
        ProcessStatus::Completed => "completed",
        ProcessStatus::Stopped => "stopped",
        ProcessStatus::Running => match &p.due_date {
            Some(d) if d.get(..10).unwrap_or(d) < today => "workflowlate",
            _ => "ontime",
        },
    }
}

fn member_name(store: &Store, id: i64) -> String {
    store.member(id).map(|m| m.name.clone()).unwrap_or_default()
}

fn step_name(store: &Store, p: &Process, step: usize) -> String {
    store.maps[&p.map_id]
        .steps
        .get(step)
        .map(|s| s.name.clone())
        .unwrap_or_default()
}

fn wfstatus(store: &Store, p: &Process, today: &str) -> Value {
    let running = p.status == ProcessStatus::Running;
    json!({
        "process_id": p.id,
        "subprocess_id": p.id,
        "task_id": if running { json!(p.current + 1) } else { Value::Null },
        "wf_name": p.title,
        "map_name": store.node(p.map_id).map(|n| n.name.clone()).unwrap_or_default(),
        "step_name": if running { step_name(store, p, p.current) } else { String::new() },
        "assignee": if running {
            json!([{ "id": p.current_assignee, "name": member_name(store, p.current_assignee) }])
        } else { json!([]) },
        "status_key": status_key(p, today),
        "due_date": p.due_date,
        "date_initiated": fmt_date(p.started),
        "initiator": { "id": p.initiator, "name": member_name(store, p.initiator) },
    })
}

/// `GET /api/v2/workflows/status?kind=Initiated|Managed|Both&wstatus=...&page=&limit=`: the
/// caller's processes, newest first, as a paged v2 collection.
async fn status_list(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let kind = req.params.str("kind").unwrap_or_else(|| "Both".to_owned());
    let wstatus = req.params.str("wstatus").filter(|s| !s.is_empty());
    let today = cs.now().format("%Y-%m-%d").to_string();
    let store = cs.store();
    let items: Vec<Value> = store
        .processes
        .values()
        .rev()
        .filter(|p| {
            let initiated = p.initiator == user;
            let managed = p.current_assignee == user || p.history.iter().any(|h| h.user_id == user);
            match kind.to_ascii_lowercase().as_str() {
                "initiated" => initiated,
                "managed" => managed,
                _ => initiated || managed,
            }
        })
        .filter(|p| {
            wstatus
                .as_deref()
                .is_none_or(|w| status_key(p, &today) == w)
        })
        .map(|p| json!({ "data": { "wfstatus": wfstatus(&store, p, &today) } }))
        .collect();
    // Paged like the other v2 collections (`page` 1-based, `limit`); whether the real call
    // pages, and how, is UNCONFIRMED: without `limit` everything comes on one page.
    let page = Page::from_params(&req.params, items.len(), None)?;
    let slice = items[page.range()].to_vec();
    Ok(v2_collection(&req, slice, &page, "desc_date_initiated"))
}

/// `GET /api/v2/workflows/status/processes/{id}`.
async fn status(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let today = cs.now().format("%Y-%m-%d").to_string();
    let store = cs.store();
    let p = process(&store, user, id)?;
    let steps = &store.maps[&p.map_id].steps;
    let completed: Vec<Value> = p
        .history
        .iter()
        .map(|h| {
            json!({
                "process_id": p.id, "subprocess_id": p.id, "task_id": h.step + 1,
                "task_name": step_name(&store, p, h.step), "task_status": "completed",
                "disposition": h.disposition, "comment": h.comment,
                "task_assignees": [{ "id": h.user_id, "name": member_name(&store, h.user_id) }],
                "date_completed": fmt_date(h.date),
            })
        })
        .collect();
    let running = p.status == ProcessStatus::Running;
    let current: Vec<Value> = if running {
        vec![json!({
            "process_id": p.id, "subprocess_id": p.id, "task_id": p.current + 1,
            "task_name": step_name(&store, p, p.current), "task_status": status_key(p, &today),
            "task_assignees": [{ "id": p.current_assignee, "name": member_name(&store, p.current_assignee) }],
        })]
    } else {
        Vec::new()
    };
    let next: Vec<Value> = if running {
        (p.current + 1..steps.len())
            .map(|i| json!({ "task_id": i + 1, "task_name": steps[i].name }))
            .collect()
    } else {
        Vec::new()
    };
    Ok(v2(
        &req,
        json!({
            "attachments": { "attachment_folder_id": p.attachment_folder_id },
            "data_packages": [
                { "type": 1, "sub_type": 1, "data": { "attachment_folder_id": p.attachment_folder_id } },
                { "type": 1, "sub_type": 3, "data": { "values": p.values } },
            ],
            "permissions": {
                "SeeDetails": true,
                "ChangeAttr": p.initiator == user,
                "Stop": p.initiator == user,
                "Delete": store.is_admin(user),
            },
            "step_list": { "completed": completed, "current": current, "next": next },
            "wf_details": {
                "date_initiated": fmt_date(p.started),
                "due_date": p.due_date,
                "initiator": { "id": p.initiator, "name": member_name(&store, p.initiator) },
                "status": status_key(p, &today),
                "wf_name": p.title,
                "work_workID": p.id,
            },
        }),
    ))
}

/// `GET /api/v2/members/assignments`: the caller's open tasks.
async fn assignments(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let store = cs.store();
    let groups = store.groups_of(user);
    let items: Vec<Value> = store
        .processes
        .values()
        .filter(|p| p.status == ProcessStatus::Running)
        .filter(|p| p.current_assignee == user || groups.contains(&p.current_assignee))
        .map(|p| {
            json!({ "data": { "assignments": {
                "id": p.id,
                "name": step_name(&store, p, p.current),
                "workflow_id": p.id,
                "workflow_subworkflow_id": p.id,
                "workflow_subworkflow_task_id": p.current + 1,
                "date_due": p.due_date,
                "priority": 50,
                "status": 0,
                "type": 153,
                "from_user_id": p.initiator,
                "location_id": p.attachment_folder_id,
                "instructions": "",
                "title": p.title,
            }}})
        })
        .collect();
    Ok(v2(&req, Value::Array(items)))
}

/// `PUT /api/v2/processes/{id}/subprocesses/{sub}/tasks/{task}`: `custom_action`
/// (`Approve`/`Reject`) or `action` (`formUpdate`, `Delegate`, `SendOn`), never both.
async fn act(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let pid = req.id()?;
    let sub = req.path_i64("sub")?;
    let task = req.path_i64("task")?;
    let action = req.params.str("action").filter(|a| !a.is_empty());
    let custom = req.params.str("custom_action").filter(|a| !a.is_empty());
    let comment = req.params.str("comment").unwrap_or_default();
    let now = cs.now();
    let mut store = cs.store();
    let p = process(&store, user, pid)?.clone();
    if sub != pid || p.status != ProcessStatus::Running || task != p.current as i64 + 1 {
        return Err(ApiError::bad_request(format!(
            "The task {task} of process {pid} is not active."
        )));
    }
    let groups = store.groups_of(user);
    if p.current_assignee != user && !groups.contains(&p.current_assignee) && !store.is_admin(user)
    {
        return Err(ApiError::server(super::state::INSUFFICIENT));
    }
    let step_count = store.maps[&p.map_id].steps.len();
    let mut next = p.clone();
    let finish = |next: &mut Process, disposition: &str| {
        next.history.push(StepOutcome {
            step: next.current,
            user_id: user,
            disposition: disposition.to_owned(),
            comment: comment.clone(),
            date: now,
        });
    };
    match (action.as_deref(), custom.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "Send either 'action' or 'custom_action', not both.",
            ))
        }
        (None, Some(c)) if c.eq_ignore_ascii_case("approve") => {
            finish(&mut next, "Approve");
            advance(&store, &mut next, step_count);
        }
        (Some(a), None) if a.eq_ignore_ascii_case("sendon") => {
            finish(&mut next, "SendOn");
            advance(&store, &mut next, step_count);
        }
        (None, Some(c)) if c.eq_ignore_ascii_case("reject") => {
            finish(&mut next, "Reject");
            next.status = ProcessStatus::Stopped;
        }
        (Some(a), None) if a.eq_ignore_ascii_case("formupdate") => {
            let values = object_param(&req, "values")?.unwrap_or_default();
            next.values.extend(check_values(&store, p.map_id, &values)?);
        }
        (Some(a), None) if a.eq_ignore_ascii_case("delegate") => {
            let to = req
                .params
                .i64("assignee")?
                .ok_or_else(|| ApiError::missing("assignee"))?;
            if store.member(to).is_none_or(|m| m.kind != 0) {
                return Err(ApiError::bad_request(format!("{to} is not a user.")));
            }
            next.current_assignee = to;
        }
        (Some(a), None) => {
            return Err(ApiError::bad_request(format!(
                "The requested action '{a}' is unknown."
            )))
        }
        (None, Some(c)) => {
            return Err(ApiError::bad_request(format!(
                "The requested custom action '{c}' is unknown. Allowed: 'Approve', 'Reject'."
            )))
        }
        (None, None) => return Err(ApiError::missing("action")),
    }
    store.processes.insert(pid, next);
    Ok(v2(&req, json!({})))
}

/// Moves a process to its next step, or completes it after the last.
fn advance(store: &Store, p: &mut Process, step_count: usize) {
    if p.current + 1 >= step_count {
        p.status = ProcessStatus::Completed;
    } else {
        p.current += 1;
        p.current_assignee = assignee_of(store, p.map_id, p.current, p.initiator);
    }
}

/// `GET /api/v2/{workflows|processes}/{map}/definition`.
async fn definition(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let id = req.id()?;
    let store = cs.store();
    let map_id = map_for(&store, user, Some(id))?;
    let map = &store.maps[&map_id];
    let tasks: Vec<Value> = map
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let performer = match s.assignee {
                Assignee::Initiator => json!({"type": "initiator"}),
                Assignee::Member(m) => {
                    json!({"type": "member", "id": m, "name": member_name(&store, m)})
                }
            };
            json!({ "task_id": i + 1, "title": s.name, "performer": performer })
        })
        .collect();
    let attrs: Vec<Value> = map
        .form_fields
        .iter()
        .map(|(k, t, ty)| json!({ "form_id": k, "name": t, "type": ty }))
        .collect();
    Ok(v2(
        &req,
        json!({ "definition": {
            "workflow_id": map_id,
            "data_packages": [{ "type": 1, "sub_type": 3, "data": { "attributes": attrs } }],
            "tasks": tasks,
            "workflow_roles": [],
        }}),
    ))
}

/// `GET /api/v2/docworkflows?doc_id=&parent_id=`: the maps a document can be sent through.
async fn doc_workflows(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let store = cs.store();
    if let Some(doc) = req.params.i64("doc_id")? {
        store.require(user, doc, Perm::See)?;
    }
    let data: Vec<Value> = store
        .maps
        .keys()
        .filter_map(|m| store.visible(user, *m).ok())
        .map(|n| json!({ "DataID": n.id, "Name": n.name, "WorkflowType": 1 }))
        .collect();
    Ok(v2(&req, json!({ "data": data })))
}
