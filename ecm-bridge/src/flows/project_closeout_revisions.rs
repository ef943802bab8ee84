//! [`CloseoutConfig::all_revisions`](super::project_closeout::CloseoutConfig::all_revisions):
//! every Dropbox revision of a file becomes a CS version of its document, oldest first, the
//! file's current revision last (the one the runner records, proves and lists in the manifest).
//!
//! [`RevisionsSink`] wraps the closeout's [`CsSink`]. Before the sink writes a file's current
//! revision, it lists the file's revisions (`files/list_revisions` by id, so revisions made
//! before a rename or move are included; by path, page by page with `before_rev`, only those
//! with the file's id, when the file has more than one page of them) and writes each older one through the same
//! sink (the same folder, name, categories, classification and verification; each version's
//! description carries its own source marker, `dropbox:id:…@rev`). Each older revision is a
//! step in the core's step log, `revision:{rev}`, under the file's key and current revision:
//!
//! - done: skipped; its output (`{"node", "version", "bytes"}`) says where it went;
//! - found `started` (a run stopped, or an answer was lost, while it was written): looked for
//!   at the target first ([`Sink::find_existing`] by its marker, read back and verified), and
//!   written only when not there. An error leaves the step `started`, so the next attempt
//!   always looks first: no revision becomes two CS versions.
//!
//! A revision with the same bytes as the next newer one (a move or rename makes a new rev) is
//! not written: it would be a version equal to the one after it.
//!
//! A file whose CS document exists already (a later revision since the closeout's first
//! write) gets the revisions after the newest one its CS versions carry; revisions older than
//! that cannot be put before it and are not written.

use async_trait::async_trait;
use dropbox_client::models::files::{
    FileMetadata, ListRevisionsArg, ListRevisionsMode, ListRevisionsResult,
};
use std::sync::Arc;

use crate::connectors::contentserver::CsSink;
use crate::connectors::dropbox::rev_body;
use crate::error::{Error, Result, Step};
use crate::model::{ContentHash, DocRef, Document, System};
use crate::sink::{Receipt, RemovalPolicy, Sink, WriteContext};
use crate::state::{BeginStep, StepState, Store};

/// Revisions listed per `files/list_revisions` call (the route's maximum).
const PAGE: u32 = 100;

/// The step log's name of the step that writes revision `rev`.
pub(super) fn step_name(rev: &str) -> String {
    format!("revision:{rev}")
}

/// A stop between revisions, for crash tests ([`super::project_closeout::StopFn`], asked
/// with [`step_name`] before each revision is begun).
type StopFn = super::project_closeout::StopFn;

/// The closeout's CS sink, writing every earlier Dropbox revision of a file first.
pub(super) struct RevisionsSink {
    inner: CsSink,
    dropbox: dropbox_client::Client,
    state: Arc<dyn Store>,
    stop: Option<StopFn>,
}

impl RevisionsSink {
    pub(super) fn new(
        inner: CsSink,
        dropbox: dropbox_client::Client,
        state: Arc<dyn Store>,
        stop: Option<StopFn>,
    ) -> Self {
        RevisionsSink {
            inner,
            dropbox,
            state,
            stop,
        }
    }

    /// The revisions of `doc` older than its own, oldest first. `doc`'s own revision not
    /// among them (listed at another path meanwhile): none, the write goes on as usual.
    /// One `files/list_revisions` page of `doc`.
    async fn revisions_page(
        &self,
        doc: &Document,
        arg: ListRevisionsArg,
    ) -> Result<ListRevisionsResult> {
        self.dropbox
            .files()
            .list_revisions(arg)
            .await
            .map_err(|e| Error::dropbox(&doc.path, Step::List, e))
    }

