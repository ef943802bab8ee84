//! Calls of the other namespaces: file_properties, sharing, file_requests, users, check, auth,
//! OAuth, team and team_log, and the errors every route shares.

use serde_json::{json, Value};

use crate::stone::harness::{tag, Auth, Ctx, Req, TOKEN};
use crate::{TEAM_TOKEN, TOKEN_2};

pub async fn properties(ctx: &Ctx, manifest: &Value) {
    let template = manifest["property_templates"][0]["template_id"].clone();
    ctx.ok("file_properties/templates/list_for_user", Value::Null)
        .await;
    let fields = ctx
        .ok(
            "file_properties/templates/get_for_user",
            json!({"template_id": template}),
        )
        .await["fields"]
        .clone();
    ctx.err(
        "file_properties/templates/get_for_user",
        json!({"template_id": "ptid:nope"}),
        "template_not_found",
    )
    .await;
    let name = fields[0]["name"].clone();
    let path = "/Conf/a.txt";
    let group =
        |value: &str| json!({"template_id": template, "fields": [{"name": name, "value": value}]});
    ctx.ok(
        "file_properties/properties/add",
        json!({"path": path, "property_groups": [group("one")]}),
    )
    .await;
    ctx.err(
        "file_properties/properties/add",
        json!({"path": path, "property_groups": [group("again")]}),
        "property_group_already_exists",
    )
    .await;
    ctx.ok(
        "file_properties/properties/update",
        json!({"path": path, "update_property_groups": [{"template_id": template,
            "add_or_update_fields": [{"name": name, "value": "two"}]}]}),
    )
    .await;
    ctx.ok(
        "file_properties/properties/overwrite",
        json!({"path": path, "property_groups": [group("three")]}),
    )
    .await;
    ctx.ok(
        "files/get_metadata",
        json!({"path": path, "include_property_groups": {".tag": "filter_some", "filter_some": [template]}}),
    )
    .await;
    ctx.ok(
        "file_properties/properties/remove",
        json!({"path": path, "property_template_ids": [template]}),
    )
    .await;
    let added = ctx
        .ok(
            "file_properties/templates/add_for_user",
            json!({"name": "Conformance", "description": "d",
                "fields": [{"name": "a", "description": "", "type": "string"}]}),
        )
        .await;
    ctx.ok(
        "file_properties/templates/update_for_user",
        json!({"template_id": added["template_id"], "name": "Conformance 2"}),
    )
    .await;
    ctx.ok(
        "file_properties/templates/remove_for_user",
        json!({"template_id": added["template_id"]}),
    )
    .await;
}

pub async fn sharing(ctx: &Ctx) {
    let path = "/Conf/a.txt";
    let link = ctx
        .ok(
            "sharing/create_shared_link_with_settings",
            json!({"path": path, "settings": {"audience": "public", "expires": "2099-01-01T00:00:00Z"}}),
        )
        .await;
    ctx.ok(
        "sharing/create_shared_link_with_settings",
        json!({"path": "/Marketing"}),
    )
    .await;
    ctx.err(
        "sharing/create_shared_link_with_settings",
        json!({"path": path}),
        "shared_link_already_exists",
    )
    .await;
    ctx.ok("sharing/list_shared_links", json!({"path": path}))
        .await;
    ctx.ok("sharing/list_shared_links", json!({})).await;
    ctx.ok(
        "sharing/modify_shared_link_settings",
        json!({"url": link["url"], "settings": {"audience": "team"}, "remove_expiration": true}),
    )
    .await;
    ctx.ok("sharing/revoke_shared_link", json!({"url": link["url"]}))
        .await;
    ctx.err(
        "sharing/revoke_shared_link",
        json!({"url": link["url"]}),
        "shared_link_not_found",
    )
    .await;

    let shared = ctx
        .ok("sharing/share_folder", json!({"path": "/Conf/Shared"}))
        .await;
    let sfid = shared["shared_folder_id"].clone();
    ctx.err(
        "sharing/share_folder",
        json!({"path": "/Conf/Shared"}),
        "bad_path/already_shared",
    )
    .await;
    let job = ctx
        .ok(
            "sharing/share_folder",
            json!({"path": "/Conf/Shared Later", "force_async": true}),
        )
        .await;
    ctx.ok(
        "sharing/check_share_job_status",
        json!({"async_job_id": job["async_job_id"]}),
    )
    .await;
    ctx.ok(
        "sharing/add_folder_member",
        json!({"shared_folder_id": sfid, "members": [
            {"member": {".tag": "email", "email": "olu@outside.example"}, "access_level": "editor"}]}),
    )
    .await;
    ctx.err(
        "sharing/add_folder_member",
        json!({"shared_folder_id": "999", "members": []}),
        "access_error/invalid_id",
    )
    .await;
    let members = ctx
        .ok(
            "sharing/list_folder_members",
            json!({"shared_folder_id": sfid, "limit": 1}),
        )
        .await;
    let cursor = members["cursor"]
        .as_str()
        .expect("a one-member page of a shared folder has a cursor");
    ctx.ok(
        "sharing/list_folder_members/continue",
        json!({"cursor": cursor}),
    )
    .await;
    ctx.err(
        "sharing/list_folder_members/continue",
        json!({"cursor": "nope"}),
        "invalid_cursor",
    )
    .await;
}

