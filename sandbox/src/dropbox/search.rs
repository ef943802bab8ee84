//! `files/search_v2` (+ continue) and `files/tags/*`.

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::auth::Caller;
use super::files::*;
use super::state::{
    file_name, lower, within, DeletedEntry, NsId, PathForms, Render, Store, Target, View,
};
use super::wire::{self, parse, ApiError};
use super::App;

#[derive(Debug, Clone, Default, Deserialize)]
struct SearchOptions {
    path: Option<String>,
    max_results: Option<u64>,
    file_status: Option<Value>,
    file_extensions: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct SearchArg {
    query: String,
    #[serde(default)]
    options: Option<SearchOptions>,
}

#[derive(Debug, Serialize, Deserialize)]
struct SearchCursor {
    a: usize,
    q: String,
    path: Option<String>,
    deleted: bool,
    ext: Option<Vec<String>>,
    max: usize,
    off: usize,
    view: (String, NsId, String, usize),
}

fn search_page(store: &Store, caller: &Caller, c: &SearchCursor) -> Result<Value, ApiError> {
    let view = View {
        label: c.view.0.clone(),
        ns: c.view.1,
        prefix: c.view.2.clone(),
        depth: c.view.3,
    };
    let scoped = Caller {
        view: view.clone(),
        ..caller.clone()
    };
    let root = match &c.path {
        Some(p) if !p.is_empty() => match resolve(store, &scoped, p, PathForms::LIST, false)
            .map_err(|e| e.lookup("path"))?
        {
            Target::Loc(loc) => loc,
            Target::Rev(_) => return Err(ApiError::nested("path", "not_found")),
        },
        _ => store.view_root(&view),
    };
    let words: Vec<String> = c.q.split_whitespace().map(lower).collect();
    let matches_name = |name: &str| {
        let name = lower(name);
        words.iter().all(|w| name.contains(w.as_str()))
            && c.ext.as_ref().is_none_or(|exts| {
                exts.iter()
                    .any(|e| name.ends_with(&format!(".{}", lower(e.trim_start_matches('.')))))
            })
    };
    let mut hits: Vec<Value> = Vec::new();
    if c.deleted {
        if let Some(space) = store.namespaces.get(&root.ns()) {
            let mut deleted: Vec<(&String, &DeletedEntry)> = space
                .deleted
                .iter()
                .filter(|(p, _)| within(p, &root.lower) && !space.nodes.contains_key(*p))
                .collect();
            deleted.sort_by(|a, b| a.0.cmp(b.0));
            for (path, gone) in deleted {
                let display = &gone.display;
                if matches_name(file_name(display)) {
                    let (pl, pd) = view.relative(path, display);
                    hits.push(json!({".tag": "deleted", "name": file_name(display), "path_lower": pl, "path_display": pd}));
                }
            }
        }
    } else {
        for (path, node) in store.children(root.ns(), &root.lower, true, None) {
            if matches_name(file_name(&node.display)) {
                hits.push(store.node_metadata(&view, root.ns(), path, node, &Render::tagged()));
            }
        }
    }
    let total = hits.len().min(10_000);
    let page: Vec<Value> = hits
        .into_iter()
        .take(total)
        .skip(c.off)
        .take(c.max)
        .map(|m| json!({"metadata": {".tag": "metadata", "metadata": m}, "match_type": {".tag": "filename"}}))
        .collect();
    let next = c.off + page.len();
    let has_more = next < total;
    let mut result = json!({"matches": page, "has_more": has_more});
    if has_more {
        let cursor = SearchCursor {
            off: next,
            q: c.q.clone(),
            path: c.path.clone(),
            ext: c.ext.clone(),
            view: c.view.clone(),
            ..*c
        };
        let json = serde_json::to_vec(&cursor).unwrap_or_default();
        result["cursor"] = json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json));
    }
    Ok(result)
}

