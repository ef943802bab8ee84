//! Search (`POST /api/v2/search`): full text or by name, with `where`, `lookfor`, `within`,
//! as pages or a lazy stream.

use futures::stream::BoxStream;
use serde_json::{Map, Value};

use crate::api::categories::{AttrKey, AttrValue};
use crate::api::nodes::Node;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::paging::{self, Page};
use crate::transport::Call;

/// How the words of the query combine (`lookfor`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookFor {
    /// All words.
    AllWords,
    /// Any word.
    AnyWords,
    /// The exact phrase.
    ExactPhrase,
    /// An LQL query (the server's default).
    ComplexQuery,
}

impl LookFor {
    fn as_str(self) -> &'static str {
        match self {
            LookFor::AllWords => "allwords",
            LookFor::AnyWords => "anywords",
            LookFor::ExactPhrase => "exactphrase",
            LookFor::ComplexQuery => "complexquery",
        }
    }
}

/// What the query searches (`within`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Within {
    /// Content and metadata.
    All,
    /// Content only.
    Content,
    /// Metadata only.
    Metadata,
}

impl Within {
    fn as_str(self) -> &'static str {
        match self {
            Within::All => "all",
            Within::Content => "content",
            Within::Metadata => "metadata",
        }
    }
}

/// One search result.
#[derive(Clone, Debug, serde::Serialize)]
#[non_exhaustive]
pub struct SearchHit {
    /// `data.properties`.
    pub node: Node,
    /// `data.regions` (`OTName`, `OTLocation`, ...), when sent.
    pub regions: Map<String, Value>,
    /// `search_result_metadata`, when sent.
    pub metadata: Map<String, Value>,
}

/// Builder of a search; see [`Client::search`].
#[derive(Clone, Debug)]
pub struct Search {
    client: Client,
    query: Option<String>,
    /// LQL conditions joined to `query` with `and` (by name, by attribute).
    conditions: Vec<String>,
    lookfor: Option<LookFor>,
    within: Option<Within>,
    modifier: Option<String>,
    locations: Vec<i64>,
    sort: Option<String>,
    page_size: u64,
}

impl Search {
    pub(crate) fn new(client: Client) -> Self {
        Search {
            client,
            query: None,
            conditions: Vec::new(),
            lookfor: None,
            within: None,
            modifier: None,
            locations: Vec::new(),
            sort: None,
            page_size: 100,
        }
    }

    /// The query (`where`): words, or LQL such as `test or OTSubType: 144`.
    pub fn query(mut self, query: impl Into<String>) -> Self {
        self.query = Some(query.into());
        self
    }

    /// Searches by exact name: the LQL condition `OTName:"<name>"`, joined with `and` to the
    /// conditions so far. (How LQL escapes quotes is UNCONFIRMED; embedded `"` are escaped
    /// with `\`.)
    pub fn by_name(self, name: &str) -> Self {
        self.and(format!("OTName:\"{}\"", name.replace('"', "\\\"")))
    }

    /// Adds an LQL condition, joined with `and` to the query and the other conditions.
    fn and(mut self, clause: String) -> Self {
        self.conditions.push(clause);
        self.lookfor = Some(LookFor::ComplexQuery);
        self
    }

    /// The `where` of the request: the query (in parentheses when conditions follow, so that
    /// `a or b` stays one condition) and the conditions, joined with `and`.
    fn where_clause(&self) -> Option<String> {
        let query = self.query.as_deref().filter(|q| !q.trim().is_empty());
        match (query, self.conditions.is_empty()) {
            (None, true) => None,
            (Some(q), true) => Some(q.to_owned()),
            (q, false) => {
                let mut parts: Vec<String> = q.map(|q| format!("({q})")).into_iter().collect();
                parts.extend(self.conditions.iter().cloned());
                Some(parts.join(" and "))
            }
        }
    }

