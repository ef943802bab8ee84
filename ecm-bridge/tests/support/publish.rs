//! The publish_to_dropbox tests' shared parts (moved from `tests/publish_to_dropbox.rs` so
//! that the reliability scenario reuses them): the flow's settings and clock.

use chrono::{DateTime, TimeZone, Utc};
use ecm_bridge::connectors::dropbox::Role;
use ecm_bridge::flows::publish_to_dropbox::{
    FolderShareConfig, LinkConfig, MemberConfig, PublishConfig,
};

/// The outside member the published folder is shared with.
pub const MEMBER: &str = "counsel@lawfirm.example";

/// The flow's clock in the tests (links expire 30 days after it).
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
}

/// The flow's settings in the tests: the demo's, with a password-protected view-only link
/// and the folder shared with [`MEMBER`] as an editor.
pub fn config() -> PublishConfig {
    let mut c = PublishConfig::demo();
    c.link = Some(LinkConfig {
        expires_after_days: Some(30),
        password: Some(dropbox_client::Secret::new("outside-2026")),
        allow_download: false,
        audience: None,
    });
    c.folder_share = Some(FolderShareConfig {
        members: vec![MemberConfig {
            email: MEMBER.into(),
            role: Role::Editor,
        }],
        member_policy: Some("anyone".into()),
        shared_link_policy: None,
        acl_update_policy: None,
    });
    c
}
