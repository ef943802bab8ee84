//! Team use: a team token acting as a member (`as_user`) or an admin (`as_admin`), and the team
//! space through `with_path_root`.

use bytes::Bytes;
use dropbox_client::models::common::{PathRoot, RootInfo};
use dropbox_client::ErrorKind;

use crate::common::{self, client, client_for, names, read, start, TEAM_NS, TEAM_TOKEN};

#[tokio::test]
async fn a_team_token_acts_as_members_and_admins() {
    let sb = start().await;
    let team = client_for(&sb, TEAM_TOKEN);

    // Without a member the token cannot call user routes.
    let err = team.users().get_current_account().await.unwrap_err();
    assert_eq!(err.api().map(|a| a.status), Some(400), "{err:?}");

    let olu = team.as_user("dbmid:olu");
    let me = olu.users().get_current_account().await.unwrap();
    assert_eq!(me.email, "olu@example.org");
    assert_eq!(me.team_member_id.as_deref(), Some("dbmid:olu"));
    // Olu's own files are Olu's, not Dana's.
    olu.files()
        .upload_bytes("/olu-notes.txt", Bytes::from_static(b"olu's"))
        .await
        .unwrap();
    let olu_direct = client_for(&sb, common::TOKEN_2);
    assert_eq!(read(&olu_direct, "/olu-notes.txt").await, "olu's");
    let err = client(&sb)
        .files()
        .get_metadata("/olu-notes.txt")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);

    let dana_admin = team.as_admin("dbmid:dana");
    let admin = dana_admin.users().get_current_account().await.unwrap();
    assert_eq!(admin.email, "dana@example.com");
    assert!(names(&dana_admin, "")
        .await
        .contains(&"Marketing".to_owned()));

    // Olu is no admin, and unknown members are refused with the AuthError tags.
    let err = team
        .as_admin("dbmid:olu")
        .users()
        .get_current_account()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, dropbox_client::Error::Auth { tag: Some(t), .. } if t == "invalid_select_admin"),
        "{err:?}"
    );
    let err = team
        .as_user("dbmid:nobody")
        .users()
        .get_current_account()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, dropbox_client::Error::Auth { tag: Some(t), .. } if t == "invalid_select_user"),
        "{err:?}"
    );
    // as_user and as_admin replace each other on the handle.
    let back = dana_admin.as_user("dbmid:olu");
    assert_eq!(
        back.users().get_current_account().await.unwrap().email,
        "olu@example.org"
    );
}

#[tokio::test]
async fn the_team_space_through_the_path_root() {
    let sb = start().await;
    let dana = client(&sb);
    let me = dana.users().get_current_account().await.unwrap();
    let RootInfo::Team(root) = &me.root_info else {
        panic!("Dana is a team member: {:?}", me.root_info)
    };
    assert_eq!(root.root_namespace_id, TEAM_NS);

    let space = dana.with_path_root(PathRoot::NamespaceId(TEAM_NS.into()));
    assert_eq!(names(&space, "").await, ["Finance", "Legal"]);
    assert_eq!(
        names(&space, "/Finance/Reports").await,
        ["Q3 Report.xlsx", "Q4 Report.xlsx"]
    );
    let nda = read(&space, "/Legal/Contracts/NDA Template.docx").await;
    assert!(!nda.is_empty());
    let id = &common::manifest(&sb, "/team_paths/~1Legal~1Contracts~1NDA Template.docx");
    let by_id = space
        .files()
        .get_metadata(id.as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(by_id.name(), "NDA Template.docx");

    // Writes land in the team space, not in the home folder.
    space
        .files()
        .upload_bytes(
            "/Finance/Reports/Backup note.txt",
            Bytes::from_static(b"team"),
        )
        .await
        .unwrap();
    assert!(names(&space, "/Finance/Reports")
        .await
        .contains(&"Backup note.txt".to_owned()));
    let err = dana
        .files()
        .get_metadata("/Finance/Reports/Backup note.txt")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);

    // `root` is checked against the user's root namespace; `ns:` paths work without a header.
    let rooted = dana.with_path_root(PathRoot::Root(TEAM_NS.into()));
    assert_eq!(names(&rooted, "").await, ["Finance", "Legal"]);
    let err = dana
        .with_path_root(PathRoot::Root("1001".into()))
        .files()
        .list_folder("")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.api().map(|a| a.status), Some(422), "{err:?}");
    assert_eq!(common::tags(&err)[0], "invalid_root");
    assert_eq!(
        names(&dana, &format!("ns:{TEAM_NS}/Legal/Contracts")).await,
        ["MSA 2025.pdf", "NDA Template.docx"]
    );
    let home = dana.with_path_root(PathRoot::Home);
    assert!(names(&home, "").await.contains(&"HR".to_owned()));

    // Olu has no team space.
    let err = client_for(&sb, common::TOKEN_2)
        .with_path_root(PathRoot::NamespaceId(TEAM_NS.into()))
        .files()
        .list_folder("")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.api().map(|a| a.status), Some(422), "{err:?}");
    assert_eq!(common::tags(&err), ["no_permission"]);

    // The team token with a member and the path root together.
    let team = client_for(&sb, TEAM_TOKEN)
        .as_user("dbmid:dana")
        .with_path_root(PathRoot::NamespaceId(TEAM_NS.into()));
    assert!(names(&team, "/Finance/Reports")
        .await
        .contains(&"Backup note.txt".to_owned()));
}
