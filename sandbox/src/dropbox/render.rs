//! How the Dropbox emulator renders its entries as the API's JSON: `Metadata` of files,
//! folders and deleted entries, with sharing info and property groups.

use serde_json::{json, Map, Value};

use super::state::*;
use super::wire::timestamp;

/// Options for rendering metadata.
#[derive(Debug, Clone, Default)]
pub(crate) struct Render {
    /// Emit `.tag` (where the declared type is the polymorphic `Metadata`).
    pub tag: bool,
    /// Template ids whose property groups to include (`None`: none; empty list: all).
    pub property_filter: Option<Vec<String>>,
}

impl Render {
    /// With `.tag`.
    pub(crate) fn tagged() -> Render {
        Render {
            tag: true,
            property_filter: None,
        }
    }

    /// Without `.tag`.
    pub(crate) fn untagged() -> Render {
        Render::default()
    }
}

/// Parses `include_property_groups` (`TemplateFilterBase`): `filter_some` with template ids.
pub(crate) fn property_filter(value: Option<&Value>) -> Option<Vec<String>> {
    let value = value?;
    let ids = value.get("filter_some")?.as_array()?;
    Some(
        ids.iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
    )
}

impl Store {
    /// `Metadata` of a node seen through `view`.
    pub(crate) fn node_metadata(
        &self,
        view: &View,
        ns: NsId,
        lower: &str,
        node: &Node,
        opts: &Render,
    ) -> Value {
        let (path_lower, path_display) = view.relative(lower, &node.display);
        let mut m = Map::new();
        match &node.kind {
            NodeKind::File(file) => {
                if opts.tag {
                    m.insert(".tag".into(), json!("file"));
                }
                m.insert("name".into(), json!(file_name(&node.display)));
                m.insert("path_lower".into(), json!(path_lower));
                m.insert("path_display".into(), json!(path_display));
                m.insert("id".into(), json!(node.id));
                file_fields(&mut m, file);
                if let Some(sf) = self.enclosing_shared_folder(ns, lower) {
                    m.insert(
                        "sharing_info".into(),
                        json!({"read_only": false, "parent_shared_folder_id": sf.id}),
                    );
                    m.insert("parent_shared_folder_id".into(), json!(sf.id));
                }
            }
            NodeKind::Folder => {
                if opts.tag {
                    m.insert(".tag".into(), json!("folder"));
                }
                m.insert("name".into(), json!(file_name(&node.display)));
                m.insert("path_lower".into(), json!(path_lower));
                m.insert("path_display".into(), json!(path_display));
                m.insert("id".into(), json!(node.id));
                let own = self.shared_folder_of(&node.id).map(|sf| sf.id.clone());
                let parent_sf = self
                    .enclosing_shared_folder(ns, lower)
                    .map(|sf| sf.id.clone());
                if own.is_some() || parent_sf.is_some() {
                    let mut info =
                        json!({"read_only": false, "traverse_only": false, "no_access": false});
                    if let Some(id) = &own {
                        info["shared_folder_id"] = json!(id);
                        m.insert("shared_folder_id".into(), json!(id));
                    }
                    if let Some(id) = &parent_sf {
                        info["parent_shared_folder_id"] = json!(id);
                        m.insert("parent_shared_folder_id".into(), json!(id));
                    }
                    m.insert("sharing_info".into(), info);
                }
            }
        }
        if let Some(filter) = &opts.property_filter {
            let groups: Vec<Value> = node
                .props
                .iter()
                .filter(|g| filter.is_empty() || filter.contains(&g.template_id))
                .map(property_group_json)
                .collect();
            m.insert("property_groups".into(), Value::Array(groups));
        }
        Value::Object(m)
    }

    /// `FileMetadata` of a revision record seen through `view` (for `rev:` paths and
    /// `list_revisions`).
    pub(crate) fn rev_metadata(&self, view: &View, record: &RevRecord, tag: bool) -> Value {
        let (path_lower, path_display) = view.relative(&record.lower, &record.display);
        let mut m = Map::new();
        if tag {
            m.insert(".tag".into(), json!("file"));
        }
        m.insert("name".into(), json!(file_name(&record.display)));
        m.insert("path_lower".into(), json!(path_lower));
        m.insert("path_display".into(), json!(path_display));
        m.insert("id".into(), json!(record.id));
        file_fields(&mut m, &record.file);
        Value::Object(m)
    }

    /// The metadata of a journal change seen through `view`.
    pub(crate) fn change_metadata(&self, view: &View, change: &Change) -> Value {
        let (path_lower, path_display) = view.relative(&change.lower, &change.display);
        let name = file_name(&change.display);
        match &change.what {
            Snapshot::File { id, file } => {
                let mut m = Map::new();
                m.insert(".tag".into(), json!("file"));
                m.insert("name".into(), json!(name));
                m.insert("path_lower".into(), json!(path_lower));
                m.insert("path_display".into(), json!(path_display));
                m.insert("id".into(), json!(id));
                file_fields(&mut m, file);
                Value::Object(m)
            }
            Snapshot::Folder { id } => {
                let mut v = json!({".tag": "folder", "name": name, "path_lower": path_lower,
                                   "path_display": path_display, "id": id});
                if let Some(sf) = self.shared_folder_of(id) {
                    v["shared_folder_id"] = json!(sf.id);
                    v["sharing_info"] = json!({"read_only": false, "shared_folder_id": sf.id,
                                               "traverse_only": false, "no_access": false});
                }
                v
            }
            Snapshot::Deleted => json!({".tag": "deleted", "name": name,
                                        "path_lower": path_lower, "path_display": path_display}),
        }
    }
}

fn file_fields(m: &mut Map<String, Value>, file: &FileRev) {
    m.insert(
        "client_modified".into(),
        json!(timestamp(file.client_modified)),
    );
    m.insert(
        "server_modified".into(),
        json!(timestamp(file.server_modified)),
    );
    m.insert("rev".into(), json!(file.rev));
    m.insert("size".into(), json!(file.size));
    m.insert("is_downloadable".into(), json!(true));
    m.insert("content_hash".into(), json!(file.content_hash));
}

/// `file_properties.PropertyGroup` as JSON.
pub(crate) fn property_group_json(group: &PropertyGroup) -> Value {
    json!({
        "template_id": group.template_id,
        "fields": group.fields.iter().map(|(name, value)| json!({"name": name, "value": value})).collect::<Vec<_>>(),
    })
}
