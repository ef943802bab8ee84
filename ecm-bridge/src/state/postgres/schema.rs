//! The PostgreSQL schema: migrations applied in order at connect, the table
//! `ecm_state_schema` counting how many ran. All of them run in one transaction that first takes
//! a transaction-scoped advisory lock, so two processes connecting at once migrate one after the
//! other: the second finds the work done.
//!
//! Every text column that is compared or sorted (keys, paths, times) uses the `"C"` collation:
//! byte order, whatever the database's locale, so that ordering by key and the path ranges of
//! `records_under` behave as in the other stores, and the fixed-width RFC 3339 times (nine
//! fraction digits, `Z`) compare as times.

use super::{Fail, PgResult};

/// The advisory lock taken around migrations (any 64-bit number no other program uses on the
/// same database; this one spells "ecmstate").
const MIGRATION_LOCK: i64 = 0x6563_6d73_7461_7465;

/// Both contracts' tables. Same layout as the SQLite store's, with PostgreSQL types.
pub(super) const V1: &str = r#"
CREATE TABLE checkpoints (
    flow TEXT COLLATE "C" PRIMARY KEY,
    checkpoint TEXT NOT NULL,
    updated TEXT COLLATE "C" NOT NULL
);
CREATE TABLE mappings (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    flow TEXT COLLATE "C" NOT NULL,
    source_key TEXT COLLATE "C" NOT NULL,
    source TEXT COLLATE "C" NOT NULL,
    target TEXT NOT NULL,
    location TEXT NOT NULL,
    hooks_done BOOLEAN NOT NULL DEFAULT FALSE,
    recorded TEXT COLLATE "C" NOT NULL,
    UNIQUE (flow, source)
);
CREATE INDEX mappings_by_key ON mappings (flow, source_key, id);
CREATE TABLE intents (
    flow TEXT COLLATE "C" NOT NULL,
    source_key TEXT COLLATE "C" NOT NULL,
    source TEXT NOT NULL,
    started TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (flow, source_key)
);
CREATE TABLE failures (
    flow TEXT COLLATE "C" NOT NULL,
    source_key TEXT COLLATE "C" NOT NULL,
    source TEXT NOT NULL,
    path TEXT,
    error TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    dead BOOLEAN NOT NULL,
    updated TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (flow, source_key)
);
CREATE TABLE audit (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time TEXT NOT NULL,
    flow TEXT COLLATE "C" NOT NULL,
    source TEXT NOT NULL,
    source_hash TEXT,
    path TEXT,
    target TEXT,
    account TEXT,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX audit_by_flow ON audit (flow, id);
CREATE TABLE steps (
    flow TEXT COLLATE "C" NOT NULL,
    source TEXT COLLATE "C" NOT NULL,
    step TEXT COLLATE "C" NOT NULL,
    done TEXT NOT NULL,
    PRIMARY KEY (flow, source, step)
);
CREATE TABLE records (
    flow TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    source TEXT NOT NULL,
    path TEXT,
    path_lower TEXT COLLATE "C",
    size BIGINT,
    hash TEXT,
    target TEXT,
    location TEXT,
    sink TEXT,
    status TEXT COLLATE "C" NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    run BIGINT NOT NULL,
    next_check TEXT COLLATE "C",
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    PRIMARY KEY (flow, key)
);
CREATE INDEX records_by_status ON records (flow, status, next_check);
CREATE INDEX records_by_path ON records (flow, path_lower);
CREATE TABLE history (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    flow TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    source TEXT COLLATE "C" NOT NULL,
    target TEXT,
    status TEXT COLLATE "C" NOT NULL,
    run BIGINT NOT NULL,
    time TEXT NOT NULL
);
CREATE INDEX history_by_key ON history (flow, key, id);
CREATE INDEX history_by_run ON history (flow, run, id);
CREATE TABLE doc_steps (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    flow TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    version TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    state TEXT NOT NULL,
    output TEXT,
    error TEXT,
    attempts INTEGER NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    UNIQUE (flow, key, version, name)
);
CREATE TABLE runs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    flow TEXT COLLATE "C" NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    counts TEXT NOT NULL DEFAULT '{}',
    report TEXT
);
CREATE INDEX runs_by_flow ON runs (flow, id);
CREATE TABLE claims (
    flow TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    owner TEXT NOT NULL,
    token BIGINT NOT NULL,
    lease_until TEXT COLLATE "C" NOT NULL,
    held BOOLEAN NOT NULL,
    PRIMARY KEY (flow, key)
);
CREATE TABLE partition_checkpoints (
    flow TEXT COLLATE "C" NOT NULL,
    partition TEXT COLLATE "C" NOT NULL,
    checkpoint TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated TEXT NOT NULL,
    PRIMARY KEY (flow, partition)
);
CREATE TABLE jobs (
    flow TEXT COLLATE "C" NOT NULL,
    job TEXT COLLATE "C" NOT NULL,
    listing_finished TEXT,
    created TEXT NOT NULL,
    PRIMARY KEY (flow, job)
);
CREATE TABLE job_members (
    flow TEXT COLLATE "C" NOT NULL,
    job TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (flow, job, key)
);
"#;

