//! Request and result types of every supported route, named as in the Stone spec.
//!
//! Structs serialize to exactly the JSON the API expects (`None` fields left out); unions are
//! Rust enums whose JSON carries `.tag`. Decoding is lenient: unknown fields are ignored and
//! unknown tags of open unions become `Other`, so a newer server never breaks a client.

// These are plain data mirrors of the API's types: a file's metadata is naturally larger than a
// folder's, and boxing variants would only add indirection to every match.
#![allow(clippy::large_enum_variant)]

pub mod common;
pub mod file_properties;
pub mod file_requests;
pub mod files;
mod files_batch;
mod files_search;
mod files_upload;
pub mod sharing;
pub mod team;
pub mod team_log;
pub(crate) mod union;
pub mod users;

pub use union::Tag;
