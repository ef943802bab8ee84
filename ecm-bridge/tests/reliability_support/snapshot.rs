//! The end state of a flow's run, read back from both sides and the store with no fault rule
//! installed, in a form two runs can be compared by: no node ids, revs or times (a category
//! value or a link expiry that is a time is kept as `<time>` unless fixed by the flow's clock).
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};

use contentserver_client::models::NodeType;
use dropbox_client::models::files::{ListFolderArg, Metadata};
use dropbox_client::models::sharing::{FolderMember, ListFolderMembersArgs, ListSharedLinksArg};
use ecm_bridge::state::{DocStatus, Store};
use futures::{StreamExt, TryStreamExt};

use super::reliability_support::audited_writes;

/// One CS node below a scenario's roots.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CsNode {
    /// The subtype's display name (or number).
    pub kind: String,
    /// The content hash of each version, oldest first (documents only).
    pub versions: Vec<String>,
    /// Category → attribute → value (a time as `<time>`).
    pub categories: BTreeMap<String, BTreeMap<String, String>>,
    /// The RM classes.
    pub rm: Vec<String>,
    /// The holds' names.
    pub holds: Vec<String>,
    /// The processes attached: (name, the current steps' task names), sorted.
    pub processes: Vec<(String, Vec<String>)>,
}

/// One Dropbox entry below a scenario's roots.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DbEntry {
    /// The content hash (a folder has none).
    pub hash: Option<String>,
    /// The tags' texts.
    pub tags: Vec<String>,
    /// The direct shared links' settings: (expires, allow download, password required).
    pub links: Vec<String>,
    /// A shared folder's members: (who, access level).
    pub members: Vec<String>,
}

/// A store record: status and its steps (name: state), sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rec {
    /// The status's name.
    pub status: String,
    /// `name: state` of each step of the record's version.
    pub steps: Vec<String>,
}

/// What a flow ends in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// CS path (from the Enterprise Workspace, `/`-joined) → node.
    pub cs: BTreeMap<String, CsNode>,
    /// Dropbox path (as displayed) → entry.
    pub dropbox: BTreeMap<String, DbEntry>,
    /// The record's path (or key) → its records.
    pub records: BTreeMap<String, Vec<Rec>>,
    /// (flow, path) → writes audited (`create`, `add_version`, `adopt`).
    pub writes: BTreeMap<(String, String), usize>,
}

impl Snapshot {
    /// The CS documents (nodes with versions).
    pub fn cs_docs(&self) -> impl Iterator<Item = (&String, &CsNode)> {
        self.cs.iter().filter(|(_, n)| !n.versions.is_empty())
    }

    /// The Dropbox files.
    pub fn dropbox_files(&self) -> impl Iterator<Item = (&String, &DbEntry)> {
        self.dropbox.iter().filter(|(_, e)| e.hash.is_some())
    }

    /// Names made unique after case folding (`name~<8 hex>.ext`): which of the colliding
    /// sources gets the plain name depends on the order they are written in, which faults
    /// change. Each such group is keyed `<folder>/<folded name> #k`, in the order of the
    /// bytes, and its `Original Name` values dropped; `~` names in the writes are folded too.
    pub fn fold_collisions(&mut self) {
        let re = regex::Regex::new(r"~[0-9a-f]{8}(\.[^./]*)?$").unwrap();
        let fold = |p: &str| re.replace(p, "$1").to_lowercase();
        let renamed: BTreeSet<String> = self
            .cs
            .keys()
            .filter(|p| re.is_match(p))
            .map(|p| fold(p))
            .collect();
        let mut groups = BTreeSet::new();
        for group in renamed {
            let keys: Vec<String> = self
                .cs
                .keys()
                .filter(|p| fold(p) == group)
                .cloned()
                .collect();
            if keys.len() < 2 {
                continue; // a name adapted for its length, not a collision
            }
            groups.insert(group.clone());
            let mut nodes: Vec<CsNode> = keys.iter().filter_map(|k| self.cs.remove(k)).collect();
            for n in &mut nodes {
                for values in n.categories.values_mut() {
                    values.remove("Original Name");
                }
            }
            nodes.sort_by(|a, b| a.versions.cmp(&b.versions));
            for (k, n) in nodes.into_iter().enumerate() {
                self.cs.insert(format!("{group} #{k}"), n);
            }
        }
        let writes = std::mem::take(&mut self.writes);
        for ((flow, path), n) in writes {
            let folded = fold(&path);
            let path = if groups
                .iter()
                .any(|g| g.ends_with(&folded) || folded.ends_with(g.as_str()))
            {
                folded
            } else {
                path
            };
            *self.writes.entry((flow, path)).or_default() += n;
        }
    }

