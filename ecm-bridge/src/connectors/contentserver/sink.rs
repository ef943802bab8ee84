//! [`CsSink`]: resolve or create the target folder, create the document (with its categories)
//! or add a version, verify, govern; find an unrecorded write again by its source marker.

use std::sync::Arc;

use async_trait::async_trait;
use contentserver_client::api::documents::Version;
use contentserver_client::api::nodes::Node;
use contentserver_client::{Client, ErrorKind, UploadBody};

use super::directory::Directory;
use super::governance::{to_values, Govern};
use super::markers_in;
use crate::error::{Error, Result, Step};
use crate::model::{DocRef, Document, HashKind, Location, System};
use crate::sink::{Receipt, RemovalPolicy, Sink, WriteAction, WriteContext};
use crate::verify::{self, HashKinds, VerifiedSlot};

/// Content Server as a [`Sink`].
///
/// ```no_run
/// # fn demo(client: contentserver_client::Client) {
/// use ecm_bridge::connectors::contentserver::CsSink;
/// use ecm_bridge::model::Location;
/// let sink = CsSink::new(client)
///     .default_target(Location::CsFolder { root: None, path: "Archive".into() })
///     .read_back(true);
/// # }
/// ```
#[derive(Clone)]
pub struct CsSink {
    pub(super) client: Client,
    default_target: Option<Location>,
    read_back: bool,
    pub(super) dir: Arc<Directory>,
}

impl std::fmt::Debug for CsSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsSink")
            .field("default_target", &self.default_target)
            .field("read_back", &self.read_back)
            .finish_non_exhaustive()
    }
}

impl CsSink {
    /// A sink writing with `client` (the user it logs in as needs add-item, classify and
    /// edit-permission rights on the targets).
    pub fn new(client: Client) -> Self {
        CsSink {
            client,
            default_target: None,
            read_back: false,
            dir: Arc::default(),
        }
    }

    /// Where documents without a governance target go.
    pub fn default_target(mut self, target: Location) -> Self {
        self.default_target = Some(target);
        self
    }

    /// Also download and hash every written version (and every adopted one, always).
    pub fn read_back(mut self, yes: bool) -> Self {
        self.read_back = yes;
        self
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub(super) fn target<'a>(&'a self, doc: &'a Document) -> Result<&'a Location> {
        doc.governance
            .target
            .as_ref()
            .or(self.default_target.as_ref())
            .ok_or_else(|| Error::governance(&doc.path, Step::Locate, "no Content Server target"))
    }

    pub(super) fn location_text(&self, doc: &Document) -> String {
        match self.target(doc) {
            Ok(loc) => format!("{loc}/{}", doc.target_name()),
            Err(e) => format!("(no target: {e})"),
        }
    }

    /// The node named like `doc` in `folder` if it was written from the same source document;
    /// an error if the name belongs to a document of another origin.
    pub(super) async fn own_child(&self, doc: &Document, folder: i64) -> Result<Option<Node>> {
        let name = doc.target_name();
        let Some(node) = self
            .client
            .nodes()
            .find_child(folder, name)
            .await
            .map_err(|e| Error::cs(&doc.path, Step::Locate, e))?
        else {
            return Ok(None);
        };
        let key = doc.source.key();
        let ours = markers_in(node.description.as_deref().unwrap_or_default())
            .iter()
            .any(|m| m.key() == key);
        if ours {
            Ok(Some(node))
        } else {
            Err(Error::governance(
                &doc.path,
                Step::Write,
                format!(
                    "{name:?} already exists in folder {folder} and was not written from {key}; not overwritten"
                ),
            ))
        }
    }

    /// The document's bytes as an upload body, verified as they go against the source's hash
    /// (only that kind is computed; SHA-256 when the source announced none, so the receipt
    /// and a read-back have a hash to compare).
    pub(super) fn upload_body(&self, doc: &Document, slot: VerifiedSlot) -> UploadBody {
        let body = doc.body.clone();
        let (label, len, expected) = (doc.path.clone(), doc.size, doc.hash.clone());
        let also = match expected {
            Some(_) => HashKinds::NONE,
            None => HashKinds::NONE.with(HashKind::Sha256),
        };
        UploadBody::reopenable(doc.size, move || {
            let body = body.clone();
            let (label, expected, slot) = (label.clone(), expected.clone(), slot.clone());
            async move {
                let s = body.open().await.map_err(std::io::Error::other)?;
                Ok::<_, std::io::Error>(verify::verified(s, label, len, expected, also, slot))
            }
        })
    }

    pub(super) fn sent(&self, doc: &Document, slot: &VerifiedSlot) -> Result<verify::Hashed> {
        slot.lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| Error::Verify {
                doc: doc.path.clone(),
                expected: format!("{} bytes", doc.size),
                actual: "an upload that did not send them all".into(),
            })
    }

