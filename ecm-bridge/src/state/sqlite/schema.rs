//! The SQLite schema: migrations applied in order at open, `PRAGMA user_version` counting
//! how many ran. Each runs in one transaction with its data step, so a file is either at the
//! old version with its old data or at the new one with everything moved.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use chrono::{DateTime, Utc};

use super::{parse_ref, parse_time, ts};
use crate::error::{Error, Result};
use crate::model::DocRef;
use crate::state::records::{fold_path, DocStatus};
use crate::state::{STEP_SINK_DEFERRED, STEP_SINK_DEFERRED_STARTED};

/// One schema version: its SQL, then an optional data step in the same transaction.
pub(super) struct Migration {
    /// The DDL.
    pub(super) sql: &'static str,
    /// Moves existing rows into the new tables.
    pub(super) data: Option<fn(&Transaction<'_>) -> rusqlite::Result<()>>,
}

/// The first schema.
pub(super) const V1: &str = "CREATE TABLE checkpoints (
         flow TEXT PRIMARY KEY,
         checkpoint TEXT NOT NULL,
         updated TEXT NOT NULL
     );
     CREATE TABLE mappings (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         flow TEXT NOT NULL,
         source_key TEXT NOT NULL,
         source TEXT NOT NULL,
         target TEXT NOT NULL,
         location TEXT NOT NULL,
         hooks_done INTEGER NOT NULL DEFAULT 0,
         recorded TEXT NOT NULL,
         UNIQUE (flow, source)
     );
     CREATE INDEX mappings_by_key ON mappings (flow, source_key, id);
     CREATE TABLE intents (
         flow TEXT NOT NULL,
         source_key TEXT NOT NULL,
         source TEXT NOT NULL,
         started TEXT NOT NULL,
         PRIMARY KEY (flow, source_key)
     );
     CREATE TABLE failures (
         flow TEXT NOT NULL,
         source_key TEXT NOT NULL,
         source TEXT NOT NULL,
         path TEXT,
         error TEXT NOT NULL,
         attempts INTEGER NOT NULL,
         dead INTEGER NOT NULL,
         updated TEXT NOT NULL,
         PRIMARY KEY (flow, source_key)
     );
     CREATE TABLE audit (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         time TEXT NOT NULL,
         flow TEXT NOT NULL,
         source TEXT NOT NULL,
         source_hash TEXT,
         path TEXT,
         target TEXT,
         account TEXT,
         action TEXT NOT NULL,
         outcome TEXT NOT NULL
     );
     CREATE INDEX audit_by_flow ON audit (flow, id);";

/// Post-record steps (the sink's workflow start) done per source version.
pub(super) const V2: &str = "CREATE TABLE steps (
         flow TEXT NOT NULL,
         source TEXT NOT NULL,
         step TEXT NOT NULL,
         done TEXT NOT NULL,
         PRIMARY KEY (flow, source, step)
     );";

