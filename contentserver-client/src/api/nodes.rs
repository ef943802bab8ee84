//! Nodes: get, children (paged stream), find by name, path resolution, create folder, update,
//! move, copy, delete, volumes, ancestors.

use chrono::{DateTime, NaiveDateTime, Utc};
use futures::stream::{BoxStream, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::models::NodeType;
use crate::paging::{self, Page};
use crate::transport::Call;

/// Node type of a folder (also [`NodeType::Folder`]).
pub const TYPE_FOLDER: i64 = 0;
/// Node type of a document (also [`NodeType::Document`]).
pub const TYPE_DOCUMENT: i64 = 144;
/// Volume type of the Enterprise Workspace.
pub const VOLUME_ENTERPRISE: i64 = 141;
/// The longest node name Content Server accepts.
pub const MAX_NAME_LEN: usize = 248;

/// A node's properties (v2 `results.data.properties`, v1 `data`).
///
/// The common fields are typed; every other property the server sent is kept in `extra`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Node {
    /// The node id.
    #[serde(default, deserialize_with = "crate::de::i64_or_zero")]
    pub id: i64,
    /// The parent's id (`-1` for volumes).
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub parent_id: Option<i64>,
    /// The volume id (usually the negative id of the volume).
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub volume_id: Option<i64>,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The node subtype (folder, document, ...); compares with a number too.
    #[serde(rename = "type", default)]
    pub node_type: NodeType,
    /// The type's display name.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub type_name: Option<String>,
    /// The description.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub description: Option<String>,
    /// Whether the node can hold children.
    #[serde(default, deserialize_with = "crate::de::lenient_bool")]
    pub container: bool,
    /// Number of children of a container.
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub container_size: Option<i64>,
    /// Bytes of a document; child count of a container.
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub size: Option<i64>,
    /// MIME type of a document.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub mime_type: Option<String>,
    /// Creation time (sent as `2025-01-19T06:57:04Z`). Unreadable dates are `None`.
    #[serde(default, deserialize_with = "crate::de::opt_utc")]
    pub create_date: Option<DateTime<Utc>>,
    /// Modification time.
    #[serde(default, deserialize_with = "crate::de::opt_utc")]
    pub modify_date: Option<DateTime<Utc>>,
    /// External creation time, as the creator gave it: no zone (`2025-01-18T12:33:27`), the
    /// same type the create and add-version builders take.
    #[serde(default, deserialize_with = "crate::de::opt_naive")]
    pub external_create_date: Option<NaiveDateTime>,
    /// External modification time (no zone).
    #[serde(default, deserialize_with = "crate::de::opt_naive")]
    pub external_modify_date: Option<NaiveDateTime>,
    /// The owner's user id.
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub owner_user_id: Option<i64>,
    /// Whether the node is reserved (checked out).
    #[serde(default, deserialize_with = "crate::de::lenient_bool")]
    pub reserved: bool,
    /// Who reserved it (`reserved_user_id`; `None` when not reserved, which CS sends as 0).
    #[serde(default, deserialize_with = "crate::de::opt_nonzero")]
    pub reserved_user_id: Option<i64>,
    /// When it was reserved.
    #[serde(default, deserialize_with = "crate::de::opt_utc")]
    pub reserved_date: Option<DateTime<Utc>>,
    /// Whether the document uses advanced (major/minor) versioning.
    #[serde(default, deserialize_with = "crate::de::lenient_bool")]
    pub advanced_versioning: bool,
    /// Every other property.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A node with the other sections of `results.data` (`categories`, `versions`,
/// `permissions`, ...) that a `fields` selection asked for.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NodeDetails {
    /// `results.data.properties`.
    pub node: Node,
    /// The other sections of `results.data`, by name.
    pub sections: Map<String, Value>,
}

/// One entry of `GET /api/v1/nodes/{id}/ancestors`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Ancestor {
    /// The node id.
    #[serde(default, deserialize_with = "crate::de::i64_or_zero")]
    pub id: i64,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The parent's id.
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub parent_id: Option<i64>,
    /// The node subtype.
    #[serde(rename = "type", default)]
    pub node_type: NodeType,
}

/// Checks a node name against the documented limits, before sending.
pub(crate) fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid("a node name must not be empty"));
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(Error::invalid(format!(
            "a node name has at most {MAX_NAME_LEN} characters"
        )));
    }
    Ok(())
}

/// Node calls; see [`Client::nodes`].
#[derive(Clone, Debug)]
pub struct Nodes {
    client: Client,
}

impl Nodes {
    pub(crate) fn new(client: Client) -> Self {
        Nodes { client }
    }

    /// `GET /api/v2/nodes/{id}`.
    pub fn get(&self, id: i64) -> GetNode {
        GetNode {
            client: self.client.clone(),
            id,
            fields: Vec::new(),
        }
    }

    /// `GET /api/v2/nodes/{id}/nodes`, as pages or a stream of children.
    pub fn children(&self, id: i64) -> Children {
        Children {
            client: self.client.clone(),
            id,
            where_type: Vec::new(),
            where_name: None,
            sort: None,
            page_size: 100,
            fields: Vec::new(),
        }
    }

