//! Dropbox as a source ([`DropboxSource`]: a folder, recursive, cursor-based changes with the
//! page cursor as checkpoint, tags and property values, longpoll wake-up), as a marker of
//! archived files ([`DropboxMarker`]: tag, property, move), and as a sink ([`DropboxSink`]:
//! upload, shared link; use case 2).//!
//! # Layout
//! `source` ([`DropboxSource`]), `marker` ([`DropboxMarker`], [`PropertyMarking`]) and `sink`
//! ([`DropboxSink`]); the path helpers they share are here.

mod file_requests;
mod marker;
mod sharing;
mod sink;
mod source;

use dropbox_client::ErrorKind;

use crate::state::fold_path;

pub use file_requests::{
    FileRequestIntake, Intake, UnknownSubmitter, META_INTAKE, META_RECEIVED, META_RECEIVED_ON,
    META_REQUEST_ID, META_REQUEST_TITLE, META_SUBMITTER, META_SUBMITTER_EMAIL, META_SUBMITTER_NAME,
};
pub use marker::{DropboxMarker, PropertyMarking};
pub use sharing::{direct_links, FolderShare, LinkSettings, Role, SharedLinkStep, SHARE_LINK_STEP};
pub use sink::DropboxSink;
pub(crate) use source::rev_body;
pub use source::DropboxSource;

/// The server name of Dropbox in metrics and adaptive load ([`crate::sink::Sink::server`]).
pub const SERVER: &str = "dropbox";

/// Paths per `files/tags/get` call.
const TAG_BATCH: usize = 20;

/// `""` for the root, else `/a/b` without a trailing slash.
fn normalize_root(root: &str) -> String {
    let trimmed = root.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

/// `display` (a display path) relative to `root`, if it is below it. Whether it is below is
/// decided on lowercased paths (`lower`, the server's `path_lower` when it sent one, both sides
/// folded by [`fold_path`]), so a root whose casing differs in any letter, ASCII or not,
/// still matches; the relative part keeps the display casing, one component per component of
/// the root skipped.
fn relative_to(root: &str, display: &str, lower: Option<&str>) -> Option<String> {
    if root.is_empty() {
        return Some(display.trim_start_matches('/').to_owned());
    }
    let root_lower = fold_path(root);
    let lower = fold_path(lower.unwrap_or(display));
    let below = match lower.strip_prefix(&root_lower) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    };
    if !below {
        return None;
    }
    let depth = root_lower.trim_matches('/').split('/').count();
    let rest: Vec<&str> = display
        .trim_start_matches('/')
        .split('/')
        .skip(depth)
        .collect();
    Some(rest.join("/"))
}

fn is_not_found(e: &dropbox_client::Error) -> bool {
    e.kind() == ErrorKind::NotFound
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_and_relative_paths() {
        assert_eq!(normalize_root("/"), "");
        assert_eq!(normalize_root("Marketing/"), "/Marketing");
        assert_eq!(
            relative_to("", "/A/b.pdf", None).as_deref(),
            Some("A/b.pdf")
        );
        assert_eq!(
            relative_to("/a", "/A/b.pdf", None).as_deref(),
            Some("b.pdf")
        );
        assert_eq!(relative_to("/a", "/Ab/c.pdf", None), None);
        assert_eq!(relative_to("/a/b", "/a", None), None);
    }

    #[test]
    fn roots_compare_through_path_lower_in_any_letter() {
        // The root as configured and the server's display casing differ in non-ASCII letters
        // (Ü/ü, Ä/ä), which an ASCII-only comparison misses: the file is below the root.
        let root = normalize_root("/Überprüfung/Freigabe");
        assert_eq!(
            relative_to(
                &root,
                "/überprüfung/FREIGABE/Bericht Ä.pdf",
                Some("/überprüfung/freigabe/bericht ä.pdf")
            )
            .as_deref(),
            Some("Bericht Ä.pdf")
        );
        assert_eq!(
            relative_to(
                &root,
                "/ÜBERPRÜFUNG/freigabe",
                Some("/überprüfung/freigabe")
            )
            .as_deref(),
            Some("")
        );
        assert_eq!(
            relative_to(
                &root,
                "/Überprüfung/Freigaben/x.pdf",
                Some("/überprüfung/freigaben/x.pdf")
            ),
            None
        );
    }
}
