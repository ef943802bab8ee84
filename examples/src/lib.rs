//! What the example binaries share: the operator's commands ([`ops`], the `ecm-ops` binary)
//! and the progress bar every long run draws ([`progress`]).

pub mod ops;
pub mod progress;
