//! Small value types shared by several resources: node subtypes and version numbers.

mod node_type;
mod version_number;

pub use node_type::NodeType;
pub use version_number::VersionNumber;
