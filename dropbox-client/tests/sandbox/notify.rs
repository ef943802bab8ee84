//! Change notifications: `list_folder/longpoll` woken by a change, and signed webhooks checked
//! with `webhook::verify_and_parse`.

use std::time::Duration;

use bytes::Bytes;
use dropbox_client::models::files::ListFolderArg;
use dropbox_client::webhook::{self, SIGNATURE_HEADER};
use sandbox::SandboxConfig;
use tokio::sync::mpsc;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::common::{self, client, start, start_with};

/// Generous: a wake-up or a notification arrives in milliseconds; this only bounds a failure.
const PATIENCE: Duration = Duration::from_secs(20);

#[tokio::test]
async fn longpoll_returns_as_soon_as_the_folder_changes() {
    let sb = start().await;
    let c = client(&sb);
    let files = c.files();
    let cursor = files
        .list_folder_get_latest_cursor(ListFolderArg::new("/HR").recursive(true))
        .await
        .unwrap()
        .cursor;

    // Nothing changed yet: the poll waits (its timeout is 30 s at least).
    let poll = tokio::spawn({
        let files = files.clone();
        let cursor = cursor.clone();
        async move {
            files
                .list_folder_longpoll(cursor, Duration::from_secs(30))
                .await
        }
    });
    // A change outside the folder does not wake it: after that change and one more round trip
    // the poll is still waiting (a correct server holds it for 30 s).
    files
        .upload_bytes("/Elsewhere/unrelated.txt", Bytes::from_static(b"x"))
        .await
        .unwrap();
    files.get_metadata("/HR").await.unwrap();
    assert!(!poll.is_finished());

    files
        .upload_bytes(
            "/HR/Policies/Drafts/Leave Policy.docx",
            Bytes::from_static(b"leave"),
        )
        .await
        .unwrap();
    let woke = tokio::time::timeout(PATIENCE, poll)
        .await
        .expect("the longpoll returns after the change")
        .unwrap()
        .unwrap();
    assert!(woke.changes);

    // The changes are read with the cursor the poll was given.
    let changed = files.list_folder_continue(cursor).await.unwrap();
    assert_eq!(changed.entries.len(), 1);
    assert_eq!(changed.entries[0].name(), "Leave Policy.docx");

    // A poll on a cursor that already has changes returns at once.
    let stale = files
        .list_folder_get_latest_cursor(ListFolderArg::new("/HR").recursive(true))
        .await
        .unwrap()
        .cursor;
    files
        .delete("/HR/Policies/Drafts/Travel Policy.docx")
        .await
        .unwrap();
    let at_once = tokio::time::timeout(
        PATIENCE,
        files.list_folder_longpoll(stale, Duration::from_secs(30)),
    )
    .await
    .expect("returns at once")
    .unwrap();
    assert!(at_once.changes);
    assert!(common::calls(&sb, "/2/files/list_folder/longpoll") >= 2);
}

#[tokio::test]
async fn webhooks_are_signed_with_the_app_secret() {
    const SECRET: &str = "suite-webhook-secret";
    let receiver = MockServer::start().await;
    let (tx, mut rx) = mpsc::unbounded_channel::<(Vec<u8>, String)>();
    Mock::given(method("POST"))
        .respond_with(move |req: &Request| {
            let signature = req
                .headers
                .get(SIGNATURE_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let _ = tx.send((req.body.clone(), signature));
            ResponseTemplate::new(200)
        })
        .mount(&receiver)
        .await;
    let url = format!("{}/dropbox-webhook", receiver.uri());
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let sb = start_with(SandboxConfig::new().webhook(url, SECRET)).await;
    let c = client(&sb);

    c.files()
        .upload_bytes("/Suite/Hooks/changed.txt", Bytes::from_static(b"changed"))
        .await
        .unwrap();
    let (body, signature) = tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("a notification arrives")
        .expect("the receiver is alive");
    let note = webhook::verify_and_parse(SECRET, &body, &signature).unwrap();
    let dana = common::manifest(&sb, "/accounts/0/account_id");
    assert_eq!(note.list_folder.accounts, [dana.as_str().unwrap()]);
    assert!(note.delta.is_some_and(|d| d.users.len() == 1));
    // Signed with the app secret and nothing else.
    assert!(webhook::verify_and_parse("another-secret", &body, &signature).is_err());

    // A change in Olu's account names Olu.
    common::client_for(&sb, common::TOKEN_2)
        .files()
        .upload_bytes("/olu.txt", Bytes::from_static(b"olu"))
        .await
        .unwrap();
    let (body, signature) = tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("a second notification arrives")
        .unwrap();
    let note = webhook::verify_and_parse(SECRET, &body, &signature).unwrap();
    let olu = common::manifest(&sb, "/accounts/1/account_id");
    assert_eq!(note.list_folder.accounts, [olu.as_str().unwrap()]);
}
