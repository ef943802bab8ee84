//! Reading the document store's rows back, and the small queries its methods share.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::{bad, parse_ref, parse_time, uint, PgResult};
use crate::state::records::{
    parse_hash, Claim, DocRecord, DocStatus, HistoryEntry, RunId, StepRecord,
};

pub(super) const RECORD_COLS: &str =
    "flow, source, path, path_lower, size, hash, target, location, sink,
     status, attempts, last_error, run, next_check, created, updated, context";
pub(super) const HISTORY_COLS: &str = "flow, source, target, status, run, time";
pub(super) const STEP_COLS: &str =
    "flow, key, version, name, state, output, error, attempts, started, finished";
pub(super) const CLAIM_COLS: &str = "flow, key, owner, token, lease_until, held";

pub(super) fn opt_time(s: Option<&str>) -> PgResult<Option<chrono::DateTime<chrono::Utc>>> {
    s.map(parse_time).transpose()
}

pub(super) fn opt_ref(s: Option<&str>) -> PgResult<Option<crate::model::DocRef>> {
    s.map(parse_ref).transpose()
}

pub(super) fn status(s: &str) -> PgResult<DocStatus> {
    s.parse().map_err(|e| bad("status", e))
}

pub(super) fn json(s: Option<&str>) -> PgResult<Option<serde_json::Value>> {
    s.map(|s| serde_json::from_str(s).map_err(|e| bad("JSON", e)))
        .transpose()
}

pub(super) fn to_json(v: &impl serde::Serialize) -> PgResult<String> {
    serde_json::to_string(v).map_err(|e| bad("JSON", e))
}

/// A run id or token as PostgreSQL's `BIGINT`.
pub(super) fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A run id or token read back from `BIGINT`.
pub(super) fn ubig(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

pub(super) fn record_row(r: &Row) -> PgResult<DocRecord> {
    Ok(DocRecord {
        flow: r.try_get(0)?,
        source: parse_ref(r.try_get(1)?)?,
        path: r.try_get(2)?,
        path_lower: r.try_get(3)?,
        size: r.try_get::<_, Option<i64>>(4)?.map(ubig),
        hash: r
            .try_get::<_, Option<&str>>(5)?
            .map(|h| parse_hash(h).ok_or_else(|| bad("content hash", h)))
            .transpose()?,
        target: opt_ref(r.try_get(6)?)?,
        location: r.try_get(7)?,
        sink: r.try_get(8)?,
        status: status(r.try_get(9)?)?,
        attempts: uint(r.try_get(10)?),
        last_error: r.try_get(11)?,
        run: ubig(r.try_get(12)?) as RunId,
        next_check: opt_time(r.try_get(13)?)?,
        created: parse_time(r.try_get(14)?)?,
        updated: parse_time(r.try_get(15)?)?,
        context: json(r.try_get(16)?)?,
    })
}

pub(super) fn history_row(r: &Row) -> PgResult<HistoryEntry> {
    Ok(HistoryEntry {
        flow: r.try_get(0)?,
        source: parse_ref(r.try_get(1)?)?,
        target: opt_ref(r.try_get(2)?)?,
        status: status(r.try_get(3)?)?,
        run: ubig(r.try_get(4)?),
        time: parse_time(r.try_get(5)?)?,
    })
}

pub(super) fn step_row(r: &Row) -> PgResult<StepRecord> {
    let state: &str = r.try_get(4)?;
    Ok(StepRecord {
        flow: r.try_get(0)?,
        key: r.try_get(1)?,
        version: r.try_get(2)?,
        name: r.try_get(3)?,
        state: state.parse().map_err(|e| bad("step state", e))?,
        output: json(r.try_get(5)?)?,
        error: r.try_get(6)?,
        attempts: uint(r.try_get(7)?),
        started: parse_time(r.try_get(8)?)?,
        finished: opt_time(r.try_get(9)?)?,
    })
}

/// A claim row, and whether it is held (a released claim keeps its row for the token count).
pub(super) fn claim_row(r: &Row) -> PgResult<(Claim, bool)> {
    Ok((
        Claim {
            flow: r.try_get(0)?,
            key: r.try_get(1)?,
            owner: r.try_get(2)?,
            token: ubig(r.try_get(3)?),
            lease_until: parse_time(r.try_get(4)?)?,
        },
        r.try_get(5)?,
    ))
}

pub(super) async fn get_claim(
    c: &impl GenericClient,
    flow: &str,
    key: &str,
) -> PgResult<Option<(Claim, bool)>> {
    let row = c
        .query_opt(
            &format!("SELECT {CLAIM_COLS} FROM claims WHERE flow = $1 AND key = $2"),
            &[&flow, &key],
        )
        .await?;
    row.as_ref().map(claim_row).transpose()
}

pub(super) async fn get_step(
    c: &impl GenericClient,
    flow: &str,
    key: &str,
    version: &str,
    name: &str,
) -> PgResult<Option<StepRecord>> {
    let row = c
        .query_opt(
            &format!(
                "SELECT {STEP_COLS} FROM doc_steps
                 WHERE flow = $1 AND key = $2 AND version = $3 AND name = $4"
            ),
            &[&flow, &key, &version, &name],
        )
        .await?;
    row.as_ref().map(step_row).transpose()
}

/// The names of the statuses the after-run view shows.
pub(super) fn settled() -> Vec<&'static str> {
    DocStatus::ALL
        .into_iter()
        .filter(|s| s.is_settled_at_target())
        .map(DocStatus::as_str)
        .collect()
}

pub(super) async fn query_records(
    c: &impl GenericClient,
    filter: &str,
    args: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> PgResult<Vec<DocRecord>> {
    let rows = c
        .query(
            &format!("SELECT {RECORD_COLS} FROM records WHERE {filter}"),
            args,
        )
        .await?;
    rows.iter().map(record_row).collect()
}
