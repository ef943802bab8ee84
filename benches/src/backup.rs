//! Incremental backup: a team-space folder of many small files (seeded in one request through
//! the sandbox's `POST /__sandbox/bulk_files`) backed up into CS by the `backup` flow, first in
//! full, then after 10 changes (8 edits, a delete, a move). Each run is a child process (the
//! harness re-invoked with `backup-run …`, on one SQLite state file, as cron would run it), so
//! the peak RSS it reports is that of the backup alone and the second run starts from the
//! cursor the first one stored, paying its own logins and team listing.

use std::path::Path;
use std::time::Instant;

use bytes::Bytes;
use dropbox_client::models::common::PathRoot;
use dropbox_client::models::files::{CommitInfo, RelocationArg, WriteMode};
use ecm_bridge::flows::backup::{Backup, BackupConfig};
use ecm_bridge::state::SqliteStore;
use serde::{Deserialize, Serialize};

use crate::env::{cs_client, Bench};
use crate::{ctx, Result};

/// The sandbox's team token (team member file access).
const TEAM_TOKEN: &str = "sandbox-team-token";
/// The team space's namespace id in the sandbox.
const TEAM_NS: u64 = 3000;
/// The backed-up folder of the team space.
pub const ROOT: &str = "/Bench";
/// Files per folder of the seeded tree.
const PER_FOLDER: usize = 1000;
/// Bytes per seeded file.
const SIZE: usize = 64;

/// What a `backup-run` child reports on its last line of standard output, as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupOut {
    /// Files written (new documents and new versions).
    pub written: u64,
    /// CS documents moved.
    pub moved: u64,
    /// Deletions recorded.
    pub removed: u64,
    /// Files listed but unchanged.
    pub unchanged: u64,
    /// Seconds the run took (clients built, store opened: excluded).
    pub secs: f64,
    /// The child's peak RSS (`VmHWM`), KiB.
    pub peak_rss_kib: u64,
}

impl BackupOut {
    /// Files written per second.
    pub fn files_per_sec(&self) -> f64 {
        self.written as f64 / self.secs
    }
}

/// A Dropbox client with the team token (the backup's own).
fn team_client(url: &str) -> Result<dropbox_client::Client> {
    let base = ctx(url.parse(), format!("Dropbox URL {url}"))?;
    ctx(
        dropbox_client::Client::builder()
            .base_url(base)
            .access_token(TEAM_TOKEN)
            .build(),
        "building the team Dropbox client",
    )
}

/// Seeds `files` files of [`SIZE`] bytes under the team space's [`ROOT`] (untimed).
pub async fn seed(bench: &Bench, files: usize) -> Result<()> {
    bench
        .bulk_files(TEAM_NS, ROOT, files, PER_FOLDER, SIZE)
        .await
}

/// The path of seeded file `i` (as `bulk_files` names it).
fn file(i: usize) -> String {
    format!("{ROOT}/d{:05}/f{i:06}.txt", i / PER_FOLDER)
}

/// The 10 changes between the runs, through the team space as Dana (a team admin): 8 files
/// edited, 1 deleted, 1 moved to a new folder. Returns how many changes were made.
pub async fn change(bench: &Bench, files: usize) -> Result<usize> {
    if files < 10 {
        return Err(format!("incremental backup: {files} files, at least 10 needed").into());
    }
    let space = team_client(&bench.dropbox_url())?
        .as_user("dbmid:dana")
        .with_path_root(PathRoot::NamespaceId(TEAM_NS.to_string()));
    let step = files / 10;
    for k in 0..8 {
        let path = file(k * step);
        let body = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(format!(
            "edited {path}\n"
        )))]);
        ctx(
            space
                .files()
                .upload(
                    CommitInfo::new(path.clone()).mode(WriteMode::Overwrite),
                    body,
                )
                .await,
            format!("editing {path}"),
        )?;
    }
    let gone = file(8 * step);
    ctx(
        space.files().delete(gone.clone()).await,
        format!("deleting {gone}"),
    )?;
    let (from, to) = (file(9 * step), format!("{ROOT}/Moved/f{:06}.txt", 9 * step));
    ctx(
        space
            .files()
            .move_entry(RelocationArg::new(from.clone(), to))
            .await,
        format!("moving {from}"),
    )?;
    Ok(10)
}

/// The backup's settings: the team space's [`ROOT`] into CS `Backup-bench`.
fn config(concurrency: usize) -> Result<BackupConfig> {
    ctx(
        BackupConfig::from_toml(&format!(
            "team_space = true\nteam_folders = [\"{ROOT}\"]\ntarget = \"Backup-bench\"\nconcurrency = {concurrency}\n"
        )),
        "the bench backup config",
    )
}

/// In the child: one backup run on the state file `state`.
pub async fn run(
    dropbox_url: &str,
    cs_url: &str,
    state: &Path,
    concurrency: usize,
) -> Result<BackupOut> {
    let store = ctx(SqliteStore::open(state), "opening the state store")?;
    let backup = Backup::new(
        team_client(dropbox_url)?,
        cs_client(cs_url)?,
        std::sync::Arc::new(store),
        config(concurrency)?,
    );
    let started = Instant::now();
    let run = ctx(backup.run().await, "backup run")?;
    let secs = started.elapsed().as_secs_f64();
    let failed: Vec<String> = run
        .roots
        .iter()
        .flat_map(|r| r.error.iter().chain(r.failed.iter()).cloned())
        .collect();
    if !failed.is_empty() || run.roots.iter().any(|r| !r.complete) {
        return Err(format!(
            "backup run {}: {} ({} failure(s), first: {:?})",
            run.id,
            run.summary(),
            failed.len(),
            failed.first()
        )
        .into());
    }
    let (written, moved, removed, unchanged, _) = run.totals();
    Ok(BackupOut {
        written,
        moved,
        removed,
        unchanged,
        secs,
        peak_rss_kib: crate::peak_rss_kib().unwrap_or(0),
    })
}

/// Runs `exe backup-run <args>` and reads the [`BackupOut`] it reports.
pub async fn child(exe: &Path, args: &[String]) -> Result<BackupOut> {
    crate::run_child(exe, "backup-run", args).await
}
