//! Restore: a folder or a file brought back into Dropbox from the backup's CS documents as it
//! stood after a given backup run (by id, or the last run finished by a time), to its original
//! path (an existing file that differs is replaced only with `overwrite`) or into a new folder.
//!
//! What stood where after a run is the store's view: [`crate::state::DocumentStore::after_run`]
//! of the root's runner run gives each document's version and CS version then (a document
//! deleted by then is absent as `removed`), and the catalogue gives that version's path and
//! content hash. Each file is streamed from its CS version into Dropbox, and the
//! `content_hash` Dropbox answers is compared with the catalogued one.

use chrono::{DateTime, Utc};
use dropbox_client::models::files::{CommitInfo, Metadata, WriteMode};
use dropbox_client::ErrorKind;
use futures::stream::{self, StreamExt, TryStreamExt};

use super::backup::{folder_path, Backup, BackupRoot, RootRun};
use super::backup_catalogue::{entry, CatalogueEntry};
use crate::error::{Error, Result, Step};
use crate::state::{fold_path, DocStatus, RunId};

/// Which run to restore from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestorePoint {
    /// The backup run with this id ([`super::backup::BackupRun::id`]).
    Run(RunId),
    /// The last backup run that finished at or before this time.
    Time(DateTime<Utc>),
}

/// Where restored files go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreTo {
    /// Their own paths. A file there with other bytes is kept unless `overwrite` (then it is
    /// replaced at the rev it was seen with, so a change made meanwhile is never lost).
    Original {
        /// Replace files that differ.
        overwrite: bool,
    },
    /// A folder (in the same space) that receives the restored folder or file by its name.
    Folder(String),
}

/// What to restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreRequest {
    /// [`super::backup::TEAM_SPACE`] or the member's e-mail address.
    pub space: String,
    /// A folder or a file in that space (`/Marketing/Campaign 2026`).
    pub path: String,
    /// From which run.
    pub at: RestorePoint,
    /// To where.
    pub to: RestoreTo,
}

/// One file restored (or found as it was).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoredFile {
    /// The Dropbox path it is at now.
    pub path: String,
    /// Its content hash, as catalogued and as Dropbox answered.
    pub hash: String,
    /// Its size.
    pub size: u64,
    /// `false`: the same bytes were there already, nothing written.
    pub written: bool,
}

/// What a restore did.
#[derive(Debug, Clone, Default)]
pub struct Restored {
    /// The backup run restored from.
    pub run: RunId,
    /// Files restored and verified, by path.
    pub files: Vec<RestoredFile>,
    /// Files not replaced: something else is at their path (no `overwrite`).
    pub kept: Vec<String>,
    /// Files that could not be restored or verified, with why.
    pub failed: Vec<String>,
}

impl Restored {
    /// One paragraph for people.
    pub fn summary(&self) -> String {
        let written = self.files.iter().filter(|f| f.written).count();
        let mut s = format!(
            "restored from backup run {}: {} file(s) verified by hash ({written} written, {} already as they were), {} kept (differ; no overwrite), {} failed",
            self.run,
            self.files.len(),
            self.files.len() - written,
            self.kept.len(),
            self.failed.len()
        );
        for k in &self.kept {
            s.push_str(&format!("\n  kept {k}"));
        }
        for f in &self.failed {
            s.push_str(&format!("\n  FAILED {f}"));
        }
        s
    }
}

impl Backup {
    /// Restores `req` (see [`RestoreRequest`]). Errors when the run or the path is not in the
    /// backup; a file that fails is in [`Restored::failed`].
    pub async fn restore(&self, req: &RestoreRequest) -> Result<Restored> {
        let (run, roots) = self.backup_run(req.at).await?;
        let path = folder_path(&req.path);
        let space = req.space.to_lowercase();
        let root = roots
            .iter()
            .filter(|r| r.space == space && r.run.is_some())
            .filter(|r| r.folder.is_empty() || under(&path, &r.folder))
            .max_by_key(|r| r.folder.len())
            .ok_or_else(|| {
                Error::Config(format!("restore: {space}{path} is not in backup run {run}"))
            })?;
        let sub_run = root.run.unwrap_or_default();
        let client = self
            .roots()
            .await?
            .into_iter()
            .find(|r| r.flow == root.flow)
            .ok_or_else(|| {
                Error::Config(format!(
                    "restore: {} is no longer configured for backup",
                    root.flow
                ))
            })?;
        // `rel`: the restored item relative to the root; `parent`: what is cut off for a new
        // folder (the item keeps its own name there).
        // Cut by length: `path` is below `root.folder` as folded paths (a casing whose byte
        // length differs falls back to the whole path, which is then not found).
        let rel = path
            .get(root.folder.len()..)
            .unwrap_or(&path)
            .trim_start_matches('/')
            .to_owned();
        let parent = rel
            .rsplit_once('/')
            .map(|(p, _)| p.to_owned())
            .unwrap_or_default();
        let mut wanted = Vec::new();
        for e in self.state.after_run(&root.flow, sub_run).await? {
            if e.status == DocStatus::Removed {
                continue;
            }
            let Some(target) = e.target.clone() else {
                continue;
            };
            let version = e.source.version.clone().unwrap_or_default();
            let Some(cat) =
                entry(self.state.as_ref(), &root.flow, &e.source.key(), &version).await?
            else {
                continue;
            };
            if rel.is_empty() || under(&cat.path, &rel) {
                wanted.push((cat, target));
            }
        }
        if wanted.is_empty() {
            return Err(Error::Config(format!(
                "restore: nothing at {space}{path} after backup run {run}"
            )));
        }
        let mut out = Restored {
            run,
            ..Restored::default()
        };
        let dests: Vec<_> = wanted
            .into_iter()
            .map(|(cat, target)| {
                let dest = match &req.to {
                    RestoreTo::Original { .. } => format!("{}/{}", root.folder, cat.path),
                    RestoreTo::Folder(f) => {
                        let tail = if parent.is_empty() {
                            cat.path.as_str()
                        } else {
                            cat.path.get(parent.len() + 1..).unwrap_or(&cat.path)
                        };
                        format!("{}/{tail}", folder_path(f))
                    }
                };
                (cat, target, dest)
            })
            .collect();
        let overwrite = matches!(req.to, RestoreTo::Original { overwrite: true });
        let mut results = stream::iter(dests)
            .map(|(cat, target, dest)| {
                let client = &client;
                async move {
                    let r = self
                        .restore_file(client, &cat, &target, &dest, overwrite)
                        .await;
                    (dest, r)
                }
            })
            .buffer_unordered(self.config.concurrency);
        while let Some((dest, r)) = results.next().await {
            match r {
                Ok(Some(f)) => out.files.push(f),
                Ok(None) => out.kept.push(dest),
                Err(e) => out.failed.push(format!("{dest}: {}", e.chain())),
            }
        }
        out.files.sort_by(|a, b| a.path.cmp(&b.path));
        out.kept.sort();
        out.failed.sort();
        Ok(out)
    }

