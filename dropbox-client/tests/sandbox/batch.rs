//! Batch move, copy and delete: launched as jobs, polled to completion, each entry's outcome
//! typed; and a shared folder's members through the one pager.

use std::time::Duration;

use dropbox_client::models::common::PollError;
use dropbox_client::models::files::{
    CopyBatchArg, DeleteBatchArg, DeleteBatchJobStatus, DeleteBatchLaunch, DeleteBatchResultEntry,
    DeleteError, LookupError, Metadata, MoveBatchArg, RelocationBatchErrorEntry,
    RelocationBatchResultEntry, RelocationBatchV2JobStatus, RelocationBatchV2Launch,
    RelocationError, RelocationPath,
};
use dropbox_client::models::sharing::{
    AccessLevel, AddFolderMemberArg, AddMember, FolderMember, ListFolderMembersArgs,
    MemberSelector, ShareFolderArg,
};
use futures::TryStreamExt;

use crate::common::{calls, client, start};

const PRESS: &str = "/Marketing/Campaign 2026/Approved/Press Release.pdf";
const GUIDE: &str = "/Marketing/Campaign 2026/Approved/Brand Guidelines.pdf";
const PLAN: &str = "/Marketing/Campaign 2026/Approved/Launch Plan.xlsx";

fn name(entry: &RelocationBatchResultEntry) -> String {
    match entry {
        RelocationBatchResultEntry::Success(m) => m.path_display().unwrap_or_default().to_owned(),
        other => panic!("expected success, got {other:?}"),
    }
}

#[tokio::test]
async fn batch_jobs_are_polled_to_completion() {
    let sb = start().await;
    let c = client(&sb);
    let files = c.files();
    files.create_folder("/Archive").await.unwrap();

    // The raw routes: launch, in_progress, complete.
    let launch = files
        .move_batch(&MoveBatchArg::new([RelocationPath::new(
            PLAN,
            "/Archive/Plan.xlsx",
        )]))
        .await
        .unwrap();
    let RelocationBatchV2Launch::AsyncJobId(job) = launch else {
        panic!("the sandbox answers with a job: {launch:?}")
    };
    assert_eq!(
        files.move_batch_check(job.clone()).await.unwrap(),
        RelocationBatchV2JobStatus::InProgress
    );
    let RelocationBatchV2JobStatus::Complete(done) = files.move_batch_check(job).await.unwrap()
    else {
        panic!("complete on the second check")
    };
    assert_eq!(name(&done.entries[0]), "/Archive/Plan.xlsx");

    // The helper polls (once in progress here) and gives the per-entry outcomes in order.
    let before = calls(&sb, "/2/files/move_batch/check_v2");
    let moved = files
        .move_batch_and_wait(
            &MoveBatchArg::new([
                RelocationPath::new(PRESS, "/Archive/Press.pdf"),
                RelocationPath::new("/Missing.pdf", "/Archive/Missing.pdf"),
            ]),
            Duration::from_millis(1),
        )
        .await
        .unwrap();
    assert_eq!(calls(&sb, "/2/files/move_batch/check_v2") - before, 2);
    assert_eq!(name(&moved.entries[0]), "/Archive/Press.pdf");
    match &moved.entries[1] {
        RelocationBatchResultEntry::Failure(RelocationBatchErrorEntry::RelocationError(
            RelocationError::FromLookup(LookupError::NotFound),
        )) => {}
        other => panic!("expected from_lookup/not_found, got {other:?}"),
    }
    assert!(files.get_metadata(PRESS).await.is_err());

    // Copy: complete on the first check when the sandbox says so.
    sb.dropbox().set_job_in_progress_checks(0);
    let before = calls(&sb, "/2/files/copy_batch/check_v2");
    let copied = files
        .copy_batch_and_wait(
            &CopyBatchArg::new([RelocationPath::new(GUIDE, "/Archive/Guide.pdf")]),
            Duration::from_secs(3600),
        )
        .await
        .unwrap();
    assert_eq!(calls(&sb, "/2/files/copy_batch/check_v2") - before, 1);
    assert_eq!(name(&copied.entries[0]), "/Archive/Guide.pdf");
    assert!(matches!(
        files.get_metadata(GUIDE).await.unwrap(),
        Metadata::File(_)
    ));

    // Delete: the entries' metadata before deletion, failures typed.
    sb.dropbox().set_job_in_progress_checks(2);
    let deleted = files
        .delete_batch_and_wait(
            &DeleteBatchArg::new([GUIDE, "/Gone.pdf"]),
            Duration::from_millis(1),
        )
        .await
        .unwrap();
    match &deleted.entries[0] {
        DeleteBatchResultEntry::Success(d) => assert_eq!(d.metadata.name(), "Brand Guidelines.pdf"),
        other => panic!("expected success, got {other:?}"),
    }
    assert_eq!(
        deleted.entries[1],
        DeleteBatchResultEntry::Failure(DeleteError::PathLookup(LookupError::NotFound))
    );
    let launch = files
        .delete_batch(&DeleteBatchArg::new(["/Archive/Guide.pdf"]))
        .await
        .unwrap();
    let DeleteBatchLaunch::AsyncJobId(job) = launch else {
        panic!("a job: {launch:?}")
    };
    assert_eq!(
        files.delete_batch_check(job.clone()).await.unwrap(),
        DeleteBatchJobStatus::InProgress
    );
    // A job id is checked only by its own route.
    let err = files.copy_batch_check(job).await.unwrap_err();
    assert_eq!(
        err.api().unwrap().route_error::<PollError>(),
        Some(PollError::InvalidAsyncJobId)
    );
}

#[tokio::test]
async fn shared_folder_members_are_a_pager() {
    let sb = start().await;
    let c = client(&sb);
    let sharing = c.sharing();
    let shared = sharing
        .share_folder_and_wait(
            ShareFolderArg::from("/Shared/Outside Counsel"),
            Duration::from_millis(1),
        )
        .await
        .unwrap();
    sharing
        .add_folder_member(AddFolderMemberArg {
            shared_folder_id: shared.shared_folder_id.clone(),
            members: vec![
                AddMember {
                    member: MemberSelector::Email("olu@example.org".into()),
                    access_level: Some(AccessLevel::Editor),
                },
                AddMember {
                    member: MemberSelector::Email("someone@else.example".into()),
                    access_level: None,
                },
            ],
            quiet: false,
            custom_message: None,
        })
        .await
        .unwrap();
    let before = calls(&sb, "/2/sharing/list_folder_members/continue");
    let members: Vec<FolderMember> = sharing
        .list_folder_members(ListFolderMembersArgs::new(shared.shared_folder_id.clone()).limit(1))
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        calls(&sb, "/2/sharing/list_folder_members/continue") - before,
        2
    );
    let who: Vec<String> = members
        .iter()
        .map(|m| match m {
            FolderMember::User(u) => u.user.email.clone().unwrap_or_default(),
            FolderMember::Invitee(i) => match &i.invitee {
                dropbox_client::models::sharing::InviteeInfo::Email(e) => e.clone(),
                other => panic!("{other:?}"),
            },
            other => panic!("no groups here: {other:?}"),
        })
        .collect();
    assert_eq!(
        who,
        [
            "dana@example.com",
            "olu@example.org",
            "someone@else.example"
        ]
    );
    // The first page alone, awaited.
    let first = sharing
        .list_folder_members(ListFolderMembersArgs::new(shared.shared_folder_id).limit(2))
        .await
        .unwrap();
    assert_eq!(first.users.len(), 2);
    assert!(first.cursor.is_some());
}
