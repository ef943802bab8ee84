//! Names in the governance (folders, categories, RM classes, holds, members, workflow maps)
//! resolved to ids once, through one cache ([`NameCache`]).

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use contentserver_client::api::category_definition::AttrType;
use contentserver_client::api::nodes::Node;
use contentserver_client::ErrorKind;
use futures::stream::TryStreamExt;

use super::governance::{AttrDef, CategoryDef};
use super::sink::CsSink;
use super::types;
use crate::error::{Error, Result, Step};
use crate::model::{Document, Location};

/// How deep name lookups walk a volume.
const MAX_WALK_DEPTH: usize = 6;

/// What a name stands for, as a cache key. Names compare case-insensitively (Unicode
/// lowercase), as Content Server compares them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Name {
    /// The Enterprise workspace.
    Ews,
    /// A folder by name in a parent container.
    Folder(i64, String),
    /// A category by name (its definition is cached in [`Directory::categories`]).
    Category(String),
    /// An RM classification.
    RmClass(String),
    /// A user or a group.
    Member(String),
    /// A hold.
    Hold(String),
    /// A workflow map.
    WorkflowMap(String),
}

impl Name {
    fn folded(make: fn(String) -> Name, name: &str) -> Name {
        make(name.to_lowercase())
    }
}

/// A cache of values looked up by key: one lookup per key at a time (concurrent documents
/// that need the same name wait for the first lookup instead of repeating it, and two never
/// race to create one folder), and only what was found is kept, so a miss or an error is
/// looked up again next time.
pub(super) struct NameCache<K, V> {
    slots: Mutex<HashMap<K, Arc<tokio::sync::Mutex<Option<V>>>>>,
}

