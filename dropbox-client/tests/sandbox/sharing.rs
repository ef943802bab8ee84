//! Sharing: links with settings (audience, expiry, password, access), listing, modifying and
//! revoking; sharing a folder (with its job status) and its members.

use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use dropbox_client::models::sharing::{
    AccessLevel, AclUpdatePolicy, AddFolderMemberArg, AddMember, CreateSharedLinkWithSettingsError,
    LinkAudience, ListFolderMembersArgs, ListSharedLinksArg, MemberSelector,
    ModifySharedLinkSettingsArgs, RequestedLinkAccessLevel, ShareFolderArg, ShareFolderJobStatus,
    SharedLinkError, SharedLinkMetadata, SharedLinkSettings,
};
use futures::TryStreamExt;
use serde_json::json;

use crate::common::{self, client, client_for, read, start};

const PRESS: &str = "/Marketing/Campaign 2026/Approved/Press Release.pdf";
const GUIDE: &str = "/Marketing/Campaign 2026/Approved/Brand Guidelines.pdf";

#[tokio::test]
async fn shared_links_with_settings_list_modify_and_revoke() {
    let sb = start().await;
    let c = client(&sb);
    let sharing = c.sharing();

    // No settings: a public viewer link to the file.
    let public = sharing
        .create_shared_link_with_settings(PRESS, None)
        .await
        .unwrap();
    let SharedLinkMetadata::File(fields) = &public else {
        panic!("a file link: {public:?}")
    };
    assert_eq!(fields.name, "Press Release.pdf");
    assert_eq!(
        fields.path_lower.as_deref(),
        Some(PRESS.to_lowercase().as_str())
    );
    assert!(fields.link_permissions.can_revoke);
    assert_eq!(
        fields.link_permissions.effective_audience,
        Some(json!({".tag": "public"}))
    );
    assert!(fields.expires.is_none());
    // A second plain request names the existing link.
    let err = sharing
        .create_shared_link_with_settings(PRESS, None)
        .await
        .unwrap_err();
    match err
        .api()
        .unwrap()
        .route_error::<CreateSharedLinkWithSettingsError>()
    {
        Some(CreateSharedLinkWithSettingsError::SharedLinkAlreadyExists(Some(existing))) => {
            assert_eq!(existing["metadata"]["url"], json!(public.url()))
        }
        other => panic!("expected shared_link_already_exists with metadata, got {other:?}"),
    }

    // Team audience, an expiry, a password, viewer access, no download.
    let expires = Utc::now() + chrono::Duration::days(14);
    let limited = sharing
        .create_shared_link_with_settings(
            GUIDE,
            Some(SharedLinkSettings {
                audience: Some(LinkAudience::Team),
                access: Some(RequestedLinkAccessLevel::Viewer),
                expires: Some(expires),
                require_password: Some(true),
                link_password: Some("open sesame".into()),
                allow_download: Some(false),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    let fields = limited.fields();
    assert_eq!(
        fields.expires.map(|t| t.timestamp()),
        Some(expires.timestamp())
    );
    let perms = &fields.link_permissions;
    assert_eq!(perms.effective_audience, Some(json!({".tag": "team"})));
    assert_eq!(perms.link_access_level, Some(json!({".tag": "viewer"})));
    assert_eq!(perms.require_password, Some(true));
    assert!(!perms.allow_download);
    assert!(
        !format!("{limited:?}").contains("open sesame"),
        "the password is not echoed"
    );

    // A folder link; listing a file's links includes its parents' unless direct_only.
    let folder_link = sharing
        .create_shared_link_with_settings("/Marketing/Campaign 2026", None)
        .await
        .unwrap();
    assert!(
        matches!(folder_link, SharedLinkMetadata::Folder(_)),
        "{folder_link:?}"
    );
    let inherited = sharing
        .list_shared_links(ListSharedLinksArg {
            path: Some(GUIDE.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut inherited: Vec<&str> = inherited.links.iter().map(|l| l.url()).collect();
    inherited.sort();
    let mut expected = vec![folder_link.url(), limited.url()];
    expected.sort();
    assert_eq!(inherited, expected);
    sharing.revoke_shared_link(folder_link.url()).await.unwrap();

    // Settings that do not make sense are refused.
    let err = sharing
        .create_shared_link_with_settings(
            "/Marketing/Campaign 2026/Approved/Launch Plan.xlsx",
            Some(SharedLinkSettings {
                expires: Some(Utc::now() - chrono::Duration::days(1)),
                ..Default::default()
            }),
        )
        .await
        .unwrap_err();
    assert_eq!(common::tags(&err), ["settings_error", "invalid_settings"]);

    // Listing: every link, or the links of one path.
    let all: Vec<SharedLinkMetadata> = sharing
        .list_shared_links(ListSharedLinksArg::default())
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    let mut urls: Vec<&str> = all.iter().map(|l| l.url()).collect();
    urls.sort();
    let mut expected = vec![public.url(), limited.url()];
    expected.sort();
    assert_eq!(urls, expected);
    let one = sharing
        .list_shared_links(ListSharedLinksArg {
            path: Some(GUIDE.into()),
            direct_only: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(one.links.len(), 1);
    assert_eq!(one.links[0].url(), limited.url());

    // Modify: public, no expiry, no password.
    let modified = sharing
        .modify_shared_link_settings(ModifySharedLinkSettingsArgs {
            url: limited.url().to_owned(),
            settings: SharedLinkSettings {
                audience: Some(LinkAudience::Public),
                require_password: Some(false),
                ..Default::default()
            },
            remove_expiration: true,
        })
        .await
        .unwrap();
    let perms = &modified.fields().link_permissions;
    assert_eq!(perms.effective_audience, Some(json!({".tag": "public"})));
    assert_eq!(perms.require_password, Some(false));
    assert!(modified.fields().expires.is_none());
    assert_eq!(modified.url(), limited.url());

    // Revoke: gone from the list; a second revoke is `shared_link_not_found`.
    sharing.revoke_shared_link(limited.url()).await.unwrap();
    let left = sharing
        .list_shared_links(ListSharedLinksArg::default())
        .await
        .unwrap();
    assert_eq!(left.links.len(), 1);
    assert_eq!(left.links[0].url(), public.url());
    let err = sharing.revoke_shared_link(limited.url()).await.unwrap_err();
    assert!(
        matches!(
            err.api().unwrap().route_error::<SharedLinkError>(),
            Some(SharedLinkError::SharedLinkNotFound)
        ),
        "{err:?}"
    );
    let err = sharing
        .modify_shared_link_settings(ModifySharedLinkSettingsArgs {
            url: limited.url().to_owned(),
            settings: SharedLinkSettings::default(),
            remove_expiration: false,
        })
        .await
        .unwrap_err();
    assert_eq!(common::tags(&err), ["shared_link_not_found"]);
}

#[tokio::test]
async fn share_a_folder_add_and_list_members() {
    let sb = start().await;
    let c = client(&sb);
    let sharing = c.sharing();
    c.files()
        .upload_bytes(
            "/Shared/Outside Counsel/Contract Summary.pdf",
            Bytes::from_static(b"summary"),
        )
        .await
        .unwrap();

    // Asynchronous share: a job id, then its status.
    let launch = sharing
        .share_folder(ShareFolderArg {
            force_async: true,
            acl_update_policy: Some(AclUpdatePolicy::Owner),
            ..ShareFolderArg::from("/Shared/Outside Counsel")
        })
        .await
        .unwrap();
    let ShareFolderJobStatus::AsyncJobId(job) = launch else {
        panic!("force_async gives a job id, got {launch:?}")
    };
    let mut done = None;
    for _ in 0..100 {
        match sharing.check_share_job_status(job.clone()).await.unwrap() {
            ShareFolderJobStatus::Complete(meta) => {
                done = Some(meta);
                break;
            }
            ShareFolderJobStatus::InProgress => tokio::task::yield_now().await,
            other => panic!("unexpected job status {other:?}"),
        }
    }
    let shared = done.expect("the share job completes");
    assert_eq!(shared.name, "Outside Counsel");
    assert_eq!(shared.access_type, AccessLevel::Owner);
    assert_eq!(
        shared.path_lower.as_deref(),
        Some("/shared/outside counsel")
    );
    let err = sharing
        .check_share_job_status("dbjid:unknown")
        .await
        .unwrap_err();
    assert_eq!(common::tags(&err), ["invalid_async_job_id"]);

    // Synchronous share of a folder that does not exist yet (it is created).
    let direct = sharing
        .share_folder_and_wait("/Shared/Board", Duration::from_millis(10))
        .await
        .unwrap();
    assert_eq!(direct.name, "Board");
    assert_ne!(direct.shared_folder_id, shared.shared_folder_id);
    assert!(c.files().get_metadata("/Shared/Board").await.is_ok());

    // Members: Olu joins as editor (by email), then can read through `ns:<id>`.
    sharing
        .add_folder_member(AddFolderMemberArg {
            shared_folder_id: shared.shared_folder_id.clone(),
            members: vec![AddMember {
                member: MemberSelector::Email("olu@example.org".into()),
                access_level: Some(AccessLevel::Editor),
            }],
            quiet: true,
            custom_message: None,
        })
        .await
        .unwrap();
    let members = sharing
        .list_folder_members(ListFolderMembersArgs {
            shared_folder_id: shared.shared_folder_id.clone(),
            limit: None,
        })
        .await
        .unwrap();
    let mut who: Vec<(String, AccessLevel)> = members
        .users
        .iter()
        .map(|m| {
            (
                m.user
                    .email
                    .clone()
                    .unwrap_or_else(|| m.user.account_id.clone()),
                m.access_type.clone(),
            )
        })
        .collect();
    who.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        who,
        [
            ("dana@example.com".to_owned(), AccessLevel::Owner),
            ("olu@example.org".to_owned(), AccessLevel::Editor),
        ]
    );
    let olu = client_for(&sb, common::TOKEN_2);
    assert_eq!(
        read(
            &olu,
            &format!("ns:{}/Contract Summary.pdf", shared.shared_folder_id)
        )
        .await,
        "summary"
    );

    // Only the owner may change the members (acl_update_policy owner), not Olu as editor;
    // unknown folder ids are refused.
    assert_eq!(
        shared
            .policy
            .as_ref()
            .map(|p| p["acl_update_policy"].clone()),
        Some(json!({".tag": "owner"}))
    );
    let err = olu
        .sharing()
        .add_folder_member(AddFolderMemberArg {
            shared_folder_id: shared.shared_folder_id.clone(),
            members: vec![AddMember {
                member: MemberSelector::Email("someone@example.net".into()),
                access_level: None,
            }],
            quiet: true,
            custom_message: None,
        })
        .await
        .unwrap_err();
    assert_eq!(common::tags(&err), ["no_permission"]);
    // Under the default policy (editors) an editor may invite.
    let add = |folder: &str, email: &str| AddFolderMemberArg {
        shared_folder_id: folder.to_owned(),
        members: vec![AddMember {
            member: MemberSelector::Email(email.into()),
            access_level: Some(AccessLevel::Editor),
        }],
        quiet: true,
        custom_message: None,
    };
    sharing
        .add_folder_member(add(&direct.shared_folder_id, "olu@example.org"))
        .await
        .unwrap();
    olu.sharing()
        .add_folder_member(add(&direct.shared_folder_id, "guest@example.net"))
        .await
        .unwrap();
    let board = sharing
        .list_folder_members(ListFolderMembersArgs {
            shared_folder_id: direct.shared_folder_id.clone(),
            limit: None,
        })
        .await
        .unwrap();
    assert_eq!(board.users.len(), 2);
    assert_eq!(board.invitees.len(), 1);
    let err = sharing
        .list_folder_members(ListFolderMembersArgs {
            shared_folder_id: "999999".into(),
            limit: None,
        })
        .await
        .unwrap_err();
    assert_eq!(common::tags(&err), ["invalid_id"]);
}
