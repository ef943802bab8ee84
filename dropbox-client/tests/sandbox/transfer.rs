//! Round-trips through `files().upload` and `files().download` at the sizes around the 4 MiB
//! block, through single uploads and sessions, a 300 MiB file streamed both ways, and
//! `upload_batch`.

use bytes::Bytes;
use dropbox_client::models::files::{
    CommitInfo, UploadSessionAppendArg, UploadSessionCursor, UploadSessionFinishArg,
    UploadSessionFinishBatchJobStatus, UploadSessionFinishBatchResultEntry,
    UploadSessionLookupError, UploadSessionStartArg, UploadSessionType, WriteMode,
};
use dropbox_client::{Client, ContentHasher, Idempotency, BLOCK_SIZE};
use serde_json::json;

use crate::common::{
    self, builder, calls, client, generated, names, once, pseudo_random, start, MIB,
};

const SIZES: [usize; 5] = [0, 1, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1];

/// Uploads `data` as a stream of 64 KiB pieces, downloads it back and compares bytes and hashes.
async fn round_trip(c: &Client, path: &str, data: &[u8]) {
    let expected_hash = ContentHasher::hash(data);
    let pieces: Vec<std::io::Result<Bytes>> = data
        .chunks(64 * 1024)
        .map(|p| Ok(Bytes::copy_from_slice(p)))
        .collect();
    let meta = c
        .files()
        .upload(
            CommitInfo::new(path).mode(WriteMode::Overwrite),
            futures::stream::iter(pieces),
        )
        .await
        .unwrap_or_else(|e| panic!("upload of {} bytes: {e}", data.len()));
    assert_eq!(meta.size, data.len() as u64, "{path}");
    assert_eq!(
        meta.content_hash.as_deref(),
        Some(expected_hash.as_str()),
        "{path}"
    );

    let download = c.files().download(path).await.unwrap();
    assert_eq!(download.metadata.rev, meta.rev);
    assert_eq!(download.metadata.content_hash, meta.content_hash);
    let back = download.bytes().await.unwrap();
    assert_eq!(back.len(), data.len(), "{path}");
    assert!(back[..] == data[..], "{path}: bytes differ");
}