pub async fn file_requests(ctx: &Ctx, manifest: &Value) {
    let seeded = manifest["file_requests"][0]["id"].clone();
    let created = ctx
        .ok(
            "file_requests/create",
            json!({"title": "Conformance", "destination": "/Conf/Requests",
                "deadline": {"deadline": "2099-01-01T00:00:00Z", "allow_late_uploads": "one_day"}}),
        )
        .await;
    ctx.err(
        "file_requests/create",
        json!({"title": "Bad", "destination": "/Conf/a.txt"}),
        "",
    )
    .await;
    ctx.ok("file_requests/get", json!({"id": seeded})).await;
    ctx.err("file_requests/get", json!({"id": "nope"}), "not_found")
        .await;
    ctx.ok(
        "file_requests/update",
        json!({"id": created["id"], "open": false}),
    )
    .await;
    let page = ctx.ok("file_requests/list_v2", json!({"limit": 1})).await;
    if let Some(cursor) = page["cursor"].as_str() {
        ctx.ok("file_requests/list/continue", json!({"cursor": cursor}))
            .await;
    }
    ctx.ok("file_requests/list", Value::Null).await;
    ctx.ok("file_requests/count", Value::Null).await;
    ctx.ok("file_requests/delete", json!({"ids": [created["id"]]}))
        .await;
    ctx.ok("file_requests/delete_all_closed", Value::Null).await;
}

pub async fn users(ctx: &Ctx) {
    ctx.ok("users/get_current_account", Value::Null).await;
    ctx.expect_ok(Req::new("users/get_current_account", Value::Null).token(TOKEN_2))
        .await;
    ctx.expect_ok(
        Req::new("users/get_current_account", Value::Null)
            .token(TEAM_TOKEN)
            .header("Dropbox-API-Select-User", "dbmid:dana"),
    )
    .await;
    let me = ctx.sandbox.dropbox_manifest()["accounts"][1]["account_id"].clone();
    ctx.ok("users/get_account", json!({"account_id": me})).await;
    ctx.err(
        "users/get_account",
        json!({"account_id": format!("dbid:{:0<35}", "Nobody")}),
        "no_account",
    )
    .await;
    ctx.ok("users/get_space_usage", Value::Null).await;
    ctx.ok("check/user", json!({"query": "ping"})).await;
    ctx.expect_ok(
        Req::new("check/app", json!({"query": "ping"}))
            .auth(Auth::Basic("sandbox-app".into(), "sandbox-secret".into())),
    )
    .await;
    // Auth errors are AuthError envelopes.
    ctx.expect_status(
        Req::new("users/get_current_account", Value::Null).token("bogus"),
        401,
        "invalid_access_token",
    )
    .await;
    ctx.expect_status(
        Req::new("users/get_current_account", Value::Null)
            .token(TEAM_TOKEN)
            .header("Dropbox-API-Select-User", "dbmid:nobody"),
        401,
        "invalid_select_user",
    )
    .await;
    ctx.expect_status(
        Req::new("files/list_folder", json!({"path": ""})).header(
            "Dropbox-API-Path-Root",
            r#"{".tag": "namespace_id", "namespace_id": "777"}"#,
        ),
        422,
        "",
    )
    .await;
}

