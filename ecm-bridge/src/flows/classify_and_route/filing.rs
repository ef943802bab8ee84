//! [`FilingSink`]: the CS sink, with names made unique in their folder after case folding.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::TryStreamExt;
use tokio::sync::OnceCell;

use super::classify::keep_original;
use super::config::NameSettings;
use crate::connectors::contentserver::CsSink;
use crate::error::{Error, Result, Step};
use crate::model::{DocRef, Document, Location};
use crate::names::{self, NamePolicy, NameProblem, NameRefused};
use crate::sink::{Receipt, RemovalPolicy, Sink, WriteContext};

/// The names of one target folder as this run knows them: by fold key, the name and the
/// source key that holds it (from the node's description markers, or the document this run
/// is writing under it).
#[derive(Default)]
struct FolderNames {
    /// The run ([`FilingSink::epoch`]) the listing was read in; `None` before the first
    /// listing. (Not 0: a fresh flow's epoch is 0 until its intake source lists, and the
    /// retries of failed records come before that, so a default 0 here once let a retry
    /// skip the listing and take a name another source's document holds.)
    epoch: Option<u64>,
    /// fold key → (name, source keys found in its description / reserving it).
    taken: HashMap<String, (String, String)>,
}

/// Writes through [`CsSink`]; before the first write of a document, looks at the target
/// folder: a name there that equals the document's after case folding and NFC
/// ([`names::fold_key`]), held by another source, makes the name taken. It is then adapted
/// with [`names::disambiguate`] (salt: the source key, so the same name every run), the
/// original kept like any adapted name; or, under [`NamePolicy::Refuse`], the document fails
/// with an error that names it.
///
/// Each folder is listed once per run (the epoch moves when the intake source starts a
/// listing), and the names chosen in the run are reserved in that listing, so two colliding
/// files of one run see each other while writes into one folder still go on concurrently.
pub(super) struct FilingSink {
    pub(super) inner: Arc<CsSink>,
    pub(super) names: NameSettings,
    /// Moved by the intake source at the start of every listing.
    pub(super) epoch: Arc<AtomicU64>,
    /// By target location text (a folder this run creates has its names too).
    folders: Mutex<HashMap<String, Arc<tokio::sync::Mutex<FolderNames>>>>,
    enterprise: OnceCell<i64>,
}

impl FilingSink {
    pub(super) fn new(inner: Arc<CsSink>, names: NameSettings, epoch: Arc<AtomicU64>) -> Self {
        FilingSink {
            inner,
            names,
            epoch,
            folders: Mutex::default(),
            enterprise: OnceCell::new(),
        }
    }

    fn folder_names(&self, location: &str) -> Arc<tokio::sync::Mutex<FolderNames>> {
        let mut map = self.folders.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(location.to_owned()).or_default().clone()
    }

    /// The target folder's id, when it exists.
    async fn folder(&self, doc: &Document) -> Result<Option<i64>> {
        let client = self.inner.client();
        let err = |e| Error::cs(&doc.path, Step::Locate, e);
        let id = match &doc.governance.target {
            Some(Location::CsNode(id)) => Some(*id),
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
                client
                    .nodes()
                    .resolve_path(root, &parts)
                    .await
                    .map_err(err)?
                    .map(|n| n.id)
            }
            _ => None,
        };
        Ok(id)
    }

    /// `doc` with a name that is free in its folder (or an error under `refuse`); the name is
    /// reserved for this run.
    async fn unique(&self, doc: &Document) -> Result<Document> {
        let source = doc.source.key();
        let want = doc.target_name().to_owned();
        let location = doc
            .governance
            .target
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let epoch = self.epoch.load(Ordering::SeqCst);
        let names_of = self.folder_names(&location);
        let mut known = names_of.lock().await;
        if known.epoch != Some(epoch) {
            let listed: Vec<_> = match self.folder(doc).await? {
                Some(folder) => self
                    .inner
                    .client()
                    .nodes()
                    .children(folder)
                    .page_size(100)
                    .into_stream()
                    .try_collect()
                    .await
                    .map_err(|e| Error::cs(&doc.path, Step::Locate, e))?,
                // A new folder: nothing in it yet but what this run writes.
                None => Vec::new(),
            };
            known.epoch = Some(epoch);
            known.taken = listed
                .into_iter()
                .map(|n| {
                    let holder = n.description.clone().unwrap_or_default();
                    (names::fold_key(&n.name), (n.name, holder))
                })
                .collect();
        }
        let holds = |holder: &str| holder.contains(&source);
        let clash = match known.taken.get(&names::fold_key(&want)) {
            Some((name, holder)) if !holds(holder) => Some(name.clone()),
            _ => None,
        };
        let Some(clash) = clash else {
            known
                .taken
                .insert(names::fold_key(&want), (want.clone(), source));
            return Ok(doc.clone());
        };
        if self.names.policy == NamePolicy::Refuse {
            let refused = NameRefused {
                name: want,
                problems: vec![NameProblem::Collision { with: clash }],
            };
            return Err(Error::governance(
                &doc.path,
                Step::Write,
                format!("{refused} (names policy: refuse)"),
            ));
        }
        let out = self.disambiguated(doc);
        let new = out.target_name().to_owned();
        tracing::info!(doc = %doc.path, taken = %clash, name = %new, "name taken in the target folder; adapted");
        known.taken.insert(names::fold_key(&new), (new, source));
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

    fn server(&self) -> &str {
        self.inner.server()
    }

    fn steps(&self) -> Vec<Arc<dyn crate::runner::Step>> {
        self.inner.steps()
    }

    async fn remove(&self, target: &DocRef, policy: RemovalPolicy) -> Result<()> {
        self.inner.remove(target, policy).await
    }
}
