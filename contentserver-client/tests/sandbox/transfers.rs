//! Round-trips of generated documents at the sizes that catch off-by-one and chunking bugs,
//! and a 300 MiB document streamed both ways (never held whole).

use std::panic::AssertUnwindSafe;

use contentserver_client::api::documents::count_bytes;
use futures::FutureExt;

use crate::harness::{start, Content};

const MIB: u64 = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_and_boundary_sizes_round_trip() {
    let env = start().await;
    let client = env.admin();
    let folder = client
        .nodes()
        .create_folder(env.folder("Intake"), "Sizes")
        .await
        .unwrap();
    let sizes = [0, 1, 4 * MIB - 1, 4 * MIB, 4 * MIB + 1];
    for (i, len) in sizes.into_iter().enumerate() {
        let content = Content::new(len, 100 + i as u64);
        let doc = client
            .documents()
            .create(folder.id, format!("file-{len}.bin"), content.body())
            .await
            .unwrap();
        assert_eq!(doc.size, Some(len as i64), "size of {len}");
        content
            .verify(client.documents().download(doc.id).await.unwrap())
            .await
            .unwrap_or_else(|e| panic!("download of {len}: {e}"));
        // The same bytes as version 1 explicitly.
        content
            .verify(
                client
                    .documents()
                    .download(doc.id)
                    .version(1)
                    .await
                    .unwrap(),
            )
            .await
            .unwrap();
    }
    // And as a new version of an existing document: 0 bytes after 1 byte.
    let doc = client
        .documents()
        .create(folder.id, "versioned.bin", Content::new(1, 7).body())
        .await
        .unwrap();
    let empty = Content::new(0, 8);
    client
        .documents()
        .add_version(doc.id, empty.body())
        .await
        .unwrap();
    empty
        .verify(client.documents().download(doc.id).await.unwrap())
        .await
        .unwrap();
    Content::new(1, 7)
        .verify(
            client
                .documents()
                .download(doc.id)
                .version(1)
                .await
                .unwrap(),
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_300_mib_document_streams_up_and_down() {
    let env = start().await;
    let client = env.admin();
    let len = 300 * MIB;
    let content = Content::new(len, 300);
    let doc = client
        .documents()
        .create(env.folder("Backups"), "backup-300MiB.tar", content.body())
        .mime_type("application/x-tar")
        .await
        .unwrap();
    assert_eq!(doc.size, Some(len as i64));
    let download = client.documents().download(doc.id).await.unwrap();
    assert_eq!(download.mime_type.as_deref(), Some("application/x-tar"));
    content.verify(download).await.unwrap();
    // The v2 path of version 1 serves the same length.
    let counted = count_bytes(
        client
            .documents()
            .download(doc.id)
            .version(1)
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(counted, len);
}

#[tokio::test]
async fn the_byte_check_notices_a_wrong_byte_or_length() {
    let env = start().await;
    let client = env.admin();
    let content = Content::new(5_000, 40);
    let doc = client
        .documents()
        .create(env.folder("Intake"), "check.bin", content.body())
        .await
        .unwrap();
    for wrong in [Content::new(5_000, 41), Content::new(4_999, 40)] {
        let download = client.documents().download(doc.id).await.unwrap();
        let outcome = AssertUnwindSafe(wrong.verify(download))
            .catch_unwind()
            .await;
        assert!(outcome.is_err(), "{wrong:?} passed for {content:?}");
    }
    content
        .verify(client.documents().download(doc.id).await.unwrap())
        .await
        .unwrap();
}
