//! Stone conformance of the Dropbox emulator: every route the manifest lists is called with
//! realistic arguments (success answers and the main error answers), and every answer is
//! checked recursively against the Stone table in `tests/stone/` (the reference's `.stone`
//! files plus hand-written entries): required fields present with the right JSON type, no
//! unknown fields, union tags known, `.tag` forms right.
//!
//! A route the manifest lists without a checked success answer fails the test: to cover a new
//! route, add its types to `tests/stone/extra/` if the spec lacks them, and a call below.

mod stone;

use serde_json::{json, Value};
use stone::harness::{tag, Auth, Ctx, Req, TOKEN};

const TOKEN_2: &str = "sandbox-token-2";
const TEAM_TOKEN: &str = "sandbox-team-token";

/// Routes exempt from the success-answer coverage, with the reason; each is still called and
/// its answers checked.
const NO_SUCCESS_CHECK: &[&str] = &[
    // A browser redirect, not JSON: checked in `oauth` on its own terms.
    "/oauth2/authorize",
    // Every member fits in the first page, so no cursor exists to continue from; only the
    // error answer is checked until the emulator pages (then the call in `sharing` checks the
    // success answer, and this line can go).
    "/2/sharing/list_folder_members/continue",
];

#[tokio::test]
async fn every_route_answers_as_its_stone_types_say() {
    let ctx = Ctx::start().await;
    let manifest = ctx.manifest().await;
    let served: Vec<String> =
        serde_json::from_value(manifest["routes"].clone()).expect("manifest lists routes");
    assert!(served.len() > 50, "manifest routes: {served:?}");

    files_listing(&ctx).await;
    files_writes(&ctx).await;
    uploads(&ctx).await;
    tags(&ctx).await;
    properties(&ctx, &manifest).await;
    sharing(&ctx).await;
    file_requests(&ctx, &manifest).await;
    users(&ctx).await;
    oauth(&ctx).await;
    errors_outside_routes(&ctx).await;
    shared_errors(&ctx).await;
    route_errors(&ctx).await;
    batches(&ctx).await;
    team(&ctx).await;

    ctx.finish(&served, NO_SUCCESS_CHECK);
}

