//! The Dropbox emulator's state: accounts, namespaces with their entries, revisions, the change
//! journal that cursors point into, and how paths (`/…`, `id:`, `rev:`, `ns:`) resolve.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::wire::ApiError;

pub(crate) use super::render::{property_filter, Render};

/// A namespace id (home folders, the team space).
pub(crate) type NsId = u64;

/// The team space namespace.
pub(crate) const TEAM_NS: NsId = 3000;

/// A user of the emulated Dropbox.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    /// `dbid:` + 35 characters.
    pub account_id: String,
    /// `dbmid:…`.
    pub team_member_id: String,
    /// Legacy numeric user id (webhook `delta.users`).
    pub uid: u64,
    /// Given name.
    pub given: &'static str,
    /// Surname.
    pub surname: &'static str,
    /// E-mail address.
    pub email: &'static str,
    /// Home namespace.
    pub home_ns: NsId,
    /// Whether the account sees the team space (its root namespace is then the team space).
    pub team_space: bool,
    /// Whether the account is a team admin (`Dropbox-API-Select-Admin`).
    pub admin: bool,
}

impl Account {
    /// `users.Name`.
    pub(crate) fn name_json(&self) -> Value {
        json!({
            "given_name": self.given,
            "surname": self.surname,
            "familiar_name": self.given,
            "display_name": self.display_name(),
            "abbreviated_name": format!("{}{}", &self.given[..1], &self.surname[..1]),
        })
    }

    /// `given surname`.
    pub(crate) fn display_name(&self) -> String {
        format!("{} {}", self.given, self.surname)
    }

    /// The account's `RootInfo`.
    pub(crate) fn root_info(&self) -> Value {
        if self.team_space {
            json!({".tag": "team", "root_namespace_id": TEAM_NS.to_string(),
                   "home_namespace_id": self.home_ns.to_string(),
                   "home_path": format!("/{}", self.display_name())})
        } else {
            json!({".tag": "user", "root_namespace_id": self.home_ns.to_string(),
                   "home_namespace_id": self.home_ns.to_string()})
        }
    }
}

/// One revision of a file's contents.
#[derive(Debug, Clone)]
pub(crate) struct FileRev {
    /// `rev`.
    pub rev: String,
    /// Size in bytes.
    pub size: u64,
    /// `content_hash`.
    pub content_hash: String,
    /// Blob holding the bytes.
    pub blob: u64,
    /// `client_modified`.
    pub client_modified: DateTime<Utc>,
    /// `server_modified`.
    pub server_modified: DateTime<Utc>,
}

/// What a node is.
#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    /// A folder.
    Folder,
    /// A file at its current revision.
    File(FileRev),
}

/// A property group attached to a file or folder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PropertyGroup {
    /// `ptid:…`.
    pub template_id: String,
    /// Field name → value, in insertion order.
    pub fields: Vec<(String, String)>,
}

/// A file or folder in a namespace.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// `id:…`, stable across moves.
    pub id: String,
    /// Full display path inside the namespace.
    pub display: String,
    /// File or folder.
    pub kind: NodeKind,
    /// Tags (lower case).
    pub tags: Vec<String>,
    /// Custom properties.
    pub props: Vec<PropertyGroup>,
}

/// A namespace: its entries by lower-cased path, and per-path history.
#[derive(Debug, Default)]
pub(crate) struct Namespace {
    /// Entries keyed by `path_lower` (absolute inside the namespace).
    pub nodes: BTreeMap<String, Node>,
    /// Revisions that were ever at a path, oldest first.
    pub history: HashMap<String, Vec<String>>,
    /// The file or folder last deleted at a path (cleared when something is written there).
    pub deleted: HashMap<String, DeletedEntry>,
}

/// What is remembered of a deleted file or folder, for `include_deleted` and `list_revisions`.
#[derive(Debug, Clone)]
pub(crate) struct DeletedEntry {
    /// Its display path when it was deleted.
    pub display: String,
    /// When it was deleted.
    pub at: DateTime<Utc>,
}