pub async fn oauth(ctx: &Ctx) {
    let refresh = json!({"grant_type": "refresh_token", "refresh_token": "sandbox-refresh",
        "client_id": "sandbox-app", "client_secret": "sandbox-secret"});
    let mut token = Value::Null;
    for path in ["/oauth2/token", "/1/oauth2/token"] {
        let mut req = Req::new("", refresh.clone()).auth(Auth::None);
        req.path = path.into();
        token = ctx.expect_ok(req).await["access_token"].clone();
    }
    let mut bad = Req::new(
        "",
        json!({"grant_type": "refresh_token", "refresh_token": "nope", "client_id": "sandbox-app",
            "client_secret": "sandbox-secret"}),
    )
    .auth(Auth::None);
    bad.path = "/oauth2/token".into();
    let reply = ctx.call(bad).await;
    if reply.status.as_u16() != 400 {
        ctx.problem(format!(
            "oauth2/token with a bad refresh token: {}",
            reply.status
        ));
    }
    let token = token.as_str().unwrap_or(TOKEN).to_owned();
    ctx.expect_ok(Req::new("auth/token/revoke", Value::Null).token(&token))
        .await;
    ctx.expect_status(
        Req::new("users/get_current_account", Value::Null).token(&token),
        401,
        "invalid_access_token",
    )
    .await;

    // `/oauth2/authorize` is a browser redirect, not JSON.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .get(format!(
            "{}/oauth2/authorize?client_id=sandbox-app&response_type=code&redirect_uri=http://127.0.0.1:9/cb&state=s",
            ctx.url
        ))
        .send()
        .await
        .unwrap();
    let location = r
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default();
    if !(r.status().is_redirection() && location.contains("code=") && location.contains("state=s"))
    {
        ctx.problem(format!(
            "oauth2/authorize: expected a redirect with code and state, got {} {location:?}",
            r.status()
        ));
    }
}

/// Errors every route shares: bad JSON is a 400 in plain text; a 429 is a `RateLimitError`
/// envelope; a token without the route's scope gets `AuthError.missing_scope` (when the
/// emulator issues scoped tokens through `POST /__sandbox/tokens`).
pub async fn shared_errors(ctx: &Ctx) {
    ctx.sandbox
        .dropbox_faults()
        .add(sandbox::FaultRule::rate_limited("/2/files/list_folder", 3).with_count(1))
        .expect("rule");
    ctx.expect_status(
        Req::new("files/list_folder", json!({"path": ""})),
        429,
        "too_many_requests",
    )
    .await;
    let r = reqwest::Client::new()
        .post(format!("{}/__sandbox/tokens", ctx.url))
        .body(json!({"account": 0, "scopes": ["account_info.read"]}).to_string())
        .send()
        .await
        .unwrap();
    if r.status().is_success() {
        let body: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        let token = body["access_token"].as_str().unwrap_or_default().to_owned();
        ctx.expect_status(
            Req::new("files/list_folder", json!({"path": ""})).token(&token),
            401,
            "missing_scope",
        )
        .await;
        ctx.expect_ok(Req::new("users/get_current_account", Value::Null).token(&token))
            .await;
    }
}

/// Errors every route shares: bad JSON is a 400 in plain text.
pub async fn errors_outside_routes(ctx: &Ctx) {
    let r = reqwest::Client::new()
        .post(format!("{}/2/files/list_folder", ctx.url))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let plain = r
        .headers()
        .get("content-type")
        .is_some_and(|c| c.as_bytes().starts_with(b"text/plain"));
    if r.status() != 400 || !plain {
        ctx.problem(format!("bad JSON: {} plain={plain}", r.status()));
    }
}

