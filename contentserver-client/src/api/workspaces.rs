//! Business workspaces (Extended ECM): find by name or business object, create from a
//! template with category values, list folders.

use chrono::NaiveDateTime;
use futures::stream::{BoxStream, TryStreamExt};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::categories::CategoryValues;
use crate::api::nodes::{check_name, Node, TYPE_FOLDER};
use crate::client::Client;
use crate::error::Result;
use crate::paging::{self, Page};
use crate::transport::{segment, Call};

/// Node type of a business workspace.
pub const TYPE_BUSINESS_WORKSPACE: i64 = 848;

/// What creating a workspace returned (`results` directly).
#[derive(Clone, Debug, Deserialize)]
#[non_exhaustive]
pub struct CreatedWorkspace {
    /// The new workspace's node id.
    #[serde(default, deserialize_with = "crate::de::i64_or_zero")]
    pub id: i64,
    /// A sub-folder to open, 0 for none.
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub sub_folder_id: Option<i64>,
    /// Whether the UI opens it directly.
    #[serde(default, deserialize_with = "crate::de::lenient_bool")]
    pub direct_open: bool,
}

/// Business workspace calls; see [`Client::workspaces`].
#[derive(Clone, Debug)]
pub struct Workspaces {
    client: Client,
}

impl Workspaces {
    pub(crate) fn new(client: Client) -> Self {
        Workspaces { client }
    }

    /// `GET /api/v2/businessworkspaces/{id}`.
    pub async fn get(&self, id: i64) -> Result<Node> {
        self.client
            .transport
            .json(Call::get(format!("api/v2/businessworkspaces/{id}")))
            .await?
            .v2_properties()
    }

    /// `GET /api/v2/businessworkspaces`: a search by name and type, as pages or a stream.
    pub fn find(&self) -> FindWorkspaces {
        FindWorkspaces {
            client: self.client.clone(),
            where_name: None,
            type_id: None,
            type_name: None,
            page_size: 100,
        }
    }

    /// The workspace named exactly `name` (of type `type_id` when given), if any.
    pub async fn find_by_name(&self, name: &str, type_id: Option<i64>) -> Result<Option<Node>> {
        let mut find = self.find().where_name(name);
        if let Some(t) = type_id {
            find = find.workspace_type_id(t);
        }
        let mut stream = find.into_stream();
        while let Some(ws) = stream.try_next().await? {
            if ws.name == name {
                return Ok(Some(ws));
            }
        }
        Ok(None)
    }

    /// `GET /api/v2/externalsystems/{ext}/botypes/{type}/boids/{id}`: the workspace of a
    /// business object. The answer is read as a v2 single node (shape UNCONFIRMED; a
    /// one-element collection is accepted too).
    pub async fn by_business_object(
        &self,
        ext_system_id: &str,
        bo_type: &str,
        bo_id: &str,
    ) -> Result<Node> {
        let path = format!(
            "api/v2/externalsystems/{}/botypes/{}/boids/{}",
            segment(ext_system_id),
            segment(bo_type),
            segment(bo_id)
        );
        self.client
            .transport
            .json(Call::get(path))
            .await?
            .v2_properties()
    }

    /// `POST /api/v2/businessworkspaces`: creates a workspace from template `template_id` of
    /// workspace type `type_id`.
    pub fn create(&self, template_id: i64, type_id: i64) -> CreateWorkspace {
        CreateWorkspace {
            client: self.client.clone(),
            template_id,
            type_id,
            name: None,
            description: None,
            parent_id: None,
            categories: None,
            business_object: None,
            external_create_date: None,
            external_modify_date: None,
        }
    }

    /// The folders directly inside workspace `id`, lazily.
    pub fn folders(&self, id: i64) -> BoxStream<'static, Result<Node>> {
        self.client
            .nodes()
            .children(id)
            .where_type(TYPE_FOLDER)
            .into_stream()
    }
}

/// Builder of a workspace search.
#[derive(Clone, Debug)]
pub struct FindWorkspaces {
    client: Client,
    where_name: Option<String>,
    type_id: Option<i64>,
    type_name: Option<String>,
    page_size: u64,
}

impl FindWorkspaces {
    /// Filter on the name.
    pub fn where_name(mut self, name: impl Into<String>) -> Self {
        self.where_name = Some(name.into());
        self
    }

