//! Reliability proof (issue 15) for the six flows `tests/reliability.rs` does not cover:
//! `classify_and_route`, `intake_to_workflow`, `submit_for_approval`, `publish_to_dropbox`,
//! `version_sync`, `project_closeout` (one scenario each, `tests/reliability_support/scenarios/`).
//!
//! **Fault matrix.** Each flow runs on the in-process sandbox under each fault kind of
//! [`reliability_support::KINDS`] alone and all mixed, at a low (3 %) and a high (12 %) rate
//! (seeded: `ECM_RELIABILITY_SEED`, default 15), rerun as an operator would until it has
//! settled; then the faults are removed and the end state's [`snapshot::Snapshot`] (both
//! sides' subtrees, the store's records, the audited writes) must equal a clean reference
//! run's. Each flow's key facts (each document once, bytes equal) are asserted once, on the
//! reference. One summary line per run and a total per flow.
//!
//! **Kill test.** The test binary re-executes itself as the child (the ignored test
//! [`kill_child_runs_a_flow_until_settled`]) on the parent's sandbox and a SQLite state
//! file; the parent SIGKILLs it at seeded moments (a seeded number of sandbox requests served
//! since the spawn: state, not a timer) and restarts it; the end state must equal the
//! reference.
//!
//! Short form by default (each kind at the high rate, mixed at both; 5 kills per flow);
//! `ECM_RELIABILITY_FULL=1`: every kind at both rates, and the kill test over 500+ files with
//! 50 kills per flow.

mod classify_support;
mod reliability_support;
#[path = "reliability_support/scenarios/mod.rs"]
mod scenarios;
#[path = "reliability_support/snapshot.rs"]
mod snapshot;
mod support;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ecm_bridge::ops::Selection;
use ecm_bridge::state::{DocStatus, DocumentStore, SqliteStore, StateStore, Store};
use reliability_support::{Kind, KINDS};
use sandbox::SandboxConfig;
use scenarios::{Ctx, Scenario};
use snapshot::Snapshot;
use support::Env;

const LOW: f64 = 0.03;
const HIGH: f64 = 0.12;
/// Reruns after which a run that has not settled fails the test: a guard against a flow that
/// never converges, not a budget. Under 12 % of CS 500s (never repeated by the clients) a run
/// of a flow that reads every document each run settles only when every read is answered:
/// over seeds 1-8 the worst cell needed 26 reruns (about one run in ten settles), so the
/// guard sits far out in that tail (a run costs milliseconds).
const MAX_RUNS: usize = 200;

fn full() -> bool {
    std::env::var("ECM_RELIABILITY_FULL").is_ok_and(|v| v == "1")
}

