//! [`DocumentStore`] for [`SqliteStore`]. Conditional writes run in `BEGIN IMMEDIATE`
//! transactions: the write lock is taken before the condition is read, so two processes on
//! one file cannot both see a key free (within one process the connection's mutex already
//! serialises calls).

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::rows::{
    bad, get_claim, get_step, history_row, json, opt_time, owned, query_records, settled_list,
    step_row, to_json, HISTORY_COLS, RECORD_COLS, STEP_COLS,
};
use super::{insert_audit, parse_time, ts, SqliteStore};
use crate::error::{Error, Result};
use crate::model::{Checkpoint, DocRef};
use crate::state::document::lease_end;
use crate::state::records::{
    fold_path, BeginStep, CasOutcome, Claim, ClaimOutcome, DocRecord, DocStatus, HistoryEntry, Job,
    JobBarrier, PartitionCheckpoint, RunCounts, RunId, RunRecord, StepRecord, StepState,
};
use crate::state::AuditEntry;
use crate::state::DocumentStore;

/// Drops a document's history line of this run (the save writes it again). Searched by
/// the document's key: without `INDEXED BY` SQLite's planner takes `history_by_run`, and each
/// save then walks every line of the run so far (a first run of 100,000 files became
/// quadratic).
pub(super) const CLEAR_RUN_HISTORY: &str = "DELETE FROM history INDEXED BY history_by_key
     WHERE flow = ?1 AND key = ?2 AND source = ?3 AND run = ?4";

#[async_trait]
impl DocumentStore for SqliteStore {
    async fn save_record_audited(
        &self,
        record: &DocRecord,
        fence: Option<u64>,
        audit: &[AuditEntry],
    ) -> Result<bool> {
        let rec = record.clone();
        let audit = audit.to_vec();
        let hash = rec.hash.as_ref().map(ToString::to_string);
        let context = rec.context.as_ref().map(to_json).transpose()?;
        self.call("save_record", move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let key = rec.key();
            if let Some(token) = fence {
                let current = get_claim(&tx, &rec.flow, &key)?;
                if !current.is_some_and(|(claim, held)| held && claim.token == token) {
                    return Ok(false);
                }
            }
            tx.execute(
                &format!(
                    "INSERT INTO records ({RECORD_COLS}, key)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                             ?18, ?17)
                     ON CONFLICT (flow, key) DO UPDATE SET source = excluded.source,
                         path = excluded.path, path_lower = excluded.path_lower,
                         size = excluded.size, hash = excluded.hash, target = excluded.target,
                         location = excluded.location, sink = excluded.sink,
                         status = excluded.status, attempts = excluded.attempts,
                         last_error = excluded.last_error, run = excluded.run,
                         next_check = excluded.next_check, updated = excluded.updated,
                         context = excluded.context"
                ),
                params![
                    rec.flow,
                    rec.source.marker(),
                    rec.path,
                    rec.index_path(),
                    rec.size.map(|n| n.min(i64::MAX as u64) as i64),
                    hash,
                    rec.target.as_ref().map(DocRef::marker),
                    rec.location,
                    rec.sink,
                    rec.status.as_str(),
                    rec.attempts,
                    rec.last_error,
                    rec.run as i64,
                    rec.next_check.as_ref().map(ts),
                    ts(&rec.created),
                    ts(&rec.updated),
                    key,
                    context,
                ],
            )?;
            let marker = rec.source.marker();
            tx.execute(
                CLEAR_RUN_HISTORY,
                params![rec.flow, key, marker, rec.run as i64],
            )?;
            tx.execute(
                "INSERT INTO history (flow, key, source, target, status, run, time)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    rec.flow,
                    key,
                    marker,
                    rec.target.as_ref().map(DocRef::marker),
                    rec.status.as_str(),
                    rec.run as i64,
                    ts(&rec.updated)
                ],
            )?;
            for entry in &audit {
                insert_audit(&tx, entry)?;
            }
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn record(&self, flow: &str, key: &str) -> Result<Option<DocRecord>> {
        let (flow, key) = owned(flow, key);
        self.call("record", move |c| {
            Ok(query_records(c, "flow = ?1 AND key = ?2", [flow, key])?
                .into_iter()
                .next())
        })
        .await
    }

    async fn records_by_status(&self, flow: &str, status: DocStatus) -> Result<Vec<DocRecord>> {
        let (flow, status) = owned(flow, status.as_str());
        self.call("records_by_status", move |c| {
            Ok(query_records(
                c,
                "flow = ?1 AND status = ?2 ORDER BY key",
                [flow, status],
            )?)
        })
        .await
    }

    async fn due_checks(&self, flow: &str, now: DateTime<Utc>) -> Result<Vec<DocRecord>> {
        let (flow, now) = (flow.to_owned(), ts(&now));
        self.call("due_checks", move |c| {
            Ok(query_records(
                c,
                "flow = ?1 AND status = 'awaiting' AND next_check <= ?2 ORDER BY next_check, key",
                [flow, now],
            )?)
        })
        .await
    }

    async fn records_under(&self, flow: &str, path: &str) -> Result<Vec<DocRecord>> {
        let (flow, prefix) = (flow.to_owned(), fold_path(path));
        self.call("records_under", move |c| {
            if prefix.is_empty() {
                return Ok(query_records(
                    c,
                    "flow = ?1 AND path_lower IS NOT NULL ORDER BY key",
                    [flow],
                )?);
            }
            // `/` + 1 is `0`: the range is everything that starts with `prefix/`, and uses
            // the (flow, path_lower) index.
            Ok(query_records(
                c,
                "flow = ?1 AND (path_lower = ?2
                     OR (path_lower >= ?2 || '/' AND path_lower < ?2 || '0'))
                 ORDER BY key",
                [flow, prefix],
            )?)
        })
        .await
    }