#[test]
fn the_table_reads_the_spec_and_the_extra_entries() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stone");
    let spec = stone::Spec::load(&[&dir.join("spec"), &dir.join("extra")]).unwrap();
    let route = &spec.routes["/2/files/copy_v2"];
    assert_eq!(route.style, "rpc");
    assert_eq!(spec.routes["/2/files/download"].style, "download");
    assert_eq!(spec.routes["/2/files/upload"].style, "upload");
    assert!(spec.routes.contains_key("/2/team/members/list_v2"));
    assert!(spec.routes.contains_key("/2/team_log/get_events"));
    // Every type a route or a field names is in the table.
    let mut missing = Vec::new();
    for (path, route) in &spec.routes {
        for ty in [&route.result, &route.error] {
            named(ty, &mut |ns, name| {
                if spec.def(ns, name).is_none() {
                    missing.push(format!("{path}: {ns}.{name}"));
                }
            });
        }
    }
    for ((ns, name), def) in &spec.types {
        let tys: Vec<&stone::Ty> = match def {
            stone::Def::Struct {
                fields, subtypes, ..
            } => fields
                .iter()
                .map(|f| &f.ty)
                .chain(subtypes.iter().map(|(_, t)| t))
                .collect(),
            stone::Def::Union { tags, .. } => tags.iter().map(|(_, t)| t).collect(),
            stone::Def::Alias(t) => vec![t],
        };
        for ty in tys {
            named(ty, &mut |tns, tname| {
                if spec.def(tns, tname).is_none() {
                    missing.push(format!("{ns}.{name}: {tns}.{tname}"));
                }
            });
        }
    }
    assert!(missing.is_empty(), "unresolved types: {missing:#?}");

    // The checker itself: a FullTeam without the policies the spec requires fails.
    let team = stone::Ty::Named {
        ns: "users".into(),
        name: "FullTeam".into(),
    };
    let incomplete = json!({"id": "t", "name": "T", "office_addin_policy": tag("disabled"),
        "top_level_content_policy": tag("admin_only"),
        "sharing_policies": {"shared_folder_member_policy": tag("anyone"),
            "shared_folder_join_policy": tag("from_anyone"),
            "shared_link_create_policy": tag("default_public")}});
    let problems = spec.check(&team, &incomplete, "t");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("default_link_expiration_days_policy")),
        "{problems:#?}"
    );
    let metadata = stone::Ty::Named {
        ns: "files".into(),
        name: "Metadata".into(),
    };
    let problems = spec.check(&metadata, &json!({"name": "x", "id": "id:1"}), "m");
    assert!(problems.iter().any(|p| p.contains(".tag")), "{problems:#?}");
    let problems = spec.check(
        &metadata,
        &json!({".tag": "folder", "name": "x", "id": "id:1", "colour": "red"}),
        "m",
    );
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].contains("colour"));

    // A leaf struct (the declared type has no subtypes) carries no `.tag`.
    let file = stone::Ty::Named {
        ns: "files".into(),
        name: "FileMetadata".into(),
    };
    let leaf = json!({".tag": "file", "name": "a", "id": "id:a", "client_modified": "2020-01-01T00:00:00Z",
        "server_modified": "2020-01-01T00:00:00Z", "rev": "0123456789", "size": 1});
    let problems = spec.check(&file, &leaf, "f");
    assert!(
        problems.len() == 1 && problems[0].contains(".tag"),
        "{problems:#?}"
    );

    // Unions: `.tag` objects only, known tags, payloads flattened or under the tag.
    let ty = |ns: &str, name: &str| stone::Ty::Named {
        ns: ns.into(),
        name: name.into(),
    };
    let lookup = ty("files", "LookupError");
    assert!(spec.check(&lookup, &tag("not_found"), "u").is_empty());
    assert!(
        spec.check(&lookup, &tag("other"), "u").is_empty(),
        "open union"
    );
    assert!(
        !spec.check(&lookup, &json!("not_found"), "u").is_empty(),
        "bare string"
    );
    assert!(
        !spec.check(&lookup, &tag("gone"), "u").is_empty(),
        "unknown tag"
    );
    let extra = json!({".tag": "not_found", "not_found": null});
    assert!(
        !spec.check(&lookup, &extra, "u").is_empty(),
        "void with a payload"
    );
    let malformed = json!({".tag": "malformed_path", "malformed_path": "bad"});
    assert!(
        spec.check(&lookup, &malformed, "u").is_empty(),
        "nullable payload"
    );
    let closed = ty("files", "WriteMode");
    assert!(
        !spec.check(&closed, &tag("other"), "u").is_empty(),
        "closed union"
    );
    let update = json!({".tag": "update", "update": "0123456789abcdef"});
    assert!(spec.check(&closed, &update, "u").is_empty());
    assert!(
        !spec.check(&closed, &tag("update"), "u").is_empty(),
        "payload missing"
    );
    // A struct payload is flattened next to the tag.
    let offset = ty("files", "UploadSessionLookupError");
    let flat = json!({".tag": "incorrect_offset", "correct_offset": 5});
    assert!(spec.check(&offset, &flat, "u").is_empty());
    let nested = json!({".tag": "incorrect_offset", "incorrect_offset": {"correct_offset": 5}});
    assert!(!spec.check(&offset, &nested, "u").is_empty());
    // Types of fields: a string where a number belongs, a bad timestamp.
    let usage = ty("users", "SpaceUsage");
    let allocation = json!({".tag": "individual", "allocated": 1});
    assert!(spec
        .check(&usage, &json!({"used": 1, "allocation": allocation}), "s")
        .is_empty());
    assert!(!spec
        .check(&usage, &json!({"used": "1", "allocation": allocation}), "s")
        .is_empty());
    let link = ty("files", "SharedLink");
    let problems = spec.check(&link, &json!({"url": "u", "password": null}), "l");
    assert!(
        problems.is_empty(),
        "a nullable field may be null: {problems:#?}"
    );
    assert!(!spec.check(&link, &json!({"url": null}), "l").is_empty());
    let request = ty("file_requests", "FileRequestDeadline");
    let bad_time = json!({"deadline": "2099-01-01 00:00:00"});
    assert!(!spec.check(&request, &bad_time, "d").is_empty());
}

