//! Node subtypes (`type` on every node), as the reference's table of CS-wide constants lists
//! them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! node_types {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $name:literal;)*) => {
        /// A node subtype. The numbers are the same on every server; subtypes without a
        /// variant here (modules, custom types, RM classifications 551, ...) are
        /// [`NodeType::Other`] with their number.
        ///
        /// Compares with a plain number too: `node.node_type == 144`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum NodeType {
            $($(#[$doc])* $variant,)*
            /// Any other subtype, by number.
            Other(u32),
        }

        impl NodeType {
            /// The subtype number.
            pub fn code(self) -> u32 {
                match self {
                    $(NodeType::$variant => $code,)*
                    NodeType::Other(code) => code,
                }
            }

            /// The variant of a subtype number (`Other` for numbers without one).
            pub fn from_code(code: u32) -> NodeType {
                match code {
                    $($code => NodeType::$variant,)*
                    other => NodeType::Other(other),
                }
            }

            /// The English display name CS gives the subtype, when it has a variant here.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $(NodeType::$variant => Some($name),)*
                    NodeType::Other(_) => None,
                }
            }
        }
    };
}

node_types! {
    /// 0: a folder.
    Folder = 0, "Folder";
    /// 1: a shortcut (alias) to another node (`original_id`).
    Shortcut = 1, "Shortcut";
    /// 2: a generation.
    Generation = 2, "Generation";
    /// 128: a workflow map.
    WorkflowMap = 128, "Workflow Map";
    /// 131: a category definition.
    Category = 131, "Category";
    /// 132: a category folder.
    CategoryFolder = 132, "Category Folder";
    /// 133: the Categories volume.
    CategoriesVolume = 133, "Categories Volume";
    /// 136: a compound document.
    CompoundDocument = 136, "Compound Document";
    /// 140: a URL (`url`).
    Url = 140, "URL";
    /// 141: the Enterprise Workspace volume.
    EnterpriseWorkspace = 141, "Enterprise Workspace";
    /// 142: a Personal Workspace volume.
    PersonalWorkspace = 142, "Personal Workspace";
    /// 144: a document.
    Document = 144, "Document";
    /// 190: a workflow status.
    WorkflowStatus = 190, "Workflow Status";
    /// 196: a classification tree.
    ClassificationTree = 196, "Classification Tree";
    /// 198: the Classification volume.
    ClassificationVolume = 198, "Classification Volume";
    /// 199: a classification.
    Classification = 199, "Classification";
    /// 202: a project.
    Project = 202, "Project";
    /// 204: a task list.
    TaskList = 204, "Task List";
    /// 205: a task group.
    TaskGroup = 205, "Task Group";
    /// 206: a task.
    Task = 206, "Task";
    /// 212: a milestone.
    Milestone = 212, "Milestone";
    /// 258: a saved search query.
    SearchQuery = 258, "Search Query";
    /// 298: a collection.
    Collection = 298, "Collection";
    /// 550: the Records Management volume.
    RecordsManagementVolume = 550, "Records Management";
    /// 751: an email folder.
    EmailFolder = 751, "Email Folder";
    /// 833: a hold (records management).
    Hold = 833, "Hold";
    /// 848: a business workspace.
    BusinessWorkspace = 848, "Business Workspace";
    /// 854: a related workspace.
    RelatedWorkspace = 854, "Related Workspace";
    /// 862: the Business Workspaces volume.
    BusinessWorkspacesVolume = 862, "Business Workspaces";
    /// 877: a smart document type.
    SmartDocType = 877, "Smart Document Type";
    /// 878: a smart document folder.
    SmartDocFolder = 878, "Smart Document Folder";
    /// 899: a virtual folder.
    VirtualFolder = 899, "Virtual Folder";
    /// 30303: a WebReport.
    WebReport = 30303, "WebReport";
}

impl NodeType {
    /// Whether this subtype holds children, for the subtypes whose answer is fixed (the
    /// server's `container` flag is the authority for any node).
    pub fn is_container(self) -> bool {
        matches!(
            self,
            NodeType::Folder
                | NodeType::CategoryFolder
                | NodeType::CategoriesVolume
                | NodeType::CompoundDocument
                | NodeType::EnterpriseWorkspace
                | NodeType::PersonalWorkspace
                | NodeType::ClassificationTree
                | NodeType::ClassificationVolume
                | NodeType::Project
                | NodeType::Collection
                | NodeType::RecordsManagementVolume
                | NodeType::EmailFolder
                | NodeType::BusinessWorkspace
                | NodeType::BusinessWorkspacesVolume
                | NodeType::VirtualFolder
        )
    }
}

/// Absent from an answer (a `fields` selection can leave `type` out): 0, as CS's own default
/// subtype for a create is a folder.
impl Default for NodeType {
    fn default() -> Self {
        NodeType::Folder
    }
}

impl From<u32> for NodeType {
    fn from(code: u32) -> Self {
        NodeType::from_code(code)
    }
}

impl From<NodeType> for u32 {
    fn from(t: NodeType) -> Self {
        t.code()
    }
}

/// For `where_type` filters, which also take the negative pseudo-types (-1 containers, ...).
impl From<NodeType> for i64 {
    fn from(t: NodeType) -> Self {
        i64::from(t.code())
    }
}

impl PartialEq<i64> for NodeType {
    fn eq(&self, other: &i64) -> bool {
        i64::from(self.code()) == *other
    }
}

impl PartialEq<NodeType> for i64 {
    fn eq(&self, other: &NodeType) -> bool {
        other == self
    }
}

impl fmt::Display for NodeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({})", self.code()),
            None => write!(f, "subtype {}", self.code()),
        }
    }
}

impl Serialize for NodeType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.code())
    }
}

/// A number or a numeric string (pyxecm sends `"144"`); absent or `null` is the default
/// (a folder). Anything else, a number outside `u32` included (no subtype is negative), is a
/// decode error.
impl<'de> Deserialize<'de> for NodeType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Absent or null: the default. A value that is not a subtype number is an error, not
        // a folder: a document read as a folder would be listed into instead of copied.
        let value = Option::<serde_json::Value>::deserialize(d)?;
        let code = match &value {
            None | Some(serde_json::Value::Null) => return Ok(NodeType::default()),
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            Some(serde_json::Value::String(s)) => s.trim().parse::<u64>().ok(),
            Some(_) => None,
        };
        code.and_then(|c| u32::try_from(c).ok())
            .map(NodeType::from_code)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "type {} is not a node subtype number",
                    value.unwrap_or_default()
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_compare_with_numbers() {
        for code in [0u32, 1, 131, 144, 551, 833, 848, 30303, 99999] {
            assert_eq!(NodeType::from_code(code).code(), code);
        }
        assert_eq!(NodeType::from_code(144), NodeType::Document);
        assert_eq!(NodeType::from_code(551), NodeType::Other(551));
        assert!(NodeType::Document == 144);
        assert!(144 == NodeType::Document);
        assert_eq!(NodeType::Document.to_string(), "Document (144)");
        let t: NodeType = serde_json::from_str("\"848\"").unwrap();
        assert_eq!(t, NodeType::BusinessWorkspace);
        let t: NodeType = serde_json::from_str("null").unwrap();
        assert_eq!(t, NodeType::Folder);
        for bad in ["-5", "\"folder\"", "4294967296", "[144]"] {
            assert!(serde_json::from_str::<NodeType>(bad).is_err(), "{bad}");
        }
        assert_eq!(serde_json::to_string(&NodeType::Url).unwrap(), "140");
    }
}
