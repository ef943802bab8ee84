//! Reading the document store's rows back, and the small queries its methods share.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row};

use super::{parse_ref, parse_time};
use crate::error::{Error, Result};
use crate::state::records::{
    parse_hash, Claim, DocRecord, DocStatus, HistoryEntry, RunId, StepRecord,
};

pub(super) const RECORD_COLS: &str =
    "flow, source, path, path_lower, size, hash, target, location, sink,
     status, attempts, last_error, run, next_check, created, updated, context";
pub(super) const HISTORY_COLS: &str = "flow, source, target, status, run, time";
pub(super) const STEP_COLS: &str =
    "flow, key, version, name, state, output, error, attempts, started, finished";

/// A value stored by this crate that does not read back: the file was edited by hand.
pub(super) fn bad(what: &str, e: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("{what}: {e}").into(),
    )
}

pub(super) fn opt_time(s: Option<String>) -> rusqlite::Result<Option<DateTime<Utc>>> {
    s.map(parse_time).transpose()
}

pub(super) fn status(s: String) -> rusqlite::Result<DocStatus> {
    s.parse().map_err(|e| bad("status", e))
}

pub(super) fn json(s: Option<String>) -> rusqlite::Result<Option<serde_json::Value>> {
    s.map(|s| serde_json::from_str(&s).map_err(|e| bad("JSON", e)))
        .transpose()
}

pub(super) fn to_json(v: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::State(format!("JSON: {e}")))
}

pub(super) fn record_row(r: &Row<'_>) -> rusqlite::Result<DocRecord> {
    Ok(DocRecord {
        flow: r.get(0)?,
        source: parse_ref(r.get(1)?)?,
        path: r.get(2)?,
        path_lower: r.get(3)?,
        size: r.get::<_, Option<i64>>(4)?.map(|n| n.max(0) as u64),
        hash: r
            .get::<_, Option<String>>(5)?
            .map(|h| parse_hash(&h).ok_or_else(|| bad("content hash", h)))
            .transpose()?,
        target: r.get::<_, Option<String>>(6)?.map(parse_ref).transpose()?,
        location: r.get(7)?,
        sink: r.get(8)?,
        status: status(r.get(9)?)?,
        attempts: r.get(10)?,
        last_error: r.get(11)?,
        run: r.get::<_, i64>(12)? as RunId,
        next_check: opt_time(r.get(13)?)?,
        created: parse_time(r.get(14)?)?,
        updated: parse_time(r.get(15)?)?,
        context: json(r.get(16)?)?,
    })
}

pub(super) fn history_row(r: &Row<'_>) -> rusqlite::Result<HistoryEntry> {
    Ok(HistoryEntry {
        flow: r.get(0)?,
        source: parse_ref(r.get(1)?)?,
        target: r.get::<_, Option<String>>(2)?.map(parse_ref).transpose()?,
        status: status(r.get(3)?)?,
        run: r.get::<_, i64>(4)? as RunId,
        time: parse_time(r.get(5)?)?,
    })
}

pub(super) fn step_row(r: &Row<'_>) -> rusqlite::Result<StepRecord> {
    let state: String = r.get(4)?;
    Ok(StepRecord {
        flow: r.get(0)?,
        key: r.get(1)?,
        version: r.get(2)?,
        name: r.get(3)?,
        state: state.parse().map_err(|e| bad("step state", e))?,
        output: json(r.get(5)?)?,
        error: r.get(6)?,
        attempts: r.get(7)?,
        started: parse_time(r.get(8)?)?,
        finished: opt_time(r.get(9)?)?,
    })
}

pub(super) fn claim_row(r: &Row<'_>) -> rusqlite::Result<(Claim, bool)> {
    Ok((
        Claim {
            flow: r.get(0)?,
            key: r.get(1)?,
            owner: r.get(2)?,
            token: r.get::<_, i64>(3)? as u64,
            lease_until: parse_time(r.get(4)?)?,
        },
        r.get(5)?,
    ))
}

pub(super) fn get_claim(
    c: &Connection,
    flow: &str,
    key: &str,
) -> rusqlite::Result<Option<(Claim, bool)>> {
    c.query_row(
        "SELECT flow, key, owner, token, lease_until, held FROM claims
         WHERE flow = ?1 AND key = ?2",
        [flow, key],
        claim_row,
    )
    .optional()
}

pub(super) fn get_step(
    c: &Connection,
    flow: &str,
    key: &str,
    version: &str,
    name: &str,
) -> rusqlite::Result<Option<StepRecord>> {
    c.query_row(
        &format!(
            "SELECT {STEP_COLS} FROM doc_steps
             WHERE flow = ?1 AND key = ?2 AND version = ?3 AND name = ?4"
        ),
        [flow, key, version, name],
        step_row,
    )
    .optional()
}

/// `('written', 'awaiting', …)`: the statuses the after-run view shows.
pub(super) fn settled_list() -> String {
    let names: Vec<String> = DocStatus::ALL
        .into_iter()
        .filter(|s| s.is_settled_at_target())
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    format!("({})", names.join(", "))
}

pub(super) fn query_records(
    c: &Connection,
    filter: &str,
    args: impl rusqlite::Params,
) -> rusqlite::Result<Vec<DocRecord>> {
    let mut stmt = c.prepare(&format!("SELECT {RECORD_COLS} FROM records WHERE {filter}"))?;
    let rows = stmt.query_map(args, record_row)?;
    rows.collect()
}

pub(super) fn owned(a: &str, b: &str) -> (String, String) {
    (a.to_owned(), b.to_owned())
}
