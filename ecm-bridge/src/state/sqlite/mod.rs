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
#[cfg(test)]
mod migration_tests;
mod rows;
mod schema;

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{AuditEntry, Failure, Intent, Mapping, NewFailure, StateStore};
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

fn mapping_row(row: &Row<'_>) -> rusqlite::Result<Mapping> {
    Ok(Mapping {
        source: parse_ref(row.get(0)?)?,
        target: parse_ref(row.get(1)?)?,
        location: row.get(2)?,
        hooks_done: row.get(3)?,
        recorded: parse_time(row.get(4)?)?,
    })
}

fn failure_row(row: &Row<'_>) -> rusqlite::Result<Failure> {
    Ok(Failure {
        source: parse_ref(row.get(0)?)?,
        path: row.get(1)?,
        error: row.get(2)?,
        attempts: row.get(3)?,
        dead: row.get(4)?,
        updated: parse_time(row.get(5)?)?,
    })
}

fn insert_audit(conn: &Connection, e: &AuditEntry) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO audit (time, flow, source, source_hash, path, target, account, action, outcome)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            time(&e.time),
            e.flow,
            e.source.marker(),
            e.source_hash,
            e.path,
            e.target.as_ref().map(DocRef::marker),
            e.account,
            e.action,
            e.outcome
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

