//! The PostgreSQL state store (cargo feature `postgres`): both contracts on a server that
//! several workers share. A small pool of connections (deadpool); plain TCP or a unix socket,
//! no TLS (run it over loopback, a private network or a tunnel). The schema is migrated at
//! connect (`schema`). [`StateStore`] is here, [`crate::state::DocumentStore`] in `docs`.
//!
//! Concurrency: every conditional write is one statement (`INSERT … ON CONFLICT … DO UPDATE …
//! WHERE` for claims and `begin_step`, `UPDATE … WHERE version = $n` for checkpoints) or one
//! transaction that locks the one row it depends on (a fenced save reads the claim `FOR SHARE`,
//! so a takeover waits for the save to commit and a late save never lands after it). No call
//! waits on another worker's row beyond one such short statement or transaction.

mod docs;
mod rows;
mod schema;
#[doc(hidden)]
pub mod testing;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::{NoTls, Row};

use super::sqlite::ts;
use super::{AuditEntry, StateStore};
use crate::error::{Error, Result};
use crate::model::{Checkpoint, DocRef};

/// The environment variable the README and the tests use for a server's URL
/// (`postgres://user:password@host:port/database`, or libpq's `key=value` form).
pub const PG_URL_VAR: &str = "ECM_PG_URL";

/// How [`PostgresStore::connect_with`] connects.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// The schema that holds the store's tables (created at connect when absent): several
    /// stores can share one database. `None`: the connection's search path (normally `public`).
    /// Letters, digits and `_` only, not starting with a digit.
    pub schema: Option<String>,
    /// Connections in the pool: the most calls this process has in flight on the server.
    pub pool_size: usize,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            schema: None,
            pool_size: 8,
        }
    }
}

/// A [`StateStore`] and [`crate::state::DocumentStore`] on a PostgreSQL server. Clones share
/// one pool; separate stores on one database (several processes) coordinate through it.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The configuration holds the password: not shown.
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

/// Why a call failed, before it is named ([`call`]).
pub(super) struct Fail(pub(super) String);

pub(super) type PgResult<T> = std::result::Result<T, Fail>;

impl From<tokio_postgres::Error> for Fail {
    fn from(e: tokio_postgres::Error) -> Self {
        Fail(e.to_string())
    }
}

impl From<deadpool_postgres::PoolError> for Fail {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Fail(format!("connection pool: {e}"))
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        match e {
            Error::State(m) => Fail(m),
            other => Fail(other.to_string()),
        }
    }
}

/// Runs one store call; an error says which (`what`, the trait method) and that PostgreSQL
/// answered it.
pub(super) async fn call<T>(what: &str, f: impl Future<Output = PgResult<T>>) -> Result<T> {
    f.await
        .map_err(|Fail(m)| Error::State(format!("{what} (PostgreSQL): {m}")))
}

/// A value stored by this crate that does not read back (edited by hand, or another program).
pub(super) fn bad(what: &str, e: impl std::fmt::Display) -> Fail {
    Fail(format!("{what}: {e}"))
}

pub(super) fn parse_ref(s: &str) -> PgResult<DocRef> {
    DocRef::parse_marker(s).ok_or_else(|| bad("not a document reference", format!("{s:?}")))
}

pub(super) fn parse_time(s: &str) -> PgResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| bad("time", e))
}

