//! Large file: one file Dropbox → CS through `archive_on_approval` and one CS → Dropbox through
//! a flow of `CsSource` and `DropboxSink`, each in a child process (the harness re-invoked with
//! `transfer …`) that reports its own peak RSS; the limit, the sandbox's loopback throughput
//! for the same bytes: a raw HTTP GET of the same file, bytes counted and dropped; and a
//! baseline that includes what the limit leaves out (the sandbox receiving and storing the
//! bytes): the same transfer by a script around the two SDKs, also in a child.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use dropbox_client::models::files::{CommitInfo, WriteMode};
use ecm_bridge::connectors::contentserver::CsSource;
use ecm_bridge::connectors::dropbox::DropboxSink;
use ecm_bridge::flows::archive_on_approval::{Approval, ArchiveOnApproval, Marking};
use ecm_bridge::runner::Flow;
use ecm_bridge::state::SqliteStore;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::env::{cs_client, dropbox_client, Bench, DROPBOX_TOKEN};
use crate::{ctx, Result};

/// The Dropbox folder of the large file (the flow's source root).
pub const SOURCE_ROOT: &str = "/Large";
/// Its path.
pub const FILE: &str = "/Large/Approved/large.bin";

/// What a transfer child reports on its last line of standard output, as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Transfer {
    /// Bytes moved.
    pub bytes: u64,
    /// Seconds the flow's run took.
    pub secs: f64,
    /// The child's peak RSS (`VmHWM`), KiB.
    pub peak_rss_kib: u64,
    /// The CS node written or read.
    pub node: i64,
    /// Its CS folder.
    pub folder: i64,
}

impl Transfer {
    /// MB/s (10^6 bytes per second).
    pub fn mb_per_sec(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.secs
    }
}

/// A generated stream of `mib` MiB: one 1 MiB buffer shared by every piece, so the generator
/// holds 1 MiB however long the stream.
pub fn generated(mib: usize) -> impl futures::Stream<Item = std::io::Result<Bytes>> + Send {
    let piece = Bytes::from(crate::micro::pattern(1 << 20));
    futures::stream::iter((0..mib).map(move |_| Ok(piece.clone())))
}

/// Uploads the large file into Dropbox (untimed).
pub async fn seed(bench: &Bench, mib: usize) -> Result<()> {
    let dropbox = bench.dropbox()?;
    ctx(
        dropbox
            .files()
            .upload(
                CommitInfo::new(FILE).mode(WriteMode::Overwrite),
                generated(mib),
            )
            .await,
        "seeding the large file",
    )?;
    Ok(())
}

/// Drains a response body; returns (bytes, seconds since `started`).
async fn drain(resp: reqwest::Response, started: Instant, what: &str) -> Result<(u64, f64)> {
    let resp = ctx(resp.error_for_status(), what)?;
    let mut body = resp.bytes_stream();
    let mut n = 0u64;
    while let Some(chunk) = body.next().await {
        n += ctx(chunk, what)?.len() as u64;
    }
    Ok((n, started.elapsed().as_secs_f64()))
}

