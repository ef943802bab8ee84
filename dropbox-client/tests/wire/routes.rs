//! The exact wire form of every typed route: method, path, auth, content type, argument, and
//! the decoding of its result.

use bytes::Bytes;
use dropbox_client::models::common::PathRoot;
use dropbox_client::models::file_properties::*;
use dropbox_client::models::file_requests::*;
use dropbox_client::models::files::*;
use dropbox_client::models::sharing::*;
use serde_json::{json, Value};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer};

use crate::common::*;

pub(crate) async fn expect_rpc(server: &MockServer, route: &str, arg: Value, result: Value) {
    Mock::given(method("POST"))
        .and(path(format!("/2/{route}")))
        .and(header("Authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("Content-Type", "application/json"))
        .and(body_json(arg))
        .respond_with(json_body(result))
        .expect(1)
        .named(route)
        .mount(server)
        .await;
}

fn folder_json(path: &str) -> Value {
    json!({"name": path.rsplit('/').next().unwrap(), "id": "id:folder1", "path_lower": path.to_lowercase(), "path_display": path})
}

#[tokio::test]
async fn files_rpc_routes() {
    let server = server().await;
    let c = client(&server);
    let f = c.files();
    let file = file_json("/A/b.txt", "a1c10ce0dd78", 7, None);
    let mut tagged = file.clone();
    tagged[".tag"] = json!("file");

    expect_rpc(
        &server,
        "files/get_metadata",
        json!({"path": "/A/b.txt", "include_deleted": true}),
        tagged.clone(),
    )
    .await;
    let md = f
        .get_metadata(GetMetadataArg::new("/A/b.txt").include_deleted(true))
        .await
        .unwrap();
    assert_eq!(md.as_file().unwrap().rev, "a1c10ce0dd78");

    expect_rpc(&server, "files/list_folder/get_latest_cursor",
        json!({"path": "/A", "recursive": true, "include_mounted_folders": true, "include_non_downloadable_files": true}),
        json!({"cursor": "CUR"})).await;
    assert_eq!(
        f.list_folder_get_latest_cursor(ListFolderArg::new("/A").recursive(true))
            .await
            .unwrap()
            .cursor,
        "CUR"
    );

    expect_rpc(
        &server,
        "files/create_folder_v2",
        json!({"path": "/New", "autorename": true}),
        json!({"metadata": folder_json("/New")}),
    )
    .await;
    let created = f
        .create_folder(CreateFolderArg {
            path: "/New".into(),
            autorename: true,
        })
        .await
        .unwrap();
    assert_eq!(created.metadata.id, "id:folder1");

    let mut moved = folder_json("/B");
    moved[".tag"] = json!("folder");
    expect_rpc(
        &server,
        "files/move_v2",
        json!({"from_path": "/A", "to_path": "/B"}),
        json!({"metadata": moved}),
    )
    .await;
    assert!(matches!(
        f.move_entry(RelocationArg::new("/A", "/B"))
            .await
            .unwrap()
            .metadata,
        Metadata::Folder(_)
    ));

    expect_rpc(
        &server,
        "files/copy_v2",
        json!({"from_path": "/A/b.txt", "to_path": "/C/b.txt", "autorename": true}),
        json!({"metadata": tagged.clone()}),
    )
    .await;
    f.copy(RelocationArg::new("/A/b.txt", "/C/b.txt").autorename(true))
        .await
        .unwrap();

    expect_rpc(
        &server,
        "files/delete_v2",
        json!({"path": "/A/b.txt", "parent_rev": "a1c10ce0dd78"}),
        json!({"metadata": tagged.clone()}),
    )
    .await;
    f.delete(DeleteArg {
        path: "/A/b.txt".into(),
        parent_rev: Some("a1c10ce0dd78".into()),
    })
    .await
    .unwrap();

    expect_rpc(
        &server,
        "files/list_revisions",
        json!({"path": "/A/b.txt", "limit": 5}),
        json!({"is_deleted": false, "entries": [file.clone()], "has_more": false}),
    )
    .await;
    let revs = f
        .list_revisions(ListRevisionsArg {
            limit: Some(5),
            ..ListRevisionsArg::from("/A/b.txt")
        })
        .await
        .unwrap();
    assert_eq!(revs.entries.len(), 1);

    expect_rpc(
        &server,
        "files/restore",
        json!({"path": "/A/b.txt", "rev": "a1c10ce0dd78"}),
        file.clone(),
    )
    .await;
    f.restore("/A/b.txt", "a1c10ce0dd78").await.unwrap();

    expect_rpc(&server, "files/search_v2",
        json!({"query": "report", "options": {"path": "/A", "max_results": 10, "filename_only": true}}),
        json!({"matches": [{"metadata": {".tag": "metadata", "metadata": tagged.clone()}, "match_type": {".tag": "filename"}}], "has_more": true, "cursor": "S1"})).await;
    let opts = SearchOptions {
        path: Some("/A".into()),
        max_results: Some(10),
        filename_only: true,
        ..Default::default()
    };
    let page = f
        .search(SearchV2Arg::new("report").options(opts))
        .await
        .unwrap();
    assert_eq!(page.cursor.as_deref(), Some("S1"));

    expect_rpc(
        &server,
        "files/search/continue_v2",
        json!({"cursor": "S1"}),
        json!({"matches": [], "has_more": false}),
    )
    .await;
    assert!(!f.search_continue("S1").await.unwrap().has_more);

    expect_rpc(
        &server,
        "files/tags/add",
        json!({"path": "/A/b.txt", "tag_text": "approved"}),
        json!(null),
    )
    .await;
    f.add_tag("/A/b.txt", "approved").await.unwrap();
    expect_rpc(
        &server,
        "files/tags/remove",
        json!({"path": "/A/b.txt", "tag_text": "approved"}),
        json!(null),
    )
    .await;
    f.remove_tag("/A/b.txt", "approved").await.unwrap();
    expect_rpc(&server, "files/tags/get", json!({"paths": ["/A/b.txt"]}),
        json!({"paths_to_tags": [{"path": "/A/b.txt", "tags": [{".tag": "user_generated_tag", "tag_text": "approved"}]}]})).await;
    let tags = f.get_tags(["/A/b.txt"]).await.unwrap();
    assert_eq!(tags.paths_to_tags[0].tags[0].text(), Some("approved"));

    expect_rpc(&server, "files/upload_session/finish_batch/check", json!({"async_job_id": "job1"}),
        json!({".tag": "complete", "entries": [{".tag": "success", "name": "b.txt", "id": "id:x", "client_modified": "2015-05-12T15:50:38Z", "server_modified": "2015-05-12T15:50:38Z", "rev": "a1c10ce0dd78", "size": 1}]})).await;
    match f.upload_session_finish_batch_check("job1").await.unwrap() {
        UploadSessionFinishBatchJobStatus::Complete(r) => assert!(matches!(
            r.entries[0],
            UploadSessionFinishBatchResultEntry::Success(_)
        )),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn longpoll_goes_to_notify_without_auth_and_honours_backoff() {
    let server = server().await;
    let c = client(&server);
    Mock::given(method("POST"))
        .and(path("/2/files/list_folder/longpoll"))
        .and(body_json(json!({"cursor": "C", "timeout": 30})))
        .respond_with(json_body(json!({"changes": true, "backoff": 0})))
        .expect(1)
        .mount(&server)
        .await;
    let r = c
        .files()
        .list_folder_longpoll("C", std::time::Duration::from_secs(1))
        .await
        .unwrap();
    assert!(r.changes);
    let reqs = server.received_requests().await.unwrap();
    assert!(
        reqs[0].headers.get("Authorization").is_none(),
        "longpoll is a noauth route"
    );
}

#[tokio::test]
async fn sharing_routes() {
    let server = server().await;
    let c = client(&server);
    let s = c.sharing();
    let link = json!({".tag": "file", "url": "https://db.example/s/abc", "name": "b.txt", "id": "id:x",
        "expires": "2030-01-01T00:00:00Z", "path_lower": "/a/b.txt", "rev": "a1c10ce0dd78", "size": 7,
        "client_modified": "2015-05-12T15:50:38Z", "server_modified": "2015-05-12T15:50:38Z",
        "link_permissions": {"can_revoke": true, "allow_download": false, "visibility_policies": [], "can_set_expiry": true,
            "can_remove_expiry": true, "can_allow_download": true, "can_disallow_download": true, "allow_comments": true,
            "team_restricts_comments": false}});
    expect_rpc(&server, "sharing/create_shared_link_with_settings",
        json!({"path": "/A/b.txt", "settings": {"audience": {".tag": "public"}, "access": {".tag": "viewer"},
            "expires": "2030-01-01T00:00:00Z", "allow_download": false}}),
        link.clone()).await;
    let settings = SharedLinkSettings {
        audience: Some(LinkAudience::Public),
        access: Some(RequestedLinkAccessLevel::Viewer),
        expires: Some("2030-01-01T00:00:00.750Z".parse().unwrap()), // sub-seconds are dropped on the wire
        allow_download: Some(false),
        ..Default::default()
    };
    let created = s
        .create_shared_link_with_settings("/A/b.txt", Some(settings.clone()))
        .await
        .unwrap();
    assert_eq!(created.url(), "https://db.example/s/abc");
    assert!(!created.fields().link_permissions.allow_download);

    expect_rpc(
        &server,
        "sharing/list_shared_links",
        json!({"path": "/A/b.txt", "direct_only": true}),
        json!({"links": [link.clone()], "has_more": false}),
    )
    .await;
    let links = s
        .list_shared_links(ListSharedLinksArg {
            path: Some("/A/b.txt".into()),
            direct_only: Some(true),
            cursor: None,
        })
        .await
        .unwrap();
    assert_eq!(links.links.len(), 1);

    expect_rpc(&server, "sharing/modify_shared_link_settings",
        json!({"url": "https://db.example/s/abc", "settings": {"require_password": true, "link_password": "pw"}, "remove_expiration": true}),
        link.clone()).await;
    s.modify_shared_link_settings(ModifySharedLinkSettingsArgs {
        url: "https://db.example/s/abc".into(),
        settings: SharedLinkSettings {
            require_password: Some(true),
            link_password: Some("pw".into()),
            ..Default::default()
        },
        remove_expiration: true,
    })
    .await
    .unwrap();

    expect_rpc(
        &server,
        "sharing/revoke_shared_link",
        json!({"url": "https://db.example/s/abc"}),
        json!(null),
    )
    .await;
    s.revoke_shared_link("https://db.example/s/abc")
        .await
        .unwrap();

    let shared = json!({"access_type": {".tag": "owner"}, "is_inside_team_folder": false, "is_team_folder": false,
        "name": "Outside", "policy": {}, "preview_url": "https://x", "shared_folder_id": "84528192421",
        "time_invited": "2016-01-20T00:00:00Z", "path_lower": "/outside"});
    expect_rpc(
        &server,
        "sharing/share_folder",
        json!({"path": "/Outside", "member_policy": {".tag": "anyone"}}),
        json!({".tag": "async_job_id", "async_job_id": "J1"}),
    )
    .await;
    let mut complete = shared.clone();
    complete[".tag"] = json!("complete");
    expect_rpc(
        &server,
        "sharing/check_share_job_status",
        json!({"async_job_id": "J1"}),
        complete,
    )
    .await;
    let arg = ShareFolderArg {
        member_policy: Some(MemberPolicy::Anyone),
        ..ShareFolderArg::from("/Outside")
    };
    let meta = s
        .share_folder_and_wait(arg, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(meta.shared_folder_id, "84528192421");

    expect_rpc(&server, "sharing/add_folder_member",
        json!({"shared_folder_id": "84528192421", "members": [{"member": {".tag": "email", "email": "olu@example.org"}, "access_level": {".tag": "viewer"}}], "quiet": true}),
        json!(null)).await;
    s.add_folder_member(AddFolderMemberArg {
        shared_folder_id: "84528192421".into(),
        members: vec![AddMember {
            member: MemberSelector::Email("olu@example.org".into()),
            access_level: Some(AccessLevel::Viewer),
        }],
        quiet: true,
        custom_message: None,
    })
    .await
    .unwrap();

    expect_rpc(&server, "sharing/list_folder_members", json!({"shared_folder_id": "84528192421", "limit": 10}),
        json!({"users": [{"access_type": {".tag": "owner"}, "user": {"account_id": "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc", "email": "d@example.com", "display_name": "Dana", "same_team": true}, "permissions": [], "is_inherited": false}],
               "groups": [], "invitees": []})).await;
    let members = s
        .list_folder_members(ListFolderMembersArgs {
            shared_folder_id: "84528192421".into(),
            limit: Some(10),
        })
        .await
        .unwrap();
    assert_eq!(members.users[0].access_type, AccessLevel::Owner);
}

#[tokio::test]
async fn file_requests_properties_users_routes() {
    let server = server().await;
    let c = client(&server);
    let fr = json!({"id": "oaCAVmEyrqYnkZX9955Y", "url": "https://www.dropbox.com/request/oaCAVmEyrqYnkZX9955Y",
        "title": "Outside tax documents", "destination": "/Finance/Tax Intake", "created": "2015-10-05T17:00:00Z",
        "deadline": {"deadline": "2030-10-12T17:00:00Z", "allow_late_uploads": {".tag": "seven_days"}},
        "is_open": true, "file_count": 3});
    expect_rpc(&server, "file_requests/create",
        json!({"title": "Outside tax documents", "destination": "/Finance/Tax Intake", "open": true,
               "deadline": {"deadline": "2030-10-12T17:00:00Z", "allow_late_uploads": {".tag": "seven_days"}}}),
        fr.clone()).await;
    let created =
        c.file_requests()
            .create(
                CreateFileRequestArgs::new("Outside tax documents", "/Finance/Tax Intake")
                    .deadline(FileRequestDeadline {
                        deadline: "2030-10-12T17:00:00Z".parse().unwrap(),
                        allow_late_uploads: Some(GracePeriod::SevenDays),
                    }),
            )
            .await
            .unwrap();
    assert_eq!(created.file_count, 3);
    expect_rpc(
        &server,
        "file_requests/get",
        json!({"id": "oaCAVmEyrqYnkZX9955Y"}),
        fr.clone(),
    )
    .await;
    c.file_requests().get("oaCAVmEyrqYnkZX9955Y").await.unwrap();
    expect_rpc(
        &server,
        "file_requests/update",
        json!({"id": "oaCAVmEyrqYnkZX9955Y", "open": false}),
        fr.clone(),
    )
    .await;
    c.file_requests()
        .update(UpdateFileRequestArgs::new("oaCAVmEyrqYnkZX9955Y").open(false))
        .await
        .unwrap();
    expect_rpc(
        &server,
        "file_requests/list_v2",
        json!({"limit": 1}),
        json!({"file_requests": [fr.clone()], "cursor": "F1", "has_more": true}),
    )
    .await;
    expect_rpc(
        &server,
        "file_requests/list/continue",
        json!({"cursor": "F1"}),
        json!({"file_requests": [fr.clone()], "cursor": "F2", "has_more": false}),
    )
    .await;
    use futures::TryStreamExt;
    let all: Vec<_> = c
        .file_requests()
        .list(1)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);

    let fp = c.file_properties();
    let template = PropertyGroupTemplate {
        name: "Governance".into(),
        description: "Archive state".into(),
        fields: vec![PropertyFieldTemplate::string("status", "where the file is")],
    };
    expect_rpc(&server, "file_properties/templates/add_for_user",
        json!({"name": "Governance", "description": "Archive state", "fields": [{"name": "status", "description": "where the file is", "type": {".tag": "string"}}]}),
        json!({"template_id": "ptid:1a5n2i6d3OYEAAAAAAAAAYa"})).await;
    assert_eq!(
        fp.add_template_for_user(&template)
            .await
            .unwrap()
            .template_id,
        "ptid:1a5n2i6d3OYEAAAAAAAAAYa"
    );
    expect_rpc(&server, "file_properties/templates/get_for_user", json!({"template_id": "ptid:1"}),
        json!({"name": "Governance", "description": "Archive state", "fields": [{"name": "status", "description": "d", "type": {".tag": "string"}}]})).await;
    assert_eq!(
        fp.get_template_for_user("ptid:1")
            .await
            .unwrap()
            .fields
            .len(),
        1
    );
    expect_rpc(
        &server,
        "file_properties/templates/list_for_user",
        json!(null),
        json!({"template_ids": ["ptid:1"]}),
    )
    .await;
    assert_eq!(
        fp.list_templates_for_user().await.unwrap().template_ids,
        ["ptid:1"]
    );
    let group = PropertyGroup {
        template_id: "ptid:1".into(),
        fields: vec![PropertyField::new("status", "archived")],
    };
    let group_json =
        json!([{"template_id": "ptid:1", "fields": [{"name": "status", "value": "archived"}]}]);
    expect_rpc(
        &server,
        "file_properties/properties/add",
        json!({"path": "/A/b.txt", "property_groups": group_json.clone()}),
        json!(null),
    )
    .await;
    fp.add("/A/b.txt", vec![group.clone()]).await.unwrap();
    expect_rpc(
        &server,
        "file_properties/properties/overwrite",
        json!({"path": "/A/b.txt", "property_groups": group_json}),
        json!(null),
    )
    .await;
    fp.overwrite("/A/b.txt", vec![group]).await.unwrap();
    expect_rpc(&server, "file_properties/properties/update",
        json!({"path": "/A/b.txt", "update_property_groups": [{"template_id": "ptid:1", "add_or_update_fields": [{"name": "status", "value": "done"}], "remove_fields": ["old"]}]}),
        json!(null)).await;
    fp.update(
        "/A/b.txt",
        vec![PropertyGroupUpdate {
            template_id: "ptid:1".into(),
            add_or_update_fields: Some(vec![PropertyField::new("status", "done")]),
            remove_fields: Some(vec!["old".into()]),
        }],
    )
    .await
    .unwrap();
    expect_rpc(
        &server,
        "file_properties/properties/remove",
        json!({"path": "/A/b.txt", "property_template_ids": ["ptid:1"]}),
        json!(null),
    )
    .await;
    fp.remove("/A/b.txt", vec!["ptid:1".into()]).await.unwrap();

    expect_rpc(&server, "users/get_current_account", json!(null), json!({
        "account_id": "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc",
        "name": {"given_name": "Dana", "surname": "Demo", "familiar_name": "Dana", "display_name": "Dana Demo", "abbreviated_name": "DD"},
        "email": "dana@example.com", "email_verified": true, "disabled": false, "locale": "en", "referral_link": "https://x",
        "is_paired": false, "account_type": {".tag": "business"},
        "root_info": {".tag": "team", "root_namespace_id": "3000", "home_namespace_id": "1001", "home_path": "/Dana Demo"},
        "team_member_id": "dbmid:dana", "a_field_from_the_future": 1})).await;
    let me = c.users().get_current_account().await.unwrap();
    assert_eq!(me.name.display_name, "Dana Demo");
}

#[tokio::test]
async fn upload_and_download_style_headers_and_team_headers() {
    let server = server().await;
    let c = client(&server)
        .as_user("dbmid:dana")
        .with_path_root(PathRoot::NamespaceId("3000".into()));
    let name = "/é😀\u{1}.txt";
    // Upload style: the argument travels in an ASCII-only Dropbox-API-Arg header.
    Mock::given(method("POST"))
        .and(path("/2/files/upload"))
        .and(header("Content-Type", "application/octet-stream"))
        .and(header("Dropbox-API-Select-User", "dbmid:dana"))
        // (wiremock's `header` matcher splits values on commas, which JSON has.)
        .and(|req: &wiremock::Request| {
            req.headers
                .get("Dropbox-API-Path-Root")
                .and_then(|v| v.to_str().ok())
                == Some(r#"{".tag":"namespace_id","namespace_id":"3000"}"#)
        })
        .respond_with(json_body(file_json(
            name,
            "a1c10ce0dd78",
            5,
            Some("9595c9df90075148eb06860365df33584b75bff782a510c6cd4883a419833d50"),
        )))
        .expect(1)
        .mount(&server)
        .await;
    c.files()
        .upload_bytes(
            CommitInfo::new(name).mode(WriteMode::Overwrite),
            Bytes::from_static(b"hello"),
        )
        .await
        .unwrap();
    let req = &server.received_requests().await.unwrap()[0];
    let raw = req
        .headers
        .get("Dropbox-API-Arg")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(raw.is_ascii());
    assert!(
        raw.contains(r#""path":"/\u00e9\ud83d\ude00\u0001.txt""#),
        "{raw}"
    );
    assert_eq!(
        arg_of(req),
        json!({"path": name, "mode": {".tag": "overwrite"}, "content_hash": "9595c9df90075148eb06860365df33584b75bff782a510c6cd4883a419833d50"})
    );
    assert_eq!(req.body, b"hello");

    // Download style: arg in the header, no body, result in Dropbox-API-Result (ASCII-escaped).
    let result =
        dropbox_client::header_safe_json(&file_json(name, "a1c10ce0dd78", 5, None)).unwrap();
    Mock::given(method("POST"))
        .and(path("/2/files/download"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .insert_header("Dropbox-API-Result", result.as_str())
                .set_body_bytes(b"hello".to_vec()),
        )
        .expect(1)
        .mount(&server)
        .await;
    let d = c.files().download(name).await.unwrap();
    assert_eq!(d.metadata.name, "é😀\u{1}.txt");
    assert_eq!(&d.bytes().await.unwrap()[..], b"hello");
    let req = &server.received_requests().await.unwrap()[1];
    assert_eq!(arg_of(req), json!({"path": name}));
    assert!(req.body.is_empty());
}
