//! The Content Server client against the sandbox's emulator: every call of the typed API with
//! its effect read back, the three logins and ticket expiry, document round-trips from 0 bytes
//! to 300 MiB, paging through 2,500 children, and runs under injected faults.
//!
//! Everything runs on 127.0.0.1 against `sandbox::start` with the demo seed; ids come from the
//! sandbox manifest.

mod harness;

mod auth;
mod categories;
mod documents;
mod faults;
mod governance;
mod nodes;
mod paging;
mod permissions;
mod processes;
mod records;
mod search;
mod transfers;
mod versioning;
mod workflows;
mod workspaces;