#[tokio::test]
async fn sizes_around_the_block_round_trip_in_one_request() {
    let sb = start().await;
    let c = client(&sb);
    assert_eq!(
        c.chunk_size(),
        2 * BLOCK_SIZE,
        "default chunk: everything here fits one call"
    );
    for (i, size) in SIZES.into_iter().enumerate() {
        let data = pseudo_random(size, i as u64 + 1);
        round_trip(&c, &format!("/Suite/Sizes/single-{size}.bin"), &data).await;
    }
    assert_eq!(calls(&sb, "/2/files/upload"), SIZES.len() as u64);
    assert_eq!(calls(&sb, "/2/files/upload_session/start"), 0);
    // The empty file hashes to SHA-256 of nothing.
    let empty = c
        .files()
        .get_metadata("/Suite/Sizes/single-0.bin")
        .await
        .unwrap();
    assert_eq!(
        empty.as_file().unwrap().content_hash.as_deref(),
        Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
}

#[tokio::test]
async fn sizes_around_the_block_round_trip_with_4_mib_chunks() {
    let sb = start().await;
    let c = builder(&sb)
        .access_token(common::TOKEN)
        .chunk_size(BLOCK_SIZE)
        .build()
        .unwrap();
    for (i, size) in SIZES.into_iter().enumerate() {
        let data = pseudo_random(size, 100 + i as u64);
        let before = calls(&sb, "/2/files/upload_session/start");
        round_trip(&c, &format!("/Suite/Sizes/chunked-{size}.bin"), &data).await;
        let sessions = calls(&sb, "/2/files/upload_session/start") - before;
        if size > BLOCK_SIZE {
            assert_eq!(sessions, 1, "{size} bytes go through a session");
        }
        if size < BLOCK_SIZE {
            assert_eq!(sessions, 0, "{size} bytes go up in one call");
        }
    }
    assert!(calls(&sb, "/2/files/upload_session/append_v2") >= 1);
    assert!(calls(&sb, "/2/files/upload_session/finish") >= 1);
}

#[tokio::test]
async fn a_300_mib_file_streams_both_ways() {
    const LEN: u64 = 300 * 1024 * 1024;
    const PIECE: usize = 256 * 1024;
    let sb = start().await;
    let c = client(&sb);

    // Expected digests, from the generated stream itself (never whole in memory).
    let expected = common::digests(generated(LEN, PIECE)).await;
    assert_eq!(expected.len, LEN);

    let meta = c
        .files()
        .upload(CommitInfo::new("/Suite/Big/300.bin"), generated(LEN, PIECE))
        .await
        .unwrap();
    assert_eq!(meta.size, LEN);
    assert_eq!(meta.content_hash.as_ref(), Some(&expected.content_hash));
    // 300 MiB in 8 MiB chunks: a start, appends and a finish; no single request over 150 MiB.
    assert_eq!(calls(&sb, "/2/files/upload_session/start"), 1);
    // 38 chunks (37 of 8 MiB and a last of 4 MiB): the first rides on start, 37 appends.
    assert_eq!(calls(&sb, "/2/files/upload_session/append_v2"), 37);
    assert_eq!(calls(&sb, "/2/files/upload_session/finish"), 1);

    let download = c.files().download("/Suite/Big/300.bin").await.unwrap();
    assert_eq!(download.metadata.size, LEN);
    // The stream checks the content hash at its end; an error would fail `digests`.
    assert_eq!(common::digests(download.into_stream()).await, expected);
}

#[tokio::test]
async fn upload_batch_commits_several_files_together() {
    let sb = start().await;
    let c = builder(&sb)
        .access_token(common::TOKEN)
        .chunk_size(BLOCK_SIZE)
        .build()
        .unwrap();
    let contents: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"one small file".to_vec(),
        pseudo_random(BLOCK_SIZE + 3, 7),
        pseudo_random(1000, 8),
    ];
    let items = contents
        .iter()
        .enumerate()
        .map(|(i, data)| {
            (
                CommitInfo::new(format!("/Suite/Batch/file-{i}.bin")),
                once(data.clone()),
            )
        })
        .collect();
    let results = c.files().upload_batch(items).await.unwrap();
    assert_eq!(results.len(), contents.len());
    for (i, (result, data)) in results.into_iter().zip(&contents).enumerate() {
        let meta = result.unwrap_or_else(|e| panic!("file {i}: {e}"));
        assert_eq!(meta.name, format!("file-{i}.bin"));
        assert_eq!(meta.content_hash.unwrap(), ContentHasher::hash(data));
        assert!(common::read(&c, &format!("/Suite/Batch/file-{i}.bin")).await[..] == data[..]);
    }
    assert_eq!(calls(&sb, "/2/files/upload_session/finish_batch_v2"), 1);
    assert_eq!(calls(&sb, "/2/files/upload"), 0);

    // One entry failing (a conflict) leaves the others committed.
    let items = vec![
        (
            CommitInfo::new("/Suite/Batch/file-1.bin"),
            once(&b"different bytes"[..]),
        ),
        (CommitInfo::new("/Suite/Batch/new.bin"), once(&b"new"[..])),
    ];
    let results = c.files().upload_batch(items).await.unwrap();
    let err = results[0].as_ref().unwrap_err();
    assert!(
        common::tags(err).contains(&"conflict".to_owned()),
        "{err:?}"
    );
    assert_eq!(results[1].as_ref().unwrap().name, "new.bin");
    assert_eq!(
        names(&c, "/Suite/Batch").await,
        [
            "file-0.bin",
            "file-1.bin",
            "file-2.bin",
            "file-3.bin",
            "new.bin"
        ]
    );
}

