//! The SQLite state store: one file, WAL journal, schema migrated at open (`PRAGMA
//! user_version`, see `schema`). Calls run on tokio's blocking pool so they never stall the
//! runtime. It implements [`StateStore`] here and [`crate::state::DocumentStore`] in `docs`.
//!
//! Durability: by default every commit is synced to disk (`synchronous = FULL`, in WAL mode
//! the WAL is synced at each commit), so a record the store has acknowledged survives a power
//! loss. [`Synchronous::Normal`] is the opt-in for speed: WAL mode still keeps the file
//! consistent, but a power loss (not a process crash) can drop the last commits, i.e. the
//! latest records, steps and checkpoints, and the next run repeats that work (adopting writes
//! it finds at the target).

mod docs;
pub(crate) mod fuzz;
#[cfg(test)]
mod migration_tests;
mod rows;
mod schema;

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::{AuditEntry, StateStore};
use crate::error::{Error, Result};
use crate::model::{Checkpoint, DocRef};
use schema::migrate;

/// How SQLite syncs commits to disk (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// Every commit is on disk before it is acknowledged (`FULL`); the default.
    #[default]
    Full,
    /// Faster: a power loss can drop the last commits (`NORMAL`; the file stays consistent).
    Normal,
}

/// How [`SqliteStore::open_with`] opens a file.
#[derive(Debug, Clone, Default)]
pub struct SqliteOptions {
    /// The sync level; [`Synchronous::Full`] unless chosen otherwise.
    pub synchronous: Synchronous,
}

/// A [`StateStore`] and [`crate::state::DocumentStore`] in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

pub(super) fn parse_ref(s: String) -> rusqlite::Result<DocRef> {
    DocRef::parse_marker(&s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("not a document reference: {s:?}").into(),
        )
    })
}

pub(super) fn parse_time(s: String) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
}

fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339()
}

/// The time format of the document store's tables: fixed width (nine fraction digits, `Z`),
/// so that text order is time order and nothing is lost on the way back.
pub(super) fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

pub(super) fn insert_audit(conn: &Connection, e: &AuditEntry) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO audit (time, flow, source, source_hash, path, target, account, action, outcome,
                            run)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            time(&e.time),
            e.flow,
            e.source.marker(),
            e.source_hash,
            e.path,
            e.target.as_ref().map(DocRef::marker),
            e.account,
            e.action,
            e.outcome,
            e.run.map(|r| r.min(i64::MAX as u64) as i64)
        ],
    )?;
    Ok(())
}

impl SqliteStore {
    /// Opens (or creates) the store at `path` and migrates its schema, with every commit
    /// synced ([`Synchronous::Full`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, &SqliteOptions::default())
    }

    /// Opens (or creates) the store at `path` with `options`, and migrates its schema.
    pub fn open_with(path: impl AsRef<Path>, options: &SqliteOptions) -> Result<Self> {
        let conn = Connection::open(path)?;
        Self::init(conn, true, options)
    }

    /// A store in memory (same SQL, nothing on disk).
    pub fn open_in_memory() -> Result<Self> {
        Self::init(
            Connection::open_in_memory()?,
            false,
            &SqliteOptions::default(),
        )
    }

    fn init(conn: Connection, wal: bool, options: &SqliteOptions) -> Result<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        if wal {
            let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(mode, "state store: WAL journal not available");
            }
        }
        let sync = match options.synchronous {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        };
        conn.execute_batch(&format!(
            "PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON;"
        ))?;
        let mut conn = conn;
        migrate(&mut conn)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    pub(super) async fn with<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut guard).map_err(Error::from)
        })
        .await
        .map_err(|e| Error::State(format!("state store task failed: {e}")))?
    }

    /// Runs `f` with the connection on the blocking pool; an error says it came from `what`
    /// (the trait method).
    pub(super) async fn call<T, F>(&self, what: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut guard).map_err(|e| match e {
                Error::State(m) => Error::State(format!("{what}: {m}")),
                other => other,
            })
        })
        .await
        .map_err(|e| Error::State(format!("{what}: state store task failed: {e}")))?
    }
}

#[async_trait]
impl StateStore for SqliteStore {
    async fn checkpoint(&self, flow: &str) -> Result<Option<Checkpoint>> {
        let flow = flow.to_owned();
        self.with(move |c| {
            c.query_row(
                "SELECT checkpoint FROM checkpoints WHERE flow = ?1",
                [flow],
                |r| r.get::<_, String>(0),
            )
            .optional()
            .map(|o| o.map(Checkpoint))
        })
        .await
    }

