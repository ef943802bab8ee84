//! Content Server as a sink ([`CsSink`]: resolve or create the target folder, create the
//! document with its categories in the same request or add a version, then RM classification,
//! hold and permissions, and afterwards the workflow as a deferred step that the runner records;
//! every write carries the source marker so it can be found
//! again) and as a source ([`CsSource`]: a folder tree, or what changed since a modify-date
//! watermark).
//!
//! Names in the governance (categories and attributes, RM classes, holds, members, workflow
//! maps) are resolved to ids once and cached: categories from the Categories volume and their
//! create form (attribute titles), RM classes from the classification volume.//!
//! # Layout
//! `sink` ([`CsSink`]: folders, create or add a version, verification, adoption), `source`
//! ([`CsSource`]), `directory` (names resolved to ids, one cache), `governance` (categories,
//! RM class, hold, permissions) and `workflow` (the deferred workflow start and its check).

mod directory;
mod governance;
mod owner;
mod sink;
mod source;
mod workflow;

use crate::model::DocRef;

/// The server name of Content Server in metrics and adaptive load
/// ([`crate::sink::Sink::server`]).
pub const SERVER: &str = "contentserver";

pub use owner::{CsOwner, Owner};
pub use sink::CsSink;
pub use source::CsSource;
pub use workflow::{Review, Verdict, WORKFLOW_STEP};

/// Node types this module needs.
mod types {
    pub const DOCUMENT: i64 = 144;
    pub const CATEGORY: i64 = 131;
    pub const CATEGORIES_VOLUME: i64 = 133;
    pub const CLASSIFICATION_VOLUME: i64 = 198;
    pub const RM_CLASSIFICATION: i64 = 551;
    pub const WORKFLOW_MAP: i64 = 128;
}

/// The source markers ([`DocRef::marker`]) found in a description.
pub(super) fn markers_in(text: &str) -> Vec<DocRef> {
    text.split_whitespace()
        .map(|t| t.trim_matches(|c: char| matches!(c, '(' | ')' | ',' | ';')))
        .filter_map(DocRef::parse_marker)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_found_in_descriptions() {
        let m = markers_in("Source: dropbox:id:abc@015f (/Marketing/a b.pdf)");
        assert_eq!(m, vec![DocRef::dropbox("id:abc", "015f")]);
        assert!(markers_in("hand-made document").is_empty());
    }
}
