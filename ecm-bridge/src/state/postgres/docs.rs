//! [`DocumentStore`] for [`PostgresStore`]. The conditional writes:
//!
//! - `claim`: one `INSERT … ON CONFLICT DO UPDATE … WHERE` the stored claim is released or
//!   its lease has ended; the token goes up in the same statement. Of two claimers at once, the
//!   second's statement sees the first's committed row and updates nothing.
//! - `begin_step`: one `INSERT … ON CONFLICT DO UPDATE … WHERE state = 'failed'`.
//! - `swap_checkpoint`: one `INSERT … ON CONFLICT DO NOTHING` (expecting none) or one
//!   `UPDATE … WHERE version = expected`.
//! - a fenced `save_record`: one transaction that reads the claim `FOR SHARE` before writing,
//!   so a takeover of the key (which updates that row) waits until the save has committed.
//!
//! A refused conditional write is followed by a plain read of what is there, to answer with it;
//! when that read finds the condition gone (the holder released in between), the write is
//! tried again.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio_postgres::IsolationLevel;

use super::rows::{
    big, claim_row, get_claim, get_step, history_row, json, opt_time, query_records, settled,
    step_row, to_json, ubig, CLAIM_COLS, HISTORY_COLS, RECORD_COLS, STEP_COLS,
};
use super::{call, insert_audit, int, parse_time, ts, Fail, PostgresStore};
use crate::error::Result;
use crate::model::{Checkpoint, DocRef};
use crate::state::document::lease_end;
use crate::state::records::{
    fold_path, BeginStep, CasOutcome, ClaimOutcome, DocRecord, DocStatus, HistoryEntry, Job,
    JobBarrier, PartitionCheckpoint, RunCounts, RunId, RunRecord, StepRecord, StepState,
};
use crate::state::AuditEntry;
use crate::state::DocumentStore;

/// How often a refused conditional write is tried again when the state that refused it is
/// gone by the time it is read (each retry needs another worker to change the row in between).
const RETRIES: usize = 16;

