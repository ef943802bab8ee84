//! [`DropboxSink`]: uploads into Dropbox folders, with an optional shared link.

use async_trait::async_trait;
use dropbox_client::models::files::{CommitInfo, DeleteArg, Metadata, RelocationArg, WriteMode};
use dropbox_client::models::sharing::{LinkAudience, ListSharedLinksArg, SharedLinkSettings};
use dropbox_client::Client;

use super::{is_not_found, normalize_root};
use crate::error::{Error, Result, Step};
use crate::model::{ContentHash, DocRef, Document, HashKind, Location};
use crate::sink::{Receipt, RemovalPolicy, Sink, WriteAction, WriteContext};
use crate::verify::{self, HashKinds, VerifiedSlot};

/// Writes documents into Dropbox folders (use case 2: publish CS documents), with an optional
/// shared link ([`crate::model::ShareSettings`]).
///
/// A new source version replaces the file only if it is still at the rev this flow wrote
/// (`update` mode); a file of another origin at the path is a conflict, never overwritten.
/// An earlier write is found again by its content hash.
#[derive(Debug, Clone)]
pub struct DropboxSink {
    client: Client,
    default_folder: Option<String>,
}

impl DropboxSink {
    /// A sink writing into the document's [`Location::Dropbox`] target, or `default_folder`.
    pub fn new(client: Client, default_folder: Option<&str>) -> Self {
        DropboxSink {
            client,
            default_folder: default_folder.map(normalize_root),
        }
    }

    fn path_of(&self, doc: &Document) -> Result<String> {
        let folder = match &doc.governance.target {
            Some(Location::Dropbox(p)) => normalize_root(p),
            Some(other) => {
                return Err(Error::governance(
                    doc.path.clone(),
                    Step::Locate,
                    format!("a Dropbox sink cannot write to {other}"),
                ))
            }
            None => self.default_folder.clone().ok_or_else(|| {
                Error::governance(doc.path.clone(), Step::Locate, "no Dropbox target folder")
            })?,
        };
        Ok(format!("{folder}/{}", doc.target_name()))
    }

    async fn share(&self, doc: &Document, path: &str) -> Result<()> {
        let Some(share) = &doc.governance.share else {
            return Ok(());
        };
        if share.link {
            let mut settings = SharedLinkSettings {
                expires: share.expires,
                allow_download: share.allow_download,
                ..SharedLinkSettings::default()
            };
            if let Some(a) = &share.audience {
                let audience: LinkAudience = serde_json::from_value(serde_json::json!({".tag": a}))
                    .ok()
                    .filter(|a| {
                        matches!(
                            a,
                            LinkAudience::Public | LinkAudience::Team | LinkAudience::NoOne
                        )
                    })
                    .ok_or_else(|| {
                        Error::governance(
                            doc.path.clone(),
                            Step::Share,
                            format!("unknown link audience {a:?} (public, team or no_one)"),
                        )
                    })?;
                settings.audience = Some(audience);
            }
            let settings = (settings != SharedLinkSettings::default()).then_some(settings);
            let sharing = self.client.sharing();
            match sharing
                .create_shared_link_with_settings(path, settings)
                .await
            {
                Ok(_) => {}
                Err(e)
                    if e.api()
                        .is_some_and(|a| a.has_tag("shared_link_already_exists")) => {}
                Err(e) => return Err(Error::dropbox(doc.path.clone(), Step::Share, e)),
            }
        }
        Ok(())
    }
}

impl DropboxSink {
    /// The mode for a write whose earlier attempt may have landed unrecorded: a file at the
    /// target path is then this sink's own earlier write (of this or an older source version)
    /// and is replaced by its rev, so a change made there since is not overwritten; otherwise
    /// the file is added. Before, it was added, which failed on `path/conflict` on every run.
    async fn own_earlier_write(&self, doc: &Document, path: &str) -> Result<WriteMode> {
        match self.client.files().get_metadata(path.to_owned()).await {
            Ok(Metadata::File(f)) => {
                tracing::info!(doc = %doc.path, path, rev = %f.rev, "replacing this sink's unrecorded earlier write");
                Ok(WriteMode::Update(f.rev))
            }
            Ok(_) => Ok(WriteMode::Add),
            Err(e) if is_not_found(&e) => Ok(WriteMode::Add),
            Err(e) => Err(Error::dropbox(doc.path.clone(), Step::Write, e)),
        }
    }
}

