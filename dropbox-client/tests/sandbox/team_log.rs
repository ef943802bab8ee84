//! The team API with a team token: members as a pager, the audit log's file-request
//! submissions, and tokens whose OAuth scopes do not cover a route.

use dropbox_client::models::file_requests::FileRequest;
use dropbox_client::models::team::{MembersListArg, TeamMemberStatus};
use dropbox_client::models::team_log::{
    ActorLogInfo, EventCategory, GetTeamEventsArg, GetTeamEventsContinueError, GetTeamEventsError,
};
use dropbox_client::CursorPage;
use futures::TryStreamExt;
use reqwest::Url;
use sandbox::Sandbox;

use crate::common::{client, client_for, start, tags, TEAM_TOKEN};

/// An outside party submits `body` as `file` into request `id`, giving a name and e-mail.
async fn submit(sb: &Sandbox, id: &str, file: &str, who: (&str, &str)) {
    let mut url: Url = sb.dropbox_url().parse().unwrap();
    url.set_path(&format!("/__sandbox/file_requests/{id}/submit"));
    url.query_pairs_mut()
        .append_pair("name", file)
        .append_pair("submitter_name", who.0)
        .append_pair("submitter_email", who.1);
    let status = reqwest::Client::new()
        .post(url)
        .body("scanned form")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
}

#[tokio::test]
async fn team_members_are_a_pager_with_profiles() {
    let sb = start().await;
    let team = client_for(&sb, TEAM_TOKEN).team();
    let members: Vec<_> = team
        .members_list(MembersListArg {
            limit: Some(1),
            ..Default::default()
        })
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    let who: Vec<(&str, &str, &str)> = members
        .iter()
        .map(|m| {
            (
                m.profile.team_member_id.as_str(),
                m.profile.email.as_str(),
                m.profile.name.display_name.as_str(),
            )
        })
        .collect();
    assert_eq!(
        who,
        [
            ("dbmid:dana", "dana@example.com", "Dana Demo"),
            ("dbmid:olu", "olu@example.org", "Olu Outside")
        ]
    );
    assert!(members
        .iter()
        .all(|m| m.profile.status == TeamMemberStatus::Active));
    assert_eq!(members[0].roles.as_ref().unwrap()[0].name, "Team admin");
    assert_eq!(members[0].profile.root_folder_id, "3000");

    // Pages expose their cursor; resuming from the first page's cursor gives the rest.
    let first = team
        .members_list(MembersListArg {
            limit: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(first.has_more);
    let rest: Vec<_> = team
        .members_list(MembersListArg::default())
        .resume(first.cursor().unwrap())
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].profile.email, "olu@example.org");
    let err = team.members_list_continue("stale").await.unwrap_err();
    assert_eq!(tags(&err), ["invalid_cursor"]);
    // A user token is not a team token.
    let err = client(&sb)
        .team()
        .members_list(MembersListArg::default())
        .await
        .unwrap_err();
    assert_eq!(err.api().map(|a| a.status), Some(400), "{err}");
}