fn named(ty: &stone::Ty, f: &mut impl FnMut(&str, &str)) {
    match ty {
        stone::Ty::Named { ns, name } => f(ns, name),
        stone::Ty::Nullable(t) | stone::Ty::Map(t) => named(t, f),
        stone::Ty::List { item, .. } => named(item, f),
        stone::Ty::Prim(_) => {}
    }
}

async fn files_listing(ctx: &Ctx) {
    let page = ctx
        .ok("files/list_folder", json!({"path": "", "recursive": true}))
        .await;
    ctx.ok(
        "files/list_folder",
        json!({"path": "/Marketing", "limit": 1, "include_deleted": true}),
    )
    .await;
    ctx.err(
        "files/list_folder",
        json!({"path": "/nope"}),
        "path/not_found",
    )
    .await;
    let cursor = ctx
        .ok(
            "files/list_folder/get_latest_cursor",
            json!({"path": "/Finance"}),
        )
        .await["cursor"]
        .clone();
    ctx.ok(
        "files/list_folder/continue",
        json!({"cursor": page["cursor"]}),
    )
    .await;
    // A cursor the server never issued is malformed input: 400 in plain text, as Dropbox does.
    let reply = ctx
        .call(Req::new(
            "files/list_folder/continue",
            json!({"cursor": "AAAAnot-a-cursor"}),
        ))
        .await;
    if reply.status != 400 {
        ctx.problem(format!(
            "files/list_folder/continue with a foreign cursor: {}",
            reply.status
        ));
    }
    // A change after the cursor: longpoll answers at once.
    ctx.upload(
        "files/upload",
        json!({"path": "/Finance/longpoll.txt"}),
        b"wake",
    )
    .await;
    ctx.expect_ok(
        Req::new(
            "files/list_folder/longpoll",
            json!({"cursor": cursor, "timeout": 30}),
        )
        .auth(Auth::None),
    )
    .await;
    ctx.ok("files/list_folder/continue", json!({"cursor": cursor}))
        .await;

    for path in [
        "/Marketing/Campaign 2026/Approved/Press Release.pdf",
        "/Marketing",
    ] {
        ctx.ok(
            "files/get_metadata",
            json!({"path": path, "include_has_explicit_shared_members": true}),
        )
        .await;
    }
    ctx.err(
        "files/get_metadata",
        json!({"path": "/nope.txt"}),
        "path/not_found",
    )
    .await;
    ctx.expect_ok(Req::new(
        "files/download",
        json!({"path": "/Marketing/Campaign 2026/Approved/Press Release.pdf"}),
    ))
    .await;
    ctx.err(
        "files/download",
        json!({"path": "/nope.pdf"}),
        "path/not_found",
    )
    .await;
    ctx.ok("files/search_v2", json!({"query": "policy"})).await;
    let first = ctx
        .ok(
            "files/search_v2",
            json!({"query": "pdf", "options": {"max_results": 1}}),
        )
        .await;
    if let Some(cursor) = first["cursor"].as_str() {
        ctx.ok("files/search/continue_v2", json!({"cursor": cursor}))
            .await;
    } else {
        ctx.problem("files/search_v2: max_results 1 gave no cursor to continue".into());
    }
}

