//! [`IntakeSource`]: the intake folders as one change feed, with full paths, and the
//! quarantined files taken up again when the rules change.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use dropbox_client::models::files::{GetMetadataArg, ListFolderArg, Metadata, RelocationArg};
use futures::stream::{self, BoxStream, StreamExt};

use super::quarantine::{fingerprint_of, QuarantineMode};
use crate::connectors::dropbox::DropboxSource;
use crate::error::{Error, Result, Step};
use crate::model::{Checkpoint, DocRef, Document};
use crate::source::{Change, Item, Source};
use crate::state::{fold_path, DocStatus, DocumentStore};

/// `/a/b` (no trailing slash), `""` for the root.
pub(super) fn norm(folder: &str) -> String {
    let t = folder.trim_matches('/');
    if t.is_empty() {
        String::new()
    } else {
        format!("/{t}")
    }
}

/// The deepest folder that holds every one of `folders` (normalised with [`norm`]).
pub(super) fn common_root(folders: &[String]) -> String {
    let mut parts: Option<Vec<String>> = None;
    for f in folders {
        let these: Vec<String> = f
            .trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        parts = Some(match parts {
            None => these,
            Some(p) => p
                .iter()
                .zip(&these)
                .take_while(|(a, b)| a.to_lowercase() == b.to_lowercase())
                .map(|(a, _)| a.clone())
                .collect(),
        });
    }
    norm(&parts.unwrap_or_default().join("/"))
}

/// Whether the folded path `path` (`/a/b.pdf`) lies below the folded folder `folder`.
fn below(path: &str, folder: &str) -> bool {
    folder.is_empty()
        || path
            .strip_prefix(folder)
            .is_some_and(|r| r.starts_with('/'))
}

