//! The emulator's in-memory state: nodes and their versions, members, sessions, and the
//! records, workflow and workspace objects that hang off nodes.
//!
//! Everything lives in one [`Store`] behind a mutex that is never held across an `.await`.
//! Version contents are not here: they are files on disk (see `blobs.rs`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::wire::ApiError;

/// The CS message for a node that does not exist or that the caller may not see.
pub(crate) const NOT_ACCESSIBLE: &str = "Sorry, the item you requested could not be accessed. \
Either it does not exist or you do not have permission to access it. If you were sent a link to \
this item, please contact the sender for assistance.";

/// The CS message for an action the caller's permissions do not allow.
pub(crate) const INSUFFICIENT: &str = "Insufficient permissions to perform that action";

/// Node subtypes the emulator knows by name.
pub(crate) mod subtype {
    pub const FOLDER: i64 = 0;
    pub const SHORTCUT: i64 = 1;
    pub const URL: i64 = 140;
    pub const WORKFLOW_MAP: i64 = 128;
    pub const CATEGORY: i64 = 131;
    pub const CATEGORIES_VOLUME: i64 = 133;
    pub const ENTERPRISE_WORKSPACE: i64 = 141;
    pub const PERSONAL_WORKSPACE: i64 = 142;
    pub const DOCUMENT: i64 = 144;
    pub const CLASSIFICATION_TREE: i64 = 196;
    pub const CLASSIFICATION_VOLUME: i64 = 198;
    pub const CLASSIFICATION: i64 = 199;
    pub const RM_VOLUME: i64 = 550;
    pub const RM_CLASSIFICATION: i64 = 551;
    pub const BUSINESS_WORKSPACE: i64 = 848;
    pub const BUSINESS_WORKSPACES_VOLUME: i64 = 862;
    pub const TEMPLATES_VOLUME: i64 = 20541;
}

/// The display name CS gives a subtype.
pub(crate) fn type_name(subtype: i64) -> &'static str {
    match subtype {
        0 => "Folder",
        1 => "Shortcut",
        128 => "Workflow Map",
        131 => "Category",
        132 => "Category Folder",
        133 => "Categories Volume",
        136 => "Compound Document",
        140 => "URL",
        141 => "Enterprise Workspace",
        142 => "Personal Workspace",
        144 => "Document",
        196 => "Classification Tree",
        198 => "Classification Volume",
        199 => "Classification",
        550 => "Records Management",
        551 => "RM Classification",
        848 => "Business Workspace",
        862 => "Business Workspaces",
        20541 => "Content Server Templates",
        _ => "Item",
    }
}

/// Whether nodes of a subtype hold children.
pub(crate) fn is_container(subtype: i64) -> bool {
    matches!(
        subtype,
        0 | 132 | 133 | 136 | 141 | 142 | 196 | 198 | 202 | 298 | 550 | 751 | 848 | 862 | 20541
    )
}

/// One node permission. The REST API names them; the bits are ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Perm {
    See = 1,
    SeeContents = 2,
    Modify = 4,
    EditAttributes = 8,
    AddItems = 16,
    Reserve = 32,
    AddMajorVersion = 64,
    DeleteVersions = 128,
    Delete = 256,
    EditPermissions = 512,
}

impl Perm {
    /// Every permission in the order CS lists them.
    pub const ALL: [Perm; 10] = [
        Perm::See,
        Perm::SeeContents,
        Perm::Modify,
        Perm::EditAttributes,
        Perm::AddItems,
        Perm::Reserve,
        Perm::AddMajorVersion,
        Perm::DeleteVersions,
        Perm::Delete,
        Perm::EditPermissions,
    ];

