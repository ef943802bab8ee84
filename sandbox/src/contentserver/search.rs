//! Search: `POST /api/v2/search` (and the deprecated GET) by name, metadata and text.
//!
//! `where` is read as a small subset of LQL: free terms and `"quoted phrases"`, the regions
//! `OTName:`, `OTSubType:`, `OTParentID:` and `OTLocation:` (ancestor id), the category
//! attribute regions `Attr_{cat}_{attr}:"phrase"` and `Attr_{cat}_{set}_{attr}:"phrase"`
//! (any row; CS names an attribute's region so in its `CatRegionMap`; the reference documents
//! LQL regions but not these names, UNCONFIRMED there), and the words
//! `and`/`or`/`not` (`not` excludes the following term). Matching is a case-insensitive
//! substring test. `lookfor` picks how free terms combine (`allwords`, `anywords`,
//! `exactphrase`, `complexquery`: any when the query says `or`, else all); `within` picks where
//! they are looked for (`all`, `content`, `metadata`); `location_id{n}` scopes the search.
//! Content is matched against the first 4 KiB of the latest version, when it looks like text. Nodes changed less than
//! the configured index lag ago are not found yet.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::nodes::properties;
use super::state::{Node, Perm, Store};
use super::versions::version_json;
use super::wire::{json_ok, links, value_text, ApiError, ApiResult, Page, Req};
use super::ContentServer;

/// The search routes.
pub(crate) fn routes() -> Router<ContentServer> {
    Router::new().route("/api/v2/search", get(search).post(search))
}

#[derive(Debug, Default)]
struct Query {
    terms: Vec<String>,
    excluded: Vec<String>,
    names: Vec<String>,
    subtypes: Vec<i64>,
    parents: Vec<i64>,
    locations: Vec<i64>,
    /// `Attr_{cat}_{attr}` or `Attr_{cat}_{set}_{attr}` regions: (category, set, attribute,
    /// the phrase, lower-cased).
    attrs: Vec<(i64, Option<i64>, i64, String)>,
    any: bool,
}

fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for ch in text.chars() {
        match ch {
            '"' => {
                quoted = !quoted;
                if !quoted {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn parse(where_: &str, lookfor: &str) -> Result<Query, ApiError> {
    let mut q = Query::default();
    if lookfor == "exactphrase" {
        q.terms.push(where_.trim().trim_matches('"').to_lowercase());
        return Ok(q);
    }
    let bad = |t: &str| ApiError::bad_request(format!("Invalid search query near '{t}'."));
    let mut negate = false;
    for tok in tokens(where_) {
        let lower = tok.to_lowercase();
        match lower.as_str() {
            "and" => continue,
            "or" => {
                q.any = true;
                continue;
            }
            "not" => {
                negate = true;
                continue;
            }
            _ => {}
        }
        if let Some((region, value)) = tok.split_once(':') {
            let value = value.trim_matches('"');
            match region.to_ascii_lowercase().as_str() {
                "otname" => q.names.push(value.to_lowercase()),
                "otsubtype" => q.subtypes.push(value.parse().map_err(|_| bad(&tok))?),
                "otparentid" => q.parents.push(value.parse().map_err(|_| bad(&tok))?),
                "otlocation" => q.locations.push(value.parse().map_err(|_| bad(&tok))?),
                r if r.starts_with("attr_") => {
                    let ids: Vec<i64> = r["attr_".len()..]
                        .split('_')
                        .map(|p| p.parse().map_err(|_| bad(&tok)))
                        .collect::<Result<_, _>>()?;
                    let phrase = value.to_lowercase();
                    match ids.as_slice() {
                        [c, a] => q.attrs.push((*c, None, *a, phrase)),
                        [c, set, a] => q.attrs.push((*c, Some(*set), *a, phrase)),
                        _ => return Err(bad(&tok)),
                    }
                }
                _ => q.terms.push(lower),
            }
        } else if negate {
            q.excluded.push(lower);
        } else {
            q.terms.push(lower);
        }
        negate = false;
    }
    q.any = match lookfor {
        "anywords" => true,
        "allwords" => false,
        _ => q.any,
    };
    Ok(q)
}

fn haystack(node: &Node, within: &str) -> String {
    let mut text = String::new();
    if within != "content" {
        text.push_str(&node.name.to_lowercase());
        text.push('\n');
        text.push_str(&node.description.to_lowercase());
        for values in node.categories.values() {
            for v in values.values() {
                if let Some(t) = value_text(v) {
                    text.push('\n');
                    text.push_str(&t.to_lowercase());
                }
            }
        }
    }
    if within != "metadata" {
        if let Some(v) = node.latest() {
            text.push('\n');
            text.push_str(&v.text);
        }
    }
    text
}

fn matches(store: &Store, node: &Node, q: &Query, within: &str) -> bool {
    if !q.names.is_empty() && !q.names.iter().all(|n| node.name.to_lowercase().contains(n)) {
        return false;
    }
    if !q.subtypes.is_empty() && !q.subtypes.contains(&node.subtype) {
        return false;
    }
    if !q.parents.is_empty() && !q.parents.contains(&node.parent_id) {
        return false;
    }
    if !q.locations.is_empty() && !q.locations.iter().any(|l| store.is_within(node.id, *l)) {
        return false;
    }
    if !q
        .attrs
        .iter()
        .all(|(c, set, a, phrase)| attr_matches(node, *c, *set, *a, phrase))
    {
        return false;
    }
    let hay = haystack(node, within);
    if q.excluded.iter().any(|t| hay.contains(t)) {
        return false;
    }
    if q.terms.is_empty() {
        return true;
    }
    if q.any {
        q.terms.iter().any(|t| hay.contains(t))
    } else {
        q.terms.iter().all(|t| hay.contains(t))
    }
}

/// The words of a text: maximal runs of letters and digits, lower-cased.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether one stored attribute value matches a region phrase: the phrase's words appear in
/// the value's words, in order and next to each other (a phrase query on the region, as a
/// full-text index answers it); a stored date also matches its `YYYY-MM-DD` day.
fn value_matches(value: &Value, phrase: &str) -> bool {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let wanted = words(phrase);
    items.into_iter().filter_map(value_text).any(|text| {
        let lower = text.to_lowercase();
        if lower == phrase || lower.get(..10).is_some_and(|day| day == phrase) {
            return true;
        }
        let have = words(&lower);
        !wanted.is_empty() && have.windows(wanted.len()).any(|w| w == wanted.as_slice())
    })
}

/// Whether category `cat`'s attribute `attr` (in any row of set `set`, when given) holds a
/// value matching `phrase`.
fn attr_matches(node: &Node, cat: i64, set: Option<i64>, attr: i64, phrase: &str) -> bool {
    let Some(values) = node.categories.get(&cat) else {
        return false;
    };
    values.iter().any(|(key, value)| {
        let parts: Vec<&str> = key.split('_').collect();
        let hit = match (set, parts.as_slice()) {
            (None, [_, a]) => *a == attr.to_string(),
            (Some(s), [_, ks, _row, a]) => *ks == s.to_string() && *a == attr.to_string(),
            _ => false,
        };
        hit && value_matches(value, phrase)
    })
}

async fn search(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let user = req.user()?;
    let p = &req.params;
    let where_ = p
        .str("where")
        .filter(|w| !w.trim().is_empty())
        .ok_or_else(|| ApiError::missing("where"))?;
    let lookfor = p
        .str("lookfor")
        .unwrap_or_else(|| "complexquery".to_owned())
        .to_ascii_lowercase();
    let within = p
        .str("within")
        .unwrap_or_else(|| "all".to_owned())
        .to_ascii_lowercase();
    let mut query = parse(&where_, &lookfor)?;
    for key in p.keys() {
        if key.starts_with("location_id") {
            if let Some(id) = p.i64(key)? {
                query.locations.push(id);
            }
        }
    }
    let sort = p.str("sort").unwrap_or_else(|| "relevance".to_owned());
    let now_ms = cs.now_ms();
    let store = cs.store();
    let mut hits: Vec<&Node> = store
        .nodes
        .values()
        .filter(|n| !n.deleted && !n.hidden && n.parent_id != -1)
        .filter(|n| n.indexed_at_ms <= now_ms)
        .filter(|n| !store.path_of(n.id).iter().any(|a| a.hidden || a.deleted))
        .filter(|n| store.perms(user, n).has(Perm::See))
        .filter(|n| matches(&store, n, &query, &within))
        .collect();
    match sort.as_str() {
        "asc_OTName" => hits.sort_by_key(|n| n.name.to_lowercase()),
        "desc_OTName" => hits.sort_by_key(|n| std::cmp::Reverse(n.name.to_lowercase())),
        "desc_OTObjectSize" => hits.sort_by_key(|n| std::cmp::Reverse(n.byte_size())),
        "asc_OTObjectSize" => hits.sort_by_key(|n| n.byte_size()),
        "desc_OTModifyDate" => hits.sort_by_key(|n| std::cmp::Reverse(n.modified)),
        "asc_OTModifyDate" => hits.sort_by_key(|n| n.modified),
        _ => {}
    }
    let page = Page::from_params(p, hits.len(), None)?;
    let range = page.range();
    let items: Vec<Value> = hits[range.clone()]
        .iter()
        .map(|n| result_item(&store, n, user))
        .collect();
    let mut paging = page.json();
    paging["result_header_string"] = json!(if range.is_empty() {
        "No results".to_owned()
    } else {
        format!(
            "Results {} to {} of {}",
            range.start + 1,
            range.end,
            page.total
        )
    });
    Ok(json_ok(json!({
        "links": links(&req),
        "collection": {
            "paging": paging,
            "searching": {
                "cache_id": now_ms,
                "regions_metadata": {
                    "OTName": {"name": "Name"},
                    "OTLocation": {"name": "Location"},
                    "OTObjectSize": {"name": "Size"},
                },
                "result_title": "Search Results",
            },
            "sorting": {"links": {}, "sort": [{"key": "sort", "value": sort}]},
        },
        "results": items,
    })))
}

fn result_item(store: &Store, n: &Node, user: i64) -> Value {
    let location: Vec<String> = store
        .path_of(n.id)
        .iter()
        .take_while(|a| a.id != n.id)
        .map(|a| a.name.clone())
        .collect();
    let version = n.latest().map(|v| v.number).unwrap_or(0);
    json!({
        "data": {
            "properties": properties(store, n, user),
            "regions": {
                "OTName": n.name,
                "OTLocation": location.join(":"),
                "OTObjectSize": n.byte_size(),
                "OTSubType": n.subtype,
            },
            "versions": n.latest().map(|v| version_json(n, v)),
        },
        "links": {
            "ancestors": {"href": format!("api/v1/nodes/{}/ancestors", n.id), "method": "GET"},
            "parent": {"href": format!("api/v2/nodes/{}", n.parent_id), "method": "GET"},
        },
        "search_result_metadata": {
            "current_version": true,
            "object_id": format!("DataId={}&Version={version}", n.id),
            "result_type": "264",
            "source_id": n.id,
        },
    })
}
