//! `ecm-ops` against the state a real run of `archive_on_approval` leaves on the sandbox, in a
//! SQLite file and in a PostgreSQL store: every command's `--json` output parsed and checked
//! against what the run did.

use std::process::{Command, Output};

const FLOW: &str = "archive_on_approval";

fn clean(mut cmd: Command) -> Output {
    for var in [
        "DROPBOX_TOKEN",
        "DROPBOX_REFRESH_TOKEN",
        "DROPBOX_APP_KEY",
        "DROPBOX_APP_SECRET",
        "CS_URL",
        "CS_USER",
        "CS_PASSWORD",
    ] {
        cmd.env_remove(var);
    }
    cmd.output().expect("the binary runs")
}

fn ops(state: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecm-ops"));
    cmd.arg("--state").arg(state).args(args);
    clean(cmd)
}

fn ok_json(state: &str, args: &[&str]) -> serde_json::Value {
    let out = ops(state, args);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
}

#[test]
fn operator_commands_read_and_mend_a_real_runs_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    commands_after_a_run(state.to_str().unwrap());
}

#[test]
fn operator_commands_read_and_mend_a_real_runs_state_on_postgres() {
    let Some(url) = ecm_bridge::state::pg_testing::server_url("ops_on_postgres") else {
        return;
    };
    let schema = format!("ops{}", std::process::id());
    let sep = if url.contains('?') { '&' } else { '?' };
    let state = format!("{url}{sep}schema={schema}");
    commands_after_a_run(&state);
    let other = ops(
        &format!("{url}{sep}schema={schema}x"),
        &["status", "--json"],
    );
    let text = String::from_utf8(other.stdout).unwrap();
    assert!(other.status.success(), "{text}");
    assert_eq!(text.trim(), "[]", "a schema of its own has no flows");
}

/// Runs the example with `--state state`, then checks every command against it.
fn commands_after_a_run(state: &str) {
    let mut flow = Command::new(env!("CARGO_BIN_EXE_archive_on_approval"));
    flow.arg("--state").arg(state);
    let out = clean(flow);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // status: the three approved files are done, one run with its counts.
    let status = ok_json(state, &["status", "--json"]);
    let flows = status.as_array().unwrap();
    assert_eq!(flows.len(), 1, "{status}");
    let st = &flows[0];
    assert_eq!(st["flow"], FLOW);
    assert_eq!(st["documents"]["done"], 3, "{st}");
    assert_eq!(st["documents"]["failed"], 0);
    // The example's runs, newest first; one of them wrote the three.
    let shown = st["runs"].as_array().unwrap();
    assert!(!shown.is_empty(), "{st}");
    let wrote: u64 = shown
        .iter()
        .map(|r| r["counts"]["written"].as_u64().unwrap())
        .sum();
    assert_eq!(wrote, 3, "{st}");
    assert!(st["due"].as_array().unwrap().is_empty());

    // runs: oldest first, all finished; the one that wrote the three.
    let runs = ok_json(state, &["runs", "--flow", FLOW, "--json"]);
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), shown.len());
    assert!(runs.iter().all(|r| r["finished"].is_string()), "{runs:?}");
    let run = runs
        .iter()
        .find(|r| r["counts"]["written"] == 3)
        .and_then(|r| r["id"].as_u64())
        .unwrap();

    // failures and conflicts: none after a clean run; a retry of a done document is refused.
    assert_eq!(
        ok_json(state, &["failures", "--flow", FLOW, "--json"]),
        serde_json::json!([])
    );
    assert_eq!(
        ok_json(state, &["conflicts", "--flow", FLOW, "--json"]),
        serde_json::json!([])
    );
    let audit = ops(
        state,
        &["audit", "--flow", FLOW, "--run", &run.to_string(), "--json"],
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(audit.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let created: Vec<&serde_json::Value> =
        lines.iter().filter(|e| e["action"] == "create").collect();
    assert_eq!(created.len(), 3, "{lines:?}");
    let key = created[0]["source"]["id"].as_str().unwrap().to_owned();
    let refused = ops(state, &["retry", "--flow", FLOW, &format!("dropbox:{key}")]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("it is done"));

    // audit of one document as CSV: a header and its lines.
    let csv = ops(
        state,
        &[
            "audit",
            "--document",
            &format!("dropbox:{key}"),
            "--format",
            "csv",
        ],
    );
    let text = String::from_utf8(csv.stdout).unwrap();
    let mut rows = text.lines();
    assert_eq!(
        rows.next().unwrap(),
        "time,flow,run,action,outcome,source,path,source_hash,target,account"
    );
    let rest: Vec<&str> = rows.collect();
    assert!(
        !rest.is_empty() && rest.iter().all(|r| r.contains(&key)),
        "{text}"
    );
}