fn seed_var() -> u64 {
    std::env::var("ECM_RELIABILITY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15)
}

/// Records of `flow` left for another run: pending, written, failed or dead.
async fn unsettled(store: &dyn Store, flow: &str) -> usize {
    let mut n = 0;
    for status in [
        DocStatus::Pending,
        DocStatus::Written,
        DocStatus::Failed,
        DocStatus::Dead,
    ] {
        n += store.records_by_status(flow, status).await.unwrap().len();
    }
    n
}

/// How a scenario got to settle.
struct Settled {
    /// Runs made.
    runs: usize,
    /// Runs that ended in an error (not a document's failure: the run's).
    errors: usize,
    /// Dead-lettered documents requeued.
    requeued: usize,
}

/// Runs `scenario` until it has settled (at most `max` runs).
async fn run_until_settled(
    scenario: &dyn Scenario,
    ctx: &Ctx,
    store: &Arc<SqliteStore>,
    max: usize,
    what: &str,
) -> Settled {
    let (mut runs, mut errors, mut requeued) = (0, 0, 0);
    let mut last = String::new();
    loop {
        runs += 1;
        if runs > max {
            let mut left = Vec::new();
            for status in DocStatus::ALL {
                for r in store
                    .records_by_status(scenario.flow(), status)
                    .await
                    .unwrap()
                {
                    left.push(format!("{:?} {status}: {:?}", r.path, r.last_error));
                }
            }
            for e in store.audit(Some(scenario.flow())).await.unwrap() {
                if e.action != "step" {
                    eprintln!("{what}: audit {:?} {} {}", e.path, e.action, e.outcome);
                }
            }
            panic!("{what}: not settled after {max} runs; the last: {last}; records: {left:#?}");
        }
        // A document dead-lettered (10 attempts over the runs: under a 500, which the
        // clients never repeat, a document with many calls can get there) is requeued, as
        // an operator would (`ops::retry`).
        let dead = store
            .records_by_status(scenario.flow(), DocStatus::Dead)
            .await
            .unwrap();
        if !dead.is_empty() {
            requeued += dead.len();
            ecm_bridge::ops::retry(store.as_ref(), scenario.flow(), &Selection::All)
                .await
                .unwrap();
        }
        match scenario.run(ctx, store.clone()).await {
            Ok(true) if unsettled(store.as_ref(), scenario.flow()).await == 0 => {
                return Settled {
                    runs,
                    errors,
                    requeued,
                }
            }
            Ok(settled) => last = format!("settled {settled}"),
            Err(e) => {
                last = e;
                errors += 1
            }
        }
    }
}

/// The reference: a clean run of `scenario` over its seed of `n`, its key facts asserted.
/// Answers the snapshot, the documents checked, and the requests the run made.
async fn reference(scenario: &dyn Scenario, n: usize) -> (Snapshot, usize, u64) {
    let env = Env::start().await;
    scenario.seed(&env, n).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("state.db")).unwrap());
    let ctx = Ctx::of(&env.sandbox);
    let what = format!("{} reference", scenario.flow());
    let base = reliability_support::requests(&env.sandbox);
    run_until_settled(scenario, &ctx, &store, 3, &what).await;
    let requests = reliability_support::requests(&env.sandbox) - base;
    let snap = scenarios::snapshot(scenario, &ctx, store.as_ref()).await;
    // A second run changes nothing.
    assert!(scenario.run(&ctx, store.clone()).await.unwrap(), "{what}");
    let again = scenarios::snapshot(scenario, &ctx, store.as_ref()).await;
    assert!(
        again == snap,
        "{what}: a second run changed:\n{}",
        again.diff(&snap)
    );
    let docs = scenario.check(&snap, n);
    env.sandbox.shutdown().await;
    (snap, docs, requests)
}

/// What one cell of the matrix measured.
#[derive(Default)]
struct Cell {
    fired: u64,
    requests: u64,
    reruns: usize,
}

/// One cell: `scenario` over its seed of `n` under `kinds` at `rate`, rerun until settled, ends in `want`.
async fn cell(
    scenario: &dyn Scenario,
    kinds: &[Kind],
    rate: f64,
    n: usize,
    seed: u64,
    want: &Snapshot,
    docs: usize,
) -> Cell {
    let label = if kinds.len() == 1 {
        kinds[0].label()
    } else {
        "mixed".to_owned()
    };
    let flow = scenario.flow();
    let what = format!("{flow} {label} at {:.0} %", rate * 100.0);
    let env = Env::start_with(SandboxConfig::new().fault_seed(seed)).await;
    scenario.seed(&env, n).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("state.db")).unwrap());
    let base = reliability_support::requests(&env.sandbox);
    // Mixed, the rate is shared among the kinds: a request meets some fault with about `rate`.
    reliability_support::install(&env.sandbox, kinds, rate / kinds.len() as f64);
    let started = Instant::now();
    let ctx = Ctx::of(&env.sandbox);
    let Settled {
        runs,
        errors,
        requeued,
    } = run_until_settled(scenario, &ctx, &store, MAX_RUNS, &what).await;
    let fired = reliability_support::fired(&env.sandbox);
    let requests = reliability_support::requests(&env.sandbox) - base;
    reliability_support::clear(&env.sandbox);
    let got = scenarios::snapshot(scenario, &Ctx::of(&env.sandbox), store.as_ref()).await;
    if &got != want {
        for e in store.audit(Some(flow)).await.unwrap() {
            eprintln!(
                "{what}: audit {} {:?} {} {}",
                e.source.key(),
                e.path,
                e.action,
                e.outcome
            );
        }
    }
    assert!(
        &got == want,
        "{what}: the end state differs:\n{}",
        got.diff(want)
    );
    println!(
        "fault matrix {what}: {fired} faults injected in {requests} requests, {} reruns \
         ({errors} runs ended in an error, {requeued} dead letters requeued), {docs} docs checked, lost 0, duplicated 0, {:?}",
        runs - 1,
        started.elapsed()
    );
    env.sandbox.shutdown().await;
    Cell {
        fired,
        requests,
        reruns: runs - 1,
    }
}

