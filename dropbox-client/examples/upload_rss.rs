//! Uploads a generated stream of N MiB (default 1024) through an upload session to a loopback
//! server that hashes and discards the bytes, then prints the process's peak RSS.
//!
//! ```sh
//! cargo run --release -p dropbox-client --example upload_rss -- 1024
//! ```
//!
//! The server speaks just enough HTTP/1.1 for `upload_session/start`, `append_v2` and `finish`,
//! and never holds a body: it streams each one through a `ContentHasher`.

use std::time::Instant;

use bytes::Bytes;
use dropbox_client::models::files::{CommitInfo, WriteMode};
use dropbox_client::{Client, ContentHasher};
use futures::stream;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const MIB: usize = 1024 * 1024;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mib: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1024);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(serve(listener));

    let client = Client::builder()
        .base_url(url.parse()?)
        .access_token("rss-test")
        .build()?;
    // 1 MiB pieces, each a fresh buffer: the generator holds nothing either.
    let body = stream::iter(
        (0..mib).map(|i| Ok::<_, std::io::Error>(Bytes::from(vec![(i % 251) as u8; MIB]))),
    );
    let started = Instant::now();
    let meta = client
        .files()
        .upload(
            CommitInfo::new("/rss/big.bin").mode(WriteMode::Overwrite),
            body,
        )
        .await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "uploaded {} MiB in {:.2} s ({:.0} MiB/s), content_hash {}",
        meta.size / MIB as u64,
        secs,
        mib as f64 / secs,
        meta.content_hash.unwrap_or_default()
    );
    println!("peak RSS: {} MiB", peak_rss_kib()? / 1024);
    Ok(())
}

fn peak_rss_kib() -> std::io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    Ok(status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0))
}

/// One session at a time is enough for this measurement.
async fn serve(listener: TcpListener) {
    let mut hasher = ContentHasher::new();
    loop {
        let Ok((sock, _)) = listener.accept().await else {
            return;
        };
        let _ = sock.set_nodelay(true);
        let mut sock = BufReader::new(sock);
        loop {
            let mut head = Vec::new();
            let mut line = String::new();
            loop {
                line.clear();
                if sock.read_line(&mut line).await.unwrap_or(0) == 0 {
                    break;
                }
                if line == "\r\n" {
                    break;
                }
                head.push(line.trim_end().to_owned());
            }
            if head.is_empty() {
                break;
            }
            let route = head[0].split_whitespace().nth(1).unwrap_or("").to_owned();
            let len: u64 = head
                .iter()
                .find_map(|h| {
                    h.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            let mut left = len;
            let mut buf = vec![0u8; 64 * 1024];
            while left > 0 {
                let n = sock
                    .read(&mut buf[..left.min(64 * 1024) as usize])
                    .await
                    .unwrap_or(0);
                if n == 0 {
                    return;
                }
                hasher.update(&buf[..n]);
                left -= n as u64;
            }
            let body = if route.ends_with("/start") {
                r#"{"session_id":"s1"}"#.to_owned()
            } else if route.ends_with("/finish") {
                let size = hasher.len();
                let hash = std::mem::take(&mut hasher).finish();
                format!(
                    r#"{{"name":"big.bin","id":"id:1","client_modified":"2026-01-01T00:00:00Z","server_modified":"2026-01-01T00:00:00Z","rev":"0123456789a","size":{size},"content_hash":"{hash}"}}"#
                )
            } else {
                "null".to_owned()
            };
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if sock.get_mut().write_all(resp.as_bytes()).await.is_err() {
                break;
            }
        }
    }
}
