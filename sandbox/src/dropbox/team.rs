//! The team API (team token): `team/members/list_v2` + `members/list/continue_v2`, and the
//! audit log `team_log/get_events` + `get_events/continue`, which records every file-request
//! submission with the name and e-mail the submitter gave. Shapes from `team.stone` and
//! `team_log.stone` of `dropbox/dropbox-api-spec` (not in the local spec copy).

use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::state::{Store, TEAM_NS};
use super::wire::{parse, parse_timestamp, timestamp, ApiError};
use super::App;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// `team.TeamMemberInfoV2` of account `index`.
fn member_json(store: &Store, index: usize) -> Value {
    let a = &store.accounts[index];
    let roles = if a.admin {
        json!([{"role_id": "pid_dbtmr:sandbox-team-admin", "name": "Team admin",
                "description": "User can do most user provisioning, de-provisioning and management."}])
    } else {
        json!([])
    };
    let root = if a.team_space { TEAM_NS } else { a.home_ns };
    json!({
        "profile": {
            "team_member_id": a.team_member_id,
            "account_id": a.account_id,
            "email": a.email,
            "email_verified": true,
            "secondary_emails": [],
            "status": {".tag": "active"},
            "name": a.name_json(),
            "membership_type": {".tag": "full"},
            "joined_on": "2024-01-15T09:00:00Z",
            "groups": [],
            "member_folder_id": a.home_ns.to_string(),
            "root_folder_id": root.to_string(),
        },
        "roles": roles,
    })
}

/// `team.MembersListArg`; `include_removed` is accepted and has no effect (nobody is ever
/// removed from the sandbox's team).
#[derive(Debug, Deserialize)]
struct MembersListArg {
    #[serde(default = "default_limit")]
    limit: u64,
}

fn default_limit() -> u64 {
    1000
}

#[derive(Debug, Deserialize)]
struct CursorArg {
    cursor: String,
}

fn members_page(store: &Store, offset: usize, limit: usize) -> Value {
    let end = (offset + limit).min(store.accounts.len());
    let members: Vec<Value> = (offset..end).map(|i| member_json(store, i)).collect();
    json!({
        "members": members,
        "cursor": format!("sbx-members:{end}:{limit}"),
        "has_more": end < store.accounts.len(),
    })
}

/// `team/members/list_v2`.
pub(crate) fn members_list_v2(app: &App, arg: Value) -> Result<Value, ApiError> {
    let arg: MembersListArg = parse(arg)?;
    if !(1..=1000).contains(&arg.limit) {
        return Err(ApiError::BadRequest(format!(
            "request body: limit: {} is not within 1..1000",
            arg.limit
        )));
    }
    Ok(members_page(&app.store(), 0, arg.limit as usize))
}

/// `team/members/list/continue_v2`.
pub(crate) fn members_list_continue_v2(app: &App, arg: Value) -> Result<Value, ApiError> {
    let arg: CursorArg = parse(arg)?;
    let parsed = arg
        .cursor
        .strip_prefix("sbx-members:")
        .and_then(|rest| rest.split_once(':'))
        .and_then(|(o, l)| Some((o.parse::<usize>().ok()?, l.parse::<usize>().ok()?)));
    let store = app.store();
    match parsed {
        Some((offset, limit)) if offset <= store.accounts.len() && (1..=1000).contains(&limit) => {
            Ok(members_page(&store, offset, limit))
        }
        _ => Err(ApiError::tag("invalid_cursor")),
    }
}

/// Records a file-request submission in the team log.
pub(crate) struct Submission<'a> {
    /// The request's id.
    pub request_id: &'a str,
    /// Its owner (account index).
    pub owner: usize,
    /// The received file's metadata (`FileMetadata` JSON).
    pub file: &'a Value,
    /// What the submitter typed in.
    pub submitter_name: Option<&'a str>,
    /// What the submitter typed in.
    pub submitter_email: Option<&'a str>,
}

/// Appends a `file_request_receive_file` event: anonymous actor (an outside party using the
/// link), the request owner as context, the received file as asset.
pub(crate) fn record_submission(store: &mut Store, s: Submission<'_>) {
    let owner = &store.accounts[s.owner];
    let name = s.file["name"].as_str().unwrap_or_default().to_owned();
    let path = s.file["path_display"].as_str().unwrap_or_default();
    let mut details = json!({
        ".tag": "file_request_receive_file_details",
        "file_request_id": s.request_id,
        "submitted_file_names": [name.clone()],
    });
    if let Some(n) = s.submitter_name {
        details["submitter_name"] = json!(n);
    }
    if let Some(e) = s.submitter_email {
        details["submitter_email"] = json!(e);
    }
    let event = json!({
        "timestamp": timestamp(Utc::now()),
        "event_category": {".tag": "file_requests"},
        "actor": {".tag": "anonymous"},
        "involve_non_team_member": true,
        "context": {
            ".tag": "team_member",
            "account_id": owner.account_id,
            "display_name": owner.display_name(),
            "email": owner.email,
            "team_member_id": owner.team_member_id,
        },
        "participants": [],
        "assets": [{
            ".tag": "file",
            "path": {
                "contextual": path,
                "namespace_relative": {
                    "ns_id": owner.home_ns.to_string(),
                    "relative_path": path,
                    "is_shared_namespace": false,
                },
            },
            "display_name": name,
            "file_id": s.file["id"],
        }],
        "event_type": {
            ".tag": "file_request_receive_file",
            "description": "(file_requests) Received files for file request",
        },
        "details": details,
    });
    store.team_log.push(event);
}

