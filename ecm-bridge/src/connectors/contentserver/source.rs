//! [`CsSource`]: a Content Server folder tree as a change feed.

use std::collections::VecDeque;

use async_trait::async_trait;
use contentserver_client::api::documents::Version;
use contentserver_client::api::nodes::Node;
use contentserver_client::{Client, ErrorKind};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use futures::FutureExt;

use super::types;
use crate::error::{Error, Result, Step};
use crate::model::{Body, ByteStream, Checkpoint, DocRef, Document};
use crate::source::{Change, Item, Source};

/// A Content Server folder tree as a [`Source`]: every document below `root`, or those
/// modified at or after the watermark checkpoint (`modify_date`, as the server writes it; the
/// documents of the watermark's own second are listed again, and found unchanged).
#[derive(Debug, Clone)]
pub struct CsSource {
    client: Client,
    root: i64,
    recursive: bool,
    full_walk: bool,
    official: bool,
}

impl CsSource {
    /// Documents below the container `root`.
    pub fn new(client: Client, root: i64) -> Self {
        CsSource {
            client,
            root,
            recursive: true,
            full_walk: false,
            official: false,
        }
    }

    /// Whether sub-folders are walked (default yes).
    pub fn recursive(mut self, yes: bool) -> Self {
        self.recursive = yes;
        self
    }

    /// Lists every document at each run, ignoring the watermark (default no). For a flow
    /// whose selection can change without a new modify date (a category value, a hold), so
    /// that a document selected again is seen; the unchanged ones are found so in the store.
    pub fn full_walk(mut self, yes: bool) -> Self {
        self.full_walk = yes;
        self
    }

    /// Presents each document in its latest major version instead of its latest version
    /// (default no), for a document under advanced versioning: its minor versions are drafts
    /// or pending changes, not yet official. A document under standard versioning has only
    /// major versions; one with no major version at all is presented in its latest.
    pub fn official_versions(mut self, yes: bool) -> Self {
        self.official = yes;
        self
    }

    async fn version_of(&self, node: &Node, path: &str) -> Result<Version> {
        let err = |e| Error::cs(path, Step::List, e);
        if self.official && node.advanced_versioning {
            let versions: Vec<Version> = self
                .client
                .documents()
                .versions(node.id)
                .into_stream()
                .try_collect()
                .await
                .map_err(err)?;
            if let Some(v) = versions
                .iter()
                .rev()
                .find(|v| v.number().is_some_and(|n| n.is_major()))
            {
                return Ok(v.clone());
            }
        }
        self.client
            .documents()
            .latest_version(node.id)
            .await
            .map_err(err)
    }

    async fn document(&self, node: &Node, path: String) -> Result<Document> {
        let version = self.version_of(node, &path).await?;
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

    /// The walk as a stream: one folder listing page in memory at a time, a document's item
    /// yielded as soon as it is read, the watermark checkpoint on the last item. A document
    /// whose version lookup fails is yielded as [`Change::Unreadable`] and the walk goes on; a
    /// folder that cannot be listed ends the stream with its error.
    fn walk(self, since: Option<String>) -> BoxStream<'static, Result<Item>> {
        let walk = Walk {
            watermark: since.clone().unwrap_or_default(),
            queue: VecDeque::from([(self.root, String::new())]),
            since,
            current: None,
            finished: false,
            source: self,
        };
        stream::unfold(walk, |mut w| async move {
            let item = w.next_item().await?;
            Some((item, w))
        })
        .boxed()
    }
}

/// Where a [`CsSource`] walk is.
struct Walk {
    source: CsSource,
    since: Option<String>,
    /// The latest modify date seen, in the server's form.
    watermark: String,
    /// Folders still to list, with their paths relative to the root.
    queue: VecDeque<(i64, String)>,
    /// The folder being listed: its id, path and children.
    current: Option<(
        i64,
        String,
        BoxStream<'static, contentserver_client::Result<Node>>,
    )>,
    finished: bool,
}

impl Walk {
    async fn next_item(&mut self) -> Option<Result<Item>> {
        loop {
            if self.finished {
                return None;
            }
            let Some((folder, prefix, children)) = self.current.as_mut() else {
                match self.queue.pop_front() {
                    Some((folder, prefix)) => {
                        let children = self.source.client.nodes().children(folder).into_stream();
                        self.current = Some((folder, prefix, children));
                        continue;
                    }
                    None => {
                        self.finished = true;
                        let watermark = std::mem::take(&mut self.watermark);
                        return Some(Ok(Item {
                            change: Change::Nothing,
                            checkpoint: (!watermark.is_empty()).then_some(Checkpoint(watermark)),
                        }));
                    }
                }
            };
            let child = match children.next().await {
                None => {
                    self.current = None;
                    continue;
                }
                Some(Err(e)) => {
                    let folder = *folder;
                    self.finished = true;
                    return Some(Err(Error::cs(format!("node {folder}"), Step::List, e)));
                }
                Some(Ok(child)) => child,
            };
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
                // Inclusive: the server's dates have whole seconds, so a document changed in
                // the watermark's own second after the listing must not be missed. The ones
                // listed again are found unchanged in the state store.
                if self.since.as_deref().is_some_and(|s| modified.as_str() < s) {
                    continue;
                }
                if modified > self.watermark {
                    self.watermark = modified;
                }
                let item = match self.source.document(&child, path.clone()).await {
                    Ok(doc) => Item::upsert(doc),
                    Err(error) => Item {
                        change: Change::Unreadable {
                            source: DocRef::cs(child.id, 0),
                            path,
                            error: Box::new(error),
                        },
                        checkpoint: None,
                    },
                };
                return Some(Ok(item));
            } else if child.container && self.source.recursive {
                self.queue.push_back((child.id, path));
            }
        }
    }
}

#[async_trait]
impl Source for CsSource {
    async fn changes(&self, since: Option<Checkpoint>) -> Result<BoxStream<'static, Result<Item>>> {
        let since = since.filter(|_| !self.full_walk);
        Ok(self.clone().walk(since.map(|c| c.0)))
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