    /// The child of `parent` named exactly `name`, if any.
    ///
    /// The server's `where_name` is a substring filter (case sensitivity UNCONFIRMED), so all
    /// matches are read and compared exactly here, as pyxecm does.
    pub async fn find_child(&self, parent: i64, name: &str) -> Result<Option<Node>> {
        let mut matches = self
            .children(parent)
            .where_name(name)
            .page_size(100)
            .into_stream();
        while let Some(node) = matches.try_next().await? {
            if node.name == name {
                return Ok(Some(node));
            }
        }
        Ok(None)
    }

    /// Walks `path` (names) from `root` (e.g. the Enterprise Workspace, 2000) and returns the
    /// last node, or `None` when a name is missing on the way.
    pub async fn resolve_path<S: AsRef<str>>(&self, root: i64, path: &[S]) -> Result<Option<Node>> {
        let mut current = self.get(root).send().await?;
        for name in path {
            match self.find_child(current.id, name.as_ref()).await? {
                Some(child) => current = child,
                None => return Ok(None),
            }
        }
        Ok(Some(current))
    }

    /// `POST /api/v2/nodes` with `type` 0: creates a folder.
    pub fn create_folder(&self, parent: i64, name: impl Into<String>) -> CreateFolder {
        CreateFolder {
            client: self.client.clone(),
            parent,
            name: name.into(),
            description: None,
        }
    }

    /// `PUT /api/v2/nodes/{id}`: rename, describe, move.
    pub fn update(&self, id: i64) -> UpdateNode {
        UpdateNode {
            client: self.client.clone(),
            id,
            body: Map::new(),
        }
    }

    /// Renames a node.
    pub async fn rename(&self, id: i64, name: impl Into<String>) -> Result<()> {
        self.update(id).name(name).send().await
    }

    /// Moves a node under `parent`.
    pub async fn move_to(&self, id: i64, parent: i64) -> Result<()> {
        self.update(id).parent(parent).send().await
    }

    /// `POST /api/v2/nodes` with `original_id`: copies a node under `parent`.
    pub fn copy(&self, id: i64, parent: i64) -> CopyNode {
        CopyNode {
            client: self.client.clone(),
            id,
            parent,
            name: None,
        }
    }

    /// `DELETE /api/v2/nodes/{id}` (the node goes to the recycle bin).
    pub async fn delete(&self, id: i64) -> Result<()> {
        self.client
            .transport
            .json(Call::delete(format!("api/v2/nodes/{id}")))
            .await
            .map(|_| ())
    }

    /// `GET /api/v2/volumes`: all volumes.
    pub async fn volumes(&self) -> Result<Vec<Node>> {
        let json = self
            .client
            .transport
            .json(Call::get("api/v2/volumes"))
            .await?;
        Ok(json.v2_collection("properties")?.items)
    }

    /// `GET /api/v2/volumes/{type}`: one volume by its type (141 Enterprise Workspace).
    pub async fn volume(&self, volume_type: i64) -> Result<Node> {
        self.client
            .transport
            .json(Call::get(format!("api/v2/volumes/{volume_type}")))
            .await?
            .v2_properties()
    }

    /// The Enterprise Workspace volume (resolved, not assumed to be 2000).
    pub async fn enterprise_workspace(&self) -> Result<Node> {
        self.volume(VOLUME_ENTERPRISE).await
    }

    /// `GET /api/v1/nodes/{id}/ancestors`, root first.
    pub async fn ancestors(&self, id: i64) -> Result<Vec<Ancestor>> {
        self.client
            .transport
            .json(Call::get(format!("api/v1/nodes/{id}/ancestors")))
            .await?
            .at("/ancestors")
    }
}

/// Builder of `GET /api/v2/nodes/{id}`.
#[derive(Clone, Debug)]
pub struct GetNode {
    client: Client,
    id: i64,
    fields: Vec<String>,
}

impl GetNode {
    /// Adds a `fields` selection, e.g. `properties{id,name}`, `categories`,
    /// `versions.element(0)` (repeatable).
    pub fn fields(mut self, fields: impl Into<String>) -> Self {
        self.fields.push(fields.into());
        self
    }

    fn call(&self) -> Call {
        let mut call = Call::get(format!("api/v2/nodes/{}", self.id));
        for f in &self.fields {
            call = call.query("fields", f);
        }
        call
    }

    /// Sends the request and returns the node's properties.
    pub async fn send(self) -> Result<Node> {
        self.client
            .transport
            .json(self.call())
            .await?
            .v2_properties()
    }

    /// Sends the request and returns the properties plus the other selected sections.
    pub async fn send_details(self) -> Result<NodeDetails> {
        let json = self.client.transport.json(self.call()).await?;
        let mut sections = json.v2_data()?;
        let node = json.v2_properties()?;
        sections.remove("properties");
        Ok(NodeDetails { node, sections })
    }
}
into_future!(GetNode => Node);