/// The intake folders as a [`Source`]. Each document's `path` is its full Dropbox path
/// without the leading slash (`Intake/Finance/INV-1.pdf`), so rules match on the folders
/// people see. A file in the Dropbox quarantine folder is shown at the path it came from, so
/// a retried or re-examined quarantined file is decided as the intake file it was.
///
/// At the start of each listing, the quarantined records whose rules fingerprint is not the
/// current one are taken up again: in Dropbox mode their files are moved back to where they
/// came from (the feed then lists them again); in CS mode (the file never left the intake)
/// they are fetched and put at the head of the feed. In a dry run nothing is moved: they are
/// fetched instead.
pub struct IntakeSource {
    pub(super) flow: String,
    pub(super) client: dropbox_client::Client,
    /// Lists the common root of the intake folders.
    pub(super) lister: DropboxSource,
    /// Reads any file by id (root `""`).
    pub(super) fetcher: DropboxSource,
    /// Folded intake folders.
    pub(super) intake: Vec<String>,
    pub(super) mode: QuarantineMode,
    pub(super) store: Arc<dyn DocumentStore>,
    pub(super) fingerprint: String,
    pub(super) dry_run: bool,
    /// Whether [`Source::wake`] long-polls Dropbox (else only webhooks wake the flow).
    pub(super) longpoll: bool,
    /// Moved at the start of every listing: what the filing sink read of CS folders in an
    /// earlier run is read again.
    pub(super) epoch: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for IntakeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntakeSource")
            .field("intake", &self.intake)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl IntakeSource {
    /// The document as the flow sees it: full path; `None` when it is neither in an intake
    /// folder nor in the Dropbox quarantine.
    pub(super) fn rewrite(&self, mut doc: Document) -> Option<Document> {
        let full = doc
            .context
            .full_path
            .clone()
            .unwrap_or_else(|| format!("/{}", doc.path));
        let folded = fold_path(&full);
        let path = if self.intake.iter().any(|i| below(&folded, i)) {
            full
        } else {
            match &self.mode {
                QuarantineMode::Dropbox(q) if below(&folded, &fold_path(q)) => {
                    // The display path minus the quarantine folder's components.
                    let depth = q.trim_matches('/').split('/').count();
                    let rest: Vec<&str> = full
                        .trim_start_matches('/')
                        .split('/')
                        .skip(depth)
                        .collect();
                    let original = format!("/{}", rest.join("/"));
                    if !self.intake.iter().any(|i| below(&fold_path(&original), i)) {
                        return None;
                    }
                    original
                }
                _ => return None,
            }
        };
        doc.path = path.trim_start_matches('/').to_owned();
        Some(doc)
    }

    /// Whether the folded full path lies in an intake folder.
    fn in_intake(&self, full: &str) -> bool {
        let f = fold_path(full);
        self.intake.iter().any(|i| below(&f, i))
    }

    /// The quarantined records: their folded paths, those whose fingerprint is not the
    /// current one, and the keys of those whose fingerprint is.
    async fn quarantined(&self) -> Result<(Vec<String>, Vec<DocRef>, HashSet<String>)> {
        let records = self
            .store
            .records_by_status(&self.flow, DocStatus::Quarantined)
            .await?;
        let mut paths = Vec::new();
        let mut stale = Vec::new();
        let mut current = HashSet::new();
        for r in records {
            if let Some(p) = &r.path {
                paths.push(fold_path(&format!("/{p}")));
            }
            let fp = r.last_error.as_deref().and_then(fingerprint_of);
            if fp == Some(self.fingerprint.as_str()) {
                current.insert(r.source.key());
            } else {
                stale.push(r.source.unversioned());
            }
        }
        Ok((paths, stale, current))
    }

    /// Files in the Dropbox quarantine folder that no record holds as quarantined under the
    /// current rules: moved there by a run that stopped before its record (or put there by
    /// hand). Read by id, they are decided again, so none stays there unrecorded.
    async fn unrecorded(&self, quarantine: &str, current: &HashSet<String>) -> Result<Vec<DocRef>> {
        let arg = ListFolderArg::new(quarantine.to_owned()).recursive(true);
        let mut entries = self.client.files().list_folder(arg).into_stream();
        let mut out = Vec::new();
        while let Some(entry) = entries.next().await {
            match entry {
                Ok(Metadata::File(f)) => {
                    let id = DocRef::dropbox(&f.id, &f.rev);
                    if !current.contains(&id.key()) {
                        out.push(id.unversioned());
                    }
                }
                Ok(_) => {}
                // No quarantine folder yet: nothing was quarantined.
                Err(e) if e.kind() == dropbox_client::ErrorKind::NotFound => break,
                Err(e) => return Err(Error::dropbox(quarantine, Step::List, e)),
            }
        }
        Ok(out)
    }

    /// Moves a quarantined file back to where it came from; `false` when it is not in the
    /// quarantine folder (any more).
    async fn move_back(&self, id: &DocRef, quarantine: &str) -> Result<bool> {
        let files = self.client.files();
        let meta = match files.get_metadata(GetMetadataArg::new(id.id.clone())).await {
            Ok(Metadata::File(f)) => f,
            Ok(_) => return Ok(false),
            Err(e) if e.kind() == dropbox_client::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(Error::dropbox(id.to_string(), Step::List, e)),
        };
        let Some(display_path) = meta.path_display.clone() else {
            return Ok(false);
        };
        let folded = fold_path(&display_path);
        let q = fold_path(quarantine);
        if !below(&folded, &q) {
            return Ok(false);
        }
        let depth = quarantine.trim_matches('/').split('/').count();
        let rest: Vec<&str> = display_path
            .trim_start_matches('/')
            .split('/')
            .skip(depth)
            .collect();
        let original = format!("/{}", rest.join("/"));
        if !self.in_intake(&original) {
            return Ok(false);
        }
        tracing::info!(flow = %self.flow, from = %display_path, to = %original, "rules changed; quarantined file taken up again");
        files
            .move_entry(RelocationArg::new(id.id.clone(), original.clone()).autorename(true))
            .await
            .map_err(|e| Error::dropbox(display_path, Step::Mark, e))?;
        Ok(true)
    }
}

#[async_trait]
impl Source for IntakeSource {
    async fn changes(&self, since: Option<Checkpoint>) -> Result<BoxStream<'static, Result<Item>>> {
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let (quarantined, stale, current) = self.quarantined().await?;
        let mut head = Vec::new();
        for id in &stale {
            match (&self.mode, self.dry_run) {
                (QuarantineMode::Dropbox(q), false) => {
                    if let Err(e) = self.move_back(id, q).await {
                        // The record keeps its old fingerprint: the next run tries again.
                        tracing::warn!(flow = %self.flow, doc = %id, error = %e.chain(), "could not move a quarantined file back");
                    }
                }
                _ => {
                    if let Some(doc) = self.fetch(id).await? {
                        head.push(Ok(Item::upsert(doc)));
                    }
                }
            }
        }
        if let QuarantineMode::Dropbox(q) = &self.mode {
            let mut seen: HashSet<String> = stale.iter().map(DocRef::key).collect();
            for id in self.unrecorded(q, &current).await? {
                if !seen.insert(id.key()) {
                    continue;
                }
                if let Some(doc) = self.fetch(&id).await? {
                    tracing::info!(flow = %self.flow, doc = %doc.path, "in the quarantine folder without a record; decided again");
                    head.push(Ok(Item::upsert(doc)));
                }
            }
        }
        let gone: HashSet<String> = quarantined.into_iter().collect();
        let feed = self.lister.changes(since).await?;
        let this = IntakeView {
            root: self.lister.root().to_owned(),
            intake: self.intake.clone(),
            gone,
        };
        let rewritten = feed.map(move |item| {
            let mut item = item?;
            item.change = match item.change {
                Change::Upsert(doc) => match this.rewrite(*doc) {
                    Some(d) => Change::Upsert(Box::new(d)),
                    None => Change::Nothing,
                },
                Change::Deleted { path } => {
                    let display = format!("{}/{}", this.root, path.trim_start_matches('/'));
                    let full = fold_path(&display);
                    if this.intake.iter().any(|i| below(&full, i)) && !this.gone.contains(&full) {
                        Change::Deleted {
                            path: display.trim_start_matches('/').to_owned(),
                        }
                    } else {
                        Change::Nothing
                    }
                }
                other => other,
            };
            Ok(item)
        });
        Ok(stream::iter(head).chain(rewritten).boxed())
    }