impl<K, V> Default for NameCache<K, V> {
    fn default() -> Self {
        NameCache {
            slots: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash + Clone, V: Clone> NameCache<K, V> {
    /// The slot of `key`, shared by everyone looking it up.
    fn slot(&self, key: K) -> Arc<tokio::sync::Mutex<Option<V>>> {
        self.slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default()
            .clone()
    }

    /// The cached value of `key`, else what `lookup` finds (kept when it is `Some`).
    pub(super) async fn resolve<F, Fut>(&self, key: K, lookup: F) -> Result<Option<V>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<V>>>,
    {
        let slot = self.slot(key);
        let mut slot = slot.lock().await;
        if let Some(v) = slot.as_ref() {
            return Ok(Some(v.clone()));
        }
        let found = lookup().await?;
        if let Some(v) = &found {
            *slot = Some(v.clone());
        }
        Ok(found)
    }

    /// Like [`NameCache::resolve`] for a lookup that finds its value or fails.
    pub(super) async fn get_or_find<F, Fut>(&self, key: K, lookup: F) -> Result<V>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V>>,
    {
        let slot = self.slot(key);
        let mut slot = slot.lock().await;
        if let Some(v) = slot.as_ref() {
            return Ok(v.clone());
        }
        let v = lookup().await?;
        *slot = Some(v.clone());
        Ok(v)
    }
}

/// The names this sink resolved: ids, and category definitions.
#[derive(Default)]
pub(super) struct Directory {
    ids: NameCache<Name, i64>,
    categories: NameCache<Name, Arc<CategoryDef>>,
}

impl CsSink {
    /// The Enterprise workspace's id.
    pub(super) async fn ews(&self, doc: &str) -> Result<i64> {
        self.dir
            .ids
            .get_or_find(Name::Ews, || async {
                self.client
                    .nodes()
                    .enterprise_workspace()
                    .await
                    .map(|n| n.id)
                    .map_err(|e| Error::cs(doc, Step::Locate, e))
            })
            .await
    }

    /// The container for `loc`; `None` when a folder is missing and `create` is false.
    pub(super) async fn folder(
        &self,
        doc: &Document,
        loc: &Location,
        create: bool,
    ) -> Result<Option<i64>> {
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
            let key = Name::Folder(parent, name.to_lowercase());
            let found = self
                .dir
                .ids
                .resolve(key, || {
                    self.find_or_create_folder(doc, parent, name, create)
                })
                .await?;
            match found {
                Some(id) => parent = id,
                None => return Ok(None),
            }
        }
        Ok(Some(parent))
    }

    /// The folder `name` in `parent`, created when missing and `create` is set (the cache
    /// holds this name's slot, so no other document creates it meanwhile).
    async fn find_or_create_folder(
        &self,
        doc: &Document,
        parent: i64,
        name: &str,
        create: bool,
    ) -> Result<Option<i64>> {
        let err = |e| Error::cs(&doc.path, Step::Locate, e);
        let nodes = self.client.nodes();
        if let Some(n) = nodes.find_child(parent, name).await.map_err(err)? {
            return Ok(Some(n.id));
        }
        if !create {
            return Ok(None);
        }
        let id = match nodes.create_folder(parent, name).send().await {
            Ok(n) => Some(n.id),
            // Created by someone else since the lookup.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => nodes
                .find_child(parent, name)
                .await
                .map_err(err)?
                .map(|n| n.id),
            Err(e) => return Err(err(e)),
        };
        id.map(Some).ok_or_else(|| {
            Error::governance(&doc.path, Step::Locate, format!("folder {name:?} vanished"))
        })
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

    /// The definition of the category `name` (from the Categories volume and its create form
    /// in `folder`).
    pub(super) async fn category(
        &self,
        doc: &Document,
        name: &str,
        folder: i64,
    ) -> Result<Arc<CategoryDef>> {
        let key = Name::folded(Name::Category, name);
        self.dir
            .categories
            .get_or_find(key, || async {
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
                Ok(Arc::new(CategoryDef { id, attrs }))
            })
            .await
    }

    /// The id of the user, else the group, named `name`.
    pub(super) async fn member(&self, doc: &Document, step: Step, name: &str) -> Result<i64> {
        let key = Name::folded(Name::Member, name);
        self.dir
            .ids
            .get_or_find(key, || async {
                let members = self.client.members();
                let err = |e| Error::cs(&doc.path, step, e);
                match members.find_user(name).await.map_err(err)? {
                    Some(m) => Ok(m.id),
                    None => members
                        .find_group(name)
                        .await
                        .map_err(err)?
                        .map(|m| m.id)
                        .ok_or_else(|| {
                            Error::governance(
                                &doc.path,
                                step,
                                format!("no user or group named {name:?}"),
                            )
                        }),
                }
            })
            .await
    }

    /// The id of the RM classification `name` (from the classification volume).
    pub(super) async fn rm_class(&self, doc: &Document, name: &str) -> Result<i64> {
        let key = Name::folded(Name::RmClass, name);
        self.dir
            .ids
            .get_or_find(key, || async {
                self.find_in_volume(
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
                })
            })
            .await
    }

    /// The id of the hold `name`.
    pub(super) async fn hold(&self, doc: &Document, name: &str) -> Result<i64> {
        let key = Name::folded(Name::Hold, name);
        self.dir
            .ids
            .get_or_find(key, || async {
                self.client
                    .records()
                    .hold_by_name(name)
                    .await
                    .map_err(|e| Error::cs(&doc.path, Step::Hold, e))?
                    .map(|h| h.id)
                    .ok_or_else(|| {
                        Error::governance(&doc.path, Step::Hold, format!("no hold named {name:?}"))
                    })
            })
            .await
    }

    /// The id of the workflow map named `map` (or given as digits): from the workflows the
    /// server offers for `node` (`GET api/v2/docworkflows`), else from a search by name.
    pub(super) async fn workflow_map(&self, doc: &Document, map: &str, node: i64) -> Result<i64> {
        if let Ok(id) = map.trim().parse::<i64>() {
            return Ok(id);
        }
        let key = Name::folded(Name::WorkflowMap, map);
        self.dir
            .ids
            .get_or_find(key, || async {
                let err = |e| Error::cs(&doc.path, Step::Workflow, e);
                let offered = self
                    .client
                    .workflows()
                    .offered_for(node)
                    .await
                    .map_err(err)?
                    .into_iter()
                    .find(|w| w.name.eq_ignore_ascii_case(map))
                    .map(|w| w.id);
                if let Some(id) = offered {
                    return Ok(id);
                }
                let hits: Vec<_> = self
                    .client
                    .search()
                    .by_name(map)
                    .into_stream()
                    .try_collect()
                    .await
                    .map_err(err)?;
                hits.iter()
                    .find(|h| {
                        h.node.node_type == types::WORKFLOW_MAP
                            && h.node.name.eq_ignore_ascii_case(map)
                    })
                    .map(|h| h.node.id)
                    .ok_or_else(|| {
                        Error::governance(
                            &doc.path,
                            Step::Workflow,
                            format!("no workflow map named {map:?}"),
                        )
                    })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_found_name_is_looked_up_once_and_a_miss_again() {
        let cache: NameCache<Name, i64> = NameCache::default();
        let calls = std::sync::atomic::AtomicU32::new(0);
        let lookup = |found: Option<i64>| {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move { Ok(found) }
        };
        let key = Name::folded(Name::Hold, "Legal");
        assert_eq!(
            cache.resolve(key.clone(), || lookup(None)).await.unwrap(),
            None
        );
        assert_eq!(
            cache
                .resolve(key.clone(), || lookup(Some(7)))
                .await
                .unwrap(),
            Some(7)
        );
        assert_eq!(
            cache
                .resolve(Name::folded(Name::Hold, "LEGAL"), || lookup(Some(8)))
                .await
                .unwrap(),
            Some(7),
            "names compare case-insensitively"
        );
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
        let err = cache
            .get_or_find(Name::Ews, || async { Err(Error::Config("down".into())) })
            .await;
        assert!(err.is_err());
        assert_eq!(
            cache
                .get_or_find(Name::Ews, || async { Ok(2000) })
                .await
                .unwrap(),
            2000,
            "an error is not cached"
        );
    }
}