/// The main error answer of routes whose success was checked above.
pub async fn route_errors(ctx: &Ctx) {
    let nope = json!({"path": "/Conf/nope.txt"});
    for (route, arg, summary) in [
        (
            "files/list_folder/get_latest_cursor",
            json!({"path": "/nope"}),
            "path/not_found",
        ),
        ("files/list_revisions", nope.clone(), "path/not_found"),
        (
            "files/move_v2",
            json!({"from_path": "/Conf/nope.txt", "to_path": "/Conf/x.txt"}),
            "from_lookup/not_found",
        ),
        (
            "files/tags/add",
            json!({"path": "/Conf/nope.txt", "tag_text": "x"}),
            "path/not_found",
        ),
        (
            "files/tags/get",
            json!({"paths": ["/Conf/nope.txt"]}),
            "path/not_found",
        ),
        (
            "file_properties/properties/remove",
            json!({"path": "/Conf/a.txt", "property_template_ids": ["ptid:nope"]}),
            "",
        ),
        (
            "file_properties/templates/update_for_user",
            json!({"template_id": "ptid:nope", "name": "x"}),
            "template_not_found",
        ),
        (
            "file_properties/templates/remove_for_user",
            json!({"template_id": "ptid:nope"}),
            "template_not_found",
        ),
        (
            "file_requests/update",
            json!({"id": "nope", "open": true}),
            "not_found",
        ),
        (
            "file_requests/delete",
            json!({"ids": ["nope"]}),
            "not_found",
        ),
        ("sharing/list_shared_links", nope.clone(), "path/not_found"),
        (
            "sharing/modify_shared_link_settings",
            json!({"url": "https://www.dropbox.com/s/nope/x?dl=0", "settings": {}}),
            "shared_link_not_found",
        ),
        (
            "sharing/check_share_job_status",
            json!({"async_job_id": "nope"}),
            "invalid_async_job_id",
        ),
        (
            "sharing/list_folder_members",
            json!({"shared_folder_id": "999"}),
            "invalid_id",
        ),
    ] {
        ctx.err(route, arg, summary).await;
    }
}

/// Team routes (`team/members/*`, `team_log/*`), when the emulator serves them.
pub async fn team(ctx: &Ctx) {
    if ctx.serves("/2/team/members/list_v2") {
        let page = ctx
            .expect_ok(Req::new("team/members/list_v2", json!({"limit": 1})).token(TEAM_TOKEN))
            .await;
        if let Some(cursor) = page["cursor"].as_str() {
            ctx.expect_ok(
                Req::new("team/members/list/continue_v2", json!({"cursor": cursor}))
                    .token(TEAM_TOKEN),
            )
            .await;
        }
        ctx.expect_status(
            Req::new("team/members/list/continue_v2", json!({"cursor": "nope"})).token(TEAM_TOKEN),
            409,
            "invalid_cursor",
        )
        .await;
    }
    if ctx.serves("/2/team_log/get_events") {
        let manifest = ctx.sandbox.dropbox_manifest();
        if let Some(id) = manifest["file_requests"][0]["id"].as_str() {
            let r = reqwest::Client::new()
                .post(format!(
                    "{}/__sandbox/file_requests/{id}/submit?name=conformance.txt",
                    ctx.url
                ))
                .body("submitted")
                .send()
                .await
                .unwrap();
            if !r.status().is_success() {
                ctx.problem(format!("file request submit: {}", r.status()));
            }
        }
        let page = ctx
            .expect_ok(
                Req::new(
                    "team_log/get_events",
                    json!({"limit": 1, "category": tag("file_requests")}),
                )
                .token(TEAM_TOKEN),
            )
            .await;
        if let Some(cursor) = page["cursor"].as_str() {
            ctx.expect_ok(
                Req::new("team_log/get_events/continue", json!({"cursor": cursor}))
                    .token(TEAM_TOKEN),
            )
            .await;
        }
        ctx.expect_status(
            Req::new("team_log/get_events/continue", json!({"cursor": "nope"})).token(TEAM_TOKEN),
            409,
            "bad_cursor",
        )
        .await;
    }
}
