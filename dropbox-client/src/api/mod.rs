//! The routes, one module per namespace.

pub mod file_properties;
pub mod file_requests;
pub mod files;
mod raw;
pub mod sharing;
pub mod team;
pub mod team_log;
pub mod users;
