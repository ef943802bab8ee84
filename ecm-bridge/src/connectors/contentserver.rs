//! Content Server as a sink ([`CsSink`]: resolve or create the target folder, create the
//! document with its categories in the same request or add a version, then RM classification,
//! hold and permissions, and afterwards the workflow as a deferred step that the runner records;
//! every write carries the source marker so it can be found
//! again) and as a source ([`CsSource`]: a folder tree, or what changed since a modify-date
//! watermark).
//!
//! Names in the governance (categories and attributes, RM classes, holds, members, workflow
//! maps) are resolved to ids once and cached: categories from the Categories volume and their
//! create form (attribute titles), RM classes from the classification volume.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::NaiveDate;
use contentserver_client::api::categories::AttrValue;
use contentserver_client::api::category_definition::AttrType;
use contentserver_client::api::documents::Version;
use contentserver_client::api::nodes::Node;
use contentserver_client::api::processes::StatusKind;
use contentserver_client::{AttrKey, CategoryValues, Client, ErrorKind, Permission, UploadBody};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use futures::FutureExt;
use serde_json::json;
use tokio::sync::OnceCell;

use crate::error::{Error, Result, Step};
use crate::model::{Body, ByteStream, Checkpoint, DocRef, Document, Location, System, Value};
use crate::sink::{Receipt, Sink, WriteAction, WriteContext};
use crate::source::{Change, Item, Source};
use crate::verify::{self, VerifiedSlot};

/// Node types this module needs.
mod types {
    pub const DOCUMENT: i64 = 144;
    pub const CATEGORY: i64 = 131;
    pub const CATEGORIES_VOLUME: i64 = 133;
    pub const CLASSIFICATION_VOLUME: i64 = 198;
    pub const RM_CLASSIFICATION: i64 = 551;
    pub const WORKFLOW_MAP: i64 = 128;
}

/// How deep name lookups walk a volume.
const MAX_WALK_DEPTH: usize = 6;

/// The source markers ([`DocRef::marker`]) found in a description.
fn markers_in(text: &str) -> Vec<DocRef> {
    text.split_whitespace()
        .map(|t| t.trim_matches(|c: char| matches!(c, '(' | ')' | ',' | ';')))
        .filter_map(DocRef::parse_marker)
        .collect()
}

/// One attribute of a category definition.
#[derive(Debug, Clone)]
struct AttrDef {
    key: AttrKey,
    name: String,
    date: bool,
    multi: bool,
}

/// A category definition: its id and attributes by title.
#[derive(Debug, Clone)]
struct CategoryDef {
    id: i64,
    attrs: Vec<AttrDef>,
}

/// Name → id caches.
#[derive(Default)]
struct Directory {
    ews: OnceCell<i64>,
    folders: Mutex<HashMap<(i64, String), i64>>,
    create: tokio::sync::Mutex<()>,
    categories: tokio::sync::Mutex<HashMap<String, Arc<CategoryDef>>>,
    rm_classes: tokio::sync::Mutex<HashMap<String, i64>>,
    members: tokio::sync::Mutex<HashMap<String, i64>>,
    holds: tokio::sync::Mutex<HashMap<String, i64>>,
    maps: tokio::sync::Mutex<HashMap<String, i64>>,
}