/// The document store ([`crate::state::DocumentStore`]). Times that are compared in SQL
/// (`next_check`, `lease_until`) are RFC 3339 with nine fraction digits and `Z`, so that text
/// order is time order.
pub(super) const V3: &str = "CREATE TABLE records (
         flow TEXT NOT NULL,
         key TEXT NOT NULL,
         source TEXT NOT NULL,
         path TEXT,
         path_lower TEXT,
         size INTEGER,
         hash TEXT,
         target TEXT,
         location TEXT,
         sink TEXT,
         status TEXT NOT NULL,
         attempts INTEGER NOT NULL DEFAULT 0,
         last_error TEXT,
         run INTEGER NOT NULL,
         next_check TEXT,
         created TEXT NOT NULL,
         updated TEXT NOT NULL,
         PRIMARY KEY (flow, key)
     );
     CREATE INDEX records_by_status ON records (flow, status, next_check);
     CREATE INDEX records_by_path ON records (flow, path_lower);
     CREATE TABLE history (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         flow TEXT NOT NULL,
         key TEXT NOT NULL,
         source TEXT NOT NULL,
         target TEXT,
         status TEXT NOT NULL,
         run INTEGER NOT NULL,
         time TEXT NOT NULL
     );
     CREATE INDEX history_by_key ON history (flow, key, id);
     CREATE INDEX history_by_run ON history (flow, run, id);
     CREATE TABLE doc_steps (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         flow TEXT NOT NULL,
         key TEXT NOT NULL,
         version TEXT NOT NULL,
         name TEXT NOT NULL,
         state TEXT NOT NULL,
         output TEXT,
         error TEXT,
         attempts INTEGER NOT NULL,
         started TEXT NOT NULL,
         finished TEXT,
         UNIQUE (flow, key, version, name)
     );
     CREATE TABLE runs (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         flow TEXT NOT NULL,
         started TEXT NOT NULL,
         finished TEXT,
         counts TEXT NOT NULL DEFAULT '{}',
         report TEXT
     );
     CREATE INDEX runs_by_flow ON runs (flow, id);
     CREATE TABLE claims (
         flow TEXT NOT NULL,
         key TEXT NOT NULL,
         owner TEXT NOT NULL,
         token INTEGER NOT NULL,
         lease_until TEXT NOT NULL,
         held INTEGER NOT NULL,
         PRIMARY KEY (flow, key)
     );
     CREATE TABLE partition_checkpoints (
         flow TEXT NOT NULL,
         partition TEXT NOT NULL,
         checkpoint TEXT NOT NULL,
         version INTEGER NOT NULL,
         updated TEXT NOT NULL,
         PRIMARY KEY (flow, partition)
     );
     CREATE TABLE jobs (
         flow TEXT NOT NULL,
         job TEXT NOT NULL,
         listing_finished TEXT,
         created TEXT NOT NULL,
         PRIMARY KEY (flow, job)
     );
     CREATE TABLE job_members (
         flow TEXT NOT NULL,
         job TEXT NOT NULL,
         key TEXT NOT NULL,
         PRIMARY KEY (flow, job, key)
     );";

/// Records keep what the runner needs to resume ([`crate::state::DocRecord::context`]), audit
/// entries their run; the tables the runner no longer reads (mappings, intents, failures, the
/// string-named steps) go, after their last rows moved (`records_from_v3`).
pub(super) const V4: &str = "ALTER TABLE records ADD COLUMN context TEXT;
     ALTER TABLE audit ADD COLUMN run INTEGER;";

/// The data step of version 4, for a file the runner of version 3 wrote (it kept its intents,
/// mappings and failures beside the records): an intent of a write makes the document's record
/// `pending` at that version (keeping its target, the previous version's), unless the record
/// is already `failed` or `dead` at that version; the sink's post-record steps written since
/// version 3 move to the step log again; every such step is renamed to the Content Server
/// sink's step name, `workflow`. Then the old tables are dropped.
fn records_from_v3(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare("SELECT flow, source_key, source, started FROM intents")?;
    let intents: Vec<(String, String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    drop(stmt);
    for (flow, key, marker, started) in intents {
        let source = parse_ref(marker.clone())?;
        let started = ts(&parse_time(started)?);
        tx.execute(
            "INSERT INTO records (flow, key, source, path_lower, status, attempts, run, created,
                                  updated)
             VALUES (?1, ?2, ?3, NULL, 'pending', 0, 0, ?4, ?4)
             ON CONFLICT (flow, key) DO UPDATE SET source = excluded.source, status = 'pending',
                 updated = excluded.updated
             WHERE records.source != excluded.source
                OR records.status NOT IN ('failed', 'dead')",
            params![flow, key, source.marker(), started],
        )?;
    }
    steps_from_v2(tx)?;
    tx.execute(
        "UPDATE doc_steps SET name = 'workflow' WHERE name = ?1",
        params![STEP_SINK_DEFERRED],
    )?;
    tx.execute_batch(
        "DROP TABLE mappings; DROP TABLE intents; DROP TABLE failures; DROP TABLE steps;",
    )
}

/// Schema versions, applied in order; `user_version` says how many ran.
pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        sql: V1,
        data: None,
    },
    Migration {
        sql: V2,
        data: None,
    },
    Migration {
        sql: V3,
        data: Some(records_from_v2),
    },
    Migration {
        sql: V4,
        data: Some(records_from_v3),
    },
];

