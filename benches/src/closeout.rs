//! Project closeout of a large tree: a Dropbox project folder of many small files (seeded in
//! one request through the sandbox's `POST /__sandbox/bulk_files`, in the first account's
//! home namespace) closed out into a CS folder by `project_closeout`: written, proven against
//! Dropbox's listing, manifest filed, folder moved. Each closeout is a child process (the
//! harness re-invoked with `closeout-run …`) so the peak RSS it reports is the closeout's
//! alone. Run at two sizes, it shows whether memory follows the tree or the concurrency.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use ecm_bridge::flows::project_closeout::{Closeout, CloseoutConfig, ProjectCloseout};
use ecm_bridge::state::SqliteStore;
use serde::{Deserialize, Serialize};

use crate::env::{cs_client, dropbox_client, Bench};
use crate::{ctx, Result};

/// The home namespace of the sandbox's first account (the one `DROPBOX_TOKEN` is).
const HOME_NS: u64 = 1001;
/// Files per folder of the seeded tree.
const PER_FOLDER: usize = 1000;
/// Bytes per seeded file.
const SIZE: usize = 64;

/// The project folder of a closeout of `files` files (one per size, so runs do not meet).
pub fn project(files: usize) -> String {
    format!("/Projects/P-{files} Bench Tree")
}

/// What a `closeout-run` child reports on its last line of standard output, as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CloseoutOut {
    /// Files proven (and so written) in CS.
    pub files: u64,
    /// Folders under the CS root.
    pub folders: u64,
    /// Seconds the closeout took (clients built, store opened: excluded).
    pub secs: f64,
    /// The child's peak RSS (`VmHWM`), KiB.
    pub peak_rss_kib: u64,
}

/// Seeds `files` files of [`SIZE`] bytes under [`project`]`(files)` (untimed).
pub async fn seed(bench: &Bench, files: usize) -> Result<()> {
    bench
        .bulk_files(HOME_NS, &project(files), files, PER_FOLDER, SIZE)
        .await
}

/// In the child: one closeout of [`project`]`(files)` into CS `Closed Projects`, on the state
/// file `state`; an error unless it ends proven and moved.
pub async fn run(
    dropbox_url: &str,
    cs_url: &str,
    state: &Path,
    files: usize,
    concurrency: usize,
) -> Result<CloseoutOut> {
    let store = ctx(SqliteStore::open(state), "opening the state store")?;
    let config = ctx(
        CloseoutConfig::from_toml(&format!(
            "project_folder = \"{}\"\nconcurrency = {concurrency}\n[target]\nkind = \"folder\"\npath = \"Closed Projects\"\n",
            project(files)
        )),
        "the bench closeout config",
    )?;
    let closeout = ProjectCloseout::new(
        dropbox_client(dropbox_url)?,
        cs_client(cs_url)?,
        Arc::new(store),
        config,
    );
    let started = Instant::now();
    let done = ctx(closeout.run().await, "closeout run")?;
    let secs = started.elapsed().as_secs_f64();
    let Closeout::Closed { summary, .. } = &done else {
        return Err(format!("closeout of {files} files: {}", done.summary()).into());
    };
    if summary.files != files as u64 {
        return Err(format!("closeout: {} of {files} files proven", summary.files).into());
    }
    Ok(CloseoutOut {
        files: summary.files,
        folders: summary.folders,
        secs,
        peak_rss_kib: crate::peak_rss_kib().unwrap_or(0),
    })
}

/// Runs `exe closeout-run <args>` and reads the [`CloseoutOut`] it reports.
pub async fn child(exe: &Path, args: &[String]) -> Result<CloseoutOut> {
    crate::run_child(exe, "closeout-run", args).await
}