    /// The file's revisions, newest first, by its id (`mode = id`): they follow the file across
    /// renames and moves, so revisions made under an earlier path are included. That mode takes
    /// no `before_rev`, so it answers one page only: `None` when the file has more revisions
    /// than a page holds.
    async fn revisions_by_id(&self, doc: &Document) -> Result<Option<Vec<FileMetadata>>> {
        let arg = ListRevisionsArg {
            mode: Some(ListRevisionsMode::Id),
            limit: Some(PAGE),
            ..ListRevisionsArg::from(doc.source.id.clone())
        };
        let page = self.revisions_page(doc, arg).await?;
        Ok((!page.has_more).then_some(page.entries))
    }

    /// The revisions at the file's current path, newest first, page by page with `before_rev`
    /// (those of the file's id only): for a file with more revisions than one page.
    async fn revisions_by_path(&self, doc: &Document) -> Result<Vec<FileMetadata>> {
        let path = doc.context.full_path.clone().unwrap_or(doc.path.clone());
        let mut newest_first = Vec::new();
        let mut before = None;
        loop {
            let arg = ListRevisionsArg {
                limit: Some(PAGE),
                before_rev: before.take(),
                ..ListRevisionsArg::from(path.clone())
            };
            let page = self.revisions_page(doc, arg).await?;
            let last = page.entries.last().map(|e| e.rev.clone());
            newest_first.extend(page.entries.into_iter().filter(|e| e.id == doc.source.id));
            match last {
                Some(last) if page.has_more => before = Some(last),
                _ => return Ok(newest_first),
            }
        }
    }

    async fn older_revisions(&self, doc: &Document) -> Result<Vec<FileMetadata>> {
        let Some(rev) = doc.source.version.as_deref() else {
            return Ok(Vec::new());
        };
        let mut newest_first = match self.revisions_by_id(doc).await? {
            Some(all) => all,
            None => self.revisions_by_path(doc).await?,
        };
        let Some(at) = newest_first.iter().position(|e| e.rev == rev) else {
            tracing::warn!(doc = %doc.path, rev, "the file's revision is not in its revision list; writing it alone");
            return Ok(Vec::new());
        };
        let mut next = newest_first[at].content_hash.clone();
        let older = newest_first.split_off(at + 1);
        // A revision with the same bytes as the next newer one (a move or a rename makes a
        // new rev, not new content) adds no version.
        let mut kept: Vec<FileMetadata> = older
            .into_iter()
            .filter(|r| {
                let same = r.content_hash.is_some() && r.content_hash == next;
                next = r.content_hash.clone();
                !same
            })
            .collect();
        kept.reverse();
        Ok(kept)
    }

    /// `doc` as it was at revision `r`.
    fn at_revision(&self, doc: &Document, r: &FileMetadata) -> Document {
        let mut d = doc.clone();
        d.source = DocRef::dropbox(&doc.source.id, &r.rev);
        d.size = r.size;
        d.hash = r.content_hash.clone().map(ContentHash::dropbox);
        d.modified = Some(r.client_modified);
        let label = format!("{} (rev {})", doc.path, r.rev);
        d.body = rev_body(&self.dropbox, &r.rev, &label);
        d
    }