    async fn set_checkpoint(&self, flow: &str, checkpoint: &Checkpoint) -> Result<()> {
        let (flow, cp) = (flow.to_owned(), checkpoint.0.clone());
        self.with(move |c| {
            c.execute(
                "INSERT INTO checkpoints (flow, checkpoint, updated) VALUES (?1, ?2, ?3)
                 ON CONFLICT (flow) DO UPDATE SET checkpoint = excluded.checkpoint,
                                                  updated = excluded.updated",
                params![flow, cp, time(&Utc::now())],
            )
            .map(drop)
        })
        .await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<()> {
        let entry = entry.clone();
        self.with(move |c| insert_audit(c, &entry)).await
    }

    async fn audit(&self, flow: Option<&str>) -> Result<Vec<AuditEntry>> {
        let flow = flow.map(str::to_owned);
        self.with(move |c| {
            let mut stmt = c.prepare(
                "SELECT time, flow, source, source_hash, path, target, account, action, outcome,
                        run
                 FROM audit WHERE ?1 IS NULL OR flow = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([flow], |r| {
                Ok(AuditEntry {
                    time: parse_time(r.get(0)?)?,
                    flow: r.get(1)?,
                    source: parse_ref(r.get(2)?)?,
                    source_hash: r.get(3)?,
                    path: r.get(4)?,
                    target: r.get::<_, Option<String>>(5)?.map(parse_ref).transpose()?,
                    account: r.get(6)?,
                    action: r.get(7)?,
                    outcome: r.get(8)?,
                    run: r.get::<_, Option<i64>>(9)?.map(|n| n.max(0) as u64),
                })
            })?;
            rows.collect()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_save_searches_the_history_by_the_documents_key_not_by_the_run() {
        let store = SqliteStore::open_in_memory().unwrap();
        let plan: Vec<String> = store
            .with(|c| {
                let mut stmt =
                    c.prepare(&format!("EXPLAIN QUERY PLAN {}", docs::CLEAR_RUN_HISTORY))?;
                let rows = stmt.query_map(["f", "k", "s", "1"], |r| r.get::<_, String>(3))?;
                rows.collect()
            })
            .await
            .unwrap();
        assert!(
            plan.iter().any(|l| l.contains("history_by_key")),
            "{plan:?}"
        );
    }

    #[tokio::test]
    async fn conforms_in_memory() {
        super::super::conformance::run(&SqliteStore::open_in_memory().unwrap()).await;
    }

    #[tokio::test]
    async fn conforms_on_disk_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        {
            let store = SqliteStore::open(&path).unwrap();
            super::super::conformance::run(&store).await;
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(
            store.checkpoint("f").await.unwrap(),
            Some(Checkpoint("c2".into()))
        );
        assert_eq!(store.audit(None).await.unwrap().len(), 3);
        let mode: String = store
            .with(|c| c.query_row("PRAGMA journal_mode", [], |r| r.get(0)))
            .await
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn conforms_as_a_document_store_in_memory() {
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        crate::state::conformance_docs::run(store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn conforms_as_a_document_store_on_disk_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        {
            let store = Arc::new(SqliteStore::open(&path).unwrap());
            crate::state::conformance_docs::run(store).await;
        }
        let store = SqliteStore::open(&path).unwrap();
        crate::state::conformance_docs::after_reopen(&store).await;
    }

    #[tokio::test]
    async fn one_handle_serves_both_contracts() {
        let store: Arc<dyn crate::state::Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
        let run = store.begin_run("f").await.unwrap();
        store
            .set_checkpoint("f", &Checkpoint(format!("after run {run}")))
            .await
            .unwrap();
        assert_eq!(
            store.checkpoint("f").await.unwrap(),
            Some(Checkpoint("after run 1".into()))
        );
    }

    async fn synchronous(store: &SqliteStore) -> i64 {
        store
            .with(|c| c.query_row("PRAGMA synchronous", [], |r| r.get(0)))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn commits_are_synced_unless_normal_is_chosen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        // 2 is FULL, 1 is NORMAL.
        assert_eq!(synchronous(&SqliteStore::open(&path).unwrap()).await, 2);
        let normal = SqliteOptions {
            synchronous: Synchronous::Normal,
        };
        let store = SqliteStore::open_with(&path, &normal).unwrap();
        assert_eq!(synchronous(&store).await, 1);
        drop(store);
        assert_eq!(
            synchronous(&SqliteStore::open(&path).unwrap()).await,
            2,
            "the choice is per connection, not kept in the file"
        );
        assert_eq!(
            synchronous(&SqliteStore::open_in_memory().unwrap()).await,
            2
        );
    }

    #[tokio::test]
    async fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        {
            let c = Connection::open(&path).unwrap();
            c.pragma_update(None, "user_version", 99).unwrap();
        }
        let err = SqliteStore::open(&path).unwrap_err();
        assert!(err.to_string().contains("schema version 99"), "{err}");
    }
}