/// One revision ever written.
#[derive(Debug, Clone)]
pub(crate) struct RevRecord {
    /// Namespace it was written in.
    pub ns: NsId,
    /// Path it was written at (lower case).
    pub lower: String,
    /// Path it was written at (display).
    pub display: String,
    /// The file's id.
    pub id: String,
    /// The contents.
    pub file: FileRev,
}

/// What a journal entry says happened at a path.
#[derive(Debug, Clone)]
pub(crate) enum Snapshot {
    /// A file was written (or moved/copied) there.
    File {
        /// `id:…`.
        id: String,
        /// Its revision then.
        file: FileRev,
    },
    /// A folder was created (or moved/copied) there.
    Folder {
        /// `id:…`.
        id: String,
    },
    /// What was there was deleted.
    Deleted,
}

/// One change in the journal; its position (1-based) is its sequence number.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    /// Namespace.
    pub ns: NsId,
    /// Lower-cased path.
    pub lower: String,
    /// Display path.
    pub display: String,
    /// What happened.
    pub what: Snapshot,
}

/// A shared folder created with `sharing/share_folder`.
#[derive(Debug, Clone)]
pub(crate) struct SharedFolder {
    /// `shared_folder_id` (digits).
    pub id: String,
    /// The folder's node id.
    pub folder_id: String,
    /// Owner account index.
    pub owner: usize,
    /// Member account indexes with their access level (`editor`, `viewer`, …).
    pub members: Vec<(usize, String)>,
    /// Invitees by e-mail with their access level.
    pub invitees: Vec<(String, String)>,
    /// The policy object returned in `SharedFolderMetadata.policy`.
    pub policy: Value,
    /// When it was shared.
    pub created: DateTime<Utc>,
}

/// A root that paths are relative to: a namespace, or a folder inside one (a shared folder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct View {
    /// The id a `ns:` path or `Dropbox-API-Path-Root` names it by.
    pub label: String,
    /// Namespace.
    pub ns: NsId,
    /// Lower-cased path of the root inside the namespace (`""` for the namespace root).
    pub prefix: String,
    /// Number of path components of `prefix`.
    pub depth: usize,
}

impl View {
    /// The root of a namespace.
    pub(crate) fn namespace(ns: NsId) -> View {
        View {
            label: ns.to_string(),
            ns,
            prefix: String::new(),
            depth: 0,
        }
    }

    /// Whether an absolute lower path lies inside this view (the view root itself included).
    pub(crate) fn contains(&self, ns: NsId, lower: &str) -> bool {
        ns == self.ns && within(lower, &self.prefix)
    }

    /// `(path_lower, path_display)` of an absolute path, relative to this view.
    pub(crate) fn relative(&self, lower: &str, display: &str) -> (String, String) {
        let rel_lower = lower[self.prefix.len().min(lower.len())..].to_owned();
        let rel_display = if self.depth == 0 {
            display.to_owned()
        } else {
            let rest: Vec<&str> = display.split('/').skip(self.depth + 1).collect();
            if rest.is_empty() {
                String::new()
            } else {
                format!("/{}", rest.join("/"))
            }
        };
        (rel_lower, rel_display)
    }
}

/// Whether `lower` equals `root` or lies below it (`root` = `""` contains everything).
pub(crate) fn within(lower: &str, root: &str) -> bool {
    root.is_empty()
        || lower == root
        || (lower.len() > root.len()
            && lower.starts_with(root)
            && lower.as_bytes()[root.len()] == b'/')
}

/// Lower-cases a path the way Dropbox compares paths.
pub(crate) fn lower(path: &str) -> String {
    path.to_lowercase()
}

