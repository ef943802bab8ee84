//! File requests: create, get, list, close and reopen, and an outside party's submission (the
//! sandbox-only endpoint) landing in the destination folder.

use chrono::{Duration, Utc};
use dropbox_client::models::file_requests::{
    CreateFileRequestArgs, FileRequestDeadline, FileRequestError, GracePeriod,
    UpdateFileRequestArgs, UpdateFileRequestDeadline,
};
use dropbox_client::models::files::Metadata;
use futures::TryStreamExt;
use sandbox::Sandbox;
use url::Url;

use crate::common::{self, client, list, read, start};

/// Submits `body` as `name` into a request, as an outside party; returns the HTTP status.
async fn submit(sb: &Sandbox, id: &str, name: &str, body: &'static [u8]) -> u16 {
    let mut url: Url = sb.dropbox_url().parse().unwrap();
    url.set_path(&format!("/__sandbox/file_requests/{id}/submit"));
    url.query_pairs_mut().append_pair("name", name);
    reqwest::Client::new()
        .post(url)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn create_get_list_close_reopen_and_receive_a_submission() {
    let sb = start().await;
    let c = client(&sb);
    let requests = c.file_requests();

    // The seeded request.
    let seeded = common::manifest(&sb, "/file_requests/0");
    let tax = requests.get(seeded["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(tax.title, "Outside tax documents");
    assert_eq!(tax.destination.as_deref(), Some("/Finance/Tax Intake"));
    assert!(tax.is_open);
    let deadline = tax.deadline.clone().expect("a deadline");
    assert_eq!(deadline.allow_late_uploads, Some(GracePeriod::Always));

    let due = Utc::now() + Duration::days(14);
    let created = requests
        .create(
            CreateFileRequestArgs::new("Signed contracts", "/Suite/Requests/Signed")
                .description("Please upload the countersigned copy.")
                .deadline(FileRequestDeadline {
                    deadline: due,
                    allow_late_uploads: Some(GracePeriod::OneDay),
                }),
        )
        .await
        .unwrap();
    assert!(created.is_open);
    assert_eq!(created.file_count, 0);
    assert_eq!(
        created.destination.as_deref(),
        Some("/Suite/Requests/Signed")
    );
    assert_eq!(
        created.deadline.as_ref().map(|d| d.deadline.timestamp()),
        Some(due.timestamp())
    );
    assert!(!created.url.is_empty());
    // The destination folder exists now.
    let folder = c
        .files()
        .get_metadata("/Suite/Requests/Signed")
        .await
        .unwrap();
    assert!(matches!(folder, Metadata::Folder(_)));

    let fetched = requests.get(created.id.clone()).await.unwrap();
    assert_eq!(fetched, created);

    // Listing: both requests, also through pages of one.
    let all: Vec<_> = requests.list(1).into_stream().try_collect().await.unwrap();
    let mut ids: Vec<&str> = all.iter().map(|r| r.id.as_str()).collect();
    ids.sort();
    let mut expected = vec![tax.id.as_str(), created.id.as_str()];
    expected.sort();
    assert_eq!(ids, expected);
    let first = requests.list(1).await.unwrap();
    assert_eq!(first.file_requests.len(), 1);
    assert!(first.has_more);
    let next = requests.list_continue(first.cursor).await.unwrap();
    assert_eq!(next.file_requests.len(), 1);
    assert!(!next.has_more);

    // An outside party submits a file: it lands in the destination folder.
    assert_eq!(
        submit(&sb, &created.id, "Contract signed.pdf", b"%PDF signed").await,
        200
    );
    let landed = list(&c, "/Suite/Requests/Signed").await;
    assert_eq!(landed.len(), 1);
    assert_eq!(landed[0].name(), "Contract signed.pdf");
    assert_eq!(
        read(&c, "/Suite/Requests/Signed/Contract signed.pdf").await,
        "%PDF signed"
    );
    assert_eq!(
        requests.get(created.id.clone()).await.unwrap().file_count,
        1
    );

    // A second file of the same name is kept next to the first.
    assert_eq!(
        submit(&sb, &created.id, "Contract signed.pdf", b"%PDF again").await,
        200
    );
    assert_eq!(list(&c, "/Suite/Requests/Signed").await.len(), 2);

    // Closed: submissions are refused; reopened: accepted again.
    let closed = requests
        .update(UpdateFileRequestArgs::new(created.id.clone()).open(false))
        .await
        .unwrap();
    assert!(!closed.is_open);
    assert_eq!(submit(&sb, &created.id, "late.pdf", b"late").await, 409);
    let reopened = requests
        .update(
            UpdateFileRequestArgs::new(created.id.clone())
                .open(true)
                .title("Signed contracts (reopened)"),
        )
        .await
        .unwrap();
    assert!(reopened.is_open);
    assert_eq!(reopened.title, "Signed contracts (reopened)");
    assert_eq!(submit(&sb, &created.id, "late.pdf", b"late").await, 200);
    assert_eq!(
        requests.get(created.id.clone()).await.unwrap().file_count,
        3
    );

    // The deadline: moved, left alone, then cleared (`update` with null).
    let later = Utc::now() + Duration::days(60);
    let moved = requests
        .update(UpdateFileRequestArgs {
            deadline: Some(UpdateFileRequestDeadline::Update(Some(
                FileRequestDeadline {
                    deadline: later,
                    allow_late_uploads: None,
                },
            ))),
            ..UpdateFileRequestArgs::new(created.id.clone())
        })
        .await
        .unwrap();
    let moved_to = moved.deadline.expect("a deadline");
    assert_eq!(moved_to.deadline.timestamp(), later.timestamp());
    assert_eq!(moved_to.allow_late_uploads, None);
    let kept = requests
        .update(UpdateFileRequestArgs {
            deadline: Some(UpdateFileRequestDeadline::NoUpdate),
            ..UpdateFileRequestArgs::new(created.id.clone()).title("Signed contracts")
        })
        .await
        .unwrap();
    assert_eq!(
        kept.deadline.map(|d| d.deadline.timestamp()),
        Some(later.timestamp())
    );
    let cleared = requests
        .update(UpdateFileRequestArgs {
            deadline: Some(UpdateFileRequestDeadline::Update(None)),
            ..UpdateFileRequestArgs::new(created.id.clone())
        })
        .await
        .unwrap();
    assert_eq!(cleared.deadline, None);
    assert_eq!(
        requests.get(created.id.clone()).await.unwrap().deadline,
        None
    );

    // The seeded request receives into /Finance/Tax Intake.
    assert_eq!(submit(&sb, &tax.id, "W-2 2025.pdf", b"w2").await, 200);
    assert_eq!(
        list(&c, "/Finance/Tax Intake")
            .await
            .iter()
            .map(|m| m.name().to_owned())
            .collect::<Vec<_>>(),
        ["W-2 2025.pdf"]
    );

    // Errors: an unknown id, a file as destination.
    let err = requests.get("sbxFRunknown").await.unwrap_err();
    assert!(
        matches!(
            err.api().unwrap().route_error::<FileRequestError>(),
            Some(FileRequestError::NotFound)
        ),
        "{err:?}"
    );
    let err = requests
        .create(CreateFileRequestArgs::new(
            "Into a file",
            "/Suite/Requests/Signed/late.pdf",
        ))
        .await
        .unwrap_err();
    assert_eq!(common::tags(&err), ["not_a_folder"]);
}