    /// Only workspaces of this type id.
    pub fn workspace_type_id(mut self, type_id: i64) -> Self {
        self.type_id = Some(type_id);
        self
    }

    /// Only workspaces of this type name.
    pub fn workspace_type_name(mut self, name: impl Into<String>) -> Self {
        self.type_name = Some(name.into());
        self
    }

    /// Page size (default 100).
    pub fn page_size(mut self, size: u64) -> Self {
        self.page_size = size.max(1);
        self
    }

    /// Fetches one page (1-based).
    pub async fn page(&self, page: u64) -> Result<Page<Node>> {
        let call = Call::get("api/v2/businessworkspaces")
            .query_opt("where_name", self.where_name.as_ref())
            .query_opt("where_workspace_type_id", self.type_id)
            .query_opt("where_workspace_type_name", self.type_name.as_ref())
            .query("page", page)
            .query("limit", self.page_size);
        self.client
            .transport
            .json(call)
            .await?
            .v2_collection("properties")
    }

    /// All matches, lazily.
    pub fn into_stream(self) -> BoxStream<'static, Result<Node>> {
        let limit = self.page_size;
        paging::items(paging::pages(limit, move |n| {
            let this = self.clone();
            async move { this.page(n).await }
        }))
    }
}

/// Builder of a workspace creation.
#[derive(Clone, Debug)]
pub struct CreateWorkspace {
    client: Client,
    template_id: i64,
    type_id: i64,
    name: Option<String>,
    description: Option<String>,
    parent_id: Option<i64>,
    categories: Option<CategoryValues>,
    business_object: Option<(String, String, String)>,
    external_create_date: Option<NaiveDateTime>,
    external_modify_date: Option<NaiveDateTime>,
}

impl CreateWorkspace {
    /// The name (default: derived by the server from the metadata).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The parent (default: from the workspace type's location rules).
    pub fn parent(mut self, parent: i64) -> Self {
        self.parent_id = Some(parent);
        self
    }

    /// Category values (sent nested by category, as workspaces expect).
    pub fn categories(mut self, values: CategoryValues) -> Self {
        self.categories = Some(values);
        self
    }

    /// Connects the workspace to a business object.
    pub fn business_object(
        mut self,
        ext_system_id: impl Into<String>,
        bo_type: impl Into<String>,
        bo_id: impl Into<String>,
    ) -> Self {
        self.business_object = Some((ext_system_id.into(), bo_type.into(), bo_id.into()));
        self
    }

    /// The external creation date.
    pub fn external_create_date(mut self, date: NaiveDateTime) -> Self {
        self.external_create_date = Some(date);
        self
    }

    /// The external modification date.
    pub fn external_modify_date(mut self, date: NaiveDateTime) -> Self {
        self.external_modify_date = Some(date);
        self
    }

    /// Creates the workspace.
    pub async fn send(self) -> Result<CreatedWorkspace> {
        let categories = self
            .categories
            .as_ref()
            .map(|c| c.to_nested_json())
            .unwrap_or_else(|| json!({}));
        let mut body = json!({
            "template_id": self.template_id,
            "wksp_type_id": self.type_id,
            "type": TYPE_BUSINESS_WORKSPACE,
            "description": self.description.clone().unwrap_or_default(),
            "roles": {"categories": categories},
        });
        if let Some(name) = &self.name {
            check_name(name)?;
            body["name"] = json!(name);
        }
        if let Some(p) = self.parent_id {
            body["parent_id"] = json!(p);
        }
        if let Some((ext, bo_type, bo_id)) = &self.business_object {
            body["ext_system_id"] = json!(ext);
            body["bo_type"] = json!(bo_type);
            body["bo_id"] = json!(bo_id);
        }
        let fmt = |d: &NaiveDateTime| Value::from(d.format("%Y-%m-%dT%H:%M:%S").to_string());
        if let Some(d) = &self.external_create_date {
            body["external_create_date"] = fmt(d);
        }
        if let Some(d) = &self.external_modify_date {
            body["external_modify_date"] = fmt(d);
        }
        let call = Call::post("api/v2/businessworkspaces").body_json(&body);
        self.client.transport.json(call).await?.results()
    }
}
into_future!(CreateWorkspace => CreatedWorkspace);