    /// The REST name of the permission.
    pub fn name(self) -> &'static str {
        match self {
            Perm::See => "see",
            Perm::SeeContents => "see_contents",
            Perm::Modify => "modify",
            Perm::EditAttributes => "edit_attributes",
            Perm::AddItems => "add_items",
            Perm::Reserve => "reserve",
            Perm::AddMajorVersion => "add_major_version",
            Perm::DeleteVersions => "delete_versions",
            Perm::Delete => "delete",
            Perm::EditPermissions => "edit_permissions",
        }
    }

    fn from_name(name: &str) -> Option<Perm> {
        Perm::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// A set of permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Perms(pub u16);

impl Perms {
    /// No permission at all.
    pub const NONE: Perms = Perms(0);
    /// Every permission.
    pub const FULL: Perms = Perms(1023);

    /// Whether `perm` is in the set.
    pub fn has(self, perm: Perm) -> bool {
        self.0 & perm as u16 != 0
    }

    /// Parses REST permission names and adds the prerequisites CS implies: every permission
    /// needs `see`, and every permission beyond `see` also needs `see_contents`.
    /// (CS's exact implication rules are UNCONFIRMED; normalising is the lenient choice.)
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Perms, ApiError> {
        let mut bits = 0u16;
        for name in names {
            let perm = Perm::from_name(name).ok_or_else(|| {
                ApiError::bad_request(format!("Invalid permission value: '{name}'"))
            })?;
            bits |= perm as u16;
        }
        if bits != 0 {
            bits |= Perm::See as u16;
        }
        if bits & !(Perm::See as u16) != 0 {
            bits |= Perm::SeeContents as u16;
        }
        Ok(Perms(bits))
    }

    /// The REST names of the permissions in the set.
    pub fn names(self) -> Vec<&'static str> {
        Perm::ALL
            .into_iter()
            .filter(|p| self.has(*p))
            .map(Perm::name)
            .collect()
    }

    /// The union of two sets.
    pub fn union(self, other: Perms) -> Perms {
        Perms(self.0 | other.0)
    }
}

/// The access control list of a node.
#[derive(Debug, Clone, Default)]
pub(crate) struct Acl {
    pub owner: Perms,
    pub group: Perms,
    pub public: Perms,
    /// Assigned access, by member id (user or group).
    pub custom: BTreeMap<i64, Perms>,
}

/// One version of a document.
#[derive(Debug, Clone)]
pub(crate) struct Version {
    /// The sequence number (1, 2, 3, ... in the order versions were added): what the
    /// `/versions/{n}` paths take.
    pub number: u32,
    /// The major and minor numbers (`major.minor`; under standard versioning `number.0`).
    pub major: u32,
    pub minor: u32,
    pub version_id: i64,
    pub file_name: String,
    pub size: u64,
    pub mime_type: String,
    pub description: String,
    pub created: DateTime<Utc>,
    pub owner_id: i64,
    /// The file holding the bytes (under the data directory).
    pub blob: PathBuf,
    pub locked: bool,
    /// A bounded, lower-cased excerpt of the text, which the search "index" matches.
    pub text: String,
}

/// Business-workspace facts of a node of type 848.
#[derive(Debug, Clone)]
pub(crate) struct WorkspaceInfo {
    pub type_id: i64,
    pub template_id: i64,
    pub ext_system_id: Option<String>,
    pub bo_type: Option<String>,
    pub bo_id: Option<String>,
}

/// The records-management facts of a classified node.
#[derive(Debug, Clone)]
pub(crate) struct RmRecord {
    pub class_id: i64,
    pub record_date: String,
    pub status_date: String,
    pub file_status: String,
    pub rsi: String,
    pub essential: String,
    pub official: bool,
    pub storage: String,
}

/// A node: folder, document, volume, category definition, workflow map, workspace...
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub id: i64,
    pub parent_id: i64,
    pub volume_id: i64,
    pub name: String,
    pub description: String,
    pub subtype: i64,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub create_user_id: i64,
    pub modify_user_id: i64,
    pub owner_user_id: i64,
    pub owner_group_id: i64,
    pub children: BTreeSet<i64>,
    pub versions: Vec<Version>,
    /// Applied categories: category id → attribute key → value.
    pub categories: BTreeMap<i64, BTreeMap<String, Value>>,
    /// Bumped on every metadata change; stale tokens get 409.
    pub metadata_token: u64,
    pub classifications: Vec<i64>,
    pub rm: Option<RmRecord>,
    pub holds: BTreeSet<i64>,
    pub acl: Acl,
    /// Advanced (major/minor) versioning, chosen on create.
    pub advanced_versioning: bool,
    /// 0 when not reserved.
    pub reserved_user_id: i64,
    pub reserved_date: Option<DateTime<Utc>>,
    /// In the recycle bin.
    pub deleted: bool,
    pub url: Option<String>,
    pub original_id: Option<i64>,
    /// `external_create_date`, `external_modify_date`, `external_source`, `external_identity`,
    /// `external_identity_type`, as sent.
    pub external: BTreeMap<String, Value>,
    pub workspace: Option<WorkspaceInfo>,
    /// Emulator clock (ms) from which search finds the node (simulated index lag).
    pub indexed_at_ms: u64,
    /// Hidden from listings and search (e.g. workflow attachment folders).
    pub hidden: bool,
}

impl Node {
    /// The latest version, for documents.
    pub fn latest(&self) -> Option<&Version> {
        self.versions.last()
    }

    /// The node's size as CS reports it: bytes of the latest version for documents, the number
    /// of children otherwise (the caller corrects it for what a viewer may see).
    pub fn byte_size(&self) -> u64 {
        self.latest().map(|v| v.size).unwrap_or(0)
    }
}

