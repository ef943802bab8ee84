//! A 200 MiB generated stream uploads as a document while the process stays small.
//!
//! This test runs alone in its own process (one test per file), so the peak RSS it reads
//! belongs to this upload. The `cs_upload_rss` example measures the same for 1 GiB.

#[path = "support/discard_server.rs"]
mod discard_server;

use std::sync::atomic::Ordering;

use contentserver_client::{Client, Credentials};
use discard_server::{pattern_body, peak_rss_kib, start_discard_server};

const MIB: u64 = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mib_stream_uploads_with_bounded_memory() {
    let (addr, stats) = start_discard_server().await;
    let client = Client::builder(format!("http://{addr}/otcs/cs.exe"))
        .credentials(Credentials::Ticket("T1".into()))
        .build()
        .unwrap();
    let len = 200 * MIB;
    let node = client
        .documents()
        .create(2000, "big.bin", pattern_body(len))
        .send()
        .await
        .unwrap();
    assert_eq!(node.id, 1);
    assert_eq!(stats.requests.load(Ordering::SeqCst), 1);
    assert_eq!(stats.file_bytes.load(Ordering::SeqCst), len);
    assert!(
        stats.all_ok.load(Ordering::SeqCst),
        "every byte arrived in order"
    );
    assert_eq!(node.size, Some(len as i64));
    // Holding the body would need at least 200 MiB; a streamed upload needs a few MiB.
    let peak = peak_rss_kib().expect("VmHWM in /proc/self/status");
    assert!(peak < 100 * 1024, "peak RSS {peak} KiB is not bounded");
}