/// The filters of a `get_events` call, carried inside its cursors.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Filter {
    #[serde(default)]
    account_id: Option<String>,
    #[serde(default)]
    start: Option<DateTime<Utc>>,
    #[serde(default)]
    end: Option<DateTime<Utc>>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    event_type: Option<String>,
}

impl Filter {
    fn matches(&self, event: &Value) -> bool {
        let tag = |v: &Value| v.get(".tag").and_then(Value::as_str).map(str::to_owned);
        if let Some(c) = &self.category {
            if tag(&event["event_category"]).as_deref() != Some(c) {
                return false;
            }
        }
        if let Some(t) = &self.event_type {
            if tag(&event["event_type"]).as_deref() != Some(t) {
                return false;
            }
        }
        if let Some(a) = &self.account_id {
            let in_actor = event["actor"]["user"]["account_id"].as_str() == Some(a);
            let in_context = event["context"]["account_id"].as_str() == Some(a);
            if !in_actor && !in_context {
                return false;
            }
        }
        let at = event["timestamp"]
            .as_str()
            .and_then(|t| parse_timestamp("timestamp", t).ok());
        if let (Some(start), Some(at)) = (self.start, at) {
            if at < start {
                return false;
            }
        }
        if let (Some(end), Some(at)) = (self.end, at) {
            if at >= end {
                return false;
            }
        }
        true
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct LogCursor {
    /// Index in the log of the next event to look at.
    next: usize,
    limit: usize,
    filter: Filter,
}

fn union_tag(value: &Value) -> Option<String> {
    super::wire::union_tag(value).map(str::to_owned)
}

fn events_page(store: &Store, cursor: LogCursor) -> Value {
    let mut events = Vec::new();
    let mut next = cursor.next.min(store.team_log.len());
    while next < store.team_log.len() && events.len() < cursor.limit {
        let event = &store.team_log[next];
        if cursor.filter.matches(event) {
            events.push(event.clone());
        }
        next += 1;
    }
    let has_more = store.team_log[next..]
        .iter()
        .any(|e| cursor.filter.matches(e));
    let token = LogCursor { next, ..cursor };
    let text = serde_json::to_vec(&token).unwrap_or_default();
    json!({
        "events": events,
        "cursor": format!("sbx-log:{}", B64.encode(text)),
        "has_more": has_more,
    })
}

/// `team_log/get_events`.
pub(crate) fn get_events(app: &App, arg: Value) -> Result<Value, ApiError> {
    let limit = arg.get("limit").map_or(Some(1000), Value::as_u64);
    let limit = match limit {
        Some(l) if (1..=1000).contains(&l) => l as usize,
        _ => {
            return Err(ApiError::BadRequest(
                "request body: limit: expected an integer within 1..1000".into(),
            ))
        }
    };
    let category = arg.get("category").and_then(union_tag);
    let event_type = arg.get("event_type").and_then(union_tag);
    if category.is_some() && event_type.is_some() {
        return Err(ApiError::tag("invalid_filters"));
    }
    let time = |field: &str| -> Result<Option<DateTime<Utc>>, ApiError> {
        match arg
            .get("time")
            .and_then(|t| t.get(field))
            .and_then(Value::as_str)
        {
            Some(s) => parse_timestamp(field, s).map(Some),
            None => Ok(None),
        }
    };
    let (start, end) = (time("start_time")?, time("end_time")?);
    if let (Some(s), Some(e)) = (start, end) {
        if e < s {
            return Err(ApiError::tag("invalid_time_range"));
        }
    }
    let account_id = arg
        .get("account_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let store = app.store();
    if let Some(a) = &account_id {
        if !store.accounts.iter().any(|acc| &acc.account_id == a) {
            return Err(ApiError::tag("account_id_not_found"));
        }
    }
    let filter = Filter {
        account_id,
        start,
        end,
        category,
        event_type,
    };
    Ok(events_page(
        &store,
        LogCursor {
            next: 0,
            limit,
            filter,
        },
    ))
}

/// `team_log/get_events/continue`: also polls for events logged after the cursor was made.
pub(crate) fn get_events_continue(app: &App, arg: Value) -> Result<Value, ApiError> {
    let arg: CursorArg = parse(arg)?;
    let cursor: LogCursor = arg
        .cursor
        .strip_prefix("sbx-log:")
        .and_then(|b| B64.decode(b).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(ApiError::tag("bad_cursor"))?;
    if cursor.limit == 0 || cursor.limit > 1000 {
        return Err(ApiError::tag("bad_cursor"));
    }
    Ok(events_page(&app.store(), cursor))
}
