//! Reliability proof (issue 15): the fault matrix and the kill test.
//!
//! **Fault matrix.** `archive_on_approval` archives a tree of files on the in-process sandbox
//! under each fault kind of [`reliability_support::KINDS`] (429 with `Retry-After`, 500, 502, 503, 504,
//! connection reset, a download cut short, a write that commits and loses its answer as a 502
//! or a reset, a stall past the clients' 1-second timeout, CS tickets expired, OAuth tokens
//! expired), alone and all mixed, at a low (3 %) and a high (12 %) rate, drawn from the
//! sandbox's seeded generator (`ECM_RELIABILITY_SEED`, default 15). Each run is rerun, as an
//! operator would, until nothing is pending; then the faults are removed and both sides are
//! read back ([`reliability_support::assert_end_state`]). One summary line per run.
//!
//! **Kill test.** The `archive_worker` binary runs the flow over a tree on a PostgreSQL store
//! and is killed with SIGKILL at seeded moments (a seeded number of documents settled since
//! the last kill: the store's state, not a timer) and restarted; the end state is the same.
//!
//! Short forms by default (20 files; each kind alone at the high rate, mixed at both; 100
//! files and 5 kills); `ECM_RELIABILITY_FULL=1` runs every kind at both rates over 100 files,
//! and the kill test over 500 files with 50 kills.

mod reliability_support;
mod support;

use std::sync::Arc;
use std::time::Instant;

use std::collections::BTreeMap;

use bytes::Bytes;
use ecm_bridge::flows::archive_on_approval::{Approval, ArchiveOnApproval, Marking};
use ecm_bridge::flows::backup::Backup;
use ecm_bridge::rules::Rules;
use ecm_bridge::runner::Flow;
use ecm_bridge::state::{DocStatus, MemoryStore, SqliteStore, Store};
use reliability_support::{Kind, CS_ROOT, FLOW, KINDS, ROOT, RULES};
use sandbox::SandboxConfig;
use support::backup as bk;

const LOW: f64 = 0.03;
const HIGH: f64 = 0.12;
/// Reruns after which a run that still has work pending fails the test.
const MAX_RUNS: usize = 40;

fn full() -> bool {
    std::env::var("ECM_RELIABILITY_FULL").is_ok_and(|v| v == "1")
}

fn seed_var() -> u64 {
    std::env::var("ECM_RELIABILITY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15)
}

fn flow(sandbox: &sandbox::Sandbox, store: Arc<dyn Store>) -> Flow {
    ArchiveOnApproval::new(
        reliability_support::dropbox(sandbox),
        reliability_support::cs(sandbox),
        store,
    )
    .source_root(ROOT)
    .approval(Approval::default().folder("**/Approved"))
    .cs_folder(None, CS_ROOT)
    .rules(Rules::from_toml(RULES).unwrap())
    .marking(Marking::default().tag("archived"))
    .concurrency(4)
    .retry(reliability_support::runner_retry())
    .build()
    .unwrap()
}

/// Whether anything is left for another run: a record not done.
async fn pending(store: &dyn Store) -> usize {
    let mut n = 0;
    for status in DocStatus::ALL {
        if status != DocStatus::Done {
            n += store.records_by_status(FLOW, status).await.unwrap().len();
        }
    }
    n
}

/// One cell of the matrix: `kinds` at `rate` over `n` files. Returns the faults fired.
async fn cell(kinds: &[Kind], rate: f64, n: usize, seed: u64) -> u64 {
    let label = if kinds.len() == 1 {
        kinds[0].label()
    } else {
        "mixed".to_owned()
    };
    let what = format!("{label} at {:.0} %", rate * 100.0);
    let sandbox = sandbox::start(SandboxConfig::new().fault_seed(seed))
        .await
        .unwrap();
    reliability_support::seed(&sandbox, n).await;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("state.db")).unwrap());
    let base = sandbox.dropbox_stats().total() + sandbox.contentserver_stats().total();
    // Mixed, the rate is shared among the kinds: a request meets some fault with about
    // `rate` (all twelve at `rate` each would fault three requests in four).
    reliability_support::install(&sandbox, kinds, rate / kinds.len() as f64);
    let started = Instant::now();
    let flow = flow(&sandbox, store.clone());
    let mut runs = 0;
    let mut errors = 0;
    loop {
        runs += 1;
        assert!(
            runs <= MAX_RUNS,
            "{what}: still pending after {MAX_RUNS} runs"
        );
        match flow.run_once().await {
            Ok(report) if report.failed.is_empty() && pending(store.as_ref()).await == 0 => break,
            Ok(_) => {}
            Err(_) => errors += 1,
        }
    }
    let fired = reliability_support::fired(&sandbox);
    let requests = reliability_support::requests(&sandbox) - base;
    reliability_support::clear(&sandbox);
    let checked = reliability_support::assert_end_state(&sandbox, store.as_ref(), n, &what).await;
    println!(
        "fault matrix {FLOW} {what}: {fired} faults injected in {requests} requests, {} reruns \
         ({errors} runs ended in an error), {} docs checked, lost 0, duplicated 0, {:?}",
        runs - 1,
        checked.docs,
        started.elapsed()
    );
    if rate >= HIGH {
        assert!(fired > 0, "{what}: no fault fired");
        assert!(
            fired >= requests / 40,
            "{what}: {fired} faults in {requests} requests"
        );
    }
    sandbox.shutdown().await;
    fired
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_matrix_ends_in_the_expected_state() {
    let seed = seed_var();
    let (n, rates): (usize, &[f64]) = if full() {
        (100, &[LOW, HIGH])
    } else {
        (20, &[HIGH])
    };
    let started = Instant::now();
    let mut total = 0;
    let mut cells = 0;
    for (i, kind) in KINDS.iter().enumerate() {
        for rate in rates {
            total += cell(&[*kind], *rate, n, seed + i as u64).await;
            cells += 1;
        }
    }
    for rate in [LOW, HIGH] {
        total += cell(&KINDS, rate, n, seed + 100).await;
        cells += 1;
    }
    println!(
        "fault matrix {FLOW}: {cells} runs of {n} files, {total} faults injected, lost 0, \
         duplicated 0, seed {seed} (ECM_RELIABILITY_SEED), {:?}",
        started.elapsed()
    );
}

