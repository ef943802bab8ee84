//! `users/*`, `check/*` and `auth/token/revoke`.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{self, Caller};
use super::state::{NodeKind, Store};
use super::wire::{self, parse, ApiError};
use super::App;

/// `users/get_current_account`.
pub(crate) fn get_current_account(
    app: &App,
    caller: &Caller,
    _arg: Value,
) -> Result<Value, ApiError> {
    let store = app.store();
    let a = &store.accounts[caller.account];
    let mut v = json!({
        "account_id": a.account_id,
        "name": a.name_json(),
        "email": a.email,
        "email_verified": true,
        "disabled": false,
        "country": "US",
        "locale": "en",
        "referral_link": format!("https://www.dropbox.com/referrals/sbx{}", a.uid),
        "is_paired": false,
        "account_type": {".tag": "business"},
        "root_info": a.root_info(),
        "team_member_id": a.team_member_id,
    });
    v["team"] = full_team();
    Ok(v)
}

/// The `FullTeam` of the sandbox team (users.stone), with every field `TeamSharingPolicies`
/// (team_policies.stone) requires, each set to the policy the emulator actually follows:
/// anyone may be a member of or join shared folders, links are public by default, passwords
/// optional, no default expiry.
fn full_team() -> Value {
    json!({
        "id": "dbtid:sandbox-team",
        "name": "Sandbox Team",
        "sharing_policies": {
            "shared_folder_member_policy": {".tag": "anyone"},
            "shared_folder_join_policy": {".tag": "from_anyone"},
            "shared_link_create_policy": {".tag": "default_public"},
            "group_creation_policy": {".tag": "admins_only"},
            "shared_folder_link_restriction_policy": {".tag": "anyone"},
            "enforce_link_password_policy": {".tag": "optional"},
            "default_link_expiration_days_policy": {".tag": "none"},
            "shared_link_default_permissions_policy": {".tag": "default"},
        },
        "office_addin_policy": {".tag": "disabled"},
        "top_level_content_policy": {".tag": "admin_only"},
    })
}

#[derive(Debug, Deserialize)]
struct GetAccountArg {
    account_id: String,
}

/// `users/get_account`.
pub(crate) fn get_account(app: &App, _caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: GetAccountArg = parse(arg)?;
    let store = app.store();
    let a = store
        .accounts
        .iter()
        .find(|a| a.account_id == arg.account_id)
        .ok_or(ApiError::tag("no_account"))?;
    Ok(json!({
        "account_id": a.account_id,
        "name": a.name_json(),
        "email": a.email,
        "email_verified": true,
        "disabled": false,
        "is_teammate": true,
        "team_member_id": a.team_member_id,
    }))
}

fn used_bytes(store: &Store, account: usize) -> u64 {
    let ns = store.accounts[account].home_ns;
    store
        .namespaces
        .get(&ns)
        .map(|s| {
            s.nodes
                .values()
                .map(|n| match &n.kind {
                    NodeKind::File(f) => f.size,
                    NodeKind::Folder => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// `users/get_space_usage`.
pub(crate) fn get_space_usage(app: &App, caller: &Caller, _arg: Value) -> Result<Value, ApiError> {
    let store = app.store();
    Ok(json!({
        "used": used_bytes(&store, caller.account),
        "allocation": {".tag": "individual", "allocated": 2u64 << 40},
    }))
}

#[derive(Debug, Deserialize)]
struct CheckArg {
    #[serde(default)]
    query: String,
}

/// `check/user`.
pub(crate) fn check_user(_app: &App, _caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: CheckArg = if arg.is_null() {
        CheckArg {
            query: String::new(),
        }
    } else {
        parse(arg)?
    };
    Ok(json!({"result": arg.query}))
}

/// `check/app` (app auth: HTTP Basic with the app key and secret).
pub(crate) async fn check_app(headers: HeaderMap, body: Bytes) -> Response {
    let result = auth::authenticate_app(&headers)
        .and_then(|()| wire::rpc_arg(&headers, &body))
        .and_then(|arg| {
            if arg.is_null() {
                Ok(CheckArg {
                    query: String::new(),
                })
            } else {
                parse::<CheckArg>(arg)
            }
        });
    match result {
        Ok(arg) => wire::json_response(StatusCode::OK, &json!({"result": arg.query})),
        Err(e) => e.into_response("check/app"),
    }
}

/// `auth/token/revoke`: revokes the calling token (and its refresh token).
pub(crate) fn revoke_token(app: &App, caller: &Caller, _arg: Value) -> Result<Value, ApiError> {
    app.tokens.revoke(&caller.token);
    Ok(Value::Null)
}