#[tokio::test]
async fn session_routes_offsets_and_the_batch_job_check() {
    let sb = start().await;
    let c = client(&sb);
    let files = c.files();

    // A sequential session: a wrong offset is answered with the right one.
    let open = files
        .upload_session_start(
            &UploadSessionStartArg::default(),
            Bytes::from_static(b"0123"),
        )
        .await
        .unwrap();
    let append = |offset: u64| UploadSessionAppendArg {
        cursor: UploadSessionCursor {
            session_id: open.session_id.clone(),
            offset,
        },
        close: false,
        content_hash: None,
    };
    let err = files
        .upload_session_append(&append(2), Bytes::from_static(b"4567"))
        .await
        .unwrap_err();
    match err.api().unwrap().route_error::<UploadSessionLookupError>() {
        Some(UploadSessionLookupError::IncorrectOffset(o)) => assert_eq!(o.correct_offset, 4),
        other => panic!("expected incorrect_offset, got {other:?} from {err:?}"),
    }
    files
        .upload_session_append(&append(4), Bytes::from_static(b"4567"))
        .await
        .unwrap();
    let meta = files
        .upload_session_finish(
            &UploadSessionFinishArg {
                cursor: UploadSessionCursor {
                    session_id: open.session_id.clone(),
                    offset: 8,
                },
                commit: CommitInfo::new("/Suite/Jobs/sequential.txt"),
                content_hash: None,
            },
            Bytes::from_static(b"89"),
        )
        .await
        .unwrap();
    assert_eq!(meta.size, 10);
    assert_eq!(
        common::read(&c, "/Suite/Jobs/sequential.txt").await,
        "0123456789"
    );
    let err = files
        .upload_session_append(&append(10), Bytes::from_static(b"late"))
        .await
        .unwrap_err();
    assert!(err.api().is_some(), "a finished session is gone: {err:?}");

    // A concurrent session takes no data on start and only 4 MiB-aligned offsets.
    let err = files
        .upload_session_start(
            &UploadSessionStartArg {
                session_type: Some(UploadSessionType::Concurrent),
                ..Default::default()
            },
            Bytes::from_static(b"data"),
        )
        .await
        .unwrap_err();
    assert_eq!(common::tags(&err), ["concurrent_session_data_not_allowed"]);
    let concurrent = files
        .upload_session_start(
            &UploadSessionStartArg {
                session_type: Some(UploadSessionType::Concurrent),
                ..Default::default()
            },
            Bytes::new(),
        )
        .await
        .unwrap();
    let err = files
        .upload_session_append(
            &UploadSessionAppendArg {
                cursor: UploadSessionCursor {
                    session_id: concurrent.session_id,
                    offset: 1000,
                },
                close: false,
                content_hash: None,
            },
            Bytes::from_static(b"misaligned"),
        )
        .await
        .unwrap_err();
    assert_eq!(common::tags(&err), ["concurrent_session_invalid_offset"]);

    // More than 150 MiB in one request is refused before anything is sent.
    let huge = Bytes::from(vec![0u8; 150 * MIB + 1]);
    let before = sb.dropbox_stats().total();
    let err = files
        .upload_bytes("/Suite/Jobs/huge.bin", huge)
        .await
        .unwrap_err();
    assert!(
        matches!(err, dropbox_client::Error::InvalidRequest { .. }),
        "{err:?}"
    );
    assert_eq!(sb.dropbox_stats().total(), before);

    // A closed session committed through the deprecated asynchronous finish_batch, checked with
    // finish_batch/check.
    let started = files
        .upload_session_start(
            &UploadSessionStartArg {
                close: true,
                ..Default::default()
            },
            Bytes::from_static(b"batched through a job"),
        )
        .await
        .unwrap();
    let entry = UploadSessionFinishArg {
        cursor: UploadSessionCursor {
            session_id: started.session_id,
            offset: 21,
        },
        commit: CommitInfo::new("/Suite/Jobs/job.txt"),
        content_hash: None,
    };
    let launch: serde_json::Value = c
        .rpc_raw(
            "files/upload_session/finish_batch",
            &json!({ "entries": [entry] }),
            Idempotency::NotIdempotent,
        )
        .await
        .unwrap();
    let job = launch["async_job_id"].as_str().expect("an async job id");
    let status = files.upload_session_finish_batch_check(job).await.unwrap();
    let UploadSessionFinishBatchJobStatus::Complete(done) = status else {
        panic!("the job completes: {status:?}")
    };
    assert!(matches!(
        &done.entries[..],
        [UploadSessionFinishBatchResultEntry::Success(m)] if m.size == 21
    ));
    assert_eq!(
        common::read(&c, "/Suite/Jobs/job.txt").await,
        "batched through a job"
    );
    let err = files
        .upload_session_finish_batch_check("dbjid:unknown")
        .await
        .unwrap_err();
    assert_eq!(common::tags(&err), ["invalid_async_job_id"]);
}