    /// Adds the condition "category attribute `key` has `value`": the LQL region query
    /// `Attr_{cat}_{attr}:"value"` (for a set row key, `Attr_{cat}_{set}_{attr}`, any row),
    /// joined to the query so far with `and`; a multi-value gives one condition per value.
    /// Text values match as a phrase (case-insensitive), dates as `YYYY-MM-DD`, users by id.
    ///
    /// `Attr_{cat}_{attr}` is the name Content Server gives an attribute's search region (its
    /// `CatRegionMap`); the reference documents `where` as LQL with regions (§14) but not
    /// the attribute regions' names (UNCONFIRMED there). Search depends on the index: a real
    /// server finds a new value only after indexing.
    ///
    /// ```no_run
    /// # use contentserver_client::{AttrKey, Client};
    /// # use futures::TryStreamExt;
    /// # async fn demo(client: Client) -> contentserver_client::Result<()> {
    /// let mut hits = client
    ///     .search()
    ///     .attribute(AttrKey::attr(9830, 2), "Marketing")
    ///     .into_stream();
    /// while let Some(hit) = hits.try_next().await? {
    ///     println!("{} {}", hit.node.id, hit.node.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn attribute(mut self, key: AttrKey, value: impl Into<AttrValue>) -> Self {
        let region = match key {
            AttrKey::Attr { category, attr } => format!("Attr_{category}_{attr}"),
            AttrKey::SetRow {
                category,
                set,
                attr,
                ..
            } => format!("Attr_{category}_{set}_{attr}"),
        };
        let value = value.into();
        let values = match &value {
            AttrValue::Multi(items) => items.clone(),
            _ => vec![value],
        };
        for v in values {
            let text = match &v {
                AttrValue::DateTime(d) => d.format("%Y-%m-%d").to_string(),
                other => other.scalar_text(),
            };
            self = self.and(format!("{region}:\"{}\"", text.replace('"', "\\\"")));
        }
        self
    }

    /// How words combine.
    pub fn lookfor(mut self, lookfor: LookFor) -> Self {
        self.lookfor = Some(lookfor);
        self
    }

    /// What to search.
    pub fn within(mut self, within: Within) -> Self {
        self.within = Some(within);
        self
    }

    /// A modifier (`synonymsof`, `relatedto`, `soundslike`, `wordbeginswith`, `wordendswith`).
    pub fn modifier(mut self, modifier: impl Into<String>) -> Self {
        self.modifier = Some(modifier.into());
        self
    }

    /// Restricts the search to a location (repeatable: `location_id1`, `location_id2`, ...).
    pub fn location(mut self, node: i64) -> Self {
        self.locations.push(node);
        self
    }

    /// Sort order, e.g. `relevance` or `desc_OTObjectSize`.
    pub fn sort(mut self, sort: impl Into<String>) -> Self {
        self.sort = Some(sort.into());
        self
    }

    /// Page size (default 100).
    pub fn page_size(mut self, size: u64) -> Self {
        self.page_size = size.max(1);
        self
    }

    /// Fetches one page (1-based).
    pub async fn page(&self, page: u64) -> Result<Page<SearchHit>> {
        let Some(query) = self.where_clause() else {
            return Err(Error::invalid("a search needs a query"));
        };
        let mut call = Call::post("api/v2/search")
            .safe_to_repeat()
            .form("where", &query)
            .form_opt("lookfor", self.lookfor.map(LookFor::as_str))
            .form_opt("within", self.within.map(Within::as_str))
            .form_opt("modifier", self.modifier.as_ref())
            .form_opt("sort", self.sort.as_ref());
        for (i, loc) in self.locations.iter().enumerate() {
            call = call.form(format!("location_id{}", i + 1), loc);
        }
        let call = call.form("page", page).form("limit", self.page_size);
        let json = self.client.transport.json(call).await?;
        let raw = json.v2_items()?;
        let mut items = Vec::with_capacity(raw.items.len());
        for item in &raw.items {
            let Some(props) = item.pointer("/data/properties") else {
                continue;
            };
            let node: Node = serde_json::from_value(props.clone())
                .map_err(|e| json.decode_error(format!("search result properties: {e}")))?;
            let object = |p: &str| {
                item.pointer(p)
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default()
            };
            items.push(SearchHit {
                node,
                regions: object("/data/regions"),
                metadata: object("/search_result_metadata"),
            });
        }
        Ok(Page {
            items,
            paging: raw.paging,
        })
    }

    /// All hits, lazily.
    pub fn into_stream(self) -> BoxStream<'static, Result<SearchHit>> {
        let limit = self.page_size;
        paging::items(paging::pages(limit, move |n| {
            let this = self.clone();
            async move { this.page(n).await }
        }))
    }
}