/// The parent of an absolute path (`""` for top-level entries).
pub(crate) fn parent(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// The last component of a path.
pub(crate) fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A resolved location: an absolute path in a namespace, seen through a view.
#[derive(Debug, Clone)]
pub(crate) struct Loc {
    /// The view the caller addressed it through.
    pub view: View,
    /// Absolute lower-cased path in the namespace (`""` = the namespace root).
    pub lower: String,
    /// Absolute display path.
    pub display: String,
}

impl Loc {
    /// Namespace.
    pub(crate) fn ns(&self) -> NsId {
        self.view.ns
    }

    /// A location `name` below this one.
    pub(crate) fn child(&self, name: &str) -> Loc {
        Loc {
            view: self.view.clone(),
            lower: format!("{}/{}", self.lower, lower(name)),
            display: format!("{}/{}", self.display, name),
        }
    }

    /// The same location with a different last component.
    pub(crate) fn sibling(&self, name: &str) -> Loc {
        let parent_display = parent(&self.display).to_owned();
        Loc {
            view: self.view.clone(),
            lower: format!("{}/{}", parent(&self.lower), lower(name)),
            display: format!("{parent_display}/{name}"),
        }
    }

    /// Whether this is the root of its view.
    pub(crate) fn is_view_root(&self) -> bool {
        self.lower == self.view.prefix
    }
}

/// A path argument that did not resolve.
#[derive(Debug)]
pub(crate) enum PathError {
    /// The argument fails the route's path pattern (400).
    BadRequest(String),
    /// `LookupError`/`WriteError` `malformed_path`.
    Malformed,
    /// `LookupError.not_found`.
    NotFound,
    /// `WriteError.disallowed_name`.
    DisallowedName,
}

impl PathError {
    /// The error as a `LookupError` nested under `outer` (e.g. `path`, `path_lookup`).
    pub(crate) fn lookup(self, outer: &str) -> ApiError {
        match self {
            PathError::BadRequest(msg) => ApiError::BadRequest(msg),
            PathError::Malformed => ApiError::nested(outer, "malformed_path"),
            PathError::NotFound | PathError::DisallowedName => ApiError::nested(outer, "not_found"),
        }
    }
}

/// Why a write was refused (`WriteError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WriteError {
    /// `conflict` with `file`, `folder` or `file_ancestor`.
    Conflict(&'static str),
    /// `malformed_path`.
    Malformed,
    /// `disallowed_name`.
    DisallowedName,
}

impl WriteError {
    /// The `WriteError` union value.
    pub(crate) fn value(&self) -> Value {
        match self {
            WriteError::Conflict(kind) => json!({".tag": "conflict", "conflict": {".tag": kind}}),
            WriteError::Malformed => json!({".tag": "malformed_path"}),
            WriteError::DisallowedName => json!({".tag": "disallowed_name"}),
        }
    }

    /// 409 with `{".tag": outer, outer: WriteError}`.
    pub(crate) fn under(&self, outer: &str) -> ApiError {
        ApiError::with(outer, self.value())
    }
}

impl From<PathError> for WriteError {
    fn from(e: PathError) -> Self {
        match e {
            PathError::DisallowedName => WriteError::DisallowedName,
            _ => WriteError::Malformed,
        }
    }
}

const DISALLOWED: [&str; 6] = [
    "desktop.ini",
    "thumbs.db",
    ".ds_store",
    "icon\r",
    ".dropbox",
    ".dropbox.attr",
];

/// Checks the components of a relative path (`/a/b`) for reading or writing.
fn check_components(rel: &str, write: bool) -> Result<(), PathError> {
    if rel.ends_with('/') {
        return Err(PathError::Malformed);
    }
    for name in rel.split('/').skip(1) {
        if name.is_empty() || name.chars().count() > 255 {
            return Err(PathError::Malformed);
        }
        if write {
            if DISALLOWED.contains(&lower(name).as_str()) {
                return Err(PathError::DisallowedName);
            }
            if name == "."
                || name == ".."
                || name.ends_with(' ')
                || name.chars().any(|c| c.is_control() || c == '\\')
            {
                return Err(PathError::Malformed);
            }
        }
    }
    Ok(())
}

/// Which forms a path argument may take.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PathForms {
    /// `""` (the root).
    pub root: bool,
    /// `id:…`.
    pub id: bool,
    /// `rev:…`.
    pub rev: bool,
}

impl PathForms {
    /// `PathROrId`: root, `/…`, `id:`, `ns:`.
    pub(crate) const LIST: PathForms = PathForms {
        root: true,
        id: true,
        rev: false,
    };
    /// `ReadPath`: `/…`, `id:`, `rev:`, `ns:`.
    pub(crate) const READ: PathForms = PathForms {
        root: false,
        id: true,
        rev: true,
    };
    /// `PathOrId` / `WritePathOrId`: `/…`, `id:`, `ns:`.
    pub(crate) const ID: PathForms = PathForms {
        root: false,
        id: true,
        rev: false,
    };
    /// `Path` / `WritePath`: `/…`, `ns:`.
    pub(crate) const PLAIN: PathForms = PathForms {
        root: false,
        id: false,
        rev: false,
    };
}

