//! The `files` routes on the demo seed: metadata, writes and their conflicts, relocation,
//! deletion seen through `list_folder/continue`, revisions and restore, and the account.

use bytes::Bytes;
use dropbox_client::models::common::RootInfo;
use dropbox_client::models::files::{
    CommitInfo, CreateFolderError, GetMetadataArg, ListFolderArg, ListRevisionsArg, LookupError,
    Metadata, RelocationArg, RelocationError, UploadError, WriteConflictError, WriteError,
    WriteMode,
};
use dropbox_client::{ContentHasher, ErrorKind};

use crate::common::{self, client, list, names, read, start, tags};

#[tokio::test]
async fn current_account_is_the_first_demo_account() {
    let sb = start().await;
    let me = client(&sb).users().get_current_account().await.unwrap();
    assert_eq!(me.name.display_name, "Dana Demo");
    assert_eq!(me.email, "dana@example.com");
    assert_eq!(me.account_id.len(), 40, "{}", me.account_id);
    assert!(me.account_id.starts_with("dbid:"));
    assert_eq!(
        me.account_id,
        common::manifest(&sb, "/accounts/0/account_id")
    );
    assert!(matches!(
        me.root_info,
        RootInfo::Team(_) | RootInfo::User(_)
    ));

    let olu = common::client_for(&sb, common::TOKEN_2)
        .users()
        .get_current_account()
        .await
        .unwrap();
    assert_eq!(olu.email, "olu@example.org");
    assert_ne!(olu.account_id, me.account_id);

    let err = common::client_for(&sb, "not-a-token")
        .users()
        .get_current_account()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err:?}");
}

#[tokio::test]
async fn metadata_of_seeded_files_by_path_case_and_id() {
    let sb = start().await;
    let c = client(&sb);
    let path = "/Marketing/Campaign 2026/Approved/Press Release.pdf";
    let Metadata::File(file) = c.files().get_metadata(path).await.unwrap() else {
        panic!("a file")
    };
    assert_eq!(file.name, "Press Release.pdf");
    assert_eq!(file.path_display.as_deref(), Some(path));
    assert_eq!(
        file.path_lower.as_deref(),
        Some(path.to_lowercase().as_str())
    );
    assert_eq!(
        file.id,
        common::manifest(&sb, &format!("/paths/{}", pointer(path)))
    );

    // Case-insensitive paths, `id:` paths and the content hash of the real bytes.
    let upper = c.files().get_metadata(path.to_uppercase()).await.unwrap();
    assert_eq!(upper.as_file().unwrap().id, file.id);
    let by_id = c.files().get_metadata(file.id.as_str()).await.unwrap();
    assert_eq!(by_id.path_display(), Some(path));
    let bytes = read(&c, &file.id).await;
    assert_eq!(bytes.len() as u64, file.size);
    assert_eq!(
        file.content_hash.as_deref(),
        Some(ContentHasher::hash(&bytes).as_str())
    );

    let folder = c
        .files()
        .get_metadata("/projects/p-1042 riverside tower")
        .await
        .unwrap();
    assert!(matches!(&folder, Metadata::Folder(f) if f.name == "P-1042 Riverside Tower"));

    let err = c
        .files()
        .get_metadata("/No/Such/File.txt")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(tags(&err), ["path", "not_found"]);
    let typed = err.api().unwrap().route_error().unwrap();
    assert!(matches!(
        typed,
        dropbox_client::models::files::GetMetadataError::Path(LookupError::NotFound)
    ));
}

/// A manifest path key as a JSON pointer token.
fn pointer(path: &str) -> String {
    path.replace('~', "~0").replace('/', "~1")
}

