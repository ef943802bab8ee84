//! `file_requests/*`, and the sandbox-only endpoint through which an outside party submits a
//! file into a request (`POST /__sandbox/file_requests/{id}/submit?name=…`, raw body).

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::files::{make_folder, resolve, write_target};
use super::state::{NodeKind, PathForms, Store, Target, View};
use super::upload;
use super::wire::{self, parse, parse_timestamp, timestamp, ApiError};
use super::App;

/// A file request.
#[derive(Debug, Clone)]
pub(crate) struct FileRequest {
    /// Id (`[-_0-9a-zA-Z]+`).
    pub id: String,
    /// Owner account.
    pub owner: usize,
    /// Title.
    pub title: String,
    /// Destination folder (display path in the owner's home).
    pub destination: String,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Deadline and `allow_late_uploads` tag.
    pub deadline: Option<(DateTime<Utc>, Option<String>)>,
    /// Open for submissions.
    pub is_open: bool,
    /// Files submitted so far.
    pub file_count: i64,
    /// Description.
    pub description: Option<String>,
}

impl FileRequest {
    /// `FileRequest` JSON.
    pub(crate) fn json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "url": format!("https://www.dropbox.com/request/{}", self.id),
            "title": self.title,
            "destination": self.destination,
            "created": timestamp(self.created),
            "is_open": self.is_open,
            "file_count": self.file_count,
        });
        if let Some((deadline, late)) = &self.deadline {
            v["deadline"] = json!({"deadline": timestamp(*deadline)});
            if let Some(late) = late {
                v["deadline"]["allow_late_uploads"] = json!({".tag": late});
            }
        }
        if let Some(d) = &self.description {
            v["description"] = json!(d);
        }
        v
    }

    /// Whether a submission is accepted at `now`.
    fn accepts(&self, now: DateTime<Utc>) -> Result<(), &'static str> {
        if !self.is_open {
            return Err("closed");
        }
        if let Some((deadline, late)) = &self.deadline {
            let grace = match late.as_deref() {
                Some("one_day") => Some(Duration::days(1)),
                Some("two_days") => Some(Duration::days(2)),
                Some("seven_days") => Some(Duration::days(7)),
                Some("thirty_days") => Some(Duration::days(30)),
                Some("always") => None,
                _ => Some(Duration::zero()),
            };
            if let Some(grace) = grace {
                if now > *deadline + grace {
                    return Err("deadline_passed");
                }
            }
        }
        Ok(())
    }
}

/// Adds a request (used by the seed too) and returns its id.
pub(crate) fn insert(store: &mut Store, mut request: FileRequest) -> String {
    let n = store.next();
    request.id = format!("sbxFR{n:06}{}", fastrand::Rng::with_seed(n).alphanumeric());
    let id = request.id.clone();
    store.file_requests.insert(id.clone(), request);
    id
}

fn parse_deadline(v: &Value) -> Result<(DateTime<Utc>, Option<String>), ApiError> {
    let deadline = v
        .get("deadline")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::BadRequest("request body: deadline.deadline: missing".into()))?;
    let t = parse_timestamp("deadline.deadline", deadline)?;
    let late = match v.get("allow_late_uploads").map(wire::union_tag) {
        None => None,
        Some(Some(t @ ("one_day" | "two_days" | "seven_days" | "thirty_days" | "always"))) => {
            Some(t.to_owned())
        }
        Some(_) => {
            return Err(ApiError::BadRequest(
                "request body: deadline.allow_late_uploads: unknown tag".into(),
            ))
        }
    };
    Ok((t, late))
}

/// Checks a destination folder (creating it when missing) and returns its display path.
fn destination(store: &mut Store, caller: &Caller, path: &str) -> Result<String, ApiError> {
    let home = View::namespace(store.accounts[caller.account].home_ns);
    let in_home = Caller {
        view: home,
        ..caller.clone()
    };
    let loc = write_target(store, &in_home, path, PathForms::PLAIN)
        .map_err(|_| ApiError::tag("invalid_location"))?;
    match store.node(loc.ns(), &loc.lower).map(|n| &n.kind) {
        Some(NodeKind::Folder) => {}
        Some(NodeKind::File(_)) => return Err(ApiError::tag("not_a_folder")),
        None => {
            make_folder(store, loc.clone(), false)
                .map_err(|_| ApiError::tag("invalid_location"))?;
        }
    }
    Ok(store
        .node(loc.ns(), &loc.lower)
        .map_or(loc.display.clone(), |n| n.display.clone()))
}

#[derive(Debug, Deserialize)]
struct CreateArgs {
    title: String,
    destination: String,
    deadline: Option<Value>,
    #[serde(default = "default_open")]
    open: bool,
    description: Option<String>,
}

fn default_open() -> bool {
    true
}