/// A resolved path argument.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// A path (which may or may not exist).
    Loc(Loc),
    /// `rev:…`: one revision of a file.
    Rev(RevRecord),
}

/// The whole emulated Dropbox.
#[derive(Debug, Default)]
pub(crate) struct Store {
    /// Accounts, the first is the default one.
    pub accounts: Vec<Account>,
    /// Namespaces by id.
    pub namespaces: BTreeMap<NsId, Namespace>,
    /// Node id → (namespace, lower path).
    pub ids: HashMap<String, (NsId, String)>,
    /// Every revision ever written.
    pub revs: HashMap<String, RevRecord>,
    /// Node id → its revisions, oldest first.
    pub id_revs: HashMap<String, Vec<String>>,
    /// The change journal (sequence number = index + 1).
    pub journal: Vec<Change>,
    /// Shared folders by id.
    pub shared_folders: BTreeMap<String, SharedFolder>,
    /// Shared links.
    pub links: Vec<super::sharing::SharedLink>,
    /// File requests by id.
    pub file_requests: BTreeMap<String, super::file_requests::FileRequest>,
    /// Property templates by id.
    pub templates: BTreeMap<String, super::file_properties::Template>,
    /// Results of asynchronous jobs (`finish_batch`, `share_folder`) by job id.
    pub jobs: HashMap<String, Value>,
    /// Batch move, copy and delete jobs by job id.
    pub batch_jobs: HashMap<String, super::batch::BatchJob>,
    /// The team's audit log (`team_log.TeamEvent` JSON), oldest first.
    pub team_log: Vec<Value>,
    counter: u64,
}

impl Store {
    /// A fresh counter value (ids, revs, link keys); deterministic for a given history.
    pub(crate) fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// The current journal position.
    pub(crate) fn seq(&self) -> u64 {
        self.journal.len() as u64
    }

    /// A new node id.
    pub(crate) fn new_id(&mut self) -> String {
        let n = self.next();
        format!("id:{}", encode_id(n))
    }

    /// A new revision name for namespace `ns`.
    pub(crate) fn new_rev(&mut self, ns: NsId) -> String {
        let n = self.next();
        format!("{:x}{:08x}", ns, n)
    }

    /// The namespace `ns` (created empty if unknown).
    pub(crate) fn ns_mut(&mut self, ns: NsId) -> &mut Namespace {
        self.namespaces.entry(ns).or_default()
    }

    /// The node at an absolute path.
    pub(crate) fn node(&self, ns: NsId, lower: &str) -> Option<&Node> {
        self.namespaces.get(&ns)?.nodes.get(lower)
    }

    /// The node at an absolute path, mutably.
    pub(crate) fn node_mut(&mut self, ns: NsId, lower: &str) -> Option<&mut Node> {
        self.namespaces.get_mut(&ns)?.nodes.get_mut(lower)
    }

    /// The views an account can address: its home, the team space, shared folders it belongs to.
    pub(crate) fn views_of(&self, account: usize) -> Vec<View> {
        let acc = &self.accounts[account];
        let mut views = vec![View::namespace(acc.home_ns)];
        if acc.team_space {
            views.push(View::namespace(TEAM_NS));
        }
        for sf in self.shared_folders.values() {
            if sf.owner == account || sf.members.iter().any(|(m, _)| *m == account) {
                if let Some(view) = self.shared_folder_view(sf) {
                    views.push(view);
                }
            }
        }
        views
    }

    /// The view rooted at a shared folder.
    pub(crate) fn shared_folder_view(&self, sf: &SharedFolder) -> Option<View> {
        let (ns, lower) = self.ids.get(&sf.folder_id)?;
        Some(View {
            label: sf.id.clone(),
            ns: *ns,
            prefix: lower.clone(),
            depth: lower.split('/').count() - 1,
        })
    }

