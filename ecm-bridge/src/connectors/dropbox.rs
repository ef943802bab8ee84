//! Dropbox as a source ([`DropboxSource`]: a folder, recursive, cursor-based changes with the
//! page cursor as checkpoint, tags and property values, longpoll wake-up), as a marker of
//! archived files ([`DropboxMarker`]: tag, property, move), and as a sink ([`DropboxSink`]:
//! upload, shared link; use case 2).

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dropbox_client::models::file_properties::{PropertyField, PropertyGroup, TemplateFilterBase};
use dropbox_client::models::files::{
    CommitInfo, FileMetadata, GetMetadataArg, ListFolderArg, ListFolderResult, Metadata,
    RelocationArg, WriteMode,
};
use dropbox_client::models::sharing::{LinkAudience, SharedLinkSettings};
use dropbox_client::{Client, ErrorKind};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use futures::FutureExt;
use tokio::sync::OnceCell;

use crate::error::{Error, Result, Step};
use crate::model::{Body, ByteStream, Checkpoint, ContentHash, DocRef, Document, Location};
use crate::sink::{AfterWrite, Receipt, Sink, WriteAction, WriteContext};
use crate::source::{Change, Item, Source};
use crate::state::fold_path;
use crate::verify::{self, VerifiedSlot};

/// Paths per `files/tags/get` call.
const TAG_BATCH: usize = 20;

/// `""` for the root, else `/a/b` without a trailing slash.
fn normalize_root(root: &str) -> String {
    let trimmed = root.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

/// `display` (a display path) relative to `root`, if it is below it. Whether it is below is
/// decided on lowercased paths (`lower`, the server's `path_lower` when it sent one, both sides
/// folded by [`fold_path`]), so a root whose casing differs in any letter, ASCII or not,
/// still matches; the relative part keeps the display casing, one component per component of
/// the root skipped.
fn relative_to(root: &str, display: &str, lower: Option<&str>) -> Option<String> {
    if root.is_empty() {
        return Some(display.trim_start_matches('/').to_owned());
    }
    let root_lower = fold_path(root);
    let lower = fold_path(lower.unwrap_or(display));
    let below = match lower.strip_prefix(&root_lower) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    };
    if !below {
        return None;
    }
    let depth = root_lower.trim_matches('/').split('/').count();
    let rest: Vec<&str> = display
        .trim_start_matches('/')
        .split('/')
        .skip(depth)
        .collect();
    Some(rest.join("/"))
}

fn is_not_found(e: &dropbox_client::Error) -> bool {
    e.kind() == ErrorKind::NotFound
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
            let res = self
                .client
                .files()
                .get_tags(batch.iter().copied())
                .await
                .map_err(|e| Error::dropbox(batch.join(", "), Step::List, e))?;
            for p in res.paths_to_tags {
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
        let client = self.client.clone();
        let rev_path = format!("rev:{}", f.rev);
        let label = full.clone();
        let body = Body::new(move || {
            let client = client.clone();
            let rev_path = rev_path.clone();
            let label = label.clone();
            async move {
                let download = client
                    .files()
                    .download(rev_path)
                    .await
                    .map_err(|e| Error::dropbox(label, Step::Read, e))?;
                let s: ByteStream = download.into_stream().map_err(io::Error::other).boxed();
                Ok(s)
            }
            .boxed()
        });
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

/// How [`DropboxMarker`] fills a property group (field names of the template).
#[derive(Debug, Clone)]
pub struct PropertyMarking {
    /// The template's name (`Governance` in the demo).
    pub template: String,
    /// `(field, value)` for the status, e.g. `("status", "archived")`.
    pub status: Option<(String, String)>,
    /// The field that receives the target node id (`cs_node_id`).
    pub node_id_field: Option<String>,
    /// The field that receives the RM class (`retention_class`).
    pub retention_field: Option<String>,
}

impl PropertyMarking {
    /// The demo's `Governance` template: `status = archived`, `cs_node_id`, `retention_class`.
    pub fn governance() -> Self {
        PropertyMarking {
            template: "Governance".into(),
            status: Some(("status".into(), "archived".into())),
            node_id_field: Some("cs_node_id".into()),
            retention_field: Some("retention_class".into()),
        }
    }
}

/// Marks a Dropbox file after it was archived, so people see it is done: a tag, a property
/// group carrying the target id, and/or a move to an "archived" folder. Idempotent.
pub struct DropboxMarker {
    client: Client,
    tag: Option<String>,
    property: Option<PropertyMarking>,
    move_to: Option<String>,
    template_id: OnceCell<String>,
}

impl std::fmt::Debug for DropboxMarker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DropboxMarker")
            .field("tag", &self.tag)
            .field("property", &self.property)
            .field("move_to", &self.move_to)
            .finish_non_exhaustive()
    }
}

impl DropboxMarker {
    /// A marker that does nothing yet.
    pub fn new(client: Client) -> Self {
        DropboxMarker {
            client,
            tag: None,
            property: None,
            move_to: None,
            template_id: OnceCell::new(),
        }
    }

    /// Adds this tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    /// Writes this property group.
    pub fn property(mut self, marking: PropertyMarking) -> Self {
        self.property = Some(marking);
        self
    }

    /// Moves the file into this folder.
    pub fn move_to(mut self, folder: impl Into<String>) -> Self {
        self.move_to = Some(normalize_root(&folder.into()));
        self
    }