/// `file_requests/create`.
pub(crate) fn create(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: CreateArgs = parse(arg)?;
    if arg.title.is_empty() {
        return Err(ApiError::BadRequest(
            "request body: title: must be at least 1 character".into(),
        ));
    }
    let deadline = arg.deadline.as_ref().map(parse_deadline).transpose()?;
    if deadline.as_ref().is_some_and(|(t, _)| *t <= Utc::now()) {
        return Err(ApiError::Route(
            json!({".tag": "validation_error", "validation_error": "The deadline must be in the future."}),
        ));
    }
    app.mutate(|store| {
        let destination = destination(store, caller, &arg.destination)?;
        if store.file_requests.len() >= 4000 {
            return Err(ApiError::tag("rate_limit"));
        }
        let id = insert(
            store,
            FileRequest {
                id: String::new(),
                owner: caller.account,
                title: arg.title,
                destination,
                created: Utc::now(),
                deadline,
                is_open: arg.open,
                file_count: 0,
                description: arg.description,
            },
        );
        Ok(store.file_requests[&id].json())
    })
}

#[derive(Debug, Deserialize)]
struct IdArg {
    id: String,
}

fn mine<'s>(store: &'s Store, caller: &Caller, id: &str) -> Result<&'s FileRequest, ApiError> {
    store
        .file_requests
        .get(id)
        .filter(|r| r.owner == caller.account)
        .ok_or(ApiError::tag("not_found"))
}

/// `file_requests/get`.
pub(crate) fn get(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: IdArg = parse(arg)?;
    Ok(mine(&app.store(), caller, &arg.id)?.json())
}

#[derive(Debug, Deserialize)]
struct UpdateArgs {
    id: String,
    title: Option<String>,
    destination: Option<String>,
    deadline: Option<Value>,
    open: Option<bool>,
    description: Option<String>,
}

/// `file_requests/update`.
pub(crate) fn update(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: UpdateArgs = parse(arg)?;
    // UpdateFileRequestDeadline: no_update (default) | update FileRequestDeadline?
    let deadline = match arg.deadline.as_ref().map(|d| (wire::union_tag(d), d)) {
        None | Some((Some("no_update"), _)) => None,
        Some((Some("update"), d)) => Some(match d.get("deadline") {
            Some(_) => Some(parse_deadline(d)?),
            None => None,
        }),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "request body: deadline: unknown tag".into(),
            ))
        }
    };
    app.mutate(|store| {
        mine(store, caller, &arg.id)?;
        let destination = match &arg.destination {
            Some(path) => Some(destination(store, caller, path)?),
            None => None,
        };
        let request = store
            .file_requests
            .get_mut(&arg.id)
            .ok_or(ApiError::tag("not_found"))?;
        if let Some(title) = arg.title {
            if title.is_empty() {
                return Err(ApiError::BadRequest(
                    "request body: title: must be at least 1 character".into(),
                ));
            }
            request.title = title;
        }
        if let Some(d) = destination {
            request.destination = d;
        }
        if let Some(deadline) = deadline {
            request.deadline = deadline;
        }
        if let Some(open) = arg.open {
            request.is_open = open;
        }
        if let Some(description) = arg.description {
            request.description = Some(description);
        }
        Ok(request.json())
    })
}

#[derive(Debug, Deserialize)]
struct ListArg {
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    1000
}

fn list_page(store: &Store, caller: &Caller, after: Option<&str>, limit: usize) -> Value {
    let all: Vec<&FileRequest> = store
        .file_requests
        .values()
        .filter(|r| r.owner == caller.account)
        .filter(|r| after.is_none_or(|a| r.id.as_str() > a))
        .collect();
    let page: Vec<&FileRequest> = all.iter().take(limit).copied().collect();
    let has_more = all.len() > page.len();
    let cursor = page
        .last()
        .map_or_else(|| after.unwrap_or("").to_owned(), |r| r.id.clone());
    json!({
        "file_requests": page.iter().map(|r| r.json()).collect::<Vec<_>>(),
        "cursor": format!("sbxfr:{limit}:{cursor}"),
        "has_more": has_more,
    })
}

/// `file_requests/list_v2`.
pub(crate) fn list_v2(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: ListArg = if arg.is_null() {
        ListArg { limit: 1000 }
    } else {
        parse(arg)?
    };
    if arg.limit == 0 {
        return Err(ApiError::BadRequest(
            "request body: limit: must be at least 1".into(),
        ));
    }
    Ok(list_page(&app.store(), caller, None, arg.limit))
}

#[derive(Debug, Deserialize)]
struct CursorArg {
    cursor: String,
}

/// `file_requests/list/continue`.
pub(crate) fn list_continue(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: CursorArg = parse(arg)?;
    let (limit, after) = arg
        .cursor
        .strip_prefix("sbxfr:")
        .and_then(|rest| rest.split_once(':'))
        .and_then(|(l, a)| Some((l.parse::<usize>().ok()?, a.to_owned())))
        .ok_or(ApiError::tag("invalid_cursor"))?;
    Ok(list_page(
        &app.store(),
        caller,
        Some(&after).filter(|a| !a.is_empty()).map(String::as_str),
        limit,
    ))
}

/// `file_requests/list` (v1: every request, no paging).
pub(crate) fn list_v1(app: &App, caller: &Caller, _arg: Value) -> Result<Value, ApiError> {
    let store = app.store();
    let requests: Vec<Value> = store
        .file_requests
        .values()
        .filter(|r| r.owner == caller.account)
        .map(FileRequest::json)
        .collect();
    Ok(json!({"file_requests": requests}))
}