    /// The view (among the account's) an absolute location is best seen through.
    fn view_for(&self, account: usize, preferred: &View, ns: NsId, lower: &str) -> Option<View> {
        if preferred.contains(ns, lower) {
            return Some(preferred.clone());
        }
        self.views_of(account)
            .into_iter()
            .find(|v| v.contains(ns, lower))
    }

    /// The display path of an absolute location (from its node, or the lower path).
    fn display_of(&self, ns: NsId, lower: &str) -> String {
        self.node(ns, lower)
            .map_or_else(|| lower.to_owned(), |n| n.display.clone())
    }

    /// Resolves a path argument for `account` seen through `view`.
    pub(crate) fn resolve(
        &self,
        account: usize,
        view: &View,
        raw: &str,
        forms: PathForms,
        write: bool,
    ) -> Result<Target, PathError> {
        if raw.is_empty() {
            if forms.root {
                return Ok(Target::Loc(self.view_root(view)));
            }
            return Err(PathError::BadRequest(
                "path: The root folder is unsupported.".into(),
            ));
        }
        if raw == "/" {
            return Err(PathError::BadRequest(
                "path: Specify the root folder as an empty string rather than as \"/\".".into(),
            ));
        }
        if let Some(rel) = raw.strip_prefix('/').map(|_| raw) {
            check_components(rel, write)?;
            let root = self.view_root(view);
            return Ok(Target::Loc(self.below(&root, rel)));
        }
        if let Some(rest) = raw.strip_prefix("ns:") {
            let (label, rel) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            if label.is_empty() || !label.bytes().all(|b| b.is_ascii_digit()) {
                return Err(self.pattern_error(raw, forms));
            }
            let view = self
                .views_of(account)
                .into_iter()
                .find(|v| v.label == label)
                .ok_or(PathError::NotFound)?;
            let root = self.view_root(&view);
            if rel.is_empty() {
                if forms.root || !write {
                    return Ok(Target::Loc(root));
                }
                return Err(PathError::Malformed);
            }
            check_components(rel, write)?;
            return Ok(Target::Loc(self.below(&root, rel)));
        }
        if forms.id {
            if let Some(id) = raw.strip_prefix("id:") {
                if id.is_empty() {
                    return Err(PathError::Malformed);
                }
                let (ns, lower) = self.ids.get(raw).ok_or(PathError::NotFound)?;
                let view = self
                    .view_for(account, view, *ns, lower)
                    .ok_or(PathError::NotFound)?;
                return Ok(Target::Loc(Loc {
                    view,
                    lower: lower.clone(),
                    display: self.display_of(*ns, lower),
                }));
            }
        }
        if forms.rev {
            if let Some(rev) = raw.strip_prefix("rev:") {
                if rev.len() < 9 || !rev.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(self.pattern_error(raw, forms));
                }
                let record = self.revs.get(rev).ok_or(PathError::NotFound)?;
                if self
                    .view_for(account, view, record.ns, &record.lower)
                    .is_none()
                {
                    return Err(PathError::NotFound);
                }
                return Ok(Target::Rev(record.clone()));
            }
        }
        Err(self.pattern_error(raw, forms))
    }

    fn pattern_error(&self, raw: &str, forms: PathForms) -> PathError {
        let mut pattern = String::from("(/(.|[\\r\\n])*");
        if forms.id {
            pattern.push_str("|id:.*");
        }
        if forms.rev {
            pattern.push_str("|rev:[0-9a-f]{9,}");
        }
        pattern.push_str(")|(ns:[0-9]+(/.*)?)");
        if forms.root {
            pattern = format!("({pattern})?");
        }
        PathError::BadRequest(format!("path: '{raw}' did not match pattern '{pattern}'"))
    }

    /// The location of a view's root.
    pub(crate) fn view_root(&self, view: &View) -> Loc {
        Loc {
            view: view.clone(),
            lower: view.prefix.clone(),
            display: if view.prefix.is_empty() {
                String::new()
            } else {
                self.display_of(view.ns, &view.prefix)
            },
        }
    }

    /// `root` + a relative path `/a/b`, with the display case of existing ancestors.
    fn below(&self, root: &Loc, rel: &str) -> Loc {
        let mut loc = root.clone();
        for name in rel.split('/').skip(1) {
            let next = loc.child(name);
            loc = match self.node(next.ns(), &next.lower) {
                Some(node) if lower(file_name(&node.display)) == lower(name) => Loc {
                    display: node.display.clone(),
                    ..next
                },
                _ => next,
            };
        }
        loc
    }

    /// Appends a change to the journal.
    pub(crate) fn record(&mut self, ns: NsId, lower: &str, display: &str, what: Snapshot) {
        self.journal.push(Change {
            ns,
            lower: lower.to_owned(),
            display: display.to_owned(),
            what,
        });
    }

    /// Creates the missing folders above `loc`; fails if an ancestor is a file.
    pub(crate) fn ensure_parents(&mut self, loc: &Loc) -> Result<(), WriteError> {
        let ns = loc.ns();
        let mut missing = Vec::new();
        let mut lower_p = parent(&loc.lower).to_owned();
        let mut display_p = parent(&loc.display).to_owned();
        while !lower_p.is_empty() {
            match self.node(ns, &lower_p).map(|n| &n.kind) {
                Some(NodeKind::Folder) => break,
                Some(NodeKind::File(_)) => return Err(WriteError::Conflict("file_ancestor")),
                None => missing.push((lower_p.clone(), display_p.clone())),
            }
            lower_p = parent(&lower_p).to_owned();
            display_p = parent(&display_p).to_owned();
        }
        for (lower_m, display_m) in missing.into_iter().rev() {
            self.insert_folder(ns, &lower_m, &display_m, None);
        }
        Ok(())
    }

    /// Inserts a folder node (parents must exist) and journals it; returns its id.
    pub(crate) fn insert_folder(
        &mut self,
        ns: NsId,
        lower: &str,
        display: &str,
        id: Option<String>,
    ) -> String {
        let id = id.unwrap_or_else(|| self.new_id());
        let space = self.ns_mut(ns);
        space.deleted.remove(lower);
        space.nodes.insert(
            lower.to_owned(),
            Node {
                id: id.clone(),
                display: display.to_owned(),
                kind: NodeKind::Folder,
                tags: Vec::new(),
                props: Vec::new(),
            },
        );
        self.ids.insert(id.clone(), (ns, lower.to_owned()));
        self.record(ns, lower, display, Snapshot::Folder { id: id.clone() });
        id
    }

    /// Writes a file revision at an absolute path (parents must exist; any node there is
    /// replaced) and journals it.
    pub(crate) fn write_file(
        &mut self,
        ns: NsId,
        lower: &str,
        display: &str,
        id: Option<String>,
        file: FileRev,
    ) -> Node {
        let (id, tags, props) = match self.node(ns, lower) {
            Some(old) if matches!(old.kind, NodeKind::File(_)) => {
                (old.id.clone(), old.tags.clone(), old.props.clone())
            }
            _ => (id.unwrap_or_else(|| self.new_id()), Vec::new(), Vec::new()),
        };
        let node = Node {
            id: id.clone(),
            display: display.to_owned(),
            kind: NodeKind::File(file.clone()),
            tags,
            props,
        };
        let space = self.ns_mut(ns);
        space.nodes.insert(lower.to_owned(), node.clone());
        space
            .history
            .entry(lower.to_owned())
            .or_default()
            .push(file.rev.clone());
        space.deleted.remove(lower);
        self.ids.insert(id.clone(), (ns, lower.to_owned()));
        self.id_revs
            .entry(id.clone())
            .or_default()
            .push(file.rev.clone());
        self.revs.insert(
            file.rev.clone(),
            RevRecord {
                ns,
                lower: lower.to_owned(),
                display: display.to_owned(),
                id: id.clone(),
                file: file.clone(),
            },
        );
        self.record(ns, lower, display, Snapshot::File { id, file });
        node
    }

    /// Removes a node and everything below it, journalling a deletion for each; returns the
    /// removed nodes by lower path (the top first).
    pub(crate) fn remove_tree(
        &mut self,
        ns: NsId,
        lower: &str,
        now: DateTime<Utc>,
    ) -> Vec<(String, Node)> {
        let Some(space) = self.namespaces.get_mut(&ns) else {
            return Vec::new();
        };
        let keys: Vec<String> = space
            .nodes
            .range(lower.to_owned()..)
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(lower))
            .filter(|k| within(k, lower))
            .cloned()
            .collect();
        let mut removed = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(node) = space.nodes.remove(&key) {
                let entry = DeletedEntry {
                    display: node.display.clone(),
                    at: now,
                };
                space.deleted.insert(key.clone(), entry);
                removed.push((key, node));
            }
        }
        for (key, node) in &removed {
            self.ids.remove(&node.id);
            self.record(ns, key, &node.display, Snapshot::Deleted);
        }
        removed
    }

    /// The nodes directly below (or, `recursive`, anywhere below) an absolute path, in path
    /// order, starting after `after`.
    pub(crate) fn children<'a>(
        &'a self,
        ns: NsId,
        root: &'a str,
        recursive: bool,
        after: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a String, &'a Node)> + 'a {
        let start = after.map_or_else(|| format!("{root}/"), str::to_owned);
        let nodes = self.namespaces.get(&ns).map(|s| &s.nodes);
        nodes
            .into_iter()
            .flat_map(move |nodes| nodes.range(start.clone()..))
            .filter(move |(k, _)| Some(k.as_str()) != after)
            .take_while(move |(k, _)| root.is_empty() || k.starts_with(&format!("{root}/")))
            .filter(move |(k, _)| recursive || !k[root.len() + 1..].contains('/'))
    }

    /// The shared folder whose folder is node `id`.
    pub(crate) fn shared_folder_of(&self, id: &str) -> Option<&SharedFolder> {
        self.shared_folders.values().find(|sf| sf.folder_id == id)
    }

    /// The shared folder containing an absolute location (not counting the folder itself).
    pub(crate) fn enclosing_shared_folder(&self, ns: NsId, lower: &str) -> Option<&SharedFolder> {
        self.shared_folders.values().find(|sf| {
            self.ids
                .get(&sf.folder_id)
                .is_some_and(|(sns, sl)| *sns == ns && lower != sl && within(lower, sl))
        })
    }
}