/// A user or a group.
#[derive(Clone)]
pub(crate) struct Member {
    pub id: i64,
    /// Login name for users, group name for groups.
    pub name: String,
    /// 0 user, 1 group.
    pub kind: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// The user's default group.
    pub group_id: i64,
    pub password: String,
    pub admin: bool,
    /// For groups: member ids.
    pub members: BTreeSet<i64>,
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password stays out of Debug output.
        f.debug_struct("Member")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

/// An attribute definition inside a category.
#[derive(Debug, Clone)]
pub(crate) struct AttrDef {
    pub id: i64,
    pub name: String,
    pub kind: AttrKind,
    pub required: bool,
    pub valid_values: Vec<String>,
    /// 1 for single-valued attributes.
    pub max_values: usize,
    /// For sets: the attributes of a row, and the maximum number of rows.
    pub set: Vec<AttrDef>,
    pub max_rows: usize,
}

/// The value type of an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttrKind {
    Text,
    Date,
    Boolean,
    User,
    Set,
}

impl AttrKind {
    /// CS's numeric type code and name.
    pub fn code(self) -> (i64, &'static str) {
        match self {
            AttrKind::Text => (-1, "String"),
            AttrKind::Date => (-7, "Date"),
            AttrKind::Boolean => (5, "Boolean"),
            AttrKind::User => (14, "User"),
            AttrKind::Set => (-18, "Set"),
        }
    }
}

/// A category definition (the node of type 131 carries its name and id).
#[derive(Debug, Clone)]
pub(crate) struct CategoryDef {
    pub id: i64,
    pub name: String,
    pub attributes: Vec<AttrDef>,
}

/// A records-management hold.
#[derive(Debug, Clone)]
pub(crate) struct Hold {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub comment: String,
    pub alternate_id: String,
    pub parent_id: i64,
    pub date_applied: String,
    pub date_to_remove: Option<String>,
    pub apply_patron: i64,
    pub edit_date: String,
}

/// Who a workflow step goes to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Assignee {
    Initiator,
    Member(i64),
}

/// One step of a workflow map.
#[derive(Debug, Clone)]
pub(crate) struct StepDef {
    pub name: String,
    pub assignee: Assignee,
}

/// A workflow map (the node of type 128 carries its name and id).
#[derive(Debug, Clone)]
pub(crate) struct WorkflowMap {
    pub steps: Vec<StepDef>,
    /// Form fields: (key, title, type).
    pub form_fields: Vec<(String, String, String)>,
}

/// A draft process, before it is initiated.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub map_id: i64,
    pub initiator: i64,
    pub doc_ids: Vec<i64>,
    pub values: BTreeMap<String, Value>,
}

/// What became of a finished step.
#[derive(Debug, Clone)]
pub(crate) struct StepOutcome {
    pub step: usize,
    pub user_id: i64,
    pub disposition: String,
    pub comment: String,
    pub date: DateTime<Utc>,
}

/// The state a process is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProcessStatus {
    Running,
    Completed,
    Stopped,
}

/// A running or finished workflow process.
#[derive(Debug, Clone)]
pub(crate) struct Process {
    pub id: i64,
    pub map_id: i64,
    pub title: String,
    pub initiator: i64,
    pub started: DateTime<Utc>,
    pub due_date: Option<String>,
    pub values: BTreeMap<String, Value>,
    pub attachment_folder_id: i64,
    /// Index into the map's steps of the current step; meaningless once finished.
    pub current: usize,
    pub current_assignee: i64,
    pub status: ProcessStatus,
    pub history: Vec<StepOutcome>,
}

/// A business workspace type.
#[derive(Debug, Clone)]
pub(crate) struct WorkspaceType {
    pub id: i64,
    pub name: String,
    pub templates: Vec<i64>,
    pub ext_system_id: String,
    pub bo_type: String,
    /// Where new workspaces go when the request names no parent.
    pub location_id: i64,
}

/// A login session; tickets name it (see `auth.rs`).
#[derive(Debug, Clone)]
pub(crate) struct SessionRec {
    pub user_id: i64,
    pub last_used_ms: u64,
}

