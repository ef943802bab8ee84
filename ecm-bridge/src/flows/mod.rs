//! Ready-made flows, one module per use case.

pub mod archive_on_approval;
pub mod project_closeout;
mod project_closeout_finish;
