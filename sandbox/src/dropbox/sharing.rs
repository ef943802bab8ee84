//! `sharing/*`: shared links with settings (audience or visibility, expiry, password, access,
//! downloads), listing, modifying and revoking them; shared folders and their members.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::files::{existing, make_folder, write_target};
use super::state::{file_name, NodeKind, PathForms, SharedFolder, Store, Target};
use super::wire::{self, parse, parse_timestamp, timestamp, ApiError};
use super::App;

/// A shared link.
#[derive(Debug, Clone)]
pub(crate) struct SharedLink {
    /// The link URL.
    pub url: String,
    /// The node it points at.
    pub node_id: String,
    /// Owner account.
    pub owner: usize,
    /// `public`, `team`, `no_one` or `password`.
    pub audience: String,
    /// Expiry.
    pub expires: Option<DateTime<Utc>>,
    /// Password (never shown).
    pub password: Option<String>,
    /// `viewer` or `editor`.
    pub access: String,
    /// Downloads allowed.
    pub allow_download: bool,
}

#[derive(Debug, Default, Deserialize)]
struct Settings {
    require_password: Option<bool>,
    link_password: Option<String>,
    expires: Option<String>,
    audience: Option<Value>,
    access: Option<Value>,
    requested_visibility: Option<Value>,
    allow_download: Option<bool>,
}

fn invalid_settings() -> ApiError {
    ApiError::Route(
        json!({".tag": "settings_error", "settings_error": {".tag": "invalid_settings"}}),
    )
}

impl Settings {
    fn is_custom(&self) -> bool {
        self.require_password.is_some()
            || self.link_password.is_some()
            || self.expires.is_some()
            || self.audience.is_some()
            || self.access.is_some()
            || self.requested_visibility.is_some()
            || self.allow_download.is_some()
    }

    /// Applies these settings to a link.
    fn apply(&self, link: &mut SharedLink) -> Result<(), ApiError> {
        if let Some(v) = &self.requested_visibility {
            link.audience = match wire::union_tag(v) {
                Some("public") => "public",
                Some("team_only") => "team",
                Some("password") => "password",
                _ => return Err(invalid_settings()),
            }
            .to_owned();
        }
        if let Some(a) = &self.audience {
            link.audience = match wire::union_tag(a) {
                Some(t @ ("public" | "team" | "no_one" | "password" | "members")) => t.to_owned(),
                _ => return Err(invalid_settings()),
            };
        }
        if let Some(a) = &self.access {
            link.access = match wire::union_tag(a) {
                Some("viewer") | Some("default") => "viewer",
                Some("editor") | Some("max") => "editor",
                _ => return Err(invalid_settings()),
            }
            .to_owned();
        }
        if let Some(expires) = &self.expires {
            let t = parse_timestamp("settings.expires", expires)?;
            if t <= Utc::now() {
                return Err(invalid_settings());
            }
            link.expires = Some(t);
        }
        match (self.require_password, &self.link_password) {
            (Some(true), None) if link.password.is_none() => return Err(invalid_settings()),
            (Some(false), _) => link.password = None,
            (_, Some(pw)) => link.password = Some(pw.clone()),
            _ => {}
        }
        if link.audience == "password" && link.password.is_none() {
            return Err(invalid_settings());
        }
        if let Some(d) = self.allow_download {
            link.allow_download = d;
        }
        Ok(())
    }
}

fn visibility_of(audience: &str, password: bool) -> &'static str {
    match (audience, password) {
        (_, true) => "password",
        ("team", _) => "team_only",
        ("no_one", _) | ("members", _) => "no_one",
        _ => "public",
    }
}