/// Records keep what the runner needs to resume, audit entries their run. What the runner of
/// version 1 kept beside the records moves over: an intent makes the record `pending` at its
/// version (unless it is `failed` or `dead` there), the sink's post-record steps go to the step
/// log as the Content Server sink's step `workflow`; then the old tables go.
const V2: &str = r#"
ALTER TABLE records ADD COLUMN context TEXT;
ALTER TABLE audit ADD COLUMN run BIGINT;
INSERT INTO records AS r (flow, key, source, status, attempts, run, created, updated)
    SELECT flow, source_key, source, 'pending', 0, 0, started, started FROM intents
    ON CONFLICT (flow, key) DO UPDATE SET source = excluded.source, status = 'pending',
        updated = excluded.updated
    WHERE r.source <> excluded.source OR r.status NOT IN ('failed', 'dead');
INSERT INTO doc_steps AS d (flow, key, version, name, state, attempts, started, finished)
    SELECT s.flow, regexp_replace(s.source, '@[^@]*$', ''),
           coalesce(substring(s.source from '@([^@]*)$'), ''), 'workflow',
           CASE WHEN bool_or(s.step = 'sink_deferred') THEN 'done' ELSE 'started' END,
           1, min(s.done),
           CASE WHEN bool_or(s.step = 'sink_deferred') THEN max(s.done) END
    FROM steps s WHERE s.step IN ('sink_deferred', 'sink_deferred_started')
    GROUP BY s.flow, s.source
    ON CONFLICT (flow, key, version, name) DO NOTHING;
DROP TABLE mappings;
DROP TABLE intents;
DROP TABLE failures;
DROP TABLE steps;
"#;

/// Schema versions, applied in order; `ecm_state_schema.version` says how many ran.
pub(super) const MIGRATIONS: &[&str] = &[V1, V2];

/// Brings the schema (in `schema`, created when absent, or the connection's search path) to the
/// newest version, under the migration lock.
pub(super) async fn migrate(
    client: &mut tokio_postgres::Client,
    schema: Option<&str>,
) -> PgResult<()> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    if let Some(schema) = schema {
        tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .await?;
    }
    tx.batch_execute("CREATE TABLE IF NOT EXISTS ecm_state_schema (version INTEGER NOT NULL)")
        .await?;
    let version = match tx
        .query_opt("SELECT version FROM ecm_state_schema", &[])
        .await?
    {
        Some(row) => row.try_get::<_, i32>(0)?,
        None => {
            tx.execute("INSERT INTO ecm_state_schema (version) VALUES (0)", &[])
                .await?;
            0
        }
    };
    let version = usize::try_from(version).unwrap_or(usize::MAX);
    if version > MIGRATIONS.len() {
        return Err(Fail(format!(
            "the database has state schema version {version}, newer than this program's {}",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.batch_execute(sql).await?;
        let next = i32::try_from(i + 1).unwrap_or(i32::MAX);
        tx.execute("UPDATE ecm_state_schema SET version = $1", &[&next])
            .await?;
        tracing::info!(version = i + 1, "PostgreSQL state schema migrated");
    }
    tx.commit().await?;
    Ok(())
}

/// The schema version the database is at.
#[cfg(test)]
pub(super) async fn version(client: &tokio_postgres::Client) -> PgResult<i32> {
    Ok(client
        .query_one("SELECT version FROM ecm_state_schema", &[])
        .await?
        .try_get(0)?)
}