/// The matrix of one flow: each kind it can meet alone, then all of them mixed.
async fn matrix(scenario: &dyn Scenario) {
    // Each flow draws its own faults (the same seed would fault the same call numbers).
    let offset: u64 = scenario.flow().bytes().map(u64::from).sum();
    let seed = seed_var() + offset;
    let rates: &[f64] = if full() { &[LOW, HIGH] } else { &[HIGH] };
    let started = Instant::now();
    let n = scenario.matrix_files(full());
    let (want, docs, _) = reference(scenario, n).await;
    let left_out = scenario.left_out();
    let kinds: Vec<Kind> = KINDS
        .into_iter()
        .filter(|k| !left_out.iter().any(|(l, _)| l == k))
        .collect();
    let mut total = Cell::default();
    let mut cells = 0;
    let mut add = |c: Cell| {
        total.fired += c.fired;
        total.requests += c.requests;
        total.reruns += c.reruns;
        cells += 1;
    };
    for (i, kind) in kinds.iter().enumerate() {
        for rate in rates {
            add(cell(scenario, &[*kind], *rate, n, seed + i as u64, &want, docs).await);
        }
    }
    for rate in [LOW, HIGH] {
        add(cell(scenario, &kinds, rate, n, seed + 100, &want, docs).await);
    }
    // A kind's rules meet only its own server's requests (a flow may make few Dropbox calls):
    // a cell may draw none, the flow's total may not.
    assert!(
        total.fired >= cells as u64,
        "{}: {} faults in {cells} runs",
        scenario.flow(),
        total.fired
    );
    let out: Vec<String> = left_out
        .iter()
        .map(|(k, why)| format!("{} left out: {why}", k.label()))
        .collect();
    println!(
        "fault matrix {}: {cells} runs, {} faults injected in {} requests, {} reruns, {docs} \
         docs checked per run, lost 0, duplicated 0, seed {} + {offset} (ECM_RELIABILITY_SEED), {:?}{}",
        scenario.flow(),
        total.fired,
        total.requests,
        total.reruns,
        seed - offset,
        started.elapsed(),
        if out.is_empty() {
            String::new()
        } else {
            format!("; {}", out.join("; "))
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classify_and_route_fault_matrix() {
    matrix(scenarios::by_name("classify_and_route").as_ref()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_to_workflow_fault_matrix() {
    matrix(scenarios::by_name("intake_to_workflow").as_ref()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_for_approval_fault_matrix() {
    matrix(scenarios::by_name("submit_for_approval").as_ref()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_to_dropbox_fault_matrix() {
    matrix(scenarios::by_name("publish_to_dropbox").as_ref()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_sync_fault_matrix() {
    matrix(scenarios::by_name("version_sync").as_ref()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_closeout_fault_matrix() {
    matrix(scenarios::by_name("project_closeout:/projects/p-1042 riverside tower").as_ref()).await;
}

/// The child of the kill test: runs the flow `RELIABILITY_FLOW` on the servers at
/// `RELIABILITY_DROPBOX_URL` and `RELIABILITY_CS_URL` with the SQLite state file
/// `RELIABILITY_STATE` until it has settled, then exits (the test passes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run in a child process by the kill tests (kill_test)"]
async fn kill_child_runs_a_flow_until_settled() {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"));
    let scenario = scenarios::by_name(&var("RELIABILITY_FLOW"));
    let ctx = Ctx::at(&var("RELIABILITY_DROPBOX_URL"), &var("RELIABILITY_CS_URL"));
    let store = Arc::new(SqliteStore::open(var("RELIABILITY_STATE")).unwrap());
    let what = format!("{} in the child", scenario.flow());
    run_until_settled(scenario.as_ref(), &ctx, &store, MAX_RUNS, &what).await;
}

/// The child running `flow` on `sandbox` and the state file `state`.
fn spawn_child(flow: &str, sandbox: &sandbox::Sandbox, state: &std::path::Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "kill_child_runs_a_flow_until_settled",
            "--ignored",
            "--test-threads=1",
        ])
        .env("RELIABILITY_FLOW", flow)
        .env("RELIABILITY_DROPBOX_URL", sandbox.dropbox_url())
        .env("RELIABILITY_CS_URL", sandbox.contentserver_url())
        .env("RELIABILITY_STATE", state)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// The kill test of one flow: its child killed with SIGKILL at `kills` seeded moments (a
/// seeded number of sandbox requests served since the spawn: the servers' state, not a
/// timer) and restarted each time; the end state must be the clean reference run's (each
/// document once with its bytes, no other node in CS: no orphaned partial document; the
/// store's records and steps; each write audited once).
async fn kill_test(scenario: &dyn Scenario, n: usize, kills: usize) {
    let flow = scenario.flow();
    let started = Instant::now();
    let (want, docs, reference_requests) = reference(scenario, n).await;
    // (classify_and_route's colliding pair is one folded key with two writes.)
    assert!(
        want.writes
            .values()
            .all(|c| *c == 1 || scenario.flow() == "classify_and_route"),
        "{flow}: the reference wrote a document twice: {:?}",
        want.writes
    );
    let env = Env::start().await;
    scenario.seed(&env, n).await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let offset: u64 = flow.bytes().map(u64::from).sum();
    let seed = seed_var();
    let mut rng = fastrand::Rng::with_seed(seed + offset);
    // A moment: 1..=2 steps of requests since the spawn, a step being the clean run's share
    // per kill (a restart lists again, so the moments spread over the whole run and beyond).
    let step = (reference_requests / (kills as u64 + 1)).max(4);
    let base = reliability_support::requests(&env.sandbox);
    let mut child = spawn_child(flow, &env.sandbox, &state);
    let (mut survived, mut finished_first) = (0, 0);
    for k in 0..kills {
        let spawned = reliability_support::requests(&env.sandbox);
        let target = spawned + rng.u64(1..=2 * step);
        while reliability_support::requests(&env.sandbox) < target
            && child.try_wait().unwrap().is_none()
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        if child.try_wait().unwrap().is_some() {
            // It settled before this moment: the later kills land in restarts.
            assert!(
                child.wait().unwrap().success(),
                "{flow}: kill {k}: the child failed"
            );
            finished_first += 1;
        } else {
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
            survived += 1;
        }
        child = spawn_child(flow, &env.sandbox, &state);
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{flow}: the last child did not settle in 600 s");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert!(status.success(), "{flow}: the last child failed");
    let requests = reliability_support::requests(&env.sandbox) - base;
    let store = SqliteStore::open(&state).unwrap();
    let got = scenarios::snapshot(scenario, &Ctx::of(&env.sandbox), &store).await;
    assert!(got == want, "{flow}: after the kills:\n{}", got.diff(&want));
    println!(
        "kill test {flow}: {n} extra files, {docs} docs checked, {survived} SIGKILLs survived of \
         {kills} moments ({finished_first} after the child had settled), {requests} requests \
         (clean run {reference_requests}), lost 0, duplicated 0, seed {seed} + {offset} \
         (ECM_RELIABILITY_SEED), {:?}",
        started.elapsed()
    );
    env.sandbox.shutdown().await;
}

/// The kill test's tree and kills: a small tree and 5 kills, or (full) over 500 files and
/// 50 kills; `small` for a flow whose seed is per-file processes (its in-doubt checks read
/// every process).
fn kill_size(small: bool) -> (usize, usize) {
    match (full(), small) {
        (false, _) => (20, 5),
        (true, false) => (520, 50),
        (true, true) => (100, 50),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classify_and_route_killed_at_seeded_moments() {
    let (n, kills) = kill_size(false);
    kill_test(scenarios::by_name("classify_and_route").as_ref(), n, kills).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_to_workflow_killed_at_seeded_moments() {
    let (n, kills) = kill_size(false);
    kill_test(scenarios::by_name("intake_to_workflow").as_ref(), n, kills).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_for_approval_killed_at_seeded_moments() {
    let (n, kills) = kill_size(true);
    kill_test(scenarios::by_name("submit_for_approval").as_ref(), n, kills).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_to_dropbox_killed_at_seeded_moments() {
    let (n, kills) = kill_size(false);
    kill_test(scenarios::by_name("publish_to_dropbox").as_ref(), n, kills).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_sync_killed_at_seeded_moments() {
    let (n, kills) = kill_size(false);
    kill_test(scenarios::by_name("version_sync").as_ref(), n, kills).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_closeout_killed_at_seeded_moments() {
    let (n, kills) = kill_size(false);
    kill_test(
        scenarios::by_name("project_closeout:/projects/p-1042 riverside tower").as_ref(),
        n,
        kills,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_killed_at_seeded_moments() {
    let (n, kills) = kill_size(false);
    kill_test(
        scenarios::by_name("backup:dana@example.com").as_ref(),
        n,
        kills,
    )
    .await;
}