    /// A readable difference of two snapshots (the first keys that differ), for a failure.
    pub fn diff(&self, want: &Snapshot) -> String {
        let mut out = String::new();
        fn side<K: Ord + std::fmt::Debug, V: std::fmt::Debug + PartialEq>(
            out: &mut String,
            what: &str,
            got: &BTreeMap<K, V>,
            want: &BTreeMap<K, V>,
        ) {
            let mut n = 0;
            for (k, v) in got {
                if want.get(k) != Some(v) && n < 8 {
                    out.push_str(&format!(
                        "{what} {k:?}: got {v:?}, want {:?}\n",
                        want.get(k)
                    ));
                    n += 1;
                }
            }
            for (k, v) in want {
                if !got.contains_key(k) && n < 8 {
                    out.push_str(&format!("{what} {k:?}: missing, want {v:?}\n"));
                    n += 1;
                }
            }
        }
        side(&mut out, "cs", &self.cs, &want.cs);
        side(&mut out, "dropbox", &self.dropbox, &want.dropbox);
        side(&mut out, "record", &self.records, &want.records);
        side(&mut out, "writes", &self.writes, &want.writes);
        out
    }
}

/// A value as text, a time as `<time>`, a URL as `<url>`.
fn text(v: &serde_json::Value) -> String {
    let s = match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    // A link names ids (a shared link's token): kept as `<url>`.
    let s = regex::Regex::new(r"https?://[^\s)]+")
        .unwrap()
        .replace_all(&s, "<url>")
        .into_owned();
    if chrono::DateTime::parse_from_rfc3339(&s).is_ok()
        || chrono::NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S").is_ok()
    {
        "<time>".into()
    } else {
        s
    }
}

/// The Dropbox content hash of `bytes`.
fn hash(bytes: &[u8]) -> String {
    super::reliability_support::content_hash(bytes)
}

