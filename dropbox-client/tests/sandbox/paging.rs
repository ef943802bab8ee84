//! Paging through 2,500 entries with `list_folder(..).limit(..)`, and resuming from a saved
//! cursor after more changes.

use std::collections::BTreeSet;

use bytes::Bytes;
use dropbox_client::models::files::{CommitInfo, ListFolderArg, Metadata, WriteMode};
use futures::{StreamExt, TryStreamExt};

use crate::common::{calls, client, start};

const ENTRIES: usize = 2_500;
const LIMIT: u32 = 300;

#[tokio::test]
async fn pages_through_2500_entries_and_resumes_from_a_saved_cursor() {
    let sb = start().await;
    let c = client(&sb);
    let files = c.files();
    files.create_folder("/Suite/Many").await.unwrap();
    futures::stream::iter(0..ENTRIES)
        .map(|i| {
            let files = files.clone();
            async move {
                files
                    .upload_bytes(
                        format!("/Suite/Many/entry-{i:04}.txt"),
                        Bytes::from(format!("entry {i}")),
                    )
                    .await
            }
        })
        .buffer_unordered(16)
        .try_for_each(|_| async { Ok(()) })
        .await
        .unwrap();

    // Every entry exactly once, through pages of at most LIMIT entries.
    let before = calls(&sb, "/2/files/list_folder/continue");
    let pages: Vec<_> = files
        .list_folder(ListFolderArg::new("/Suite/Many").limit(LIMIT))
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert!(pages.iter().all(|p| p.entries.len() <= LIMIT as usize));
    assert!(pages.len() >= ENTRIES.div_ceil(LIMIT as usize));
    assert!(!pages.last().unwrap().has_more);
    let continues = calls(&sb, "/2/files/list_folder/continue") - before;
    assert_eq!(
        continues,
        pages.len() as u64 - 1,
        "one continue per further page"
    );

    let entries: Vec<Metadata> = files
        .list_folder(ListFolderArg::new("/Suite/Many").limit(LIMIT))
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(entries.len(), ENTRIES);
    let seen: BTreeSet<String> = entries.iter().map(|m| m.name().to_owned()).collect();
    let expected: BTreeSet<String> = (0..ENTRIES).map(|i| format!("entry-{i:04}.txt")).collect();
    assert_eq!(seen, expected);
    let saved = pages.last().unwrap().cursor.clone();

    // More changes after the checkpoint: an edit, a deletion, a new file.
    files
        .upload_bytes(
            CommitInfo::new("/Suite/Many/entry-0007.txt").mode(WriteMode::Overwrite),
            Bytes::from_static(b"edited"),
        )
        .await
        .unwrap();
    files.delete("/Suite/Many/entry-0100.txt").await.unwrap();
    files
        .upload_bytes("/Suite/Many/late.txt", Bytes::from_static(b"late"))
        .await
        .unwrap();
    // A change elsewhere is not part of this folder's feed.
    files
        .upload_bytes("/Suite/Elsewhere.txt", Bytes::from_static(b"x"))
        .await
        .unwrap();

    let resumed: Vec<Metadata> = files
        .list_folder_from_cursor(saved.clone())
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    let summary: Vec<(String, &str)> = resumed
        .iter()
        .map(|m| {
            let kind = match m {
                Metadata::File(_) => "file",
                Metadata::Folder(_) => "folder",
                Metadata::Deleted(_) => "deleted",
            };
            (m.name().to_owned(), kind)
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("entry-0007.txt".to_owned(), "file"),
            ("entry-0100.txt".to_owned(), "deleted"),
            ("late.txt".to_owned(), "file"),
        ]
    );
    assert_eq!(resumed[0].as_file().unwrap().size, 6);

    // The same saved cursor resumes exactly again; the newest cursor sees nothing new.
    let again = files.list_folder_continue(saved).await.unwrap();
    assert_eq!(again.entries.len(), 3);
    let newest = files.list_folder_continue(again.cursor).await.unwrap();
    assert!(newest.entries.is_empty());
    assert!(!newest.has_more);
}
