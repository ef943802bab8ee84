//! A run under injected faults (429 with `Retry-After`, 503 on the Nth call, connection resets
//! mid-request, a download body cut short) that still ends with the right bytes.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dropbox_client::models::files::CommitInfo;
use dropbox_client::{Error, ErrorKind, BLOCK_SIZE};
use futures::TryStreamExt;
use sandbox::{FaultRule, FaultTarget, SandboxConfig};

use crate::common::{self, builder, calls, digests, fired, generated, start_with};

#[tokio::test]
async fn transfers_survive_429s_503s_resets_and_cut_bodies() {
    const LEN: u64 = 4 * BLOCK_SIZE as u64 + 12_345;
    let rules = [
        // The first single-request upload is rate limited with a 1 s hint.
        FaultRule::rate_limited("/2/files/upload", 1).with_nth(1),
        // The second append fails with 503.
        FaultRule::status("/2/files/upload_session/append_v2", 503).with_nth(2),
        // The fourth append request has its connection reset after the headers.
        FaultRule::reset("/2/files/upload_session/append_v2").with_nth(4),
        // The first session start is rate limited without a wait.
        FaultRule::rate_limited("/2/files/upload_session/start", 0).with_nth(1),
        // The second download (the big file's) stops after 1 MB ...
        FaultRule::truncate("/2/files/download", 1_000_000).with_nth(2),
        // ... the ranged request resuming it has its connection reset; the next goes through.
        FaultRule::reset("/2/files/download").with_nth(3),
        // Two metadata reads in a row are refused with 503.
        FaultRule::status("/2/files/get_metadata", 503).with_count(2),
    ];
    let mut config = SandboxConfig::new();
    for rule in rules.iter().cloned() {
        config = config.fault(FaultTarget::Dropbox, rule);
    }
    let sb = start_with(config).await;
    let retries = Arc::new(AtomicU32::new(0));
    let counter = retries.clone();
    let c = builder(&sb)
        .access_token(common::TOKEN)
        .chunk_size(BLOCK_SIZE)
        .retry_policy(common::fast_retries().on_retry(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        }))
        .build()
        .unwrap();

    // A small upload: 429 (waits the 1 s hint), then success.
    let small = c
        .files()
        .upload_bytes(
            "/Suite/Faults/small.txt",
            Bytes::from_static(b"small but sure"),
        )
        .await
        .unwrap();
    assert_eq!(calls(&sb, "/2/files/upload"), 2);
    assert_eq!(
        common::read(&c, "/Suite/Faults/small.txt").await,
        "small but sure"
    );

    // A session upload through a 429 on start, a 503 and a reset on appends.
    let meta = c
        .files()
        .upload(
            CommitInfo::new("/Suite/Faults/big.bin"),
            generated(LEN, 64 * 1024),
        )
        .await
        .unwrap();
    assert_eq!(meta.size, LEN);
    let expected = digests(generated(LEN, 64 * 1024)).await;
    assert_eq!(meta.content_hash, Some(expected.content_hash.clone()));
    assert_eq!(calls(&sb, "/2/files/upload_session/start"), 2);
    // 5 chunks: the first on start, 4 appends, plus one repeat each for the 503 and the reset.
    assert_eq!(calls(&sb, "/2/files/upload_session/append_v2"), 6);

    // The download is cut after 1 MB and resumed with a Range request.
    let download = c.files().download("/Suite/Faults/big.bin").await.unwrap();
    assert_eq!(digests(download.into_stream()).await, expected);
    assert_eq!(
        calls(&sb, "/2/files/download"),
        4,
        "small, big (cut), resumed (reset), resumed again"
    );

    // Metadata through two 503s.
    let again = c.files().get_metadata(small.id.as_str()).await.unwrap();
    assert_eq!(again.as_file().unwrap().rev, small.rev);
    assert_eq!(calls(&sb, "/2/files/get_metadata"), 3);

    // Every fault fired exactly as often as planned, and the client retried each time.
    assert_eq!(fired(&sb), [1, 1, 1, 1, 1, 1, 2]);
    assert_eq!(
        retries.load(Ordering::Relaxed),
        7,
        "429, 429, 503, reset, reset, 503, 503; the download resume itself is not a retry"
    );
}

#[tokio::test]
async fn long_rate_limits_and_unsafe_repeats_are_reported_not_retried() {
    let sb = start_with(SandboxConfig::new()).await;
    let c = builder(&sb).access_token(common::TOKEN).build().unwrap();

    // A hint longer than the policy's max_server_delay (2 s) ends the call at once.
    sb.dropbox_faults()
        .add(FaultRule::rate_limited("/2/files/list_folder", 30).with_nth(1))
        .unwrap();
    let err = c.files().list_folder("").send().await.unwrap_err();
    match &err {
        Error::RateLimited { retry_after, .. } => assert_eq!(*retry_after, Duration::from_secs(30)),
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert_eq!(calls(&sb, "/2/files/list_folder"), 1);

    // A reset during a single-request upload (not safe to repeat: it may have landed) surfaces.
    sb.dropbox_faults()
        .add(FaultRule::reset("/2/files/upload").with_nth(1))
        .unwrap();
    let err = c
        .files()
        .upload_bytes("/Suite/Faults/once.txt", Bytes::from_static(b"once"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err:?}");
    assert_eq!(calls(&sb, "/2/files/upload"), 1);
    assert_eq!(fired(&sb), [1, 1]);

    // Persistent 503s exhaust the attempts of the policy (5).
    sb.dropbox_faults()
        .add(FaultRule::status("/2/users/get_current_account", 503))
        .unwrap();
    let err = c.users().get_current_account().await.unwrap_err();
    assert_eq!(err.api().map(|a| a.status), Some(503), "{err:?}");
    assert_eq!(calls(&sb, "/2/users/get_current_account"), 5);
}

/// The write commits, then its answer is lost (a proxy's 502, a 504, a reset). A single upload
/// is not idempotent: the client does not repeat it, says the outcome is in doubt, and the file
/// exists once with the bytes sent.
#[tokio::test]
async fn a_committed_upload_whose_answer_is_lost_is_not_repeated() {
    let sb = start_with(SandboxConfig::new()).await;
    let c = builder(&sb).access_token(common::TOKEN).build().unwrap();
    for (i, how) in [
        sandbox::LostAnswer::Status(502),
        sandbox::LostAnswer::Status(504),
        sandbox::LostAnswer::Reset,
    ]
    .into_iter()
    .enumerate()
    {
        let path = format!("/Suite/Lost/answer-{i}.txt");
        sb.dropbox_faults()
            .add(FaultRule::lose("/2/files/upload", how).with_nth(1))
            .unwrap();
        let before = calls(&sb, "/2/files/upload");
        let err = c
            .files()
            .upload_bytes(path.as_str(), Bytes::from(format!("lost {i}")))
            .await
            .unwrap_err();
        assert!(err.is_in_doubt(), "{how:?}: {err:?}");
        assert_eq!(
            calls(&sb, "/2/files/upload"),
            before + 1,
            "{how:?}: not repeated"
        );
        let listed = c
            .files()
            .list_folder("/Suite/Lost")
            .into_stream()
            .try_collect::<Vec<_>>()
            .await
            .unwrap();
        let copies = listed
            .iter()
            .filter(|e| {
                e.path_display()
                    .is_some_and(|p| p.starts_with(&format!("/Suite/Lost/answer-{i}")))
            })
            .count();
        assert_eq!(copies, 1, "{how:?}: committed once");
        let got = c
            .files()
            .download(path.as_str())
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&got[..], format!("lost {i}").as_bytes());
    }
}
