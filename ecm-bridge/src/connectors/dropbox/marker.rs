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
