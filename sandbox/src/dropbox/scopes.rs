//! OAuth scopes: what each route requires (the `scope` attr of its Stone route; team routes
//! from `team.stone` / `team_log.stone` of `dropbox/dropbox-api-spec`), and the check that
//! answers 401 `missing_scope` (auth.stone, `AuthError.missing_scope` with `TokenScopeError`
//! {`required_scope`}) when a token lacks it.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;

use super::wire::json_response;
use super::App;

/// Every scope the sandbox's app has; what a token carries unless its grant asked for less.
pub(crate) const ALL: [&str; 11] = [
    "account_info.read",
    "events.read",
    "file_requests.read",
    "file_requests.write",
    "files.content.read",
    "files.content.write",
    "files.metadata.read",
    "files.metadata.write",
    "members.read",
    "sharing.read",
    "sharing.write",
];

/// The scope a route requires (`None`: no scope, e.g. `check/app`, `auth/token/revoke`).
pub(crate) fn required(route: &str) -> Option<&'static str> {
    let scope = match route {
        "files/download" => "files.content.read",
        "files/tags/add" | "files/tags/remove" => "files.metadata.write",
        r if r.starts_with("files/upload")
            || r.starts_with("files/move")
            || r.starts_with("files/copy")
            || r.starts_with("files/delete")
            || r == "files/create_folder_v2"
            || r == "files/restore" =>
        {
            "files.content.write"
        }
        r if r.starts_with("files/") => "files.metadata.read",
        "file_properties/templates/get_for_user" | "file_properties/templates/list_for_user" => {
            "files.metadata.read"
        }
        r if r.starts_with("file_properties/") => "files.metadata.write",
        "sharing/list_shared_links"
        | "sharing/list_folder_members"
        | "sharing/list_folder_members/continue" => "sharing.read",
        r if r.starts_with("sharing/") => "sharing.write",
        "file_requests/get"
        | "file_requests/list_v2"
        | "file_requests/list/continue"
        | "file_requests/list"
        | "file_requests/count" => "file_requests.read",
        r if r.starts_with("file_requests/") => "file_requests.write",
        "users/get_account" => "sharing.read",
        "users/get_current_account" | "users/get_space_usage" | "check/user" => "account_info.read",
        r if r.starts_with("team/members/list") => "members.read",
        r if r.starts_with("team_log/") => "events.read",
        _ => return None,
    };
    Some(scope)
}

/// Middleware: a known token without the route's scope gets 401 `missing_scope`. Unknown or
/// expired tokens pass on to the route, which answers them as usual.
pub(crate) async fn check(State(app): State<App>, request: Request, next: Next) -> Response {
    let route = request.uri().path().trim_start_matches("/2/").to_owned();
    let Some(scope) = required(&route) else {
        return next.run(request).await;
    };
    let token = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_owned());
    let granted = token.and_then(|t| app.tokens.scopes(&t));
    if let Some(Some(scopes)) = granted {
        if !scopes.contains(scope) {
            return json_response(
                StatusCode::UNAUTHORIZED,
                &json!({
                    "error_summary": "missing_scope/..",
                    "error": {".tag": "missing_scope", "required_scope": scope},
                }),
            );
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_follow_the_route_attrs() {
        for (route, scope) in [
            ("files/list_folder", "files.metadata.read"),
            ("files/list_folder/longpoll", "files.metadata.read"),
            ("files/download", "files.content.read"),
            (
                "files/upload_session/finish_batch/check",
                "files.content.write",
            ),
            ("files/move_batch_v2", "files.content.write"),
            ("files/delete_batch/check", "files.content.write"),
            ("files/tags/get", "files.metadata.read"),
            ("files/tags/add", "files.metadata.write"),
            ("file_properties/properties/add", "files.metadata.write"),
            ("sharing/check_share_job_status", "sharing.write"),
            ("sharing/list_folder_members/continue", "sharing.read"),
            ("file_requests/count", "file_requests.read"),
            ("file_requests/delete", "file_requests.write"),
            ("users/get_account", "sharing.read"),
            ("team/members/list/continue_v2", "members.read"),
            ("team_log/get_events", "events.read"),
        ] {
            assert_eq!(required(route), Some(scope), "{route}");
        }
        assert_eq!(required("auth/token/revoke"), None);
        assert_eq!(required("check/app"), None);
        for scope in ALL {
            assert!(ALL.iter().filter(|s| **s == scope).count() == 1);
        }
    }
}