/// The limit for Dropbox: a raw `files/download` of the large file.
pub async fn raw_get_dropbox(bench: &Bench) -> Result<(u64, f64)> {
    let http = reqwest::Client::new();
    let started = Instant::now();
    let resp = ctx(
        http.post(format!("{}/2/files/download", bench.dropbox_url()))
            .bearer_auth(DROPBOX_TOKEN)
            .header("Dropbox-API-Arg", format!(r#"{{"path":"{FILE}"}}"#))
            .send()
            .await,
        "raw GET of the Dropbox file",
    )?;
    drain(resp, started, "raw GET of the Dropbox file").await
}

/// The limit for Content Server: a raw `GET /api/v2/nodes/{node}/content` (after a login).
pub async fn raw_get_cs(bench: &Bench, node: i64) -> Result<(u64, f64)> {
    let http = reqwest::Client::new();
    let auth = ctx(
        ctx(
            http.post(format!("{}/api/v1/auth", bench.cs_url()))
                .form(&[("username", "admin"), ("password", "admin")])
                .send()
                .await,
            "CS login",
        )?
        .bytes()
        .await,
        "CS login answer",
    )?;
    let auth: serde_json::Value = ctx(serde_json::from_slice(&auth), "CS login answer: JSON")?;
    let ticket = auth["ticket"].as_str().ok_or("CS login: no ticket")?;
    let started = Instant::now();
    let resp = ctx(
        http.get(format!("{}/api/v2/nodes/{node}/content", bench.cs_url()))
            .header("OTCSTicket", ticket)
            .send()
            .await,
        "raw GET of the CS document",
    )?;
    drain(resp, started, "raw GET of the CS document").await
}

/// Runs `exe transfer <args>` and reads the [`Transfer`] it reports.
pub async fn child(exe: &Path, args: &[String]) -> Result<Transfer> {
    crate::run_child(exe, "transfer", args).await
}

/// In the child: the large file Dropbox → CS through `archive_on_approval` (no governance, no
/// marking: the bytes are what is measured).
pub async fn dropbox_to_cs(dropbox_url: &str, cs_url: &str, state: &Path) -> Result<Transfer> {
    let cs = cs_client(cs_url)?;
    let store = ctx(SqliteStore::open(state), "opening the state store")?;
    let flow = ctx(
        ArchiveOnApproval::new(dropbox_client(dropbox_url)?, cs.clone(), Arc::new(store))
            .source_root(SOURCE_ROOT)
            .approval(Approval::default().folder("**/Approved"))
            .cs_folder(None, "Large")
            .marking(Marking::default())
            .concurrency(1)
            .build(),
        "building the large-file flow",
    )?;
    let (report, secs) = timed(&flow).await?;
    let node = report
        .written
        .first()
        .and_then(|w| w.target.as_ref())
        .and_then(|t| t.node_id())
        .ok_or("Dropbox → CS: nothing written")?;
    let folder = ctx(
        cs.nodes().get(node).send().await,
        "reading the written node",
    )?
    .parent_id
    .ok_or("the written node has no parent")?;
    Ok(Transfer {
        bytes: report.bytes,
        secs,
        peak_rss_kib: crate::peak_rss_kib().unwrap_or(0),
        node,
        folder,
    })
}

/// In the child: every document of CS `folder` (the large file) → Dropbox `/Published`.
pub async fn cs_to_dropbox(
    dropbox_url: &str,
    cs_url: &str,
    folder: i64,
    state: &Path,
) -> Result<Transfer> {
    let store = ctx(SqliteStore::open(state), "opening the state store")?;
    let flow = ctx(
        Flow::builder("publish_large")
            .source(CsSource::new(cs_client(cs_url)?, folder))
            .sink(DropboxSink::new(
                dropbox_client(dropbox_url)?,
                Some("/Published"),
            ))
            .state(Arc::new(store))
            .concurrency(1)
            .build(),
        "building the publish flow",
    )?;
    let (report, secs) = timed(&flow).await?;
    let node = report
        .written
        .first()
        .and_then(|w| w.source.node_id())
        .ok_or("CS → Dropbox: nothing written")?;
    Ok(Transfer {
        bytes: report.bytes,
        secs,
        peak_rss_kib: crate::peak_rss_kib().unwrap_or(0),
        node,
        folder,
    })
}

/// In the child: the same transfer as [`dropbox_to_cs`] done by a script around the two SDKs
/// (the baseline): the download's stream handed straight to the create, into CS folder
/// `Large-script`, checked only as the SDKs check (the Dropbox client hashes the download).
pub async fn script_dropbox_to_cs(dropbox_url: &str, cs_url: &str) -> Result<Transfer> {
    let (dropbox, cs) = (dropbox_client(dropbox_url)?, cs_client(cs_url)?);
    let ews = ctx(cs.nodes().enterprise_workspace().await, "EWS")?;
    let folder = ctx(
        cs.nodes()
            .create_folder(ews.id, "Large-script")
            .send()
            .await,
        "creating the script's folder",
    )?;
    let started = Instant::now();
    let download = ctx(dropbox.files().download(FILE).await, "script: download")?;
    let size = download.metadata.size;
    let body = download
        .into_stream()
        .map(|r| r.map_err(std::io::Error::other));
    let node = ctx(
        cs.documents()
            .create(
                folder.id,
                "large.bin",
                contentserver_client::UploadBody::one_shot(size, body),
            )
            .send()
            .await,
        "script: create",
    )?;
    Ok(Transfer {
        bytes: size,
        secs: started.elapsed().as_secs_f64(),
        peak_rss_kib: crate::peak_rss_kib().unwrap_or(0),
        node: node.id,
        folder: folder.id,
    })
}

/// In the child: the same transfer as [`cs_to_dropbox`] done by a script around the two SDKs:
/// document `node`'s content stream handed straight to the Dropbox upload (which hashes it).
pub async fn script_cs_to_dropbox(dropbox_url: &str, cs_url: &str, node: i64) -> Result<Transfer> {
    let (dropbox, cs) = (dropbox_client(dropbox_url)?, cs_client(cs_url)?);
    let started = Instant::now();
    let download = ctx(
        cs.documents().download(node).send().await,
        "script: download",
    )?;
    let body = download
        .into_stream()
        .map(|r| r.map_err(std::io::Error::other));
    let meta = ctx(
        dropbox
            .files()
            .upload(
                CommitInfo::new("/Published-script/large.bin").mode(WriteMode::Overwrite),
                body,
            )
            .await,
        "script: upload",
    )?;
    Ok(Transfer {
        bytes: meta.size,
        secs: started.elapsed().as_secs_f64(),
        peak_rss_kib: crate::peak_rss_kib().unwrap_or(0),
        node,
        folder: 0,
    })
}

async fn timed(flow: &Flow) -> Result<(ecm_bridge::runner::Report, f64)> {
    let started = Instant::now();
    let report = ctx(flow.run_once().await, format!("flow {}", flow.name()))?;
    let secs = started.elapsed().as_secs_f64();
    if report.written.len() != 1 || !report.failed.is_empty() {
        return Err(format!(
            "flow {}: {} written, {} failed (first: {:?})",
            flow.name(),
            report.written.len(),
            report.failed.len(),
            report.failed.first().map(|f| f.error.clone())
        )
        .into());
    }
    Ok((report, secs))
}
