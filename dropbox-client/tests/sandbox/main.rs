//! Integration suite of the Dropbox client against the sandbox's Dropbox emulator, started
//! in-process on 127.0.0.1 (demo seed unless a test says otherwise).
//!
//! The client and the emulator are two independent readings of the Dropbox API: every test drives
//! the typed API and checks real state through further calls (and the sandbox's stats and fault
//! log), never a canned answer.

mod batch;
mod common;
mod faults;
mod file_requests;
mod files;
mod notify;
mod oauth;
mod paging;
mod properties;
mod shapes;
mod sharing;
mod team;
mod team_log;
mod transfer;