impl DropboxSink {
    /// Revokes the shared links to the file itself (the sink's `share` makes them).
    async fn revoke_links(&self, id: &str, what: &str) -> Result<()> {
        use futures::stream::TryStreamExt;
        let sharing = self.client.sharing();
        let arg = ListSharedLinksArg {
            path: Some(id.to_owned()),
            cursor: None,
            direct_only: Some(true),
        };
        let links: Vec<_> = match sharing
            .list_shared_links(arg)
            .into_stream()
            .try_collect()
            .await
        {
            Ok(l) => l,
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(Error::dropbox(what.to_owned(), Step::Remove, e)),
        };
        for link in links {
            match sharing.revoke_shared_link(link.url().to_owned()).await {
                Ok(()) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(Error::dropbox(what.to_owned(), Step::Remove, e)),
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Sink for DropboxSink {
    async fn write(&self, doc: &Document, ctx: &WriteContext) -> Result<Receipt> {
        let path = self.path_of(doc)?;
        let mode = match ctx.previous.as_ref().and_then(|p| p.version.clone()) {
            Some(rev) => WriteMode::Update(rev),
            None if ctx.in_doubt => self.own_earlier_write(doc, &path).await?,
            None => WriteMode::Add,
        };
        let slot = VerifiedSlot::default();
        // Only the source's own kind of hash is computed here: the client computes the
        // Dropbox content hash as it uploads and fails on a server hash that differs.
        let body = verify::verified(
            doc.body.open().await?,
            doc.path.clone(),
            doc.size,
            doc.hash.clone(),
            HashKinds::NONE,
            slot.clone(),
        );
        let meta = self
            .client
            .files()
            .upload(CommitInfo::new(path.clone()).mode(mode), body)
            .await
            .map_err(|e| Error::dropbox(doc.path.clone(), Step::Write, e))?;
        let sent = slot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| Error::Verify {
                doc: doc.path.clone(),
                expected: format!("{} bytes", doc.size),
                actual: "an incomplete upload".into(),
            })?;
        if let (Some(ours), Some(theirs)) = (&sent.dropbox, &meta.content_hash) {
            if ours != theirs {
                return Err(Error::Verify {
                    doc: doc.path.clone(),
                    expected: ContentHash::dropbox(ours.clone()).to_string(),
                    actual: ContentHash::dropbox(theirs.clone()).to_string(),
                });
            }
        }
        let mut sent_hashes = sent.hashes();
        if sent.dropbox.is_none() {
            // The client hashed what it sent and compared it with this one.
            sent_hashes.extend(meta.content_hash.clone().map(ContentHash::dropbox));
        }
        self.share(doc, &path).await?;
        Ok(Receipt {
            target: DocRef::dropbox(meta.id, meta.rev),
            bytes: meta.size,
            sent_hashes,
            action: if ctx.previous.is_some() {
                WriteAction::AddedVersion
            } else {
                WriteAction::Created
            },
            location: meta.path_display.unwrap_or(path),
        })
    }

    async fn find_existing(&self, doc: &Document, _ctx: &WriteContext) -> Result<Option<Receipt>> {
        let path = self.path_of(doc)?;
        let f = match self.client.files().get_metadata(path.clone()).await {
            Ok(Metadata::File(f)) => f,
            Ok(_) => return Ok(None),
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(Error::dropbox(doc.path.clone(), Step::Adopt, e)),
        };
        // Same content → the earlier write landed. Hash the source when it has no Dropbox hash.
        let source_hash = match doc
            .hash
            .as_ref()
            .filter(|h| h.kind == HashKind::DropboxContentHash)
        {
            Some(h) => h.value.clone(),
            None => {
                let s = doc.body.open().await?;
                verify::hash_stream_as(s, HashKinds::NONE.with(HashKind::DropboxContentHash))
                    .await
                    .map_err(|e| verify::io_error(&doc.path, Step::Adopt, e))?
                    .dropbox
                    .unwrap_or_default()
            }
        };
        if f.size != doc.size || f.content_hash.as_deref() != Some(source_hash.as_str()) {
            return Ok(None);
        }
        Ok(Some(Receipt {
            target: DocRef::dropbox(f.id, f.rev),
            bytes: f.size,
            sent_hashes: vec![ContentHash::dropbox(source_hash)],
            action: WriteAction::Adopted,
            location: f.path_display.unwrap_or(path),
        }))
    }

    async fn complete(&self, doc: &Document, receipt: &Receipt, _ctx: &WriteContext) -> Result<()> {
        self.share(doc, &receipt.location).await
    }

    fn describe(&self, doc: &Document) -> String {
        self.path_of(doc)
            .unwrap_or_else(|e| format!("(no target: {e})"))
    }

    fn server(&self) -> &str {
        super::SERVER
    }

    /// [`RemovalPolicy::Revoke`]: the file's shared links are revoked; [`RemovalPolicy::Delete`]:
    /// the file is deleted if it is still at the rev this sink wrote (a change made there since
    /// is a conflict, never deleted); a file already gone is removed.
    async fn remove(&self, target: &DocRef, policy: RemovalPolicy) -> Result<()> {
        let what = target.to_string();
        match policy {
            RemovalPolicy::RecordOnly => Ok(()),
            RemovalPolicy::Revoke => self.revoke_links(&target.id, &what).await,
            RemovalPolicy::Delete => {
                let arg = DeleteArg {
                    path: target.id.clone(),
                    parent_rev: target.version.clone(),
                };
                match self.client.files().delete(arg).await {
                    Ok(_) => Ok(()),
                    Err(e) if is_not_found(&e) => Ok(()),
                    Err(e) => Err(Error::dropbox(what, Step::Remove, e)),
                }
            }
        }
    }

    /// Moves the file `target` (by id) to where `doc` would be written now; a file already
    /// there is not moved. Answers its display path.
    async fn relocate(&self, doc: &Document, target: &DocRef) -> Result<String> {
        let path = self.path_of(doc)?;
        let err = |e| Error::dropbox(doc.path.clone(), Step::Locate, e);
        let current = match self.client.files().get_metadata(target.id.clone()).await {
            Ok(Metadata::File(f)) => f,
            Ok(_) => {
                return Err(Error::governance(
                    doc.path.clone(),
                    Step::Locate,
                    format!("{target} is not a file"),
                ))
            }
            Err(e) => return Err(err(e)),
        };
        if current.path_display.as_deref() == Some(path.as_str()) {
            return Ok(path);
        }
        let moved = self
            .client
            .files()
            .move_entry(RelocationArg::new(target.id.clone(), path.clone()))
            .await
            .map_err(err)?;
        Ok(moved
            .metadata
            .path_display()
            .map(str::to_owned)
            .unwrap_or(path))
    }
}

impl DropboxSink {
    /// Keeps the file `file` (its current content) as a conflicted copy beside it, named
    /// `{stem} (conflicted copy {when}).{ext}` with `when` as `YYYY-MM-DD HHMMSS`, and
    /// answers the copy's path. The name depends only on `path` and `when` (the edit's own
    /// time), so a repeated call finds the copy already made and makes no second one.
    pub async fn conflicted_copy(
        &self,
        file: &DocRef,
        path: &str,
        when: chrono::DateTime<chrono::Utc>,
    ) -> Result<String> {
        let to = conflicted_copy_path(path, when);
        let files = self.client.files();
        match files
            .copy(RelocationArg::new(file.id.clone(), to.clone()))
            .await
        {
            Ok(_) => Ok(to),
            Err(e) if e.api().is_some_and(|a| a.has_tag("conflict")) => {
                match files.get_metadata(to.clone()).await {
                    Ok(Metadata::File(_)) => Ok(to),
                    _ => Err(Error::dropbox(path.to_owned(), Step::Write, e)),
                }
            }
            Err(e) => Err(Error::dropbox(path.to_owned(), Step::Write, e)),
        }
    }
}

/// `/a/b (conflicted copy 2026-12-01 090000).pdf` for `/a/b.pdf`.
pub(crate) fn conflicted_copy_path(path: &str, when: chrono::DateTime<chrono::Utc>) -> String {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
        _ => (name, String::new()),
    };
    format!(
        "{dir}/{stem} (conflicted copy {}){ext}",
        when.format("%Y-%m-%d %H%M%S")
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    #[test]
    fn conflicted_copies_are_named_with_their_time() {
        let t = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 9, 5, 7).unwrap();
        assert_eq!(
            super::conflicted_copy_path("/JV/Plan.v2.docx", t),
            "/JV/Plan.v2 (conflicted copy 2026-12-01 090507).docx"
        );
        assert_eq!(
            super::conflicted_copy_path("/JV/README", t),
            "/JV/README (conflicted copy 2026-12-01 090507)"
        );
    }
}