/// `SharedLinkMetadata` (with `.tag`).
fn link_json(store: &Store, caller: &Caller, link: &SharedLink) -> Option<Value> {
    let (ns, lower) = store.ids.get(&link.node_id)?;
    let node = store.node(*ns, lower)?;
    let views = store.views_of(caller.account);
    let view = if caller.view.contains(*ns, lower) {
        caller.view.clone()
    } else {
        views.into_iter().find(|v| v.contains(*ns, lower))?
    };
    let (path_lower, _) = view.relative(lower, &node.display);
    let visibility = visibility_of(&link.audience, link.password.is_some());
    let policies: Vec<Value> = ["public", "team_only", "password"]
        .iter()
        .map(|p| json!({"policy": {".tag": p}, "resolved_policy": {".tag": p}, "allowed": true}))
        .collect();
    let audience_options: Vec<Value> = ["public", "team", "no_one"]
        .iter()
        .map(|a| json!({"audience": {".tag": a}, "allowed": true}))
        .collect();
    let mut v = json!({
        "url": link.url,
        "id": link.node_id,
        "name": file_name(&node.display),
        "path_lower": path_lower,
        "link_permissions": {
            "resolved_visibility": {".tag": visibility},
            "requested_visibility": {".tag": visibility},
            "can_revoke": true,
            "visibility_policies": policies,
            "can_set_expiry": true,
            "can_remove_expiry": true,
            "allow_download": link.allow_download,
            "can_allow_download": true,
            "can_disallow_download": true,
            "allow_comments": true,
            "team_restricts_comments": false,
            "effective_audience": {".tag": link.audience},
            "link_access_level": {".tag": link.access},
            "audience_options": audience_options,
            "can_set_password": true,
            "can_remove_password": true,
            "require_password": link.password.is_some(),
        },
    });
    if let Some(expires) = link.expires {
        v["expires"] = json!(timestamp(expires));
    }
    match &node.kind {
        NodeKind::File(f) => {
            v[".tag"] = json!("file");
            v["client_modified"] = json!(timestamp(f.client_modified));
            v["server_modified"] = json!(timestamp(f.server_modified));
            v["rev"] = json!(f.rev);
            v["size"] = json!(f.size);
        }
        NodeKind::Folder => v[".tag"] = json!("folder"),
    }
    Some(v)
}

#[derive(Debug, Deserialize)]
struct CreateLinkArg {
    path: String,
    settings: Option<Settings>,
}

/// `sharing/create_shared_link_with_settings`.
pub(crate) fn create_link(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: CreateLinkArg = parse(arg)?;
    let settings = arg.settings.unwrap_or_default();
    let mut store = app.store();
    let (_, node) = existing(&store, caller, &arg.path, PathForms::READ, "path")?;
    let node_id = node.id.clone();
    let is_file = matches!(node.kind, NodeKind::File(_));
    let name = file_name(&node.display).to_owned();
    if let Some(link) = store
        .links
        .iter()
        .find(|l| l.node_id == node_id && l.owner == caller.account)
    {
        if settings.is_custom() {
            return Err(ApiError::tag("shared_link_already_exists"));
        }
        let meta = link_json(&store, caller, link).unwrap_or(Value::Null);
        let existing = json!({".tag": "metadata", "metadata": meta});
        return Err(ApiError::Route(
            json!({".tag": "shared_link_already_exists", "shared_link_already_exists": existing}),
        ));
    }
    let n = store.next();
    let key = format!("sbx{n:08x}{}", fastrand::Rng::with_seed(n).u32(..));
    let mut link = SharedLink {
        url: format!(
            "https://www.dropbox.com/scl/{}/{key}/{}?rlkey=sbx{n}&dl=0",
            if is_file { "fi" } else { "fo" },
            percent_encoding::utf8_percent_encode(&name, percent_encoding::NON_ALPHANUMERIC)
        ),
        node_id,
        owner: caller.account,
        audience: "public".into(),
        expires: None,
        password: None,
        access: "viewer".into(),
        allow_download: true,
    };
    settings.apply(&mut link)?;
    let meta = link_json(&store, caller, &link).ok_or(ApiError::nested("path", "not_found"))?;
    store.links.push(link);
    Ok(meta)
}

#[derive(Debug, Deserialize)]
struct ListLinksArg {
    path: Option<String>,
    cursor: Option<String>,
    #[serde(default)]
    direct_only: bool,
}