/// Node id → the processes attached to it: (name, current steps' task names), sorted. One
/// pass over the caller's processes (`attached_to` per document would read them all each time).
async fn processes(cs: &contentserver_client::Client) -> HashMap<i64, Vec<(String, Vec<String>)>> {
    let mut out: HashMap<i64, Vec<(String, Vec<String>)>> = HashMap::new();
    let listed = cs.workflows().processes().send().await.unwrap();
    let mut seen = BTreeSet::new();
    for summary in listed {
        if !seen.insert(summary.process_id) {
            continue;
        }
        let status = cs.workflows().status(summary.process_id).await.unwrap();
        let Some(folder) = status.attachment_folder_id else {
            continue;
        };
        let attached: Vec<contentserver_client::api::nodes::Node> = cs
            .nodes()
            .children(folder)
            .into_stream()
            .try_collect()
            .await
            .unwrap();
        let steps: Vec<String> = status
            .current_steps
            .iter()
            .map(|s| s.task_name.clone().unwrap_or_default())
            .collect();
        for a in attached {
            let id = a
                .extra
                .get("original_id")
                .and_then(|v| v.as_i64())
                .unwrap_or(a.id);
            out.entry(id)
                .or_default()
                .push((status.name.clone().unwrap_or_default(), steps.clone()));
        }
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

async fn cs_node(
    cs: &contentserver_client::Client,
    node: &contentserver_client::api::nodes::Node,
    processes: &HashMap<i64, Vec<(String, Vec<String>)>>,
) -> CsNode {
    let id = node.id;
    let mut out = CsNode {
        kind: node
            .node_type
            .name()
            .map(str::to_owned)
            .unwrap_or_else(|| node.node_type.code().to_string()),
        ..CsNode::default()
    };
    if node.node_type == NodeType::Document {
        let mut versions = cs.documents().versions(id).send().await.unwrap();
        versions.sort_by_key(|v| v.version_number);
        for v in versions {
            let mut d = cs.documents().download(id);
            if let Some(n) = v.version_number {
                d = d.version(n);
            }
            let bytes = d.send().await.unwrap().bytes().await.unwrap();
            out.versions.push(hash(&bytes));
        }
        out.processes = processes.get(&id).cloned().unwrap_or_default();
    }
    if node.node_type != NodeType::Shortcut {
        for c in cs.categories().list(id).await.unwrap() {
            let values = c
                .attributes
                .iter()
                .filter_map(|a| Some((a.name.clone()?, text(c.values.get(&a.key)?))))
                .collect();
            out.categories
                .insert(c.name.clone().unwrap_or_default(), values);
        }
        let details = cs.records().details(id).await.unwrap();
        out.rm = details
            .records
            .iter()
            .filter_map(|r| r.name.clone())
            .collect();
        out.rm.sort();
        out.holds = cs
            .records()
            .node_holds(id)
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.name)
            .collect();
        out.holds.sort();
    }
    out
}

/// Every node below the CS folders `roots` (paths from the Enterprise Workspace; one that is
/// not there is left out), the roots included.
pub async fn cs_tree(
    cs: &contentserver_client::Client,
    roots: &[&str],
) -> BTreeMap<String, CsNode> {
    let ews = cs.nodes().enterprise_workspace().await.unwrap();
    let mut found = Vec::new();
    let mut todo = Vec::new();
    for root in roots {
        let segs: Vec<&str> = root.split('/').collect();
        if let Some(n) = cs.nodes().resolve_path(ews.id, &segs).await.unwrap() {
            todo.push((root.to_string(), n));
        }
    }
    while let Some((path, node)) = todo.pop() {
        if node.container {
            let children: Vec<_> = cs
                .nodes()
                .children(node.id)
                .into_stream()
                .try_collect()
                .await
                .unwrap();
            for c in children {
                todo.push((format!("{path}/{}", c.name), c));
            }
        }
        found.push((path, node));
    }
    let processes = &processes(cs).await;
    futures::stream::iter(found)
        .map(|(path, node)| async move { (path, cs_node(cs, &node, processes).await) })
        .buffer_unordered(8)
        .collect()
        .await
}

async fn db_entry(db: &dropbox_client::Client, m: Metadata) -> Option<(String, DbEntry)> {
    let mut e = DbEntry::default();
    let path = match m {
        Metadata::File(f) => {
            let p = f.path_display.clone()?;
            e.hash = Some(f.content_hash.clone().unwrap_or_default());
            let tags = db.files().get_tags([p.as_str()]).await.unwrap();
            e.tags = tags.paths_to_tags[0]
                .tags
                .iter()
                .filter_map(|t| t.text().map(str::to_owned))
                .collect();
            e.tags.sort();
            let links = db
                .sharing()
                .list_shared_links(ListSharedLinksArg {
                    path: Some(p.clone()),
                    cursor: None,
                    direct_only: Some(true),
                })
                .await
                .unwrap();
            e.links = links
                .links
                .iter()
                .map(|l| {
                    let f = l.fields();
                    format!(
                        "expires {:?}, download {}, password {:?}",
                        f.expires,
                        f.link_permissions.allow_download,
                        f.link_permissions.require_password
                    )
                })
                .collect();
            e.links.sort();
            p
        }
        Metadata::Folder(f) => {
            let p = f.path_display.clone()?;
            if let Some(shared) = f.sharing_info.and_then(|s| s.shared_folder_id) {
                let members: Vec<FolderMember> = db
                    .sharing()
                    .list_folder_members(ListFolderMembersArgs::new(shared))
                    .into_stream()
                    .try_collect()
                    .await
                    .unwrap();
                e.members = members
                    .iter()
                    .map(|m| match m {
                        FolderMember::User(u) => {
                            format!("user {:?}: {:?}", u.user.email, u.access_type)
                        }
                        FolderMember::Group(g) => format!("group: {:?}", g.access_type),
                        FolderMember::Invitee(i) => {
                            format!("invitee {:?}: {:?}", i.invitee, i.access_type)
                        }
                        other => format!("{other:?}"),
                    })
                    .collect();
                e.members.sort();
            }
            p
        }
        _ => return None,
    };
    Some((path, e))
}

/// Every entry below the Dropbox folders `roots` (a root that is not there is left out).
pub async fn dropbox_tree(
    db: &dropbox_client::Client,
    roots: &[&str],
) -> BTreeMap<String, DbEntry> {
    let mut entries = Vec::new();
    for root in roots {
        match db
            .files()
            .list_folder(ListFolderArg::new(*root).recursive(true))
            .into_stream()
            .try_collect::<Vec<_>>()
            .await
        {
            Ok(found) => entries.extend(found),
            Err(e) if e.kind() == dropbox_client::ErrorKind::NotFound => {}
            Err(e) => panic!("{root}: {e}"),
        }
    }
    futures::stream::iter(entries)
        .map(|m| db_entry(db, m))
        .buffer_unordered(8)
        .filter_map(|e| async move { e })
        .collect()
        .await
}

/// The records of `flow` but the skipped: path (or key) → (status, steps), and its audited
/// writes.
pub async fn store_state(
    store: &dyn Store,
    flow: &str,
) -> (
    BTreeMap<String, Vec<Rec>>,
    BTreeMap<(String, String), usize>,
) {
    let mut records: BTreeMap<String, Vec<Rec>> = BTreeMap::new();
    // Not `skipped`: a version a transform skips writes nothing, and whether a record of it
    // is kept depends on whether an earlier attempt failed first (e.g. intake_to_workflow's
    // lookup of a file's request under an expired token).
    for status in DocStatus::ALL
        .into_iter()
        .filter(|s| *s != DocStatus::Skipped)
    {
        for r in store.records_by_status(flow, status).await.unwrap() {
            let version = r.source.version.clone().unwrap_or_default();
            let mut steps: Vec<String> = store
                .steps(flow, &r.source.key(), &version)
                .await
                .unwrap()
                .iter()
                .map(|s| format!("{}: {:?}", s.name, s.state))
                .collect();
            steps.sort();
            let key = r.path.clone().unwrap_or_else(|| r.source.key());
            records.entry(key).or_default().push(Rec {
                status: status.to_string(),
                steps,
            });
        }
    }
    for r in records.values_mut() {
        r.sort_by(|a, b| (&a.status, &a.steps).cmp(&(&b.status, &b.steps)));
    }
    let audit = store.audit(Some(flow)).await.unwrap();
    (records, audited_writes(&audit))
}

/// The snapshot: the CS folders `cs_roots`, the Dropbox folders `db_roots`, `flow`'s records
/// and audited writes. Read with clients that meet no fault (clear the rules first).
pub async fn take(
    cs: &contentserver_client::Client,
    db: &dropbox_client::Client,
    store: &dyn Store,
    flow: &str,
    cs_roots: &[&str],
    db_roots: &[&str],
) -> Snapshot {
    let (records, writes) = store_state(store, flow).await;
    Snapshot {
        cs: cs_tree(cs, cs_roots).await,
        dropbox: dropbox_tree(db, db_roots).await,
        records,
        writes,
    }
}