const MAPPING_COLS: &str = "source, target, location, hooks_done, recorded";
const FAILURE_COLS: &str = "source, path, error, attempts, dead, updated";

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

    async fn latest_mapping(&self, flow: &str, key: &str) -> Result<Option<Mapping>> {
        let (flow, key) = (flow.to_owned(), key.to_owned());
        self.with(move |c| {
            c.query_row(
                &format!(
                    "SELECT {MAPPING_COLS} FROM mappings WHERE flow = ?1 AND source_key = ?2
                     ORDER BY id DESC LIMIT 1"
                ),
                [flow, key],
                mapping_row,
            )
            .optional()
        })
        .await
    }

    async fn mappings(&self, flow: &str) -> Result<Vec<Mapping>> {
        let flow = flow.to_owned();
        self.with(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {MAPPING_COLS} FROM mappings m WHERE flow = ?1 AND id =
                     (SELECT MAX(id) FROM mappings WHERE flow = m.flow AND source_key = m.source_key)
                 ORDER BY id"
            ))?;
            let rows = stmt.query_map([flow], mapping_row)?;
            rows.collect()
        })
        .await
    }

    async fn begin_intent(&self, flow: &str, source: &DocRef) -> Result<()> {
        let (flow, key, source) = (flow.to_owned(), source.key(), source.marker());
        self.with(move |c| {
            c.execute(
                "INSERT INTO intents (flow, source_key, source, started) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (flow, source_key) DO UPDATE SET source = excluded.source,
                                                             started = excluded.started",
                params![flow, key, source, time(&Utc::now())],
            )
            .map(drop)
        })
        .await
    }

    async fn intent(&self, flow: &str, key: &str) -> Result<Option<Intent>> {
        let (flow, key) = (flow.to_owned(), key.to_owned());
        self.with(move |c| {
            c.query_row(
                "SELECT source, started FROM intents WHERE flow = ?1 AND source_key = ?2",
                [flow, key],
                |r| {
                    Ok(Intent {
                        source: parse_ref(r.get(0)?)?,
                        started: parse_time(r.get(1)?)?,
                    })
                },
            )
            .optional()
        })
        .await
    }

    async fn intents(&self, flow: &str) -> Result<Vec<Intent>> {
        let flow = flow.to_owned();
        self.with(move |c| {
            let mut stmt = c.prepare(
                "SELECT source, started FROM intents WHERE flow = ?1 ORDER BY started, source_key",
            )?;
            let rows = stmt.query_map([flow], |r| {
                Ok(Intent {
                    source: parse_ref(r.get(0)?)?,
                    started: parse_time(r.get(1)?)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    async fn clear_intent(&self, flow: &str, key: &str) -> Result<()> {
        let (flow, key) = (flow.to_owned(), key.to_owned());
        self.with(move |c| {
            c.execute(
                "DELETE FROM intents WHERE flow = ?1 AND source_key = ?2",
                [flow, key],
            )
            .map(drop)
        })
        .await
    }

    async fn record_write(&self, flow: &str, mapping: &Mapping, audit: &AuditEntry) -> Result<()> {
        let (flow, m, audit) = (flow.to_owned(), mapping.clone(), audit.clone());
        self.with(move |c| {
            let tx = c.transaction()?;
            let key = m.source.key();
            tx.execute(
                "INSERT INTO mappings (flow, source_key, source, target, location, hooks_done, recorded)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (flow, source) DO UPDATE SET target = excluded.target,
                     location = excluded.location, hooks_done = excluded.hooks_done,
                     recorded = excluded.recorded",
                params![
                    flow,
                    key,
                    m.source.marker(),
                    m.target.marker(),
                    m.location,
                    m.hooks_done,
                    time(&m.recorded)
                ],
            )?;
            tx.execute(
                "DELETE FROM intents WHERE flow = ?1 AND source_key = ?2",
                [&flow, &key],
            )?;
            tx.execute(
                "DELETE FROM failures WHERE flow = ?1 AND source_key = ?2",
                [&flow, &key],
            )?;
            insert_audit(&tx, &audit)?;
            tx.commit()
        })
        .await
    }

    async fn mark_hooks_done(&self, flow: &str, source: &DocRef) -> Result<()> {
        let (flow, source) = (flow.to_owned(), source.marker());
        self.with(move |c| {
            c.execute(
                "UPDATE mappings SET hooks_done = 1 WHERE flow = ?1 AND source = ?2",
                [flow, source],
            )
            .map(drop)
        })
        .await
    }

    async fn step_done(&self, flow: &str, source: &DocRef, step: &str) -> Result<bool> {
        let (flow, source, step) = (flow.to_owned(), source.marker(), step.to_owned());
        self.with(move |c| {
            c.query_row(
                "SELECT 1 FROM steps WHERE flow = ?1 AND source = ?2 AND step = ?3",
                [flow, source, step],
                |_| Ok(()),
            )
            .optional()
            .map(|o| o.is_some())
        })
        .await
    }

    async fn mark_step_done(&self, flow: &str, source: &DocRef, step: &str) -> Result<()> {
        let (flow, source, step) = (flow.to_owned(), source.marker(), step.to_owned());
        self.with(move |c| {
            c.execute(
                "INSERT OR IGNORE INTO steps (flow, source, step, done) VALUES (?1, ?2, ?3, ?4)",
                params![flow, source, step, time(&Utc::now())],
            )
            .map(drop)
        })
        .await
    }

    async fn record_failure(
        &self,
        flow: &str,
        failure: &NewFailure<'_>,
        audit: &AuditEntry,
    ) -> Result<Failure> {
        let NewFailure {
            source,
            path,
            error,
            attempts,
            dead_after,
        } = *failure;
        let (flow, key, marker) = (flow.to_owned(), source.key(), source.marker());
        let (path, error, audit) = (path.map(str::to_owned), error.to_owned(), audit.clone());
        self.with(move |c| {
            let tx = c.transaction()?;
            let now = time(&Utc::now());
            tx.execute(
                "INSERT INTO failures (flow, source_key, source, path, error, attempts, dead, updated)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6 >= ?7 AND ?7 > 0, ?8)
                 ON CONFLICT (flow, source_key) DO UPDATE SET
                     source = excluded.source,
                     path = COALESCE(excluded.path, failures.path),
                     error = excluded.error,
                     attempts = failures.attempts + excluded.attempts,
                     dead = (failures.attempts + excluded.attempts) >= ?7 AND ?7 > 0,
                     updated = excluded.updated",
                params![flow, key, marker, path, error, attempts, dead_after, now],
            )?;
            insert_audit(&tx, &audit)?;
            let failure = tx.query_row(
                &format!("SELECT {FAILURE_COLS} FROM failures WHERE flow = ?1 AND source_key = ?2"),
                [&flow, &key],
                failure_row,
            )?;
            tx.commit()?;
            Ok(failure)
        })
        .await
    }

    async fn clear_failure(&self, flow: &str, key: &str) -> Result<()> {
        let (flow, key) = (flow.to_owned(), key.to_owned());
        self.with(move |c| {
            c.execute(
                "DELETE FROM failures WHERE flow = ?1 AND source_key = ?2",
                [flow, key],
            )
            .map(drop)
        })
        .await
    }

    async fn failures(&self, flow: &str) -> Result<Vec<Failure>> {
        let flow = flow.to_owned();
        self.with(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {FAILURE_COLS} FROM failures WHERE flow = ?1 ORDER BY updated, source_key"
            ))?;
            let rows = stmt.query_map([flow], failure_row)?;
            rows.collect()
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
                "SELECT time, flow, source, source_hash, path, target, account, action, outcome
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
        assert_eq!(store.mappings("f").await.unwrap().len(), 1);
        assert_eq!(store.audit(None).await.unwrap().len(), 6);
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