    /// Downloads version `n` of `node` and hashes it.
    pub(super) async fn read_back_version(
        &self,
        doc: &Document,
        node: i64,
        n: i64,
    ) -> Result<verify::Hashed> {
        let download = self
            .client
            .documents()
            .download(node)
            .version(n)
            .send()
            .await
            .map_err(|e| Error::cs(&doc.path, Step::ReadBack, e))?;
        verify::hash_stream(download.into_stream())
            .await
            .map_err(|e| Error::cs(&doc.path, Step::ReadBack, e))
    }

    /// The source versions written to `node`, oldest first: the source marker of each CS
    /// version (version 1 also by the node's own description), with the version number.
    pub(crate) async fn written_sources(
        &self,
        doc: &Document,
        node: i64,
    ) -> Result<Vec<(i64, DocRef)>> {
        let err = |e| Error::cs(&doc.path, Step::Adopt, e);
        let n = self.client.nodes().get(node).send().await.map_err(err)?;
        let node_markers = markers_in(n.description.as_deref().unwrap_or_default());
        let versions = self
            .client
            .documents()
            .versions(node)
            .send()
            .await
            .map_err(err)?;
        let mut out = Vec::new();
        for v in &versions {
            let Some(number) = v.version_number else {
                continue;
            };
            let mut markers = markers_in(v.description.as_deref().unwrap_or_default());
            if number == 1 {
                markers.extend(node_markers.iter().cloned());
            }
            out.extend(markers.into_iter().map(|m| (number, m)));
        }
        out.sort_by_key(|(n, _)| *n);
        Ok(out)
    }

    pub(super) async fn version_number(
        &self,
        doc: &Document,
        node: i64,
        v: &Version,
    ) -> Result<i64> {
        match v.version_number {
            Some(n) => Ok(n),
            None => self
                .client
                .documents()
                .latest_version(node)
                .await
                .map_err(|e| Error::cs(&doc.path, Step::Write, e))?
                .version_number
                .ok_or_else(|| {
                    Error::governance(&doc.path, Step::Write, "the new version has no number")
                }),
        }
    }
}

impl CsSink {
    /// Creates `doc` in `folder` with its categories; returns the node and what the server
    /// says it stored. A name already taken is the client's [`ErrorKind::AlreadyExists`],
    /// which the caller settles.
    async fn create_document(
        &self,
        doc: &Document,
        folder: i64,
        slot: &VerifiedSlot,
    ) -> Result<std::result::Result<i64, contentserver_client::Error>> {
        let name = doc.target_name().to_owned();
        let mut create = self
            .client
            .documents()
            .create(folder, name.clone(), self.upload_body(doc, slot.clone()))
            .file_name(name)
            .mime_type(doc.mime_type_or_guess())
            .description(format!(
                "Source: {} ({})",
                doc.source.marker(),
                doc.context.full_path.as_deref().unwrap_or(&doc.path)
            ));
        if let Some(t) = doc.modified.map(|t| t.naive_utc()) {
            create = create.external_modify_date(t);
        }
        if let Some(t) = doc.created.map(|t| t.naive_utc()) {
            create = create.external_create_date(t);
        }
        let all = to_values(&self.category_values(doc, folder).await?);
        if !all.is_empty() {
            create = create.categories(all);
        }
        let node = match create.send().await {
            Ok(node) => node,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(Err(e)),
            Err(e) => return Err(Error::cs(&doc.path, Step::Write, e)),
        };
        // What the server says it stored: the node's size, else version 1's.
        let reported = match node.size {
            Some(size) => Some(size),
            None => {
                self.client
                    .documents()
                    .version(node.id, 1)
                    .await
                    .map_err(|e| Error::cs(&doc.path, Step::Write, e))?
                    .file_size
            }
        };
        check_reported_size(doc, reported, "the created document")?;
        Ok(Ok(node.id))
    }

    /// Adds `doc` as a new version of `node`; returns the version's number.
    async fn add_version(&self, doc: &Document, node: i64, slot: &VerifiedSlot) -> Result<i64> {
        let name = doc.target_name().to_owned();
        let mut add = self
            .client
            .documents()
            .add_version(node, self.upload_body(doc, slot.clone()))
            .file_name(name)
            .mime_type(doc.mime_type_or_guess())
            .description(doc.source.marker());
        if let Some(t) = doc.modified.map(|t| t.naive_utc()) {
            add = add.external_modify_date(t);
        }
        let v = add
            .send()
            .await
            .map_err(|e| Error::cs(&doc.path, Step::Write, e))?;
        check_reported_size(doc, v.file_size, "the new version")?;
        self.version_number(doc, node, &v).await
    }
}

