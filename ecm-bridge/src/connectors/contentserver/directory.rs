//! Names in the governance (categories, RM classes, holds, members, workflow maps, folders)
//! resolved to ids once and cached.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use contentserver_client::api::category_definition::AttrType;
use contentserver_client::api::nodes::Node;
use contentserver_client::ErrorKind;
use futures::stream::TryStreamExt;
use tokio::sync::OnceCell;

use super::governance::{AttrDef, CategoryDef};
use super::sink::CsSink;
use super::types;
use crate::error::{Error, Result, Step};
use crate::model::{Document, Location};

/// How deep name lookups walk a volume.
const MAX_WALK_DEPTH: usize = 6;

/// Name → id caches.
#[derive(Default)]
pub(super) struct Directory {
    ews: OnceCell<i64>,
    folders: Mutex<HashMap<(i64, String), i64>>,
    create: tokio::sync::Mutex<()>,
    categories: tokio::sync::Mutex<HashMap<String, Arc<CategoryDef>>>,
    rm_classes: tokio::sync::Mutex<HashMap<String, i64>>,
    members: tokio::sync::Mutex<HashMap<String, i64>>,
    holds: tokio::sync::Mutex<HashMap<String, i64>>,
    maps: tokio::sync::Mutex<HashMap<String, i64>>,
}

impl CsSink {
    pub(super) async fn ews(&self, doc: &str) -> Result<i64> {
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
    pub(super) async fn folder(
        &self,
        doc: &Document,
        loc: &Location,
        create: bool,
    ) -> Result<Option<i64>> {
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

    /// Walks a volume breadth-first for a node named `name` of one of `types`.
    pub(super) async fn find_in_volume(
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

    pub(super) async fn category(
        &self,
        doc: &Document,
        name: &str,
        folder: i64,
    ) -> Result<Arc<CategoryDef>> {
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

    pub(super) async fn member(&self, doc: &Document, step: Step, name: &str) -> Result<i64> {
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

    pub(super) async fn rm_class(&self, doc: &Document, name: &str) -> Result<i64> {
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

    pub(super) async fn hold(&self, doc: &Document, name: &str) -> Result<i64> {
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
    pub(super) async fn workflow_map(&self, doc: &Document, map: &str, node: i64) -> Result<i64> {
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
}