#[tokio::test]
async fn upload_then_list_and_write_modes() {
    let sb = start().await;
    let c = client(&sb);
    let files = c.files();
    let v1 = files
        .upload_bytes("/Suite/Modes/report.txt", Bytes::from_static(b"first"))
        .await
        .unwrap();
    assert_eq!(v1.size, 5);
    assert_eq!(v1.path_display.as_deref(), Some("/Suite/Modes/report.txt"));

    let listed = list(&c, "/suite/modes").await;
    assert_eq!(listed.len(), 1);
    let entry = listed[0].as_file().expect("a file entry");
    assert_eq!((&entry.id, &entry.rev), (&v1.id, &v1.rev));
    assert_eq!(entry.content_hash, v1.content_hash);

    // add: a conflict with other content, a no-op with identical content.
    let err = files
        .upload_bytes("/Suite/Modes/report.txt", Bytes::from_static(b"second"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err:?}");
    match err.api().unwrap().route_error::<UploadError>() {
        Some(UploadError::Path(failed)) => assert_eq!(
            failed.reason,
            WriteError::Conflict(WriteConflictError::File)
        ),
        other => panic!("expected path/conflict/file, got {other:?}"),
    }
    let same = files
        .upload_bytes("/Suite/Modes/report.txt", Bytes::from_static(b"first"))
        .await
        .unwrap();
    assert_eq!(same.rev, v1.rev, "identical content is a no-op");

    // add + autorename: a second name next to the first.
    let renamed = files
        .upload_bytes(
            CommitInfo::new("/Suite/Modes/report.txt").autorename(true),
            Bytes::from_static(b"second"),
        )
        .await
        .unwrap();
    assert_ne!(renamed.name, "report.txt");
    assert!(renamed.name.starts_with("report ("), "{}", renamed.name);

    // update: only from the current rev.
    let v2 = files
        .upload_bytes(
            CommitInfo::new("/Suite/Modes/report.txt").mode(WriteMode::Update(v1.rev.clone())),
            Bytes::from_static(b"updated"),
        )
        .await
        .unwrap();
    assert_ne!(v2.rev, v1.rev);
    assert_eq!(v2.id, v1.id, "an update keeps the file id");
    let stale = files
        .upload_bytes(
            CommitInfo::new("/Suite/Modes/report.txt").mode(WriteMode::Update(v1.rev.clone())),
            Bytes::from_static(b"stale"),
        )
        .await
        .unwrap_err();
    assert_eq!(stale.kind(), ErrorKind::AlreadyExists, "{stale:?}");

    // overwrite: always.
    let v3 = files
        .upload_bytes(
            CommitInfo::new("/Suite/Modes/report.txt").mode(WriteMode::Overwrite),
            Bytes::from_static(b"overwritten"),
        )
        .await
        .unwrap();
    assert_eq!(read(&c, "/Suite/Modes/report.txt").await, "overwritten");
    assert_ne!(v3.rev, v2.rev);

    // A file cannot become a folder's parent, and disallowed names are refused.
    let err = files
        .create_folder("/Suite/Modes/report.txt/inner")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err:?}");
    let err = files
        .upload_bytes("/Suite/Modes/desktop.ini", Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    match err.api().unwrap().route_error::<UploadError>() {
        Some(UploadError::Path(failed)) => assert_eq!(failed.reason, WriteError::DisallowedName),
        other => panic!("expected path/disallowed_name, got {other:?}"),
    }

    assert_eq!(
        names(&c, "/Suite/Modes").await,
        [renamed.name.as_str(), "report.txt"]
    );
}

#[tokio::test]
async fn create_move_copy_and_delete() {
    let sb = start().await;
    let c = client(&sb);
    let files = c.files();

    let folder = files.create_folder("/Suite/Work").await.unwrap().metadata;
    assert_eq!(folder.path_display.as_deref(), Some("/Suite/Work"));
    let err = files.create_folder("/suite/work").await.unwrap_err();
    assert!(matches!(
        err.api().unwrap().route_error::<CreateFolderError>(),
        Some(CreateFolderError::Path(WriteError::Conflict(
            WriteConflictError::Folder
        )))
    ));

    let original = files
        .upload_bytes("/Suite/Work/draft.txt", Bytes::from_static(b"draft body"))
        .await
        .unwrap();

    // Move: the id survives, get_metadata by id gives the new path.
    let moved = files
        .move_entry(RelocationArg::new(
            "/Suite/Work/draft.txt",
            "/Suite/Archive/final.txt",
        ))
        .await
        .unwrap()
        .metadata;
    assert_eq!(moved.path_display(), Some("/Suite/Archive/final.txt"));
    let by_id = files.get_metadata(original.id.as_str()).await.unwrap();
    assert_eq!(by_id.path_display(), Some("/Suite/Archive/final.txt"));
    assert_eq!(by_id.as_file().unwrap().content_hash, original.content_hash);
    let gone = files
        .get_metadata("/Suite/Work/draft.txt")
        .await
        .unwrap_err();
    assert_eq!(gone.kind(), ErrorKind::NotFound);

    // Move a folder into itself: refused with the spec's tag.
    let err = files
        .move_entry(RelocationArg::new("/Suite/Archive", "/Suite/Archive/Inner"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.api().unwrap().route_error::<RelocationError>(),
            Some(RelocationError::CantMoveFolderIntoItself)
        ),
        "{err:?}"
    );

    // Copy: a new id, the same bytes; a copy onto an existing file is a `to/conflict`.
    let copied = files
        .copy(RelocationArg::new(
            original.id.as_str(),
            "/Suite/Work/copy.txt",
        ))
        .await
        .unwrap()
        .metadata;
    let copied = copied.as_file().expect("a file").clone();
    assert_ne!(copied.id, original.id);
    assert_eq!(copied.content_hash, original.content_hash);
    assert_eq!(read(&c, "/Suite/Work/copy.txt").await, "draft body");
    let err = files
        .copy(RelocationArg::new(
            "/Suite/Work/copy.txt",
            "/Suite/Archive/final.txt",
        ))
        .await
        .unwrap_err();
    assert_eq!(tags(&err)[..2], ["to", "conflict"]);
    let auto = files
        .copy(
            RelocationArg::new("/Suite/Work/copy.txt", "/Suite/Archive/final.txt").autorename(true),
        )
        .await
        .unwrap()
        .metadata;
    assert_ne!(auto.name(), "final.txt");

    // A folder copies with its contents; a file is not a folder to list.
    files
        .copy(RelocationArg::new("/Suite/Work", "/Suite/Work Copy"))
        .await
        .unwrap();
    assert_eq!(names(&c, "/Suite/Work Copy").await, ["copy.txt"]);
    let err = files
        .list_folder("/Suite/Work/copy.txt")
        .send()
        .await
        .unwrap_err();
    assert_eq!(tags(&err), ["path", "not_folder"]);
    files.delete("/Suite/Work Copy").await.unwrap();

    // Delete: the answer is the metadata before deletion; listings report the deletion.
    let cursor = files
        .list_folder_get_latest_cursor(ListFolderArg::new("/Suite").recursive(true))
        .await
        .unwrap()
        .cursor;
    let deleted = files.delete("/Suite/Work").await.unwrap().metadata;
    assert!(matches!(&deleted, Metadata::Folder(f) if f.name == "Work"));
    let changes: Vec<Metadata> = {
        use futures::TryStreamExt;
        files
            .list_folder_from_cursor(cursor)
            .into_stream()
            .try_collect()
            .await
            .unwrap()
    };
    assert!(
        changes.iter().any(
            |m| matches!(m, Metadata::Deleted(d) if d.path_lower.as_deref() == Some("/suite/work"))
        ),
        "{changes:?}"
    );
    let meta = files
        .get_metadata(GetMetadataArg::new("/Suite/Work/copy.txt").include_deleted(true))
        .await
        .unwrap();
    assert!(matches!(meta, Metadata::Deleted(_)), "{meta:?}");
    let with_deleted = list(&c, ListFolderArg::new("/Suite").include_deleted(true)).await;
    assert!(with_deleted
        .iter()
        .any(|m| matches!(m, Metadata::Deleted(d) if d.name == "Work")));
    assert_eq!(names(&c, "/Suite").await, ["Archive"]);
    let err = files.delete("/Suite/Work").await.unwrap_err();
    assert_eq!(tags(&err), ["path_lookup", "not_found"]);
}

#[tokio::test]
async fn revisions_then_restore_gives_the_old_bytes_back() {
    let sb = start().await;
    let c = client(&sb);
    let files = c.files();
    let path = "/Suite/Revisions/policy.txt";
    let mut revs = Vec::new();
    for body in ["version one", "version two", "version three"] {
        let meta = files
            .upload_bytes(
                CommitInfo::new(path).mode(WriteMode::Overwrite),
                Bytes::from(body),
            )
            .await
            .unwrap();
        revs.push(meta.rev);
    }
    let listed = files.list_revisions(path).await.unwrap();
    assert!(!listed.is_deleted);
    let listed_revs: Vec<&str> = listed.entries.iter().map(|e| e.rev.as_str()).collect();
    assert_eq!(listed_revs, [&revs[2], &revs[1], &revs[0]], "newest first");
    let limited = files
        .list_revisions(ListRevisionsArg {
            limit: Some(1),
            ..ListRevisionsArg::from(path)
        })
        .await
        .unwrap();
    assert_eq!(limited.entries.len(), 1);
    assert!(limited.has_more);

    // An old revision is readable through `rev:`.
    assert_eq!(read(&c, &format!("rev:{}", revs[0])).await, "version one");

    let restored = files.restore(path, revs[0].clone()).await.unwrap();
    assert_eq!(restored.size, "version one".len() as u64);
    assert_eq!(read(&c, path).await, "version one");
    let after = files.list_revisions(path).await.unwrap();
    assert_eq!(after.entries[0].rev, restored.rev);

    let err = files.restore(path, "0123456789abcdef").await.unwrap_err();
    assert_eq!(tags(&err), ["invalid_revision"]);

    // By id, revisions follow the file across a move.
    let moved = files
        .move_entry(RelocationArg::new(path, "/Suite/Revisions/moved.txt"))
        .await
        .unwrap()
        .metadata;
    let id = moved.as_file().unwrap().id.clone();
    let by_id = files
        .list_revisions(ListRevisionsArg {
            mode: Some(dropbox_client::models::files::ListRevisionsMode::Id),
            ..ListRevisionsArg::from(id.as_str())
        })
        .await
        .unwrap();
    assert!(by_id.entries.len() >= 3, "{by_id:?}");
    assert!(by_id.entries.iter().any(|e| e.rev == revs[0]));
    let meta = files
        .get_metadata(format!("rev:{}", revs[1]))
        .await
        .unwrap();
    assert_eq!(meta.as_file().unwrap().rev, revs[1]);
    files
        .move_entry(RelocationArg::new("/Suite/Revisions/moved.txt", path))
        .await
        .unwrap();

    // Deleted files keep their revisions and can be restored.
    files.delete(path).await.unwrap();
    let gone = files.list_revisions(path).await.unwrap();
    assert!(gone.is_deleted);
    assert!(gone.server_deleted.is_some());
    files.restore(path, revs[1].clone()).await.unwrap();
    assert_eq!(read(&c, path).await, "version two");
}

#[tokio::test]
async fn non_ascii_names_travel_in_headers_and_bodies() {
    let sb = start().await;
    let c = client(&sb);
    let path = "/Suite/Intl/Résumé ünïcødé 😀.txt";
    let meta = c
        .files()
        .upload_bytes(path, Bytes::from_static("grüße".as_bytes()))
        .await
        .unwrap();
    assert_eq!(meta.name, "Résumé ünïcødé 😀.txt");
    assert_eq!(meta.path_display.as_deref(), Some(path));
    let download = c.files().download(path).await.unwrap();
    assert_eq!(download.metadata.name, meta.name);
    assert_eq!(download.bytes().await.unwrap(), "grüße".as_bytes());
    assert_eq!(names(&c, "/Suite/Intl").await, ["Résumé ünïcødé 😀.txt"]);
    let by_lower = c
        .files()
        .get_metadata("/suite/intl/RÉSUMÉ ÜNÏCØDÉ 😀.TXT".to_lowercase())
        .await
        .unwrap();
    assert_eq!(by_lower.as_file().unwrap().id, meta.id);
}

#[tokio::test]
async fn client_modified_hashes_and_malformed_requests() {
    let sb = start().await;
    let c = client(&sb);
    let files = c.files();

    // client_modified is kept as sent (whole seconds); server_modified is the server's.
    let when = chrono::DateTime::parse_from_rfc3339("2024-02-29T12:34:56Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let meta = files
        .upload_bytes(
            CommitInfo::new("/Suite/Checks/dated.txt").client_modified(when),
            Bytes::from_static(b"dated"),
        )
        .await
        .unwrap();
    assert_eq!(meta.client_modified, when);
    assert!(meta.server_modified > when);
    let listed = list(&c, "/Suite/Checks").await;
    assert_eq!(listed[0].as_file().unwrap().client_modified, when);

    // strict_conflict: identical content is a conflict too.
    let err = files
        .upload_bytes(
            CommitInfo::new("/Suite/Checks/dated.txt").strict_conflict(true),
            Bytes::from_static(b"dated"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err:?}");

    // The server checks the content_hash of the request's bytes.
    let arg = dropbox_client::models::files::UploadArg {
        commit: CommitInfo::new("/Suite/Checks/hashed.txt"),
        content_hash: Some(ContentHasher::hash(b"other bytes")),
    };
    let err = c
        .upload_raw::<_, serde_json::Value>(
            "files/upload",
            &arg,
            Bytes::from_static(b"these bytes"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ContentMismatch, "{err:?}");
    assert_eq!(tags(&err), ["content_hash_mismatch"]);
    assert!(files
        .get_metadata("/Suite/Checks/hashed.txt")
        .await
        .is_err());

    // A folder cannot be downloaded; the root has no metadata (400, plain text).
    let err = files.download("/Suite/Checks").await.unwrap_err();
    assert_eq!(tags(&err), ["path", "not_file"]);
    let err = files.get_metadata("").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err:?}");
    assert_eq!(err.api().map(|a| a.status), Some(400));
    let err = files.get_metadata("no-leading-slash").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err:?}");
}
