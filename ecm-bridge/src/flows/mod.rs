//! Ready-made flows, one module per use case.

pub mod archive_on_approval;
pub mod backup;
mod backup_catalogue;
pub mod backup_restore;
pub mod classify_and_route;
pub mod intake_to_workflow;
pub mod project_closeout;
mod project_closeout_finish;
mod project_closeout_revisions;
pub mod publish_to_dropbox;
pub mod submit_for_approval;
pub mod version_sync;