    async fn template_id(&self, name: &str) -> Result<&String> {
        self.template_id
            .get_or_try_init(|| async {
                let props = self.client.file_properties();
                let err = |e| Error::dropbox("property templates", Step::Mark, e);
                for id in props
                    .list_templates_for_user()
                    .await
                    .map_err(err)?
                    .template_ids
                {
                    if props
                        .get_template_for_user(id.clone())
                        .await
                        .map_err(err)?
                        .name
                        == name
                    {
                        return Ok(id);
                    }
                }
                Err(Error::Config(format!(
                    "Dropbox property template {name:?} not found"
                )))
            })
            .await
    }
}

#[async_trait]
impl AfterWrite for DropboxMarker {
    async fn after_write(&self, doc: &Document, receipt: &Receipt) -> Result<()> {
        let files = self.client.files();
        let err = |e| Error::dropbox(doc.path.clone(), Step::Mark, e);
        // Where the file is now (an earlier attempt may have moved it).
        let current = match files.get_metadata(doc.source.id.clone()).await {
            Ok(Metadata::File(f)) => f,
            Ok(_) => return Ok(()),
            Err(e) if is_not_found(&e) => {
                tracing::info!(doc = %doc.path, "not marked: gone from Dropbox");
                return Ok(());
            }
            Err(e) => return Err(err(e)),
        };
        let path = current
            .path_display
            .clone()
            .unwrap_or_else(|| doc.path.clone());
        if let Some(tag) = &self.tag {
            files
                .add_tag(path.clone(), tag.clone())
                .await
                .map_err(err)?;
        }
        if let Some(p) = &self.property {
            let template_id = self.template_id(&p.template).await?.clone();
            let mut fields = Vec::new();
            if let Some((k, v)) = &p.status {
                fields.push(PropertyField::new(k.clone(), v.clone()));
            }
            if let Some(k) = &p.node_id_field {
                fields.push(PropertyField::new(k.clone(), receipt.target.id.clone()));
            }
            if let Some(k) = &p.retention_field {
                let class = doc.governance.rm_class.clone().unwrap_or_default();
                fields.push(PropertyField::new(k.clone(), class));
            }
            self.client
                .file_properties()
                .overwrite(
                    doc.source.id.clone(),
                    vec![PropertyGroup {
                        template_id,
                        fields,
                    }],
                )
                .await
                .map_err(err)?;
        }
        if let Some(folder) = &self.move_to {
            let dest = format!("{folder}/{}", current.name);
            if !path.eq_ignore_ascii_case(&dest) {
                files
                    .move_entry(RelocationArg::new(doc.source.id.clone(), dest).autorename(true))
                    .await
                    .map_err(err)?;
            }
        }
        Ok(())
    }
}

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
        let body = verify::verified(
            doc.body.open().await?,
            doc.path.clone(),
            doc.size,
            doc.hash.clone(),
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
        if meta
            .content_hash
            .as_deref()
            .is_some_and(|h| h != sent.dropbox)
        {
            return Err(Error::Verify {
                doc: doc.path.clone(),
                expected: ContentHash::dropbox(sent.dropbox.clone()).to_string(),
                actual: ContentHash::dropbox(meta.content_hash.clone().unwrap_or_default())
                    .to_string(),
            });
        }
        self.share(doc, &path).await?;
        Ok(Receipt {
            target: DocRef::dropbox(meta.id, meta.rev),
            bytes: meta.size,
            sent_hashes: sent.hashes(),
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
            .filter(|h| h.kind == crate::model::HashKind::DropboxContentHash)
        {
            Some(h) => h.value.clone(),
            None => {
                let s = doc.body.open().await?;
                verify::hash_stream(s)
                    .await
                    .map_err(|e| verify::io_error(&doc.path, Step::Adopt, e))?
                    .dropbox
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_and_relative_paths() {
        assert_eq!(normalize_root("/"), "");
        assert_eq!(normalize_root("Marketing/"), "/Marketing");
        assert_eq!(
            relative_to("", "/A/b.pdf", None).as_deref(),
            Some("A/b.pdf")
        );
        assert_eq!(
            relative_to("/a", "/A/b.pdf", None).as_deref(),
            Some("b.pdf")
        );
        assert_eq!(relative_to("/a", "/Ab/c.pdf", None), None);
        assert_eq!(relative_to("/a/b", "/a", None), None);
    }

    #[test]
    fn roots_compare_through_path_lower_in_any_letter() {
        // The root as configured and the server's display casing differ in non-ASCII letters
        // (Ü/ü, Ä/ä), which an ASCII-only comparison misses: the file is below the root.
        let root = normalize_root("/Überprüfung/Freigabe");
        assert_eq!(
            relative_to(
                &root,
                "/überprüfung/FREIGABE/Bericht Ä.pdf",
                Some("/überprüfung/freigabe/bericht ä.pdf")
            )
            .as_deref(),
            Some("Bericht Ä.pdf")
        );
        assert_eq!(
            relative_to(
                &root,
                "/ÜBERPRÜFUNG/freigabe",
                Some("/überprüfung/freigabe")
            )
            .as_deref(),
            Some("")
        );
        assert_eq!(
            relative_to(
                &root,
                "/Überprüfung/Freigaben/x.pdf",
                Some("/überprüfung/freigaben/x.pdf")
            ),
            None
        );
    }
}
