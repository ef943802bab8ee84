//! `watch` woken by the Dropbox longpoll: a file added to the approval folder after the watch
//! started is archived without any timer firing (the fallback interval is an hour).

mod support;

use std::sync::Arc;
use std::time::Duration;

use dropbox_client::models::files::{CommitInfo, WriteMode};
use ecm_bridge::runner::Progress;
use support::{Env, APPROVED, APPROVED_FOLDER};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_added_while_watching_is_archived() {
    let env = Env::start().await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let flow = env
        .flow()
        .on_progress(Arc::new(move |p: &Progress| {
            if let Progress::RunFinished(report) = p {
                let _ = tx.send(report.clone());
            }
        }))
        .build()
        .unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let watching = tokio::spawn(async move {
        flow.watch(Duration::from_secs(3600), async {
            let _ = stop_rx.await;
        })
        .await
    });

    // A guard against a hang, not a timer that makes anything happen.
    let guard = Duration::from_secs(60);
    let first = tokio::time::timeout(guard, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.written.len(), APPROVED.len(), "{}", first.summary());

    let name = "Media Kit.pdf";
    let bytes = bytes::Bytes::from(b"%PDF-1.4 media kit\n".repeat(200));
    env.dropbox
        .files()
        .upload(
            CommitInfo::new(format!("{APPROVED_FOLDER}/{name}")).mode(WriteMode::Add),
            futures::stream::iter([Ok::<_, std::io::Error>(bytes.clone())]),
        )
        .await
        .unwrap();

    // The longpoll wakes the watch; a later run archives the new file.
    let mut runs_after = 0;
    loop {
        let report = tokio::time::timeout(guard, rx.recv())
            .await
            .unwrap()
            .unwrap();
        runs_after += 1;
        assert!(report.failed.is_empty(), "{:#?}", report.failed);
        if report.written.iter().any(|w| w.path.ends_with(name)) {
            break;
        }
        assert!(runs_after < 5, "the new file was never archived");
    }
    stop_tx.send(()).unwrap();
    let runs = tokio::time::timeout(guard, watching)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(runs >= 2, "{runs}");

    let node = env.cs_doc(name).await.expect("archived");
    assert_eq!(env.cs_bytes(node.id, None).await, bytes);
    assert_eq!(env.cs_archive_children().await.len(), APPROVED.len() + 1);
}