/// `sharing/list_shared_links`.
pub(crate) fn list_links(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: ListLinksArg = if arg.is_null() {
        ListLinksArg {
            path: None,
            cursor: None,
            direct_only: false,
        }
    } else {
        parse(arg)?
    };
    let store = app.store();
    if let Some(cursor) = &arg.cursor {
        if cursor != "sbx-links-end" {
            return Err(ApiError::tag("reset"));
        }
        return Ok(json!({"links": [], "has_more": false}));
    }
    let mine = store.links.iter().filter(|l| l.owner == caller.account);
    let links: Vec<Value> = match &arg.path {
        Some(path) => {
            let target = super::files::resolve(&store, caller, path, PathForms::READ, false)
                .map_err(|e| e.lookup("path"))?;
            let Target::Loc(loc) = target else {
                return Err(ApiError::nested("path", "not_found"));
            };
            if store.node(loc.ns(), &loc.lower).is_none() {
                return Err(ApiError::nested("path", "not_found"));
            }
            mine.filter(|l| {
                store.ids.get(&l.node_id).is_some_and(|(ns, lower)| {
                    *ns == loc.ns()
                        && (*lower == loc.lower
                            || (!arg.direct_only && super::state::within(&loc.lower, lower)))
                })
            })
            .filter_map(|l| link_json(&store, caller, l))
            .collect()
        }
        None => mine.filter_map(|l| link_json(&store, caller, l)).collect(),
    };
    let mut result = json!({"links": links, "has_more": false});
    if arg.path.is_none() {
        result["cursor"] = json!("sbx-links-end");
    }
    Ok(result)
}

#[derive(Debug, Deserialize)]
struct ModifyLinkArg {
    url: String,
    settings: Settings,
    #[serde(default)]
    remove_expiration: bool,
}

/// `sharing/modify_shared_link_settings`.
pub(crate) fn modify_link(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: ModifyLinkArg = parse(arg)?;
    let mut store = app.store();
    let i = store
        .links
        .iter()
        .position(|l| l.url == arg.url)
        .ok_or(ApiError::tag("shared_link_not_found"))?;
    if store.links[i].owner != caller.account {
        return Err(ApiError::tag("shared_link_access_denied"));
    }
    let mut link = store.links[i].clone();
    arg.settings.apply(&mut link)?;
    if arg.remove_expiration {
        link.expires = None;
    }
    let meta = link_json(&store, caller, &link).ok_or(ApiError::tag("shared_link_not_found"))?;
    store.links[i] = link;
    Ok(meta)
}

#[derive(Debug, Deserialize)]
struct UrlArg {
    url: String,
}

/// `sharing/revoke_shared_link`.
pub(crate) fn revoke_link(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: UrlArg = parse(arg)?;
    if !arg.url.starts_with("https://") {
        return Err(ApiError::tag("shared_link_malformed"));
    }
    let mut store = app.store();
    let i = store
        .links
        .iter()
        .position(|l| l.url == arg.url)
        .ok_or(ApiError::tag("shared_link_not_found"))?;
    if store.links[i].owner != caller.account {
        return Err(ApiError::tag("shared_link_access_denied"));
    }
    store.links.remove(i);
    Ok(Value::Null)
}

#[derive(Debug, Deserialize)]
struct ShareFolderArg {
    path: String,
    #[serde(default)]
    force_async: bool,
    acl_update_policy: Option<Value>,
    member_policy: Option<Value>,
    shared_link_policy: Option<Value>,
    viewer_info_policy: Option<Value>,
}