async fn files_writes(ctx: &Ctx) {
    ctx.ok("files/create_folder_v2", json!({"path": "/Conf/Folder"}))
        .await;
    ctx.err(
        "files/create_folder_v2",
        json!({"path": "/Conf/Folder"}),
        "path/conflict/folder",
    )
    .await;
    ctx.upload("files/upload", json!({"path": "/Conf/a.txt"}), b"one")
        .await;
    ctx.ok(
        "files/copy_v2",
        json!({"from_path": "/Conf/a.txt", "to_path": "/Conf/b.txt"}),
    )
    .await;
    ctx.err(
        "files/copy_v2",
        json!({"from_path": "/Conf/nope.txt", "to_path": "/Conf/c.txt"}),
        "from_lookup/not_found",
    )
    .await;
    ctx.ok(
        "files/move_v2",
        json!({"from_path": "/Conf/b.txt", "to_path": "/Conf/Folder/b.txt"}),
    )
    .await;
    let second = ctx
        .upload(
            "files/upload",
            json!({"path": "/Conf/a.txt", "mode": "overwrite"}),
            b"two",
        )
        .await;
    let revisions = ctx
        .ok(
            "files/list_revisions",
            json!({"path": "/Conf/a.txt", "limit": 10}),
        )
        .await;
    let old = revisions["entries"]
        .as_array()
        .and_then(|e| e.iter().find(|r| r["rev"] != second["rev"]))
        .map(|r| r["rev"].clone())
        .unwrap_or(Value::Null);
    ctx.ok("files/restore", json!({"path": "/Conf/a.txt", "rev": old}))
        .await;
    ctx.err(
        "files/restore",
        json!({"path": "/Conf/a.txt", "rev": "0123456789abcdef"}),
        "",
    )
    .await;
    ctx.ok("files/delete_v2", json!({"path": "/Conf/Folder/b.txt"}))
        .await;
    ctx.err(
        "files/delete_v2",
        json!({"path": "/Conf/Folder/b.txt"}),
        "path_lookup/not_found",
    )
    .await;
    // A deleted entry shows up in a listing with include_deleted.
    ctx.ok(
        "files/list_folder",
        json!({"path": "/Conf/Folder", "include_deleted": true}),
    )
    .await;
}

async fn uploads(ctx: &Ctx) {
    ctx.err(
        "files/upload",
        json!({"path": "/Conf/a.txt", "mode": {".tag": "update", "update": "0123456789abc"}}),
        "path/conflict",
    )
    .await;
    let start = ctx
        .upload("files/upload_session/start", json!({}), b"abc")
        .await;
    let id = start["session_id"].clone();
    ctx.upload(
        "files/upload_session/append_v2",
        json!({"cursor": {"session_id": id, "offset": 3}}),
        b"def",
    )
    .await;
    ctx.expect_status(
        Req::new(
            "files/upload_session/append_v2",
            json!({"cursor": {"session_id": id, "offset": 1}}),
        )
        .body(b"x".to_vec()),
        409,
        "incorrect_offset",
    )
    .await;
    ctx.upload(
        "files/upload_session/append",
        json!({"session_id": id, "offset": 6}),
        b"ghi",
    )
    .await;
    ctx.upload(
        "files/upload_session/finish",
        json!({"cursor": {"session_id": id, "offset": 9}, "commit": {"path": "/Conf/session.txt"}}),
        b"",
    )
    .await;
    ctx.expect_status(
        Req::new(
            "files/upload_session/finish",
            json!({"cursor": {"session_id": "nope", "offset": 0}, "commit": {"path": "/Conf/x.txt"}}),
        ),
        409,
        "lookup_failed/not_found",
    )
    .await;

    let batch = ctx
        .ok(
            "files/upload_session/start_batch",
            json!({"num_sessions": 2}),
        )
        .await;
    let ids: Vec<Value> = batch["session_ids"].as_array().cloned().unwrap_or_default();
    let mut entries = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        ctx.upload(
            "files/upload_session/append_v2",
            json!({"cursor": {"session_id": id, "offset": 0}, "close": true}),
            b"batch",
        )
        .await;
        entries.push(json!({"cursor": {"session_id": id, "offset": 5},
            "commit": {"path": format!("/Conf/batch{i}.txt")}}));
    }
    // The second entry collides with the first, to see a failure entry too.
    if let Some(second) = entries.get_mut(1) {
        second["commit"]["path"] = json!("/Conf/batch0.txt");
        second["commit"]["mode"] = json!("add");
        second["commit"]["autorename"] = json!(false);
    }
    ctx.ok(
        "files/upload_session/finish_batch_v2",
        json!({"entries": entries}),
    )
    .await;
    let v1 = ctx
        .upload("files/upload_session/start", json!({"close": true}), b"v1")
        .await;
    let job = ctx
        .ok(
            "files/upload_session/finish_batch",
            json!({"entries": [{"cursor": {"session_id": v1["session_id"], "offset": 2},
                "commit": {"path": "/Conf/v1.txt"}}]}),
        )
        .await;
    if let Some(job_id) = job["async_job_id"].as_str() {
        ctx.ok(
            "files/upload_session/finish_batch/check",
            json!({"async_job_id": job_id}),
        )
        .await;
    } else {
        ctx.problem(format!(
            "files/upload_session/finish_batch: no async_job_id to check: {job}"
        ));
    }
    ctx.err(
        "files/upload_session/finish_batch/check",
        json!({"async_job_id": "nope"}),
        "invalid_async_job_id",
    )
    .await;
}

