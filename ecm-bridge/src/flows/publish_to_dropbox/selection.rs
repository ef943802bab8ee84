//! Which CS documents `publish_to_dropbox` publishes ([`Selection`], judged the same way when
//! a document is listed and when its publication is looked at again for withdrawal), and the
//! record of each publication in CS ([`CsRecordStep`]).

use std::collections::HashSet;
use std::sync::RwLock;

use async_trait::async_trait;
use contentserver_client::api::categories::{AttrKey, AttrValue, CategoryValues, NodeCategory};
use contentserver_client::{Client, ErrorKind};
use futures::TryStreamExt;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::connectors::dropbox::SHARE_LINK_STEP;
use crate::error::{Error, Result, Step as ErrorStep};
use crate::model::{Document, Location};
use crate::runner::{Step, StepInput, StepOutcome};
use crate::transform::{AsyncTransform, Outcome};

/// A category value that selects a document: `Publication.External = yes`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryValue {
    /// The category's name.
    pub category: String,
    /// The attribute's name.
    pub attribute: String,
    /// The value it must have (compared as text, ignoring case).
    pub value: String,
}

/// `select = { … }`: what narrows the folder's documents (all of them when empty).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Select {
    /// A category value the document must carry.
    #[serde(default, flatten)]
    pub category: Option<CategoryValue>,
    /// A search (words or LQL) run inside the folder at each run start; only its hits are
    /// published.
    #[serde(default)]
    pub search: Option<String>,
}

/// Whether a document is (still) selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Selected: publish it.
    Selected,
    /// Not selected, and why (a document published before is withdrawn).
    NotSelected(String),
}

/// The selection, shared by the transform (at listing) and the withdrawal pass.
pub(super) struct Selection {
    cs: Client,
    root: i64,
    select: Select,
    withhold_on_hold: bool,
    forbidden_rm_classes: Vec<String>,
    dropbox_folder: String,
    /// The search's hits of this run (node ids), when a search is configured.
    hits: RwLock<Option<HashSet<i64>>>,
}

impl Selection {
    pub(super) fn new(
        cs: Client,
        root: i64,
        select: Select,
        withhold_on_hold: bool,
        forbidden_rm_classes: Vec<String>,
        dropbox_folder: String,
    ) -> Self {
        Selection {
            cs,
            root,
            select,
            withhold_on_hold,
            forbidden_rm_classes,
            dropbox_folder,
            hits: RwLock::new(None),
        }
    }

    /// Runs the search (when configured) and keeps its hits for this run.
    pub(super) async fn refresh(&self) -> Result<()> {
        let Some(query) = &self.select.search else {
            return Ok(());
        };
        let hits: HashSet<i64> = self
            .cs
            .search()
            .query(query.clone())
            .location(self.root)
            .into_stream()
            .map_ok(|h| h.node.id)
            .try_collect()
            .await
            .map_err(|e| Error::cs(format!("search {query:?}"), ErrorStep::List, e))?;
        *self.hits.write().unwrap_or_else(|e| e.into_inner()) = Some(hits);
        Ok(())
    }

    /// Judges the document `node` as it is now in CS: gone or moved out of the folder, its
    /// category value, the search, a hold, its RM classification.
    pub(super) async fn verdict(&self, node: i64) -> Result<Verdict> {
        let label = format!("node {node}");
        match self.cs.nodes().get(node).send().await {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Ok(Verdict::NotSelected("deleted in Content Server".into()))
            }
            Err(e) => return Err(Error::cs(label, ErrorStep::List, e)),
        }
        let ancestors = self
            .cs
            .nodes()
            .ancestors(node)
            .await
            .map_err(|e| Error::cs(&label, ErrorStep::List, e))?;
        if !ancestors.iter().any(|a| a.id == self.root && a.id != node) {
            return Ok(Verdict::NotSelected(
                "moved out of the published folder".into(),
            ));
        }
        self.judge(node, &label).await
    }

    /// The checks that do not depend on where the document is.
    async fn judge(&self, node: i64, label: &str) -> Result<Verdict> {
        if let Some(hits) = self.hits.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
            if !hits.contains(&node) {
                return Ok(Verdict::NotSelected(format!(
                    "not found by the search {:?}",
                    self.select.search.as_deref().unwrap_or_default()
                )));
            }
        }
        if let Some(want) = &self.select.category {
            let cats = self
                .cs
                .categories()
                .list(node)
                .await
                .map_err(|e| Error::cs(label, ErrorStep::Categories, e))?;
            let have = cats
                .iter()
                .find(|c| is_named(c, &want.category))
                .and_then(|c| attribute_key(c, &want.attribute).and_then(|k| c.value(&k)))
                .map(text_of);
            if !have
                .as_deref()
                .is_some_and(|v| v.eq_ignore_ascii_case(&want.value))
            {
                return Ok(Verdict::NotSelected(format!(
                    "{}.{} is {} (not {})",
                    want.category,
                    want.attribute,
                    have.map_or("not set".to_owned(), |v| format!("{v:?}")),
                    want.value
                )));
            }
        }
        if self.withhold_on_hold {
            let holds = self
                .cs
                .records()
                .node_holds(node)
                .await
                .map_err(|e| Error::cs(label, ErrorStep::Hold, e))?;
            if let Some(h) = holds.first() {
                return Ok(Verdict::NotSelected(format!("on hold {:?}", h.name)));
            }
        }
        if !self.forbidden_rm_classes.is_empty() {
            let details = self
                .cs
                .records()
                .details(node)
                .await
                .map_err(|e| Error::cs(label, ErrorStep::Classify, e))?;
            for r in &details.records {
                let class = self
                    .cs
                    .nodes()
                    .get(r.class_id)
                    .send()
                    .await
                    .map_err(|e| Error::cs(label, ErrorStep::Classify, e))?;
                if self
                    .forbidden_rm_classes
                    .iter()
                    .any(|f| f.eq_ignore_ascii_case(&class.name))
                {
                    return Ok(Verdict::NotSelected(format!(
                        "RM classification {:?} forbids sharing",
                        class.name
                    )));
                }
            }
        }
        Ok(Verdict::Selected)
    }
}