/// `SharedFolderMetadata` of a shared folder as seen by `account`.
pub(crate) fn shared_folder_json(store: &Store, account: usize, sf: &SharedFolder) -> Value {
    let (lower, display) = store
        .ids
        .get(&sf.folder_id)
        .and_then(|(ns, lower)| {
            store
                .node(*ns, lower)
                .map(|n| (lower.clone(), n.display.clone()))
        })
        .unwrap_or_default();
    let access = if sf.owner == account {
        "owner".to_owned()
    } else {
        sf.members
            .iter()
            .find(|(m, _)| *m == account)
            .map_or("viewer".to_owned(), |(_, a)| a.clone())
    };
    let mut v = json!({
        "access_type": {".tag": access},
        "is_inside_team_folder": false,
        "is_team_folder": false,
        "name": file_name(&display),
        "policy": sf.policy,
        "preview_url": format!("https://www.dropbox.com/scl/fo/sbx{}", sf.id),
        "shared_folder_id": sf.id,
        "time_invited": timestamp(sf.created),
        "access_inheritance": {".tag": "inherit"},
        "folder_id": sf.folder_id,
        "owner_display_names": [store.accounts[sf.owner].display_name()],
    });
    if sf.owner == account {
        v["path_lower"] = json!(lower);
        v["path_display"] = json!(display);
    }
    v
}

fn policy_tag(v: &Option<Value>, default: &str, allowed: &[&str]) -> Result<String, ApiError> {
    match v.as_ref().map(wire::union_tag) {
        None => Ok(default.to_owned()),
        Some(Some(t)) if allowed.contains(&t) => Ok(t.to_owned()),
        _ => Err(ApiError::BadRequest(
            "request body: unknown policy tag".into(),
        )),
    }
}

/// `sharing/share_folder`.
pub(crate) fn share_folder(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: ShareFolderArg = parse(arg)?;
    let acl = policy_tag(&arg.acl_update_policy, "editors", &["owner", "editors"])?;
    let member = policy_tag(
        &arg.member_policy,
        "anyone",
        &["team", "anyone", "team_and_approved"],
    )?;
    let links = policy_tag(
        &arg.shared_link_policy,
        "anyone",
        &["anyone", "team", "members"],
    )?;
    let viewer = policy_tag(&arg.viewer_info_policy, "enabled", &["enabled", "disabled"])?;
    app.mutate(|store| {
        let bad_path = |tag: &str| ApiError::Route(json!({".tag": "bad_path", "bad_path": {".tag": tag}}));
        let loc = write_target(store, caller, &arg.path, PathForms::ID).map_err(|_| bad_path("invalid_path"))?;
        let folder_id = match store.node(loc.ns(), &loc.lower) {
            Some(node) => match node.kind {
                NodeKind::File(_) => return Err(bad_path("is_file")),
                NodeKind::Folder => node.id.clone(),
            },
            None => {
                let created = make_folder(store, loc.clone(), false).map_err(|_| bad_path("invalid_path"))?;
                store.node(created.ns(), &created.lower).map(|n| n.id.clone()).unwrap_or_default()
            }
        };
        if let Some(sf) = store.shared_folder_of(&folder_id) {
            let mut meta = shared_folder_json(store, caller.account, sf);
            meta[".tag"] = json!("already_shared");
            return Err(ApiError::Route(json!({".tag": "bad_path", "bad_path": meta /* a SharedFolderMetadata struct: Stone flattens it next to its tag */})));
        }
        if store.enclosing_shared_folder(loc.ns(), &loc.lower).is_some() {
            return Err(bad_path("inside_shared_folder"));
        }
        let contains = store.shared_folders.values().any(|sf| {
            store.ids.get(&sf.folder_id).is_some_and(|(ns, l)| *ns == loc.ns() && super::state::within(l, &loc.lower))
        });
        if contains {
            return Err(bad_path("contains_shared_folder"));
        }
        let id = format!("{}", 84_000_000_000u64 + store.next());
        let sf = SharedFolder {
            id: id.clone(),
            folder_id,
            owner: caller.account,
            members: Vec::new(),
            invitees: Vec::new(),
            policy: json!({
                "acl_update_policy": {".tag": acl},
                "shared_link_policy": {".tag": links},
                "member_policy": {".tag": member},
                "resolved_member_policy": {".tag": member},
                "viewer_info_policy": {".tag": viewer},
            }),
            created: Utc::now(),
        };
        store.shared_folders.insert(id.clone(), sf.clone());
        // Re-journal the folder so cursors see its new sharing info.
        if let Some(node) = store.node(loc.ns(), &loc.lower).cloned() {
            store.record(loc.ns(), &loc.lower, &node.display, super::state::Snapshot::Folder { id: node.id });
        }
        let mut meta = shared_folder_json(store, caller.account, &sf);
        if arg.force_async {
            let job = format!("dbjid:sbx-share-{id}");
            meta[".tag"] = json!("complete");
            store.jobs.insert(job.clone(), meta);
            return Ok(json!({".tag": "async_job_id", "async_job_id": job}));
        }
        meta[".tag"] = json!("complete");
        Ok(meta)
    })
}

