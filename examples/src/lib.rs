//! What the example binaries share: the operator's commands ([`ops`], the `ecm-ops` binary),
//! the progress bar every long run draws ([`progress`]), and where the state lives
//! ([`state`]: a SQLite file or a PostgreSQL store).

pub mod ops;
pub mod progress;
pub mod state;