/// A count as PostgreSQL's `INTEGER`.
pub(super) fn int(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A count read back from `INTEGER`.
pub(super) fn uint(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

fn valid_schema(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 63
}

impl PostgresStore {
    /// Connects to the server at `url` (`postgres://user:password@host:port/db`, or libpq's
    /// `key=value` form; `host=/path` for a unix socket) and migrates the schema, with the
    /// default options.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, &PostgresOptions::default()).await
    }

    /// Connects to the server named by [`PG_URL_VAR`] (`ECM_PG_URL`); an error when it is unset.
    pub async fn connect_from_env(options: &PostgresOptions) -> Result<Self> {
        let url = std::env::var(PG_URL_VAR)
            .map_err(|_| Error::Config(format!("{PG_URL_VAR} is not set")))?;
        Self::connect_with(&url, options).await
    }

    /// Connects to the server at `url` with `options`, and migrates the schema (safe when
    /// several processes connect at once: they take turns under an advisory lock).
    pub async fn connect_with(url: &str, options: &PostgresOptions) -> Result<Self> {
        call("connect", async {
            let mut config = tokio_postgres::Config::from_str(url)
                .map_err(|e| Fail(format!("the server URL does not parse: {e}")))?;
            if config.get_application_name().is_none() {
                config.application_name("ecm-bridge");
            }
            if config.get_connect_timeout().is_none() {
                config.connect_timeout(Duration::from_secs(10));
            }
            let schema = options.schema.as_deref();
            if let Some(schema) = schema {
                if !valid_schema(schema) {
                    return Err(Fail(format!(
                        "schema {schema:?}: letters, digits and _ only, not starting with a digit"
                    )));
                }
                let earlier = config.get_options().unwrap_or_default().to_owned();
                config.options(format!("{earlier} -c search_path={schema}").trim());
            }
            let manager = Manager::from_config(
                config,
                NoTls,
                ManagerConfig {
                    recycling_method: RecyclingMethod::Fast,
                },
            );
            let pool = Pool::builder(manager)
                .max_size(options.pool_size.max(1))
                .runtime(Runtime::Tokio1)
                .create_timeout(Some(Duration::from_secs(15)))
                .wait_timeout(Some(Duration::from_secs(60)))
                .build()
                .map_err(|e| Fail(format!("connection pool: {e}")))?;
            let mut client = pool.get().await?;
            schema::migrate(&mut client, schema).await?;
            drop(client);
            Ok(PostgresStore { pool })
        })
        .await
    }

    /// A connection from the pool.
    pub(super) async fn client(&self) -> PgResult<deadpool_postgres::Object> {
        Ok(self.pool.get().await?)
    }
}

const AUDIT_COLS: &str =
    "time, flow, source, source_hash, path, target, account, action, outcome, run";

fn audit_row(r: &Row) -> PgResult<AuditEntry> {
    Ok(AuditEntry {
        time: parse_time(r.try_get(0)?)?,
        flow: r.try_get(1)?,
        source: parse_ref(r.try_get(2)?)?,
        source_hash: r.try_get(3)?,
        path: r.try_get(4)?,
        target: r
            .try_get::<_, Option<&str>>(5)?
            .map(parse_ref)
            .transpose()?,
        account: r.try_get(6)?,
        action: r.try_get(7)?,
        outcome: r.try_get(8)?,
        run: r.try_get::<_, Option<i64>>(9)?.map(rows::ubig),
    })
}

pub(super) async fn insert_audit(
    c: &impl deadpool_postgres::GenericClient,
    e: &AuditEntry,
) -> PgResult<()> {
    c.execute(
        &format!(
            "INSERT INTO audit ({AUDIT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ),
        &[
            &ts(&e.time),
            &e.flow,
            &e.source.marker(),
            &e.source_hash,
            &e.path,
            &e.target.as_ref().map(DocRef::marker),
            &e.account,
            &e.action,
            &e.outcome,
            &e.run.map(rows::big),
        ],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl StateStore for PostgresStore {
    async fn checkpoint(&self, flow: &str) -> Result<Option<Checkpoint>> {
        call("checkpoint", async {
            let c = self.client().await?;
            let row = c
                .query_opt(
                    "SELECT checkpoint FROM checkpoints WHERE flow = $1",
                    &[&flow],
                )
                .await?;
            Ok(row.map(|r| r.try_get(0).map(Checkpoint)).transpose()?)
        })
        .await
    }

    async fn set_checkpoint(&self, flow: &str, checkpoint: &Checkpoint) -> Result<()> {
        call("set_checkpoint", async {
            let c = self.client().await?;
            c.execute(
                "INSERT INTO checkpoints (flow, checkpoint, updated) VALUES ($1, $2, $3)
                 ON CONFLICT (flow) DO UPDATE SET checkpoint = excluded.checkpoint,
                                                  updated = excluded.updated",
                &[&flow, &checkpoint.0, &ts(&Utc::now())],
            )
            .await?;
            Ok(())
        })
        .await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<()> {
        call("append_audit", async {
            let c = self.client().await?;
            insert_audit(&c, entry).await
        })
        .await
    }

    async fn audit(&self, flow: Option<&str>) -> Result<Vec<AuditEntry>> {
        call("audit", async {
            let c = self.client().await?;
            let rows = c
                .query(
                    &format!(
                        "SELECT {AUDIT_COLS} FROM audit
                         WHERE $1::TEXT IS NULL OR flow = $1::TEXT ORDER BY id"
                    ),
                    &[&flow],
                )
                .await?;
            rows.iter().map(audit_row).collect()
        })
        .await
    }
}
