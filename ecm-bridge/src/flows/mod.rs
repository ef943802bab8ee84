//! Ready-made flows, one module per use case.

pub mod archive_on_approval;
pub mod publish_to_dropbox;