/// The whole emulated server state.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub next_id: i64,
    pub next_version_id: i64,
    pub next_work_id: i64,
    pub nodes: BTreeMap<i64, Node>,
    pub members: BTreeMap<i64, Member>,
    pub sessions: HashMap<u64, SessionRec>,
    pub next_session: u64,
    /// Simulated search index lag (ms).
    pub index_lag_ms: u64,
    pub categories: BTreeMap<i64, CategoryDef>,
    pub holds: BTreeMap<i64, Hold>,
    pub maps: BTreeMap<i64, WorkflowMap>,
    pub drafts: BTreeMap<i64, Draft>,
    pub processes: BTreeMap<i64, Process>,
    pub ws_types: BTreeMap<i64, WorkspaceType>,
    /// Roots of deleted subtrees (the recycle bin).
    pub recycle: BTreeSet<i64>,
    /// Volume node id by volume subtype (shared volumes only).
    pub volumes: BTreeMap<i64, i64>,
    /// Personal workspace node id by user id.
    pub personal: BTreeMap<i64, i64>,
    /// The hidden folder that holds workflow attachment folders.
    pub workflow_volume: i64,
    /// The fixed date used for seeded objects, so seeded data is the same on every start.
    pub seed_date: Option<DateTime<Utc>>,
    /// The seeded ids (see `seed.rs`).
    pub manifest: Value,
}

impl Store {
    /// A new id in the node id space.
    pub fn alloc_id(&mut self) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The node, whatever its state.
    pub fn node(&self, id: i64) -> Option<&Node> {
        self.nodes.get(&id)
    }

    /// A live (not deleted) node, or the CS "could not be accessed" error.
    pub fn live(&self, id: i64) -> Result<&Node, ApiError> {
        match self.nodes.get(&id) {
            Some(n) if !n.deleted => Ok(n),
            _ => Err(ApiError::bad_request(NOT_ACCESSIBLE)),
        }
    }

    /// A live node, mutable.
    pub fn live_mut(&mut self, id: i64) -> Result<&mut Node, ApiError> {
        match self.nodes.get_mut(&id) {
            Some(n) if !n.deleted => Ok(n),
            _ => Err(ApiError::bad_request(NOT_ACCESSIBLE)),
        }
    }

    /// The user or group.
    pub fn member(&self, id: i64) -> Option<&Member> {
        self.members.get(&id)
    }

    /// The user by login name.
    pub fn user_by_name(&self, name: &str) -> Option<&Member> {
        self.members
            .values()
            .find(|m| m.kind == 0 && m.name.eq_ignore_ascii_case(name))
    }

    /// Whether the user is a system administrator.
    pub fn is_admin(&self, user_id: i64) -> bool {
        self.members.get(&user_id).is_some_and(|m| m.admin)
    }

    /// The groups a user belongs to (directly).
    pub fn groups_of(&self, user_id: i64) -> Vec<i64> {
        self.members
            .values()
            .filter(|g| g.kind == 1 && g.members.contains(&user_id))
            .map(|g| g.id)
            .collect()
    }

    /// What `user_id` may do on node `id`. Administrators may do everything.
    pub fn perms(&self, user_id: i64, node: &Node) -> Perms {
        if self.is_admin(user_id) {
            return Perms::FULL;
        }
        let groups = self.groups_of(user_id);
        let mut p = node.acl.public;
        if node.owner_user_id == user_id {
            p = p.union(node.acl.owner);
        }
        if groups.contains(&node.owner_group_id) {
            p = p.union(node.acl.group);
        }
        for (member, perms) in &node.acl.custom {
            if *member == user_id || groups.contains(member) {
                p = p.union(*perms);
            }
        }
        p
    }

    /// The live node if `user_id` may see it, else the CS "could not be accessed" error.
    pub fn visible(&self, user_id: i64, id: i64) -> Result<&Node, ApiError> {
        let node = self.live(id)?;
        if self.perms(user_id, node).has(Perm::See) {
            Ok(node)
        } else {
            Err(ApiError::bad_request(NOT_ACCESSIBLE))
        }
    }

    /// The visible node if `user_id` also holds `perm` on it, else 500 "Insufficient permissions".
    pub fn require(&self, user_id: i64, id: i64, perm: Perm) -> Result<&Node, ApiError> {
        let node = self.visible(user_id, id)?;
        if self.perms(user_id, node).has(perm) {
            Ok(node)
        } else {
            Err(ApiError::server(INSUFFICIENT))
        }
    }

    /// The live children of a container that `user_id` may see, in id order.
    pub fn visible_children(&self, user_id: i64, node: &Node) -> Vec<&Node> {
        node.children
            .iter()
            .filter_map(|c| self.nodes.get(c))
            .filter(|c| !c.deleted && !c.hidden && self.perms(user_id, c).has(Perm::See))
            .collect()
    }