    /// Writes revision `r` once (see the module's doc); returns where it went.
    async fn write_revision(
        &self,
        doc: &Document,
        r: &FileMetadata,
        ctx: &WriteContext,
        previous: Option<DocRef>,
    ) -> Result<DocRef> {
        let name = step_name(&r.rev);
        if let Some(stop) = &self.stop {
            if stop(&name) {
                return Err(Error::Stopped(format!("closeout before {name}")));
            }
        }
        let (flow, key) = (ctx.flow.as_str(), doc.source.key());
        let version = doc.source.version.clone().unwrap_or_default();
        let at = self.at_revision(doc, r);
        let begun = self.state.begin_step(flow, &key, &version, &name).await?;
        let in_doubt = match &begun {
            BeginStep::Exists(s) if s.state == StepState::Done => {
                return target_of(s.output.as_ref(), &name);
            }
            BeginStep::Exists(_) => true,
            // Begun again after a failure or an await: it may have landed all the same.
            BeginStep::Began(s) => s.attempts > 1,
        };
        let ctx = WriteContext {
            previous,
            in_doubt: in_doubt || ctx.in_doubt,
            ..ctx.clone()
        };
        let found = if ctx.in_doubt {
            self.inner.find_existing(&at, &ctx).await?
        } else {
            None
        };
        let receipt = match found {
            Some(r) => r,
            // An error leaves the step `started`: the next attempt looks for it first.
            None => self.inner.write(&at, &ctx).await?,
        };
        let output = serde_json::json!({
            "node": receipt.target.node_id(),
            "version": receipt.target.version.as_deref().and_then(|v| v.parse::<i64>().ok()),
            "bytes": receipt.bytes,
        });
        self.state
            .finish_step(flow, &key, &version, &name, &output)
            .await?;
        Ok(receipt.target)
    }

    /// The revisions still to write before `doc`: all older ones for a new CS document; for
    /// an existing one (`previous`), those after the newest its versions carry.
    async fn to_write(
        &self,
        doc: &Document,
        previous: Option<&DocRef>,
    ) -> Result<Vec<FileMetadata>> {
        let older = self.older_revisions(doc).await?;
        let Some(node) = previous.and_then(DocRef::node_id) else {
            return Ok(older);
        };
        if older.is_empty() {
            return Ok(older);
        }
        let key = doc.source.key();
        let written = self.inner.written_sources(doc, node).await?;
        let newest = older.iter().rposition(|r| {
            written
                .iter()
                .any(|(_, m)| m.key() == key && m.version.as_deref() == Some(r.rev.as_str()))
        });
        Ok(match newest {
            Some(i) => older.into_iter().skip(i + 1).collect(),
            None => Vec::new(),
        })
    }
}

/// The CS version a done revision step went to.
fn target_of(output: Option<&serde_json::Value>, name: &str) -> Result<DocRef> {
    let out = output.cloned().unwrap_or_default();
    match (out["node"].as_i64(), out["version"].as_i64()) {
        (Some(node), Some(v)) => Ok(DocRef::cs(node, v)),
        _ => Err(Error::Config(format!(
            "closeout: step {name} is done without a CS version: {out}"
        ))),
    }
}

#[async_trait]
impl Sink for RevisionsSink {
    /// The earlier revisions (each once), then the current one through the CS sink.
    async fn write(&self, doc: &Document, ctx: &WriteContext) -> Result<Receipt> {
        if doc.source.system != System::Dropbox {
            return self.inner.write(doc, ctx).await;
        }
        let mut previous = ctx
            .previous
            .clone()
            .filter(|p| p.system == System::ContentServer);
        for r in self.to_write(doc, previous.as_ref()).await? {
            previous = Some(self.write_revision(doc, &r, ctx, previous).await?);
        }
        let ctx = WriteContext {
            previous,
            ..ctx.clone()
        };
        self.inner.write(doc, &ctx).await
    }

    async fn find_existing(&self, doc: &Document, ctx: &WriteContext) -> Result<Option<Receipt>> {
        self.inner.find_existing(doc, ctx).await
    }

    async fn complete(&self, doc: &Document, receipt: &Receipt, ctx: &WriteContext) -> Result<()> {
        self.inner.complete(doc, receipt, ctx).await
    }

    fn describe(&self, doc: &Document) -> String {
        self.inner.describe(doc)
    }

    fn steps(&self) -> Vec<Arc<dyn crate::runner::Step>> {
        self.inner.steps()
    }

    async fn relocate(&self, doc: &Document, target: &DocRef) -> Result<String> {
        self.inner.relocate(doc, target).await
    }

    async fn remove(&self, target: &DocRef, policy: RemovalPolicy) -> Result<()> {
        self.inner.remove(target, policy).await
    }
}