/// An id body in Dropbox's style: 22 characters of `[A-Za-z0-9_-]`, derived from a counter.
fn encode_id(n: u64) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    // Mix the counter so neighbouring ids do not look alike, reversibly (odd multiplier).
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5bd1_e995;
    let mut out = String::from("sbx");
    for _ in 0..11 {
        out.push(ALPHABET[(x & 63) as usize] as char);
        x >>= 6;
    }
    out.push_str(&format!("{n:08}"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_and_relative_paths() {
        assert!(within("/a/b", "/a"));
        assert!(within("/a", "/a"));
        assert!(!within("/ab", "/a"));
        assert!(within("/x", ""));
        let view = View {
            label: "9".into(),
            ns: 1,
            prefix: "/shared/x".into(),
            depth: 2,
        };
        assert_eq!(
            view.relative("/shared/x/doc.txt", "/Shared/X/Doc.txt"),
            ("/doc.txt".to_owned(), "/Doc.txt".to_owned())
        );
        assert_eq!(
            view.relative("/shared/x", "/Shared/X"),
            (String::new(), String::new())
        );
    }

    #[test]
    fn component_rules() {
        assert!(check_components("/a/b", true).is_ok());
        assert!(matches!(
            check_components("/a//b", false),
            Err(PathError::Malformed)
        ));
        assert!(matches!(
            check_components("/a/", false),
            Err(PathError::Malformed)
        ));
        assert!(matches!(
            check_components("/x/Desktop.ini", true),
            Err(PathError::DisallowedName)
        ));
        assert!(matches!(
            check_components("/trailing ", true),
            Err(PathError::Malformed)
        ));
        assert!(check_components("/trailing ", false).is_ok());
    }

    #[test]
    fn ids_are_distinct_and_well_formed() {
        let a = encode_id(1);
        let b = encode_id(2);
        assert_ne!(a, b);
        assert_eq!(a.len(), 22);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-'));
    }
}
