//! Move governed documents between Dropbox and OpenText Content Server (CS), safely.
//!
//! The pieces, each a small trait or type that the flows of all eight use cases share:
//!
//! | piece | what it is |
//! | --- | --- |
//! | [`model::Document`] | identity ([`model::DocRef`]: system, id, version), path, size, content hash, times, source context, typed metadata, [`model::Governance`] intent; its bytes are a [`model::Body`] opened only when a sink needs them |
//! | [`source::Source`] | a change feed with checkpoints, `fetch` of one document, and a wake-up stream: [`connectors::dropbox::DropboxSource`], [`connectors::contentserver::CsSource`] |
//! | [`transform::Transform`] | pass, change, skip with a reason, or route; combinators [`transform::chain`], [`transform::filter`], [`transform::branch`], [`transform::map`]; [`rules::Rules`] from Rust or TOML |
//! | [`sink::Sink`] | writes with governance and returns a [`sink::Receipt`]; finds unrecorded writes again: [`connectors::contentserver::CsSink`], [`connectors::dropbox::DropboxSink`] |
//! | [`verify`] | hashes every transfer as it streams; the last chunk is held back until the bytes verify |
//! | [`state::StateStore`] | checkpoints, source → target map, intents, failures, audit trail: [`state::SqliteStore`], [`state::MemoryStore`] |
//! | [`runner::Flow`] | bounded concurrency, retries, acknowledged checkpoints, dead letters, dry runs, progress events, reports; `run_once`, `run_every`, `watch` |
//! | [`flows`] | ready-made flows: [`flows::archive_on_approval`] (use case 1), [`flows::classify_and_route`] (use case 3) |
//! | [`names`] | the names Content Server refuses, and the one documented rule that adapts them |
//! | [`webhook`] | Dropbox webhooks (signature checked) wake the flows watching the notified accounts: a plain function, and an axum router (`webhook-server` feature) |
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use ecm_bridge::flows::archive_on_approval::{Approval, ArchiveOnApproval, Marking};
//! use ecm_bridge::rules::Rules;
//! use ecm_bridge::state::SqliteStore;
//!
//! let dropbox = dropbox_client::Client::new("sl.token")?;
//! let cs = contentserver_client::Client::builder("https://cs.example.com/otcs/cs.exe")
//!     .credentials(contentserver_client::Credentials::password("archiver", "secret"))
//!     .build()?;
//! let flow = ArchiveOnApproval::new(dropbox, cs, Arc::new(SqliteStore::open("bridge.db")?))
//!     .approval(Approval::default().folder("**/Approved").tag("approved"))
//!     .rules(Rules::load("rules.toml")?)
//!     .marking(Marking::default().tag("archived").governance_property())
//!     .build()?;
//! let report = flow.run_once().await?;
//! println!("{}", report.summary());
//! # Ok(()) }
//! ```
//!
//! # Guarantees
//! - A document is never written twice for one source version, even when a run is killed at
//!   any instant: an intent is recorded before each write, the write carries the source
//!   marker (`dropbox:{id}@{rev}`), and an in-doubt write is looked up and adopted (after a
//!   read-back that verifies its bytes) instead of repeated. The crash tests stop the flow at
//!   every step and check this.
//! - A document is never lost: failures are recorded and retried on the next run through
//!   [`source::Source::fetch`]; checkpoints move only past finished documents.
//! - Bytes are verified: the Dropbox content hash and SHA-256 are computed as the bytes stream
//!   to the target; a mismatch fails the upload before its last byte.
//!
//! # Errors and retries
//! One [`Error`] says which document and which [`Step`] failed, and keeps the client error as
//! its source; [`Error::is_retryable`] delegates to the clients. Each client retries single
//! calls under its own policy; the runner retries a whole document under
//! [`runner::RetryPolicy`] and records what is left for the next run.
//!
//! # Limits
//! Sets (rows) of category attributes are not written by name. A workflow start is a deferred
//! step recorded in the state store (pending with the write, started after the record, then
//! recorded as done): a crash before it runs it on the next run; a crash while it is under way
//! looks for a process that this user initiated with the record attached (Content Server has
//! no lookup of processes by document, so this lists the user's initiated processes) before
//! starting one. Dropbox deletions are reported, not propagated.

pub mod connectors;
pub mod error;
pub mod flows;
#[doc(hidden)]
pub mod fuzzing;
pub mod job;
pub mod manifest;
pub mod model;
pub mod names;
pub mod ops;
pub mod rules;
pub mod runner;
pub mod sink;
pub mod source;
pub mod state;
pub mod transform;
pub mod verify;
pub mod webhook;

pub use error::{Error, Result, Step};