    /// The ancestors of a node, root first, the node itself last.
    pub fn path_of(&self, id: i64) -> Vec<&Node> {
        let mut chain = Vec::new();
        let mut cur = self.nodes.get(&id);
        while let Some(n) = cur {
            chain.push(n);
            if chain.len() > 64 {
                break;
            }
            cur = self.nodes.get(&n.parent_id);
        }
        chain.reverse();
        chain
    }

    /// Whether `id` is `ancestor` or lies below it.
    pub fn is_within(&self, id: i64, ancestor: i64) -> bool {
        self.path_of(id).iter().any(|n| n.id == ancestor)
    }

    /// The live child of `parent` with exactly this name (name uniqueness is case-sensitive:
    /// whether CS ignores case is UNCONFIRMED, and case-sensitive is the lenient choice).
    pub fn child_named(&self, parent: &Node, name: &str) -> Option<&Node> {
        parent
            .children
            .iter()
            .filter_map(|c| self.nodes.get(c))
            .find(|c| !c.deleted && c.name == name)
    }

    /// Fails with CS's duplicate message when `parent` already holds `name` (other than `except`).
    pub fn check_unique(&self, parent_id: i64, name: &str, except: i64) -> Result<(), ApiError> {
        let parent = self.live(parent_id)?;
        match self.child_named(parent, name) {
            Some(c) if c.id != except => Err(ApiError::server(format!(
                "An item with the name '{name}' already exists."
            ))),
            _ => Ok(()),
        }
    }

    /// The first hold found on the node or on anything below it.
    pub fn hold_within(&self, id: i64) -> Option<(&Node, &Hold)> {
        let node = self.nodes.get(&id)?;
        if node.deleted {
            return None;
        }
        if let Some(h) = node.holds.iter().find_map(|h| self.holds.get(h)) {
            return Some((node, h));
        }
        node.children.iter().find_map(|c| self.hold_within(*c))
    }

    /// The volume id children of `parent` get: a volume's own negative id, a business
    /// workspace's id, or the parent's volume.
    pub fn child_volume(&self, parent: &Node) -> i64 {
        if parent.subtype == subtype::BUSINESS_WORKSPACE {
            parent.id
        } else if parent.parent_id == -1 {
            -parent.id
        } else {
            parent.volume_id
        }
    }

    /// Inserts a node under its parent. The caller has checked names and permissions.
    pub fn insert(&mut self, node: Node) -> i64 {
        let id = node.id;
        if let Some(p) = self.nodes.get_mut(&node.parent_id) {
            p.children.insert(id);
        }
        self.nodes.insert(id, node);
        id
    }

    /// A fresh node under `parent_id`, inheriting its permissions as CS does on create.
    pub fn new_node(
        &mut self,
        parent_id: i64,
        subtype: i64,
        name: &str,
        user_id: i64,
        now: DateTime<Utc>,
        now_ms: u64,
    ) -> Node {
        let (acl, volume_id, group) = match self.nodes.get(&parent_id) {
            Some(p) => (p.acl.clone(), self.child_volume(p), p.owner_group_id),
            None => (Acl::default(), 0, 0),
        };
        let owner_group_id = self
            .members
            .get(&user_id)
            .map(|m| m.group_id)
            .filter(|g| *g != 0)
            .unwrap_or(group);
        let id = self.alloc_id();
        Node {
            id,
            parent_id,
            volume_id,
            name: name.to_owned(),
            description: String::new(),
            subtype,
            created: now,
            modified: now,
            create_user_id: user_id,
            modify_user_id: user_id,
            owner_user_id: user_id,
            owner_group_id,
            children: BTreeSet::new(),
            versions: Vec::new(),
            categories: BTreeMap::new(),
            metadata_token: 1,
            classifications: Vec::new(),
            rm: None,
            holds: BTreeSet::new(),
            acl,
            advanced_versioning: false,
            reserved_user_id: 0,
            reserved_date: None,
            deleted: false,
            url: None,
            original_id: None,
            external: BTreeMap::new(),
            workspace: None,
            indexed_at_ms: now_ms + self.index_lag_ms,
            hidden: false,
        }
    }
}

/// Checks a node name against the rules we apply: not empty, at most 248 characters (pyxecm's
/// `MAX_ITEM_NAME_LENGTH`), and no `:` (pyxecm strips it because servers refuse it; the exact
/// server message is UNCONFIRMED, so this one is ours).
pub(crate) fn check_name(name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() {
        return Err(ApiError::bad_request("The name cannot be blank."));
    }
    if name.chars().count() > 248 {
        return Err(ApiError::bad_request(
            "The name is too long. The maximum length is 248 characters.",
        ));
    }
    if name.contains(':') {
        return Err(ApiError::bad_request(format!(
            "The name '{name}' contains the character ':', which is not allowed."
        )));
    }
    Ok(())
}
