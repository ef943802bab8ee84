//! [`FilingSink`]: the CS sink, with names made unique in their folder after case folding.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::TryStreamExt;
use tokio::sync::OnceCell;

use super::classify::keep_original;
use super::config::NameSettings;
use crate::connectors::contentserver::CsSink;
use crate::error::{Error, Result, Step};
use crate::model::{Document, Location};
use crate::names::{self, NamePolicy, NameProblem, NameRefused};
use crate::sink::{Receipt, Sink, WriteContext};

/// Writes through [`CsSink`]; before the first write of a document, looks at the target
/// folder: a name there that equals the document's after case folding and NFC
/// ([`names::fold_key`]), written from another source, makes the name taken. It is then
/// adapted with [`names::disambiguate`] (salt: the source key, so the same name every run),
/// the original kept like any adapted name; or, under [`NamePolicy::Refuse`], the document
/// fails with an error that names it. Writes into one folder are made one at a time, so two
/// colliding files of one run see each other.
pub(super) struct FilingSink {
    pub(super) inner: Arc<CsSink>,
    pub(super) names: NameSettings,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    enterprise: OnceCell<i64>,
}

impl FilingSink {
    pub(super) fn new(inner: Arc<CsSink>, names: NameSettings) -> Self {
        FilingSink {
            inner,
            names,
            locks: Mutex::default(),
            enterprise: OnceCell::new(),
        }
    }

    fn folder_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, v| Arc::strong_count(v) > 1);
        map.entry(key.to_owned()).or_default().clone()
    }

    /// The target folder's id, when it exists.
    async fn folder(&self, doc: &Document) -> Result<Option<i64>> {
        let client = self.inner.client();
        let err = |e| Error::cs(&doc.path, Step::Locate, e);
        match &doc.governance.target {
            Some(Location::CsNode(id)) => Ok(Some(*id)),
            Some(Location::CsFolder { root, path }) => {
                let root = match root {
                    Some(r) => *r,
                    None => *self
                        .enterprise
                        .get_or_try_init(|| async {
                            client.nodes().enterprise_workspace().await.map(|n| n.id)
                        })
                        .await
                        .map_err(err)?,
                };
                let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
                Ok(client
                    .nodes()
                    .resolve_path(root, &parts)
                    .await
                    .map_err(err)?
                    .map(|n| n.id))
            }
            _ => Ok(None),
        }
    }

    /// `doc` with a name that is free in its folder (or an error under `refuse`).
    async fn unique(&self, doc: &Document) -> Result<Document> {
        let Some(folder) = self.folder(doc).await? else {
            return Ok(doc.clone());
        };
        let want = doc.target_name().to_owned();
        let key = names::fold_key(&want);
        let source = doc.source.key();
        let clash = self
            .inner
            .client()
            .nodes()
            .children(folder)
            .page_size(100)
            .into_stream()
            .try_filter(|n| {
                let ours = n
                    .description
                    .as_deref()
                    .unwrap_or_default()
                    .contains(&source);
                futures::future::ready(!ours && names::fold_key(&n.name) == key)
            })
            .try_next()
            .await
            .map_err(|e| Error::cs(&doc.path, Step::Locate, e))?;
        let Some(clash) = clash else {
            return Ok(doc.clone());
        };
        if self.names.policy == NamePolicy::Refuse {
            let refused = NameRefused {
                name: want,
                problems: vec![NameProblem::Collision { with: clash.name }],
            };
            return Err(Error::governance(
                &doc.path,
                Step::Write,
                format!("{refused} (names policy: refuse)"),
            ));
        }
        let mut out = doc.clone();
        let new = names::disambiguate(&want, &source);
        tracing::info!(doc = %doc.path, taken = %clash.name, name = %new, "name taken in the target folder; adapted");
        keep_original(&mut out, &new, &self.names);
        Ok(out)
    }

    /// `doc` under the name [`FilingSink::unique`] gives it when its own is taken.
    fn disambiguated(&self, doc: &Document) -> Document {
        let mut out = doc.clone();
        let new = names::disambiguate(doc.target_name(), &doc.source.key());
        keep_original(&mut out, &new, &self.names);
        out
    }
}

#[async_trait]
impl Sink for FilingSink {
    async fn write(&self, doc: &Document, ctx: &WriteContext) -> Result<Receipt> {
        if ctx.previous.is_some() {
            return self.inner.write(doc, ctx).await;
        }
        let lock = self.folder_lock(
            &doc.governance
                .target
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        );
        let _held = lock.lock().await;
        let doc = self.unique(doc).await?;
        self.inner.write(&doc, ctx).await
    }

    async fn find_existing(&self, doc: &Document, ctx: &WriteContext) -> Result<Option<Receipt>> {
        if let Some(r) = self.inner.find_existing(doc, ctx).await? {
            return Ok(Some(r));
        }
        if ctx.previous.is_some() {
            return Ok(None);
        }
        self.inner
            .find_existing(&self.disambiguated(doc), ctx)
            .await
    }

    async fn complete(&self, doc: &Document, receipt: &Receipt, ctx: &WriteContext) -> Result<()> {
        self.inner.complete(doc, receipt, ctx).await
    }

    fn describe(&self, doc: &Document) -> String {
        self.inner.describe(doc)
    }

    fn has_deferred(&self, doc: &Document) -> bool {
        self.inner.has_deferred(doc)
    }

    async fn run_deferred(&self, doc: &Document, receipt: &Receipt) -> Result<()> {
        self.inner.run_deferred(doc, receipt).await
    }

    async fn deferred_done(&self, doc: &Document, receipt: &Receipt) -> Result<bool> {
        self.inner.deferred_done(doc, receipt).await
    }
}