async fn tags(ctx: &Ctx) {
    let path = "/Conf/a.txt";
    ctx.ok(
        "files/tags/add",
        json!({"path": path, "tag_text": "conformance"}),
    )
    .await;
    ctx.ok("files/tags/get", json!({"paths": [path]})).await;
    ctx.ok(
        "files/tags/remove",
        json!({"path": path, "tag_text": "conformance"}),
    )
    .await;
    ctx.err(
        "files/tags/remove",
        json!({"path": path, "tag_text": "conformance"}),
        "tag_not_present",
    )
    .await;
}

async fn properties(ctx: &Ctx, manifest: &Value) {
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

async fn sharing(ctx: &Ctx) {
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
    if let Some(cursor) = members["cursor"].as_str() {
        ctx.ok(
            "sharing/list_folder_members/continue",
            json!({"cursor": cursor}),
        )
        .await;
    }
    ctx.err(
        "sharing/list_folder_members/continue",
        json!({"cursor": "nope"}),
        "invalid_cursor",
    )
    .await;
}

async fn file_requests(ctx: &Ctx, manifest: &Value) {
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

async fn users(ctx: &Ctx) {
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

async fn oauth(ctx: &Ctx) {
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
async fn shared_errors(ctx: &Ctx) {
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
async fn errors_outside_routes(ctx: &Ctx) {
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
async fn route_errors(ctx: &Ctx) {
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

/// The batch jobs (`files/*_batch*`), when the emulator serves them.
async fn batches(ctx: &Ctx) {
    let check = |route: &'static str, job: Value| async move {
        match job["async_job_id"].as_str() {
            Some(id) => {
                ctx.ok(route, json!({"async_job_id": id})).await;
            }
            // Completed at once: the launch answer was already checked.
            None if job[".tag"] == "complete" => {}
            None => ctx.problem(format!("{route}: no job to check: {job}")),
        }
        ctx.err(
            route,
            json!({"async_job_id": "nope"}),
            "invalid_async_job_id",
        )
        .await;
    };
    if ctx.serves("/2/files/copy_batch_v2") {
        ctx.upload("files/upload", json!({"path": "/Batch/one.txt"}), b"1")
            .await;
        let job = ctx
            .ok(
                "files/copy_batch_v2",
                json!({"entries": [{"from_path": "/Batch/one.txt", "to_path": "/Batch/copy.txt"},
                    {"from_path": "/Batch/nope.txt", "to_path": "/Batch/nope2.txt"}]}),
            )
            .await;
        check("files/copy_batch/check_v2", job).await;
    }
    if ctx.serves("/2/files/move_batch_v2") {
        ctx.upload("files/upload", json!({"path": "/Batch/two.txt"}), b"2")
            .await;
        let job = ctx
            .ok(
                "files/move_batch_v2",
                json!({"entries": [{"from_path": "/Batch/two.txt", "to_path": "/Batch/moved.txt"}]}),
            )
            .await;
        check("files/move_batch/check_v2", job).await;
    }
    if ctx.serves("/2/files/delete_batch") {
        let job = ctx
            .ok(
                "files/delete_batch",
                json!({"entries": [{"path": "/Batch/moved.txt"}, {"path": "/Batch/nope.txt"}]}),
            )
            .await;
        check("files/delete_batch/check", job).await;
    }
}

/// Team routes (`team/members/*`, `team_log/*`), when the emulator serves them.
async fn team(ctx: &Ctx) {
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