/// What `backup` ends in: the CS tree (paths, versions, bytes), the records' statuses, and
/// the writes the audit trail has per document.
type BackupState = (
    (BTreeMap<String, (usize, Bytes)>, Vec<String>),
    BTreeMap<(String, String), usize>,
);

async fn backup_state(env: &support::Env, b: &Backup) -> BackupState {
    let audit = b.state().audit(None).await.unwrap();
    (
        bk::final_state(env, b).await,
        reliability_support::audited_writes(&audit),
    )
}

/// The reference: a clean run of `backup` over the demo's members and team space.
async fn backup_reference() -> BackupState {
    let env = support::Env::start().await;
    bk::seed_olu(&env).await;
    let b = bk::backup(&env, Arc::new(MemoryStore::new()));
    bk::run_clean(&b).await;
    backup_state(&env, &b).await
}

/// One cell of `backup`'s matrix: the run under `kinds` at `rate`, rerun until a run ends
/// with no alert, ends in `want` (and every Dropbox file is in CS with its bytes).
async fn backup_cell(kinds: &[Kind], rate: f64, seed: u64, want: &BackupState) -> u64 {
    let label = if kinds.len() == 1 {
        kinds[0].label()
    } else {
        "mixed".to_owned()
    };
    let what = format!("backup {label} at {:.0} %", rate * 100.0);
    let env = support::Env::start_with(SandboxConfig::new().fault_seed(seed)).await;
    bk::seed_olu(&env).await;
    let base = reliability_support::requests(&env.sandbox);
    reliability_support::install(&env.sandbox, kinds, rate / kinds.len() as f64);
    let started = Instant::now();
    let b = Backup::new(
        reliability_support::team_dropbox(&env.sandbox),
        reliability_support::cs(&env.sandbox),
        Arc::new(MemoryStore::new()),
        bk::config(),
    )
    .retry(bk::retry());
    let mut runs = 0;
    loop {
        runs += 1;
        assert!(runs <= MAX_RUNS, "{what}: alerts after {MAX_RUNS} runs");
        if let Ok(r) = b.run().await {
            if r.alerts.is_empty() {
                break;
            }
        }
    }
    let fired = reliability_support::fired(&env.sandbox);
    let requests = reliability_support::requests(&env.sandbox) - base;
    reliability_support::clear(&env.sandbox);
    let docs = bk::assert_backed_up(&env).await.len();
    assert_eq!(&backup_state(&env, &b).await, want, "{what}: the end state");
    println!(
        "fault matrix backup {label} at {:.0} %: {fired} faults injected in {requests} requests, \
         {} reruns, {docs} docs checked, lost 0, duplicated 0, {:?}",
        rate * 100.0,
        runs - 1,
        started.elapsed()
    );
    if rate >= HIGH {
        assert!(fired > 0, "{what}: no fault fired");
    }
    fired
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_fault_matrix_ends_in_the_reference_state() {
    let seed = seed_var();
    let rates: &[f64] = if full() { &[LOW, HIGH] } else { &[HIGH] };
    let want = backup_reference().await;
    let started = Instant::now();
    let (mut total, mut cells) = (0, 0);
    // The team's token is static (the sandbox's OAuth issues no team tokens): an expired
    // OAuth token cannot happen to this flow, so that kind is left out of its matrix.
    let kinds: Vec<Kind> = KINDS
        .into_iter()
        .filter(|k| *k != Kind::TokenExpired)
        .collect();
    for (i, kind) in kinds.iter().enumerate() {
        for rate in rates {
            total += backup_cell(&[*kind], *rate, seed + i as u64, &want).await;
            cells += 1;
        }
    }
    for rate in [LOW, HIGH] {
        total += backup_cell(&kinds, rate, seed + 100, &want).await;
        cells += 1;
    }
    println!(
        "fault matrix backup: {cells} runs, {total} faults injected, lost 0, duplicated 0, \
         seed {seed}, {:?}",
        started.elapsed()
    );
}

#[cfg(feature = "postgres")]
mod kill {
    use std::process::{Child, Command, Stdio};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use chrono::Utc;
    use ecm_bridge::state::{pg_testing, DocStatus, DocumentStore, PostgresOptions, PostgresStore};
    use sandbox::SandboxConfig;

    use super::reliability_support::{self, CS_ROOT, FLOW, ROOT, RULES};

    fn spawn(url: &str, schema: &str, sandbox: &sandbox::Sandbox) -> Child {
        Command::new(env!("CARGO_BIN_EXE_archive_worker"))
            .env("ECM_PG_URL", url)
            .env("WORKER_PG_SCHEMA", schema)
            .env("WORKER_DROPBOX_URL", sandbox.dropbox_url())
            .env("WORKER_CS_URL", sandbox.contentserver_url())
            .env("WORKER_ID", "k")
            .env("WORKER_ROOT", ROOT)
            .env("WORKER_CS_FOLDER", CS_ROOT)
            .env("WORKER_TAG", "archived")
            .env("WORKER_RULES", RULES)
            // A restarted worker takes over its dead predecessor's claims after the lease.
            .env("WORKER_LEASE_MS", "300")
            .env("WORKER_CONCURRENCY", "8")
            .env("WORKER_BATCH", "16")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap()
    }

    async fn done_count(store: &PostgresStore) -> usize {
        store
            .records_by_status(FLOW, DocStatus::Done)
            .await
            .unwrap()
            .len()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_worker_killed_at_seeded_moments_ends_exact() {
        let Some(url) = pg_testing::server_url("reliability_kill") else {
            return;
        };
        let (n, kills) = if super::full() { (500, 50) } else { (100, 5) };
        let schema = format!(
            "rel{}_{}",
            std::process::id(),
            Utc::now().timestamp_subsec_micros()
        );
        let sandbox = sandbox::start(SandboxConfig::new()).await.unwrap();
        reliability_support::seed(&sandbox, n).await;
        let options = PostgresOptions {
            schema: Some(schema.clone()),
            pool_size: 4,
        };
        // The schema is migrated here, before the worker connects.
        let store = Arc::new(PostgresStore::connect_with(&url, &options).await.unwrap());
        let seed = super::seed_var();
        let mut rng = fastrand::Rng::with_seed(seed);
        let started = Instant::now();
        let mut child = spawn(&url, &schema, &sandbox);
        let mut survived = 0;
        for k in 0..kills {
            // A seeded moment: 0..=step documents settled since the last kill (0 kills a
            // worker that is starting up, or in the middle of its first batch).
            let step = (n / (kills + 1)).max(2);
            let target = done_count(&store).await + rng.usize(0..=step);
            loop {
                if done_count(&store).await >= target || child.try_wait().unwrap().is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            if child.try_wait().unwrap().is_some() {
                // Finished before this moment: every later kill lands in a restart.
                assert!(
                    child.wait().unwrap().success(),
                    "kill {k}: the worker failed"
                );
            } else {
                let _ = child.kill(); // SIGKILL
                let _ = child.wait();
                survived += 1;
            }
            child = spawn(&url, &schema, &sandbox);
        }
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "the last worker failed: {out:?}");
        let checked =
            reliability_support::assert_end_state(&sandbox, store.as_ref(), n, "kill test").await;
        println!(
            "kill test {FLOW}: {n} files, {survived} SIGKILLs survived of {kills} moments, {} \
             docs checked, lost 0, duplicated 0, seed {seed} (ECM_RELIABILITY_SEED), {:?}",
            checked.docs,
            started.elapsed()
        );
        sandbox.shutdown().await;
    }
}