#[async_trait]
impl Sink for CsSink {
    /// Writes a new version of the paired document (no folder is resolved for it), else
    /// creates one in the target folder (resolved, and created, first). The folder's children
    /// are listed for an earlier copy by name only when a write of this document is in doubt
    /// ([`WriteContext::in_doubt`]); otherwise the create goes first and the server's own name
    /// check stands guard: a name already taken is then looked up, and becomes a new version
    /// when that document was written from the same source, an error when not.
    async fn write(&self, doc: &Document, ctx: &WriteContext) -> Result<Receipt> {
        let paired = ctx
            .previous
            .as_ref()
            .filter(|p| p.system == System::ContentServer)
            .and_then(|p| p.node_id());
        let slot = VerifiedSlot::default();
        let location = self.location_text(doc);
        // A version of a paired document needs no folder: the target folder is resolved (and
        // created) only for a document that may be new.
        let (node, number, action, folder) = match paired {
            Some(node) => (
                node,
                self.add_version(doc, node, &slot).await?,
                WriteAction::AddedVersion,
                None,
            ),
            None => {
                let loc = self.target(doc)?.clone();
                let folder = self.folder(doc, &loc, true).await?.ok_or_else(|| {
                    Error::governance(&doc.path, Step::Locate, "target folder not created")
                })?;
                let earlier = match ctx.in_doubt {
                    true => self.own_child(doc, folder).await?.map(|n| n.id),
                    false => None,
                };
                let (node, number, action) = match earlier {
                    Some(node) => (
                        node,
                        self.add_version(doc, node, &slot).await?,
                        WriteAction::AddedVersion,
                    ),
                    None => match self.create_document(doc, folder, &slot).await? {
                        Ok(node) => (node, 1, WriteAction::Created),
                        Err(taken) => match self.own_child(doc, folder).await? {
                            Some(n) => (
                                n.id,
                                self.add_version(doc, n.id, &slot).await?,
                                WriteAction::AddedVersion,
                            ),
                            // Taken a moment ago and gone now: the next attempt creates it.
                            None => return Err(Error::cs(&doc.path, Step::Write, taken)),
                        },
                    },
                };
                (node, number, action, Some(folder))
            }
        };
        let sent = self.sent(doc, &slot)?;
        if self.read_back {
            let back = self.read_back_version(doc, node, number).await?;
            back.check(&doc.path, doc.size, sent.strongest().as_ref())?;
        }
        let mode = if action == WriteAction::Created {
            Govern::Created
        } else {
            Govern::AddedVersion
        };
        self.govern(doc, node, folder, mode).await?;
        Ok(Receipt {
            target: DocRef::cs(node, number),
            bytes: sent.len,
            sent_hashes: sent.hashes(),
            action,
            location,
        })
    }

    async fn find_existing(&self, doc: &Document, ctx: &WriteContext) -> Result<Option<Receipt>> {
        let err = |e| Error::cs(&doc.path, Step::Adopt, e);
        let node = match ctx.previous.as_ref().and_then(DocRef::node_id) {
            Some(id) => match self.client.nodes().get(id).send().await {
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(err(e)),
            },
            None => {
                let loc = self.target(doc)?.clone();
                let Some(folder) = self.folder(doc, &loc, false).await? else {
                    return Ok(None);
                };
                match self.own_child(doc, folder).await {
                    Ok(Some(n)) => n,
                    Ok(None) => return Ok(None),
                    // A document of another origin: not ours to adopt; `write` reports it.
                    Err(Error::Governance { .. }) => return Ok(None),
                    Err(e) => return Err(e),
                }
            }
        };
        let node_markers = markers_in(node.description.as_deref().unwrap_or_default());
        let versions = self
            .client
            .documents()
            .versions(node.id)
            .send()
            .await
            .map_err(err)?;
        for v in versions.iter().rev() {
            let Some(n) = v.version_number else { continue };
            let mut markers = markers_in(v.description.as_deref().unwrap_or_default());
            if n == 1 {
                markers.extend(node_markers.iter().cloned());
            }
            if !markers.contains(&doc.source) {
                continue;
            }
            // Always verify an adopted write by reading it back: it was never verified as sent.
            let back = self.read_back_version(doc, node.id, n).await?;
            if let Err(e) = back.check(&doc.path, doc.size, doc.hash.as_ref()) {
                tracing::warn!(doc = %doc.path, node = node.id, version = n, error = %e, "earlier write does not verify; writing again");
                continue;
            }
            return Ok(Some(Receipt {
                target: DocRef::cs(node.id, n),
                bytes: back.len,
                sent_hashes: back.hashes(),
                action: WriteAction::Adopted,
                location: self.location_text(doc),
            }));
        }
        Ok(None)
    }