/// What [`CsSink::govern`] does after the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Govern {
    /// A new document whose categories went with the create request.
    Created,
    /// A new version: categories are applied or updated.
    AddedVersion,
    /// A write found again: everything idempotent is re-applied.
    Adopted,
}

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
    client: Client,
    default_target: Option<Location>,
    read_back: bool,
    dir: Arc<Directory>,
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

    fn target<'a>(&'a self, doc: &'a Document) -> Result<&'a Location> {
        doc.governance
            .target
            .as_ref()
            .or(self.default_target.as_ref())
            .ok_or_else(|| Error::governance(&doc.path, Step::Locate, "no Content Server target"))
    }

    fn location_text(&self, doc: &Document) -> String {
        match self.target(doc) {
            Ok(loc) => format!("{loc}/{}", doc.target_name()),
            Err(e) => format!("(no target: {e})"),
        }
    }

    async fn ews(&self, doc: &str) -> Result<i64> {
        self.dir
            .ews
            .get_or_try_init(|| async {
                self.client
                    .nodes()
                    .enterprise_workspace()
                    .await
                    .map(|n| n.id)
                    .map_err(|e| Error::cs(doc, Step::Locate, e))
            })
            .await
            .copied()
    }

    /// The container for `loc`; `None` when a folder is missing and `create` is false.
    async fn folder(&self, doc: &Document, loc: &Location, create: bool) -> Result<Option<i64>> {
        let err = |e| Error::cs(&doc.path, Step::Locate, e);
        let (root, path) = match loc {
            Location::CsNode(id) => return Ok(Some(*id)),
            Location::CsFolder { root, path } => (*root, path),
            Location::Dropbox(_) => {
                return Err(Error::governance(
                    &doc.path,
                    Step::Locate,
                    format!("a Content Server sink cannot write to {loc}"),
                ))
            }
        };
        let mut parent = match root {
            Some(r) => r,
            None => self.ews(&doc.path).await?,
        };
        for name in path.split('/').filter(|s| !s.is_empty()) {
            let key = (parent, name.to_lowercase());
            let cached = self
                .dir
                .folders
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&key)
                .copied();
            if let Some(id) = cached {
                parent = id;
                continue;
            }
            let found = match self
                .client
                .nodes()
                .find_child(parent, name)
                .await
                .map_err(err)?
            {
                Some(n) => Some(n.id),
                None if !create => return Ok(None),
                None => {
                    // One creator at a time, so concurrent documents do not race for a name.
                    let _guard = self.dir.create.lock().await;
                    match self
                        .client
                        .nodes()
                        .find_child(parent, name)
                        .await
                        .map_err(err)?
                    {
                        Some(n) => Some(n.id),
                        None => {
                            match self.client.nodes().create_folder(parent, name).send().await {
                                Ok(n) => Some(n.id),
                                Err(e) if e.kind() == ErrorKind::AlreadyExists => self
                                    .client
                                    .nodes()
                                    .find_child(parent, name)
                                    .await
                                    .map_err(err)?
                                    .map(|n| n.id),
                                Err(e) => return Err(err(e)),
                            }
                        }
                    }
                }
            };
            let id = found.ok_or_else(|| {
                Error::governance(&doc.path, Step::Locate, format!("folder {name:?} vanished"))
            })?;
            self.dir
                .folders
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key, id);
            parent = id;
        }
        Ok(Some(parent))
    }

    /// The node named like `doc` in `folder` if it was written from the same source document;
    /// an error if the name belongs to a document of another origin.
    async fn own_child(&self, doc: &Document, folder: i64) -> Result<Option<Node>> {
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

    /// Walks a volume breadth-first for a node named `name` of one of `types`.
    async fn find_in_volume(
        &self,
        volume_type: i64,
        name: &str,
        types: &[i64],
    ) -> contentserver_client::Result<Option<i64>> {
        let volume = self.client.nodes().volume(volume_type).await?;
        let mut queue = VecDeque::from([(volume.id, 0usize)]);
        while let Some((parent, depth)) = queue.pop_front() {
            let children: Vec<Node> = self
                .client
                .nodes()
                .children(parent)
                .into_stream()
                .try_collect()
                .await?;
            for child in children {
                if child.name.eq_ignore_ascii_case(name)
                    && types.contains(&i64::from(child.node_type))
                {
                    return Ok(Some(child.id));
                }
                if child.container && depth + 1 < MAX_WALK_DEPTH {
                    queue.push_back((child.id, depth + 1));
                }
            }
        }
        Ok(None)
    }

    async fn category(&self, doc: &Document, name: &str, folder: i64) -> Result<Arc<CategoryDef>> {
        let mut cache = self.dir.categories.lock().await;
        if let Some(def) = cache.get(&name.to_lowercase()) {
            return Ok(def.clone());
        }
        let err = |e| Error::cs(&doc.path, Step::Categories, e);
        let id = self
            .find_in_volume(types::CATEGORIES_VOLUME, name, &[types::CATEGORY])
            .await
            .map_err(err)?
            .ok_or_else(|| {
                Error::governance(
                    &doc.path,
                    Step::Categories,
                    format!("no category named {name:?}"),
                )
            })?;
        let definition = self
            .client
            .categories()
            .definition(folder, id)
            .await
            .map_err(err)?;
        let attrs = definition
            .attributes
            .iter()
            // Sets are not written by name (yet).
            .filter_map(|a| {
                Some(AttrDef {
                    key: a.value_key(id)?,
                    name: a.name.clone(),
                    date: a.attr_type == AttrType::Date,
                    multi: a.is_multi_value(),
                })
            })
            .collect();
        let def = Arc::new(CategoryDef { id, attrs });
        cache.insert(name.to_lowercase(), def.clone());
        Ok(def)
    }

    async fn member(&self, doc: &Document, step: Step, name: &str) -> Result<i64> {
        let mut cache = self.dir.members.lock().await;
        if let Some(id) = cache.get(&name.to_lowercase()) {
            return Ok(*id);
        }
        let members = self.client.members();
        let err = |e| Error::cs(&doc.path, step, e);
        let found = match members.find_user(name).await.map_err(err)? {
            Some(m) => m.id,
            None => members
                .find_group(name)
                .await
                .map_err(err)?
                .map(|m| m.id)
                .ok_or_else(|| {
                    Error::governance(&doc.path, step, format!("no user or group named {name:?}"))
                })?,
        };
        cache.insert(name.to_lowercase(), found);
        Ok(found)
    }

    async fn rm_class(&self, doc: &Document, name: &str) -> Result<i64> {
        let mut cache = self.dir.rm_classes.lock().await;
        if let Some(id) = cache.get(&name.to_lowercase()) {
            return Ok(*id);
        }
        let id = self
            .find_in_volume(
                types::CLASSIFICATION_VOLUME,
                name,
                &[types::RM_CLASSIFICATION],
            )
            .await
            .map_err(|e| Error::cs(&doc.path, Step::Classify, e))?
            .ok_or_else(|| {
                Error::governance(
                    &doc.path,
                    Step::Classify,
                    format!("no RM classification named {name:?}"),
                )
            })?;
        cache.insert(name.to_lowercase(), id);
        Ok(id)
    }

    async fn hold(&self, doc: &Document, name: &str) -> Result<i64> {
        let mut cache = self.dir.holds.lock().await;
        if let Some(id) = cache.get(&name.to_lowercase()) {
            return Ok(*id);
        }
        let hold = self
            .client
            .records()
            .hold_by_name(name)
            .await
            .map_err(|e| Error::cs(&doc.path, Step::Hold, e))?
            .ok_or_else(|| {
                Error::governance(&doc.path, Step::Hold, format!("no hold named {name:?}"))
            })?;
        cache.insert(name.to_lowercase(), hold.id);
        Ok(hold.id)
    }

    /// The id of the workflow map named `map` (or given as digits): from the workflows the
    /// server offers for `node` (`GET api/v2/docworkflows`), else from a search by name.
    async fn workflow_map(&self, doc: &Document, map: &str, node: i64) -> Result<i64> {
        if let Ok(id) = map.trim().parse::<i64>() {
            return Ok(id);
        }
        let mut cache = self.dir.maps.lock().await;
        if let Some(id) = cache.get(&map.to_lowercase()) {
            return Ok(*id);
        }
        let err = |e| Error::cs(&doc.path, Step::Workflow, e);
        let mut id = self
            .client
            .workflows()
            .offered_for(node)
            .await
            .map_err(err)?
            .into_iter()
            .find(|w| w.name.eq_ignore_ascii_case(map))
            .map(|w| w.id);
        if id.is_none() {
            let hits: Vec<_> = self
                .client
                .search()
                .by_name(map)
                .into_stream()
                .try_collect()
                .await
                .map_err(err)?;
            id = hits
                .iter()
                .find(|h| {
                    h.node.node_type == types::WORKFLOW_MAP && h.node.name.eq_ignore_ascii_case(map)
                })
                .map(|h| h.node.id);
        }
        let id = id.ok_or_else(|| {
            Error::governance(
                &doc.path,
                Step::Workflow,
                format!("no workflow map named {map:?}"),
            )
        })?;
        cache.insert(map.to_lowercase(), id);
        Ok(id)
    }

    /// A model value as an attribute value of `attr`.
    async fn attr_value(&self, doc: &Document, attr: &AttrDef, v: &Value) -> Result<AttrValue> {
        let one = match v {
            Value::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(
                        Box::pin(self.attr_value(
                            doc,
                            &AttrDef {
                                multi: false,
                                ..attr.clone()
                            },
                            i,
                        ))
                        .await?,
                    );
                }
                return Ok(AttrValue::Multi(out));
            }
            Value::Text(s) if attr.date => {
                let day = s.get(..10).unwrap_or(s);
                AttrValue::Date(NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| {
                    Error::governance(
                        &doc.path,
                        Step::Categories,
                        format!("{:?} needs a date, not {s:?}", attr.name),
                    )
                })?)
            }
            Value::Text(s) => AttrValue::Text(s.clone()),
            Value::Integer(n) => AttrValue::Integer(*n),
            Value::Date(d) => AttrValue::Date(*d),
            Value::Bool(b) => AttrValue::Boolean(*b),
            Value::User(name) => AttrValue::User(self.member(doc, Step::Categories, name).await?),
        };
        Ok(if attr.multi {
            AttrValue::Multi(vec![one])
        } else {
            one
        })
    }

    /// The category values of `doc`, per category.
    async fn category_values(&self, doc: &Document, folder: i64) -> Result<Vec<(i64, CatValues)>> {
        let mut out = Vec::new();
        for (cat_name, attrs) in &doc.governance.categories {
            let def = self.category(doc, cat_name, folder).await?;
            let mut values = Vec::new();
            for (attr_name, v) in attrs {
                let attr = def
                    .attrs
                    .iter()
                    .find(|a| a.name.eq_ignore_ascii_case(attr_name))
                    .ok_or_else(|| {
                        Error::governance(
                            &doc.path,
                            Step::Categories,
                            format!("category {cat_name:?} has no attribute {attr_name:?}"),
                        )
                    })?;
                values.push((attr.key, self.attr_value(doc, attr, v).await?));
            }
            out.push((def.id, values));
        }
        Ok(out)
    }

    fn upload_body(&self, doc: &Document, slot: VerifiedSlot) -> UploadBody {
        let body = doc.body.clone();
        let (label, len, expected) = (doc.path.clone(), doc.size, doc.hash.clone());
        UploadBody::reopenable(doc.size, move || {
            let body = body.clone();
            let (label, expected, slot) = (label.clone(), expected.clone(), slot.clone());
            async move {
                let s = body.open().await.map_err(std::io::Error::other)?;
                Ok::<_, std::io::Error>(verify::verified(s, label, len, expected, slot))
            }
        })
    }

    fn sent(&self, doc: &Document, slot: &VerifiedSlot) -> Result<verify::Hashed> {
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
    async fn read_back_version(&self, doc: &Document, node: i64, n: i64) -> Result<verify::Hashed> {
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

    /// Everything after the bytes that can be repeated safely: categories (unless they went
    /// with the create request), RM class, hold, permissions. The workflow is deferred
    /// ([`Sink::run_deferred`]).
    async fn govern(
        &self,
        doc: &Document,
        node: i64,
        folder: Option<i64>,
        mode: Govern,
    ) -> Result<()> {
        let g = &doc.governance;
        if mode != Govern::Created && !g.categories.is_empty() {
            let err = |e| Error::cs(&doc.path, Step::Categories, e);
            let applied: Vec<i64> = self
                .client
                .categories()
                .list(node)
                .await
                .map_err(err)?
                .iter()
                .map(|c| c.id)
                .collect();
            for (cat, values) in self.category_values(doc, folder.unwrap_or(node)).await? {
                let values = to_values(&[(cat, values)]);
                if applied.contains(&cat) {
                    self.client
                        .categories()
                        .update(node, cat, &values)
                        .await
                        .map_err(err)?;
                } else {
                    self.client
                        .categories()
                        .apply(node, cat, &values)
                        .await
                        .map_err(err)?;
                }
            }
        }
        if let Some(class) = &g.rm_class {
            let id = self.rm_class(doc, class).await?;
            let err = |e| Error::cs(&doc.path, Step::Classify, e);
            let details = self.client.records().details(node).await.map_err(err)?;
            if !details.has(id) {
                let mut call = self.client.records().classify(node, id);
                if !details.records.is_empty() {
                    if let Some(t) = &details.rm_metadata_token {
                        call = call.rm_metadata_token(t.clone());
                    }
                }
                call.send().await.map_err(err)?;
            }
        }
        if let Some(hold) = &g.hold {
            let id = self.hold(doc, hold).await?;
            let err = |e| Error::cs(&doc.path, Step::Hold, e);
            let current = self.client.records().node_holds(node).await.map_err(err)?;
            if !current.iter().any(|h| h.id == id) {
                self.client
                    .records()
                    .apply_hold(node, id)
                    .await
                    .map_err(err)?;
            }
        }
        if !g.permissions.is_empty() {
            let err = |e| Error::cs(&doc.path, Step::Permissions, e);
            let entries = self.client.permissions().get(node).await.map_err(err)?;
            for grant in &g.permissions {
                let member = self.member(doc, Step::Permissions, &grant.member).await?;
                let mut wanted = Vec::new();
                for p in &grant.permissions {
                    let perm: Permission =
                        serde_json::from_value(json!(p)).unwrap_or(Permission::Unknown);
                    if perm == Permission::Unknown {
                        return Err(Error::governance(
                            &doc.path,
                            Step::Permissions,
                            format!("unknown permission {p:?}"),
                        ));
                    }
                    wanted.push(perm);
                }
                let existing = entries
                    .iter()
                    .find(|e| e.kind == "custom" && e.right_id == Some(member));
                match existing {
                    Some(e)
                        if wanted.iter().all(|w| e.permissions.contains(w))
                            && e.permissions.len() == wanted.len() => {}
                    Some(_) => self
                        .client
                        .permissions()
                        .update_custom(node, member, &wanted)
                        .send()
                        .await
                        .map_err(err)?,
                    None => self
                        .client
                        .permissions()
                        .add_custom(node, member, &wanted)
                        .send()
                        .await
                        .map_err(err)?,
                }
            }
        }
        Ok(())
    }

    /// Starts the workflow of `doc`'s governance with `node` attached.
    async fn start_workflow(&self, doc: &Document, node: i64) -> Result<()> {
        let Some(w) = &doc.governance.workflow else {
            return Ok(());
        };
        let map = self.workflow_map(doc, &w.map, node).await?;
        let mut start = self.client.workflows().start(map).attach([node]);
        for (k, v) in &w.values {
            start = start.value(k.clone(), self.form_value(doc, v).await?);
        }
        if let Some(c) = &w.comment {
            start = start.comment(c.clone());
        }
        let started = start
            .send()
            .await
            .map_err(|e| Error::cs(&doc.path, Step::Workflow, e))?;
        tracing::info!(doc = %doc.path, node, map, process = ?started.process_id, "workflow started");
        Ok(())
    }

    /// Whether a process initiated by this user, of map `map` when the listing names maps, has
    /// `node` attached (a shortcut to it in the process's attachment folder).
    async fn workflow_attached(&self, doc: &Document, node: i64, map: &str) -> Result<bool> {
        let err = |e| Error::cs(&doc.path, Step::Workflow, e);
        let mut lookup = self
            .client
            .workflows()
            .attached_to(node)
            .kind(StatusKind::Initiated);
        if map.parse::<i64>().is_err() {
            lookup = lookup.map_name(map);
        }
        let found = lookup.send().await.map_err(err)?;
        if let Some(status) = found.first() {
            tracing::info!(doc = %doc.path, node, process = ?status.process_id, "workflow found already started");
            return Ok(true);
        }
        Ok(false)
    }

    async fn form_value(&self, doc: &Document, v: &Value) -> Result<serde_json::Value> {
        Ok(match v {
            Value::Text(s) => json!(s),
            Value::Integer(n) => json!(n),
            Value::Date(d) => json!(d.format("%Y-%m-%d").to_string()),
            Value::Bool(b) => json!(b),
            Value::User(u) => json!(self.member(doc, Step::Workflow, u).await?),
            Value::List(items) => {
                let mut out = Vec::new();
                for i in items {
                    out.push(Box::pin(self.form_value(doc, i)).await?);
                }
                json!(out)
            }
        })
    }

    async fn version_number(&self, doc: &Document, node: i64, v: &Version) -> Result<i64> {
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

#[async_trait]
impl Sink for CsSink {
    async fn write(&self, doc: &Document, ctx: &WriteContext) -> Result<Receipt> {
        let loc = self.target(doc)?.clone();
        let folder = self.folder(doc, &loc, true).await?.ok_or_else(|| {
            Error::governance(&doc.path, Step::Locate, "target folder not created")
        })?;
        let name = doc.target_name().to_owned();
        let previous = match ctx
            .previous
            .as_ref()
            .filter(|p| p.system == System::ContentServer)
        {
            Some(p) => p.node_id(),
            None => self.own_child(doc, folder).await?.map(|n| n.id),
        };
        let slot = VerifiedSlot::default();
        let body = self.upload_body(doc, slot.clone());
        let location = self.location_text(doc);
        let modified = doc.modified.map(|t| t.naive_utc());
        let (node, number, action) = match previous {
            None => {
                let mut create = self
                    .client
                    .documents()
                    .create(folder, name.clone(), body)
                    .file_name(name.clone())
                    .mime_type(doc.mime_type_or_guess())
                    .description(format!(
                        "Source: {} ({})",
                        doc.source.marker(),
                        doc.context.full_path.as_deref().unwrap_or(&doc.path)
                    ));
                if let Some(t) = modified {
                    create = create.external_modify_date(t);
                }
                if let Some(t) = doc.created.map(|t| t.naive_utc()) {
                    create = create.external_create_date(t);
                }
                let all = to_values(&self.category_values(doc, folder).await?);
                if !all.is_empty() {
                    create = create.categories(all);
                }
                let node = create
                    .send()
                    .await
                    .map_err(|e| Error::cs(&doc.path, Step::Write, e))?;
                (node.id, 1, WriteAction::Created)
            }
            Some(node) => {
                let mut add = self
                    .client
                    .documents()
                    .add_version(node, body)
                    .file_name(name.clone())
                    .mime_type(doc.mime_type_or_guess())
                    .description(doc.source.marker());
                if let Some(t) = modified {
                    add = add.external_modify_date(t);
                }
                let v = add
                    .send()
                    .await
                    .map_err(|e| Error::cs(&doc.path, Step::Write, e))?;
                if let Some(size) = v.file_size {
                    if size as u64 != doc.size {
                        return Err(Error::Verify {
                            doc: doc.path.clone(),
                            expected: format!("{} bytes", doc.size),
                            actual: format!("{size} bytes in the new version"),
                        });
                    }
                }
                (
                    node,
                    self.version_number(doc, node, &v).await?,
                    WriteAction::AddedVersion,
                )
            }
        };
        let sent = self.sent(doc, &slot)?;
        if self.read_back {
            let back = self.read_back_version(doc, node, number).await?;
            back.check(
                &doc.path,
                doc.size,
                Some(&crate::model::ContentHash::sha256(sent.sha256.clone())),
            )?;
        }
        let mode = if action == WriteAction::Created {
            Govern::Created
        } else {
            Govern::AddedVersion
        };
        self.govern(doc, node, Some(folder), mode).await?;
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

    fn has_deferred(&self, doc: &Document) -> bool {
        doc.governance.workflow.is_some()
    }

    async fn run_deferred(&self, doc: &Document, receipt: &Receipt) -> Result<()> {
        let node = receipt.target.node_id().ok_or_else(|| {
            Error::governance(&doc.path, Step::Workflow, "not a Content Server receipt")
        })?;
        self.start_workflow(doc, node).await
    }

    /// Whether a process that this user initiated (of the governance's map, when the server
    /// names maps) has the written node attached.
    async fn deferred_done(&self, doc: &Document, receipt: &Receipt) -> Result<bool> {
        let Some(w) = &doc.governance.workflow else {
            return Ok(true);
        };
        let node = receipt.target.node_id().ok_or_else(|| {
            Error::governance(&doc.path, Step::Workflow, "not a Content Server receipt")
        })?;
        self.workflow_attached(doc, node, &w.map).await
    }
}

/// Attribute values of one category.
type CatValues = Vec<(AttrKey, AttrValue)>;

/// The client's value set for these categories (one create request carries them all).
fn to_values(cats: &[(i64, CatValues)]) -> CategoryValues {
    let mut out = CategoryValues::new();
    for (cat, values) in cats {
        out = out.category(*cat);
        for (key, value) in values {
            out = out.set(*key, value.clone());
        }
    }
    out
}

/// A Content Server folder tree as a [`Source`]: every document below `root`, or those
/// modified at or after the watermark checkpoint (`modify_date`, as the server writes it; the
/// documents of the watermark's own second are listed again, and found unchanged).
#[derive(Debug, Clone)]
pub struct CsSource {
    client: Client,
    root: i64,
    recursive: bool,
}

impl CsSource {
    /// Documents below the container `root`.
    pub fn new(client: Client, root: i64) -> Self {
        CsSource {
            client,
            root,
            recursive: true,
        }
    }

    /// Whether sub-folders are walked (default yes).
    pub fn recursive(mut self, yes: bool) -> Self {
        self.recursive = yes;
        self
    }

    async fn document(&self, node: &Node, path: String) -> Result<Document> {
        let version = self
            .client
            .documents()
            .latest_version(node.id)
            .await
            .map_err(|e| Error::cs(&path, Step::List, e))?;
        let number = version.version_number.unwrap_or(1);
        let size = version.file_size.or(node.size).unwrap_or(0).max(0) as u64;
        let (client, id, label) = (self.client.clone(), node.id, path.clone());
        let body = Body::new(move || {
            let (client, label) = (client.clone(), label.clone());
            async move {
                let d = client
                    .documents()
                    .download(id)
                    .version(number)
                    .send()
                    .await
                    .map_err(|e| Error::cs(label, Step::Read, e))?;
                let s: ByteStream = d.into_stream().map_err(std::io::Error::other).boxed();
                Ok(s)
            }
            .boxed()
        });
        let mut doc = Document::new(DocRef::cs(node.id, number), path, size, body);
        doc.name = node.name.clone();
        doc.mime_type = version.mime_type.clone().or_else(|| node.mime_type.clone());
        doc.modified = node.modify_date;
        doc.created = node.create_date;
        doc.context.full_path = Some(doc.path.clone());
        Ok(doc)
    }

    async fn walk(self, since: Option<String>) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut watermark = since.clone().unwrap_or_default();
        let mut queue = VecDeque::from([(self.root, String::new())]);
        while let Some((folder, prefix)) = queue.pop_front() {
            let children: Vec<Node> = self
                .client
                .nodes()
                .children(folder)
                .into_stream()
                .try_collect()
                .await
                .map_err(|e| Error::cs(format!("node {folder}"), Step::List, e))?;
            for child in children {
                let path = if prefix.is_empty() {
                    child.name.clone()
                } else {
                    format!("{prefix}/{}", child.name)
                };
                if child.node_type == types::DOCUMENT {
                    // The watermark keeps the server's own form of the date.
                    let modified = child
                        .modify_date
                        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                        .unwrap_or_default();
                    // Inclusive: the server's dates have whole seconds, so a document changed
                    // in the watermark's own second after the listing must not be missed. The
                    // ones listed again are found unchanged in the state store.
                    if since.as_deref().is_some_and(|s| modified.as_str() < s) {
                        continue;
                    }
                    if modified > watermark {
                        watermark = modified;
                    }
                    items.push(Item::upsert(self.document(&child, path).await?));
                } else if child.container && self.recursive {
                    queue.push_back((child.id, path));
                }
            }
        }
        items.push(Item {
            change: Change::Nothing,
            checkpoint: (!watermark.is_empty()).then_some(Checkpoint(watermark)),
        });
        Ok(items)
    }
}

#[async_trait]
impl Source for CsSource {
    async fn changes(&self, since: Option<Checkpoint>) -> Result<BoxStream<'static, Result<Item>>> {
        let this = self.clone();
        Ok(stream::once(this.walk(since.map(|c| c.0)))
            .flat_map(|r| match r {
                Ok(items) => stream::iter(items.into_iter().map(Ok)).boxed(),
                Err(e) => stream::once(async move { Err(e) }).boxed(),
            })
            .boxed())
    }

    async fn fetch(&self, id: &DocRef) -> Result<Option<Document>> {
        let Some(node_id) = id.node_id() else {
            return Ok(None);
        };
        let node = match self.client.nodes().get(node_id).send().await {
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::cs(id.to_string(), Step::List, e)),
        };
        // The path relative to the root, from the ancestors.
        let ancestors = self
            .client
            .nodes()
            .ancestors(node_id)
            .await
            .map_err(|e| Error::cs(id.to_string(), Step::List, e))?;
        let Some(pos) = ancestors.iter().position(|a| a.id == self.root) else {
            return Ok(None);
        };
        let mut parts: Vec<String> = ancestors[pos + 1..]
            .iter()
            .filter(|a| a.id != node_id)
            .map(|a| a.name.clone())
            .collect();
        parts.push(node.name.clone());
        Ok(Some(self.document(&node, parts.join("/")).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_found_in_descriptions() {
        let m = markers_in("Source: dropbox:id:abc@015f (/Marketing/a b.pdf)");
        assert_eq!(m, vec![DocRef::dropbox("id:abc", "015f")]);
        assert!(markers_in("hand-made document").is_empty());
    }
}