    async fn fetch(&self, id: &DocRef) -> Result<Option<Document>> {
        Ok(self.fetcher.fetch(id).await?.and_then(|d| self.rewrite(d)))
    }

    async fn recheck(&self, ids: &[DocRef]) -> Result<Vec<Option<Document>>> {
        Ok(self
            .fetcher
            .recheck(ids)
            .await?
            .into_iter()
            .map(|d| d.and_then(|d| self.rewrite(d)))
            .collect())
    }

    async fn wake(&self) -> Option<BoxStream<'static, ()>> {
        if self.longpoll {
            self.lister.wake().await
        } else {
            None
        }
    }
}

/// What the feed's mapping needs of the source (owned, for a `'static` stream).
struct IntakeView {
    /// The lister's root (`""` or `/a`): deleted paths are relative to it.
    root: String,
    intake: Vec<String>,
    /// Folded full paths of quarantined files: their deletion at the intake is the move into
    /// the quarantine, not news.
    gone: HashSet<String>,
}

impl IntakeView {
    fn rewrite(&self, mut doc: Document) -> Option<Document> {
        let full = doc.context.full_path.clone()?;
        let folded = fold_path(&full);
        if !self.intake.iter().any(|i| below(&folded, i)) {
            // Files of the quarantine folder (or anything else under the common root) are not
            // listed: quarantined ones come back through the records.
            return None;
        }
        doc.path = full.trim_start_matches('/').to_owned();
        Some(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_roots_and_containment() {
        assert_eq!(
            common_root(&["/Intake/Finance".into(), "/intake/Projects/".into()]),
            "/Intake"
        );
        assert_eq!(common_root(&["/A/B".into()]), "/A/B");
        assert_eq!(common_root(&["/A".into(), "/B".into()]), "");
        assert!(below("/intake/a/x.pdf", "/intake/a"));
        assert!(!below("/intake/ab/x.pdf", "/intake/a"));
        assert!(below("/x", ""));
        assert_eq!(norm("Intake/"), "/Intake");
        assert_eq!(norm("/"), "");
    }
}

#[cfg(test)]
mod rewrite_tests {
    use super::*;
    use crate::model::{Body, DocRef};
    use crate::state::MemoryStore;

    fn source(mode: QuarantineMode) -> IntakeSource {
        let client = dropbox_client::Client::new("offline").unwrap();
        IntakeSource {
            flow: "f".into(),
            client: client.clone(),
            lister: DropboxSource::new(client.clone(), "/Intake"),
            fetcher: DropboxSource::new(client, ""),
            intake: vec!["/intake/finance".into(), "/intake/projects".into()],
            mode,
            store: Arc::new(MemoryStore::new()),
            fingerprint: "fp".into(),
            dry_run: false,
            longpoll: false,
            epoch: Arc::default(),
        }
    }

    fn doc(full: &str) -> Document {
        let mut d = Document::new(DocRef::dropbox("id:1", "1"), "x", 1, Body::from_bytes("x"));
        d.context.full_path = Some(full.into());
        d
    }

    #[test]
    fn paths_are_full_and_quarantined_files_show_where_they_came_from() {
        let s = source(QuarantineMode::Dropbox("/Quarantine".into()));
        let d = s.rewrite(doc("/Intake/FINANCE/Scans/a.pdf")).unwrap();
        assert_eq!(d.path, "Intake/FINANCE/Scans/a.pdf");
        let q = s
            .rewrite(doc("/quarantine/Intake/Projects/P-1 x.bin"))
            .unwrap();
        assert_eq!(q.path, "Intake/Projects/P-1 x.bin");
        assert!(s.rewrite(doc("/Intake/HR/a.pdf")).is_none());
        assert!(s.rewrite(doc("/Quarantine/Other/a.pdf")).is_none());
        assert!(s.rewrite(doc("/Intake/Financed/a.pdf")).is_none());
        let cs = source(QuarantineMode::Cs {
            folder: "Quarantine".into(),
            root: None,
        });
        assert!(cs
            .rewrite(doc("/Quarantine/Intake/Finance/a.pdf"))
            .is_none());
    }
}