    async fn complete(&self, doc: &Document, receipt: &Receipt, _ctx: &WriteContext) -> Result<()> {
        let node = receipt.target.node_id().ok_or_else(|| {
            Error::governance(&doc.path, Step::Adopt, "not a Content Server receipt")
        })?;
        let folder = match self.target(doc).ok().cloned() {
            Some(loc) => self.folder(doc, &loc, false).await?,
            None => None,
        };
        self.govern(doc, node, folder, Govern::Adopted).await
    }

    fn describe(&self, doc: &Document) -> String {
        self.location_text(doc)
    }

    fn server(&self) -> &str {
        super::SERVER
    }

    /// The workflow start ([`super::workflow::WORKFLOW_STEP`]), for documents whose
    /// governance names a workflow.
    fn steps(&self) -> Vec<Arc<dyn crate::runner::Step>> {
        vec![Arc::new(super::workflow::WorkflowStart(self.clone()))]
    }

    /// Moves the node into the folder `doc` would be written to now (created when missing) and
    /// gives it `doc`'s target name, each only when it differs.
    async fn relocate(&self, doc: &Document, target: &DocRef) -> Result<String> {
        let node = target.node_id().ok_or_else(|| {
            Error::governance(&doc.path, Step::Locate, "not a Content Server target")
        })?;
        let loc = self.target(doc)?.clone();
        let folder = self
            .folder(doc, &loc, true)
            .await?
            .ok_or_else(|| Error::governance(&doc.path, Step::Locate, "no target folder"))?;
        let err = |e| Error::cs(&doc.path, Step::Locate, e);
        let current = self.client.nodes().get(node).send().await.map_err(err)?;
        if current.parent_id != Some(folder) {
            self.client
                .nodes()
                .move_to(node, folder)
                .await
                .map_err(err)?;
        }
        if current.name != doc.target_name() {
            self.client
                .nodes()
                .rename(node, doc.target_name())
                .await
                .map_err(err)?;
        }
        Ok(self.location_text(doc))
    }

    /// [`RemovalPolicy::Delete`]: the node goes to the recycle bin (a node already gone is
    /// removed). Content Server has no access of the sink's own to revoke:
    /// [`RemovalPolicy::Revoke`] is refused.
    async fn remove(&self, target: &DocRef, policy: RemovalPolicy) -> Result<()> {
        let what = target.to_string();
        let node = target
            .node_id()
            .ok_or_else(|| Error::governance(&what, Step::Remove, "not a Content Server target"))?;
        match policy {
            RemovalPolicy::RecordOnly => Ok(()),
            RemovalPolicy::Delete => match self.client.nodes().delete(node).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
                Err(e) => Err(Error::cs(&what, Step::Remove, e)),
            },
            RemovalPolicy::Revoke => Err(Error::Config(format!(
                "the Content Server sink cannot apply the removal policy {} (to {what})",
                policy.as_str()
            ))),
        }
    }
}

/// Fails when the size the server reports for what it stored (`what`) is not the document's.
/// The Content Server reference shows no checksum on versions, so the size is what can be
/// compared without a read-back; a server that reports no size is not contradicted.
fn check_reported_size(doc: &Document, reported: Option<i64>, what: &str) -> Result<()> {
    match reported {
        Some(size) if u64::try_from(size).ok() != Some(doc.size) => Err(Error::Verify {
            doc: doc.path.clone(),
            expected: format!("{} bytes", doc.size),
            actual: format!("{size} bytes in {what}"),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Body;

    #[test]
    fn a_reported_size_that_differs_fails_the_write() {
        let doc = Document::new(
            DocRef::dropbox("id:a", "1"),
            "a.pdf",
            10,
            Body::from_bytes(&b"0123456789"[..]),
        );
        assert!(check_reported_size(&doc, Some(10), "the created document").is_ok());
        assert!(check_reported_size(&doc, None, "the created document").is_ok());
        let err = check_reported_size(&doc, Some(9), "the created document").unwrap_err();
        assert!(matches!(err, Error::Verify { .. }), "{err}");
        assert!(err.to_string().contains("9 bytes"), "{err}");
        assert!(check_reported_size(&doc, Some(-1), "the new version").is_err());
    }
}
