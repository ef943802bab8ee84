//! Stone conformance of the Dropbox emulator: every route the manifest lists is called with
//! realistic arguments (success answers and the main error answers), and every answer is
//! checked recursively against the Stone table in `tests/stone/` (the reference's `.stone`
//! files plus hand-written entries): required fields present with the right JSON type, no
//! unknown fields, union tags known, `.tag` forms right.
//!
//! A route the manifest lists without a checked success answer fails the test: to cover a new
//! route, add its types to `tests/stone/extra/` if the spec lacks them, and a call in
//! `stone_conformance/files.rs` or `stone_conformance/others.rs`.

#[path = "stone_conformance/files.rs"]
mod files;
#[path = "stone_conformance/others.rs"]
mod others;
mod stone;

use serde_json::json;
use stone::harness::{tag, Ctx};

const TOKEN_2: &str = "sandbox-token-2";
const TEAM_TOKEN: &str = "sandbox-team-token";

/// Routes exempt from the success-answer coverage, with the reason; each is still called and
/// its answers checked.
const NO_SUCCESS_CHECK: &[&str] = &[
    // A browser redirect, not JSON: checked in `oauth` on its own terms.
    "/oauth2/authorize",
];

#[tokio::test]
async fn every_route_answers_as_its_stone_types_say() {
    let ctx = Ctx::start().await;
    let manifest = ctx.manifest().await;
    let served: Vec<String> =
        serde_json::from_value(manifest["routes"].clone()).expect("manifest lists routes");
    assert!(served.len() > 50, "manifest routes: {served:?}");

    files::files_listing(&ctx).await;
    files::files_writes(&ctx).await;
    files::uploads(&ctx).await;
    files::tags(&ctx).await;
    others::properties(&ctx, &manifest).await;
    others::sharing(&ctx).await;
    others::file_requests(&ctx, &manifest).await;
    others::users(&ctx).await;
    others::oauth(&ctx).await;
    others::errors_outside_routes(&ctx).await;
    others::shared_errors(&ctx).await;
    others::route_errors(&ctx).await;
    files::batches(&ctx).await;
    others::team(&ctx).await;

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
    // String constraints of aliases: the pattern and length of a Rev.
    let rev = ty("files", "Rev");
    assert!(spec.check(&rev, &json!("a1c10ce0dd78"), "r").is_empty());
    assert!(
        !spec.check(&rev, &json!("rev-000001"), "r").is_empty(),
        "pattern"
    );
    assert!(
        !spec.check(&rev, &json!("a1c1"), "r").is_empty(),
        "min_length"
    );
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
