//! Quarantine: a file no rule classifies is moved to a Dropbox quarantine folder or filed
//! into a CS quarantine folder, and the runner settles it `quarantined` with a reason that
//! carries the rules' fingerprint (`… [rules 1a2b3c4d5e6f7a8b]`), so that the next listing
//! after a rule change takes it up again ([`super::intake::IntakeSource`]).
//!
//! Both actions are idempotent, so a retry, a lost answer or a crash before the record
//! repeats them harmlessly: the Dropbox move first looks where the file is (by id), and looks
//! again after a failed move; the CS filing first looks for its own earlier write (by source
//! marker) and adopts it.

use std::sync::Arc;

use async_trait::async_trait;
use dropbox_client::models::files::{GetMetadataArg, Metadata, RelocationArg};

use super::intake::norm;
use crate::connectors::contentserver::CsSink;
use crate::error::{Error, Result, Step};
use crate::model::{Document, Governance, Location};
use crate::names;
use crate::sink::{AfterWrite, Receipt, Sink, WriteContext};
use crate::state::fold_path;

/// Where quarantined files go, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum QuarantineMode {
    /// A Dropbox folder (`/Quarantine`).
    Dropbox(String),
    /// A CS folder path under a root node (`None`: the Enterprise Workspace).
    Cs { folder: String, root: Option<i64> },
}

const TAG: &str = " [rules ";

/// The reason recorded for a quarantine: `why`, where the file went, and the fingerprint.
pub(super) fn reason(why: &str, location: &str, fingerprint: &str) -> String {
    format!("{why}; quarantined at {location}{TAG}{fingerprint}]")
}

/// The rules fingerprint a quarantine reason carries.
pub(crate) fn fingerprint_of(reason: &str) -> Option<&str> {
    let start = reason.rfind(TAG)? + TAG.len();
    reason[start..].strip_suffix(']')
}

/// Performs the quarantine of one document.
pub(super) struct Quarantiner {
    pub(super) mode: QuarantineMode,
    pub(super) dropbox: dropbox_client::Client,
    pub(super) cs: Arc<CsSink>,
    pub(super) flow: String,
}

impl Quarantiner {
    /// Where `doc` goes in quarantine, for people.
    pub(super) fn location(&self, doc: &Document) -> String {
        match &self.mode {
            QuarantineMode::Dropbox(q) => format!("dropbox:{q}/{}", doc.path),
            QuarantineMode::Cs { .. } => {
                let d = self.cs_copy(doc);
                format!(
                    "{}/{}",
                    d.governance
                        .target
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    d.target_name()
                )
            }
        }
    }

    /// The document as it is filed in the CS quarantine: no governance but the target and an
    /// acceptable name.
    pub(super) fn cs_copy(&self, doc: &Document) -> Document {
        let mut d = doc.clone();
        let (folder, root) = match &self.mode {
            QuarantineMode::Cs { folder, root } => (folder.clone(), *root),
            QuarantineMode::Dropbox(_) => (String::new(), None),
        };
        let path = [folder.trim_matches('/'), doc.folder()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("/");
        // Folder names CS refuses are adapted here whatever the policy: this is not the record.
        let path = super::classify::folder_path(&path, names::NamePolicy::Adapt).unwrap_or(path);
        d.governance = Governance {
            target: Some(Location::CsFolder { root, path }),
            name: Some(names::adapt(&doc.name)).filter(|n| *n != doc.name),
            ..Governance::default()
        };
        d
    }

    /// Moves or files `doc`; returns where it is now.
    pub(super) async fn hold(&self, doc: &Document) -> Result<String> {
        match &self.mode {
            QuarantineMode::Dropbox(q) => self.move_to(doc, q).await,
            QuarantineMode::Cs { .. } => self.file(doc).await,
        }
    }

    async fn where_is(&self, doc: &Document) -> Result<Option<String>> {
        let files = self.dropbox.files();
        match files
            .get_metadata(GetMetadataArg::new(doc.source.id.clone()))
            .await
        {
            Ok(Metadata::File(f)) => Ok(f.path_display),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == dropbox_client::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::dropbox(&doc.path, Step::Mark, e)),
        }
    }