/// `files/search_v2`: by name (every word of the query must occur in the name).
pub(crate) fn search_v2(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: SearchArg = parse(arg)?;
    if arg.query.chars().count() > 1000 {
        return Err(ApiError::BadRequest(
            "request body: query: longer than 1000".into(),
        ));
    }
    if arg.query.trim().is_empty() {
        return Err(ApiError::Route(
            json!({".tag": "invalid_argument", "invalid_argument": "query is empty"}),
        ));
    }
    let options = arg.options.unwrap_or_default();
    let max = options.max_results.unwrap_or(100);
    if !(1..=1000).contains(&max) {
        return Err(ApiError::BadRequest(format!(
            "request body: options.max_results: {max} is not within 1..1000"
        )));
    }
    let deleted = options.file_status.as_ref().and_then(wire::union_tag) == Some("deleted");
    let cursor = SearchCursor {
        a: caller.account,
        q: arg.query,
        path: options.path,
        deleted,
        ext: options.file_extensions,
        max: max as usize,
        off: 0,
        view: (
            caller.view.label.clone(),
            caller.view.ns,
            caller.view.prefix.clone(),
            caller.view.depth,
        ),
    };
    let store = app.store();
    search_page(&store, caller, &cursor)
}

/// `files/search/continue_v2`.
pub(crate) fn search_continue_v2(
    app: &App,
    caller: &Caller,
    arg: Value,
) -> Result<Value, ApiError> {
    let arg: CursorArg = parse(arg)?;
    let cursor: SearchCursor = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&arg.cursor)
        .ok()
        .and_then(|j| serde_json::from_slice(&j).ok())
        .filter(|c: &SearchCursor| c.a == caller.account)
        .ok_or_else(|| ApiError::BadRequest("cursor: invalid cursor".into()))?;
    let store = app.store();
    search_page(&store, caller, &cursor)
}

#[derive(Debug, Deserialize)]
struct TagArg {
    path: String,
    tag_text: String,
}

fn check_tag(text: &str) -> Result<String, ApiError> {
    let ok = (1..=32).contains(&text.chars().count())
        && text.chars().all(|c| c.is_alphanumeric() || c == '_');
    if ok {
        Ok(lower(text))
    } else {
        Err(ApiError::BadRequest(format!(
            "request body: tag_text: '{text}' did not match pattern '[\\w]+' (1..32 characters)"
        )))
    }
}

/// `files/tags/add`.
pub(crate) fn tags_add(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: TagArg = parse(arg)?;
    let tag = check_tag(&arg.tag_text)?;
    app.mutate(|store| {
        let (loc, _) = existing(store, caller, &arg.path, PathForms::PLAIN, "path")?;
        let node = store
            .node_mut(loc.ns(), &loc.lower)
            .ok_or(ApiError::nested("path", "not_found"))?;
        if !node.tags.contains(&tag) {
            if node.tags.len() >= 20 {
                return Err(ApiError::tag("too_many_tags"));
            }
            node.tags.push(tag);
        }
        Ok(Value::Null)
    })
}

/// `files/tags/remove`.
pub(crate) fn tags_remove(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: TagArg = parse(arg)?;
    let tag = check_tag(&arg.tag_text)?;
    app.mutate(|store| {
        let (loc, _) = existing(store, caller, &arg.path, PathForms::PLAIN, "path")?;
        let node = store
            .node_mut(loc.ns(), &loc.lower)
            .ok_or(ApiError::nested("path", "not_found"))?;
        let before = node.tags.len();
        node.tags.retain(|t| *t != tag);
        if node.tags.len() == before {
            return Err(ApiError::tag("tag_not_present"));
        }
        Ok(Value::Null)
    })
}

#[derive(Debug, Deserialize)]
struct GetTagsArg {
    paths: Vec<String>,
}

/// `files/tags/get`.
pub(crate) fn tags_get(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: GetTagsArg = parse(arg)?;
    let store = app.store();
    let mut out = Vec::new();
    for path in &arg.paths {
        let (_, node) = existing(&store, caller, path, PathForms::PLAIN, "path")?;
        let tags: Vec<Value> = node
            .tags
            .iter()
            .map(|t| json!({".tag": "user_generated_tag", "tag_text": t}))
            .collect();
        out.push(json!({"path": path, "tags": tags}));
    }
    Ok(json!({"paths_to_tags": out}))
}
