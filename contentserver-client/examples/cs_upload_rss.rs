//! Streams a generated N-MiB body (default 1024) as a document to a loopback server that
//! counts and discards the bytes, then prints the peak RSS of this process.
//!
//! ```text
//! cargo run --release -p contentserver-client --example cs_upload_rss -- 1024
//! ```

#[path = "../tests/support/discard_server.rs"]
mod discard_server;

use std::sync::atomic::Ordering;
use std::time::Instant;

use contentserver_client::{Client, Credentials};
use discard_server::{pattern_body, peak_rss_kib, start_discard_server};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mib: u64 = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 1024,
    };
    let len = mib * 1024 * 1024;
    let (addr, stats) = start_discard_server().await;
    let client = Client::builder(format!("http://{addr}/otcs/cs.exe"))
        .credentials(Credentials::Ticket("example-ticket".into()))
        .build()?;
    let rss_before = peak_rss_kib().unwrap_or(0);
    let started = Instant::now();
    let node = client
        .documents()
        .create(2000, "generated.bin", pattern_body(len))
        .send()
        .await?;
    let elapsed = started.elapsed();
    let received = stats.file_bytes.load(Ordering::SeqCst);
    let intact = stats.all_ok.load(Ordering::SeqCst);
    println!("uploaded {mib} MiB as node {} in {elapsed:.2?}", node.id);
    println!("server received {received} file bytes (expected {len}), pattern intact: {intact}");
    println!(
        "throughput: {:.0} MiB/s",
        mib as f64 / elapsed.as_secs_f64().max(f64::EPSILON)
    );
    println!(
        "peak RSS (VmHWM): {} KiB (before upload: {rss_before} KiB)",
        peak_rss_kib().unwrap_or(0)
    );
    if received != len || !intact {
        return Err("the server did not receive the exact bytes".into());
    }
    Ok(())
}
