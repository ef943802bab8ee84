//! The Content Server emulator.
//!
//! Contract with the rest of the sandbox (kept stable, other modules rely on it):
//! [`CsConfig`], [`ContentServer::new`], [`ContentServer::router`], [`ContentServer::manifest`]
//! and [`ContentServer::expire_all_tickets`].
//!
//! The API is served under the configured prefix (default `/otcs/cs.exe`) and at the root.
//! Every write accepts url-encoded or multipart forms, plain fields or a `body` JSON field (or
//! both, `body` on top), never a JSON request body (refused with 400, as CS reads form fields
//! only); answers use the v1 and v2 envelopes of the reference; errors are
//! `{"error": "..."}` with CS's status codes and messages.

mod auth;
mod blobs;
mod categories;
mod members;
mod nodes;
mod permissions;
mod records;
mod search;
mod seed;
mod state;
mod versions;
mod wire;
mod workflows;
mod workspaces;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::DefaultBodyLimit;
use chrono::{DateTime, Utc};

use crate::seed::Seed;
use blobs::Blobs;
use state::Store;

/// How a [`ContentServer`] is set up.
#[derive(Debug, Clone)]
pub struct CsConfig {
    /// The CGI prefix the API is served under besides the root, e.g. `/otcs/cs.exe`.
    pub prefix: String,
    /// Where version contents are stored: one file per version, plus `tmp/` for uploads in
    /// flight. Give each server its own directory.
    pub data_dir: PathBuf,
    /// The data the server starts with.
    pub seed: Seed,
    /// Fixed lifetime of each ticket from the moment it was issued; `None` never expires.
    /// Every successful call answers with a freshly issued ticket.
    pub ticket_ttl: Option<Duration>,
    /// Lifetime of a session after its last request; `None` never expires.
    pub ticket_idle_ttl: Option<Duration>,
}

impl CsConfig {
    /// A configuration with prefix `/otcs/cs.exe`, the demo seed and tickets that never expire.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        CsConfig {
            prefix: "/otcs/cs.exe".to_owned(),
            data_dir: data_dir.into(),
            seed: Seed::Demo,
            ticket_ttl: None,
            ticket_idle_ttl: None,
        }
    }
}

/// A Content Server emulator: cheap to clone, all clones share one state.
#[derive(Clone)]
pub struct ContentServer {
    inner: Arc<Inner>,
}

struct Inner {
    config: CsConfig,
    store: Mutex<Store>,
    blobs: Blobs,
    /// Signs tickets; random per server.
    secret: [u8; 32],
    started: Instant,
    started_utc: DateTime<Utc>,
    /// Test hook: milliseconds added to the real clock.
    clock_offset_ms: AtomicU64,
}

impl std::fmt::Debug for ContentServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentServer")
            .field("prefix", &self.inner.config.prefix)
            .field("data_dir", &self.inner.config.data_dir)
            .field("seed", &self.inner.config.seed)
            .finish_non_exhaustive()
    }
}

impl ContentServer {
    /// Creates the emulator, its data directory and its seed data.
    pub fn new(config: CsConfig) -> std::io::Result<ContentServer> {
        let blobs = Blobs::new(&config.data_dir)?;
        let mut store = Store::default();
        seed::populate(&mut store, &blobs, config.seed)?;
        let mut secret = [0u8; 32];
        secret.iter_mut().for_each(|b| *b = fastrand::u8(..));
        Ok(ContentServer {
            inner: Arc::new(Inner {
                config,
                store: Mutex::new(store),
                blobs,
                secret,
                started: Instant::now(),
                started_utc: Utc::now(),
                clock_offset_ms: AtomicU64::new(0),
            }),
        })
    }

    /// All routes, under the configured prefix and at the root (`/api/...`).
    pub fn router(&self) -> axum::Router {
        let api = axum::Router::new()
            .merge(auth::routes())
            .merge(nodes::routes())
            .merge(versions::routes())
            .merge(categories::routes())
            .merge(records::routes())
            .merge(permissions::routes())
            .merge(members::routes())
            .merge(workflows::routes())
            .merge(workspaces::routes())
            .merge(search::routes());
        let prefix = self.inner.config.prefix.trim_end_matches('/');
        let mut router = api.clone();
        if !prefix.is_empty() {
            let prefix = if prefix.starts_with('/') {
                prefix.to_owned()
            } else {
                format!("/{prefix}")
            };
            router = router.nest(&prefix, api);
        }
        router
            .fallback(wire::unknown_route)
            .method_not_allowed_fallback(wire::unknown_route)
            .layer(axum::middleware::from_fn(wire::ticket_header))
            .layer(DefaultBodyLimit::disable())
            .with_state(self.clone())
    }

    /// The seeded ids: users, groups, volumes, folders by path, categories with their attribute
    /// ids and types, RM classes, holds, workflow maps, workspace types and templates, credentials.
    pub fn manifest(&self) -> serde_json::Value {
        seed::manifest(&self.store())
    }

    /// Expires every ticket issued so far (the "ticket expiring now" fault): every session ends.
    pub fn expire_all_tickets(&self) {
        self.store().sessions.clear();
    }

    /// Moves the emulator's clock forward (ticket expiry and search index lag follow it), so
    /// tests can make time pass without sleeping.
    pub fn advance_clock(&self, by: Duration) {
        self.inner
            .clock_offset_ms
            .fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }

    /// Simulates search index lag: nodes created or changed from now on are found by search
    /// only `lag` after the change.
    pub fn set_index_lag(&self, lag: Duration) {
        self.store().index_lag_ms = lag.as_millis() as u64;
    }

    /// The locked state.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.inner.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The version file store.
    pub(crate) fn blobs(&self) -> &Blobs {
        &self.inner.blobs
    }

    /// The configuration.
    pub(crate) fn config(&self) -> &CsConfig {
        &self.inner.config
    }

    /// The emulator clock in milliseconds since start (with the test offset).
    pub(crate) fn now_ms(&self) -> u64 {
        self.inner.started.elapsed().as_millis() as u64
            + self.inner.clock_offset_ms.load(Ordering::SeqCst)
    }

    /// The emulator's wall-clock time.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.inner.started_utc + chrono::Duration::milliseconds(self.now_ms() as i64)
    }
}