#[async_trait]
impl DocumentStore for PostgresStore {
    async fn save_record_audited(
        &self,
        record: &DocRecord,
        fence: Option<u64>,
        audit: &[AuditEntry],
    ) -> Result<bool> {
        call("save_record", async {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            let key = record.key();
            if let Some(token) = fence {
                let row = tx
                    .query_opt(
                        "SELECT held, token FROM claims WHERE flow = $1 AND key = $2 FOR SHARE",
                        &[&record.flow, &key],
                    )
                    .await?;
                let current = row
                    .map(|r| Ok::<_, Fail>((r.try_get::<_, bool>(0)?, r.try_get::<_, i64>(1)?)))
                    .transpose()?;
                if current != Some((true, big(token))) {
                    return Ok(false);
                }
            }
            let size = record.size.map(big);
            let hash = record.hash.as_ref().map(ToString::to_string);
            let target = record.target.as_ref().map(DocRef::marker);
            let next_check = record.next_check.as_ref().map(ts);
            let context = record.context.as_ref().map(to_json).transpose()?;
            tx.execute(
                &format!(
                    "INSERT INTO records ({RECORD_COLS}, key)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                             $16, $18, $17)
                     ON CONFLICT (flow, key) DO UPDATE SET source = excluded.source,
                         path = excluded.path, path_lower = excluded.path_lower,
                         size = excluded.size, hash = excluded.hash, target = excluded.target,
                         location = excluded.location, sink = excluded.sink,
                         status = excluded.status, attempts = excluded.attempts,
                         last_error = excluded.last_error, run = excluded.run,
                         next_check = excluded.next_check, updated = excluded.updated,
                         context = excluded.context"
                ),
                &[
                    &record.flow,
                    &record.source.marker(),
                    &record.path,
                    &record.index_path(),
                    &size,
                    &hash,
                    &target,
                    &record.location,
                    &record.sink,
                    &record.status.as_str(),
                    &int(record.attempts),
                    &record.last_error,
                    &big(record.run),
                    &next_check,
                    &ts(&record.created),
                    &ts(&record.updated),
                    &key,
                    &context,
                ],
            )
            .await?;
            let marker = record.source.marker();
            tx.execute(
                "DELETE FROM history WHERE flow = $1 AND key = $2 AND source = $3 AND run = $4",
                &[&record.flow, &key, &marker, &big(record.run)],
            )
            .await?;
            tx.execute(
                "INSERT INTO history (flow, key, source, target, status, run, time)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &record.flow,
                    &key,
                    &marker,
                    &target,
                    &record.status.as_str(),
                    &big(record.run),
                    &ts(&record.updated),
                ],
            )
            .await?;
            for entry in audit {
                insert_audit(&tx, entry).await?;
            }
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn record(&self, flow: &str, key: &str) -> Result<Option<DocRecord>> {
        call("record", async {
            let c = self.client().await?;
            let mut found = query_records(&c, "flow = $1 AND key = $2", &[&flow, &key]).await?;
            Ok(found.pop())
        })
        .await
    }

    async fn records_by_status(&self, flow: &str, status: DocStatus) -> Result<Vec<DocRecord>> {
        call("records_by_status", async {
            let c = self.client().await?;
            query_records(
                &c,
                "flow = $1 AND status = $2 ORDER BY key",
                &[&flow, &status.as_str()],
            )
            .await
        })
        .await
    }

    async fn due_checks(&self, flow: &str, now: DateTime<Utc>) -> Result<Vec<DocRecord>> {
        call("due_checks", async {
            let c = self.client().await?;
            query_records(
                &c,
                "flow = $1 AND status = 'awaiting' AND next_check <= $2
                 ORDER BY next_check, key",
                &[&flow, &ts(&now)],
            )
            .await
        })
        .await
    }

    async fn records_under(&self, flow: &str, path: &str) -> Result<Vec<DocRecord>> {
        let prefix = fold_path(path);
        call("records_under", async {
            let c = self.client().await?;
            if prefix.is_empty() {
                return query_records(
                    &c,
                    "flow = $1 AND path_lower IS NOT NULL ORDER BY key",
                    &[&flow],
                )
                .await;
            }
            // In byte order (the column's "C" collation) `/` + 1 is `0`: the range is
            // everything that starts with `prefix/`, and uses the (flow, path_lower) index.
            query_records(
                &c,
                "flow = $1 AND (path_lower = $2
                     OR (path_lower >= $2 || '/' AND path_lower < $2 || '0'))
                 ORDER BY key",
                &[&flow, &prefix],
            )
            .await
        })
        .await
    }

    async fn history(&self, flow: &str, key: &str) -> Result<Vec<HistoryEntry>> {
        call("history", async {
            let c = self.client().await?;
            let rows = c
                .query(
                    &format!(
                        "SELECT {HISTORY_COLS} FROM history WHERE flow = $1 AND key = $2
                         ORDER BY id"
                    ),
                    &[&flow, &key],
                )
                .await?;
            rows.iter().map(history_row).collect()
        })
        .await
    }

    async fn after_run(&self, flow: &str, run: RunId) -> Result<Vec<HistoryEntry>> {
        call("after_run", async {
            let c = self.client().await?;
            let rows = c
                .query(
                    &format!(
                        "SELECT {HISTORY_COLS} FROM history h
                         WHERE flow = $1 AND id = (
                             SELECT id FROM history l
                             WHERE l.flow = h.flow AND l.key = h.key AND l.run <= $2
                               AND l.status = ANY($3)
                             ORDER BY l.run DESC, l.id DESC LIMIT 1)
                         ORDER BY key"
                    ),
                    &[&flow, &big(run), &settled()],
                )
                .await?;
            rows.iter().map(history_row).collect()
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
        call("begin_step", async {
            let c = self.client().await?;
            for _ in 0..RETRIES {
                let began = c
                    .query_opt(
                        &format!(
                            "INSERT INTO doc_steps (flow, key, version, name, state, attempts,
                                                    started)
                             VALUES ($1, $2, $3, $4, 'started', 1, $5)
                             ON CONFLICT (flow, key, version, name) DO UPDATE SET
                                 state = 'started', error = NULL, finished = NULL,
                                 attempts = doc_steps.attempts + 1, started = excluded.started
                             WHERE doc_steps.state IN ('failed', 'awaiting')
                             RETURNING {STEP_COLS}"
                        ),
                        &[&flow, &key, &version, &name, &ts(&Utc::now())],
                    )
                    .await?;
                if let Some(row) = began {
                    return Ok(BeginStep::Began(step_row(&row)?));
                }
                match get_step(&c, flow, key, version, name).await? {
                    Some(step)
                        if !matches!(step.state, StepState::Failed | StepState::Awaiting) =>
                    {
                        return Ok(BeginStep::Exists(step))
                    }
                    // Failed or awaiting (or gone) since the insert looked: begin it now.
                    _ => continue,
                }
            }
            Err(Fail("the step kept changing while it was begun".into()))
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
        call("finish_step", async {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            let n = tx
                .execute(
                    "UPDATE doc_steps SET state = 'done', output = $5, error = NULL, finished = $6
                     WHERE flow = $1 AND key = $2 AND version = $3 AND name = $4
                       AND state <> 'done'",
                    &[
                        &flow,
                        &key,
                        &version,
                        &name,
                        &to_json(output)?,
                        &ts(&Utc::now()),
                    ],
                )
                .await?;
            if n == 1 {
                for entry in audit {
                    insert_audit(&tx, entry).await?;
                }
            }
            tx.commit().await?;
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
        call("fail_step", async {
            let c = self.client().await?;
            let n = c
                .execute(
                    "UPDATE doc_steps SET state = 'failed', error = $5, finished = $6
                     WHERE flow = $1 AND key = $2 AND version = $3 AND name = $4
                       AND state = 'started'",
                    &[&flow, &key, &version, &name, &error, &ts(&Utc::now())],
                )
                .await?;
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
        call("await_step", async {
            let c = self.client().await?;
            let n = c
                .execute(
                    "UPDATE doc_steps SET state = 'awaiting', output = $5, error = NULL,
                         finished = NULL
                     WHERE flow = $1 AND key = $2 AND version = $3 AND name = $4
                       AND state = 'started'",
                    &[&flow, &key, &version, &name, &to_json(output)?],
                )
                .await?;
            Ok(n == 1)
        })
        .await
    }

    async fn steps(&self, flow: &str, key: &str, version: &str) -> Result<Vec<StepRecord>> {
        call("steps", async {
            let c = self.client().await?;
            let rows = c
                .query(
                    &format!(
                        "SELECT {STEP_COLS} FROM doc_steps
                         WHERE flow = $1 AND key = $2 AND version = $3 ORDER BY id"
                    ),
                    &[&flow, &key, &version],
                )
                .await?;
            rows.iter().map(step_row).collect()
        })
        .await
    }

    async fn step_history(&self, flow: &str, key: &str, name: &str) -> Result<Vec<StepRecord>> {
        call("step_history", async {
            let c = self.client().await?;
            let rows = c
                .query(
                    &format!(
                        "SELECT {STEP_COLS} FROM doc_steps
                         WHERE flow = $1 AND key = $2 AND name = $3 ORDER BY id"
                    ),
                    &[&flow, &key, &name],
                )
                .await?;
            rows.iter().map(step_row).collect()
        })
        .await
    }

    async fn begin_run(&self, flow: &str) -> Result<RunId> {
        call("begin_run", async {
            let c = self.client().await?;
            let row = c
                .query_one(
                    "INSERT INTO runs (flow, started) VALUES ($1, $2) RETURNING id",
                    &[&flow, &ts(&Utc::now())],
                )
                .await?;
            Ok(ubig(row.try_get(0)?))
        })
        .await
    }

    async fn finish_run(
        &self,
        id: RunId,
        counts: &RunCounts,
        report: &serde_json::Value,
    ) -> Result<()> {
        call("finish_run", async {
            let c = self.client().await?;
            let n = c
                .execute(
                    "UPDATE runs SET finished = $2, counts = $3, report = $4
                     WHERE id = $1 AND finished IS NULL",
                    &[
                        &big(id),
                        &ts(&Utc::now()),
                        &to_json(counts)?,
                        &to_json(report)?,
                    ],
                )
                .await?;
            if n == 1 {
                return Ok(());
            }
            let known = c
                .query_opt("SELECT 1 FROM runs WHERE id = $1", &[&big(id)])
                .await?;
            Err(Fail(match known {
                Some(_) => format!("run {id} already finished"),
                None => format!("no run {id}"),
            }))
        })
        .await
    }

    async fn runs(&self, flow: &str) -> Result<Vec<RunRecord>> {
        call("runs", async {
            let c = self.client().await?;
            let rows = c
                .query(
                    "SELECT id, flow, started, finished, counts, report FROM runs
                     WHERE flow = $1 ORDER BY id",
                    &[&flow],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    let counts: &str = r.try_get(4)?;
                    Ok(RunRecord {
                        id: ubig(r.try_get(0)?),
                        flow: r.try_get(1)?,
                        started: parse_time(r.try_get(2)?)?,
                        finished: opt_time(r.try_get(3)?)?,
                        counts: serde_json::from_str(counts)
                            .map_err(|e| super::bad("run counts", e))?,
                        report: json(r.try_get(5)?)?,
                    })
                })
                .collect()
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
        call("claim", async {
            let c = self.client().await?;
            let until = ts(&lease_end(now, lease));
            for _ in 0..RETRIES {
                let claimed = c
                    .query_opt(
                        &format!(
                            "INSERT INTO claims ({CLAIM_COLS}) VALUES ($1, $2, $3, 1, $4, TRUE)
                             ON CONFLICT (flow, key) DO UPDATE SET owner = excluded.owner,
                                 token = claims.token + 1, lease_until = excluded.lease_until,
                                 held = TRUE
                             WHERE NOT claims.held OR claims.lease_until <= $5
                             RETURNING {CLAIM_COLS}"
                        ),
                        &[&flow, &key, &owner, &until, &ts(&now)],
                    )
                    .await?;
                if let Some(row) = claimed {
                    return Ok(ClaimOutcome::Claimed(claim_row(&row)?.0));
                }
                match get_claim(&c, flow, key).await? {
                    Some((claim, true)) if claim.lease_until > now => {
                        return Ok(ClaimOutcome::Held(claim))
                    }
                    // Released (or gone) since the insert looked: claim it now.
                    _ => continue,
                }
            }
            Err(Fail("the claim kept changing while it was claimed".into()))
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
        call("renew_claim", async {
            let c = self.client().await?;
            let n = c
                .execute(
                    "UPDATE claims SET lease_until = $5
                     WHERE flow = $1 AND key = $2 AND owner = $3 AND token = $4 AND held",
                    &[
                        &flow,
                        &key,
                        &owner,
                        &big(token),
                        &ts(&lease_end(now, lease)),
                    ],
                )
                .await?;
            Ok(n == 1)
        })
        .await
    }

    async fn release_claim(&self, flow: &str, key: &str, owner: &str, token: u64) -> Result<bool> {
        call("release_claim", async {
            let c = self.client().await?;
            let n = c
                .execute(
                    "UPDATE claims SET held = FALSE
                     WHERE flow = $1 AND key = $2 AND owner = $3 AND token = $4 AND held",
                    &[&flow, &key, &owner, &big(token)],
                )
                .await?;
            Ok(n == 1)
        })
        .await
    }

    async fn current_claim(&self, flow: &str, key: &str) -> Result<Option<crate::state::Claim>> {
        call("current_claim", async {
            let c = self.client().await?;
            Ok(get_claim(&c, flow, key)
                .await?
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
        call("partition_checkpoint", async {
            let c = self.client().await?;
            let row = c
                .query_opt(
                    "SELECT checkpoint, version, updated FROM partition_checkpoints
                     WHERE flow = $1 AND partition = $2",
                    &[&flow, &partition],
                )
                .await?;
            row.map(|r| {
                Ok(PartitionCheckpoint {
                    checkpoint: Checkpoint(r.try_get(0)?),
                    version: ubig(r.try_get(1)?),
                    updated: parse_time(r.try_get(2)?)?,
                })
            })
            .transpose()
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
        call("swap_checkpoint", async {
            let c = self.client().await?;
            let now = ts(&Utc::now());
            let stored = match expected {
                None => {
                    c.query_opt(
                        "INSERT INTO partition_checkpoints
                             (flow, partition, checkpoint, version, updated)
                         VALUES ($1, $2, $3, 1, $4) ON CONFLICT DO NOTHING RETURNING version",
                        &[&flow, &partition, &checkpoint.0, &now],
                    )
                    .await?
                }
                Some(v) => {
                    c.query_opt(
                        "UPDATE partition_checkpoints
                         SET checkpoint = $3, version = version + 1, updated = $4
                         WHERE flow = $1 AND partition = $2 AND version = $5 RETURNING version",
                        &[&flow, &partition, &checkpoint.0, &now, &big(v)],
                    )
                    .await?
                }
            };
            if let Some(row) = stored {
                return Ok(CasOutcome::Stored(ubig(row.try_get(0)?)));
            }
            let current = c
                .query_opt(
                    "SELECT version FROM partition_checkpoints WHERE flow = $1 AND partition = $2",
                    &[&flow, &partition],
                )
                .await?
                .map(|r| r.try_get::<_, i64>(0).map(ubig))
                .transpose()?;
            Ok(CasOutcome::Stale(current))
        })
        .await
    }

    async fn add_to_job(&self, flow: &str, job: &str, key: &str) -> Result<()> {
        call("add_to_job", async {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            tx.execute(
                "INSERT INTO jobs (flow, job, created) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&flow, &job, &ts(&Utc::now())],
            )
            .await?;
            tx.execute(
                "INSERT INTO job_members (flow, job, key) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&flow, &job, &key],
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn finish_job_listing(&self, flow: &str, job: &str) -> Result<()> {
        call("finish_job_listing", async {
            let c = self.client().await?;
            c.execute(
                "INSERT INTO jobs (flow, job, listing_finished, created) VALUES ($1, $2, $3, $3)
                 ON CONFLICT (flow, job) DO UPDATE SET
                     listing_finished = COALESCE(jobs.listing_finished, excluded.listing_finished)",
                &[&flow, &job, &ts(&Utc::now())],
            )
            .await?;
            Ok(())
        })
        .await
    }

    async fn job(&self, flow: &str, job: &str) -> Result<Option<Job>> {
        call("job", async {
            let c = self.client().await?;
            let row = c
                .query_opt(
                    "SELECT flow, job, listing_finished, created FROM jobs
                     WHERE flow = $1 AND job = $2",
                    &[&flow, &job],
                )
                .await?;
            row.map(|r| {
                Ok(Job {
                    flow: r.try_get(0)?,
                    job: r.try_get(1)?,
                    listing_finished: opt_time(r.try_get(2)?)?,
                    created: parse_time(r.try_get(3)?)?,
                })
            })
            .transpose()
        })
        .await
    }

    async fn job_members(&self, flow: &str, job: &str) -> Result<Vec<String>> {
        call("job_members", async {
            let c = self.client().await?;
            let rows = c
                .query(
                    "SELECT key FROM job_members WHERE flow = $1 AND job = $2 ORDER BY key",
                    &[&flow, &job],
                )
                .await?;
            Ok(rows
                .iter()
                .map(|r| r.try_get(0))
                .collect::<std::result::Result<_, _>>()?)
        })
        .await
    }

    async fn job_barrier(&self, flow: &str, job: &str) -> Result<JobBarrier> {
        call("job_barrier", async {
            let mut c = self.client().await?;
            // One snapshot for the listing flag and the members' statuses.
            let tx = c
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let listing_finished = tx
                .query_opt(
                    "SELECT listing_finished IS NOT NULL FROM jobs WHERE flow = $1 AND job = $2",
                    &[&flow, &job],
                )
                .await?
                .map(|r| r.try_get::<_, bool>(0))
                .transpose()?
                .unwrap_or(false);
            let rows = tx
                .query(
                    "SELECT r.status, COUNT(*) FROM job_members m
                     LEFT JOIN records r ON r.flow = m.flow AND r.key = m.key
                     WHERE m.flow = $1 AND m.job = $2 GROUP BY r.status",
                    &[&flow, &job],
                )
                .await?;
            tx.commit().await?;
            let mut barrier = JobBarrier {
                listing_finished,
                members: 0,
                unrecorded: 0,
                counts: BTreeMap::new(),
            };
            for r in &rows {
                let st: Option<&str> = r.try_get(0)?;
                let n = ubig(r.try_get(1)?);
                barrier.members += n;
                match st {
                    Some(st) => {
                        barrier.counts.insert(super::rows::status(st)?, n);
                    }
                    None => barrier.unrecorded += n,
                }
            }
            Ok(barrier)
        })
        .await
    }
}