    /// The backup run `at` names and its roots, from the store's run records.
    async fn backup_run(&self, at: RestorePoint) -> Result<(RunId, Vec<RootRun>)> {
        let runs = self.state.runs(&self.config.name).await?;
        let run = match at {
            RestorePoint::Run(id) => runs.into_iter().find(|r| r.id == id),
            RestorePoint::Time(t) => runs
                .into_iter()
                .filter(|r| r.finished.is_some_and(|f| f <= t))
                .max_by_key(|r| (r.finished, r.id)),
        }
        .ok_or_else(|| Error::Config(format!("restore: no backup run {at:?}")))?;
        let report = run.report.ok_or_else(|| {
            Error::Config(format!("restore: backup run {} did not finish", run.id))
        })?;
        let roots: Vec<RootRun> = serde_json::from_value(report["roots"].clone())
            .map_err(|e| Error::State(format!("backup run {}: roots: {e}", run.id)))?;
        Ok((run.id, roots))
    }

    /// Restores one file; `None` when another file is at `dest` and may not be replaced.
    async fn restore_file(
        &self,
        root: &BackupRoot,
        cat: &CatalogueEntry,
        target: &crate::model::DocRef,
        dest: &str,
        overwrite: bool,
    ) -> Result<Option<RestoredFile>> {
        let files = root.client.files();
        let expected = cat.hash.clone().unwrap_or_default();
        let mode = match files.get_metadata(dest).await {
            Ok(Metadata::File(f)) if f.content_hash.as_deref() == Some(expected.as_str()) => {
                return Ok(Some(RestoredFile {
                    path: dest.to_owned(),
                    hash: expected,
                    size: f.size,
                    written: false,
                }));
            }
            Ok(Metadata::File(f)) if overwrite => WriteMode::Update(f.rev),
            Ok(Metadata::File(_)) => return Ok(None),
            Ok(_) => {
                return Err(Error::Config(format!(
                    "{dest}: a folder is there; not replaced"
                )))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => WriteMode::Add,
            Err(e) => return Err(Error::dropbox(dest, Step::Locate, e)),
        };
        let node: i64 = target
            .id
            .parse()
            .map_err(|_| Error::State(format!("{dest}: CS target {target} is not a node id")))?;
        let mut download = self.cs.documents().download(node);
        if let Some(v) = target.version.as_deref().and_then(|v| v.parse().ok()) {
            download = download.version(v);
        }
        let body = download
            .send()
            .await
            .map_err(|e| Error::cs(dest, Step::Read, e))?
            .into_stream()
            .map_err(std::io::Error::other);
        let meta = files
            .upload(CommitInfo::new(dest).mode(mode), body)
            .await
            .map_err(|e| Error::dropbox(dest, Step::Write, e))?;
        let got = meta.content_hash.unwrap_or_default();
        if got != expected {
            return Err(Error::Verify {
                doc: dest.to_owned(),
                expected,
                actual: got,
            });
        }
        Ok(Some(RestoredFile {
            path: dest.to_owned(),
            hash: got,
            size: meta.size,
            written: true,
        }))
    }
}

/// Whether `path` is `base` or below it (both folded; `base` without a trailing `/`).
fn under(path: &str, base: &str) -> bool {
    let (p, b) = (fold_path(path), fold_path(base));
    p == b || p.strip_prefix(&b).is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_compares_folded_and_by_whole_names() {
        assert!(under(
            "Marketing/Campaign 2026/a.pdf",
            "marketing/campaign 2026"
        ));
        assert!(under("/Legal", "/legal"));
        assert!(!under(
            "Marketing/Campaign 2026b/a.pdf",
            "Marketing/Campaign 2026"
        ));
    }
}