#[derive(Debug, Deserialize)]
struct JobArg {
    async_job_id: String,
}

/// `sharing/check_share_job_status`.
pub(crate) fn check_share_job_status(
    app: &App,
    _caller: &Caller,
    arg: Value,
) -> Result<Value, ApiError> {
    let arg: JobArg = parse(arg)?;
    app.store()
        .jobs
        .get(&arg.async_job_id)
        .cloned()
        .ok_or(ApiError::tag("invalid_async_job_id"))
}

#[derive(Debug, Deserialize)]
struct AddMember {
    member: Value,
    access_level: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct AddFolderMemberArg {
    shared_folder_id: String,
    members: Vec<AddMember>,
}

fn access_error(tag: &str) -> ApiError {
    ApiError::Route(json!({".tag": "access_error", "access_error": {".tag": tag}}))
}

/// `sharing/add_folder_member`.
pub(crate) fn add_folder_member(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: AddFolderMemberArg = parse(arg)?;
    app.mutate(|store| {
        let accounts = store.accounts.clone();
        let sf = store
            .shared_folders
            .get_mut(&arg.shared_folder_id)
            .ok_or_else(|| access_error("invalid_id"))?;
        let my_access = if sf.owner == caller.account {
            Some("owner")
        } else {
            sf.members
                .iter()
                .find(|(m, _)| *m == caller.account)
                .map(|(_, a)| a.as_str())
        };
        // AclUpdatePolicy: `owner` lets only the owner change the members, `editors` any editor.
        let editors_may = sf.policy["acl_update_policy"][".tag"].as_str() == Some("editors");
        match my_access {
            None => return Err(access_error("not_a_member")),
            Some("owner") => {}
            Some("editor") if editors_may => {}
            Some(_) => return Err(ApiError::tag("no_permission")),
        }
        for m in &arg.members {
            let level = match m.access_level.as_ref().map(wire::union_tag) {
                None => "viewer".to_owned(),
                Some(Some(l @ ("editor" | "viewer" | "viewer_no_comment" | "traverse"))) => {
                    l.to_owned()
                }
                _ => {
                    return Err(ApiError::BadRequest(
                        "request body: members: invalid access_level".into(),
                    ))
                }
            };
            let bad_member = |tag: &str, value: &str| {
                ApiError::Route(
                    json!({".tag": "bad_member", "bad_member": {".tag": tag, tag: value}}),
                )
            };
            let account = match wire::union_tag(&m.member) {
                Some("email") => {
                    let email = m
                        .member
                        .get("email")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if !email.contains('@') {
                        return Err(bad_member("invalid_email", email));
                    }
                    match accounts
                        .iter()
                        .position(|a| a.email.eq_ignore_ascii_case(email))
                    {
                        Some(i) => i,
                        None => {
                            if !sf.invitees.iter().any(|(e, _)| e == email) {
                                sf.invitees.push((email.to_owned(), level));
                            }
                            continue;
                        }
                    }
                }
                Some("dropbox_id") => {
                    let id = m
                        .member
                        .get("dropbox_id")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    accounts
                        .iter()
                        .position(|a| a.account_id == id || a.team_member_id == id)
                        .ok_or_else(|| bad_member("invalid_dropbox_id", id))?
                }
                _ => {
                    return Err(ApiError::BadRequest(
                        "request body: members: unknown member selector".into(),
                    ))
                }
            };
            if account == sf.owner {
                continue;
            }
            match sf.members.iter_mut().find(|(a, _)| *a == account) {
                Some(existing) => existing.1 = level,
                None => sf.members.push((account, level)),
            }
        }
        Ok(Value::Null)
    })
}

#[derive(Debug, Deserialize)]
struct ListMembersArg {
    shared_folder_id: String,
    #[serde(default = "default_members_limit")]
    limit: u64,
}

fn default_members_limit() -> u64 {
    1000
}

/// One page of a shared folder's members: users first, then invitees, `limit` in all, starting
/// at `offset`; the cursor (`sbx-members:<id>:<next>:<limit>`) is present only when more follow.
fn members_json(
    store: &Store,
    caller: &Caller,
    id: &str,
    offset: usize,
    limit: usize,
) -> Result<Value, ApiError> {
    let sf = store
        .shared_folders
        .get(id)
        .ok_or(ApiError::tag("invalid_id"))?;
    if sf.owner != caller.account && !sf.members.iter().any(|(m, _)| *m == caller.account) {
        return Err(ApiError::tag("not_a_member"));
    }
    let owner_team = store.accounts[sf.owner].team_space;
    let user = |account: usize, access: &str| {
        let a = &store.accounts[account];
        json!({
            "access_type": {".tag": access},
            "user": {"account_id": a.account_id, "email": a.email, "display_name": a.display_name(),
                     "same_team": a.team_space == owner_team, "team_member_id": a.team_member_id},
            "permissions": [],
            "is_inherited": false,
        })
    };
    let mut users = vec![user(sf.owner, "owner")];
    users.extend(sf.members.iter().map(|(m, a)| user(*m, a)));
    let invitees: Vec<Value> = sf
        .invitees
        .iter()
        .map(|(email, a)| json!({"access_type": {".tag": a}, "invitee": {".tag": "email", "email": email}, "permissions": [], "is_inherited": false}))
        .collect();
    let total = users.len() + invitees.len();
    let end = (offset + limit).min(total);
    let page_users: Vec<Value> = users
        .iter()
        .enumerate()
        .filter(|(i, _)| (offset..end).contains(i))
        .map(|(_, u)| u.clone())
        .collect();
    let page_invitees: Vec<Value> = invitees
        .iter()
        .enumerate()
        .filter(|(i, _)| (offset..end).contains(&(i + users.len())))
        .map(|(_, u)| u.clone())
        .collect();
    let mut page = json!({"users": page_users, "groups": [], "invitees": page_invitees});
    if end < total {
        page["cursor"] = json!(format!("sbx-members:{id}:{end}:{limit}"));
    }
    Ok(page)
}

/// `sharing/list_folder_members`.
pub(crate) fn list_folder_members(
    app: &App,
    caller: &Caller,
    arg: Value,
) -> Result<Value, ApiError> {
    let arg: ListMembersArg = parse(arg)?;
    if !(1..=1000).contains(&arg.limit) {
        return Err(ApiError::BadRequest(format!(
            "request body: limit: {} is not within 1..1000",
            arg.limit
        )));
    }
    members_json(
        &app.store(),
        caller,
        &arg.shared_folder_id,
        0,
        arg.limit as usize,
    )
}

#[derive(Debug, Deserialize)]
struct CursorArg {
    cursor: String,
}

/// `sharing/list_folder_members/continue`.
pub(crate) fn list_folder_members_continue(
    app: &App,
    caller: &Caller,
    arg: Value,
) -> Result<Value, ApiError> {
    let arg: CursorArg = parse(arg)?;
    let parts: Vec<&str> = arg
        .cursor
        .strip_prefix("sbx-members:")
        .map(|rest| rest.split(':').collect())
        .unwrap_or_default();
    let [id, offset, limit] = parts[..] else {
        return Err(ApiError::tag("invalid_cursor"));
    };
    match (offset.parse::<usize>(), limit.parse::<usize>()) {
        (Ok(offset), Ok(limit)) if (1..=1000).contains(&limit) => {
            members_json(&app.store(), caller, id, offset, limit)
        }
        _ => Err(ApiError::tag("invalid_cursor")),
    }
}
