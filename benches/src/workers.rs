//! Several workers: the small-file archive (`archive_on_approval`, the files [`crate::archive`]
//! seeds) shared by 1, 2 and 4 worker *processes* ([`ecm_bridge::runner::Flow::work`]) on one
//! PostgreSQL store, each worker at the same concurrency. The harness starts the workers as
//! children of its own binary (`harness worker …`), each with its own clients and store pool,
//! as separate machines would run them; the sandbox stays in the harness process, so the CPU
//! time of the servers (the harness) and of the workers (each child reports its own) are told
//! apart.

use std::process::Stdio;
use std::time::{Duration, Instant};

use ecm_bridge::flows::archive_on_approval::{Approval, ArchiveOnApproval, Marking};
use ecm_bridge::rules::Rules;
use ecm_bridge::state::{PostgresOptions, PostgresStore};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncBufReadExt;

use crate::archive::{RULES, SOURCE_ROOT};
use crate::env::{cs_client, dropbox_client, Bench, Counts};
use crate::{ctx, Result};

/// What one worker process reports (one JSON line on stdout).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerOut {
    /// Documents it claimed and settled.
    pub taken: usize,
    /// Documents it gave up (fenced).
    pub fenced: usize,
    /// CPU seconds (user + system) the worker process used.
    pub cpu_secs: Option<f64>,
}

/// One timed run of `workers` processes over every seeded file.
#[derive(Debug, Clone)]
pub struct Run {
    /// Worker processes.
    pub workers: usize,
    /// Files archived.
    pub files: usize,
    /// From the first worker's start to the last one's end (process start and store
    /// connection included).
    pub elapsed: Duration,
    /// Requests on both servers during the run.
    pub counts: Counts,
    /// CPU seconds of the harness process (both servers of the sandbox) during the run.
    pub sandbox_cpu: Option<f64>,
    /// CPU seconds of all worker processes together.
    pub workers_cpu: Option<f64>,
    /// CPU seconds of the PostgreSQL server on this machine (all `postgres` processes, with
    /// the ended backends the postmaster reaped); `None` when it is elsewhere or off Linux.
    pub store_cpu: Option<f64>,
    /// Documents taken, over all workers (at least `files`).
    pub taken: usize,
}

impl Run {
    /// Files per second.
    pub fn files_per_sec(&self) -> f64 {
        self.files as f64 / self.elapsed.as_secs_f64()
    }

    /// Requests per second at the sandbox (both servers).
    pub fn requests_per_sec(&self) -> f64 {
        self.counts.total() as f64 / self.elapsed.as_secs_f64()
    }

    /// Cores kept busy by the sandbox, the workers and the PostgreSQL server (CPU seconds
    /// per wall second).
    pub fn cores(&self) -> [Option<f64>; 3] {
        let wall = self.elapsed.as_secs_f64();
        [self.sandbox_cpu, self.workers_cpu, self.store_cpu].map(|c| c.map(|c| c / wall))
    }
}

/// What a worker process needs to know (the `harness worker` arguments).
#[derive(Debug, Clone)]
pub struct WorkerArgs {
    /// The Dropbox base URL.
    pub dropbox: String,
    /// The Content Server base URL.
    pub cs: String,
    /// The PostgreSQL server.
    pub pg: String,
    /// The store's schema (one per run).
    pub schema: String,
    /// The worker's id.
    pub id: String,
    /// Documents at once in this worker.
    pub concurrency: usize,
    /// The CS folder under the Enterprise Workspace, and the Dropbox tag (one per run).
    pub label: String,
}

/// The flow every worker of a run builds: the small-file archive of [`crate::archive::flow`],
/// into `Bench-{label}` with the tag `archived_{label}`.
pub async fn worker(a: &WorkerArgs) -> Result<WorkerOut> {
    let options = PostgresOptions {
        schema: Some(a.schema.clone()),
        pool_size: a.concurrency.max(2),
    };
    let store = ctx(
        PostgresStore::connect_with(&a.pg, &options).await,
        "connecting the store",
    )?;
    let flow = ctx(
        ArchiveOnApproval::new(
            dropbox_client(&a.dropbox)?,
            cs_client(&a.cs)?,
            std::sync::Arc::new(store),
        )
        .source_root(SOURCE_ROOT)
        .approval(Approval::default().folder("**/Approved"))
        .cs_folder(None, format!("Bench-{}", a.label))
        .rules(ctx(Rules::from_toml(RULES), "the bench rules")?)
        .marking(Marking::default().tag(format!("archived_{}", a.label)))
        .concurrency(a.concurrency)
        .build(),
        "building the flow",
    )?;
    let cpu = crate::cpu_secs();
    let out = ctx(flow.work(a.id.clone()).until_drained().await, "working")?;
    Ok(WorkerOut {
        taken: out.taken,
        fenced: out.fenced,
        cpu_secs: crate::cpu_secs().zip(cpu).map(|(b, a)| b - a),
    })
}