/// `file_requests/count`.
pub(crate) fn count(app: &App, caller: &Caller, _arg: Value) -> Result<Value, ApiError> {
    let n = app
        .store()
        .file_requests
        .values()
        .filter(|r| r.owner == caller.account)
        .count();
    Ok(json!({"file_request_count": n}))
}

#[derive(Debug, Deserialize)]
struct DeleteArg {
    ids: Vec<String>,
}

/// `file_requests/delete`: only closed requests can be deleted.
pub(crate) fn delete(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: DeleteArg = parse(arg)?;
    let mut store = app.store();
    for id in &arg.ids {
        if mine(&store, caller, id)?.is_open {
            return Err(ApiError::tag("file_request_open"));
        }
    }
    let removed: Vec<Value> = arg
        .ids
        .iter()
        .filter_map(|id| store.file_requests.remove(id))
        .map(|r| r.json())
        .collect();
    Ok(json!({"file_requests": removed}))
}

/// `file_requests/delete_all_closed`.
pub(crate) fn delete_all_closed(
    app: &App,
    caller: &Caller,
    _arg: Value,
) -> Result<Value, ApiError> {
    let mut store = app.store();
    let ids: Vec<String> = store
        .file_requests
        .values()
        .filter(|r| r.owner == caller.account && !r.is_open)
        .map(|r| r.id.clone())
        .collect();
    let removed: Vec<Value> = ids
        .iter()
        .filter_map(|id| store.file_requests.remove(id))
        .map(|r| r.json())
        .collect();
    Ok(json!({"file_requests": removed}))
}

/// The query of the submit endpoint.
#[derive(Debug, Deserialize)]
pub(crate) struct SubmitQuery {
    name: String,
    /// The name the submitter typed in (recorded in the team log).
    #[serde(default)]
    submitter_name: Option<String>,
    /// The e-mail address the submitter typed in (recorded in the team log).
    #[serde(default)]
    submitter_email: Option<String>,
}

/// `POST /__sandbox/file_requests/{id}/submit?name=…[&submitter_name=…&submitter_email=…]`: an
/// outside party uploads a file into a request; it lands in the destination folder (auto-renamed
/// on conflict), the request's `file_count` grows, and the team log gets a
/// `file_request_receive_file` event with the submitter's name and e-mail. 404 for an unknown request, 409 `{"error": "closed" | "deadline_passed"}`
/// when it does not accept files.
pub(crate) async fn submit(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(q): Query<SubmitQuery>,
    body: Body,
) -> Response {
    let refuse =
        |status: StatusCode, error: &str| wire::json_response(status, &json!({"error": error}));
    if q.name.is_empty() || q.name.contains('/') {
        super::blobs::drain(body).await;
        return refuse(StatusCode::BAD_REQUEST, "invalid_name");
    }
    let accepted = {
        let store = app.store();
        match store.file_requests.get(&id) {
            None => Err((StatusCode::NOT_FOUND, "not_found")),
            Some(request) => match request.accepts(Utc::now()) {
                Ok(()) => Ok((request.owner, request.destination.clone())),
                Err(reason) => Err((StatusCode::CONFLICT, reason)),
            },
        }
    };
    let (owner, dest) = match accepted {
        Ok(a) => a,
        Err((status, reason)) => {
            super::blobs::drain(body).await;
            return refuse(status, reason);
        }
    };
    let (file, len, hash) = match upload::receive_to_work(&app, body).await {
        Ok(r) => r,
        Err(e) => return e.into_response("__sandbox/file_requests/submit"),
    };
    let caller = {
        let store = app.store();
        Caller {
            account: owner,
            view: View::namespace(store.accounts[owner].home_ns),
            token: String::new(),
        }
    };
    let path = format!("{dest}/{}", q.name);
    {
        // The destination may have been removed since the request was made.
        let store = app.store();
        if let Ok(Target::Loc(loc)) = resolve(&store, &caller, &dest, PathForms::PLAIN, false) {
            if matches!(
                store.node(loc.ns(), &loc.lower).map(|n| &n.kind),
                Some(NodeKind::File(_))
            ) {
                let _ = std::fs::remove_file(&file);
                return refuse(StatusCode::CONFLICT, "destination_not_a_folder");
            }
        }
    }
    match upload::commit_work_file(&app, &caller, &path, file, len, hash) {
        Ok(meta) => {
            let mut store = app.store();
            if let Some(r) = store.file_requests.get_mut(&id) {
                r.file_count += 1;
            }
            super::team::record_submission(
                &mut store,
                super::team::Submission {
                    request_id: &id,
                    owner,
                    file: &meta,
                    submitter_name: q.submitter_name.as_deref(),
                    submitter_email: q.submitter_email.as_deref(),
                },
            );
            drop(store);
            wire::json_response(StatusCode::OK, &meta)
        }
        Err(e) => e.into_response("__sandbox/file_requests/submit"),
    }
}
