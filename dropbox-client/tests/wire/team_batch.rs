//! Wire form of the batch routes, the team routes and the team log, decoding the shapes of the
//! Stone spec (polymorphic `Metadata` nested under `success`, `UserLogInfo` nested under the
//! actor's tag), and the idempotency declaration of the raw escape hatch.

use std::time::Duration;

use dropbox_client::models::files::*;
use dropbox_client::models::team::{MembersListArg, TeamMemberStatus};
use dropbox_client::models::team_log::*;
use dropbox_client::{Idempotency, RetryPolicy};
use futures::TryStreamExt;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::common::*;
use crate::routes::expect_rpc;

#[tokio::test]
async fn batch_routes_send_the_spec_args_and_decode_every_entry_shape() {
    let server = server().await;
    let c = client(&server);
    let mut moved = file_json("/Archive/a.pdf", "a1c10ce0dd78", 3, None);
    moved[".tag"] = json!("file");
    expect_rpc(
        &server,
        "files/move_batch_v2",
        json!({"entries": [{"from_path": "/In/a.pdf", "to_path": "/Archive/a.pdf"},
                           {"from_path": "/In/b.pdf", "to_path": "/Archive/b.pdf"}],
               "autorename": true}),
        json!({".tag": "async_job_id", "async_job_id": "dbjid:1"}),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/2/files/move_batch/check_v2"))
        .respond_with(json_body(json!({".tag": "in_progress"})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    expect_rpc(
        &server,
        "files/move_batch/check_v2",
        json!({"async_job_id": "dbjid:1"}),
        json!({".tag": "complete", "entries": [
            {".tag": "success", "success": moved},
            {".tag": "failure", "failure": {".tag": "relocation_error", "relocation_error":
                {".tag": "to", "to": {".tag": "conflict", "conflict": {".tag": "file"}}}}},
        ]}),
    )
    .await;
    let mut arg = MoveBatchArg::new([
        RelocationPath::new("/In/a.pdf", "/Archive/a.pdf"),
        RelocationPath::new("/In/b.pdf", "/Archive/b.pdf"),
    ]);
    arg.autorename = true;
    let done = c
        .files()
        .move_batch_and_wait(&arg, Duration::ZERO)
        .await
        .unwrap();
    match &done.entries[0] {
        RelocationBatchResultEntry::Success(Metadata::File(f)) => assert_eq!(f.rev, "a1c10ce0dd78"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        done.entries[1],
        RelocationBatchResultEntry::Failure(RelocationBatchErrorEntry::RelocationError(
            RelocationError::To(WriteError::Conflict(WriteConflictError::File))
        ))
    );

    // copy_batch_v2 may finish synchronously; delete_batch's success inlines its metadata.
    expect_rpc(
        &server,
        "files/copy_batch_v2",
        json!({"entries": [{"from_path": "/a", "to_path": "/b"}]}),
        json!({".tag": "complete", "entries": [{".tag": "success", "success": {".tag": "folder", "name": "b", "id": "id:f", "path_lower": "/b", "path_display": "/b"}}]}),
    )
    .await;
    let copied = c
        .files()
        .copy_batch_and_wait(
            &CopyBatchArg::new([RelocationPath::new("/a", "/b")]),
            Duration::from_secs(3600),
        )
        .await
        .unwrap();
    assert!(matches!(
        copied.entries[0],
        RelocationBatchResultEntry::Success(Metadata::Folder(_))
    ));
    expect_rpc(
        &server,
        "files/delete_batch",
        json!({"entries": [{"path": "/a"}, {"path": "/b", "parent_rev": "0123456789"}]}),
        json!({".tag": "async_job_id", "async_job_id": "dbjid:2"}),
    )
    .await;
    expect_rpc(
        &server,
        "files/delete_batch/check",
        json!({"async_job_id": "dbjid:2"}),
        json!({".tag": "failed", "failed": {".tag": "too_many_write_operations"}}),
    )
    .await;
    let arg = DeleteBatchArg {
        entries: vec![
            DeleteArg::from("/a"),
            DeleteArg {
                path: "/b".into(),
                parent_rev: Some("0123456789".into()),
            },
        ],
    };
    let err = c
        .files()
        .delete_batch_and_wait(&arg, Duration::ZERO)
        .await
        .unwrap_err();
    let api = err.api().expect("an API error");
    assert_eq!(api.route, "files/delete_batch/check");
    assert_eq!(
        api.route_error::<DeleteBatchError>(),
        Some(DeleteBatchError::TooManyWriteOperations)
    );
    let status: DeleteBatchJobStatus = serde_json::from_value(json!({".tag": "complete", "entries": [
        {".tag": "success", "metadata": {".tag": "file", "name": "a", "id": "id:a", "client_modified": "2015-05-12T15:50:38Z",
          "server_modified": "2015-05-12T15:50:38Z", "rev": "a1c10ce0dd78", "size": 1}},
        {".tag": "failure", "failure": {".tag": "path_lookup", "path_lookup": {".tag": "not_found"}}}]}))
    .unwrap();
    let DeleteBatchJobStatus::Complete(result) = status else {
        panic!()
    };
    assert!(
        matches!(&result.entries[0], DeleteBatchResultEntry::Success(d) if d.metadata.name() == "a")
    );
}

fn member(id: &str, email: &str) -> Value {
    json!({
        "profile": {
            "team_member_id": id, "account_id": "dbid:AACKySKVr92yo9t3en60nd1Buj-4Lt5_iIk",
            "email": email, "email_verified": true, "secondary_emails": [],
            "status": {".tag": "active"},
            "name": {"given_name": "A", "surname": "B", "familiar_name": "A", "display_name": "A B", "abbreviated_name": "AB"},
            "membership_type": {".tag": "full"}, "joined_on": "2025-10-17T19:31:00Z",
            "groups": ["g:3c7fa6ba1a4ed2340000000000000003"],
            "member_folder_id": "11919298355", "root_folder_id": "13044157633"
        },
        "roles": [{"role_id": "pid_dbtmr:1", "name": "Team", "description": "Manage everything"}]
    })
}

#[tokio::test]
async fn team_members_list_v2_pages_with_continue_v2() {
    let server = server().await;
    let c = client(&server);
    expect_rpc(
        &server,
        "team/members/list_v2",
        json!({"limit": 1}),
        json!({"members": [member("dbmid:1", "a@x.example")], "cursor": "C1", "has_more": true}),
    )
    .await;
    expect_rpc(
        &server,
        "team/members/list/continue_v2",
        json!({"cursor": "C1"}),
        json!({"members": [member("dbmid:2", "b@x.example")], "cursor": "C2", "has_more": false}),
    )
    .await;
    let members: Vec<_> = c
        .team()
        .members_list(MembersListArg {
            limit: Some(1),
            include_removed: false,
        })
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(members.len(), 2);
    assert_eq!(members[1].profile.email, "b@x.example");
    assert_eq!(members[0].profile.status, TeamMemberStatus::Active);
    assert_eq!(
        members[0].profile.joined_on.unwrap().to_rfc3339(),
        "2025-10-17T19:31:00+00:00"
    );
}

#[tokio::test]
async fn team_log_events_decode_the_spec_shapes() {
    let server = server().await;
    let c = client(&server);
    let event = json!({
        "timestamp": "2026-03-02T10:00:00Z",
        "event_category": {".tag": "file_requests"},
        "actor": {".tag": "user", "user": {".tag": "non_team_member", "account_id": "dbid:AAHgR8xsQP48a5DQUGPo-Vxsrjd0OByVmho",
                   "display_name": "John Smith", "email": "john_smith@acmecorp.com"}},
        "origin": {"access_method": {".tag": "end_user", "end_user": {".tag": "web"}}},
        "involve_non_team_member": true,
        "context": {".tag": "team_member", "account_id": "dbid:owner", "display_name": "Owner",
                    "email": "owner@corp.example", "team_member_id": "dbmid:owner"},
        "participants": [],
        "assets": [{".tag": "file", "path": {"contextual": "/Intake/scan.pdf",
                     "namespace_relative": {"ns_id": "1234", "relative_path": "/Intake/scan.pdf", "is_shared_namespace": false}},
                    "display_name": "scan.pdf", "file_id": "id:jQKLsZFQImAAAAAAEZAAQt"}],
        "event_type": {".tag": "file_request_receive_file", "description": "(file_requests) Received files for file request"},
        "details": {".tag": "file_request_receive_file_details", "file_request_id": "oaCAVmEyrqYnkZX9955Y",
                    "file_request_details": {"asset_index": 0, "has_password": false},
                    "submitted_file_names": ["scan.pdf"], "submitter_name": "John Smith",
                    "submitter_email": "john_smith@acmecorp.com"}
    });
    let other = json!({
        "timestamp": "2026-03-02T11:00:00Z", "event_category": {".tag": "logins"},
        "event_type": {".tag": "login_success", "description": "(logins) Signed in"},
        "details": {".tag": "login_success_details", "is_emm_managed": false, "login_method": {".tag": "password"}}
    });
    expect_rpc(
        &server,
        "team_log/get_events",
        json!({"limit": 10, "event_type": {".tag": "file_request_receive_file"},
               "time": {"start_time": "2026-03-01T00:00:00Z"}}),
        json!({"events": [event, other], "cursor": "L1", "has_more": true}),
    )
    .await;
    expect_rpc(
        &server,
        "team_log/get_events/continue",
        json!({"cursor": "L1"}),
        json!({"events": [], "cursor": "L2", "has_more": false}),
    )
    .await;
    let arg = GetTeamEventsArg {
        limit: Some(10),
        time: Some(TimeRange {
            start_time: Some("2026-03-01T00:00:00Z".parse().unwrap()),
            end_time: None,
        }),
        ..GetTeamEventsArg::file_request_submissions()
    };
    let events: Vec<TeamEvent> = c
        .team_log()
        .get_events(arg)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(events.len(), 2);
    match &events[0].actor {
        Some(ActorLogInfo::User(u)) => {
            assert_eq!(u.kind.as_deref(), Some("non_team_member"));
            assert_eq!(u.email.as_deref(), Some("john_smith@acmecorp.com"));
        }
        other => panic!("{other:?}"),
    }
    let sub = events[0].file_request_submission().unwrap();
    assert_eq!(sub.file_request_id.as_deref(), Some("oaCAVmEyrqYnkZX9955Y"));
    assert_eq!(sub.submitter_name.as_deref(), Some("John Smith"));
    assert_eq!(sub.paths, ["/Intake/scan.pdf"]);
    assert_eq!(sub.file_ids, ["id:jQKLsZFQImAAAAAAEZAAQt"]);
    assert_eq!(
        sub.owner.unwrap().team_member_id.as_deref(),
        Some("dbmid:owner")
    );
    assert!(events[1].file_request_submission().is_none());
    assert!(
        matches!(&events[1].details, EventDetails::Other { tag, .. } if tag == "login_success_details")
    );
    assert_eq!(events[1].event_category, EventCategory::Logins);
}

#[tokio::test]
async fn raw_calls_repeat_after_a_timeout_only_when_declared_idempotent() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/2/files/lock_file_batch"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    // The client's own count of its retries: exact whatever the machine's load (a request
    // cut off by the 100 ms timeout may reach the server's log late, or not before the next).
    let retries = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = retries.clone();
    let policy = RetryPolicy::default()
        .max_attempts(3)
        .initial_backoff(Duration::from_millis(1))
        .jitter(0.0)
        .on_retry(move |_| {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
    let c = dropbox_client::Client::builder()
        .base_url(server.uri().parse().unwrap())
        .access_token(TOKEN)
        .retry_policy(policy)
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    async fn count(server: &wiremock::MockServer) -> usize {
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == "/2/files/lock_file_batch")
            .count()
    }
    let retried = || retries.load(std::sync::atomic::Ordering::SeqCst);
    let arg = json!({"entries": [{"path": "/a"}]});
    let err = c
        .rpc_raw::<_, Value>("files/lock_file_batch", &arg, Idempotency::NotIdempotent)
        .await
        .unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert_eq!(
        retried(),
        0,
        "a write the server may have done was repeated"
    );
    c.rpc_raw::<_, Value>("files/lock_file_batch", &arg, Idempotency::Idempotent)
        .await
        .unwrap_err();
    assert_eq!(retried(), 2, "three attempts");
    // And the server saw them: 1 + 3 requests (waited for, not timed).
    tokio::time::timeout(Duration::from_secs(30), async {
        while count(&server).await < 4 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the four requests reach the server");
    assert_eq!(count(&server).await, 4);
}
