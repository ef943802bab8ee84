//! Sources: where documents come from, as a change feed with checkpoints.

use async_trait::async_trait;
use futures::stream::BoxStream;

use crate::error::Result;
use crate::model::{Checkpoint, DocRef, Document};

/// What one item of a change feed says.
#[derive(Debug)]
#[non_exhaustive]
pub enum Change {
    /// A document was added or changed (or is listed for the first time).
    Upsert(Box<Document>),
    /// The entry at this path (relative to the source root) was deleted.
    Deleted {
        /// The path, relative to the source root.
        path: String,
    },
    /// Nothing to process; the item only carries a checkpoint (e.g. a page without files).
    Nothing,
    /// A document was listed but could not be read (e.g. its version lookup failed). The
    /// runner records it as a failure, so the next run fetches it again
    /// ([`Source::fetch`]); the rest of the feed goes on.
    Unreadable {
        /// The document (its version may be unknown: then `0` for Content Server).
        source: DocRef,
        /// Its path, relative to the source root.
        path: String,
        /// Why it could not be read.
        error: Box<crate::Error>,
    },
}

/// One item of a change feed: a change, plus the checkpoint that becomes valid once this item
/// and every item before it are finished (Dropbox: the cursor of the page it ends).
#[derive(Debug)]
pub struct Item {
    /// The change.
    pub change: Change,
    /// The checkpoint valid after this item, if it ends a page.
    pub checkpoint: Option<Checkpoint>,
}

impl Item {
    /// A document without a checkpoint.
    pub fn upsert(doc: Document) -> Self {
        Item {
            change: Change::Upsert(Box::new(doc)),
            checkpoint: None,
        }
    }

    /// Sets the checkpoint that this item completes.
    pub fn with_checkpoint(mut self, checkpoint: Checkpoint) -> Self {
        self.checkpoint = Some(checkpoint);
        self
    }
}

/// Where documents come from.
///
/// `changes(None)` lists everything; `changes(Some(checkpoint))` lists what changed since. The
/// runner saves a checkpoint only when every item up to it is finished (written, skipped, or
/// recorded as a failure), so a feed may be replayed from the last checkpoint after a crash:
/// sinks and the state store make replays harmless.
#[async_trait]
pub trait Source: Send + Sync {
    /// The change feed since `since` (everything when `None`). Nothing is read before the
    /// stream is polled beyond what is needed to start it.
    async fn changes(&self, since: Option<Checkpoint>) -> Result<BoxStream<'static, Result<Item>>>;

    /// The current state of one document (any version), or `None` when it is gone. The runner
    /// uses it to retry failed documents and to finish interrupted writes on the next run.
    async fn fetch(&self, id: &DocRef) -> Result<Option<Document>>;

    /// The current state of several documents, for a second look at what the transforms
    /// decided (e.g. whether a file is approved by now), without reading any bytes: in the
    /// order given, `None` for one that is gone. By default [`Source::fetch`] of each; a source
    /// that can look several up in one call (Dropbox `files/tags/get`) does so.
    async fn recheck(&self, ids: &[DocRef]) -> Result<Vec<Option<Document>>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.fetch(id).await?);
        }
        Ok(out)
    }

    /// A stream that yields when the source probably has changes (Dropbox longpoll), for
    /// [`crate::runner::Flow::watch`]. `None` when the source cannot tell.
    ///
    /// The returned stream is already armed: every change made after this call completes
    /// wakes it, even one made before the stream is first polled. `watch` calls it before its
    /// first run, so nothing that happens after that run has listed can slip through.
    async fn wake(&self) -> Option<BoxStream<'static, ()>> {
        None
    }
}

/// A shared source is a source (one source can feed several flows or tests can keep a handle).
#[async_trait]
impl<T: Source + ?Sized> Source for std::sync::Arc<T> {
    async fn changes(&self, since: Option<Checkpoint>) -> Result<BoxStream<'static, Result<Item>>> {
        (**self).changes(since).await
    }

    async fn fetch(&self, id: &DocRef) -> Result<Option<Document>> {
        (**self).fetch(id).await
    }

    async fn recheck(&self, ids: &[DocRef]) -> Result<Vec<Option<Document>>> {
        (**self).recheck(ids).await
    }

    async fn wake(&self) -> Option<BoxStream<'static, ()>> {
        (**self).wake().await
    }
}
