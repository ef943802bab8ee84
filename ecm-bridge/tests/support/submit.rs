//! The submit_for_approval tests' shared parts (moved from `tests/submit_for_approval.rs` so
//! that the reliability scenario reuses them): the demo's two policies, how they are staged,
//! and the flow's settings.

use bytes::Bytes;
use dropbox_client::models::files::RelocationArg;
use ecm_bridge::flows::submit_for_approval::{OutcomeMarking, SubmitConfig};

use super::Env;

/// The demo policy staged by its `ready_for_approval` tag.
pub const TAGGED: &str = "/HR/Policies/Drafts/Remote Work Policy.docx";
/// The demo policy staged by a move (where it starts).
pub const DRAFT: &str = "/HR/Policies/Drafts/Travel Policy.docx";
/// Where [`stage_by_move`] moves it: the stage folder.
pub const STAGED: &str = "/HR/Policies/For Approval/Travel Policy.docx";
/// Where an approved file is moved.
pub const APPROVED: &str = "/HR/Policies/Approved";
/// Where a rejected file is moved.
pub const REJECTED: &str = "/HR/Policies/Rejected";

/// The flow's settings in the tests: rechecked every run, outcomes moved to folders.
pub fn config() -> SubmitConfig {
    SubmitConfig {
        recheck_every_secs: Some(0),
        poll_every_secs: 0,
        concurrency: 1,
        outcome: OutcomeMarking {
            approved_folder: Some(APPROVED.into()),
            rejected_folder: Some(REJECTED.into()),
            ..OutcomeMarking::default()
        },
        ..SubmitConfig::default()
    }
}

/// Moves the demo's Travel Policy into the stage folder; the bytes of both policies.
pub async fn stage_by_move(env: &Env) -> [Bytes; 2] {
    env.dropbox
        .files()
        .move_entry(RelocationArg::new(DRAFT, STAGED))
        .await
        .unwrap();
    [
        env.dropbox_bytes(TAGGED).await,
        env.dropbox_bytes(STAGED).await,
    ]
}
