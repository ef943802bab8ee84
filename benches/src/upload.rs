//! Upload leg: small files into the Dropbox sandbox through `dropbox-client`, as single
//! `files/upload` calls and as batched sessions (`upload_session/start` per file with its
//! bytes, one `finish_batch_v2` per batch).

use std::time::Instant;

use bytes::Bytes;
use dropbox_client::models::files::{CommitInfo, WriteMode};
use futures::{stream, StreamExt, TryStreamExt};

use crate::archive::Run;
use crate::env::Bench;
use crate::{ctx, Result};

/// How the files go up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One `files/upload` per file, `concurrency` at once.
    Single,
    /// The files split into `concurrency` batches uploaded at once, each through
    /// `Files::upload_batch` (a session per file, one `finish_batch_v2` per batch).
    Batched,
}

impl Mode {
    /// The mode's name in the table.
    pub fn label(self) -> &'static str {
        match self {
            Mode::Single => "single uploads",
            Mode::Batched => "batched sessions",
        }
    }
}

/// Uploads `files` files of `size` bytes into a folder of their own and counts the requests.
pub async fn run(
    bench: &Bench,
    mode: Mode,
    concurrency: usize,
    files: usize,
    size: usize,
) -> Result<Run> {
    let dropbox = bench.dropbox()?;
    let body = Bytes::from(crate::micro::pattern(size));
    let dir = format!(
        "/Upload/{}-c{concurrency}",
        if mode == Mode::Single {
            "single"
        } else {
            "batch"
        }
    );
    let commit = |i: usize| CommitInfo::new(format!("{dir}/f-{i:05}.bin")).mode(WriteMode::Add);
    bench.reset_stats().await?;
    let started = Instant::now();
    let uploaded = match mode {
        Mode::Single => stream::iter(0..files)
            .map(|i| {
                let (dropbox, body, commit) = (dropbox.clone(), body.clone(), commit(i));
                async move {
                    ctx(
                        dropbox.files().upload_bytes(commit, body).await,
                        "files/upload",
                    )
                }
            })
            .buffer_unordered(concurrency)
            .try_collect::<Vec<_>>()
            .await?
            .len(),
        Mode::Batched => {
            let per = files.div_ceil(concurrency).max(1);
            let batches: Vec<Vec<usize>> = (0..files)
                .collect::<Vec<_>>()
                .chunks(per)
                .map(<[usize]>::to_vec)
                .collect();
            let results = futures::future::try_join_all(batches.into_iter().map(|batch| {
                let items: Vec<_> = batch
                    .into_iter()
                    .map(|i| {
                        let piece = body.clone();
                        (
                            commit(i),
                            stream::once(async move { Ok::<_, std::io::Error>(piece) }),
                        )
                    })
                    .collect();
                let dropbox = dropbox.clone();
                async move { ctx(dropbox.files().upload_batch(items).await, "upload_batch") }
            }))
            .await?;
            let mut n = 0;
            for r in results.into_iter().flatten() {
                ctx(r, "a batch entry")?;
                n += 1;
            }
            n
        }
    };
    let elapsed = started.elapsed();
    let counts = bench.stats().await?;
    if uploaded != files {
        return Err(format!("{}: {uploaded} of {files} uploaded", mode.label()).into());
    }
    Ok(Run {
        files,
        elapsed,
        counts,
        // Not reported for the upload leg.
        cpu_secs: None,
    })
}