fn is_named(c: &NodeCategory, name: &str) -> bool {
    c.name
        .as_deref()
        .is_some_and(|n| n.eq_ignore_ascii_case(name))
}

/// The key (`{cat}_{attr}`) of the attribute named `name` in `c`.
fn attribute_key(c: &NodeCategory, name: &str) -> Option<AttrKey> {
    let info = c.attributes.iter().find(|a| {
        a.name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
            && a.key.contains('_')
    })?;
    let attr = info.key.rsplit('_').next()?.parse().ok()?;
    Some(AttrKey::attr(c.id, attr))
}

fn text_of(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Array(a) => a.first().map(text_of).unwrap_or_default(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

#[async_trait]
impl AsyncTransform for std::sync::Arc<Selection> {
    async fn apply(&self, mut doc: Document) -> Result<Outcome> {
        let Some(node) = doc.source.node_id() else {
            return Ok(Outcome::skip("not a Content Server document"));
        };
        // Listed by the walk: it is below the folder and exists.
        match self.judge(node, &doc.path).await? {
            Verdict::Selected => {
                let folder = [self.dropbox_folder.trim_end_matches('/'), doc.folder()]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join("/");
                doc.governance.target = Some(Location::Dropbox(folder));
                Ok(Outcome::Pass(doc))
            }
            Verdict::NotSelected(why) => Ok(Outcome::skip(why)),
        }
    }
}

/// The name of [`CsRecordStep`] in the step log.
pub const CS_RECORD_STEP: &str = "cs_record";

/// A repeatable step that records the publication in CS: the category's `Published To` (the
/// Dropbox path, and the link when one was made), `Published On` (the day) and `Published
/// Version`. The category is applied when the document does not carry it yet.
#[derive(Clone)]
pub(super) struct CsRecordStep {
    cs: Client,
    category: String,
}

impl CsRecordStep {
    pub(super) fn new(cs: Client, category: String) -> Self {
        CsRecordStep { cs, category }
    }

    async fn category_of(&self, node: i64, label: &str) -> Result<Option<NodeCategory>> {
        let cats = self
            .cs
            .categories()
            .list(node)
            .await
            .map_err(|e| Error::cs(label, ErrorStep::Categories, e))?;
        Ok(cats.into_iter().find(|c| is_named(c, &self.category)))
    }

    /// Records the publication of `source` (a CS node at a version) at `location` (and
    /// `link`) on the day of `now`; returns what was recorded.
    pub(super) async fn record(
        &self,
        label: &str,
        source: &crate::model::DocRef,
        location: &str,
        link: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Json> {
        let node = source.node_id().ok_or_else(|| {
            Error::governance(
                label,
                ErrorStep::Categories,
                "not a Content Server document",
            )
        })?;
        let Some(cat) = self.category_of(node, label).await? else {
            return Err(Error::governance(
                label,
                ErrorStep::Categories,
                format!(
                    "the category {:?} is not applied to node {node}: the publication cannot be recorded",
                    self.category
                ),
            ));
        };
        let to = match link {
            Some(url) => format!("Dropbox {location} ({url})"),
            None => format!("Dropbox {location}"),
        };
        let version = source.version.clone().unwrap_or_default();
        let day = now.date_naive();
        let mut values = CategoryValues::new().category(cat.id);
        for (name, value) in [
            ("Published To", AttrValue::Text(to.clone())),
            ("Published On", AttrValue::Date(day)),
            ("Published Version", AttrValue::Text(version.clone())),
        ] {
            let key = attribute_key(&cat, name).ok_or_else(|| {
                Error::governance(
                    label,
                    ErrorStep::Categories,
                    format!("the category {:?} has no attribute {name:?}", self.category),
                )
            })?;
            values = values.set(key, value);
        }
        self.cs
            .categories()
            .update(node, cat.id, &values)
            .await
            .map_err(|e| Error::cs(label, ErrorStep::Categories, e))?;
        Ok(json!({
            "published_to": to,
            "published_on": day.to_string(),
            "published_version": version,
        }))
    }
}

#[async_trait]
impl Step for CsRecordStep {
    fn name(&self) -> &str {
        CS_RECORD_STEP
    }

    async fn run(&self, input: &StepInput<'_>) -> Result<StepOutcome> {
        let link = input
            .outputs
            .get(SHARE_LINK_STEP)
            .and_then(|o| o.get("url"))
            .and_then(Json::as_str);
        let out = self
            .record(
                &input.doc.path,
                &input.doc.source,
                &input.receipt.location,
                link,
                input.now,
            )
            .await?;
        Ok(StepOutcome::Done(out))
    }
}