/// Runs `workers` worker processes (`exe worker …`) at `concurrency` each over the `files`
/// seeded files, on a new schema of the server at `pg`, and waits for them all.
pub async fn run(
    bench: &Bench,
    exe: &std::path::Path,
    pg: &str,
    workers: usize,
    concurrency: usize,
    files: usize,
) -> Result<Run> {
    let schema = format!(
        "bench_w{workers}_{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp_subsec_micros()
    );
    let label = format!("w{workers}");
    // The schema is migrated here, once, before the workers connect.
    let options = PostgresOptions {
        schema: Some(schema.clone()),
        pool_size: 1,
    };
    drop(ctx(
        PostgresStore::connect_with(pg, &options).await,
        "creating the bench schema",
    )?);
    bench.reset_stats().await?;
    let cpu = crate::cpu_secs();
    let pg_cpu = postgres_cpu();
    let started = Instant::now();
    let mut children = Vec::new();
    for i in 0..workers {
        let child = tokio::process::Command::new(exe)
            .args(["worker", "--dropbox", &bench.dropbox_url(), "--cs"])
            .arg(bench.cs_url())
            .args(["--pg", pg, "--schema", &schema, "--id"])
            .arg(format!("w{i}"))
            .args(["--concurrency", &concurrency.to_string(), "--label", &label])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn();
        children.push(ctx(child, "starting a worker process")?);
    }
    let mut outs = Vec::new();
    for mut child in children {
        let stdout = child.stdout.take().ok_or("a worker without stdout")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = ctx(lines.next_line().await, "reading a worker's report")?;
        let status = ctx(child.wait().await, "waiting for a worker")?;
        let line = line.filter(|_| status.success()).ok_or_else(|| {
            format!("a worker of the {workers}-worker run failed ({status}); its stderr is above")
        })?;
        let out: WorkerOut = ctx(serde_json::from_str(&line), "a worker's report")?;
        outs.push(out);
    }
    let elapsed = started.elapsed();
    let sandbox_cpu = crate::cpu_secs().zip(cpu).map(|(b, a)| b - a);
    let store_cpu = postgres_cpu().zip(pg_cpu).map(|(b, a)| b - a);
    let counts = bench.stats().await?;
    let taken = outs.iter().map(|o| o.taken).sum();
    if taken < files {
        return Err(format!("{workers} workers: {taken} documents taken of {files}").into());
    }
    let workers_cpu = outs.iter().map(|o| o.cpu_secs).sum::<Option<f64>>();
    Ok(Run {
        workers,
        files,
        elapsed,
        counts,
        sandbox_cpu,
        workers_cpu,
        store_cpu,
        taken,
    })
}

/// CPU seconds of every process named `postgres` on this machine (utime + stime, and for the
/// postmaster cutime + cstime: its ended backends), from `/proc`; `None` when there is none.
fn postgres_cpu() -> Option<f64> {
    let mut ticks = 0u64;
    let mut found = false;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if &stat[open + 1..close] != "postgres" {
            continue;
        }
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        // utime, stime, cutime, cstime: fields 14 to 17 of the line, 12 to 15 of the rest.
        let n = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        ticks += n(11) + n(12) + n(13) + n(14);
        found = true;
    }
    found.then(|| ticks as f64 / 100.0)
}

/// The measure's name for `k` workers.
fn measure(k: usize, concurrency: usize) -> String {
    format!("several workers: {k} worker process(es), c={concurrency} each, PostgreSQL store")
}

/// The rows of the measure: one worker against its ideal, then 2 and 4 against one (goal:
/// 4 workers ≥ 3.5× one). Without a PostgreSQL server (`ECM_PG_URL` unset and no throwaway
/// cluster could be started) every row says so. `details` gets each run's figures.
pub async fn rows(
    bench: &Bench,
    exe: &std::path::Path,
    files: usize,
    concurrency: usize,
    levels: &[usize],
    latency: Duration,
    details: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<crate::table::Row>> {
    use crate::table::{per_sec, Row};
    let goal = |k: usize| {
        if k == 4 {
            "≥ 3.5× one worker"
        } else {
            "—"
        }
    };
    let Some(pg) = ecm_bridge::state::pg_testing::server_url("harness: several workers") else {
        return Ok(levels
            .iter()
            .map(|&k| {
                Row::not_measured(
                    measure(k, concurrency),
                    "no PostgreSQL (ECM_PG_URL unset, and no throwaway cluster could be started)",
                    goal(k),
                )
            })
            .collect());
    };
    let mut out = Vec::new();
    let mut one: Option<f64> = None;
    for &k in levels {
        let run = run(bench, exe, &pg, k, concurrency, files).await?;
        let fps = run.files_per_sec();
        let [sandbox, workers, store] = run.cores();
        let cores = |c: Option<f64>| c.map_or("?".into(), |c| format!("{c:.2}"));
        let figure = format!(
            "{}; sandbox {}; CPU cores: sandbox {}, workers {}, PostgreSQL {}",
            per_sec(fps, "files"),
            per_sec(run.requests_per_sec(), "req"),
            cores(sandbox),
            cores(workers),
            cores(store)
        );
        let rpf = run.counts.total() as f64 / files.max(1) as f64;
        details.insert(
            format!("workers_{k}"),
            serde_json::json!({
                "files": files,
                "elapsed_secs": run.elapsed.as_secs_f64(),
                "files_per_sec": fps,
                "requests_per_file": rpf,
                "requests_per_sec": run.requests_per_sec(),
                "sandbox_cores": sandbox,
                "workers_cores": workers,
                "postgres_cores": store,
                "taken": run.taken,
            }),
        );
        let row = match one {
            None => {
                one = Some(fps);
                let ideal = concurrency as f64 / (rpf * latency.as_secs_f64());
                Row::new(
                    measure(k, concurrency),
                    figure,
                    format!("ideal at c={concurrency}: {}", per_sec(ideal, "files")),
                    fps / ideal,
                )
            }
            Some(base) => {
                let row = Row::new(
                    measure(k, concurrency),
                    figure,
                    format!("1 worker: {}", per_sec(base, "files")),
                    fps / base,
                );
                if k == 4 {
                    row.at_least(3.5, goal(k))
                } else {
                    row
                }
            }
        };
        out.push(row);
    }
    Ok(out)
}
