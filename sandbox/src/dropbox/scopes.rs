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

/// Every served route that needs a scope, with the scope of its Stone `attrs` (files.stone,
/// sharing.stone, file_requests.stone, file_properties.stone, users.stone, check.stone; the team
/// routes from team.stone and team_log.stone). Routes without one (`check/app`,
/// `auth/token/revoke`) are not listed.
pub(crate) const ROUTE_SCOPES: [(&str, &str); 67] = [
    ("files/list_folder", "files.metadata.read"),
    ("files/list_folder/continue", "files.metadata.read"),
    ("files/list_folder/get_latest_cursor", "files.metadata.read"),
    ("files/list_folder/longpoll", "files.metadata.read"),
    ("files/get_metadata", "files.metadata.read"),
    ("files/download", "files.content.read"),
    ("files/create_folder_v2", "files.content.write"),
    ("files/move_v2", "files.content.write"),
    ("files/copy_v2", "files.content.write"),
    ("files/delete_v2", "files.content.write"),
    ("files/list_revisions", "files.metadata.read"),
    ("files/restore", "files.content.write"),
    ("files/search_v2", "files.metadata.read"),
    ("files/search/continue_v2", "files.metadata.read"),
    ("files/tags/add", "files.metadata.write"),
    ("files/tags/get", "files.metadata.read"),
    ("files/tags/remove", "files.metadata.write"),
    ("files/upload", "files.content.write"),
    ("files/upload_session/start", "files.content.write"),
    ("files/upload_session/append_v2", "files.content.write"),
    ("files/upload_session/append", "files.content.write"),
    ("files/upload_session/finish", "files.content.write"),
    ("files/upload_session/start_batch", "files.content.write"),
    (
        "files/upload_session/finish_batch_v2",
        "files.content.write",
    ),
    ("files/upload_session/finish_batch", "files.content.write"),
    (
        "files/upload_session/finish_batch/check",
        "files.content.write",
    ),
    (
        "file_properties/templates/add_for_user",
        "files.metadata.write",
    ),
    (
        "file_properties/templates/get_for_user",
        "files.metadata.read",
    ),
    (
        "file_properties/templates/list_for_user",
        "files.metadata.read",
    ),
    (
        "file_properties/templates/update_for_user",
        "files.metadata.write",
    ),
    (
        "file_properties/templates/remove_for_user",
        "files.metadata.write",
    ),
    ("file_properties/properties/add", "files.metadata.write"),
    ("file_properties/properties/update", "files.metadata.write"),
    (
        "file_properties/properties/overwrite",
        "files.metadata.write",
    ),
    ("file_properties/properties/remove", "files.metadata.write"),
    ("sharing/create_shared_link_with_settings", "sharing.write"),
    ("sharing/list_shared_links", "sharing.read"),
    ("sharing/modify_shared_link_settings", "sharing.write"),
    ("sharing/revoke_shared_link", "sharing.write"),
    ("sharing/share_folder", "sharing.write"),
    ("sharing/check_share_job_status", "sharing.write"),
    ("sharing/add_folder_member", "sharing.write"),
    ("sharing/list_folder_members", "sharing.read"),
    ("sharing/list_folder_members/continue", "sharing.read"),
    ("file_requests/create", "file_requests.write"),
    ("file_requests/get", "file_requests.read"),
    ("file_requests/update", "file_requests.write"),
    ("file_requests/list_v2", "file_requests.read"),
    ("file_requests/list/continue", "file_requests.read"),
    ("file_requests/list", "file_requests.read"),
    ("file_requests/count", "file_requests.read"),
    ("file_requests/delete", "file_requests.write"),
    ("file_requests/delete_all_closed", "file_requests.write"),
    ("users/get_current_account", "account_info.read"),
    ("users/get_account", "sharing.read"),
    ("users/get_space_usage", "account_info.read"),
    ("check/user", "account_info.read"),
    ("files/move_batch_v2", "files.content.write"),
    ("files/move_batch/check_v2", "files.content.write"),
    ("files/copy_batch_v2", "files.content.write"),
    ("files/copy_batch/check_v2", "files.content.write"),
    ("files/delete_batch", "files.content.write"),
    ("files/delete_batch/check", "files.content.write"),
    ("team/members/list_v2", "members.read"),
    ("team/members/list/continue_v2", "members.read"),
    ("team_log/get_events", "events.read"),
    ("team_log/get_events/continue", "events.read"),
];

/// The scope a route requires (`None`: no scope, e.g. `check/app`, `auth/token/revoke`).
pub(crate) fn required(route: &str) -> Option<&'static str> {
    ROUTE_SCOPES
        .iter()
        .find(|(r, _)| *r == route)
        .map(|(_, scope)| *scope)
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
        for (route, scope) in ROUTE_SCOPES {
            assert!(ALL.contains(&scope), "{route}: {scope} is not an app scope");
            let listed = ROUTE_SCOPES.iter().filter(|(r, _)| *r == route).count();
            assert_eq!(listed, 1, "{route} listed {listed} times");
        }
    }
}
