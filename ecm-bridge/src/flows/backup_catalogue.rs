//! The backup's catalogue: for every Dropbox version a backup lists (or fetches), its path
//! and content hash, kept in the store's step log so that a restore knows where each
//! version stood and what its bytes hash to, after any later rename, change or deletion.
//!
//! A document's record and history only keep its latest path and hash; the history line of
//! each run names the version (the Dropbox `rev`, new with every change and every move). The
//! catalogue fills in the rest per version: the step `catalogue` of (`@catalogue:{key}`,
//! `rev`), done at once with output `{"path", "full_path", "hash", "size"}`. One version is
//! catalogued once (a second listing of it finds the step done).

use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::{Checkpoint, DocRef, Document};
use crate::source::{Change, Item, Source};
use crate::state::{BeginStep, StepState, Store};

/// The step name of a catalogue entry.
pub(super) const CATALOGUE_STEP: &str = "catalogue";

/// The step-log key of a document's catalogue entries (never a document key: it starts
/// with `@`).
pub(super) fn catalogue_key(doc_key: &str) -> String {
    format!("@catalogue:{doc_key}")
}

/// What the catalogue knows of one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueEntry {
    /// The path relative to the backed-up folder.
    pub path: String,
    /// The path in its Dropbox space (member folder or team space).
    pub full_path: String,
    /// Dropbox's `content_hash` of the version (hex).
    pub hash: Option<String>,
    /// Its size in bytes.
    pub size: u64,
}

/// Records `doc`'s version in the catalogue of `flow` (nothing when it is there already).
pub(super) async fn record(store: &dyn Store, flow: &str, doc: &Document) -> Result<()> {
    let key = catalogue_key(&doc.source.key());
    let version = doc.source.version.clone().unwrap_or_default();
    let begun = store
        .begin_step(flow, &key, &version, CATALOGUE_STEP)
        .await?;
    if let BeginStep::Exists(s) = &begun {
        if s.state == StepState::Done {
            return Ok(());
        }
    }
    let entry = CatalogueEntry {
        path: doc.path.clone(),
        full_path: doc
            .context
            .full_path
            .clone()
            .unwrap_or_else(|| doc.path.clone()),
        hash: doc.hash.as_ref().map(|h| h.value.clone()),
        size: doc.size,
    };
    let out = serde_json::to_value(&entry)
        .map_err(|e| crate::Error::State(format!("catalogue entry as JSON: {e}")))?;
    store
        .finish_step(flow, &key, &version, CATALOGUE_STEP, &out)
        .await?;
    Ok(())
}

/// The catalogue entry of (`key`, `version`) in `flow`, when recorded.
pub(super) async fn entry(
    store: &dyn Store,
    flow: &str,
    key: &str,
    version: &str,
) -> Result<Option<CatalogueEntry>> {
    let steps = store.steps(flow, &catalogue_key(key), version).await?;
    Ok(steps
        .into_iter()
        .find(|s| s.name == CATALOGUE_STEP && s.state == StepState::Done)
        .and_then(|s| s.output)
        .and_then(|o| serde_json::from_value(o).ok()))
}

/// A source whose listed and fetched documents are catalogued before the runner sees them.
pub(super) struct Catalogued<S> {
    inner: S,
    store: Arc<dyn Store>,
    flow: String,
}

impl<S> Catalogued<S> {
    pub(super) fn new(inner: S, store: Arc<dyn Store>, flow: impl Into<String>) -> Self {
        Catalogued {
            inner,
            store,
            flow: flow.into(),
        }
    }
}

#[async_trait]
impl<S: Source> Source for Catalogued<S> {
    async fn changes(&self, since: Option<Checkpoint>) -> Result<BoxStream<'static, Result<Item>>> {
        let feed = self.inner.changes(since).await?;
        let (store, flow) = (self.store.clone(), self.flow.clone());
        Ok(feed
            .then(move |item| {
                let (store, flow) = (store.clone(), flow.clone());
                async move {
                    let item = item?;
                    if let Change::Upsert(doc) = &item.change {
                        record(store.as_ref(), &flow, doc).await?;
                    }
                    Ok(item)
                }
            })
            .boxed())
    }

    async fn fetch(&self, id: &DocRef) -> Result<Option<Document>> {
        let doc = self.inner.fetch(id).await?;
        if let Some(d) = &doc {
            record(self.store.as_ref(), &self.flow, d).await?;
        }
        Ok(doc)
    }

    async fn recheck(&self, ids: &[DocRef]) -> Result<Vec<Option<Document>>> {
        self.inner.recheck(ids).await
    }

    async fn wake(&self) -> Option<BoxStream<'static, ()>> {
        self.inner.wake().await
    }
}