/// Builder of `GET /api/v2/nodes/{id}/nodes`.
#[derive(Clone, Debug)]
pub struct Children {
    client: Client,
    id: i64,
    where_type: Vec<i64>,
    where_name: Option<String>,
    sort: Option<String>,
    page_size: u64,
    fields: Vec<String>,
}

impl Children {
    /// Keeps only this node type (repeatable): a [`NodeType`], or the pseudo-types -1 (all
    /// containers), -2 (all searchable objects), -3 (all non-containers).
    pub fn where_type(mut self, node_type: impl Into<i64>) -> Self {
        self.where_type.push(node_type.into());
        self
    }

    /// Keeps names containing `name` (a substring filter on the server).
    pub fn where_name(mut self, name: impl Into<String>) -> Self {
        self.where_name = Some(name.into());
        self
    }

    /// Sort order, e.g. `asc_name`, `desc_modify_date`.
    pub fn sort(mut self, sort: impl Into<String>) -> Self {
        self.sort = Some(sort.into());
        self
    }

    /// Page size (`limit`, default 100, at least 1).
    pub fn page_size(mut self, size: u64) -> Self {
        self.page_size = size.max(1);
        self
    }

    /// Adds a `fields` selection (repeatable).
    pub fn fields(mut self, fields: impl Into<String>) -> Self {
        self.fields.push(fields.into());
        self
    }

    fn call(&self, page: u64) -> Call {
        let mut call = Call::get(format!("api/v2/nodes/{}/nodes", self.id));
        for t in &self.where_type {
            call = call.query("where_type", t);
        }
        call = call
            .query_opt("where_name", self.where_name.as_ref())
            .query_opt("sort", self.sort.as_ref());
        for f in &self.fields {
            call = call.query("fields", f);
        }
        call.query("page", page).query("limit", self.page_size)
    }

    /// Fetches one page (1-based).
    pub async fn page(&self, page: u64) -> Result<Page<Node>> {
        self.client
            .transport
            .json(self.call(page))
            .await?
            .v2_collection("properties")
    }

    /// All pages, lazily.
    pub fn pages(self) -> BoxStream<'static, Result<Page<Node>>> {
        let limit = self.page_size;
        paging::pages(limit, move |n| {
            let this = self.clone();
            async move { this.page(n).await }
        })
    }

    /// All children, lazily, page after page.
    pub fn into_stream(self) -> BoxStream<'static, Result<Node>> {
        paging::items(self.pages())
    }
}

/// Builder of a folder creation.
#[derive(Clone, Debug)]
pub struct CreateFolder {
    client: Client,
    parent: i64,
    name: String,
    description: Option<String>,
}

impl CreateFolder {
    /// The folder's description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Creates the folder and returns it.
    pub async fn send(self) -> Result<Node> {
        check_name(&self.name)?;
        let mut body = json!({
            "type": TYPE_FOLDER,
            "parent_id": self.parent,
            "name": self.name,
            "roles": {},
        });
        if let Some(d) = &self.description {
            body["description"] = json!(d);
        }
        let call = Call::post("api/v2/nodes").body_json(&body);
        self.client.transport.json(call).await?.v2_properties()
    }
}
into_future!(CreateFolder => Node);

/// Builder of `PUT /api/v2/nodes/{id}`.
#[derive(Clone, Debug)]
pub struct UpdateNode {
    client: Client,
    id: i64,
    body: Map<String, Value>,
}

impl UpdateNode {
    /// The new name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.body.insert("name".into(), json!(name.into()));
        self
    }

    /// The new description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.body
            .insert("description".into(), json!(description.into()));
        self
    }

    /// Moves the node under `parent`.
    pub fn parent(mut self, parent: i64) -> Self {
        self.body.insert("parent_id".into(), json!(parent));
        self
    }

    /// Guards the update with a `metadata_token` (a stale token fails with [`ErrorKind::Conflict`](crate::ErrorKind::Conflict)).
    pub fn metadata_token(mut self, token: impl Into<String>) -> Self {
        self.body
            .insert("metadata_token".into(), json!(token.into()));
        self
    }

    /// Sends the update.
    pub async fn send(self) -> Result<()> {
        if self.body.is_empty() {
            return Err(Error::invalid("nothing to update"));
        }
        if let Some(Value::String(name)) = self.body.get("name") {
            check_name(name)?;
        }
        let call =
            Call::put(format!("api/v2/nodes/{}", self.id)).body_json(&Value::Object(self.body));
        self.client.transport.json(call).await.map(|_| ())
    }
}
into_future!(UpdateNode => ());

/// Builder of a node copy.
#[derive(Clone, Debug)]
pub struct CopyNode {
    client: Client,
    id: i64,
    parent: i64,
    name: Option<String>,
}

impl CopyNode {
    /// The copy's name (default: the original's).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Copies and returns the new node.
    pub async fn send(self) -> Result<Node> {
        let mut body = json!({"original_id": self.id, "parent_id": self.parent});
        if let Some(name) = &self.name {
            check_name(name)?;
            body["name"] = json!(name);
        }
        let call = Call::post("api/v2/nodes").body_json(&body);
        self.client.transport.json(call).await?.v2_properties()
    }
}
into_future!(CopyNode => Node);