#[tokio::test]
async fn the_team_log_tells_who_submitted_into_a_file_request_and_when() {
    let sb = start().await;
    let user = client(&sb);
    let log = client_for(&sb, TEAM_TOKEN).team_log();
    let request: FileRequest = user
        .file_requests()
        .list(10)
        .into_stream()
        .try_next()
        .await
        .unwrap()
        .expect("the seeded request");
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    // Watch from now on: an empty log's cursor, polled later.
    let empty = log
        .get_events(GetTeamEventsArg::file_request_submissions())
        .await
        .unwrap();
    assert!(empty.events.is_empty() && !empty.has_more);
    submit(
        &sb,
        &request.id,
        "W-2.pdf",
        ("Avery Accountant", "avery@cpa.example"),
    )
    .await;
    submit(
        &sb,
        &request.id,
        "1099.pdf",
        ("Blake Bookkeeper", "blake@books.example"),
    )
    .await;

    let subs: Vec<_> = log
        .file_request_submissions(None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(subs.len(), 2);
    let first = &subs[0];
    assert_eq!(first.file_request_id.as_deref(), Some(request.id.as_str()));
    assert_eq!(first.submitter_name.as_deref(), Some("Avery Accountant"));
    assert_eq!(first.submitter_email.as_deref(), Some("avery@cpa.example"));
    assert_eq!(first.file_names, ["W-2.pdf"]);
    assert_eq!(first.paths, ["/Finance/Tax Intake/W-2.pdf"]);
    assert_eq!(first.file_ids.len(), 1);
    assert!(first.file_ids[0].starts_with("id:"), "{:?}", first.file_ids);
    assert!(first.timestamp.timestamp() >= before.timestamp());
    assert_eq!(
        first.owner.as_ref().and_then(|o| o.email.as_deref()),
        Some("dana@example.com")
    );
    assert_eq!(subs[1].submitter_name.as_deref(), Some("Blake Bookkeeper"));
    // The request's title is read from the request itself.
    let title = user
        .file_requests()
        .get(first.file_request_id.clone().unwrap())
        .await
        .unwrap()
        .title;
    assert_eq!(title, "Outside tax documents");

    // The typed events: page by page with a limit, category filter, and the saved cursor
    // picks up what came after it.
    let events: Vec<_> = log
        .get_events(GetTeamEventsArg {
            limit: Some(1),
            category: Some(EventCategory::FileRequests),
            ..Default::default()
        })
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].event_type.tag, "file_request_receive_file");
    assert_eq!(events[0].event_category, EventCategory::FileRequests);
    assert_eq!(events[0].actor, Some(ActorLogInfo::Anonymous));
    let later: Vec<_> = log
        .get_events(GetTeamEventsArg::default())
        .resume(empty.cursor.clone())
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(later.len(), 2);
    let none: Vec<_> = log
        .get_events(GetTeamEventsArg {
            category: Some(EventCategory::Sharing),
            ..Default::default()
        })
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert!(none.is_empty());

    // Route errors are typed.
    let err = log
        .get_events(GetTeamEventsArg {
            category: Some(EventCategory::FileRequests),
            ..GetTeamEventsArg::file_request_submissions()
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.api().unwrap().route_error::<GetTeamEventsError>(),
        Some(GetTeamEventsError::InvalidFilters)
    );
    let err = log.get_events_continue("garbage").await.unwrap_err();
    assert_eq!(
        err.api()
            .unwrap()
            .route_error::<GetTeamEventsContinueError>(),
        Some(GetTeamEventsContinueError::BadCursor)
    );
}

#[tokio::test]
async fn a_token_without_the_routes_scope_gets_missing_scope() {
    let sb = start().await;
    let token = sb.dropbox().issue_token(Some(0), &["files.metadata.read"]);
    let c = client_for(&sb, &token);
    // Listing is allowed.
    c.files().list_folder("").await.unwrap();
    // Writing is not: a 401 that names the scope, not retried, not a refresh.
    let err = c.files().create_folder("/Not allowed").await.unwrap_err();
    match &err {
        dropbox_client::Error::Auth { status, tag, .. } => {
            assert_eq!(*status, 401);
            assert_eq!(tag.as_deref(), Some("missing_scope"));
        }
        other => panic!("expected an auth error, got {other:?}"),
    }
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("missing_scope"), "{err}");
    // A seeded token limited by configuration loses the route too.
    assert!(sb
        .dropbox()
        .set_token_scopes(crate::common::TOKEN_2, Some(&["account_info.read"])));
    let err = client_for(&sb, crate::common::TOKEN_2)
        .files()
        .list_folder("")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("missing_scope"), "{err}");
    client_for(&sb, crate::common::TOKEN_2)
        .users()
        .get_current_account()
        .await
        .unwrap();
}
