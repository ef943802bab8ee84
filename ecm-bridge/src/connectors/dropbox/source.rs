//! [`DropboxSource`]: a Dropbox folder as a change feed, with tags, properties and a longpoll wake-up.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dropbox_client::models::file_properties::TemplateFilterBase;
use dropbox_client::models::files::{
    FileMetadata, GetMetadataArg, ListFolderArg, ListFolderResult, Metadata,
};
use dropbox_client::Client;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use futures::FutureExt;
use tokio::sync::OnceCell;

use super::{is_not_found, normalize_root, relative_to, TAG_BATCH};
use crate::error::{Error, Result, Step};
use crate::model::{Body, ByteStream, Checkpoint, ContentHash, DocRef, Document};
use crate::source::{Change, Item, Source};

/// The bytes of revision `rev` of a file (downloaded by its `rev:` path, so a later edit
/// cannot change them), opened on demand; `label` names the file in errors.
pub(crate) fn rev_body(client: &Client, rev: &str, label: &str) -> Body {
    let client = client.clone();
    let rev_path = format!("rev:{rev}");
    let label = label.to_owned();
    Body::new(move || {
        let client = client.clone();
        let rev_path = rev_path.clone();
        let label = label.clone();
        async move {
            let download = client
                .files()
                .download(rev_path)
                .await
                .map_err(|e| Error::dropbox(label, Step::Read, e))?;
            // Not hashed here: every sink verifies the bytes against `doc.hash`, this
            // rev's `content_hash` (crate::verify), and a second pass would double the
            // hashing of every byte.
            let s: ByteStream = download
                .into_unhashed_stream()
                .map_err(io::Error::other)
                .boxed();
            Ok(s)
        }
        .boxed()
    })
}

/// A Dropbox folder as a [`Source`].
///
/// ```no_run
/// # fn demo(client: dropbox_client::Client) {
/// use ecm_bridge::connectors::dropbox::DropboxSource;
/// let source = DropboxSource::new(client, "/Marketing")
///     .recursive(true)
///     .property_templates(["Governance"]);
/// # }
/// ```
#[derive(Clone)]
pub struct DropboxSource {
    client: Client,
    root: String,
    recursive: bool,
    with_tags: bool,
    template_names: Vec<String>,
    team: Option<String>,
    templates: Arc<OnceCell<Vec<(String, String)>>>,
    account: Arc<OnceCell<Option<String>>>,
}

impl std::fmt::Debug for DropboxSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DropboxSource")
            .field("root", &self.root)
            .field("recursive", &self.recursive)
            .finish_non_exhaustive()
    }
}

impl DropboxSource {
    /// Files below `root` (`""` or `/` for the whole account).
    pub fn new(client: Client, root: &str) -> Self {
        DropboxSource {
            client,
            root: normalize_root(root),
            recursive: true,
            with_tags: true,
            template_names: Vec::new(),
            team: None,
            templates: Arc::default(),
            account: Arc::default(),
        }
    }

    /// Whether sub-folders are listed (default yes).
    pub fn recursive(mut self, yes: bool) -> Self {
        self.recursive = yes;
        self
    }

    /// Whether each file's tags are read (one `files/tags/get` call per 20 files; default yes).
    pub fn with_tags(mut self, yes: bool) -> Self {
        self.with_tags = yes;
        self
    }