    async fn move_to(&self, doc: &Document, q: &str) -> Result<String> {
        let inside = |p: &str| {
            let f = fold_path(p);
            let q = fold_path(q);
            f.strip_prefix(&q).is_some_and(|r| r.starts_with('/'))
        };
        if let Some(now) = self.where_is(doc).await? {
            if inside(&now) {
                return Ok(format!("dropbox:{now}"));
            }
        }
        let dest = format!("{q}/{}", doc.path);
        let arg = RelocationArg::new(doc.source.id.clone(), dest).autorename(true);
        match self.dropbox.files().move_entry(arg).await {
            Ok(r) => Ok(format!(
                "dropbox:{}",
                r.metadata.path_display().unwrap_or_default()
            )),
            Err(e) => match self.where_is(doc).await? {
                // The move happened; its answer was lost.
                Some(now) if inside(&now) => Ok(format!("dropbox:{now}")),
                _ => Err(Error::dropbox(&doc.path, Step::Mark, e)),
            },
        }
    }

    async fn file(&self, doc: &Document) -> Result<String> {
        let copy = self.cs_copy(doc);
        let mut last = None;
        for attempt in 1..=3 {
            let ctx = WriteContext {
                flow: self.flow.clone(),
                previous: None,
                attempt,
                in_doubt: true,
            };
            let done = match self.cs.find_existing(&copy, &ctx).await {
                Ok(Some(r)) => Ok(r),
                Ok(None) => self.cs.write(&copy, &ctx).await,
                Err(e) => Err(e),
            };
            match done {
                Ok(r) => return Ok(r.location),
                Err(e) if e.is_retryable() => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            Error::governance(&doc.path, Step::Write, "quarantine filing failed")
        }))
    }
}

/// After a routed write, in CS mode: removes the document's copy from the CS quarantine (it
/// is filed where the rules say now). Idempotent: nothing found, nothing done.
pub(super) struct ReleaseQuarantine {
    pub(super) quarantine: Arc<Quarantiner>,
}

#[async_trait]
impl AfterWrite for ReleaseQuarantine {
    async fn after_write(&self, doc: &Document, receipt: &Receipt) -> Result<()> {
        let copy = self.quarantine.cs_copy(doc);
        let Some(Location::CsFolder { root, path }) = &copy.governance.target else {
            return Ok(());
        };
        let client = self.quarantine.cs.client();
        let err = |e| Error::cs(&doc.path, Step::Mark, e);
        let root = match root {
            Some(r) => *r,
            None => client.nodes().enterprise_workspace().await.map_err(err)?.id,
        };
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let Some(folder) = client
            .nodes()
            .resolve_path(root, &parts)
            .await
            .map_err(err)?
        else {
            return Ok(());
        };
        let Some(node) = client
            .nodes()
            .find_child(folder.id, copy.target_name())
            .await
            .map_err(err)?
        else {
            return Ok(());
        };
        let ours = node
            .description
            .as_deref()
            .unwrap_or_default()
            .contains(&doc.source.key());
        if ours && Some(node.id) != receipt.target.node_id() {
            tracing::info!(doc = %doc.path, node = node.id, "classified now; its quarantine copy is removed");
            client.nodes().delete(node.id).await.map_err(err)?;
        }
        Ok(())
    }
}

/// The quarantine mode from the configuration.
pub(super) fn mode_of(q: &super::QuarantineTarget, cs_root: Option<i64>) -> QuarantineMode {
    match q {
        super::QuarantineTarget::Dropbox(f) => QuarantineMode::Dropbox(norm(f)),
        super::QuarantineTarget::Cs(f) => QuarantineMode::Cs {
            folder: f.trim_matches('/').to_owned(),
            root: cs_root,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_travels_in_the_reason() {
        let r = reason(
            "no rule classifies it",
            "dropbox:/Q/a.bin",
            "0123abcd0123abcd",
        );
        assert_eq!(fingerprint_of(&r), Some("0123abcd0123abcd"));
        assert_eq!(fingerprint_of("hand-written reason"), None);
    }
}
