//! [`DropboxMarker`]: marks archived files (tag, property group, move).

use async_trait::async_trait;
use dropbox_client::models::file_properties::{PropertyField, PropertyGroup};
use dropbox_client::models::files::{Metadata, RelocationArg};
use dropbox_client::Client;
use tokio::sync::OnceCell;

use super::{is_not_found, normalize_root};
use crate::error::{Error, Result, Step};
use crate::model::Document;
use crate::sink::{AfterWrite, Receipt};

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

impl DropboxMarker {
    /// Where the file is now, read by id: `None` when it is gone (or no longer a file).
    async fn current_path(&self, doc: &Document) -> Result<Option<String>> {
        match self
            .client
            .files()
            .get_metadata(doc.source.id.clone())
            .await
        {
            Ok(Metadata::File(f)) => Ok(Some(f.path_display.unwrap_or_else(|| doc.path.clone()))),
            Ok(_) => Ok(None),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(Error::dropbox(doc.path.clone(), Step::Mark, e)),
        }
    }
}

#[async_trait]
impl AfterWrite for DropboxMarker {
    /// Tags, writes the property group and moves, with no read first: the property and the
    /// move address the file by id, and the tag (which takes a path, files.stone `AddTagArg`)
    /// goes to the path the source listed or fetched the file at. Only when that path is no
    /// longer the file's (moved since, e.g. by an earlier attempt's move) is the file read by
    /// id for its current path; a file gone from Dropbox is not marked.
    async fn after_write(&self, doc: &Document, receipt: &Receipt) -> Result<()> {
        let files = self.client.files();
        let err = |e| Error::dropbox(doc.path.clone(), Step::Mark, e);
        let mut path = doc.context.full_path.clone();
        if let Some(tag) = &self.tag {
            let listed = match path.clone() {
                Some(p) => Some(p),
                None => self.current_path(doc).await?,
            };
            let Some(at) = listed else {
                tracing::info!(doc = %doc.path, "not marked: gone from Dropbox");
                return Ok(());
            };
            match files.add_tag(at.clone(), tag.clone()).await {
                Ok(()) => path = Some(at),
                Err(e) if is_not_found(&e) => {
                    let Some(now) = self.current_path(doc).await? else {
                        tracing::info!(doc = %doc.path, "not marked: gone from Dropbox");
                        return Ok(());
                    };
                    files.add_tag(now.clone(), tag.clone()).await.map_err(err)?;
                    path = Some(now);
                }
                Err(e) => return Err(err(e)),
            }
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
            match self
                .client
                .file_properties()
                .overwrite(
                    doc.source.id.clone(),
                    vec![PropertyGroup {
                        template_id,
                        fields,
                    }],
                )
                .await
            {
                Ok(()) => {}
                Err(e) if is_not_found(&e) && self.current_path(doc).await?.is_none() => {
                    tracing::info!(doc = %doc.path, "not marked: gone from Dropbox");
                    return Ok(());
                }
                Err(e) => return Err(err(e)),
            }
        }
        if let Some(folder) = &self.move_to {
            let dest = format!("{folder}/{}", doc.name);
            let already = path
                .as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case(&dest));
            if !already {
                match files
                    .move_entry(RelocationArg::new(doc.source.id.clone(), dest).autorename(true))
                    .await
                {
                    Ok(_) => {}
                    Err(e) if is_not_found(&e) && self.current_path(doc).await?.is_none() => {
                        tracing::info!(doc = %doc.path, "not moved: gone from Dropbox");
                    }
                    Err(e) => return Err(err(e)),
                }
            }
        }
        Ok(())
    }
}