    async fn history(&self, flow: &str, key: &str) -> Result<Vec<HistoryEntry>> {
        let (flow, key) = owned(flow, key);
        self.call("history", move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {HISTORY_COLS} FROM history WHERE flow = ?1 AND key = ?2 ORDER BY id"
            ))?;
            let rows = stmt.query_map([flow, key], history_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn after_run(&self, flow: &str, run: RunId) -> Result<Vec<HistoryEntry>> {
        let flow = flow.to_owned();
        self.call("after_run", move |c| {
            let settled = settled_list();
            let mut stmt = c.prepare(&format!(
                "SELECT {HISTORY_COLS} FROM history h
                 WHERE flow = ?1 AND id = (
                     SELECT id FROM history l
                     WHERE l.flow = h.flow AND l.key = h.key AND l.run <= ?2
                       AND l.status IN {settled}
                     ORDER BY l.run DESC, l.id DESC LIMIT 1)
                 ORDER BY key"
            ))?;
            let rows = stmt.query_map(params![flow, run as i64], history_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn begin_step(
        &self,
        flow: &str,
        key: &str,
        version: &str,
        name: &str,
    ) -> Result<BeginStep> {
        let (flow, key) = owned(flow, key);
        let (version, name) = owned(version, name);
        self.call("begin_step", move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let now = ts(&Utc::now());
            match get_step(&tx, &flow, &key, &version, &name)? {
                Some(step) if !matches!(step.state, StepState::Failed | StepState::Awaiting) => {
                    return Ok(BeginStep::Exists(step))
                }
                Some(_) => tx.execute(
                    "UPDATE doc_steps SET state = 'started', error = NULL, finished = NULL,
                         attempts = attempts + 1, started = ?5
                     WHERE flow = ?1 AND key = ?2 AND version = ?3 AND name = ?4",
                    params![flow, key, version, name, now],
                )?,
                None => tx.execute(
                    "INSERT INTO doc_steps (flow, key, version, name, state, attempts, started)
                     VALUES (?1, ?2, ?3, ?4, 'started', 1, ?5)",
                    params![flow, key, version, name, now],
                )?,
            };
            let step = get_step(&tx, &flow, &key, &version, &name)?
                .ok_or_else(|| Error::State("the step just begun is not there".into()))?;
            tx.commit()?;
            Ok(BeginStep::Began(step))
        })
        .await
    }

    async fn finish_step_audited(
        &self,
        flow: &str,
        key: &str,
        version: &str,
        name: &str,
        output: &serde_json::Value,
        audit: &[AuditEntry],
    ) -> Result<bool> {
        let (flow, key) = owned(flow, key);
        let (version, name) = owned(version, name);
        let output = to_json(output)?;
        let audit = audit.to_vec();
        self.call("finish_step", move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx.execute(
                "UPDATE doc_steps SET state = 'done', output = ?5, error = NULL, finished = ?6
                 WHERE flow = ?1 AND key = ?2 AND version = ?3 AND name = ?4
                   AND state != 'done'",
                params![flow, key, version, name, output, ts(&Utc::now())],
            )?;
            if n == 1 {
                for entry in &audit {
                    insert_audit(&tx, entry)?;
                }
            }
            tx.commit()?;
            Ok(n == 1)
        })
        .await
    }

    async fn fail_step(
        &self,
        flow: &str,
        key: &str,
        version: &str,
        name: &str,
        error: &str,
    ) -> Result<bool> {
        let (flow, key) = owned(flow, key);
        let (version, name) = owned(version, name);
        let error = error.to_owned();
        self.call("fail_step", move |c| {
            let n = c.execute(
                "UPDATE doc_steps SET state = 'failed', error = ?5, finished = ?6
                 WHERE flow = ?1 AND key = ?2 AND version = ?3 AND name = ?4
                   AND state = 'started'",
                params![flow, key, version, name, error, ts(&Utc::now())],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn await_step(
        &self,
        flow: &str,
        key: &str,
        version: &str,
        name: &str,
        output: &serde_json::Value,
    ) -> Result<bool> {
        let (flow, key) = owned(flow, key);
        let (version, name) = owned(version, name);
        let output = to_json(output)?;
        self.call("await_step", move |c| {
            let n = c.execute(
                "UPDATE doc_steps SET state = 'awaiting', output = ?5, error = NULL,
                     finished = NULL
                 WHERE flow = ?1 AND key = ?2 AND version = ?3 AND name = ?4
                   AND state = 'started'",
                params![flow, key, version, name, output],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn steps(&self, flow: &str, key: &str, version: &str) -> Result<Vec<StepRecord>> {
        let (flow, key, version) = (flow.to_owned(), key.to_owned(), version.to_owned());
        self.call("steps", move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {STEP_COLS} FROM doc_steps
                 WHERE flow = ?1 AND key = ?2 AND version = ?3 ORDER BY id"
            ))?;
            let rows = stmt.query_map([flow, key, version], step_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn step_history(&self, flow: &str, key: &str, name: &str) -> Result<Vec<StepRecord>> {
        let (flow, key, name) = (flow.to_owned(), key.to_owned(), name.to_owned());
        self.call("step_history", move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {STEP_COLS} FROM doc_steps
                 WHERE flow = ?1 AND key = ?2 AND name = ?3 ORDER BY id"
            ))?;
            let rows = stmt.query_map([flow, key, name], step_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn begin_run(&self, flow: &str) -> Result<RunId> {
        let flow = flow.to_owned();
        self.call("begin_run", move |c| {
            c.execute(
                "INSERT INTO runs (flow, started) VALUES (?1, ?2)",
                params![flow, ts(&Utc::now())],
            )?;
            Ok(c.last_insert_rowid() as RunId)
        })
        .await
    }

    async fn finish_run(
        &self,
        id: RunId,
        counts: &RunCounts,
        report: &serde_json::Value,
    ) -> Result<()> {
        let (counts, report) = (to_json(counts)?, to_json(report)?);
        self.call("finish_run", move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let finished: Option<Option<String>> = tx
                .query_row(
                    "SELECT finished FROM runs WHERE id = ?1",
                    [id as i64],
                    |r| r.get(0),
                )
                .optional()?;
            match finished {
                None => return Err(Error::State(format!("no run {id}"))),
                Some(Some(_)) => return Err(Error::State(format!("run {id} already finished"))),
                Some(None) => {}
            }
            tx.execute(
                "UPDATE runs SET finished = ?2, counts = ?3, report = ?4 WHERE id = ?1",
                params![id as i64, ts(&Utc::now()), counts, report],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn runs(&self, flow: &str) -> Result<Vec<RunRecord>> {
        let flow = flow.to_owned();
        self.call("runs", move |c| {
            let mut stmt = c.prepare(
                "SELECT id, flow, started, finished, counts, report FROM runs
                 WHERE flow = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([flow], |r| {
                let counts: String = r.get(4)?;
                Ok(RunRecord {
                    id: r.get::<_, i64>(0)? as RunId,
                    flow: r.get(1)?,
                    started: parse_time(r.get(2)?)?,
                    finished: opt_time(r.get(3)?)?,
                    counts: serde_json::from_str(&counts).map_err(|e| bad("run counts", e))?,
                    report: json(r.get(5)?)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn claim(
        &self,
        flow: &str,
        key: &str,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<ClaimOutcome> {
        let (flow, key) = owned(flow, key);
        let owner = owner.to_owned();
        self.call("claim", move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let token = match get_claim(&tx, &flow, &key)? {
                Some((claim, true)) if claim.lease_until > now => {
                    return Ok(ClaimOutcome::Held(claim))
                }
                Some((claim, _)) => claim.token + 1,
                None => 1,
            };
            let claim = Claim {
                flow,
                key,
                owner,
                token,
                lease_until: lease_end(now, lease),
            };
            tx.execute(
                "INSERT INTO claims (flow, key, owner, token, lease_until, held)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1)
                 ON CONFLICT (flow, key) DO UPDATE SET owner = excluded.owner,
                     token = excluded.token, lease_until = excluded.lease_until, held = 1",
                params![
                    claim.flow,
                    claim.key,
                    claim.owner,
                    claim.token as i64,
                    ts(&claim.lease_until)
                ],
            )?;
            tx.commit()?;
            Ok(ClaimOutcome::Claimed(claim))
        })
        .await
    }

    async fn renew_claim(
        &self,
        flow: &str,
        key: &str,
        owner: &str,
        token: u64,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let (flow, key) = owned(flow, key);
        let owner = owner.to_owned();
        self.call("renew_claim", move |c| {
            let n = c.execute(
                "UPDATE claims SET lease_until = ?5
                 WHERE flow = ?1 AND key = ?2 AND owner = ?3 AND token = ?4 AND held = 1",
                params![flow, key, owner, token as i64, ts(&lease_end(now, lease))],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn release_claim(&self, flow: &str, key: &str, owner: &str, token: u64) -> Result<bool> {
        let (flow, key) = owned(flow, key);
        let owner = owner.to_owned();
        self.call("release_claim", move |c| {
            let n = c.execute(
                "UPDATE claims SET held = 0
                 WHERE flow = ?1 AND key = ?2 AND owner = ?3 AND token = ?4 AND held = 1",
                params![flow, key, owner, token as i64],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn current_claim(&self, flow: &str, key: &str) -> Result<Option<Claim>> {
        let (flow, key) = owned(flow, key);
        self.call("current_claim", move |c| {
            Ok(get_claim(c, &flow, &key)?
                .filter(|(_, held)| *held)
                .map(|(claim, _)| claim))
        })
        .await
    }

    async fn partition_checkpoint(
        &self,
        flow: &str,
        partition: &str,
    ) -> Result<Option<PartitionCheckpoint>> {
        let (flow, partition) = owned(flow, partition);
        self.call("partition_checkpoint", move |c| {
            Ok(c.query_row(
                "SELECT checkpoint, version, updated FROM partition_checkpoints
                 WHERE flow = ?1 AND partition = ?2",
                [flow, partition],
                |r| {
                    Ok(PartitionCheckpoint {
                        checkpoint: Checkpoint(r.get(0)?),
                        version: r.get::<_, i64>(1)? as u64,
                        updated: parse_time(r.get(2)?)?,
                    })
                },
            )
            .optional()?)
        })
        .await
    }

    async fn swap_checkpoint(
        &self,
        flow: &str,
        partition: &str,
        expected: Option<u64>,
        checkpoint: &Checkpoint,
    ) -> Result<CasOutcome> {
        let (flow, partition) = owned(flow, partition);
        let cp = checkpoint.0.clone();
        self.call("swap_checkpoint", move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let current: Option<u64> = tx
                .query_row(
                    "SELECT version FROM partition_checkpoints WHERE flow = ?1 AND partition = ?2",
                    [&flow, &partition],
                    |r| r.get::<_, i64>(0),
                )
                .optional()?
                .map(|v| v as u64);
            if current != expected {
                return Ok(CasOutcome::Stale(current));
            }
            let version = current.unwrap_or(0) + 1;
            tx.execute(
                "INSERT INTO partition_checkpoints (flow, partition, checkpoint, version, updated)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (flow, partition) DO UPDATE SET checkpoint = excluded.checkpoint,
                     version = excluded.version, updated = excluded.updated",
                params![flow, partition, cp, version as i64, ts(&Utc::now())],
            )?;
            tx.commit()?;
            Ok(CasOutcome::Stored(version))
        })
        .await
    }

    async fn add_to_job(&self, flow: &str, job: &str, key: &str) -> Result<()> {
        let (flow, job) = owned(flow, job);
        let key = key.to_owned();
        self.call("add_to_job", move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "INSERT OR IGNORE INTO jobs (flow, job, created) VALUES (?1, ?2, ?3)",
                params![flow, job, ts(&Utc::now())],
            )?;
            tx.execute(
                "INSERT OR IGNORE INTO job_members (flow, job, key) VALUES (?1, ?2, ?3)",
                params![flow, job, key],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn finish_job_listing(&self, flow: &str, job: &str) -> Result<()> {
        let (flow, job) = owned(flow, job);
        self.call("finish_job_listing", move |c| {
            let now = ts(&Utc::now());
            c.execute(
                "INSERT INTO jobs (flow, job, listing_finished, created) VALUES (?1, ?2, ?3, ?3)
                 ON CONFLICT (flow, job) DO UPDATE SET
                     listing_finished = COALESCE(jobs.listing_finished, excluded.listing_finished)",
                params![flow, job, now],
            )?;
            Ok(())
        })
        .await
    }

    async fn job(&self, flow: &str, job: &str) -> Result<Option<Job>> {
        let (flow, job) = owned(flow, job);
        self.call("job", move |c| {
            Ok(c.query_row(
                "SELECT flow, job, listing_finished, created FROM jobs
                 WHERE flow = ?1 AND job = ?2",
                [flow, job],
                |r| {
                    Ok(Job {
                        flow: r.get(0)?,
                        job: r.get(1)?,
                        listing_finished: opt_time(r.get(2)?)?,
                        created: parse_time(r.get(3)?)?,
                    })
                },
            )
            .optional()?)
        })
        .await
    }

    async fn job_members(&self, flow: &str, job: &str) -> Result<Vec<String>> {
        let (flow, job) = owned(flow, job);
        self.call("job_members", move |c| {
            let mut stmt =
                c.prepare("SELECT key FROM job_members WHERE flow = ?1 AND job = ?2 ORDER BY key")?;
            let rows = stmt.query_map([flow, job], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn job_barrier(&self, flow: &str, job: &str) -> Result<JobBarrier> {
        let (flow, job) = owned(flow, job);
        self.call("job_barrier", move |c| {
            let tx = c.transaction()?;
            let listing_finished = tx
                .query_row(
                    "SELECT listing_finished IS NOT NULL FROM jobs WHERE flow = ?1 AND job = ?2",
                    [&flow, &job],
                    |r| r.get::<_, bool>(0),
                )
                .optional()?
                .unwrap_or(false);
            let mut stmt = tx.prepare(
                "SELECT r.status, COUNT(*) FROM job_members m
                 LEFT JOIN records r ON r.flow = m.flow AND r.key = m.key
                 WHERE m.flow = ?1 AND m.job = ?2 GROUP BY r.status",
            )?;
            let rows = stmt.query_map([&flow, &job], |r| {
                Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)? as u64))
            })?;
            let mut barrier = JobBarrier {
                listing_finished,
                members: 0,
                unrecorded: 0,
                counts: BTreeMap::new(),
            };
            for row in rows {
                let (st, n) = row?;
                barrier.members += n;
                match st {
                    Some(st) => {
                        barrier.counts.insert(st.parse()?, n);
                    }
                    None => barrier.unrecorded += n,
                }
            }
            Ok(barrier)
        })
        .await
    }
}