    /// Property templates (by name) whose values are read with the listing, into
    /// `context.properties` as `Template.field`.
    pub fn property_templates<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.template_names = names.into_iter().map(Into::into).collect();
        self
    }

    /// The team or namespace name recorded in each document's context.
    pub fn team(mut self, team: impl Into<String>) -> Self {
        self.team = Some(team.into());
        self
    }

    /// The root, as given (`""` for the whole account).
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The templates (id, name) named in [`DropboxSource::property_templates`].
    async fn templates(&self) -> Result<&Vec<(String, String)>> {
        self.templates
            .get_or_try_init(|| async {
                if self.template_names.is_empty() {
                    return Ok(Vec::new());
                }
                let props = self.client.file_properties();
                let err = |e| Error::dropbox("property templates", Step::List, e);
                let ids = props.list_templates_for_user().await.map_err(err)?;
                let mut out = Vec::new();
                for id in ids.template_ids {
                    let t = props.get_template_for_user(id.clone()).await.map_err(err)?;
                    if self.template_names.contains(&t.name) {
                        out.push((id, t.name));
                    }
                }
                if out.len() < self.template_names.len() {
                    return Err(Error::Config(format!(
                        "Dropbox property templates not found: {:?} (found {:?})",
                        self.template_names,
                        out.iter().map(|(_, n)| n).collect::<Vec<_>>()
                    )));
                }
                Ok(out)
            })
            .await
    }

    async fn account(&self) -> Result<Option<String>> {
        self.account
            .get_or_try_init(|| async {
                let a = self
                    .client
                    .users()
                    .get_current_account()
                    .await
                    .map_err(|e| Error::dropbox("current account", Step::List, e))?;
                Ok(Some(a.email))
            })
            .await
            .cloned()
    }

    fn filter(&self, templates: &[(String, String)]) -> Option<TemplateFilterBase> {
        (!templates.is_empty()).then(|| {
            TemplateFilterBase::FilterSome(templates.iter().map(|(id, _)| id.clone()).collect())
        })
    }

    async fn tags_of(&self, files: &[&FileMetadata]) -> Result<HashMap<String, Vec<String>>> {
        let mut out = HashMap::new();
        if !self.with_tags {
            return Ok(out);
        }
        let paths: Vec<&str> = files
            .iter()
            .filter_map(|f| f.path_lower.as_deref())
            .collect();
        for batch in paths.chunks(TAG_BATCH) {
            let found = match self.client.files().get_tags(batch.iter().copied()).await {
                Ok(res) => res.paths_to_tags,
                // A file of the batch is gone since it was listed (moved or deleted; a page
                // can hold a file's earlier place and its later one): ask one by one and leave
                // the gone ones without tags. The feed says where they went.
                Err(e) if is_not_found(&e) => {
                    let mut found = Vec::new();
                    for path in batch.iter().filter(|_| batch.len() > 1) {
                        match self.client.files().get_tags([*path]).await {
                            Ok(res) => found.extend(res.paths_to_tags),
                            Err(e) if is_not_found(&e) => {}
                            Err(e) => return Err(Error::dropbox(*path, Step::List, e)),
                        }
                    }
                    found
                }
                Err(e) => return Err(Error::dropbox(batch.join(", "), Step::List, e)),
            };
            for p in found {
                let tags = p
                    .tags
                    .iter()
                    .filter_map(|t| t.text().map(str::to_owned))
                    .collect();
                out.insert(p.path.to_lowercase(), tags);
            }
        }
        Ok(out)
    }

    fn document(
        &self,
        f: &FileMetadata,
        tags: Vec<String>,
        templates: &[(String, String)],
        account: Option<String>,
    ) -> Option<Document> {
        let full = f.path_display.clone()?;
        let relative = relative_to(&self.root, &full, f.path_lower.as_deref())?;
        let body = rev_body(&self.client, &f.rev, &full);
        let mut doc = Document::new(DocRef::dropbox(&f.id, &f.rev), relative, f.size, body);
        doc.name = f.name.clone();
        doc.hash = f.content_hash.clone().map(ContentHash::dropbox);
        doc.modified = Some(f.client_modified);
        doc.context.account = account;
        doc.context.team = self.team.clone();
        doc.context.tags = tags;
        doc.context.full_path = Some(full);
        for group in f.property_groups.iter().flatten() {
            if let Some((_, name)) = templates.iter().find(|(id, _)| *id == group.template_id) {
                for field in &group.fields {
                    doc.context
                        .properties
                        .insert(format!("{name}.{}", field.name), field.value.clone());
                }
            }
        }
        Some(doc)
    }

    /// The metadata of the file `id` (with the configured property groups), `None` when it
    /// is gone or not a file.
    async fn file_metadata(
        &self,
        id: &DocRef,
        templates: &[(String, String)],
    ) -> Result<Option<FileMetadata>> {
        let mut arg = GetMetadataArg::new(id.id.clone());
        if let Some(f) = self.filter(templates) {
            arg = arg.include_property_groups(f);
        }
        match self.client.files().get_metadata(arg).await {
            Ok(Metadata::File(f)) => Ok(Some(f)),
            Ok(_) => Ok(None),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(Error::dropbox(id.to_string(), Step::List, e)),
        }
    }

    async fn page_items(&self, page: ListFolderResult) -> Result<Vec<Item>> {
        let templates = self.templates().await?;
        let account = self.account().await?;
        let files: Vec<&FileMetadata> = page.entries.iter().filter_map(Metadata::as_file).collect();
        let tags = self.tags_of(&files).await?;
        let mut items = Vec::new();
        for entry in &page.entries {
            match entry {
                Metadata::File(f) => {
                    let t = f
                        .path_lower
                        .as_deref()
                        .and_then(|p| tags.get(p))
                        .cloned()
                        .unwrap_or_default();
                    if let Some(doc) = self.document(f, t, templates, account.clone()) {
                        items.push(Item::upsert(doc));
                    }
                }
                Metadata::Deleted(d) => {
                    if let Some(path) = d
                        .path_display
                        .as_deref()
                        .and_then(|p| relative_to(&self.root, p, d.path_lower.as_deref()))
                    {
                        items.push(Item {
                            change: Change::Deleted { path },
                            checkpoint: None,
                        });
                    }
                }
                Metadata::Folder(_) => {}
            }
        }
        let cp = Checkpoint(page.cursor);
        match items.last_mut() {
            Some(last) => last.checkpoint = Some(cp),
            None => items.push(Item {
                change: Change::Nothing,
                checkpoint: Some(cp),
            }),
        }
        Ok(items)
    }
}