/// Brings the file's schema to the newest version.
pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    let version: usize =
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    if version > MIGRATIONS.len() {
        return Err(Error::State(format!(
            "the state file has schema version {version}, newer than this program's {}",
            MIGRATIONS.len()
        )));
    }
    for (i, m) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(m.sql)?;
        if let Some(data) = m.data {
            data(&tx)?;
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "state store schema migrated");
    }
    Ok(())
}

/// A record being rebuilt from the first schema's rows.
struct Draft {
    source: DocRef,
    target: Option<DocRef>,
    location: Option<String>,
    path: Option<String>,
    status: DocStatus,
    attempts: u32,
    last_error: Option<String>,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
}

/// A row of the first schema's `failures`.
struct OldFailure {
    flow: String,
    key: String,
    source: DocRef,
    path: Option<String>,
    error: String,
    attempts: u32,
    dead: bool,
    updated: DateTime<Utc>,
}

fn key_of(marker: &str) -> Option<String> {
    DocRef::parse_marker(marker).map(|r| r.key())
}

/// The data step of version 3: every document of the first schema becomes a record (run 0).
/// The latest mapping gives `written`, or `done` when its hooks ran; a pending intent makes
/// it `pending` (keeping the mapped target, if any); a failure makes it `failed` or `dead`
/// with its attempts and error, unless an intent began after it. Each mapping becomes a
/// history line. Path and hash come from the failure or the latest audit entry of that
/// version (then of the document); sizes were never kept. The sink's post-record steps move
/// to the step log: `done`, or `started` when only [`STEP_SINK_DEFERRED_STARTED`] is there.
fn records_from_v2(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let mut drafts: BTreeMap<(String, String), Draft> = BTreeMap::new();

    let mut stmt = tx.prepare(
        "SELECT flow, source_key, source, target, location, hooks_done, recorded
         FROM mappings ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let (flow, key): (String, String) = (r.get(0)?, r.get(1)?);
        let (source, target) = (parse_ref(r.get(2)?)?, parse_ref(r.get(3)?)?);
        let status = if r.get::<_, bool>(5)? {
            DocStatus::Done
        } else {
            DocStatus::Written
        };
        let recorded = parse_time(r.get(6)?)?;
        tx.execute(
            "INSERT INTO history (flow, key, source, target, status, run, time)
             VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
            params![
                flow,
                key,
                source.marker(),
                target.marker(),
                status.as_str(),
                ts(&recorded)
            ],
        )?;
        let created = drafts
            .get(&(flow.clone(), key.clone()))
            .map_or(recorded, |d| d.created);
        drafts.insert(
            (flow, key),
            Draft {
                source,
                target: Some(target),
                location: Some(r.get(4)?),
                path: None,
                status,
                attempts: 0,
                last_error: None,
                created,
                updated: recorded,
            },
        );
    }
    drop(rows);
    drop(stmt);

    let mut stmt = tx.prepare("SELECT flow, source_key, source, started FROM intents")?;
    let intents: Vec<(String, String, DocRef, DateTime<Utc>)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                parse_ref(r.get(2)?)?,
                parse_time(r.get(3)?)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    drop(stmt);
    let mut intent_started: HashMap<(String, String), DateTime<Utc>> = HashMap::new();
    for (flow, key, source, started) in intents {
        let d = drafts
            .entry((flow.clone(), key.clone()))
            .or_insert_with(|| Draft {
                source: source.clone(),
                target: None,
                location: None,
                path: None,
                status: DocStatus::Pending,
                attempts: 0,
                last_error: None,
                created: started,
                updated: started,
            });
        d.source = source;
        d.status = DocStatus::Pending;
        d.updated = d.updated.max(started);
        intent_started.insert((flow, key), started);
    }

    let mut stmt = tx.prepare(
        "SELECT flow, source_key, source, path, error, attempts, dead, updated FROM failures",
    )?;
    let failures: Vec<OldFailure> = stmt
        .query_map([], |r| {
            Ok(OldFailure {
                flow: r.get(0)?,
                key: r.get(1)?,
                source: parse_ref(r.get(2)?)?,
                path: r.get(3)?,
                error: r.get(4)?,
                attempts: r.get(5)?,
                dead: r.get(6)?,
                updated: parse_time(r.get(7)?)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    drop(stmt);
    for f in failures {
        let OldFailure {
            flow,
            key,
            source,
            path,
            error,
            attempts,
            dead,
            updated,
        } = f;
        let started = intent_started.get(&(flow.clone(), key.clone())).cloned();
        let d = drafts.entry((flow, key)).or_insert_with(|| Draft {
            source: source.clone(),
            target: None,
            location: None,
            path: None,
            status: DocStatus::Failed,
            attempts: 0,
            last_error: None,
            created: updated,
            updated,
        });
        d.attempts = attempts;
        d.last_error = Some(error);
        d.path = path;
        let later_intent = started.is_some_and(|s| s > updated);
        if !later_intent {
            d.source = source;
            d.status = if dead {
                DocStatus::Dead
            } else {
                DocStatus::Failed
            };
        }
        d.updated = d.updated.max(updated);
    }

    // Paths and hashes from the audit trail: the latest entry of the exact version wins,
    // then the latest of the document.
    let mut by_marker: HashMap<(String, String), (Option<String>, Option<String>)> = HashMap::new();
    let mut by_key: HashMap<(String, String), String> = HashMap::new();
    let mut stmt = tx.prepare("SELECT flow, source, path, source_hash FROM audit ORDER BY id")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let (flow, marker): (String, String) = (r.get(0)?, r.get(1)?);
        let (path, hash): (Option<String>, Option<String>) = (r.get(2)?, r.get(3)?);
        if let (Some(p), Some(key)) = (&path, key_of(&marker)) {
            by_key.insert((flow.clone(), key), p.clone());
        }
        let e = by_marker.entry((flow, marker)).or_default();
        if path.is_some() {
            e.0 = path;
        }
        if hash.is_some() {
            e.1 = hash;
        }
    }
    drop(rows);
    drop(stmt);

    for ((flow, key), d) in drafts {
        let seen = by_marker.get(&(flow.clone(), d.source.marker()));
        let path = d
            .path
            .or_else(|| seen.and_then(|s| s.0.clone()))
            .or_else(|| by_key.get(&(flow.clone(), key.clone())).cloned());
        let hash = seen.and_then(|s| s.1.clone());
        tx.execute(
            "INSERT INTO records (flow, key, source, path, path_lower, hash, target, location,
                 status, attempts, last_error, run, created, updated)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 0, ?12, ?13)",
            params![
                flow,
                key,
                d.source.marker(),
                path,
                path.as_deref().map(fold_path),
                hash,
                d.target.as_ref().map(DocRef::marker),
                d.location,
                d.status.as_str(),
                d.attempts,
                d.last_error,
                ts(&d.created),
                ts(&d.updated)
            ],
        )?;
    }

    steps_from_v2(tx)
}

/// The sink's post-record steps of the second schema, moved to the step log: `done`, or
/// `started` when only [`STEP_SINK_DEFERRED_STARTED`] is there (named [`STEP_SINK_DEFERRED`];
/// version 4 renames them).
fn steps_from_v2(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare("SELECT flow, source, step, done FROM steps ORDER BY rowid")?;
    let steps: Vec<(String, String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    drop(stmt);
    for (flow, marker, step, done) in steps {
        let source = parse_ref(marker.clone())?;
        let version = source.version.clone().unwrap_or_default();
        let (name, state, finished) = if step == STEP_SINK_DEFERRED_STARTED {
            let finished: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM steps WHERE flow = ?1 AND source = ?2 AND step = ?3",
                    params![flow, marker, STEP_SINK_DEFERRED],
                    |r| r.get(0),
                )
                .optional()?;
            if finished.is_some() {
                continue;
            }
            (STEP_SINK_DEFERRED.to_owned(), "started", None)
        } else {
            (step, "done", Some(ts(&parse_time(done.clone())?)))
        };
        tx.execute(
            "INSERT INTO doc_steps (flow, key, version, name, state, attempts, started, finished)
             VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7)
             ON CONFLICT (flow, key, version, name) DO UPDATE SET
                 state = excluded.state, finished = excluded.finished",
            params![
                flow,
                source.key(),
                version,
                name,
                state,
                ts(&parse_time(done)?),
                finished
            ],
        )?;
    }
    Ok(())
}