#[async_trait]
impl Source for DropboxSource {
    async fn changes(&self, since: Option<Checkpoint>) -> Result<BoxStream<'static, Result<Item>>> {
        let templates = self.templates().await?.clone();
        let files = self.client.files();
        let root = if self.root.is_empty() {
            "/".to_owned()
        } else {
            self.root.clone()
        };
        let full = || {
            let mut arg = ListFolderArg::new(self.root.clone()).recursive(self.recursive);
            if let Some(f) = self.filter(&templates) {
                arg = arg.include_property_groups(f);
            }
            files.list_folder(arg).pages()
        };
        let pages = match since {
            None => full(),
            Some(cp) => match files.list_folder_continue(cp.0).await {
                Ok(first) => {
                    let rest = if first.has_more {
                        files.list_folder_from_cursor(first.cursor.clone()).pages()
                    } else {
                        stream::empty().boxed()
                    };
                    stream::once(async move { Ok(first) }).chain(rest).boxed()
                }
                // The server no longer accepts the cursor: list everything again. What is
                // written already is found unchanged in the state store (or adopted at the
                // target), so nothing is written twice.
                Err(e) if e.api().is_some_and(|a| a.has_tag("reset")) => {
                    tracing::warn!(root = %root, "Dropbox reset the cursor; listing again from the start");
                    full()
                }
                Err(e) => return Err(Error::dropbox(root, Step::List, e)),
            },
        };
        let this = self.clone();
        Ok(pages
            .then(move |page| {
                let this = this.clone();
                let root = root.clone();
                async move {
                    match page {
                        Ok(p) => this.page_items(p).await,
                        Err(e) => Err(Error::dropbox(root, Step::List, e)),
                    }
                }
            })
            .flat_map(|r| match r {
                Ok(items) => stream::iter(items.into_iter().map(Ok)).boxed(),
                Err(e) => stream::once(async move { Err(e) }).boxed(),
            })
            .boxed())
    }

    async fn fetch(&self, id: &DocRef) -> Result<Option<Document>> {
        Ok(self
            .recheck(std::slice::from_ref(id))
            .await?
            .pop()
            .flatten())
    }

    /// The files' metadata (with their properties) one call each, and their tags in batches
    /// of `files/tags/get`; no bytes are read.
    async fn recheck(&self, ids: &[DocRef]) -> Result<Vec<Option<Document>>> {
        let templates = self.templates().await?;
        let mut files = Vec::with_capacity(ids.len());
        for id in ids {
            files.push(self.file_metadata(id, templates).await?);
        }
        let account = self.account().await?;
        let found: Vec<&FileMetadata> = files.iter().flatten().collect();
        let tags = self.tags_of(&found).await?;
        Ok(files
            .iter()
            .map(|f| {
                let f = f.as_ref()?;
                let t = f
                    .path_lower
                    .as_deref()
                    .and_then(|p| tags.get(p))
                    .cloned()
                    .unwrap_or_default();
                self.document(f, t, templates, account.clone())
            })
            .collect())
    }

    async fn wake(&self) -> Option<BoxStream<'static, ()>> {
        let files = self.client.files();
        let arg = ListFolderArg::new(self.root.clone()).recursive(self.recursive);
        // Arm now: the longpoll waits on a cursor taken before this returns, so a change made
        // at any later moment wakes it. If Dropbox cannot be reached, the stream takes its
        // cursor on first poll instead.
        let armed = match files.list_folder_get_latest_cursor(arg.clone()).await {
            Ok(r) => Some(r.cursor),
            Err(e) => {
                tracing::warn!(error = %e, "Dropbox wake-up: no cursor yet; will retry when polled");
                None
            }
        };
        Some(
            stream::unfold((files, arg, armed), |(files, arg, mut cursor)| async move {
                loop {
                    let cur = match cursor.take() {
                        Some(c) => c,
                        None => match files.list_folder_get_latest_cursor(arg.clone()).await {
                            Ok(r) => r.cursor,
                            Err(e) => {
                                tracing::warn!(error = %e, "Dropbox wake-up: no cursor; trying again");
                                tokio::time::sleep(Duration::from_secs(5)).await;
                                continue;
                            }
                        },
                    };
                    match files.list_folder_longpoll(cur.clone(), Duration::from_secs(30)).await {
                        Ok(r) if r.changes => {
                            // The next wait starts from now: whatever changes during the run
                            // that follows wakes us again.
                            let next = files
                                .list_folder_get_latest_cursor(arg.clone())
                                .await
                                .ok()
                                .map(|r| r.cursor);
                            return Some(((), (files, arg, next)));
                        }
                        Ok(_) => cursor = Some(cur),
                        Err(e) => {
                            tracing::warn!(error = %e, "Dropbox longpoll failed; trying again");
                            tokio::time::sleep(Duration::from_secs(5)).await;
                        }
                    }
                }
            })
            .boxed(),
        )
    }
}
